"""A gate: the deploy.hooks command of a point (before_swap, after_step, after_swap) run with
what it needs to judge the release; its failure stops the release where the step says."""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackswap.orchestrator.context import (
    Context,
)
from stackswap.orchestrator.verify import (
    smoke_target,
)

if TYPE_CHECKING:
    pass


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
