"""Where moto differs from real AWS (CloudFormation, ECS, ELBv2, CloudWatch), and the sandbox's
fix: the one module that patches moto.

Each gap has a pin test in tests/test_moto_gaps.py that shows plain moto still has it, so an
upgrade that closes one is noticed and the fix here can go.

Gap 1 — updates are diffed textually. moto re-applies a resource on update only when its own JSON
changed or it `Ref`s a changed parameter directly. Real CloudFormation also re-applies a resource
when a condition it uses (`Fn::If`) changes value, or when a resource it references gets a new
physical id. Seen: the listeners' `Fn::If` on `LiveColor` is never re-evaluated, so a swap does
nothing; an ECS service whose task definition was replaced keeps the old revision.
Fix: extend moto's diff with those resources, and apply all of them in dependency order (moto
keeps its diff's order, so a service whose DesiredCount changed with its image would be
re-applied before its new task definition exists).

Gap 2 — an ECS service updated through CloudFormation is pointed at the task-definition *family*
(moto passes `TaskDefinition.family` to UpdateService), so DescribeServices shows "shop" instead
of the revision ARN. Fix: hand moto the revision's ARN.

Gap 3 — a task definition replaced by an update is registered with CloudFormation's PascalCase
container keys ("Image" instead of "image"), so DescribeTaskDefinition shows no image. Fix:
replace it the way moto creates one (a new revision, the old one deregistered), as CloudFormation
does for this immutable resource.

Gap 4 — ELBv2 keys a target group's targets by Id alone, so two targets on one IP with different
ports (two tasks on 127.0.0.1, or two containers on one EC2 instance) overwrite each other. Real
ELBv2 identifies a target by Id and Port. Fix: key non-instance targets by "Id:Port".

Gap 5 — an ECS service created or updated through CloudFormation ignores `LoadBalancers`
(DescribeServices shows `loadBalancers: []`). Fix: copy them onto the service, in the ECS API's
shape, so the sandbox's data plane (and anyone calling DescribeServices) knows the target group;
its `HealthCheckGracePeriodSeconds` too (moto keeps none), for the data plane's ECS emulation.

Gap 6 — deleting a stack (or rolling back its creation) leaves its ECS service ACTIVE: moto has
no delete for CloudFormation-managed services. Fix: delete the service as DeleteService would.

Gap 7 — "No updates are to be performed" is never raised for a stack with a list parameter
(`List<AWS::EC2::Subnet::Id>`): moto compares the stack's parsed values (a Python list) with the
request's (a comma-separated string), so an update that changes nothing runs as a real one. Fix:
compare both as CloudFormation does, as the strings the caller sent (moto also keeps a `Number`
parameter as a number: "2" sent again reads as changed).

Gaps 8-11 and 13 are filled by the sandbox's emulators; moto_gaps only wires their hooks into
moto (`install(stack_operations, target_health)`), so that this module is the one place that
patches moto. Without a hook, that part stays as moto has it.

Gap 8 — every stack operation completes inside the API call and never fails: CreateStack,
UpdateStack and DeleteStack return with the stack already `*_COMPLETE`, so nothing is ever seen
in progress, waits for an ECS service, trips a circuit breaker or rolls back. Fix:
sandbox/stack_operations.py (StackOperations) runs each operation in the background, as
CloudFormation does. Wired here: CreateStack, UpdateStack and DeleteStack hand the stack to its
`begin_create`, `begin_update` and `begin_delete`; UpdateStack first refuses a stack in progress
(`refuse_if_busy`, before moto diffs anything); and a stack shows no outputs until it is created.

Gap 9 — CancelUpdateStack is not implemented (over HTTP, moto answers a 500 page). Fix: route it
to StackOperations.cancel_update, which rolls the update back.

Gap 10 — every registered target is `healthy` at once (and an ECS service runs no task: the data
plane, sandbox/data_plane.py, runs them; it writes moto's objects but patches no moto code).
Fix: sandbox/target_health.py's TargetHealthBook, kept by real HTTP health checks. Wired here:
DescribeTargetHealth reports the book's state for the targets it holds.

Gap 11 — CreateStack and UpdateStack drop `RollbackConfiguration`: no rollback trigger is ever
watched, nothing is saved for the stack's next update, and DescribeStacks shows no
`RollbackConfiguration` (real: the stack's saved one, `{}` when it has none). Fix:
StackOperations saves it per stack, reuses it for an update that omits it and watches its
triggers. Wired here: both requests hand theirs over (`rollback_configuration_requested`) while
moto serves them.

Gaps 12 and 14 are plain fixes again, like 1-7: both servers have them.

Gap 12 — UpdateTerminationProtection is not implemented (over HTTP, a 500 page). Fix: set or
clear the stack's flag (moto keeps CreateStack's `EnableTerminationProtection` and shows it in
DescribeStacks), refused for a stack being or already deleted, as the user guide says.

Gap 13 — DeleteStack deletes a stack with termination protection. Fix: StackOperations'
`begin_delete` refuses it with CloudFormation's ValidationError. A hook, so that the tests' moto
server keeps moto's DeleteStack: its fault tests remove stackswap-created (protected) stacks
with it.

Gap 14 — PutCompositeAlarm is not implemented (over HTTP, a 500 page), and a composite alarm's
state is never evaluated from its rule. Fix: route PutCompositeAlarm to moto's PutMetricAlarm,
which already stores an `AlarmRule` as a composite alarm, and evaluate the rule (ALARM(), OK(),
INSUFFICIENT_DATA(), TRUE, FALSE, AND, OR, NOT, parentheses; names or ARNs) when the alarm is
put and whenever an alarm it names changes state, as CloudWatch does.

Gap 15 — change sets. An executed CREATE change set leaves the stack CREATE_COMPLETE with no
resource events and no outputs (moto builds the stack from an empty template and never rebuilds
its outputs), an UPDATE change set lists no change for a parameter-only update and carries no
Replacement or Details, DescribeChangeSet / DeleteChangeSet of an unknown name answer a 500 page,
executing one runs inside the call, never in progress, never failing, a second CREATE change set
for a stack still in REVIEW_IN_PROGRESS makes a second stack of that name, and ListChangeSets
lists every stack's change sets. Fix: CreateChangeSet (CREATE also for a stack in
REVIEW_IN_PROGRESS: the change set joins that stack) lists what gap 1's diff would add, modify
(Replacement and Details from the resource's provider schema as cfn-lint ships it: a
`createOnlyProperties` change is a replacement) or remove, and a change set that changes
nothing FAILED with CloudFormation's reason; ExecuteChangeSet gives a
REVIEW_IN_PROGRESS stack its template and parameters and hands it to StackOperations'
`begin_create`, an existing one to `begin_update` (with the change set's RollbackConfiguration),
so timing, events, failure injection, rollback triggers and outputs are CreateStack's and
UpdateStack's; it deletes the stack's other change sets, and the change set's ExecutionStatus
follows the stack (EXECUTE_IN_PROGRESS, then EXECUTE_COMPLETE or EXECUTE_FAILED), in
ListChangeSets (the stack's own) as in DescribeChangeSet. Without the hook (the tests' moto
server) the operation runs inside the call, as moto's CreateStack does.

Gaps 16-21 are plain fixes (both servers have them). 16-19: CloudFormation resources of the
load balancer stack (HTTPS, host-mode rules, the private NLB) that moto's API serves but its
CloudFormation does not; 20-21: what a stack update of the ALB stack (`update-alb`) meets.

Gap 16 — an `AWS::ElasticLoadBalancingV2::Listener` whose forward default action has a
`ForwardConfig` (weighted target groups) fails the stack with moto's KeyError (HTTP 500): moto
keeps only `TargetGroupArn` of a forward action. Fix: keep forward actions as given, as the
Listener API (and moto's own CreateListener) does, so DescribeListeners shows the weights.

Gap 17 — `AWS::ElasticLoadBalancingV2::ListenerCertificate` is not supported: moto skips it
with a warning, so the listener keeps only its default certificate. Fix: a CloudFormation model
that adds its certificates to the listener (AddListenerCertificates), replaces them on update
and removes them on delete.

Gap 18 — an `AWS::ElasticLoadBalancingV2::LoadBalancer` ignores `Type`: a network load
balancer is made an application one, and its TCP listener is then refused ("Listener protocol
'TCP' must be one of 'HTTP, HTTPS'"). Fix: pass `Type` on, as CreateLoadBalancer does.

Gap 19 — an `AWS::ElasticLoadBalancingV2::TargetGroup` ignores `Targets`: nothing is
registered (the private NLB's target group of type `alb` has no ALB behind it). Fix: register
them (RegisterTargets) once the target group exists.
Gap 20 — DescribeStacks shows a list parameter (`List<AWS::EC2::Subnet::Id>`,
`CommaDelimitedList`) as Python's repr of a list ("['subnet-a', 'subnet-b']"); CloudFormation
shows the value as it was sent ("subnet-a,subnet-b"), so a comparison with the config's value
(`stackswap status`, the ALB refusal of deploy and swap) reads every list as changed. Fix: show
it as sent.

Gap 21 — an `AWS::ElasticLoadBalancingV2::TargetGroup` modified by a stack update (a changed
health check, deregistration delay) is not updated: moto has no update for it, so the resource
becomes None, and every resource that refers to it (the listeners) fails the update with a
KeyError (a 500 page over HTTP). Fix: modify the target group in place, as ModifyTargetGroup
and ModifyTargetGroupAttributes would; a change to a property that replaces a target group
(Port, Protocol, VpcId, TargetType, Name: `createOnlyProperties`) creates a new one, as
CloudFormation does.

Gap 22 — `AWS::ApplicationAutoScaling::ScalableTarget` and `AWS::ApplicationAutoScaling::
ScalingPolicy` are not supported: moto skips both with a warning, so a service stack's autoscaling
registers nothing (DescribeScalableTargets and DescribeScalingPolicies stay empty). Fix:
CloudFormation models that call moto's own RegisterScalableTarget / PutScalingPolicy on create
and update (a changed MinCapacity updates the target in place, as the API does) and
DeregisterScalableTarget / DeleteScalingPolicy on delete. The target's physical id is
CloudFormation's `<resource id>|<scalable dimension>|<namespace>`, what a policy's
ScalingTargetId refers to.

Gap 23 — Application Auto Scaling answers with `Content-Type: text/html` (its JSON body is
right): a client that refuses web pages for API answers (stackswap does: an HTML answer means a
proxy or a web server, not AWS) cannot read it. Real: `application/x-amz-json-1.1`, the
protocol's media type. Fix: answer with that type.

Gap 24 — an `AWS::ECS::TaskDefinition` created through CloudFormation keeps only its family,
containers, volumes and memory: `Cpu`, `NetworkMode`, `RequiresCompatibilities`,
`ExecutionRoleArn`, `TaskRoleArn`, `RuntimePlatform` and `EphemeralStorage` are dropped, so
DescribeTaskDefinition shows a task definition other than the one the template registered.
Fix: register it with those, as RegisterTaskDefinition keeps them.

The sandbox's server installs every fix with both hooks; the tests' moto server installs them
with none, so there gaps 8–11 and 13 are as moto has them.
"""

