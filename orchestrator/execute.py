"""Perform what plan.py decided: take the lock, plan again under it, run each step, and on a
failed swap find and take the way back.

The executor decides nothing about safety that plan.py has not decided, except the way back
after a failure, which depends on what AWS says at that moment.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from stackswap.environment.config import Config, is_fargate
from stackswap.environment.errors import (
    AwsUnreachable,
    ColorFailed,
    OperatorNeeded,
    Refused,
    StackswapError,
    StateUnknown,
    SwapReverted,
)
from stackswap.environment.names import (
    ENV_TAG,
    NO_RELEASE,
    NO_SHIFT,
    OUTPUT_LOAD_BALANCER,
    OUTPUT_SECURITY_GROUP,
    PARAM_CLUSTER,
    PARAM_DESIRED_COUNT,
    PARAM_IMAGE,
    PARAM_LIVE_COLOR,
    PARAM_LIVE_WEIGHT,
    PARAM_LOAD_BALANCER,
    PARAM_LOAD_BALANCER_SECURITY_GROUP,
    PARAM_MIN_CAPACITY,
    PARAM_ROLLBACK_RELEASE,
    PARAM_SUBNETS,
    PARAM_TARGET_GROUP,
    PARAM_VPC,
    target_group_output,
)
from stackswap.generator.policies import alb_stack_policy_body
from stackswap.orchestrator import probe
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.desired import alb_parameters, alb_template_body, weight_parameters
from stackswap.orchestrator.lock import DeployLock
from stackswap.orchestrator.model import (
    ROLLBACK_FAILED,
    ROLLED_BACK,
    SUCCEEDED,
    Alarm,
    ChangeSet,
    ColorState,
    Observed,
    Stack,
)
from stackswap.orchestrator.observe import (
    observe_color,
    observe_color_stack,
    observe_for_deploy,
    observe_stacks,
    read_listeners,
)
from stackswap.orchestrator.plan import (
    Bake,
    CancelSwap,
    ContinueRollback,
    CreateAlb,
    CreateService,
    Gate,
    Plan,
    ReleaseFloor,
    Restore,
    Retire,
    ShiftBack,
    ShiftStep,
    Step,
    Swap,
    UpdateService,
    Verify,
    VerifyLive,
    WaitFor,
    check_update_alb,
    refuse_destructive,
)
from stackswap.orchestrator.report import Log, plan_text, print_result, summary, verify_progress
from stackswap.orchestrator.verify import (
    SmokeTarget,
    color_problems,
    hopeless,
    smoke_target,
    test_path_refusal,
    unhealthy_limit_seconds,
    unreachable_test_message,
)
from stackswap.orchestrator.wait import (
    Clock,
    DeadlineExceeded,
    Heartbeat,
    Outage,
    WaitResult,
    newest_event_id,
    wait_for_stack,
)

if TYPE_CHECKING:
    from stackswap.orchestrator.notify import Notifier

MAX_REPLANS = 20
VERIFY_POLL_SECONDS = 1.0
SMOKE_PAUSE_SECONDS = 1.0
# Test smoke requests not admitted in a row (no connection, or host mode's 403) before the
# verification stops: one retry for a blip, not smoke_tries timeouts.
UNADMITTED_TRIES = 2


@dataclass
class Context:
    aws: Aws
    config: Config
    clock: Clock
    log: Log
    # For the message on a signal: the stack whose operation request is on its way, and the
    # stack being waited for now.
    requesting: str | None = None
    current: str | None = None
    # The lock this run holds (None for checks, dry runs and a CancelSwap), and the stacks it
    # has started an operation on: what a message must own up to if the run stops early.
    lock: DeployLock | None = None
    changed: list[str] = field(default_factory=list)
    # The latest observation: the plan's, then refreshed by the steps where they read AWS
    # again. Steps re-read exactly what may have changed (a stack they updated, the listeners
    # after a swap); what cannot change under our lock is not asked for twice.
    observed: Observed | None = None
    # Whether planning compares the deployed ALB stack with the config's render (deploy, swap,
    # rollback: GetTemplate and a render on each observation).
    compare_alb: bool = False
    # deploy: each observation also reads both services (the live colour's desired count for
    # capacity matching) and their task definitions (what changed: observe_for_deploy).
    observe_services: bool = False
    # The run's first observation: what traffic and images were before it (its report).
    first_observed: Observed | None = None
    # Who is told of the run (deploy.notify; orchestrator/notify.py), if anyone.
    notifier: Notifier | None = None

    def where_interrupted(self) -> str:
        if self.current:
            return f" while waiting for {self.current}; CloudFormation carries on with it"
        if self.requesting:
            return (f" while asking CloudFormation to start an operation on {self.requesting}; "
                    f"it may have started, and then carries on")
        return "; no stack operation of this run was in progress"

    def env_tags(self) -> dict[str, str]:
        return {ENV_TAG: self.config.name}

    @property
    def role_arn(self) -> str | None:
        """The CloudFormation service role (deploy_role.cloudformation_role_arn), if any."""
        return self.config.deploy_role.cloudformation_role_arn


# --- stack operations ----------------------------------------------------------------------

def operate(ctx: Context, stack: str, start: Callable[[], bool], *, is_new: bool = False
            ) -> WaitResult | None:
    """Start an operation on `stack` and wait for it; None when there was nothing to update.

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
        return wait(ctx, stack, marker)
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


