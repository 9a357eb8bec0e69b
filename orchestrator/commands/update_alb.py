"""`stackswap update-alb`: the ALB stack brought to the config's render through a change set,
shown first, refused when it would replace or remove a resource, applied under the lock, then
confirmed: the listeners forward as before."""

from __future__ import annotations

import json
from typing import TYPE_CHECKING

from stackswap.environment.errors import (
    ColorFailed,
    OperatorNeeded,
    Refused,
    StackswapError,
    StateUnknown,
)
from stackswap.generator.policies import alb_stack_policy_body
from stackswap.orchestrator import parameters as sent
from stackswap.orchestrator.context import (
    Context,
    refresh_listeners,
)
from stackswap.orchestrator.desired import alb_template_body
from stackswap.orchestrator.model import (
    ROLLBACK_FAILED,
    SUCCEEDED,
    ChangeSet,
    Observed,
)
from stackswap.orchestrator.observe import (
    read_change_set,
    read_stack_policy,
)
from stackswap.orchestrator.output.diff import plan_text
from stackswap.orchestrator.output.log import print_result
from stackswap.orchestrator.output.status import summary
from stackswap.orchestrator.plan import (
    check_update_alb,
    refuse_destructive,
)
from stackswap.orchestrator.run import holding_lock, observe_now
from stackswap.orchestrator.stack_operation import operate
from stackswap.orchestrator.wait import (
    WaitResult,
)

if TYPE_CHECKING:
    pass


CHANGE_SET_POLL_SECONDS = 1.0


def update_alb(ctx: Context, *, dry_run: bool, wait_for_lock: bool) -> int:
    """Render the ALB template from the config, show the change set CloudFormation makes of it
    (LiveColor and RollbackRelease keep their values) and, unless it would replace or remove a
    resource, apply it under the lock; then confirm the listeners forward as before. A dry run
    creates the change set only to describe it, and deletes it."""
    check_update_alb(observe_now(ctx))
    if dry_run:
        return review_alb_change(ctx, apply=False)
    with holding_lock(ctx, "update-alb", wait_for_lock):
        check_update_alb(observe_now(ctx))  # again, under the lock
        return review_alb_change(ctx, apply=True)


def review_alb_change(ctx: Context, *, apply: bool) -> int:
    config, name, before = ctx.config, ctx.config.alb_stack, ctx.observed
    parameters = sent.alb_update(config)
    policy = alb_stack_policy_body()
    policy_differs = not same_policy(read_stack_policy(ctx.aws, name), policy)
    if apply and ctx.lock is not None:
        ctx.lock.confirm(ctx.changed)
    arn = ctx.aws.create_change_set(name, alb_template_body(config), parameters, ctx.role_arn)
    executed = False
    try:
        change_set = settled_change_set(ctx, arn)
        if change_set.failed and not change_set.empty:
            raise Refused(f"CloudFormation could not make a change set for {name}: "
                          f"{change_set.reason} (nothing was changed)")
        lines = change_lines(name, change_set, policy_differs)
        if any(change.destructive for change in change_set.changes):
            for line in lines:
                ctx.log.say(line)
        refuse_destructive(change_set, name)
        if not apply:
            print_result(*plan_text(lines, dry_run=True))
            return 0
        if policy_differs:
            ctx.log.say(f"setting the stack policy of {name} (generator/policies.py)")
            ctx.aws.set_stack_policy(name, policy)
            ctx.changed.append(name)
        if change_set.empty:
            print_result(*lines)
            return 0
        ctx.log.say(f"executing the change set on {name}")
        result = operate(ctx, name, lambda: ctx.aws.execute_change_set(arn) or True)
        executed = True
    finally:
        if not executed:
            forget_change_set(ctx, arn)
    confirm_alb_update(ctx, before, result)
    print_result(*lines, f"{name} updated; {summary(ctx.observed)}")
    return 0


def same_policy(current: str | None, wanted: str) -> bool:
    """Whether the stack's policy is the wanted one (as JSON: CloudFormation may reformat)."""
    try:
        return current is not None and json.loads(current) == json.loads(wanted)
    except ValueError:
        return False


def settled_change_set(ctx: Context, arn: str) -> ChangeSet:
    """Poll DescribeChangeSet until CloudFormation has finished computing the change set."""
    deadline = ctx.clock.now() + ctx.config.deploy.stack_timeout_seconds
    while True:
        change_set = read_change_set(ctx.aws, arn)
        if change_set.settled:
            return change_set
        if ctx.clock.now() >= deadline:
            raise StateUnknown(f"the change set {arn} was still {change_set.status} after "
                               f"{ctx.config.deploy.stack_timeout_seconds} s; rerun "
                               f"`stackswap update-alb`")
        ctx.clock.sleep(CHANGE_SET_POLL_SECONDS)


def change_lines(name: str, change_set: ChangeSet, policy_differs: bool) -> list[str]:
    lines = [f"update-alb {name}:"]
    if change_set.empty:
        lines.append("  template and parameters: nothing to change (they match the config)")
    lines += [f"  {change.describe()}" for change in change_set.changes]
    if policy_differs:
        lines.append("  stack policy: set to generator/policies.py's (modify in place, never "
                     "replace or delete)")
    return lines


def forget_change_set(ctx: Context, arn: str) -> None:
    """Delete a change set this run made and did not execute; a failure to do so is only a
    note (an unexecuted change set changes nothing)."""
    try:
        ctx.aws.delete_change_set(arn)
    except StackswapError as error:
        ctx.log.say(f"note: could not delete the change set {arn} ({error.message})")


def confirm_alb_update(ctx: Context, before: Observed, result: WaitResult | None) -> None:
    """After the update: the listeners must forward as before it (the live colour unchanged)."""
    name = ctx.config.alb_stack
    if result is not None and result.status == ROLLBACK_FAILED:
        raise OperatorNeeded(f"the update of {name} failed ({result.failure_text()}) and its "
                             f"rollback failed too. Fix the cause, then `stackswap recover`")
    observed = refresh_listeners(ctx)
    production = observed.paths.production
    if observed.live_color != before.live_color or observed.drift():
        raise OperatorNeeded(
            f"after the update of {name}, {production} forwards to "
            f"{observed.describe_forwards(observed.production)} (before: {before.live_color}); "
            f"{'; '.join(observed.drift())}. Run `stackswap status` and fix the listeners now")
    if result is not None and result.outcome != SUCCEEDED:
        raise ColorFailed(f"the update of {name} failed and CloudFormation rolled it back: "
                          f"{result.failure_text()}. {production} is confirmed on "
                          f"{observed.live_color}")
