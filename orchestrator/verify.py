"""What must be true of a colour before traffic moves to it (pure), and where to smoke-test it."""

from __future__ import annotations

from typing import TYPE_CHECKING

from generator.interface import OUTPUT_DNS_NAME, PRODUCTION_PORT, TEST_PORT
from orchestrator.model import APPLIED, ColorState

if TYPE_CHECKING:
    from generator.config import Config


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


def listener_url(config: Config, alb_outputs: dict[str, str], production: bool) -> str:
    """Base URL of the production (:80) or test (:8080) listener."""
    configured = config.deploy.production_url if production else config.deploy.test_url
    if configured:
        return configured.rstrip("/")
    port = PRODUCTION_PORT if production else TEST_PORT
    return f"http://{alb_outputs.get(OUTPUT_DNS_NAME, 'unknown-alb')}:{port}"