def wait(ctx: Context, stack: str, marker: str | None) -> WaitResult:
    ctx.current = stack  # from here on, an interrupt leaves an operation running in AWS
    deploy = ctx.config.deploy
    found = wait_for_stack(ctx.aws, stack, marker=marker, timeout=deploy.stack_timeout_seconds,
                           clock=ctx.clock, on_event=lambda event: ctx.log.event(stack, event),
                           on_progress=ctx.log.say,
                           unreachable_timeout=deploy.unreachable_timeout_seconds)
    ctx.current = None
    return found


def service_parameters(ctx: Context, alb: Stack, color: str, image: str,
                       previous: Stack | None, desired: int | None = None
                       ) -> dict[str, str | None]:
    """Parameters of a colour's stack. Values derived from the config and the ALB stack are sent
    fresh; DesiredCount keeps the stack's value once it exists (someone may have scaled it),
    unless the deploy matched capacity (`desired`): then DesiredCount and, with autoscaling, the
    MinCapacity floor are that count (docs/capacity.md)."""
    config = ctx.config
    values: dict[str, str | None] = {
        PARAM_CLUSTER: config.cluster,
        PARAM_TARGET_GROUP: alb.outputs[target_group_output(color)],
        PARAM_IMAGE: image,
        PARAM_DESIRED_COUNT: str(config.service.desired_count),
    }
    if is_fargate(config):
        values |= {PARAM_VPC: config.network.vpc_id,
                   PARAM_SUBNETS: ",".join(config.network.task_subnets),
                   PARAM_LOAD_BALANCER_SECURITY_GROUP: alb.outputs[OUTPUT_SECURITY_GROUP]}
    # A retired colour (DesiredCount 0) starts the config's count again: deploying to it works
    # as to any idle colour.
    if previous is not None and previous.parameters.get(PARAM_DESIRED_COUNT, "0") != "0":
        values[PARAM_DESIRED_COUNT] = None
    scaling = config.service.autoscaling
    if scaling is not None:
        if scaling.requests_per_target:
            values[PARAM_LOAD_BALANCER] = alb.outputs[OUTPUT_LOAD_BALANCER]
        values[PARAM_MIN_CAPACITY] = str(scaling.min)
    if desired is not None:
        values[PARAM_DESIRED_COUNT] = str(desired)
        if scaling is not None:
            values[PARAM_MIN_CAPACITY] = str(desired)
    return values


def template_body(config: Config, color: str) -> str:
    """A colour's service stack template, rendered from the config now. Imported here rather
    than at the top: troposphere slows every start, and status and unlock render nothing."""
    from stackswap.generator.render import service_stack_body

    return service_stack_body(config, color)


