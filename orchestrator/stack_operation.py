"""One stack operation: start it, wait for it with the deadline, cancel only this run's own
update at the deadline, and turn a result that is not a success into the error it means."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stackswap.environment.errors import (
    StackswapError,
    StateUnknown,
)
from stackswap.orchestrator.context import (
    Context,
)
from stackswap.orchestrator.model import (
    ROLLBACK_FAILED,
    SUCCEEDED,
)
from stackswap.orchestrator.observe import (
    newest_event_id,
)
from stackswap.orchestrator.plan import deadline_made_of, operation_deadline
from stackswap.orchestrator.wait import (
    DeadlineExceeded,
    WaitResult,
    wait_for_stack,
)

if TYPE_CHECKING:
    pass


def operate(ctx: Context, stack: str, start: Callable[[], bool], *, is_new: bool = False,
            monitoring_minutes: int = 0) -> WaitResult | None:
    """Start an operation on `stack` and wait for it; None when there was nothing to update.
    Its deadline is its own: the stack timeout plus the monitoring time it was started with.

    An update still running at the deadline is ours, so it is cancelled and its rollback waited
    for: the result is that rollback, with the deadline as its reason. A create at the deadline
    cannot be cancelled (CloudFormation cancels updates only): DeadlineExceeded, exit 7."""
    marker = None if is_new else newest_event_id(ctx.aws, stack)
    if ctx.lock is not None:
        ctx.lock.confirm(ctx.changed)
    ctx.requesting = stack  # an error from start() ends the run: nothing else reads it then
    began = start()
    ctx.requesting = None
    if not began:
        ctx.log.say(f"{stack}: no updates to perform")
        return None
    ctx.changed.append(stack)
    try:
        return wait(ctx, stack, marker, monitoring_minutes)
    except DeadlineExceeded as late:
        if is_new:
            raise
        ctx.log.say(f"{stack}: deadline passed, cancelling the update this run started")
        try:
            marker = newest_event_id(ctx.aws, stack)
            ctx.aws.cancel_update_stack(stack)
        except StateUnknown as error:
            raise StateUnknown(f"{late.message}, and it could not be cancelled "
                               f"({error.message})") from None
        rolled_back = wait(ctx, stack, marker)
        return WaitResult(stack, rolled_back.status, f"{late.message}; stackswap cancelled and "
                          f"rolled back the update it started", None)


def wait(ctx: Context, stack: str, marker: str | None, monitoring_minutes: int = 0
         ) -> WaitResult:
    """Wait for the operation on `stack` until its deadline (plan.operation_deadline: the stack
    timeout plus its `monitoring_minutes`; a rollback has none)."""
    ctx.current = stack  # from here on, an interrupt leaves an operation running in AWS
    deploy = ctx.config.deploy
    found = wait_for_stack(ctx.aws, stack, marker=marker,
                           timeout=operation_deadline(deploy, monitoring_minutes),
                           clock=ctx.clock, on_event=lambda event: ctx.log.event(stack, event),
                           on_progress=ctx.log.say,
                           unreachable_timeout=deploy.unreachable_timeout_seconds,
                           deadline_made_of=deadline_made_of(monitoring_minutes))
    ctx.current = None
    return found


def raise_on_failure(result: WaitResult | None, failed: Callable[[str], StackswapError],
                     rollback_failed: Callable[[str], StackswapError] | None = None) -> None:
    """Nothing to do for no operation or a success. Otherwise raise what the failure means:
    `rollback_failed(why)` when the stack's own rollback failed too (and one is given), else
    `failed(why)`; `why` is CloudFormation's reason."""
    if result is None or result.outcome == SUCCEEDED:
        return
    if rollback_failed is not None and result.status == ROLLBACK_FAILED:
        raise rollback_failed(result.failure_text())
    raise failed(result.failure_text())
