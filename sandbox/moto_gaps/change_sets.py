"""Gap 15: change sets, as CloudFormation makes, lists, describes and executes them.

Plain moto: an executed CREATE change set leaves the stack CREATE_COMPLETE with no resource
events and no outputs (moto builds the stack from an empty template and never rebuilds its
outputs), an UPDATE change set lists no change for a parameter-only update and carries no
Replacement or Details, DescribeChangeSet / DeleteChangeSet of an unknown name answer a 500 page,
executing one runs inside the call, never in progress, never failing, a second CREATE change set
for a stack still in REVIEW_IN_PROGRESS makes a second stack of that name, and ListChangeSets
lists every stack's change sets.

Fix: CreateChangeSet (CREATE also for a stack in REVIEW_IN_PROGRESS: the change set joins that
stack) lists what gap 1's diff (stack_updates.py) would add, modify (Replacement and Details
from the resource's provider schema as cfn-lint ships it: a `createOnlyProperties` change is a
replacement) or remove, and a change set that changes nothing FAILED with CloudFormation's
reason. ExecuteChangeSet gives a REVIEW_IN_PROGRESS stack its template and parameters and hands
it to StackOperations' `begin_create`, an existing one to `begin_update` (with the change set's
RollbackConfiguration), so timing, events, failure injection, rollback triggers and outputs are
CreateStack's and UpdateStack's; it deletes the stack's other change sets, and the change set's
ExecutionStatus follows the stack (EXECUTE_IN_PROGRESS, then EXECUTE_COMPLETE or
EXECUTE_FAILED), in ListChangeSets (the stack's own) as in DescribeChangeSet. Without the hook
(the tests' moto server) the operation runs inside the call, as moto's CreateStack does.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import AlreadyExistsException, CloudFormationError
from moto.cloudformation.utils import generate_changeset_id, validate_create_change_set
from moto.core.responses import ActionResult, EmptyResult
from stackswap.sandbox.moto_gaps._common import (
    as_sent,
    changed_conditions,
    conditions_used,
    references,
    stack_operations,
)

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
        referenced = references(value)
        if old_properties.get(name) != value:
            source, evaluation, cause = "DirectModification", "Static", None
        elif referenced & changed_parameters:
            source, evaluation = "ParameterReference", "Static"
            cause = sorted(referenced & changed_parameters)[0]
        elif conditions_used(value) & changed_conditions:
            source, evaluation = "ParameterReference", "Static"
            cause = sorted(conditions_used(value) & changed_conditions)[0]
        elif _attribute_targets(value) & touched or referenced & replaced:
            cause = sorted(_attribute_targets(value) & touched or referenced & replaced)[0]
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
    changed_parameters = {name for name, value in as_sent(parameters).items()
                          if as_sent(stack.stack_parameters).get(name) != value}
    conditions = changed_conditions(template, changed_parameters)
    touched = set(diff["Modify"]) | set(diff["Add"])
    parsed = stack.resource_map._parsed_resources

    def physical(name: str) -> str | None:
        return getattr(parsed.get(name), "physical_resource_id", None)

    changes = [_resource_change("Add", name, new[name]["Type"], None) for name in diff["Add"]]
    replaced: set[str] = set(diff["Add"])
    for name in diff["Modify"]:  # in dependency order: what a resource refers to comes first
        recreation = _create_only_properties(stack.region_name, new[name]["Type"])
        details = _property_changes(old.get(name, {}), new[name], changed_parameters,
                                    conditions, touched - {name}, replaced, recreation)
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
        previous = as_sent(stack.stack_parameters)  # defaults included, lists as sent
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
        as_sent(stack.stack_parameters) == as_sent(parameters)
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
    operations = stack_operations()
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


_RESPONSE = cfn_responses.CloudFormationResponse

PATCHES = {
    "create_change_set_action": (_RESPONSE, "create_change_set", _create_change_set_action),
    "execute_change_set_action": (_RESPONSE, "execute_change_set", _execute_change_set_action),
    "describe_change_set_action": (_RESPONSE, "describe_change_set",
                                   _describe_change_set_action),
    "delete_change_set_action": (_RESPONSE, "delete_change_set", _delete_change_set_action),
    "list_change_sets_action": (_RESPONSE, "list_change_sets", _list_change_sets_action),
}