def require_alb(ctx: Context) -> Stack:
    """The ALB stack (its outputs do not change during a run; read it once)."""
    return ctx.observed.alb if ctx.observed.alb is not None else reread_alb(ctx)


def reread_alb(ctx: Context) -> Stack:
    alb = ctx.aws.describe_stack(ctx.config.alb_stack)
    if alb is None:
        raise StateUnknown(f"{ctx.config.alb_stack} disappeared during the run")
    ctx.observed = replace(ctx.observed, alb=alb)
    return alb


def refresh_listeners(ctx: Context) -> Observed:
    """Re-read the ALB stack, both listeners and the alarms: all that a swap changes."""
    reread_alb(ctx)
    observed = read_production(ctx)
    ctx.log.traffic(observed)
    return observed


def read_production(ctx: Context) -> Observed:
    """Re-read both listeners and the alarms: what production is now, as the load balancer
    sees it (the ALB stack's outputs, which name the listeners, do not change)."""
    production, test = read_listeners(ctx.aws, ctx.config, ctx.observed.alb)
    ctx.observed = replace(ctx.observed, production=production, test=test,
                           alarms=ctx.aws.alarms(list(ctx.config.deploy.alarms)))
    return ctx.observed


def remember_color(ctx: Context, state: ColorState) -> None:
    ctx.observed = replace(ctx.observed, colors={**ctx.observed.colors, state.color: state})


# --- step handlers -------------------------------------------------------------------------

