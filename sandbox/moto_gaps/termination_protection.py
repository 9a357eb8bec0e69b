"""Gap 12: UpdateTerminationProtection, which moto does not implement (over HTTP, a 500 page).

Fix: set or clear the stack's flag (moto keeps CreateStack's `EnableTerminationProtection` and
shows it in DescribeStacks), refused for a stack being or already deleted, as the user guide
says. That DeleteStack refuses a protected stack is gap 13's (operations.py).
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import responses as cfn_responses
from moto.cloudformation.exceptions import ValidationError
from moto.core.responses import ActionResult


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


PATCHES = {
    "update_termination_protection_action": (
        cfn_responses.CloudFormationResponse, "update_termination_protection",
        _update_termination_protection_action),
}
