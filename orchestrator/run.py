"""A command's run: plan without the lock (refusals and dry runs change nothing), take the lock,
observe and plan again under it, perform each step with its handler, release the lock always."""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import TYPE_CHECKING

from stackswap.environment.errors import (
    Refused,
    StackswapError,
    StateUnknown,
)
from stackswap.orchestrator.context import (
    Context,
)
from stackswap.orchestrator.lock import DeployLock, Holder, LockKeeper
from stackswap.orchestrator.model import (
    Observed,
)
from stackswap.orchestrator.observe import (
    observe_for_deploy,
    observe_stacks,
)
from stackswap.orchestrator.output.diff import plan_text
from stackswap.orchestrator.output.log import print_result
from stackswap.orchestrator.output.status import summary
from stackswap.orchestrator.output.text import length_text
from stackswap.orchestrator.plan import (
    Plan,
    plan_length,
    refuse_beyond,
)
from stackswap.orchestrator.steps import HANDLERS

if TYPE_CHECKING:
    pass


MAX_REPLANS = 20


def planned(ctx: Context, make_plan: Callable[[Observed], Plan]) -> Plan:
    """Observe and plan; a plan that may outlast a limit the run cannot extend (ctx.limits) is
    refused here, before any change."""
    plan = make_plan(observe_now(ctx))
    refuse_beyond(plan_length(plan, ctx.config.deploy), ctx.limits)
    return plan


def execute(plan: Plan, ctx: Context) -> None:
    if plan.needs_lock:  # at its start a run says how long it may take
        ctx.log.plan_length(plan_length(plan, ctx.config.deploy))
    for number, step in enumerate(plan.steps, 1):
        ctx.log.phase_start(number, len(plan.steps), step)
        began, outcome = ctx.clock.now(), "failed"
        try:
            HANDLERS[type(step)](step, ctx)
            outcome = "done"
        finally:
            ctx.log.phase_end(number, len(plan.steps), step, outcome, ctx.clock.now() - began)


def run(ctx: Context, make_plan: Callable[[Observed], Plan], *, command: str, dry_run: bool,
        wait_for_lock: bool) -> int:
    """Plan once without the lock, so refusals and dry runs make no mutating call at all; then
    take the lock and plan again under it (the state may have moved meanwhile). A plan that
    waits for someone else's operation is run, then planned again."""
    plan = planned(ctx, make_plan)
    if dry_run:
        length = plan_length(plan, ctx.config.deploy)
        print_result(*plan_text(plan.lines(), dry_run=True),
                     *([f"this plan takes {length_text(length)}"] if plan.needs_lock else []))
        return 0
    if not plan.needs_lock:
        return finish(ctx, plan)
    with holding_lock(ctx, command, wait_for_lock):
        for _ in range(MAX_REPLANS):
            plan = planned(ctx, make_plan)
            if not plan.waits:
                return finish(ctx, plan)
            execute(plan, ctx)
    raise StateUnknown("the environment kept changing while waiting; run again")


@contextmanager
def holding_lock(ctx: Context, command: str, wait_for_lock: bool) -> Iterator[None]:
    """Take the deploy lock for the block and always release it; meanwhile the run's clock is
    a LockKeeper, so that each pause renews the lock. A refusal after this run changed
    something is exit 7, not 3: exit 3 promises that nothing changed."""
    lock = ctx.lock = DeployLock(ctx.aws, ctx.config, command, ctx.log, ctx.clock)
    lock.acquire(wait_for_lock)
    clock = ctx.clock
    ctx.clock = LockKeeper(clock, lock, lambda: (ctx.changed, ctx.where_paused()))
    try:
        ctx.log.emit("lock", state="taken", name=lock.name,
                     expires=Holder.parse(lock.value).expires)
        yield
    except Refused as error:
        if not ctx.changed:
            raise
        raise StateUnknown(f"{error.message} — after this run had changed "
                           f"{', '.join(ctx.changed)}. Run `stackswap status`, then rerun the "
                           f"same command to resume") from None
    finally:
        ctx.clock = clock
        release(ctx, lock)


def observe_now(ctx: Context) -> Observed:
    ctx.observed = observe_stacks(ctx.aws, ctx.config, ctx.compare_alb)
    if ctx.observe_services:
        ctx.observed = observe_for_deploy(ctx.aws, ctx.config, ctx.observed)
    if ctx.first_observed is None:
        ctx.first_observed = ctx.observed
    return ctx.observed


def release(ctx: Context, lock: DeployLock) -> None:
    """Remove our lock; when AWS cannot be reached for it, say so instead of hiding the error
    that ended the run (the lock expires by itself; `stackswap unlock` removes it at once)."""
    try:
        lock.release()
        ctx.log.emit("lock", state="released", name=lock.name)
    except StackswapError as error:
        ctx.log.say(f"note: could not remove the deploy lock {lock.name} ({error.message});"
                    f" run `stackswap unlock` before the rerun, or wait for it to expire")


def finish(ctx: Context, plan: Plan) -> int:
    for note in plan.notes:
        ctx.log.say(note)
    execute(plan, ctx)
    print_result(*plan.notes, summary(ctx.observed))
    return 0
