"""Application Auto Scaling's target tracking of ECS services, every `tick_seconds`.

moto stores scalable targets and scaling policies but never scales anything. Here each ECS
service's scalable target (`ecs:service:DesiredCount`) is evaluated against its target-tracking
policies and the metric values the admin API was given (`POST /metric`: what CloudWatch would
report for that service), and the service's DesiredCount is changed in moto's ECS backend, under
MOTO_LOCK, as Application Auto Scaling would; the data plane then starts or drains the tasks.

What it follows (Application Auto Scaling User Guide and API reference, ECS Developer Guide):

- A policy compares its metric with its TargetValue and proposes the capacity that brings the
  metric back to it, proportionally, rounded up: "Service Auto Scaling always acts
  conservatively by rounding up or down when it determines how much capacity to add or
  remove. This prevents it from adding insufficient capacity or removing too much capacity."
  A metric never given is insufficient data: no scaling, in or out.
- Several policies: the target scales out when any policy wants more, and in only when every
  policy whose scale-in is enabled is ready to scale in (their largest proposal wins).
- Every invocation clamps into [MinCapacity, MaxCapacity]: "anytime a scaling policy is invoked
  or the RegisterScalableTarget API is called, Application Auto Scaling retrieves the current
  capacity and compares it to the minimum and maximum capacity" (RegisterScalableTarget's side
  is moto gap 26, sandbox/moto_gaps/scaling.py).
- Cooldowns (ScaleOutCooldown, ScaleInCooldown; 300 s for ECS services when not given), each
  `scaling_minute_seconds` per minute. During a scale-out cooldown the capacity it added counts
  as part of the next proposal (only a larger scale-out goes through); a scale-out during a
  scale-in cooldown happens at once and ends that cooldown.
- SuspendedState: DynamicScalingOutSuspended stops every increase, DynamicScalingInSuspended
  every decrease. Scheduled actions are not run, so ScheduledScalingSuspended changes nothing.
- "Application Auto Scaling turns off scale-in processes while Amazon ECS deployments are in
  progress": no decrease while the service has more than one deployment or its primary
  deployment's rolloutState is IN_PROGRESS (as the data plane publishes them).

Not emulated: the CloudWatch alarms' datapoint counts (a policy acts on the first evaluation
after its metric moved), step scaling, predictive scaling, scheduled actions, and metrics that
follow the load (a metric keeps the value it was given whatever the capacity).
"""

from __future__ import annotations

import logging
import math
import threading
import time
from dataclasses import dataclass, field
from typing import Any

from stackswap.sandbox import backends
from stackswap.sandbox.settings import SandboxSettings

log = logging.getLogger("stackswap.sandbox.scaling")

ECS_DESIRED_COUNT = "ecs:service:DesiredCount"
TARGET_TRACKING = "TargetTrackingScaling"
# TargetTrackingScalingPolicyConfiguration, ScaleOutCooldown and ScaleInCooldown: "Application
# Auto Scaling provides a default value of 300 for the following scalable targets: ECS services".
DEFAULT_COOLDOWN_SECONDS = 300.0
MAX_ACTIVITIES = 20  # per scalable target, newest last, for GET /status


def truthy(value: Any) -> bool:
    """A Boolean as the API (true) or a CloudFormation template ("true") gives it."""
    return value is True or str(value).lower() == "true"


def metric_key(configuration: dict[str, Any]) -> str:
    """The name a policy's metric is set by: its predefined metric type
    (ECSServiceAverageCPUUtilization, ALBRequestCountPerTarget), or a customized metric's name."""
    predefined = configuration.get("PredefinedMetricSpecification") or {}
    customized = configuration.get("CustomizedMetricSpecification") or {}
    return str(predefined.get("PredefinedMetricType") or customized.get("MetricName") or "")


def resource_id(service: str) -> str | None:
    """`service/<cluster>/<name>` from an ECS service's ARN or from that resource id itself."""
    resource = service.split(":", 5)[5] if service.startswith("arn:") else service
    parts = resource.split("/")
    return resource if len(parts) == 3 and parts[0] == "service" and all(parts) else None


# --- the decision: pure ---------------------------------------------------------------------

