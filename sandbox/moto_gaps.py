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

Only the sandbox's own moto server (and the tests' server, which is the same) installs these.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from moto.ecs import models as ecs_models

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


def _service_update(cls: Any, original_resource: Any, new_resource_name: str,
                    cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    properties = cloudformation_json["Properties"]
    task_definition = properties.get("TaskDefinition")
    if isinstance(task_definition, ecs_models.TaskDefinition):
        properties = {**properties, "TaskDefinition": task_definition.arn}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    return _ORIGINALS["service_update"].__func__(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)


def _task_definition_update(cls: Any, original_resource: Any, new_resource_name: str,
                            cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    replacement = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name)
    ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(
        original_resource.arn)
    return replacement


def install() -> None:
    """Apply the fixes to moto in this process (idempotent)."""
    if _ORIGINALS:
        return
    _ORIGINALS["build_resource_diff"] = parsing.ResourceMap.build_resource_diff
    _ORIGINALS["service_update"] = ecs_models.Service.__dict__["update_from_cloudformation_json"]
    _ORIGINALS["task_definition_update"] = ecs_models.TaskDefinition.__dict__[
        "update_from_cloudformation_json"]
    parsing.ResourceMap.build_resource_diff = _build_resource_diff
    ecs_models.Service.update_from_cloudformation_json = classmethod(_service_update)
    ecs_models.TaskDefinition.update_from_cloudformation_json = classmethod(
        _task_definition_update)


def uninstall() -> None:
    """Restore plain moto (used by the pin tests)."""
    if not _ORIGINALS:
        return
    parsing.ResourceMap.build_resource_diff = _ORIGINALS.pop("build_resource_diff")
    ecs_models.Service.update_from_cloudformation_json = _ORIGINALS.pop("service_update")
    ecs_models.TaskDefinition.update_from_cloudformation_json = _ORIGINALS.pop(
        "task_definition_update")
