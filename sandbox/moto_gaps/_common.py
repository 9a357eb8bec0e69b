"""What several gap families share: moto's own attributes while the fixes are installed, the
emulators some fixes hand over to, how CloudFormation reads a template's references and
parameters, and the base of the resource models moto's CloudFormation lacks."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from stackswap.sandbox.stack_operations import StackOperations

# Patch name -> moto's own attribute (the class's __dict__ entry), while the fixes are installed:
# a fix that extends moto calls the original through it.
ORIGINALS: dict[str, Any] = {}
MISSING = object()  # moto has no such attribute: uninstall() deletes the fix's
# The emulators the fixes of gaps 8-11, 13 and 15 hand over to (None: moto's own behaviour).
HOOKS: dict[str, Any] = {"stack_operations": None, "target_health": None}


def stack_operations() -> StackOperations | None:
    return HOOKS["stack_operations"]


def as_sent(parameters: dict[str, Any]) -> dict[str, Any]:
    """Parameter values as a caller sends them: strings (ParameterValue is a String in the
    CloudFormation API reference), a list as one comma-separated string. moto keeps a Number
    parameter it resolved as an int; "100" and 100 are the same value."""
    return {key: ",".join(value) if isinstance(value, list) else str(value)
            for key, value in parameters.items()}


def references(node: Any) -> set[str]:
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
                found |= references(value)
    elif isinstance(node, list):
        for item in node:
            found |= references(item)
    return found


def conditions_used(node: Any) -> set[str]:
    found: set[str] = set()
    if isinstance(node, dict):
        for key, value in node.items():
            if key == "Fn::If" and isinstance(value, list) and value:
                found.add(value[0])
            if key == "Condition" and isinstance(value, str):
                found.add(value)
            found |= conditions_used(value)
    elif isinstance(node, list):
        for item in node:
            found |= conditions_used(item)
    return found


def changed_conditions(template: dict[str, Any], changed_parameters: set[str]) -> set[str]:
    """Conditions whose value may change because a parameter (or a condition they use) changed."""
    conditions = template.get("Conditions", {})
    changed: set[str] = set()
    grew = True
    while grew:
        grew = False
        for name, body in conditions.items():
            if name in changed:
                continue
            if references(body) & changed_parameters or conditions_used(body) & changed:
                changed.add(name)
                grew = True
    return changed


class PlainResource:
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
