"""Execute a plan step by step; on a failed swap, find and take the way back.

The executor decides nothing about safety that plan.py has not decided, except the way back
after a failure, which depends on what AWS says at that moment.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field, replace

from generator.config import Config
from generator.interface import OUTPUT_SECURITY_GROUP, is_fargate, target_group_output
from generator.policies import alb_stack_policy_body
from orchestrator import probe
from orchestrator.aws import Aws, Stack
from orchestrator.errors import (
    AwsUnreachable,
    ColorFailed,
    OperatorNeeded,
    Refused,
    StateUnknown,
    SwapReverted,
)
from orchestrator.events import Log
from orchestrator.plan import (
    ContinueRollback,
    CreateAlb,
    CreateService,
    Plan,
    Step,
    Swap,
    UpdateService,
    Verify,
    VerifyLive,
    WaitFor,
)
from orchestrator.state import ColorState, Observed, color_stack, observe_color, read_listeners
from orchestrator.verify import color_problems, listener_url
from orchestrator.wait import (
    ROLLED_BACK,
    SUCCEEDED,
    Clock,
    DeadlineExceeded,
    WaitResult,
    newest_event_id,
    wait_for_stack,
)

VERIFY_POLL_SECONDS = 1.0
SMOKE_PAUSE_SECONDS = 1.0


@dataclass
class Context:
    aws: Aws
    config: Config
    clock: Clock
    log: Log
    # For the message on Ctrl-C: the stack whose operation request is on its way, and the
    # stack being waited for now. And the operations this run started itself — the only ones
    # it may ever cancel.
    requesting: str | None = None
    current: str | None = None
    started: set[str] = field(default_factory=set)
    # The latest observation: the plan's, then refreshed by the steps where they read AWS
    # again. Steps re-read exactly what may have changed (a stack they updated, the listeners
    # after a swap); what cannot change under our lock is not asked for twice.
    observed: Observed | None = None

    def where_interrupted(self) -> str:
        if self.current:
            return f" while waiting for {self.current}; CloudFormation carries on with it"
        if self.requesting:
            return (f" while asking CloudFormation to start an operation on {self.requesting}; "
                    f"it may have started, and then carries on")
        return ""

    def env_tags(self) -> dict[str, str]:
        return {"stackswap:env": self.config.name}

    @property
    def role_arn(self) -> str | None:
        """The CloudFormation service role (deploy_role.cloudformation_role_arn), if any."""
        return self.config.deploy_role.cloudformation_role_arn


# --- stack operations ----------------------------------------------------------------------

def operate(ctx: Context, stack: str, start: Callable[[], bool], *, is_new: bool = False
            ) -> WaitResult | None:
    """Start an operation on `stack` and wait for it; None when there was nothing to update.
    On the deadline, cancel the update (it is ours), wait for the rollback and re-raise."""
    marker = None if is_new else newest_event_id(ctx.aws, stack)
    ctx.requesting = stack  # an error from start() ends the run: nothing else reads it then
    began = start()
    ctx.requesting = None
    if not began:
        ctx.log.say(f"{stack}: no updates to perform")
        return None
    ctx.current = stack  # from here on, Ctrl-C leaves an operation of ours running
    ctx.started.add(stack)
    try:
        return wait(ctx, stack, marker)
    except DeadlineExceeded:
        if is_new:
            raise
        ctx.log.say(f"{stack}: deadline passed, cancelling the update this run started")
        try:
            marker = newest_event_id(ctx.aws, stack)
            ctx.aws.cancel_update_stack(stack)
            wait(ctx, stack, marker)
        except StateUnknown as error:
            if isinstance(error, DeadlineExceeded):
                raise
            raise StateUnknown(f"{stack} did not finish before the deadline and could not be "
                               f"cancelled ({error.message})") from None
        raise


def wait(ctx: Context, stack: str, marker: str | None) -> WaitResult:
    ctx.current = stack
    try:
        result = wait_for_stack(ctx.aws, stack, marker=marker,
                                timeout=ctx.config.deploy.stack_timeout_seconds, clock=ctx.clock,
                                on_event=lambda event: ctx.log.event(stack, event))
    except StateUnknown as error:
        if isinstance(error, DeadlineExceeded):
            raise
        raise StateUnknown(f"lost track of {stack} while waiting for it: {error.message}. "
                           f"CloudFormation carries on; rerun the same command to resume"
                           ) from None
    ctx.current = None
    return result


def service_parameters(ctx: Context, alb: Stack, color: str, image: str,
                       previous: Stack | None) -> dict[str, str | None]:
    """Parameters of a colour's stack. Values derived from the config and the ALB stack are sent
    fresh; DesiredCount keeps the stack's value once it exists (someone may have scaled it)."""
    config = ctx.config
    values: dict[str, str | None] = {
        "Cluster": config.cluster,
        "TargetGroupArn": alb.outputs[target_group_output(color)],
        "Image": image,
        "DesiredCount": str(config.service.desired_count),
    }
    if is_fargate(config):
        values |= {"VpcId": config.network.vpc_id, "Subnets": ",".join(config.network.subnets),
                   "LoadBalancerSecurityGroupId": alb.outputs[OUTPUT_SECURITY_GROUP]}
    if previous is not None and "DesiredCount" in previous.parameters:
        values["DesiredCount"] = None
    return values


