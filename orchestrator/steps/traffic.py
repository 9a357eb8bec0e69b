"""Step handlers that move production's traffic: the swap (a parameter-only ALB update), the way
back after a failure, cancelling a swap in its monitoring window, a shift's steps and the way
back from them, and the holds (a step's interval, the bake) that watch the alarms."""

from __future__ import annotations

from collections.abc import Callable
from typing import TYPE_CHECKING

from stackswap.environment.errors import (
    OperatorNeeded,
    StackswapError,
    SwapReverted,
)
from stackswap.environment.names import (
    NO_RELEASE,
    NO_SHIFT,
    PARAM_LIVE_COLOR,
    PARAM_ROLLBACK_RELEASE,
)
from stackswap.orchestrator import parameters as sent
from stackswap.orchestrator.context import (
    Context,
    refresh_listeners,
)
from stackswap.orchestrator.model import (
    ROLLED_BACK,
    SUCCEEDED,
    Alarm,
    Observed,
)
from stackswap.orchestrator.observe import (
    newest_event_id,
    observe_color,
    read_alarms,
)
from stackswap.orchestrator.plan import (
    Bake,
    CancelSwap,
    ShiftBack,
    ShiftStep,
    Swap,
    swap_monitoring_minutes,
)
from stackswap.orchestrator.stack_operation import operate, wait
from stackswap.orchestrator.steps.gates import gate
from stackswap.orchestrator.steps.smoke import answer_text, smoke
from stackswap.orchestrator.verify import (
    smoke_target,
)
from stackswap.orchestrator.wait import (
    Heartbeat,
    WaitResult,
)

if TYPE_CHECKING:
    pass


def set_live_color(ctx: Context, color: str, rollback_release: str | None,
                   triggers: tuple[Alarm, ...] = (), *, shift_weight: int = 0,
                   grid: str = NO_SHIFT, monitoring: bool = True) -> WaitResult | None:
    """The swap itself: a parameter-only update of the ALB stack. Its triggers (a forward
    swap's alarms) let CloudFormation itself put the listeners back if one fires during the
    update or the monitoring time after it — even if this process has died. Without triggers
    the update says so explicitly, or CloudFormation would reuse the stack's saved ones.

    A traffic shift's step is the same update with `shift_weight` % of production to the other
    colour (LiveColor unchanged) and its grid recorded; a swap sets the weights back to 100/0
    (on a stack whose template has them). rollback_release None keeps RollbackRelease."""
    name = ctx.config.alb_stack
    parameters = sent.alb_swap(ctx.config, ctx.observed.alb, color, rollback_release,
                               shift_weight, grid)
    minutes = swap_monitoring_minutes(ctx.config.deploy, triggers, monitoring)
    return operate(ctx, name, lambda: ctx.aws.update_stack(
        name, parameters, rollback_triggers=triggers, monitoring_minutes=minutes,
        role_arn=ctx.role_arn), monitoring_minutes=minutes)


def swap(step: Swap, ctx: Context) -> None:
    ctx.log.say(f"swapping: {step.paths.production} {step.from_color} -> {step.to_color}")
    result = set_live_color(ctx, step.to_color, step.rollback_release, step.triggers)
    if result is None or result.outcome == SUCCEEDED:
        return
    reason = result.failure_text()
    observed = refresh_listeners(ctx)
    if result.outcome == ROLLED_BACK and observed.serving_only == step.from_color:
        raise SwapReverted(f"the swap failed and CloudFormation rolled it back ({reason}); "
                           f"{step.paths.production} is confirmed on {step.from_color}")
    undo(ctx, step, f"the swap failed ({reason})")


