"""The sandbox's knobs, chosen at `sandbox up` and fixed for the server's life: timings, the
address local clients count as, and whether the load balancer's ports serve TLS.

Real AWS takes minutes for what the sandbox does in seconds: a demo or a test must be quick, yet
every state the orchestrator can meet in AWS (stack operations in progress, targets `initial`
then `healthy`, draining, circuit-breaker rollbacks) must last long enough to be observed.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass


@dataclass(frozen=True)
class SandboxSettings:
    # How long a stack create/update/delete reports *_IN_PROGRESS before it is applied.
    stack_seconds: float = 2.0
    # Interval between two health checks of one target. The target group's own interval
    # (5 s minimum in AWS) would make a demo wait ~10 s per deploy for nothing; its thresholds
    # (passes/failures to change state) and path are honoured as configured.
    health_check_seconds: float = 0.5
    # How long a deregistered target keeps serving in-flight requests before its task stops.
    drain_seconds: float = 1.0
    # How long a service stack's update waits for the ECS service to become steady before the
    # emulated deployment circuit breaker fails the update and CloudFormation rolls it back.
    circuit_breaker_seconds: float = 10.0
    # How long one minute of a rollback trigger's MonitoringTimeInMinutes lasts in the sandbox.
    monitoring_minute_seconds: float = 1.0
    # How long one minute of Application Auto Scaling's time lasts in the sandbox: a target
    # tracking policy's cooldowns (ECS's default 300 s: 5 s here).
    scaling_minute_seconds: float = 1.0
    # Period of the data plane's loop (tasks, registrations, health checks, service counters).
    tick_seconds: float = 0.2
    # The server stops by itself after this long, so a forgotten sandbox never runs forever.
    lifetime_seconds: float = 4 * 3600.0
    # The address the load balancers see local clients connect from: what their security groups
    # and source-ip rule conditions are checked against (`--client-address`). A real client of
    # an internet-facing load balancer arrives from a public address (203.0.113.10, say).
    client_address: str = "127.0.0.1"
    # Serve ALB ports 443 and 8443 with TLS (a certificate made at start, imported into ACM).
    https: bool = False

    def to_dict(self) -> dict[str, float | str | bool]:
        return asdict(self)