def create_alb(step: CreateAlb, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.alb_stack
    ctx.log.say(f"creating {name} ({step.paths.production} -> {step.live})")
    parameters = {**alb_parameters(config), PARAM_LIVE_COLOR: step.live, **weight_parameters()}
    # The stack policy forbids replacing or deleting any resource (generator/policies.py).
    result = operate(ctx, name, lambda: ctx.aws.create_stack(
        name, alb_template_body(config), parameters, ctx.env_tags(), ctx.role_arn,
        alb_stack_policy_body()) or True, is_new=True)
    require_created(name, result)


def create_service(step: CreateService, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.service_stack(step.color)
    ctx.log.say(f"creating {name} with {step.image}")
    parameters = service_parameters(ctx, require_alb(ctx), step.color, step.image, None)
    result = operate(ctx, name, lambda: ctx.aws.create_stack(
        name, template_body(config, step.color), parameters, ctx.env_tags(),
        ctx.role_arn) or True, is_new=True)
    require_created(name, result)


def require_created(name: str, result: WaitResult | None) -> None:
    if result is not None and result.outcome != SUCCEEDED:
        raise OperatorNeeded(
            f"creating {name} failed: {result.failure_text()}. It must be deleted before a "
            f"rerun: aws cloudformation update-termination-protection "
            f"--no-enable-termination-protection --stack-name {name} && aws cloudformation "
            f"delete-stack --stack-name {name}")


def update_service(step: UpdateService, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.service_stack(step.color)
    ctx.log.say(f"updating {name}: {step.old_image} -> {step.image}")
    if step.changes:
        ctx.log.say(f"  task definition: {'; '.join(step.changes)}")
    previous = ctx.observed.colors[step.color].stack
    parameters = service_parameters(ctx, require_alb(ctx), step.color, step.image, previous,
                                    step.desired)
    body = template_body(config, step.color)
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters, body,
                                                             role_arn=ctx.role_arn))
    if result is None or result.outcome == SUCCEEDED:
        return
    if result.status == ROLLBACK_FAILED:
        raise OperatorNeeded(f"{name} update failed ({result.failure_text()}) and its rollback "
                             f"failed too; production was not touched. Fix the cause, then: "
                             f"aws cloudformation continue-update-rollback --stack-name {name}")
    raise ColorFailed(f"{name} update failed and was rolled back: {result.failure_text()}. "
                      f"Production was not touched")


def wait_for_other(step: WaitFor, ctx: Context) -> None:
    ctx.log.say(f"waiting for {step.stack} ({step.status}), started by someone else")
    wait(ctx, step.stack, newest_event_id(ctx.aws, step.stack))


def verify(step: Verify, ctx: Context) -> None:
    """Poll until the colour is steady and healthy on the image, then smoke-test it."""
    config = ctx.config
    deadline = ctx.clock.now() + config.deploy.verify_timeout_seconds
    ctx.log.say(f"verifying {step.color} on {step.image}")
    alb = require_alb(ctx)
    if not ctx.observed.production:  # created in this run: the listeners were never read
        read_production(ctx)
    heartbeat = Heartbeat(ctx.clock, ctx.log.say)
    outage = Outage(ctx.clock, config.deploy.unreachable_timeout_seconds,
                    f"verifying {step.color}")
    state = None
    limit = unhealthy_limit_seconds(config.health)
    unhealthy_since: float | None = None  # since when every target has been unhealthy
    while True:
        fresh = None
        try:
            state = fresh = observe_color(ctx.aws, config,
                                          observe_color_stack(ctx.aws, config, alb, step.color))
            problems = color_problems(state, step.image, step.healthy)
            outage.answered()
        except AwsUnreachable as error:
            outage.failed(error)
            problems = [f"its state cannot be read ({error.message})"]
        except Refused as error:  # access denied: health that cannot be read is not health
            problems = [f"its state cannot be read ({error.message})"]
        if fresh is not None:
            ctx.log.health(step.color, fresh, problems)
        if not problems:
            break
        if fresh is not None:
            now = ctx.clock.now()
            unhealthy = fresh.health is not None and fresh.health.all_unhealthy
            if not unhealthy:
                unhealthy_since = None
            elif unhealthy_since is None:
                unhealthy_since = now
            why = hopeless(fresh, 0.0 if unhealthy_since is None else now - unhealthy_since,
                           limit)
            if why:
                raise ColorFailed(f"{step.color} cannot become fit to serve: {why}. "
                                  f"Production was not touched")
        if ctx.clock.now() >= deadline:
            raise ColorFailed(f"{step.color} is not fit to serve after "
                              f"{config.deploy.verify_timeout_seconds} s: "
                              f"{'; '.join(problems)}. Production was not touched")
        heartbeat.beat(verify_progress(step.color, state, problems))
        ctx.clock.sleep(VERIFY_POLL_SECONDS)
    remember_color(ctx, state)
    # We hold the lock: the colour is still where the plan saw it (production or test).
    production = ctx.observed.live_color == step.color
    target = smoke_target(config, alb.outputs, production)
    request = target.describe(config.smoke_path)
    answer = smoke(ctx, target, test=not production)
    if not answer.ok:
        if not production and test_path_refusal(config, answer.status):
            raise ColorFailed(unreachable_test_message(
                config, ctx.observed.paths.test, request, answer_text(answer)))
        raise ColorFailed(f"smoke test of {step.color} failed: GET {request} -> "
                          f"{answer_text(answer)}. Production was not touched")
    ctx.log.say(f"{step.color} verified: GET {request} -> {answer.status}")


def answer_text(answer: probe.Answer) -> str:
    return f"{answer.status or 'no answer'} {answer.detail}".strip()


def smoke(ctx: Context, target: SmokeTarget, test: bool = False) -> probe.Answer:
    """Up to deploy.smoke_tries GETs until one answers 2xx. On the test path, an answer that
    means "not admitted" (no HTTP answer at all, or host mode's 403) ends the tries after
    UNADMITTED_TRIES in a row: more tries would only wait out more timeouts."""
    config = ctx.config
    answer = probe.Answer(None, "not tried")
    url = target.url + config.smoke_path
    refused = 0
    for attempt in range(config.deploy.smoke_tries):
        if attempt:
            ctx.clock.sleep(SMOKE_PAUSE_SECONDS)
        answer = probe.get(url, ca_bundle=config.deploy.ca_bundle, host=target.host)
        if answer.ok:
            break
        ctx.log.say(f"  smoke GET {target.describe(config.smoke_path)}: {answer_text(answer)}")
        refused = refused + 1 if test and test_path_refusal(config, answer.status) else 0
        if refused >= UNADMITTED_TRIES:
            break
    return answer


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
    # Every other parameter keeps its previous value, as the previous template does: the
    # config's values reach the stack only through `update-alb` (or the create).
    kept: dict[str, str | None] = {key: None for key in ctx.observed.alb.parameters} \
        if ctx.observed.alb else dict.fromkeys(alb_parameters(ctx.config))
    parameters = {**kept, PARAM_LIVE_COLOR: color}
    if rollback_release is None and ctx.observed.alb is not None:
        # Stated as read (under our lock) rather than "previous value": the same value, and
        # one that a stack still at the template's default takes in every emulator too.
        rollback_release = ctx.observed.alb.parameters.get(PARAM_ROLLBACK_RELEASE)
    if rollback_release is not None:
        parameters[PARAM_ROLLBACK_RELEASE] = rollback_release
    if PARAM_LIVE_WEIGHT in kept or shift_weight:
        parameters |= weight_parameters(shift_weight, grid)
    minutes = ctx.config.deploy.alarm_monitoring_minutes if monitoring else 0
    return operate(ctx, name, lambda: ctx.aws.update_stack(
        name, parameters, rollback_triggers=triggers, monitoring_minutes=minutes,
        role_arn=ctx.role_arn))


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


def verify_live(step: VerifyLive, ctx: Context) -> None:
    observed = read_production(ctx)
    paths = observed.paths
    problems = []
    if observed.serving_only != step.color:
        problems.append(f"{paths.production} forwards to "
                        f"{observed.describe_forwards(observed.production)}")
    if step.undo and observed.test_color != step.undo.from_color:
        problems.append(f"{paths.test} forwards to {observed.describe_forwards(observed.test)}")
    # Only a forward swap is judged by the alarms: a rollback goes ahead while they fire.
    if step.undo and step.undo.triggers and (firing := observed.firing_alarms()):
        problems.append(f"alarm(s) in ALARM: {', '.join(firing)}")
    if not problems:
        target = smoke_target(ctx.config, observed.alb.outputs, True)
        answer = smoke(ctx, target)
        request = target.describe(ctx.config.smoke_path)
        if answer.ok:
            ctx.log.say(f"production verified: GET {request} -> {answer.status}")
            return
        problems.append(f"GET {request} -> {answer_text(answer)}")
    if step.undo is None:
        raise ColorFailed(f"production is not serving on {step.color}: {'; '.join(problems)}")
    refresh_listeners(ctx)
    undo(ctx, step.undo, f"production failed its check after the swap ({'; '.join(problems)})")


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


def continue_rollback(step: ContinueRollback, ctx: Context) -> None:
    ctx.log.say(f"continuing the rollback of {step.stack}")
    result = operate(ctx, step.stack, lambda: ctx.aws.continue_update_rollback(
        step.stack, list(step.skip), ctx.role_arn) or True)
    if result is not None and result.outcome != ROLLED_BACK:
        raise OperatorNeeded(
            f"{step.stack} is {result.status} again: {result.failure_text()}. Fix the "
            f"cause, or skip the failing resource explicitly: stackswap recover --skip "
            f"{result.first_failure.logical_id if result.first_failure else 'RESOURCE'}")


def release_floor(step: ReleaseFloor, ctx: Context) -> None:
    """Lower the live colour's MinCapacity only (the previous template, every other parameter
    kept): CloudFormation modifies the scalable target alone. A failure leaves the higher floor,
    which is safe (more tasks, never fewer), so it is said and the deploy still succeeds."""
    name = ctx.config.service_stack(step.color)
    stack = ctx.aws.describe_stack(name)
    if stack is None or PARAM_MIN_CAPACITY not in stack.parameters:
        return
    parameters: dict[str, str | None] = {key: None for key in stack.parameters}
    parameters[PARAM_MIN_CAPACITY] = str(step.minimum)
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters,
                                                             role_arn=ctx.role_arn))
    if result is not None and result.outcome != SUCCEEDED:
        ctx.log.say(f"warning: {name} keeps its autoscaling minimum "
                    f"{stack.parameters[PARAM_MIN_CAPACITY]} ({result.failure_text()}); "
                    f"production is on {step.color} and serving")