def undo(ctx: Context, swap: Swap, why: str) -> None:
    """Put :80 and RollbackRelease back as they were before `swap` and confirm it, then report
    the revert (exit 5). ctx.observed must be fresh: the ALB stack as well as the listeners."""
    color, observed = swap.from_color, ctx.observed
    production = observed.paths.production
    release = swap.previous_rollback_release or NO_RELEASE
    if observed.serving_only != color or observed.alb.parameters.get(PARAM_LIVE_COLOR) != color \
            or observed.alb.parameters.get(PARAM_ROLLBACK_RELEASE, release) != release:
        ctx.log.say(f"{why}; swapping {production} back to {color}")
        result = set_live_color(ctx, color, release)
        observed = refresh_listeners(ctx)
        if (result is not None and result.outcome != SUCCEEDED) \
                or observed.serving_only != color:
            raise OperatorNeeded(f"{why}, and {production} could not be put back on {color} "
                                 f"({production} forwards to "
                                 f"{observed.describe_forwards(observed.production)}). "
                                 f"Run `stackswap status` and fix the listeners now")
    raise SwapReverted(f"{why}; {production} is confirmed back on {color}")


def roll_back(ctx: Context, swap: Swap, why: str) -> None:
    """Re-read what a swap changes (the ALB stack, the listeners, the alarms), then undo it."""
    refresh_listeners(ctx)
    undo(ctx, swap, why)


def cancel_swap(step: CancelSwap, ctx: Context) -> None:
    """Cancel the forward swap in its monitoring window (ours or the lock holder's: cancelling
    it is the rollback), wait for CloudFormation's revert and confirm the listeners."""
    marker = newest_event_id(ctx.aws, step.stack)
    ctx.log.say(f"cancelling the swap in progress on {step.stack}")
    ctx.requesting = step.stack
    ctx.aws.cancel_update_stack(step.stack)
    ctx.requesting = None
    result = wait(ctx, step.stack, marker)
    observed = refresh_listeners(ctx)
    if result.outcome != ROLLED_BACK or observed.serving_only != step.back_to:
        raise OperatorNeeded(f"cancelled the swap on {step.stack}, but it ended "
                             f"{result.status} and {step.paths.production} forwards to "
                             f"{observed.describe_forwards(observed.production)}. Run "
                             f"`stackswap status` and fix the listeners now")
    ctx.log.say(f"swap cancelled: {step.paths.production} is back on {step.back_to}")


# How often the alarms are read while a step is held or the new colour bakes.
HOLD_POLL_SECONDS = 1.0


def shift_step(step: ShiftStep, ctx: Context) -> None:
    """Set the step's weights (a parameter-only ALB update carrying the alarms as rollback
    triggers), confirm production splits as asked over healthy groups and answers, pass the
    after_step gate, then hold the interval watching the alarms. Any failure: all of production
    back on the old colour, confirmed, exit 5."""
    paths, where = step.paths, f"step {step.number} of {step.spec.steps}"
    ctx.log.say(f"shifting ({where}): {paths.production} {step.to_color} {step.weight} %, "
                f"{step.from_color} {100 - step.weight} %")
    result = set_live_color(ctx, step.from_color, None, step.swap.triggers,
                            shift_weight=step.weight, grid=step.spec.text(), monitoring=False)
    if result is not None and result.outcome != SUCCEEDED:
        roll_back(ctx, step.swap, f"{where} failed ({result.failure_text()})")
    observed = refresh_listeners(ctx)
    problems = split_problems(ctx, observed, step)
    if problems:
        undo(ctx, step.swap, f"production failed its check at {where} ({'; '.join(problems)})")
    ctx.log.say(f"{where}: {step.to_color} has {step.weight} % of {paths.production}; "
                f"production answers")
    if step.gate:
        failed = gate(ctx, "after_step", step.to_color, step.from_color, step.weight)
        if failed:
            roll_back(ctx, step.swap, f"the after_step gate failed at {where} ({failed})")
    firing = hold(ctx, step.spec.interval_seconds, bool(step.swap.triggers),
                  lambda left: f"{where}: {step.to_color} {step.weight} %, next step in "
                               f"{left:.0f} s")
    if firing:
        roll_back(ctx, step.swap, f"{firing} during {where}")


