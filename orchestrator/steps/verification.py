"""Step handlers that judge before traffic moves on: a colour verified (steady, healthy, on the
image, a smoke test), production verified after a swap, and the gate steps."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackswap.environment.errors import (
    AwsUnreachable,
    ColorFailed,
    Refused,
)
from stackswap.orchestrator.context import (
    Context,
    read_production,
    remember_color,
    require_alb,
)
from stackswap.orchestrator.observe import (
    observe_color,
    observe_color_stack,
)
from stackswap.orchestrator.output.log import verify_progress
from stackswap.orchestrator.plan import (
    Gate,
    Verify,
    VerifyLive,
)
from stackswap.orchestrator.steps.gates import gate
from stackswap.orchestrator.steps.smoke import answer_text, smoke
from stackswap.orchestrator.steps.traffic import roll_back
from stackswap.orchestrator.verify import (
    color_problems,
    hopeless,
    smoke_target,
    test_path_refusal,
    unhealthy_limit_seconds,
    unreachable_test_message,
)
from stackswap.orchestrator.wait import (
    Heartbeat,
    Outage,
)

if TYPE_CHECKING:
    pass


VERIFY_POLL_SECONDS = 1.0


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
    roll_back(ctx, step.undo, f"production failed its check after the swap ({'; '.join(problems)})")


def gate_step(step: Gate, ctx: Context) -> None:
    weight = 100 if step.undo else 0
    failed = gate(ctx, step.point, step.new_color, step.old_color, weight)
    if not failed:
        return
    if step.undo is None:
        raise ColorFailed(f"the {step.point} gate failed ({failed}); production was not "
                          f"touched")
    roll_back(ctx, step.undo, f"the {step.point} gate failed ({failed})")