# --- traffic shifts, gates, bake, retire ------------------------------------------------------

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
        refresh_listeners(ctx)
        undo(ctx, step.swap, f"{where} failed ({result.failure_text()})")
    observed = refresh_listeners(ctx)
    problems = split_problems(ctx, observed, step)
    if problems:
        undo(ctx, step.swap, f"production failed its check at {where} ({'; '.join(problems)})")
    ctx.log.say(f"{where}: {step.to_color} has {step.weight} % of {paths.production}; "
                f"production answers")
    if step.gate:
        failed = gate(ctx, "after_step", step.to_color, step.from_color, step.weight)
        if failed:
            refresh_listeners(ctx)
            undo(ctx, step.swap, f"the after_step gate failed at {where} ({failed})")
    firing = hold(ctx, step.spec.interval_seconds, bool(step.swap.triggers),
                  lambda left: f"{where}: {step.to_color} {step.weight} %, next step in "
                               f"{left:.0f} s")
    if firing:
        refresh_listeners(ctx)
        undo(ctx, step.swap, f"{firing} during {where}")


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
                alarms = ctx.aws.alarms(list(ctx.config.deploy.alarms))
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


def gate_step(step: Gate, ctx: Context) -> None:
    weight = 100 if step.undo else 0
    failed = gate(ctx, step.point, step.new_color, step.old_color, weight)
    if not failed:
        return
    if step.undo is None:
        raise ColorFailed(f"the {step.point} gate failed ({failed}); production was not "
                          f"touched")
    refresh_listeners(ctx)
    undo(ctx, step.undo, f"the {step.point} gate failed ({failed})")


