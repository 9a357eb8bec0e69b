"""The data plane: what ECS and the ALB would do between API calls, every `tick_seconds`.

moto only stores what the API was told. Here each ECS service runs its desired count of tasks
(sandbox.tasks), follows its current task definition with a rolling replacement (new tasks
first; old ones drained and stopped once the new ones have a health verdict), registers the
tasks in its target group, health-checks them over HTTP (sandbox.target_health), and keeps the
service's counters and `deployments` as real ECS shows them: two deployments (PRIMARY new,
ACTIVE old) while replacing, one with runningCount == desiredCount when steady; the primary's
rolloutState IN_PROGRESS until it is first steady, COMPLETED from then on (a change of the
desired count starts no deployment).

Like ECS, it stops a task whose target is unhealthy once the service's health-check grace period
is over, and starts another; each such task counts toward its deployment's circuit breaker,
which fails the deployment (rolloutState FAILED, no more launches) at ECS's threshold.

Decisions and bookkeeping run under MOTO_LOCK; starting and stopping servers and the HTTP health
checks run outside it, so API calls are never held up by the data plane.
"""

from __future__ import annotations

import contextlib
import logging
import math
import threading
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from moto.ecs.exceptions import TaskDefinitionNotFoundException
from moto.elbv2.exceptions import InvalidTargetError
from stackswap.sandbox import backends
from stackswap.sandbox.settings import SandboxSettings
from stackswap.sandbox.target_health import TargetHealthBook, TargetKey, check, health_settings
from stackswap.sandbox.tasks import Task

log = logging.getLogger("stackswap.sandbox.data_plane")

TASK_IP = "127.0.0.1"
MAX_SERVICE_EVENTS = 50

ServiceKey = tuple[str, str, str, str]  # account, region, cluster, service name


def service_key(service: Any) -> ServiceKey:
    return (service._account_id, service.region_name, service.cluster_name, service.name)


@dataclass(frozen=True)
class ServiceView:
    """What the data plane needs of one ECS service, read under the lock."""

    task_definition: str
    image: str
    desired: int
    target_group: str | None
    health_path: str
    # The service's health-check grace period, compressed like the health checks: the same
    # number of the target group's intervals, each lasting `health_check_seconds`.
    grace_seconds: float = 0.0


def _now() -> datetime:
    return datetime.now(UTC)


def failure_threshold(desired: int) -> int:
    """Failed tasks that trip ECS's deployment circuit breaker.

    ServiceDeploymentCircuitBreaker, ECS API reference
    (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html):
    "The deployment circuit breaker has a minimum threshold of 3 and a maximum threshold of 200.
    and uses the values in the following formula to determine the deployment failure.
    0.5 * desired task count" (rounded up: ThresholdConfiguration's default is BOUNDED_PERCENT 50).
    """
    return max(3, min(200, math.ceil(0.5 * desired)))


