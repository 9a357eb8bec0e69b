"""The run's context: the AWS client, the config, the clock and the log a command works with,
what the run has changed, and the latest observation, with the re-reads a step makes of what it
may have changed."""

from __future__ import annotations

from dataclasses import dataclass, field, replace
from typing import TYPE_CHECKING

from stackswap.environment.config import Config
from stackswap.environment.errors import (
    StateUnknown,
)
from stackswap.environment.names import (
    ENV_TAG,
)
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.lock import DeployLock
from stackswap.orchestrator.model import (
    ColorState,
    Observed,
    Stack,
)
from stackswap.orchestrator.observe import (
    read_alarms,
    read_listeners,
    read_stack,
)
from stackswap.orchestrator.output.log import Log
from stackswap.orchestrator.wait import (
    Clock,
)

if TYPE_CHECKING:
    from stackswap.orchestrator.notify import Notifier
    from stackswap.orchestrator.plan import Limit


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
    # Times the run cannot extend, which its plan must fit in (plan.refuse_beyond). The deploy
    # lock is none: the run renews it. Credentials that cannot be refreshed will be one.
    limits: tuple[Limit, ...] = ()

    def where_interrupted(self) -> str:
        if self.current:
            return f" while waiting for {self.current}; CloudFormation carries on with it"
        if self.requesting:
            return (f" while asking CloudFormation to start an operation on {self.requesting}; "
                    f"it may have started, and then carries on")
        return "; no stack operation of this run was in progress"

    def where_paused(self) -> str:
        """Where a run that stops at a pause (the lock lost) is, if a stack operation of its
        own goes on without it: the wait for it."""
        if self.current:
            return f" while waiting for {self.current}; CloudFormation carries on with it"
        return ""

    def env_tags(self) -> dict[str, str]:
        return {ENV_TAG: self.config.name}

    @property
    def role_arn(self) -> str | None:
        """The CloudFormation service role (deploy_role.cloudformation_role_arn), if any."""
        return self.config.deploy_role.cloudformation_role_arn


def require_alb(ctx: Context) -> Stack:
    """The ALB stack (its outputs do not change during a run; read it once)."""
    return ctx.observed.alb if ctx.observed.alb is not None else reread_alb(ctx)


def reread_alb(ctx: Context) -> Stack:
    alb = read_stack(ctx.aws, ctx.config.alb_stack)
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
                           alarms=read_alarms(ctx.aws, ctx.config))
    return ctx.observed


def remember_color(ctx: Context, state: ColorState) -> None:
    ctx.observed = replace(ctx.observed, colors={**ctx.observed.colors, state.color: state})