def gate(ctx: Context, point: str, new: str, old: str, weight: int) -> str | None:
    """Run deploy.hooks.<point>; None when it passed, else why it failed."""
    from stackswap.orchestrator.gates import (  # subprocess only when a gate runs
        GateContext,
        run_gate,
    )

    config, observed = ctx.config, ctx.observed
    hooks = config.deploy.hooks
    command = getattr(hooks, point)
    outputs = observed.alb.outputs
    test = smoke_target(config, outputs, False)
    context = GateContext(point, config.name, smoke_target(config, outputs, True).url, test.url,
                          test.host, new, old, observed.colors[new].image_parameter or "",
                          observed.colors[old].image_parameter or "", weight)
    ctx.log.say(f"gate {point}: {command}")
    failed = run_gate(command, context, hooks.timeout_seconds, ctx.log.say)
    ctx.log.gate(point, command, failed)
    return failed


def bake(step: Bake, ctx: Context) -> None:
    ctx.log.say(f"baking {step.seconds} s: {step.old_color} stays warm for a rollback")
    firing = hold(ctx, step.seconds, bool(step.undo.triggers),
                  lambda left: f"baking: {left:.0f} s left")
    if firing:
        refresh_listeners(ctx)
        undo(ctx, step.undo, f"{firing} while baking")
    ctx.log.say("bake done")


def set_desired_count(ctx: Context, color: str, count: str) -> None:
    """Scale a colour's service through its stack's DesiredCount (previous template, every
    other parameter kept): 0 retires it, the live colour's count restores it."""
    name = ctx.config.service_stack(color)
    stack = ctx.observed.colors[color].stack
    parameters: dict[str, str | None] = {key: None for key in stack.parameters}
    parameters[PARAM_DESIRED_COUNT] = count
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters,
                                                             role_arn=ctx.role_arn))
    if result is not None and result.status == ROLLBACK_FAILED:
        raise OperatorNeeded(f"scaling {name} to {count} tasks failed ({result.failure_text()}) "
                             f"and its rollback failed too; production was not touched. Fix "
                             f"the cause, then `stackswap recover`")
    if result is not None and result.outcome != SUCCEEDED:
        raise ColorFailed(f"scaling {name} to {count} tasks failed and was rolled back: "
                          f"{result.failure_text()}. Production was not touched")
    remember_color(ctx, replace(ctx.observed.colors[color],
                                stack=ctx.aws.describe_stack(name)))