def template_body(config: Config, color: str | None = None) -> str:
    """The ALB stack's template (color None) or a colour's service stack template, rendered
    from the config now. Imported here rather than at the top: troposphere adds about 0.05 s
    to a start, and status, swap and rollback render nothing."""
    from generator.render import alb_stack_body, service_stack_body

    return alb_stack_body(config) if color is None else service_stack_body(config, color)


def require_alb(ctx: Context) -> Stack:
    """The ALB stack (its outputs do not change during a run; read it once)."""
    if ctx.observed.alb is not None:
        return ctx.observed.alb
    alb = ctx.aws.describe_stack(ctx.config.alb_stack)
    if alb is None:
        raise StateUnknown(f"{ctx.config.alb_stack} disappeared during the run")
    ctx.observed = replace(ctx.observed, alb=alb)
    return alb


def refresh_listeners(ctx: Context) -> Observed:
    """Re-read the ALB stack, both listeners and the alarms: all that a swap changes."""
    alb = ctx.aws.describe_stack(ctx.config.alb_stack)
    if alb is None:
        raise StateUnknown(f"{ctx.config.alb_stack} disappeared during the run")
    ctx.observed = replace(ctx.observed, alb=alb)
    return read_production(ctx)


def read_production(ctx: Context) -> Observed:
    """Re-read both listeners and the alarms: what production is now, as the load balancer
    sees it (the ALB stack's outputs, which name the listeners, do not change)."""
    production, test = read_listeners(ctx.aws, ctx.observed.alb)
    ctx.observed = replace(ctx.observed, production=production, test=test,
                           alarms=ctx.aws.alarms(list(ctx.config.deploy.alarms)))
    return ctx.observed


def remember_color(ctx: Context, state: ColorState) -> None:
    ctx.observed = replace(ctx.observed, colors={**ctx.observed.colors, state.color: state})


# --- step handlers -------------------------------------------------------------------------