from __future__ import annotations

import contextlib
import functools
import re
from typing import TYPE_CHECKING, Any

from moto.applicationautoscaling import models as scaling_models
from moto.applicationautoscaling import responses as scaling_responses
from moto.cloudformation import models as cfn_models
from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import (
    AlreadyExistsException,
    CloudFormationError,
    ValidationError,
)
from moto.cloudformation.utils import generate_changeset_id, validate_create_change_set
from moto.cloudwatch import models as cloudwatch_models
from moto.cloudwatch import responses as cloudwatch_responses
from moto.core.responses import ActionResult, BaseResponse, EmptyResult
from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs import models as ecs_models
from moto.elbv2 import models as elbv2_models

if TYPE_CHECKING:
    from stackswap.sandbox.stack_operations import StackOperations
    from stackswap.sandbox.target_health import TargetHealthBook

# Patch name -> moto's own attribute (the class's __dict__ entry), while the fixes are installed.
_ORIGINALS: dict[str, Any] = {}
_MISSING = object()  # moto has no such attribute: uninstall() deletes the fix's
# The emulators the fixes of gaps 8-10 hand over to (None: moto's own behaviour).
_HOOKS: dict[str, Any] = {"stack_operations": None, "target_health": None}


def _references(node: Any) -> set[str]:
    """Logical ids and parameter names a resource's JSON points at (Ref, GetAtt, DependsOn)."""
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Ref" and isinstance(value, str):
                found.add(value)
            elif key == "Fn::GetAtt":
                target = value[0] if isinstance(value, list) else str(value).split(".")[0]
                found.add(target)
            elif key == "DependsOn":
                found.update([value] if isinstance(value, str) else value)
            else:
                found |= _references(value)
    elif isinstance(node, list):
        for item in node:
            found |= _references(item)
    return found