def retire(step: Retire, ctx: Context) -> None:
    ctx.log.say(f"retiring {step.color}: DesiredCount 0")
    set_desired_count(ctx, step.color, "0")
    ctx.log.say(f"{step.color} retired: `stackswap rollback` starts its tasks again first")


def restore(step: Restore, ctx: Context) -> None:
    ctx.log.say(f"{step.color} is retired: starting {step.count} task(s) before it can go live")
    set_desired_count(ctx, step.color, step.count)


HANDLERS: dict[type, Callable[[Step, Context], None]] = {
    CreateAlb: create_alb, CreateService: create_service, UpdateService: update_service,
    WaitFor: wait_for_other, Verify: verify, Swap: swap, VerifyLive: verify_live,
    CancelSwap: cancel_swap, ContinueRollback: continue_rollback, ReleaseFloor: release_floor,
    ShiftStep: shift_step,
    ShiftBack: shift_back, Gate: gate_step, Bake: bake, Retire: retire, Restore: restore,
}


def execute(plan: Plan, ctx: Context) -> None:
    for number, step in enumerate(plan.steps, 1):
        ctx.log.phase_start(number, len(plan.steps), step)
        began, outcome = ctx.clock.now(), "failed"
        try:
            HANDLERS[type(step)](step, ctx)
            outcome = "done"
        finally:
            ctx.log.phase_end(number, len(plan.steps), step, outcome, ctx.clock.now() - began)


# --- a command: plan, lock, plan again under the lock, run --------------------------------------

def run(ctx: Context, make_plan: Callable[[Observed], Plan], *, command: str, dry_run: bool,
        wait_for_lock: bool) -> int:
    """Plan once without the lock, so refusals and dry runs make no mutating call at all; then
    take the lock and plan again under it (the state may have moved meanwhile). A plan that
    waits for someone else's operation is run, then planned again."""
    plan = make_plan(observe_now(ctx))
    if dry_run:
        print_result(*plan_text(plan.lines(), dry_run=True))
        return 0
    if not plan.needs_lock:
        return finish(ctx, plan)
    with holding_lock(ctx, command, wait_for_lock):
        for _ in range(MAX_REPLANS):
            plan = make_plan(observe_now(ctx))
            if not plan.waits:
                return finish(ctx, plan)
            execute(plan, ctx)
    raise StateUnknown("the environment kept changing while waiting; run again")


@contextmanager
def holding_lock(ctx: Context, command: str, wait_for_lock: bool) -> Iterator[None]:
    """Take the deploy lock for the block and always release it. A refusal after this run
    changed something is exit 7, not 3: exit 3 promises that nothing changed."""
    lock = ctx.lock = DeployLock(ctx.aws, ctx.config, command, ctx.log)
    lock.acquire(ctx.clock, wait_for_lock)
    try:
        ctx.log.emit("lock", state="taken", name=lock.name)
        yield
    except Refused as error:
        if not ctx.changed:
            raise
        raise StateUnknown(f"{error.message} — after this run had changed "
                           f"{', '.join(ctx.changed)}. Run `stackswap status`, then rerun the "
                           f"same command to resume") from None
    finally:
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



# --- update-alb: the ALB stack brought to the config's render through a change set ---------------

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
    parameters: dict[str, str | None] = {**alb_parameters(config), PARAM_LIVE_COLOR: None,
                                         PARAM_ROLLBACK_RELEASE: None, **weight_parameters()}
    policy = alb_stack_policy_body()
    policy_differs = not same_policy(ctx.aws.stack_policy(name), policy)
    if apply and ctx.lock is not None:
        ctx.lock.confirm(ctx.changed)
    arn = ctx.aws.create_change_set(name, alb_template_body(config), parameters, ctx.role_arn)
    executed = False
    try:
        change_set = settled_change_set(ctx, arn)
        if change_set.status == "FAILED" and not change_set.empty:
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
        change_set = ctx.aws.describe_change_set(arn)
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