@dataclass(frozen=True)
class PolicyView:
    """One target-tracking policy of a scalable target, with its metric and its cooldowns."""

    name: str
    target_value: float
    metric: float | None  # None: insufficient data
    disable_scale_in: bool = False
    out_until: float = 0.0  # its scale-out cooldown ends then
    out_base: int = 0  # the capacity before the scale-out that started that cooldown
    in_until: float = 0.0  # its scale-in cooldown ends then


@dataclass(frozen=True)
class TargetView:
    minimum: int
    maximum: int
    desired: int
    out_suspended: bool = False
    in_suspended: bool = False
    deploying: bool = False  # the ECS service has a deployment in progress


@dataclass(frozen=True)
class Activity:
    """A change of the desired count, and the policies whose cooldown it starts."""

    desired: int
    scaled_out: tuple[str, ...] = ()
    scaled_in: tuple[str, ...] = ()


def _proportional(capacity: int, load: float) -> int:
    # Rounded up (less than a millionth of a task is float noise): enough capacity to bring the
    # metric to the target, never less.
    return max(0, math.ceil(capacity * load - 1e-6))


def decide(target: TargetView, policies: list[PolicyView], now: float) -> Activity | None:
    """What Application Auto Scaling does with this target now (None: nothing)."""
    current = target.desired
    loads = {p.name: p.metric / p.target_value for p in policies
             if p.metric is not None and p.target_value > 0}  # no entry: insufficient data
    out = {p.name: _proportional(p.out_base if now < p.out_until else current, loads[p.name])
           for p in policies if loads.get(p.name, 1.0) > 1.0}
    low = {p.name for p in policies
           if loads.get(p.name, 1.0) < 1.0 and not p.disable_scale_in}
    if not out and not low:
        return None  # no alarm: no invocation, so no clamp either
    wanted, scaled_out, scaled_in = current, (), ()
    if out:
        if max(out.values()) > current:
            wanted = max(out.values())
            scaled_out = tuple(name for name, count in out.items() if count > current)
    else:
        voters = [p for p in policies if not p.disable_scale_in]
        if all(p.name in low and now >= p.in_until for p in voters):
            proposal = max(_proportional(current, loads[p.name]) for p in voters)
            if proposal < current:
                wanted, scaled_in = proposal, tuple(p.name for p in voters)
    desired = min(max(wanted, target.minimum), target.maximum)
    if desired == current:
        return None
    if desired > current:
        return None if target.out_suspended else Activity(desired, scaled_out=scaled_out)
    if target.in_suspended or target.deploying:
        return None
    return Activity(desired, scaled_in=scaled_in)


# --- the emulator ---------------------------------------------------------------------------

@dataclass
class Cooldowns:
    out_until: float = 0.0
    out_base: int = 0
    in_until: float = 0.0


@dataclass
class TargetRecord:
    """What the emulator keeps of one scalable target between ticks."""

    cooldowns: dict[str, Cooldowns] = field(default_factory=dict)  # policy name -> its own
    evaluations: int = 0
    activities: list[dict[str, Any]] = field(default_factory=list)


def deployment_in_progress(service: Any) -> bool:
    deployments = service.deployments or []
    return len(deployments) > 1 or any(d.get("rolloutState") == "IN_PROGRESS"
                                       for d in deployments)


