"""Gaps 8, 9, 11 and 13: stack operations that take time, as CloudFormation runs them, handed
to the sandbox's StackOperations (sandbox/stack_operations.py).

These gaps are filled by the emulator; this module only wires its hooks into moto
(`install(stack_operations=...)`), so that the package stays the one place that patches moto.
Without the hook (the tests' moto server) every operation is moto's own.

Gap 8 — every stack operation completes inside the API call and never fails: CreateStack,
UpdateStack and DeleteStack return with the stack already `*_COMPLETE`, so nothing is ever seen
in progress, waits for an ECS service, trips a circuit breaker or rolls back. Wired here:
CreateStack, UpdateStack and DeleteStack hand the stack to `begin_create`, `begin_update` and
`begin_delete`; UpdateStack first refuses a stack in progress (`refuse_if_busy`, before moto
diffs anything); and a stack shows no outputs until it is created.

Gap 9 — CancelUpdateStack is not implemented (over HTTP, moto answers a 500 page). Wired here:
routed to `cancel_update`, which rolls the update back.

Gap 11 — CreateStack and UpdateStack drop `RollbackConfiguration`: no rollback trigger is ever
watched, nothing is saved for the stack's next update, and DescribeStacks shows no
`RollbackConfiguration` (real: the stack's saved one, `{}` when it has none). StackOperations
saves it per stack, reuses it for an update that omits it and watches its triggers. Wired here:
both requests hand theirs over (`rollback_configuration_requested`) while moto serves them.

Gap 13 — DeleteStack deletes a stack with termination protection. StackOperations'
`begin_delete` refuses it with CloudFormation's ValidationError. A hook, so that the tests' moto
server keeps moto's DeleteStack: its fault tests remove stackswap-created (protected) stacks
with it.
"""

from __future__ import annotations

import functools
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation import responses as cfn_responses
from moto.core.responses import EmptyResult
from stackswap.sandbox.moto_gaps._common import ORIGINALS, stack_operations

# --- gaps 8, 11 and 13: stack operations that take time --------------------------------------


def _create_stack(self: Any, *args: Any, **kwargs: Any) -> Any:
    stack = ORIGINALS["create_stack"](self, *args, **kwargs)
    operations = stack_operations()
    if operations is not None:
        operations.begin_create(stack)
    return stack


def _update_stack(self: Any, name: str, template: str, role_arn: str | None,
                  parameters: list[dict[str, Any]], tags: dict[str, str] | None) -> Any:
    operations = stack_operations()
    if operations is None:
        return ORIGINALS["update_stack"](self, name, template, role_arn, parameters, tags)
    stack = self.get_stack(name)
    resolved = self._resolve_update_parameters(instance=stack, incoming_params=parameters)
    operations.begin_update(stack, template, role_arn, resolved, tags)
    return stack


def _delete_stack(self: Any, name_or_stack_id: str) -> None:
    operations = stack_operations()
    if operations is None:
        ORIGINALS["delete_stack"](self, name_or_stack_id)
        return
    for stack in list(self.stacks.values()):
        if name_or_stack_id in (stack.name, stack.stack_id):
            delete = functools.partial(ORIGINALS["delete_stack"], self, stack.stack_id)
            operations.begin_delete(stack, delete, name_or_stack_id)  # gap 13
            return


def _create_stack_action(self: Any) -> Any:
    operations = stack_operations()
    if operations is None:
        return ORIGINALS["create_stack_action"](self)
    # gap 11: moto drops RollbackConfiguration; hand it to begin_create (same request, lock held).
    with operations.rollback_configuration_requested(
            self._get_param("StackName"), self._get_param("RollbackConfiguration")):
        return ORIGINALS["create_stack_action"](self)


def _update_stack_action(self: Any) -> Any:
    operations = stack_operations()
    if operations is None:
        return ORIGINALS["update_stack_action"](self)
    # Before moto's checks: real CloudFormation refuses a busy stack before diffing anything.
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    operations.refuse_if_busy(stack)
    # gap 11: moto drops RollbackConfiguration; hand it to begin_update (same request, lock held).
    with operations.rollback_configuration_requested(
            stack.name, self._get_param("RollbackConfiguration")):
        return ORIGINALS["update_stack_action"](self)


def _outputs(self: Any) -> Any:
    # Real CloudFormation shows outputs only once a stack is created.
    if stack_operations() is not None and self.status in (
            "CREATE_IN_PROGRESS", "ROLLBACK_IN_PROGRESS", "ROLLBACK_COMPLETE"):
        return None
    return ORIGINALS["outputs"].fget(self)


# --- gap 9: CancelUpdateStack ------------------------------------------------------------------

def _cancel_update_stack_action(self: Any) -> Any:
    operations = stack_operations()
    if operations is None:  # what moto answers for an action it does not implement
        raise NotImplementedError("The cancel_update_stack action has not been implemented")
    stack = self.cloudformation_backend.get_stack(self._get_param("StackName"))
    operations.cancel_update(stack)
    return EmptyResult()


_BACKEND, _RESPONSE = cfn_models.CloudFormationBackend, cfn_responses.CloudFormationResponse

PATCHES = {
    # gap 8
    "create_stack": (_BACKEND, "create_stack", _create_stack),
    "update_stack": (_BACKEND, "update_stack", _update_stack),
    "delete_stack": (_BACKEND, "delete_stack", _delete_stack),
    "update_stack_action": (_RESPONSE, "update_stack", _update_stack_action),
    "outputs": (cfn_models.Stack, "outputs", property(_outputs)),
    # gap 9
    "cancel_update_stack_action": (_RESPONSE, "cancel_update_stack",
                                   _cancel_update_stack_action),
    # gap 11 (with update_stack_action above)
    "create_stack_action": (_RESPONSE, "create_stack", _create_stack_action),
}