class DataPlane:
    def __init__(self, settings: SandboxSettings, book: TargetHealthBook) -> None:
        self.settings = settings
        self.book = book
        self.tasks: dict[str, Task] = {}
        # Per service: task definition -> the deployment record ECS shows for it.
        self.deployments: dict[ServiceKey, dict[str, dict[str, Any]]] = {}
        self._deployment_ids = 0
        self._steady: dict[ServiceKey, bool] = {}
        # Tasks of a deployment (service, task definition) stopped as unhealthy.
        self.failures: dict[tuple[ServiceKey, str], int] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None
        # Bumped by stop_all_tasks (a reset): a tick that began before it keeps nothing it
        # started, so no stale task can stand for a new service of the same name afterwards.
        self._generation = 0

    # --- lifecycle ----------------------------------------------------------------------------

    def start(self) -> None:
        self._thread = threading.Thread(target=self._run, name="data-plane", daemon=True)
        self._thread.start()

    def stop(self) -> None:
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=10)
        self.stop_all_tasks()

    def stop_all_tasks(self) -> None:
        with backends.MOTO_LOCK:
            self._generation += 1
            tasks, self.tasks = list(self.tasks.values()), {}
            self.deployments.clear()
            self._steady.clear()
            self.failures.clear()
            self.book.clear()
        for task in tasks:
            task.stop()

    def _run(self) -> None:
        while not self._stop.wait(self.settings.tick_seconds):
            try:
                self.tick()
            except Exception:  # one bad tick must not end the data plane for good
                log.exception("data plane tick failed")

    # --- one tick -----------------------------------------------------------------------------

    def tick(self) -> None:
        now = time.monotonic()
        with backends.MOTO_LOCK:
            generation = self._generation
            views = self._observe()
            self._replace_unhealthy(views, now)
            to_start = self._plan_starts(views)
            self._plan_drains(views, now)
            finished = self._finish_drains(now)
        for task in to_start:
            task.start()
        for task in finished:
            task.stop()
        with backends.MOTO_LOCK:
            stale = generation != self._generation  # reset while this tick ran
            for task in [] if stale else to_start:
                task.started_at = now
                self.tasks[task.id] = task
                self._register(task, views.get(task.service_key), now)
                self._add_event(task.service_key, f"has started 1 tasks: (task {task.id}).")
        if stale:  # what it saw is gone: nothing it started may stay
            for task in to_start:
                task.stop()
            return
        self._health_checks(now)
        self.publish()

    def _observe(self) -> dict[ServiceKey, ServiceView]:
        views: dict[ServiceKey, ServiceView] = {}
        for backend in backends.ecs():
            for service in list(backend.services.values()):
                if service.status != "ACTIVE" or not service.task_definition:
                    continue
                try:
                    definition = backend.describe_task_definition(service.task_definition)
                except TaskDefinitionNotFoundException:
                    continue
                containers = definition.container_definitions or [{}]
                group = (service.load_balancers or [{}])[0].get("targetGroupArn")
                settings = health_settings(group) if group else None
                grace = float(getattr(service, "health_check_grace_period_seconds", 0) or 0)
                views[service_key(service)] = ServiceView(
                    task_definition=definition.arn,
                    image=containers[0].get("image", "unknown"),
                    desired=int(service.desired_count or 0),
                    target_group=group if settings else None,
                    health_path=settings["path"] if settings else "/health",
                    grace_seconds=(grace * self.settings.health_check_seconds
                                   / settings["interval"]) if settings else 0.0)
        return views

    def _live_tasks(self, key: ServiceKey) -> list[Task]:
        return [t for t in self.tasks.values()
                if t.service_key == key and t.stopping_since is None]

    def _plan_starts(self, views: dict[ServiceKey, ServiceView]) -> list[Task]:
        to_start = []
        for key, view in views.items():
            current = [t for t in self._live_tasks(key)
                       if t.task_definition == view.task_definition]
            if self.tripped(key, view.task_definition, view.desired):
                continue  # a failed deployment "will ... stop launching new tasks"
            # MaximumPercent 200: the whole new set starts at once next to the old one.
            for _ in range(view.desired - len(current)):
                to_start.append(Task(key, view.task_definition, view.image, view.health_path))
        return to_start

    def tripped(self, key: ServiceKey, definition: str, desired: int) -> bool:
        """Whether that deployment's circuit breaker has tripped."""
        return self.failures.get((key, definition), 0) >= failure_threshold(desired)

    def _replace_unhealthy(self, views: dict[ServiceKey, ServiceView], now: float) -> None:
        """Stop tasks whose target is unhealthy after the grace period (their replacements
        start with the next _plan_starts), counting each toward its deployment's breaker.

        healthCheckGracePeriodSeconds, ECS API reference (CreateService): "The period of time,
        in seconds, that the Amazon ECS service scheduler ignores unhealthy Elastic Load
        Balancing ... health checks after a task has first started." """
        for task in [t for t in self.tasks.values() if t.stopping_since is None]:
            view = views.get(task.service_key)
            if view is None or task.target_group is None or task.started_at is None:
                continue
            target = (task.target_group, TASK_IP, task.port)
            if (self.book.state(target) != "unhealthy"
                    or now - task.started_at < view.grace_seconds):
                continue
            self._add_event(task.service_key, f"(port {task.port}) is unhealthy in target-group "
                                              f"{task.target_group.rsplit('/', 2)[-2]} due to "
                                              f"(reason {self.book.get(target).description}).")
            self._drain(task, now)
            deployment = (task.service_key, task.task_definition)
            before = self.tripped(*deployment, view.desired)
            self.failures[deployment] = self.failures.get(deployment, 0) + 1
            if not before and self.tripped(*deployment, view.desired):
                self._add_event(task.service_key, "deployment failed: tasks failed to start.")

    def _ready(self, task: Task) -> bool:
        """A task counts for a rollout once it runs and its target is healthy (ECS waits for
        the new tasks to pass their health checks before it stops the old ones)."""
        if not task.running:
            return False
        if task.target_group is None:
            return True
        return self.book.state((task.target_group, TASK_IP, task.port)) == "healthy"

    def _plan_drains(self, views: dict[ServiceKey, ServiceView], now: float) -> None:
        for task in [t for t in self.tasks.values() if t.stopping_since is None]:
            view = views.get(task.service_key)
            if view is None:  # service deleted: stop everything it ran
                self._drain(task, now)
        for key, view in views.items():
            live = self._live_tasks(key)
            current = [t for t in live if t.task_definition == view.task_definition]
            # Scale in: the surplus goes, tasks that never started first.
            current.sort(key=lambda t: t.running)
            for task in current[:max(0, len(current) - view.desired)]:
                self._drain(task, now)
            current = current[max(0, len(current) - view.desired):]
            ready = sum(self._ready(t) for t in current)
            if ready >= view.desired:
                for task in live:
                    if task.task_definition != view.task_definition:
                        self._drain(task, now)

    def _drain(self, task: Task, now: float) -> None:
        task.stopping_since = now
        if task.target_group:
            self.book.start_draining((task.target_group, TASK_IP, task.port))
        self._add_event(task.service_key, f"has begun draining connections on 1 tasks "
                                          f"(task {task.id}).")

    def _finish_drains(self, now: float) -> list[Task]:
        finished = []
        for task in list(self.tasks.values()):
            if task.stopping_since is None:
                continue
            if task.target_group and now - task.stopping_since < self.settings.drain_seconds:
                continue
            if task.target_group:
                self._deregister(task.target_group, task)
            del self.tasks[task.id]
            finished.append(task)
            self._add_event(task.service_key, f"has stopped 1 running tasks: (task {task.id}).")
        return finished

    def _register(self, task: Task, view: ServiceView | None, now: float) -> None:
        if view is None or view.target_group is None or not task.running:
            return
        group = backends.target_group(view.target_group)
        if group is None:
            return
        group.register([{"Id": TASK_IP, "Port": task.port}])
        task.target_group = view.target_group
        self.book.register((view.target_group, TASK_IP, task.port), now)

    def _deregister(self, group_arn: str, task: Task) -> None:
        key: TargetKey = (group_arn, TASK_IP, task.port)
        self.book.forget(key)
        group = backends.target_group(group_arn)
        if group is not None:
            with contextlib.suppress(InvalidTargetError):  # deregistered through the API
                group.deregister([{"Id": TASK_IP, "Port": task.port}])

    def _health_checks(self, now: float) -> None:
        with backends.MOTO_LOCK:
            due = [(record, health_settings(record.key[0])) for record in self.book.due(now)]
        for record, settings in due:
            if settings is None:
                continue
            record.next_check = now + self.settings.health_check_seconds
            _, ip, port = record.key
            timeout = min(settings["timeout"], max(self.settings.health_check_seconds, 0.5))
            result = check(ip, port, settings["path"], timeout)
            with backends.MOTO_LOCK:
                self.book.record(record, result, settings["healthy_threshold"],
                                 settings["unhealthy_threshold"])

    # --- what ECS reports -----------------------------------------------------------------------

    def publish(self) -> None:
        """Write tasks counts and deployments onto moto's services (also called by the stack
        operations right after they change a service, so no API call sees a stale deployment)."""
        with backends.MOTO_LOCK:
            for backend in backends.ecs():
                for service in list(backend.services.values()):
                    if service.status == "ACTIVE" and service.task_definition:
                        self._publish_service(service)

    def _publish_service(self, service: Any) -> None:
        key = service_key(service)
        tasks = [t for t in self.tasks.values() if t.service_key == key]
        records = self.deployments.setdefault(key, {})
        primary = service.task_definition
        template = (service.deployments or [{}])[0]
        deployments = []
        for definition in [primary, *sorted({t.task_definition for t in tasks} - {primary})]:
            mine = [t for t in tasks if t.task_definition == definition]
            record = records.get(definition)
            if record is None:
                self._deployment_ids += 1
                record = {**template, "id": f"ecs-svc/{self._deployment_ids:016d}",
                          "createdAt": _now(), "taskDefinition": definition, "failedTasks": 0,
                          "rolloutState": "IN_PROGRESS"}
                records[definition] = record
            elif definition == primary and record.get("status") == "ACTIVE":
                record["rolloutState"] = "IN_PROGRESS"  # primary again: deployed once more
            running = sum(t.running for t in mine)
            record["failedTasks"] = self.failures.get((key, definition), 0)
            record.update(
                status="PRIMARY" if definition == primary else "ACTIVE",
                desiredCount=service.desired_count if definition == primary else 0,
                runningCount=running, pendingCount=len(mine) - running, updatedAt=_now())
            deployments.append(record)
        for definition in list(records):
            if definition not in {d["taskDefinition"] for d in deployments}:
                del records[definition]
                self.failures.pop((key, definition), None)
        steady = (len(deployments) == 1 and deployments[0]["runningCount"] == service.desired_count
                  and deployments[0]["pendingCount"] == 0 and all(map(self._ready, tasks)))
        failed = self.tripped(key, primary, int(service.desired_count or 0))
        # A completed deployment stays completed: a change of the desired count (by hand or by
        # auto scaling) starts no deployment in ECS.
        completed = steady or deployments[0].get("rolloutState") == "COMPLETED"
        state = "FAILED" if failed else "COMPLETED" if completed else "IN_PROGRESS"
        deployments[0]["rolloutState"] = state
        deployments[0]["rolloutStateReason"] = (
            "ECS deployment circuit breaker: tasks failed to start." if failed else
            f"ECS deployment {deployments[0]['id']} "
            f"{'completed' if completed else 'in progress'}.")
        service.deployments = deployments
        service.running_count = sum(t.running for t in tasks)
        service.pending_count = sum(not t.running for t in tasks)
        if steady and not self._steady.get(key):
            self._add_event(key, "has reached a steady state.")
        self._steady[key] = steady

    def steady(self, service: Any) -> bool:
        """Whether the service runs only its current task definition, all tasks running."""
        with backends.MOTO_LOCK:
            self._publish_service(service)
            return self._steady.get(service_key(service), False)

    def failed(self, service: Any) -> bool:
        """Whether the service's current deployment has tripped its circuit breaker."""
        with backends.MOTO_LOCK:
            return self.tripped(service_key(service), service.task_definition,
                                int(service.desired_count or 0))

    def _add_event(self, key: ServiceKey, message: str) -> None:
        for backend in backends.ecs():
            service = backend.services.get(f"{key[2]}:{key[3]}")
            if service is not None and service_key(service) == key:
                self._deployment_ids += 1
                service.events.insert(0, {"id": f"sandbox-{self._deployment_ids}",
                                          "createdAt": _now(),
                                          "message": f"(service {key[3]}) {message}"})
                del service.events[MAX_SERVICE_EVENTS:]

    def status(self) -> list[dict[str, Any]]:
        """Tasks per service, for `sandbox status`."""
        with backends.MOTO_LOCK:
            summary: dict[ServiceKey, dict[str, Any]] = {}
            for task in self.tasks.values():
                entry = summary.setdefault(task.service_key, {
                    "cluster": task.service_key[2], "service": task.service_key[3],
                    "tasks": []})
                state = ("DRAINING" if task.stopping_since is not None
                         else "RUNNING" if task.running else "PENDING")
                entry["tasks"].append({"id": task.id, "image": task.image, "port": task.port,
                                       "state": state})
            return list(summary.values())
