"""What must be true of a colour before traffic moves to it (pure), and where to smoke-test it."""

from __future__ import annotations

import urllib.parse
from dataclasses import dataclass
from typing import TYPE_CHECKING

from stackswap.environment.names import OUTPUT_DNS_NAME
from stackswap.orchestrator.model import APPLIED, ColorState

if TYPE_CHECKING:
    from stackswap.environment.config import Config, Health


def color_problems(state: ColorState, image: str, healthy: int = 1) -> list[str]:
    """Why `state` is not yet a colour that may serve production on `image` with at least
    `healthy` healthy targets (empty: it is)."""
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
        elif health.healthy < healthy:
            problems.append(f"its target group has {health.healthy} of {healthy} healthy "
                            f"targets")
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


@dataclass(frozen=True)
class SmokeTarget:
    """Where a smoke request goes: a base URL (the smoke path is added), and the name to send
    instead of the URL's host (the test host of test_mode "host": Host header and TLS SNI)."""

    url: str
    host: str | None = None

    def describe(self, path: str = "") -> str:
        return f"{self.url}{path}" + (f" (host {self.host})" if self.host else "")


def smoke_target(config: Config, alb_outputs: dict[str, str], production: bool) -> SmokeTarget:
    """Production: deploy.production_url, else the load balancer's DNS name on the production
    port. Test: deploy.test_url when set; in host mode the production URL with the test host;
    with HTTPS, production_url's host (the name the certificate covers) on the test port;
    else the load balancer's DNS name on the test port."""
    listener, deploy = config.listener, config.deploy
    dns_name = alb_outputs.get(OUTPUT_DNS_NAME, "unknown-alb")
    production_url = (deploy.production_url.rstrip("/") if deploy.production_url
                      else f"http://{dns_name}:{listener.production_port}")
    if production:
        return SmokeTarget(production_url)
    if deploy.test_url:
        return SmokeTarget(deploy.test_url.rstrip("/"))
    if listener.host_mode:
        return SmokeTarget(production_url, listener.test_host)
    if listener.https:
        parts = urllib.parse.urlsplit(production_url)
        return SmokeTarget(f"{parts.scheme}://{parts.hostname}:{listener.test_port}")
    return SmokeTarget(f"http://{dns_name}:{listener.test_port}")


def test_path_refusal(config: Config, status: int | None) -> bool:
    """Whether an answer to the test smoke request means "not admitted": no HTTP answer at all
    (the security group drops a client outside network.test_cidr), or in host mode a 403 (the
    refusal rule answers the test host to clients outside network.test_cidr)."""
    return status is None or (config.listener.host_mode and status == 403)


def unreachable_test_message(config: Config, test_label: str, request: str,
                             answer: str) -> str:
    """One line for a test smoke request that was not admitted: the path, test_cidr and what
    to change. Said before any swap: production was not touched."""
    cidr = config.network.test_cidr
    if config.network.scheme == "internet-facing":
        why = (f"this machine may not be in network.test_cidr {cidr}: an internet-facing load "
               f"balancer sees clients by their public address; set network.test_cidr to your "
               f"public address/32 (then `stackswap update-alb`), or set deploy.test_url")
    else:
        why = (f"this machine may not be in network.test_cidr {cidr}: an internal load balancer "
               f"answers only inside its VPC (or networks connected to it); run stackswap from "
               f"there, or set network.test_cidr to this machine's address (then `stackswap "
               f"update-alb`)")
    configured = (f" (deploy.test_url {config.deploy.test_url}: check that it reaches the "
                  f"test listener)" if config.deploy.test_url else "")
    return (f"the {test_label} smoke request was not admitted: GET {request} -> {answer}"
            f"{configured}; {why}. Production was not touched")
