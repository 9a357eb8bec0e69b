"""Where moto's CloudFormation update differs from real CloudFormation, and the sandbox's fix.

Each gap has a pin test in tests/test_moto_gaps.py that shows plain moto still has it, so an
upgrade that closes one is noticed and the fix here can go.

Gap 1 — updates are diffed textually. moto re-applies a resource on update only when its own JSON
changed or it `Ref`s a changed parameter directly. Real CloudFormation also re-applies a resource
when a condition it uses (`Fn::If`) changes value, or when a resource it references gets a new
physical id. Seen: the listeners' `Fn::If` on `LiveColor` is never re-evaluated, so a swap does
nothing; an ECS service whose task definition was replaced keeps the old revision.
Fix: extend moto's diff with those resources, in dependency order.

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
shape, so the sandbox's data plane (and anyone calling DescribeServices) knows the target group.

Gap 6 — deleting a stack (or rolling back its creation) leaves its ECS service ACTIVE: moto has
no delete for CloudFormation-managed services. Fix: delete the service as DeleteService would.

Gap 7 — "No updates are to be performed" is never raised for a stack with a list parameter
(`List<AWS::EC2::Subnet::Id>`): moto compares the stack's parsed values (a Python list) with the
request's (a comma-separated string), so an update that changes nothing runs as a real one. Fix:
compare both as CloudFormation does, as the strings the caller sent.

Only the sandbox's own moto server (and the tests' server, which is the same) installs these.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.ecs import models as ecs_models
from moto.elbv2 import models as elbv2_models

_ORIGINALS: dict[str, Any] = {}


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
    changed_parameters = {
        name for name, value in (parameters or {}).items()
        if self.input_parameters.get(name) != value
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
    diff["Modify"] = [name for name in touched if name not in diff["Add"]]
    return diff


def _load_balancers(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """A CloudFormation `LoadBalancers` property in the ECS API's shape."""
    return [
        {"targetGroupArn": item.get("TargetGroupArn"), "containerName": item.get("ContainerName"),
         "containerPort": int(item["ContainerPort"]) if "ContainerPort" in item else None}
        for item in properties.get("LoadBalancers") or []
    ]


def _service_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                    region_name: str, **kwargs: Any) -> Any:
    service = _ORIGINALS["service_create"].__func__(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    service.load_balancers = _load_balancers(cloudformation_json["Properties"])
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


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
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


def _task_definition_update(cls: Any, original_resource: Any, new_resource_name: str,
                            cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    replacement = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name)
    ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(
        original_resource.arn)
    return replacement


def _as_sent(parameters: dict[str, Any]) -> dict[str, Any]:
    return {key: ",".join(value) if isinstance(value, list) else value
            for key, value in parameters.items()}


def _validate_different_update(self: Any, incoming_params: list[dict[str, Any]] | None,
                               stack_body: str, old_stack: Any) -> None:
    if incoming_params and stack_body:
        new = self._get_param_values(incoming_params, old_stack.stack_parameters)
        if old_stack.template == stack_body and \
                _as_sent(old_stack.stack_parameters) == _as_sent(new):
            raise ValidationError(old_stack.name, message="No updates are to be performed.")


def install() -> None:
    """Apply the fixes to moto in this process (idempotent)."""
    if _ORIGINALS:
        return
    group = elbv2_models.FakeTargetGroup
    _ORIGINALS["build_resource_diff"] = parsing.ResourceMap.build_resource_diff
    _ORIGINALS["service_create"] = ecs_models.Service.__dict__["create_from_cloudformation_json"]
    _ORIGINALS["service_update"] = ecs_models.Service.__dict__["update_from_cloudformation_json"]
    _ORIGINALS["task_definition_update"] = ecs_models.TaskDefinition.__dict__[
        "update_from_cloudformation_json"]
    _ORIGINALS["validate_update"] = cfn_responses.CloudFormationResponse.__dict__[
        "_validate_different_update"]
    _ORIGINALS["register"] = group.register
    _ORIGINALS["deregister"] = group.deregister
    _ORIGINALS["health_for"] = group.health_for
    parsing.ResourceMap.build_resource_diff = _build_resource_diff
    cfn_responses.CloudFormationResponse._validate_different_update = _validate_different_update
    ecs_models.Service.create_from_cloudformation_json = classmethod(_service_create)
    ecs_models.Service.update_from_cloudformation_json = classmethod(_service_update)
    ecs_models.TaskDefinition.update_from_cloudformation_json = classmethod(
        _task_definition_update)
    ecs_models.Service.delete = _service_delete
    group.register = _register_targets
    group.deregister = _deregister_targets
    group.health_for = _health_for


def uninstall() -> None:
    """Restore plain moto (used by the pin tests)."""
    if not _ORIGINALS:
        return
    group = elbv2_models.FakeTargetGroup
    parsing.ResourceMap.build_resource_diff = _ORIGINALS.pop("build_resource_diff")
    cfn_responses.CloudFormationResponse._validate_different_update = _ORIGINALS.pop(
        "validate_update")
    ecs_models.Service.create_from_cloudformation_json = _ORIGINALS.pop("service_create")
    ecs_models.Service.update_from_cloudformation_json = _ORIGINALS.pop("service_update")
    del ecs_models.Service.delete
    group.register = _ORIGINALS.pop("register")
    group.deregister = _ORIGINALS.pop("deregister")
    group.health_for = _ORIGINALS.pop("health_for")
    ecs_models.TaskDefinition.update_from_cloudformation_json = _ORIGINALS.pop(
        "task_definition_update")