def _conditions_used(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If" and isinstance(value, list) and value:
                found.add(value[0])
            if key == "Condition" and isinstance(value, str):
                found.add(value)
            found |= _conditions_used(value)
    elif isinstance(node, list):
        for item in node:
            found |= _conditions_used(item)
    return found


def _changed_conditions(template: dict[str, Any], changed_parameters: set[str]) -> set[str]:
    """Conditions whose value may change because a parameter (or a condition they use) changed."""
    conditions = template.get("Conditions", {})
    changed: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, body in conditions.items():
            if name in changed:
                continue
            if _references(body) & changed_parameters or _conditions_used(body) & changed:
                changed.add(name)
                grew = True
    return changed


def _build_resource_diff(self: Any, other_template: dict[str, Any],
                         parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    diff = _ORIGINALS["build_resource_diff"](self, other_template, parameters)
    new = other_template["Resources"]
    changed_parameters = {  # compared as sent (gap 7): moto keeps numbers and lists parsed
        name for name, value in _as_sent(parameters or {}).items()
        if _as_sent(self.input_parameters).get(name) != value
    }
    changed_conditions = _changed_conditions(other_template, changed_parameters)
    touched = list(diff["Modify"]) + list(diff["Add"])
    for name, body in new.items():
        if name not in touched and name not in diff["Add"] and (
                _conditions_used(body) & changed_conditions):
            touched.append(name)
    # Breadth-first over dependents: a resource is re-applied after everything it references.
    queue = list(touched)
    while queue:
        current = queue.pop(0)
        for name, body in new.items():
            if name not in touched and current in _references(body):
                touched.append(name)
                queue.append(name)
    diff["Modify"] = [name for name in _dependency_order(touched, new)
                      if name not in diff["Add"]]
    return diff


def _dependency_order(names: list[str], resources: dict[str, Any]) -> list[str]:
    """`names` with each after every one of them it references, as CloudFormation updates
    them: a service whose own properties changed too (its DesiredCount) is still updated after
    the task definition it refers to is replaced, and so gets the new revision."""
    ordered: list[str] = []
    wanted = set(names)

    def visit(name: str, path: set[str]) -> None:
        if name in ordered or name in path:
            return
        for reference in sorted(_references(resources.get(name, {})) & wanted):
            visit(reference, path | {name})
        ordered.append(name)

    for name in names:
        visit(name, set())
    return ordered


def _load_balancers(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """A CloudFormation `LoadBalancers` property in the ECS API's shape."""
    return [
        {"targetGroupArn": item.get("TargetGroupArn"), "containerName": item.get("ContainerName"),
         "containerPort": int(item["ContainerPort"]) if "ContainerPort" in item else None}
        for item in properties.get("LoadBalancers") or []
    ]


def _grace(properties: dict[str, Any]) -> int:
    """`HealthCheckGracePeriodSeconds` (ECS's default when absent: 0)."""
    return int(properties.get("HealthCheckGracePeriodSeconds") or 0)


def _service_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                    region_name: str, **kwargs: Any) -> Any:
    service = _ORIGINALS["service_create"].__func__(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    service.load_balancers = _load_balancers(cloudformation_json["Properties"])
    service.health_check_grace_period_seconds = _grace(cloudformation_json["Properties"])
    return service


def _service_update(cls: Any, original_resource: Any, new_resource_name: str,
                    cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    properties = cloudformation_json["Properties"]
    task_definition = properties.get("TaskDefinition")
    if isinstance(task_definition, ecs_models.TaskDefinition):
        properties = {**properties, "TaskDefinition": task_definition.arn}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    service = _ORIGINALS["service_update"].__func__(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    service.load_balancers = _load_balancers(properties)
    service.health_check_grace_period_seconds = _grace(properties)
    return service


def _service_delete(self: Any, account_id: str, region_name: str) -> None:
    self._backend.delete_service(self.cluster_name, self.name, force=True)


def _target_key(group: Any, target: dict[str, Any]) -> str:
    if group.target_type == "instance":
        return target["Id"]
    return f"{target['Id']}:{target.get('Port', group.port)}"


def _register_targets(self: Any, targets: list[dict[str, Any]]) -> None:
    if self.target_type == "instance":
        _ORIGINALS["register"](self, targets)
        return
    for target in targets:
        key = _target_key(self, target)
        self.targets[key] = {"Id": target["Id"], "Port": target.get("Port", self.port)}
        self.deregistered_targets.pop(key, None)


def _deregister_targets(self: Any, targets: list[dict[str, Any]]) -> None:
    if self.target_type == "instance":
        _ORIGINALS["deregister"](self, targets)
        return
    for target in targets:
        key = _target_key(self, target)
        registered = self.targets.pop(key, None)
        if registered is None:
            raise elbv2_models.InvalidTargetError()
        self.deregistered_targets[key] = registered


def _health_by_id_and_port(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    if self.target_type == "instance":
        return _ORIGINALS["health_for"](self, target, ec2_backend)
    key = _target_key(self, target)
    registered = self.targets.get(key)
    if registered is not None:
        return elbv2_models.FakeHealthStatus(
            registered["Id"], registered["Port"], self.health_check_port, "healthy")
    if key in self.deregistered_targets:
        return elbv2_models.FakeHealthStatus(
            target["Id"], target.get("Port", self.port), self.health_check_port, "unused",
            "Target.NotRegistered", "Target is not registered to the target group")
    return _ORIGINALS["health_for"](self, target, ec2_backend)


def _task_definition_create(cls: Any, resource_name: str, cloudformation_json: Any,
                            account_id: str, region_name: str, **kwargs: Any) -> Any:
    """A task definition with its task-level properties (gap 24), as RegisterTaskDefinition
    keeps them."""
    properties = cloudformation_json["Properties"]

    def camel(value: Any) -> Any:
        return remap_nested_keys(value, pascal_to_camelcase) if value else None

    return ecs_models.ecs_backends[account_id][region_name].register_task_definition(
        family=properties.get("Family", resource_name),
        container_definitions=camel(properties.get("ContainerDefinitions")) or [],
        volumes=camel(properties.get("Volumes")) or [],
        network_mode=properties.get("NetworkMode"),
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=properties.get("Cpu"), memory=properties.get("Memory"),
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=camel(properties.get("RuntimePlatform")),
        ephemeral_storage=camel(properties.get("EphemeralStorage")))


def _task_definition_update(cls: Any, original_resource: Any, new_resource_name: str,
                            cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    replacement = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name)
    ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(
        original_resource.arn)
    return replacement


def _as_sent(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as a caller sends them: strings (ParameterValue is a String in the
    CloudFormation API reference), a list as one comma-separated string. moto keeps a Number
    parameter it resolved as an int; "100" and 100 are the same value."""
    return {key: ",".join(value) if isinstance(value, list) else str(value)
            for key, value in parameters.items()}


def _validate_different_update(self: Any, incoming_params: list[dict[str, Any]] | None,
                               stack_body: str, old_stack: Any) -> None:
    if incoming_params and stack_body:
        new = self._get_param_values(incoming_params, old_stack.stack_parameters)
        if old_stack.template == stack_body and \
                _as_sent(old_stack.stack_parameters) == _as_sent(new):
            raise ValidationError(old_stack.name, message="No updates are to be performed.")


# --- gaps 8, 11 and 13: stack operations that take time (hook: StackOperations) -----------------

def _stack_operations() -> StackOperations | None:
    return _HOOKS["stack_operations"]


def _create_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
    stack = _ORIGINALS["create_stack"](self, *args, **kwargs)
    operations = _stack_operations()
    if operations is not None:
        operations.begin_create(stack)
    return stack


def _update_stack(self: Any, name: str, template: str, role_arn: str | None,
                  parameters: list[dict[str, Any]], tags: dict[str, str] | None) -> Any:
    operations = _stack_operations()
    if operations is None:
        return _ORIGINALS["update_stack"](self, name, template, role_arn, parameters, tags)
    stack = self.get_stack(name)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    operations.begin_update(stack, template, role_arn, resolved, tags)
    return stack


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    operations = _stack_operations()
    if operations is None:
        _ORIGINALS["delete_stack"](self, name_or_stack_id)
        return
    for stack in list(self.stacks.values()):
        if name_or_stack_id in (stack.name, stack.stack_id):
            delete = functools.partial(_ORIGINALS["delete_stack"], self, stack.stack_id)
            operations.begin_delete(stack, delete, name_or_stack_id)  # gap 13
            return


def _create_stack_action(self: Any) -> Any:
    operations = _stack_operations()
    if operations is None:
        return _ORIGINALS["create_stack_action"](self)
    # gap 11: moto drops RollbackConfiguration; hand it to begin_create (same request, lock held).
    with operations.rollback_configuration_requested(
            self._get_param("StackName"), self._get_param("RollbackConfiguration")):
        return _ORIGINALS["create_stack_action"](self)


def _update_stack_action(self: Any) -> Any:
    operations = _stack_operations()
    if operations is None:
        return _ORIGINALS["update_stack_action"](self)
    # Before moto's checks: real CloudFormation refuses a busy stack before diffing anything.
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    operations.refuse_if_busy(stack)
    # gap 11: moto drops RollbackConfiguration; hand it to begin_update (same request, lock held).
    with operations.rollback_configuration_requested(
            stack.name, self._get_param("RollbackConfiguration")):
        return _ORIGINALS["update_stack_action"](self)


def _outputs(self: Any) -> Any:
    # Real CloudFormation shows outputs only once a stack is created.
    if _stack_operations() is not None and self.status in (
            "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return None
    return _ORIGINALS["outputs"].fget(self)


# --- gap 9: CancelUpdateStack (hook: StackOperations) ------------------------------------------

def _cancel_update_stack_action(self: Any) -> Any:
    operations = _stack_operations()
    if operations is None:  # what moto answers for an action it does not implement
        raise NotImplementedError("The cancel_update_stack action has not been implemented")
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    operations.cancel_update(stack)
    return EmptyResult()


# --- gap 10: target health from health checks (hook: TargetHealthBook) -------------------------

def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    reported = _health_by_id_and_port(self, target, ec2_backend)  # gap 4
    book: TargetHealthBook | None = _HOOKS["target_health"]
    if book is None:
        return reported
    record = book.get((self.arn, target["Id"], int(target.get("Port", self.port))))
    if record is None or reported.status != "healthy":
        return reported  # not registered (or not one of the sandbox's tasks)
    return elbv2_models.FakeHealthStatus(reported.instance_id, reported.port,
                                         self.health_check_port, record.state, record.reason,
                                         record.description)


# --- gap 12: UpdateTerminationProtection --------------------------------------------------------

def _update_termination_protection_action(self: Any) -> Any:
    # User guide, "Protect CloudFormation stacks from being deleted": "You can set termination
    # protection on a stack with any status except DELETE_IN_PROGRESS or DELETE_COMPLETE."
    # (The refusal's wording is the sandbox's: AWS documents the rule, not the message.)
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    if stack.status in ("DELETE_IN_PROGRESS", "DELETE_COMPLETE"):
        raise ValidationError(stack.stack_id, message=(
            f"Stack [{stack.stack_id}] is in {stack.status} state: termination protection "
            f"cannot be changed"))
    stack.enable_termination_protection = bool(
        self._get_bool_param("EnableTerminationProtection", False))
    return ActionResult({"StackId": stack.stack_id})


# --- gap 14: composite alarms ---------------------------------------------------------------------

_RULE_TOKEN = re.compile(
    r"\s*(?:(?P<function>ALARM|OK|INSUFFICIENT_DATA)\s*\(\s*"
    r"(?:\"(?P<quoted>[^\"]*)\"|'(?P<single>[^']*)'|(?P<bare>[^\s()]+))\s*\)"
    r"|(?P<word>TRUE|FALSE|AND|OR|NOT)\b|(?P<paren>[()]))")


def _rule_tokens(rule: str) -> list[tuple[str, str]]:
    """An AlarmRule as tokens: ("state", "ALARM name"), ("word", "AND"), ("paren", "(")."""
    tokens, position = [], 0
    while rule[position:].strip():
        match = _RULE_TOKEN.match(rule, position)
        if match is None:
            raise ValueError(f"cannot read the alarm rule at {rule[position:]!r}")
        if match["function"]:
            target = match["quoted"] or match["single"] or match["bare"]
            tokens.append(("state", f"{match['function']} {target}"))
        else:
            tokens.append(("word", match["word"]) if match["word"] else ("paren", match["paren"]))
        position = match.end()
    return tokens


def _rule_holds(rule: str, state_of: Any) -> bool:
    """Whether an AlarmRule is true, given state_of(name or ARN) -> state (None: no alarm).
    NOT binds tighter than AND, AND tighter than OR."""
    tokens = _rule_tokens(rule)

    def chain(at: int, word: str, operand: Any) -> tuple[bool, int]:
        """operand (word operand)*: OR over conjunctions, AND over negations."""
        value, at = operand(at)
        while at < len(tokens) and tokens[at] == ("word", word):
            right, at = operand(at + 1)
            value = (value or right) if word == "OR" else (value and right)
        return value, at

    def expression(at: int) -> tuple[bool, int]:
        return chain(at, "OR", conjunction)

    def conjunction(at: int) -> tuple[bool, int]:
        return chain(at, "AND", negation)

    def negation(at: int) -> tuple[bool, int]:
        if at < len(tokens) and tokens[at] == ("word", "NOT"):
            value, at = negation(at + 1)
            return not value, at
        return atom(at)

    def atom(at: int) -> tuple[bool, int]:
        if at >= len(tokens):
            raise ValueError("the alarm rule ends early")
        kind, text = tokens[at]
        if (kind, text) == ("paren", "("):
            value, at = expression(at + 1)
            if at >= len(tokens) or tokens[at] != ("paren", ")"):
                raise ValueError("unbalanced parentheses in the alarm rule")
            return value, at + 1
        if kind == "state":
            wanted, target = text.split(" ", 1)
            return state_of(target) == wanted, at + 1
        if kind == "word" and text in ("TRUE", "FALSE"):
            return text == "TRUE", at + 1
        raise ValueError(f"unexpected {text!r} in the alarm rule")

    value, end = expression(0)
    if end != len(tokens):
        raise ValueError("unexpected text after the alarm rule")
    return value


def _rule_targets(rule: str) -> set[str]:
    """The alarm names and ARNs a rule names (none when the sandbox cannot read it)."""
    try:
        return {text.split(" ", 1)[1] for kind, text in _rule_tokens(rule) if kind == "state"}
    except ValueError:
        return set()


def _reevaluate(backend: Any, composite: Any) -> bool:
    """Set a composite alarm to ALARM when its rule holds, else OK; True when that changed its
    state. A rule the sandbox cannot read leaves the state as it is."""
    alarms = backend.alarms

    def state_of(target: str) -> str | None:
        alarm = alarms.get(target) or next(
            (a for a in alarms.values() if a.alarm_arn == target), None)
        return alarm.state_value if alarm is not None else None

    try:
        state = "ALARM" if _rule_holds(composite.rule, state_of) else "OK"
    except ValueError:
        return False
    if state == composite.state_value:
        return False
    composite.update_state(f"Alarm rule {composite.rule} evaluated to {state}", "{}", state)
    return True


def _propagate(backend: Any, changed: Any) -> None:
    """Re-evaluate the composite alarms whose rule names `changed` (by name or ARN), and in turn
    those naming a composite whose state that changed. SetAlarmState API reference: a composite
    alarm "returns to its actual state only once any of its children alarms change state. It is
    also reevaluated if you update its configuration." """
    queue, rounds = [changed], 2 * len(backend.alarms)  # a cycle of composites cannot loop
    while queue and rounds > 0:
        alarm, rounds = queue.pop(0), rounds - 1
        for composite in list(backend.alarms.values()):
            if composite.rule is not None and composite is not alarm and \
                    _rule_targets(composite.rule) & {alarm.name, alarm.alarm_arn} and \
                    _reevaluate(backend, composite):
                queue.append(composite)


def _put_composite_alarm_action(self: Any) -> Any:
    result = self.put_metric_alarm()  # moto's: an AlarmRule makes it a composite alarm
    composite = self.cloudwatch_backend.alarms[self._get_param("AlarmName")]
    _reevaluate(self.cloudwatch_backend, composite)
    _propagate(self.cloudwatch_backend, composite)
    return result


def _set_alarm_state(self: Any, alarm_name: str, reason: str, reason_data: str,
                     state_value: str) -> None:
    _ORIGINALS["set_alarm_state"](self, alarm_name, reason, reason_data, state_value)
    _propagate(self, self.alarms[alarm_name])  # the alarm set by hand keeps the state given


# --- gap 15: change sets (hook: StackOperations) -----------------------------------------------

# CreateChangeSet for an existing stack that changes nothing: the change set FAILED with this
# reason (what `aws cloudformation deploy` looks for to report "No changes to deploy").
NO_CHANGES_REASON = ("The submitted information didn't contain changes. Submit different "
                     "information to create a change set.")
# RequiresRecreation, by impact: ResourceChange API reference, "A RequiresRecreation value of
# Always has the most impact, followed by Conditionally, and then Never."
_RECREATION_RANK = {"Never": 0, "Conditionally": 1, "Always": 2}


class ChangeSetNotFound(CloudFormationError):
    code = "ChangeSetNotFound"

    def __init__(self, name: str) -> None:
        super().__init__(f"ChangeSet [{name}] does not exist")


class InvalidChangeSetStatus(CloudFormationError):
    code = "InvalidChangeSetStatus"

    def __init__(self, change_set: Any) -> None:
        super().__init__(f"ChangeSet [{change_set.change_set_id}] cannot be executed in its "
                         f"current status of [{change_set.status}] and execution status of "
                         f"[{change_set.execution_status}]")


@functools.cache
def _create_only_properties(region: str, resource_type: str) -> dict[str, str]:
    """Property name -> RequiresRecreation for the properties whose change replaces the
    resource, from the resource's provider schema as cfn-lint ships it (`createOnlyProperties`:
    a top-level property "Always", a nested one "Conditionally"). Unknown type: none."""
    from cfnlint.schema import PROVIDER_SCHEMA_MANAGER
    try:
        schema = PROVIDER_SCHEMA_MANAGER.get_resource_schema(region, resource_type).schema
    except Exception:  # a type cfn-lint does not know (Custom::, a third-party type)
        return {}
    found: dict[str, str] = {}
    for pointer in schema.get("createOnlyProperties", []):
        parts = pointer.split("/")
        if len(parts) >= 3 and parts[1] == "properties":
            found.setdefault(parts[2], "Always" if len(parts) == 3 else "Conditionally")
    return found


def _attribute_targets(node: Any) -> set[str]:
    """Logical ids whose attributes (Fn::GetAtt) a property reads."""
    if isinstance(node, dict):
        found: set[str] = set()
        for key, value in node.items():
            if key == "Fn::GetAtt":
                found.add(value[0] if isinstance(value, list) else str(value).split(".")[0])
            else:
                found |= _attribute_targets(value)
        return found
    if isinstance(node, list):
        return set().union(*(_attribute_targets(item) for item in node))
    return set()


def _property_changes(old: dict[str, Any], new: dict[str, Any], changed_parameters: set[str],
                      changed_conditions: set[str], touched: set[str], replaced: set[str],
                      recreation: dict[str, str]) -> list[dict[str, Any]]:
    """ResourceChangeDetail entries for one modified resource: a property whose text changed
    (DirectModification), that refers to a changed parameter or condition (ParameterReference),
    both Static; or that reads an attribute of a resource being modified, or the id of one that
    may be replaced (ResourceReference, Dynamic: its value is known only once that resource is
    updated). A resource that only refers to one updated in place keeps its values: none."""
    details = []
    old_properties, new_properties = old.get("Properties") or {}, new.get("Properties") or {}
    for name in sorted(set(old_properties) | set(new_properties)):
        value = new_properties.get(name)
        references = _references(value)
        if old_properties.get(name) != value:
            source, evaluation, cause = "DirectModification", "Static", None
        elif references & changed_parameters:
            source, evaluation = "ParameterReference", "Static"
            cause = sorted(references & changed_parameters)[0]
        elif _conditions_used(value) & changed_conditions:
            source, evaluation = "ParameterReference", "Static"
            cause = sorted(_conditions_used(value) & changed_conditions)[0]
        elif _attribute_targets(value) & touched or references & replaced:
            cause = sorted(_attribute_targets(value) & touched or references & replaced)[0]
            source, evaluation = "ResourceReference", "Dynamic"
        else:
            continue
        detail = {"Target": {"Attribute": "Properties", "Name": name,
                             "RequiresRecreation": recreation.get(name, "Never")},
                  "Evaluation": evaluation, "ChangeSource": source}
        if cause is not None:
            detail["CausingEntity"] = cause
        details.append(detail)
    return details


def _replacement(details: list[dict[str, Any]]) -> str:
    """ResourceChange API reference: "if the RequiresRecreation field is Always and the
    Evaluation field is Static, Replacement is True. If the RequiresRecreation field is Always
    and the Evaluation field is Dynamic, Replacement is Conditionally." The change with the most
    impact decides."""
    worst = "False"
    for detail in details:
        recreation = detail["Target"]["RequiresRecreation"]
        if recreation == "Always" and detail["Evaluation"] == "Static":
            return "True"
        if _RECREATION_RANK[recreation] > 0:
            worst = "Conditional"
    return worst


def _resource_change(action: str, logical_id: str, resource_type: str, physical_id: str | None,
                     details: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    change: dict[str, Any] = {"Action": action, "LogicalResourceId": logical_id,
                              "ResourceType": resource_type}
    if physical_id:
        change["PhysicalResourceId"] = physical_id
    if details is not None:
        change |= {"Replacement": _replacement(details),
                   "Scope": ["Properties"] if details else [], "Details": details}
    return change  # DescribeChangeSet wraps it: {"Type": "Resource", "ResourceChange": ...}


def _change_set_changes(stack: Any, template: dict[str, Any], parameters: dict[str, Any],
                        kind: str) -> list[dict[str, Any]]:
    """The ResourceChanges a change set lists: every resource added (a CREATE change set: all),
    modified (with Replacement and Details from the resource's schema) or removed, in the
    order the sandbox's update (gap 1's diff) applies them."""
    new = template.get("Resources") or {}
    if kind == "CREATE":
        return [_resource_change("Add", name, body["Type"], None) for name, body in new.items()]
    diff = stack.resource_map.build_resource_diff(template, parameters)
    old = stack.template_dict.get("Resources") or {}
    changed_parameters = {name for name, value in _as_sent(parameters).items()
                          if _as_sent(stack.stack_parameters).get(name) != value}
    changed_conditions = _changed_conditions(template, changed_parameters)
    touched = set(diff["Modify"]) | set(diff["Add"])
    parsed = stack.resource_map._parsed_resources

    def physical(name: str) -> str | None:
        return getattr(parsed.get(name), "physical_resource_id", None)

    changes = [_resource_change("Add", name, new[name]["Type"], None) for name in diff["Add"]]
    replaced: set[str] = set(diff["Add"])
    for name in diff["Modify"]:  # in dependency order: what a resource refers to comes first
        recreation = _create_only_properties(stack.region_name, new[name]["Type"])
        details = _property_changes(old.get(name, {}), new[name], changed_parameters,
                                    changed_conditions, touched - {name}, replaced, recreation)
        if not details:
            continue
        change = _resource_change("Modify", name, new[name]["Type"], physical(name), details)
        if change["Replacement"] != "False":
            replaced.add(name)
        changes.append(change)
    changes += [_resource_change("Remove", name, old[name]["Type"], physical(name))
                for name in diff["Remove"]]
    return changes


def _find_change_set(backend: Any, name: str, stack_name: str | None) -> Any:
    """A change set by ARN, or by name (with the stack's name or id when given)."""
    if name in backend.change_sets:
        return backend.change_sets[name]
    for change_set in backend.change_sets.values():
        if change_set.change_set_name == name and stack_name in (
                None, change_set.stack_name, change_set.stack_id):
            return change_set
    raise ChangeSetNotFound(name)


def _refresh_execution_status(change_set: Any) -> None:
    """EXECUTE_IN_PROGRESS until the stack operation it started ends: EXECUTE_COMPLETE when the
    stack is *_COMPLETE (not a rollback), else EXECUTE_FAILED."""
    status = change_set.stack.status
    if change_set.execution_status != "EXECUTE_IN_PROGRESS" or status.endswith("_IN_PROGRESS"):
        return
    succeeded = status in ("CREATE_COMPLETE", "UPDATE_COMPLETE")
    change_set.execution_status = "EXECUTE_COMPLETE" if succeeded else "EXECUTE_FAILED"


def _create_change_set_action(self: Any) -> Any:
    backend = self.cloudformation_backend
    stack_name = self._get_param("StackName")
    kind = self._get_param("ChangeSetType", "CREATE")
    body = self._get_param("TemplateBody")
    if self._get_param("TemplateURL"):
        body = self._get_stack_from_s3_url(self._get_param("TemplateURL"))
    incoming = self._get_param("Parameters", [])
    stack = None
    if kind == "UPDATE":
        stack = backend.get_stack(stack_name)
        if self._get_bool_param("UsePreviousTemplate", False):
            body = stack.template
        previous = _as_sent(stack.stack_parameters)  # defaults included, lists as sent
        parameters = {p["ParameterKey"]: previous.get(p["ParameterKey"])
                      if p.get("UsePreviousValue") else p.get("ParameterValue")
                      for p in incoming}
    else:
        existing = [s for s in backend.stacks.values() if s.name == stack_name]
        # CREATE is for a stack that does not exist yet, or that an earlier CREATE change set
        # made and nobody executed: a stack "with a unique stack ID, but no template or
        # resources", REVIEW_IN_PROGRESS "until you execute the change set" (ChangeSetType).
        if any(s.status != "REVIEW_IN_PROGRESS" for s in existing):
            raise AlreadyExistsException(f"Stack [{stack_name}] already exists")
        parameters = {p["ParameterKey"]: p["ParameterValue"] for p in incoming}
    arguments = dict(
        change_set_name=self._get_param("ChangeSetName"), template=body, parameters=parameters,
        description=self._get_param("Description"),
        notification_arns=self._get_param("NotificationARNs", []),
        tags={item["Key"]: item["Value"] for item in self._get_param("Tags", [])},
        role_arn=self._get_param("RoleARN"), change_set_type=kind)
    if kind == "CREATE" and existing:  # moto's CREATE would make a second stack of that name
        validate_create_change_set(arguments["change_set_name"])
        change_set_id = generate_changeset_id(arguments["change_set_name"], backend.region_name,
                                              backend.account_id)
        backend.change_sets[change_set_id] = cfn_models.ChangeSet(
            change_set_id=change_set_id, stack=existing[0], **arguments)
        stack_id = existing[0].stack_id
    else:
        change_set_id, stack_id = backend.create_change_set(stack_name=stack_name, **arguments)
    change_set = backend.change_sets[change_set_id]
    change_set.rollback_configuration = self._get_param("RollbackConfiguration")
    stack = backend.get_stack(stack_id)
    change_set.changes = _change_set_changes(stack, change_set.template_dict, parameters, kind)
    unchanged = kind == "UPDATE" and stack.template == body and \
        _as_sent(stack.stack_parameters) == _as_sent(parameters)
    change_set.status = "FAILED" if unchanged else "CREATE_COMPLETE"
    change_set.execution_status = "UNAVAILABLE" if unchanged else "AVAILABLE"
    change_set.status_reason = NO_CHANGES_REASON if unchanged else None
    return ActionResult({"Id": change_set_id, "StackId": stack_id})


def _start_created_stack(backend: Any, stack: Any, change_set: Any) -> int:
    """Give a REVIEW_IN_PROGRESS stack the change set's template and parameters, as CreateStack
    would, and let moto create its resources; the number of events that precede them."""
    stack.template = change_set.template
    stack._parse_template()
    stack.description = stack.template_dict.get("Description")
    stack.parameters = change_set.parameters
    stack.tags = change_set.tags or {}
    stack.role_arn = change_set.role_arn
    stack.resource_map = stack._create_resource_map()
    stack.output_map = stack._create_output_map()
    backend._validate_export_uniqueness(stack)
    for export in stack.exports:
        backend.exports[export.name] = export
    stack._add_stack_event("CREATE_IN_PROGRESS", resource_status_reason="User Initiated")
    kept = len(stack.events)
    stack.create_resources()
    return kept


def _execute_change_set_action(self: Any) -> Any:
    backend = self.cloudformation_backend
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"),
                                  self._get_param("StackName"))
    if change_set.execution_status != "AVAILABLE":
        raise InvalidChangeSetStatus(change_set)
    stack = change_set.stack
    operations = _stack_operations()
    if operations is not None and change_set.change_set_type == "UPDATE":
        operations.refuse_if_busy(stack)
    # "When you execute a change set, CloudFormation deletes all other change sets associated
    # with the stack because they aren't valid for the updated stack." (ExecuteChangeSet)
    for key in [key for key, other in backend.change_sets.items()
                if other.stack_id == stack.stack_id and other is not change_set]:
        del backend.change_sets[key]
    if operations is None:  # moto's own synchronous operations, but complete (outputs)
        if change_set.change_set_type == "CREATE":
            _start_created_stack(backend, stack, change_set)
        else:
            stack.update(change_set.template, change_set.role_arn, change_set.parameters,
                         change_set.tags or None)
        change_set.execution_status = "EXECUTE_COMPLETE"
        return EmptyResult()
    with operations.rollback_configuration_requested(stack.name,
                                                     change_set.rollback_configuration):
        if change_set.change_set_type == "CREATE":
            operations.begin_create(stack, _start_created_stack(backend, stack, change_set))
        else:
            operations.begin_update(stack, change_set.template, change_set.role_arn,
                                    change_set.parameters, change_set.tags or None)
    change_set.execution_status = "EXECUTE_IN_PROGRESS"
    return EmptyResult()


def _describe_change_set_action(self: Any) -> Any:
    change_set = _find_change_set(self.cloudformation_backend, self._get_param("ChangeSetName"),
                                  self._get_param("StackName"))
    _refresh_execution_status(change_set)
    return ActionResult(change_set)


def _list_change_sets_action(self: Any) -> Any:
    """The stack's change sets (ListChangeSets: "each change set for the specified stack"; moto
    lists every stack's), with the statuses DescribeChangeSet reports."""
    stack_name = self._get_param("StackName")
    summaries = [change_set for change_set in self.cloudformation_backend.change_sets.values()
                 if stack_name in (change_set.stack_name, change_set.stack_id)]
    for change_set in summaries:
        _refresh_execution_status(change_set)
    return ActionResult({"Summaries": summaries})


def _delete_change_set_action(self: Any) -> Any:
    backend = self.cloudformation_backend
    change_set = _find_change_set(backend, self._get_param("ChangeSetName"),
                                  self._get_param("StackName"))
    _refresh_execution_status(change_set)
    # DeleteChangeSet API reference, InvalidChangeSetStatus: "For example, the change set status
    # might be CREATE_IN_PROGRESS, or the stack status might be UPDATE_IN_PROGRESS."
    if change_set.execution_status == "EXECUTE_IN_PROGRESS":
        raise InvalidChangeSetStatus(change_set)
    del backend.change_sets[change_set.change_set_id]
    return EmptyResult()


# --- gaps 16-19: the load balancer stack's resources ----------------------------------------------

def _convert_and_validate_properties(self: Any, properties: dict[str, Any]) -> list[dict]:
    """A Listener's DefaultActions for moto's create/modify: forward actions as given (gap 16)."""
    actions = []
    for index, action in enumerate(properties["DefaultActions"]):
        if action["Type"] not in elbv2_models.ALLOWED_ACTIONS:
            raise elbv2_models.InvalidActionTypeError(action["Type"], index + 1)
        actions.append(dict(action))
    return actions


class _PlainResource:
    """What moto's CloudFormation needs of a resource model that is not a moto
    CloudFormationModel subclass (so plain moto, in the pin tests, never finds it)."""

    @classmethod
    def has_cfn_attr(cls, attr: str) -> bool:
        return False

    def is_created(self) -> bool:
        return True

    @staticmethod
    def cloudformation_name_type() -> str:
        return ""

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> Any:
        """By default an update replaces the resource: the old one goes, the new one is made."""
        original_resource.delete(account_id, region_name)
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)


class ListenerCertificate(_PlainResource):
    """AWS::ElasticLoadBalancingV2::ListenerCertificate (gap 17)."""

    def __init__(self, backend: Any, listener_arn: str, certificates: list[dict]) -> None:
        self.backend = backend
        self.listener_arn = listener_arn
        self.certificates = [{"CertificateArn": c["CertificateArn"]} for c in certificates]

    @property
    def physical_resource_id(self) -> str:
        return self.listener_arn

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ElasticLoadBalancingV2::ListenerCertificate"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ListenerCertificate:
        properties = cloudformation_json["Properties"]
        backend = elbv2_models.elbv2_backends[account_id][region_name]
        made = cls(backend, properties["ListenerArn"], properties.get("Certificates") or [])
        backend.add_listener_certificates(made.listener_arn, made.certificates)
        return made

    def delete(self, account_id: str, region_name: str) -> None:
        if self.listener_arn in {listener.arn for balancer in
                                 self.backend.load_balancers.values()
                                 for listener in balancer.listeners.values()}:
            self.backend.remove_listener_certificates(self.listener_arn, self.certificates)


class ScalableTarget(_PlainResource):
    """AWS::ApplicationAutoScaling::ScalableTarget (gap 22)."""

    def __init__(self, backend: Any, namespace: str, resource_id: str, dimension: str) -> None:
        self.backend, self.namespace = backend, namespace
        self.resource_id, self.dimension = resource_id, dimension

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ScalableTarget:
        properties = cloudformation_json["Properties"]
        backend = scaling_models.applicationautoscaling_backends[account_id][region_name]
        made = cls(backend, properties["ServiceNamespace"], properties["ResourceId"],
                   properties["ScalableDimension"])
        backend.register_scalable_target(
            made.namespace, made.resource_id, made.dimension,
            int(properties["MinCapacity"]), int(properties["MaxCapacity"]),
            properties.get("RoleARN", ""), properties.get("SuspendedState"))
        return made

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> ScalableTarget:
        properties = cloudformation_json["Properties"]
        if (properties["ResourceId"], properties["ScalableDimension"]) != (
                original_resource.resource_id, original_resource.dimension):
            original_resource.delete(account_id, region_name)
        # RegisterScalableTarget of an existing target updates it in place.
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        if self.resource_id in self.backend.targets.get(self.dimension, {}):
            self.backend.deregister_scalable_target(self.namespace, self.resource_id,
                                                    self.dimension)


class ScalingPolicy(_PlainResource):
    """AWS::ApplicationAutoScaling::ScalingPolicy (gap 22), on a ScalingTargetId."""

    def __init__(self, backend: Any, name: str, target: tuple[str, str, str]) -> None:
        self.backend, self.name = backend, name
        self.resource_id, self.dimension, self.namespace = target

    @property
    def physical_resource_id(self) -> str:
        return self.policy.policy_arn

    @property
    def policy(self) -> Any:
        return self.backend.policies[scaling_models.FakeApplicationAutoscalingPolicy
                                     .formulate_key(self.namespace, self.resource_id,
                                                    self.dimension, self.name)]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ScalingPolicy:
        properties = cloudformation_json["Properties"]
        backend = scaling_models.applicationautoscaling_backends[account_id][region_name]
        target = tuple(properties["ScalingTargetId"].split("|"))
        made = cls(backend, properties["PolicyName"], target)  # type: ignore[arg-type]
        body = (properties.get("TargetTrackingScalingPolicyConfiguration")
                or properties.get("StepScalingPolicyConfiguration"))
        backend.put_scaling_policy(made.name, made.namespace, made.resource_id, made.dimension,
                                   body, properties["PolicyType"])
        return made

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(KeyError, scaling_models.AWSValidationException):
            self.backend.delete_scaling_policy(self.name, self.namespace, self.resource_id,
                                               self.dimension)


AMZ_JSON = "application/x-amz-json-1.1"


def _scaling_call_action(self: Any) -> Any:
    """Application Auto Scaling's answers as the JSON protocol's media type (gap 23)."""
    # moto's own is inherited (BaseResponse.call_action): uninstall deletes this override.
    status, headers, body = BaseResponse.call_action(self)
    headers = {key: value for key, value in dict(headers).items()
               if key.lower() != "content-type"}
    return status, {**headers, "Content-Type": AMZ_JSON}, body


PLAIN_MODELS = {model.cloudformation_type(): model
                for model in (ListenerCertificate, ScalableTarget, ScalingPolicy)}


def _resource_class_from_type(resource_type: str) -> Any:
    if resource_type in PLAIN_MODELS:
        return PLAIN_MODELS[resource_type]
    return _ORIGINALS["resource_class_from_type"](resource_type)


def _load_balancer_create(cls: Any, resource_name: str, cloudformation_json: Any,
                          account_id: str, region_name: str, **kwargs: Any) -> Any:
    """A LoadBalancer with its `Type` (gap 18)."""
    properties = cloudformation_json["Properties"]
    backend = elbv2_models.elbv2_backends[account_id][region_name]
    return backend.create_load_balancer(
        resource_name, properties.get("SecurityGroups") or [], properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type") or "application")


def _target_group_create(cls: Any, resource_name: str, cloudformation_json: Any,
                         account_id: str, region_name: str, **kwargs: Any) -> Any:
    """A TargetGroup with its `Targets` registered (gap 19)."""
    group = _ORIGINALS["target_group_create"].__func__(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    targets = cloudformation_json["Properties"].get("Targets") or []
    if targets:
        elbv2_models.elbv2_backends[account_id][region_name].register_targets(
            group.arn, [{"Id": t["Id"], **({"Port": int(t["Port"])} if "Port" in t else {})}
                        for t in targets])
    return group
# --- gap 20: list parameters shown as sent ------------------------------------------------

def _parameter_list(self: Any) -> list[dict[str, Any]]:
    hidden = self.resource_map.no_echo_parameter_keys
    return [{"ParameterKey": key, "ParameterValue": "****" if key in hidden
             else _as_sent({key: value})[key]}
            for key, value in self.resource_map.resolved_parameters.items()]


# --- gap 21: target groups updated by a stack update ------------------------------------

_TARGET_GROUP_REPLACED_BY = ("Port", "Protocol", "VpcId", "TargetType", "Name")


def _target_group_update(cls: Any, original_resource: Any, new_resource_name: str,
                         cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    properties = cloudformation_json.get("Properties") or {}
    current = {"Port": original_resource.port, "Protocol": original_resource.protocol,
               "VpcId": original_resource.vpc_id, "TargetType": original_resource.target_type}
    if any(key in properties and properties[key] != current.get(key, properties[key])
           for key in _TARGET_GROUP_REPLACED_BY):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)
    backend = elbv2_models.elbv2_backends[account_id][region_name]
    matcher = properties.get("Matcher") or {}
    backend.modify_target_group(
        original_resource.arn, health_check_proto=properties.get("HealthCheckProtocol"),
        health_check_port=properties.get("HealthCheckPort"),
        health_check_path=properties.get("HealthCheckPath"),
        health_check_interval=properties.get("HealthCheckIntervalSeconds"),
        health_check_timeout=properties.get("HealthCheckTimeoutSeconds"),
        healthy_threshold_count=properties.get("HealthyThresholdCount"),
        unhealthy_threshold_count=properties.get("UnhealthyThresholdCount"),
        http_codes=matcher.get("HttpCode"))
    attributes = {item["Key"]: item["Value"]
                  for item in properties.get("TargetGroupAttributes") or []}
    if attributes:
        backend.modify_target_group_attributes(original_resource.arn, attributes)
    return original_resource


# --- installing ---------------------------------------------------------------------------------

def _patches() -> dict[str, tuple[type, str, Any]]:
    """Every moto attribute the sandbox replaces, each once: name -> (class, attribute, fix)."""
    backend, response = cfn_models.CloudFormationBackend, cfn_responses.CloudFormationResponse
    service, group = ecs_models.Service, elbv2_models.FakeTargetGroup
    return {
        # gap 1
        "build_resource_diff": (parsing.ResourceMap, "build_resource_diff", _build_resource_diff),
        # gaps 2 and 5
        "service_create": (service, "create_from_cloudformation_json",
                           classmethod(_service_create)),
        "service_update": (service, "update_from_cloudformation_json",
                           classmethod(_service_update)),
        # gap 24
        "task_definition_create": (ecs_models.TaskDefinition, "create_from_cloudformation_json",
                                   classmethod(_task_definition_create)),
        # gap 3
        "task_definition_update": (ecs_models.TaskDefinition, "update_from_cloudformation_json",
                                   classmethod(_task_definition_update)),
        # gap 4 (and gap 10 in health_for)
        "register": (group, "register", _register_targets),
        "deregister": (group, "deregister", _deregister_targets),
        "health_for": (group, "health_for", _health_for),
        # gap 6
        "service_delete": (service, "delete", _service_delete),
        # gap 7
        "validate_update": (response, "_validate_different_update", _validate_different_update),
        # gap 8
        "create_stack": (backend, "create_stack", _create_stack),
        "update_stack": (backend, "update_stack", _update_stack),
        "delete_stack": (backend, "delete_stack", _delete_stack),
        "update_stack_action": (response, "update_stack", _update_stack_action),
        "outputs": (cfn_models.Stack, "outputs", property(_outputs)),
        # gap 9
        "cancel_update_stack_action": (response, "cancel_update_stack",
                                       _cancel_update_stack_action),
        # gap 11 (with update_stack_action above)
        "create_stack_action": (response, "create_stack", _create_stack_action),
        # gap 12
        "update_termination_protection_action": (
            response, "update_termination_protection", _update_termination_protection_action),
        # gap 14
        "put_composite_alarm_action": (cloudwatch_responses.CloudWatchResponse,
                                       "put_composite_alarm", _put_composite_alarm_action),
        "set_alarm_state": (cloudwatch_models.CloudWatchBackend, "set_alarm_state",
                            _set_alarm_state),
        # gap 15
        "create_change_set_action": (response, "create_change_set", _create_change_set_action),
        "execute_change_set_action": (response, "execute_change_set",
                                      _execute_change_set_action),
        "describe_change_set_action": (response, "describe_change_set",
                                       _describe_change_set_action),
        "delete_change_set_action": (response, "delete_change_set", _delete_change_set_action),
        "list_change_sets_action": (response, "list_change_sets", _list_change_sets_action),
        # gap 16
        "convert_and_validate_properties": (elbv2_models.ELBv2Backend,
                                            "convert_and_validate_properties",
                                            _convert_and_validate_properties),
        # gaps 17 and 22
        "resource_class_from_type": (parsing, "resource_class_from_type",
                                     _resource_class_from_type),
        # gap 18
        "load_balancer_create": (elbv2_models.FakeLoadBalancer, "create_from_cloudformation_json",
                                 classmethod(_load_balancer_create)),
        # gap 19
        "target_group_create": (group, "create_from_cloudformation_json",
                                classmethod(_target_group_create)),
        # gap 23
        "scaling_call_action": (scaling_responses.ApplicationAutoScalingResponse, "call_action",
                                _scaling_call_action),
        # gap 20
        "parameter_list": (cfn_models.Stack, "parameter_list", property(_parameter_list)),
        # gap 21
        "target_group_update": (group, "update_from_cloudformation_json",
                                classmethod(_target_group_update)),
    }


def install(stack_operations: StackOperations | None = None,
            target_health: TargetHealthBook | None = None) -> None:
    """Apply every fix to moto in this process, and hand gaps 8, 9, 11 and 13 to
    `stack_operations` and gap 10 to `target_health` (None: moto's own behaviour there). Each
    moto attribute is patched once, whatever the number of calls; the hooks are the last
    call's."""
    _HOOKS.update(stack_operations=stack_operations, target_health=target_health)
    if _ORIGINALS:
        return
    for name, (owner, attribute, fix) in _patches().items():
        _ORIGINALS[name] = owner.__dict__.get(attribute, _MISSING)
        setattr(owner, attribute, fix)


def installed() -> bool:
    """Whether the fixes are applied (the pin tests run on plain moto)."""
    return bool(_ORIGINALS)


def uninstall() -> None:
    """Restore plain moto, hooks unwired (used by the pin tests)."""
    _HOOKS.update(stack_operations=None, target_health=None)
    if not _ORIGINALS:
        return
    for name, (owner, attribute, _) in _patches().items():
        original = _ORIGINALS.pop(name)
        if original is _MISSING:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, original)