class Scaling:
    def __init__(self, settings: SandboxSettings) -> None:
        self.settings = settings
        self.metrics: dict[tuple[str, str], float] = {}  # (resource id, metric) -> value
        self.records: dict[tuple[str, str, str], TargetRecord] = {}  # account, region, id
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="scaling", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)

    def reset(self) -> None:
        with backends.MOTO_LOCK:
            self.metrics.clear()
            self.records.clear()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            try:
                self.tick(time.monotonic())
            except Exception:  # one bad tick must not end scaling for good
                log.exception("scaling tick failed")

    def set_metric(self, service: str, metric: str, value: float) -> str | None:
        """What CloudWatch reports for that service's metric from now on; the service's
        resource id, or None when the sandbox runs no such ECS service."""
        found = resource_id(service)
        if found is None:
            return None
        _, cluster, name = found.split("/")
        with backends.MOTO_LOCK:
            if not any(s.status == "ACTIVE" and s.cluster_name == cluster and s.name == name
                       for backend in backends.ecs() for s in backend.services.values()):
                return None
            self.metrics[(found, metric)] = value
        return found

    def _cooldown(self, configuration: dict[str, Any], key: str) -> float:
        seconds = float(configuration.get(key, DEFAULT_COOLDOWN_SECONDS))
        return seconds / 60.0 * self.settings.scaling_minute_seconds

    def tick(self, now: float) -> None:
        with backends.MOTO_LOCK:
            for backend in backends.application_autoscaling():
                for target in list(backend.targets.get(ECS_DESIRED_COUNT, {}).values()):
                    self._evaluate(backend, target, now)

    def _evaluate(self, backend: Any, target: Any, now: float) -> None:
        _, cluster, name = target.resource_id.split("/")
        service = backend.ecs_backend.services.get(f"{cluster}:{name}")
        if service is None or service.status != "ACTIVE" or None in (target.min_capacity,
                                                                       target.max_capacity):
            return
        record = self.records.setdefault(
            (backend.account_id, backend.region_name, target.resource_id), TargetRecord())
        record.evaluations += 1
        configurations = {
            policy.policy_name: policy.target_tracking_scaling_policy_configuration or {}
            for policy in backend.policies.values()
            if policy.policy_type == TARGET_TRACKING and policy.service_namespace == "ecs"
            and policy.resource_id == target.resource_id
            and policy.scalable_dimension == ECS_DESIRED_COUNT}
        views = []
        for policy_name, configuration in configurations.items():
            clock = record.cooldowns.setdefault(policy_name, Cooldowns())
            views.append(PolicyView(
                policy_name, float(configuration.get("TargetValue") or 0),
                self.metrics.get((target.resource_id, metric_key(configuration))),
                truthy(configuration.get("DisableScaleIn")), clock.out_until, clock.out_base,
                clock.in_until))
        suspended = target.suspended_state or {}
        desired = int(service.desired_count or 0)
        activity = decide(TargetView(
            int(target.min_capacity), int(target.max_capacity), desired,
            out_suspended=truthy(suspended.get("DynamicScalingOutSuspended")),
            in_suspended=truthy(suspended.get("DynamicScalingInSuspended")),
            deploying=deployment_in_progress(service)), views, now)
        if activity is None:
            return
        service.desired_count = activity.desired
        for policy_name in activity.scaled_out:
            clock = record.cooldowns[policy_name]
            clock.out_until = now + self._cooldown(configurations[policy_name],
                                                   "ScaleOutCooldown")
            clock.out_base = desired
        if activity.desired > desired:  # a scale-out ends every scale-in cooldown
            for clock in record.cooldowns.values():
                clock.in_until = 0.0
        for policy_name in activity.scaled_in:
            record.cooldowns[policy_name].in_until = now + self._cooldown(
                configurations[policy_name], "ScaleInCooldown")
        # DescribeScalingActivities' wording; moto has no scaling activities to put it in.
        record.activities.append({"from": desired, "to": activity.desired,
                                  "description": f"Setting desired count to {activity.desired}.",
                                  "policies": list(activity.scaled_out + activity.scaled_in)})
        del record.activities[:-MAX_ACTIVITIES]

    def status(self) -> list[dict[str, Any]]:
        """Each ECS scalable target as the emulator sees it, for GET /status."""
        with backends.MOTO_LOCK:
            found = []
            for backend in backends.application_autoscaling():
                for target in backend.targets.get(ECS_DESIRED_COUNT, {}).values():
                    _, cluster, name = target.resource_id.split("/")
                    service = backend.ecs_backend.services.get(f"{cluster}:{name}")
                    record = self.records.get(
                        (backend.account_id, backend.region_name, target.resource_id),
                        TargetRecord())
                    found.append({
                        "resource_id": target.resource_id, "min": target.min_capacity,
                        "max": target.max_capacity,
                        "suspended": dict(target.suspended_state or {}),
                        "desired": service.desired_count if service is not None else None,
                        "deploying": service is not None and deployment_in_progress(service),
                        "metrics": {metric: value for (rid, metric), value in
                                    self.metrics.items() if rid == target.resource_id},
                        "evaluations": record.evaluations,
                        "activities": list(record.activities)})
            return found
