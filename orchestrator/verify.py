"""What must be true of a colour before traffic moves to it (pure), and where to smoke-test it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.interface import OUTPUT_DNS_NAME
from orchestrator.model import APPLIED, ColorState

if TYPE_CHECKING:
    from generator.config import Config, Health


def color_problems(state: ColorState, image: str) -> list[str]:
    """Why `state` is not yet a colour that may serve production on `image` (empty: it is)."""
    if state.stack is None:
        return [f"the {state.color} stack does not exist"]
    problems = []
    if state.stack.status not in APPLIED:
        problems.append(f"stack {state.stack.name} is {state.stack.status}")
    if state.image_parameter != image:
        problems.append(f"stack parameter Image is {state.image_parameter}, not {image}")
    service = state.service
    if service is None:
        problems.append("its ECS service was not found")
    else:
        if service.image != image:
            problems.append(f"the service runs {service.image}, not {image}")
        if not service.steady:
            problems.append(f"the service is not steady ({service.deployments} deployments, "
                            f"{service.running}/{service.desired} tasks running, "
                            f"{service.pending} pending)")
    health = state.health
    if health is None:
        problems.append("its target group is unknown")
    else:
        if health.healthy < 1:
            problems.append("its target group has no healthy target")
        if health.unhealthy:
            problems.append(f"its target group has {health.unhealthy} unhealthy target(s)")
    return problems


def unhealthy_limit_seconds(health: Health) -> int:
    """How long every target may stay unhealthy before waiting is pointless: the service's grace
    period (ECS ignores failed health checks meanwhile) plus the failed checks that make a
    target unhealthy. After that ECS replaces such tasks, so no verdict will turn healthy."""
    return health.grace_period_seconds + health.unhealthy_threshold * health.interval_seconds


def hopeless(state: ColorState, unhealthy_for: float, limit: float) -> str | None:
    """Why waiting longer cannot make `state` fit to serve (None: it still may).

    `unhealthy_for`: how long every target has been unhealthy (0 when some is not)."""
    service = state.service
    if service is not None and service.running == 0 and service.pending == 0:
        return (f"its service has no task running or pending "
                f"({service.desired} desired)")
    if state.health is not None and state.health.all_unhealthy and unhealthy_for > limit:
        return (f"every target has been unhealthy for {unhealthy_for:.0f} s, longer than the "
                f"grace period plus the unhealthy threshold ({limit:.0f} s)")
    return None


def listener_url(config: Config, alb_outputs: dict[str, str], production: bool) -> str:
    """Base URL of the production or test listener."""
    configured = config.deploy.production_url if production else config.deploy.test_url
    if configured:
        return configured.rstrip("/")
    port = config.listener.production_port if production else config.listener.test_port
    return f"http://{alb_outputs.get(OUTPUT_DNS_NAME, 'unknown-alb')}:{port}"
