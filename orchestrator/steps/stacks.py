"""Step handlers that create, update and scale the stacks: the ALB stack's creation, a colour's
service stack (create, update, DesiredCount for retire and restore, the autoscaling floor), a wait
for someone else's operation, and `recover`'s continued rollback."""

from __future__ import annotations

from dataclasses import replace
from typing import TYPE_CHECKING

from stackswap.environment.config import Config
from stackswap.environment.errors import (
    ColorFailed,
    OperatorNeeded,
)
from stackswap.environment.names import (
    PARAM_DESIRED_COUNT,
    PARAM_MIN_CAPACITY,
)
from stackswap.generator.policies import alb_stack_policy_body
from stackswap.orchestrator import parameters as sent
from stackswap.orchestrator.context import (
    Context,
    remember_color,
    require_alb,
)
from stackswap.orchestrator.desired import alb_template_body
from stackswap.orchestrator.model import (
    ROLLED_BACK,
    SUCCEEDED,
)
from stackswap.orchestrator.observe import (
    newest_event_id,
    read_stack,
)
from stackswap.orchestrator.plan import (
    ContinueRollback,
    CreateAlb,
    CreateService,
    ReleaseFloor,
    Restore,
    Retire,
    UpdateService,
    WaitFor,
)
from stackswap.orchestrator.stack_operation import operate, raise_on_failure, wait
from stackswap.orchestrator.wait import (
    WaitResult,
)

if TYPE_CHECKING:
    pass


def template_body(config: Config, color: str) -> str:
    """A colour's service stack template, rendered from the config now. Imported here rather
    than at the top: troposphere slows every start, and status and unlock render nothing."""
    from stackswap.generator.render import service_stack_body

    return service_stack_body(config, color)


def create_alb(step: CreateAlb, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.alb_stack
    ctx.log.say(f"creating {name} ({step.paths.production} -> {step.live})")
    parameters = sent.alb_create(config, step.live)
    # The stack policy forbids replacing or deleting any resource (generator/policies.py).
    result = operate(ctx, name, lambda: ctx.aws.create_stack(
        name, alb_template_body(config), parameters, ctx.env_tags(), ctx.role_arn,
        alb_stack_policy_body()) or True, is_new=True)
    require_created(name, result)


def create_service(step: CreateService, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.service_stack(step.color)
    ctx.log.say(f"creating {name} with {step.image}")
    parameters = sent.service(config, require_alb(ctx).outputs, step.color, step.image, None)
    result = operate(ctx, name, lambda: ctx.aws.create_stack(
        name, template_body(config, step.color), parameters, ctx.env_tags(),
        ctx.role_arn) or True, is_new=True)
    require_created(name, result)


def require_created(name: str, result: WaitResult | None) -> None:
    raise_on_failure(result, lambda why: OperatorNeeded(
        f"creating {name} failed: {why}. It must be deleted before a rerun: aws cloudformation "
        f"update-termination-protection --no-enable-termination-protection --stack-name {name} "
        f"&& aws cloudformation delete-stack --stack-name {name}"))


def update_service(step: UpdateService, ctx: Context) -> None:
    config, name = ctx.config, ctx.config.service_stack(step.color)
    ctx.log.say(f"updating {name}: {step.old_image} -> {step.image}")
    if step.changes:
        ctx.log.say(f"  task definition: {'; '.join(step.changes)}")
    previous = ctx.observed.colors[step.color].stack
    parameters = sent.service(config, require_alb(ctx).outputs, step.color, step.image,
                              previous, step.desired)
    body = template_body(config, step.color)
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters, body,
                                                             role_arn=ctx.role_arn))
    raise_on_failure(
        result,
        lambda why: ColorFailed(f"{name} update failed and was rolled back: {why}. Production "
                                f"was not touched"),
        lambda why: OperatorNeeded(f"{name} update failed ({why}) and its rollback failed too; "
                                   f"production was not touched. Fix the cause, then: aws "
                                   f"cloudformation continue-update-rollback --stack-name "
                                   f"{name}"))


def wait_for_other(step: WaitFor, ctx: Context) -> None:
    ctx.log.say(f"waiting for {step.stack} ({step.status}), started by someone else")
    wait(ctx, step.stack, newest_event_id(ctx.aws, step.stack), step.monitoring_minutes)


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
    stack = read_stack(ctx.aws, name)
    if stack is None or PARAM_MIN_CAPACITY not in stack.parameters:
        return
    parameters = sent.kept(stack, **{PARAM_MIN_CAPACITY: str(step.minimum)})
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters,
                                                             role_arn=ctx.role_arn))
    if result is not None and result.outcome != SUCCEEDED:
        ctx.log.say(f"warning: {name} keeps its autoscaling minimum "
                    f"{stack.parameters[PARAM_MIN_CAPACITY]} ({result.failure_text()}); "
                    f"production is on {step.color} and serving")


def set_desired_count(ctx: Context, color: str, count: str) -> None:
    """Scale a colour's service through its stack's DesiredCount (previous template, every
    other parameter kept): 0 retires it, the live colour's count restores it."""
    name = ctx.config.service_stack(color)
    stack = ctx.observed.colors[color].stack
    parameters = sent.kept(stack, **{PARAM_DESIRED_COUNT: count})
    result = operate(ctx, name, lambda: ctx.aws.update_stack(name, parameters,
                                                             role_arn=ctx.role_arn))
    raise_on_failure(
        result,
        lambda why: ColorFailed(f"scaling {name} to {count} tasks failed and was rolled back: "
                                f"{why}. Production was not touched"),
        lambda why: OperatorNeeded(f"scaling {name} to {count} tasks failed ({why}) and its "
                                   f"rollback failed too; production was not touched. Fix the "
                                   f"cause, then `stackswap recover`"))
    remember_color(ctx, replace(ctx.observed.colors[color], stack=read_stack(ctx.aws, name)))


def retire(step: Retire, ctx: Context) -> None:
    ctx.log.say(f"retiring {step.color}: DesiredCount 0")
    set_desired_count(ctx, step.color, "0")
    ctx.log.say(f"{step.color} retired: `stackswap rollback` starts its tasks again first")


def restore(step: Restore, ctx: Context) -> None:
    ctx.log.say(f"{step.color} is retired: starting {step.count} task(s) before it can go live")
    set_desired_count(ctx, step.color, step.count)