def create_alb(step: CreateAlb, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.alb_stack
    ctx.log.say(f"creating {name} (:80 -> {step.live})")
    parameters = {"VpcId": config.network.vpc_id, "Subnets": ",".join(config.network.subnets),
                  "TestCidr": config.network.test_cidr, "LiveColor": step.live}
    # The stack policy lets updates modify the two listeners and nothing else.
    result = operate(ctx, name, lambda: ctx.aws.create_stack(
        name, template_body(config), parameters, ctx.env_tags(), ctx.role_arn,
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
    previous = ctx.observed.colors[step.color].stack
    parameters = service_parameters(ctx, require_alb(ctx), step.color, step.image, previous)
    body = template_body(config, step.color)
    try:
        result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters, body,
                                                                 role_arn=ctx.role_arn))
    except DeadlineExceeded as error:
        raise ColorFailed(f"{error.message}; the update was cancelled and rolled back. "
                          f"Production was not touched") from None
    if result is None or result.outcome == SUCCEEDED:
        return
    if result.status == "UPDATE_ROLLBACK_FAILED":
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
    while True:
        try:
            state = observe_color(ctx.aws, config, color_stack(ctx.aws, config, alb, step.color))
            problems = color_problems(state, step.image)
        except (Refused, AwsUnreachable) as error:
            # Health that cannot be read (access denied, AWS failing) is not health.
            problems = [f"its state cannot be read ({error.message})"]
        if not problems:
            break
        if ctx.clock.now() >= deadline:
            raise ColorFailed(f"{step.color} is not fit to serve after "
                              f"{config.deploy.verify_timeout_seconds} s: "
                              f"{'; '.join(problems)}. Production was not touched")
        ctx.clock.sleep(VERIFY_POLL_SECONDS)
    remember_color(ctx, state)
    # We hold the lock: the colour is still where the plan saw it (:80 or :8080).
    production = ctx.observed.live_color == step.color
    url = listener_url(config, alb.outputs, production) + config.smoke_path
    answer = smoke(ctx, url)
    if not answer.ok:
        raise ColorFailed(f"smoke test of {step.color} failed: GET {url} -> "
                          f"{answer.status or 'no answer'} {answer.detail}. "
                          f"Production was not touched")
    ctx.log.say(f"{step.color} verified: GET {url} -> {answer.status}")


def smoke(ctx: Context, url: str) -> probe.Answer:
    answer = probe.Answer(None, "not tried")
    for attempt in range(ctx.config.deploy.smoke_tries):
        if attempt:
            ctx.clock.sleep(SMOKE_PAUSE_SECONDS)
        answer = probe.get(url)
        if answer.ok:
            break
        ctx.log.say(f"  smoke GET {url}: {answer.status or 'no answer'} {answer.detail}")
    return answer


def set_live_color(ctx: Context, color: str, watch_alarms: bool = False) -> WaitResult | None:
    """The swap itself: a parameter-only update of the ALB stack. With watch_alarms, the
    config's alarms are CloudFormation rollback triggers: if one fires during the update or the
    monitoring time after it, CloudFormation itself puts the listeners back — even if this
    process has died."""
    name, deploy = ctx.config.alb_stack, ctx.config.deploy
    parameters = {"VpcId": None, "Subnets": None, "TestCidr": None, "LiveColor": color}
    alarms: tuple[str, ...] = ()
    if watch_alarms and deploy.alarms:
        alarms = tuple(arn for arn, _ in ctx.aws.alarms(list(deploy.alarms)).values())
    return operate(ctx, name, lambda: ctx.aws.update_stack(
        name, parameters, rollback_alarms=alarms,
        monitoring_minutes=deploy.alarm_monitoring_minutes, role_arn=ctx.role_arn))


def swap(step: Swap, ctx: Context) -> None:
    ctx.log.say(f"swapping: :80 {step.from_color} -> {step.to_color}")
    try:
        result = set_live_color(ctx, step.to_color, watch_alarms=True)
    except DeadlineExceeded:
        result = None
        ctx.log.say("swap did not finish in time; it was cancelled")
    if result is not None and result.outcome == SUCCEEDED:
        return
    reason = result.failure_text() if result else "deadline passed"
    observed = refresh_listeners(ctx)
    if result is not None and result.outcome == ROLLED_BACK and \
            observed.live_color == step.from_color:
        raise SwapReverted(f"the swap failed and CloudFormation rolled it back ({reason}); "
                           f":80 is confirmed on {step.from_color}")
    restore(ctx, step.from_color, f"the swap failed ({reason})")


def verify_live(step: VerifyLive, ctx: Context) -> None:
    observed = read_production(ctx)
    problems = []
    if observed.live_color != step.color:
        problems.append(f":80 forwards to {observed.describe_forwards(observed.production)}")
    if step.previous and observed.test_color != step.previous:
        problems.append(f":8080 forwards to {observed.describe_forwards(observed.test)}")
    firing = [name for name, (_, state) in observed.alarms.items() if state == "ALARM"]
    if firing:
        problems.append(f"alarm(s) in ALARM: {', '.join(firing)}")
    if not problems:
        url = listener_url(ctx.config, observed.alb.outputs, True) + ctx.config.smoke_path
        answer = smoke(ctx, url)
        if answer.ok:
            ctx.log.say(f"production verified: GET {url} -> {answer.status}")
            return
        problems.append(f"GET {url} -> {answer.status or 'no answer'} {answer.detail}")
    if step.previous is None:
        raise ColorFailed(f"production is not serving on {step.color}: {'; '.join(problems)}")
    refresh_listeners(ctx)
    restore(ctx, step.previous, f"production failed its check after the swap "
                                f"({'; '.join(problems)})")


def restore(ctx: Context, color: str, why: str) -> None:
    """Put :80 back on `color` and confirm it, then report the revert (exit 5). ctx.observed
    must be fresh: the ALB stack's LiveColor as well as the listeners."""
    observed = ctx.observed
    if observed.live_color != color or observed.alb.parameters.get("LiveColor") != color:
        ctx.log.say(f"{why}; swapping :80 back to {color}")
        try:
            result = set_live_color(ctx, color)
        except DeadlineExceeded as error:
            raise OperatorNeeded(f"{why}, and swapping back to {color} did not finish: "
                                 f"{error.message}. Check the listeners now") from None
        observed = refresh_listeners(ctx)
        if (result is not None and result.outcome != SUCCEEDED) or observed.live_color != color:
            raise OperatorNeeded(f"{why}, and :80 could not be put back on {color} "
                                 f"(:80 forwards to "
                                 f"{observed.describe_forwards(observed.production)}). "
                                 f"Run `stackswap status` and fix the listeners now")
    raise SwapReverted(f"{why}; :80 is confirmed back on {color}")


def continue_rollback(step: ContinueRollback, ctx: Context) -> None:
    ctx.log.say(f"continuing the rollback of {step.stack}")
    result = operate(ctx, step.stack, lambda: ctx.aws.continue_update_rollback(
        step.stack, list(step.skip), ctx.role_arn) or True)
    if result is not None and result.status != "UPDATE_ROLLBACK_COMPLETE":
        raise OperatorNeeded(
            f"{step.stack} is {result.status} again: {result.failure_text()}. Fix the "
            f"cause, or skip the failing resource explicitly: stackswap recover --skip "
            f"{result.first_failure.logical_id if result.first_failure else 'RESOURCE'}")


HANDLERS: dict[type, Callable[[Step, Context], None]] = {
    CreateAlb: create_alb, CreateService: create_service, UpdateService: update_service,
    WaitFor: wait_for_other, Verify: verify, Swap: swap, VerifyLive: verify_live,
    ContinueRollback: continue_rollback,
}


def execute(plan: Plan, ctx: Context) -> None:
    for number, step in enumerate(plan.steps, 1):
        ctx.log.say(f"[{number}/{len(plan.steps)}] {step.describe()}")
        HANDLERS[type(step)](step, ctx)


def summary(observed: Observed) -> str:
    live, idle = observed.live_color, observed.idle_color
    if live is None:
        return "no live colour"
    return (f"{live} is live on :80 with {observed.colors[live].image_parameter}; "
            f"{idle} is on :8080 with {observed.colors[idle].image_parameter}")