def split_problems(ctx: Context, observed: Observed, step: ShiftStep) -> list[str]:
    """What is wrong with production at a step: not the recorded split of our two groups, a
    group with weight > 0 without a healthy target, an alarm, or no 2xx answer."""
    shift = observed.shift
    if shift is None or (shift.to_color, shift.weight) != (step.to_color, step.weight):
        return [f"{observed.paths.production} forwards to "
                f"{observed.describe_forwards(observed.production)}"]
    problems = []
    for color in (step.from_color, step.to_color):
        try:
            state = observe_color(ctx.aws, ctx.config, observed.colors[color])
        except StackswapError as error:  # health that cannot be read is not health
            problems.append(f"{color}'s targets cannot be read ({error.message})")
            continue
        if state.health is None or state.health.healthy == 0:
            problems.append(f"{color} has no healthy target")
    if step.swap.triggers and (firing := observed.firing_alarms()):
        problems.append(f"alarm(s) in ALARM: {', '.join(firing)}")
    if not problems:
        target = smoke_target(ctx.config, observed.alb.outputs, True)
        answer = smoke(ctx, target)
        if not answer.ok:
            problems.append(f"GET {target.describe(ctx.config.smoke_path)} -> "
                            f"{answer_text(answer)}")
    return problems


def hold(ctx: Context, seconds: float, watch: bool, progress: Callable[[float], str]
         ) -> str | None:
    """Wait `seconds` of the clock with a progress line at least every PROGRESS_SECONDS;
    with `watch`, read the alarms each HOLD_POLL_SECONDS: the firing ones end the hold
    ("alarm(s) in ALARM: …"), as do alarms that could not be read for
    deploy.unreachable_timeout_seconds in a row."""
    end = ctx.clock.now() + seconds
    heartbeat = Heartbeat(ctx.clock, ctx.log.say)
    unread_since: float | None = None
    while (left := end - ctx.clock.now()) > 0:
        if watch:
            try:
                alarms = read_alarms(ctx.aws, ctx.config)
                unread_since = None
            except StackswapError as error:
                unread_since = ctx.clock.now() if unread_since is None else unread_since
                if ctx.clock.now() - unread_since >= ctx.config.deploy.unreachable_timeout_seconds:
                    return f"the alarms could not be read ({error.message})"
            else:
                firing = [name for name, alarm in alarms.items() if alarm.firing]
                if firing:
                    return f"alarm(s) in ALARM: {', '.join(firing)}"
        heartbeat.beat(progress(left))
        ctx.clock.sleep(min(HOLD_POLL_SECONDS, left))
    return None


def shift_back(step: ShiftBack, ctx: Context) -> None:
    """All of production back on `step.color` in one ALB update, without rollback triggers
    (a rollback is never watched by an alarm); RollbackRelease keeps its value (the shift
    had not changed it). VerifyLive confirms it."""
    ctx.log.say(f"putting {step.paths.production} back on {step.color}")
    result = set_live_color(ctx, step.color, None)
    observed = refresh_listeners(ctx)
    if (result is not None and result.outcome != SUCCEEDED) \
            or observed.serving_only != step.color:
        why = result.failure_text() if result is not None else "no change was made"
        raise OperatorNeeded(f"could not put {step.paths.production} back on {step.color} "
                             f"({why}; it forwards to "
                             f"{observed.describe_forwards(observed.production)}). Run "
                             f"`stackswap status` and fix the listeners now")


def bake(step: Bake, ctx: Context) -> None:
    ctx.log.say(f"baking {step.seconds} s: {step.old_color} stays warm for a rollback")
    firing = hold(ctx, step.seconds, bool(step.undo.triggers),
                  lambda left: f"baking: {left:.0f} s left")
    if firing:
        roll_back(ctx, step.undo, f"{firing} while baking")
    ctx.log.say("bake done")
