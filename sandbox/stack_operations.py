"""CloudFormation's stack operations as they really run, on top of moto's, which completes every
operation inside the API call and never fails.

Here CreateStack, UpdateStack and DeleteStack return at once and the stack reports
`*_IN_PROGRESS` for `stack_seconds`, with stack events as real CloudFormation writes them. Then
the change is applied (moto's own update, run from a background thread under MOTO_LOCK) and, for
a stack with an ECS service, CloudFormation waits for the service to be steady, as the real one
does. A service that is not steady within `circuit_breaker_seconds` fails like ECS's deployment
circuit breaker, and the stack rolls back to its previous template and parameters.

Rollback triggers (`RollbackConfiguration` of UpdateStack) are honoured: while the update runs
and for its monitoring time after (`monitoring_minute_seconds` per minute), an alarm in ALARM rolls
the update back, as CloudFormation does.

Also: updates of a stack in progress are refused with CloudFormation's own ValidationError,
CancelUpdateStack (which moto lacks) rolls an update back, and `fail_next_update(stack)` makes a
stack's next update fail on a resource and roll back without ever being applied.

For the benchmark: `set_stack_seconds` changes the duration of the operations that start from
then on (for every stack, or for one stack by name), and `finished_at` holds the wall-clock time
(Unix seconds) at which each stack's last operation reached its terminal status — what a tool
waiting for the stack is measured against.

This module patches nothing in moto: sandbox/moto_gaps.py (gaps 8 and 9) routes moto's stack API
calls to the hooks of StackOperations (`begin_create`, `begin_update`, `begin_delete`,
`refuse_if_busy`, `keep_rollback_configuration`, `cancel_update`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import ValidationError
from moto.ecs import models as ecs_models

from sandbox import backends
from sandbox.data_plane import DataPlane
from sandbox.settings import SandboxSettings

log = logging.getLogger("sandbox.stack_operations")

SERVICE_TYPE = "AWS::ECS::Service"
FAIL_NEXT_UPDATE_REASON = "ECS service did not stabilize (sandbox fail-next-update)"
CIRCUIT_BREAKER_REASON = "ECS Deployment Circuit Breaker was triggered"
CANCELLED_REASON = "Resource update cancelled"
# Statuses from which real CloudFormation accepts no other operation.
BUSY_SUFFIX = "_IN_PROGRESS"


@dataclass
class Operation:
    """One stack operation in flight."""

    stack: Any
    kind: str  # CREATE, UPDATE or DELETE
    template: str = ""
    parameters: dict[str, Any] = field(default_factory=dict)
    role_arn: str | None = None
    tags: dict[str, str] | None = None
    previous: dict[str, Any] = field(default_factory=dict)
    resources: list[str] = field(default_factory=list)  # logical ids the operation touches
    seconds: float = 0.0  # how long it stays *_IN_PROGRESS (and a rollback of it)
    fail: bool = False
    cancelled: bool = False
    rollback_alarms: list[str] = field(default_factory=list)  # rollback trigger alarm ARNs
    monitoring_minutes: float = 0.0


def _resource_type(stack: Any, logical_id: str) -> str:
    return stack.template_dict.get("Resources", {}).get(logical_id, {}).get("Type", "")


def add_event(stack: Any, status: str, logical_id: str | None = None,
              reason: str | None = None) -> None:
    """A stack event (logical_id None) or a resource event, as CloudFormation writes them."""
    if logical_id is None:
        stack._add_stack_event(status, resource_status_reason=reason)
        return
    resource = stack.resource_map._parsed_resources.get(logical_id)
    physical = getattr(resource, "physical_resource_id", None) or ""
    stack.events.append(cfn_models.Event(
        stack_id=stack.stack_id, stack_name=stack.name, logical_resource_id=logical_id,
        physical_resource_id=physical, resource_type=_resource_type(stack, logical_id),
        resource_status=status, resource_status_reason=reason, resource_properties=None))


def _without_new_events(stack: Any, action: Callable[[], Any]) -> Any:
    """Run a moto stack action but drop the events it writes: the sandbox writes its own."""
    count = len(stack.events)
    try:
        return action()
    finally:
        del stack.events[count:]


class StackOperations:
    def __init__(self, settings: SandboxSettings, data_plane: DataPlane) -> None:
        self.settings = settings
        self.data_plane = data_plane
        self.fail_next: set[str] = set()
        self.operations: dict[str, Operation] = {}  # stack id -> operation in flight
        self.default_seconds = settings.stack_seconds
        self.seconds_by_stack: dict[str, float] = {}  # stack name -> its operations' duration
        self.finished_at: dict[str, float] = {}  # stack id -> wall-clock time it last finished
        # RollbackConfiguration of the UpdateStack request being served, by stack name.
        self.rollback_configuration: dict[str, dict[str, Any]] = {}
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def stop(self) -> None:
        self._stop.set()
        for thread in self._threads:
            thread.join(timeout=10)

    def reset(self) -> None:
        """Forget pending operations and failure requests (moto is being reset)."""
        with backends.MOTO_LOCK:
            for operation in self.operations.values():
                operation.cancelled = True
            self.operations.clear()
            self.fail_next.clear()
            self.finished_at.clear()
            self.seconds_by_stack.clear()
            self.default_seconds = self.settings.stack_seconds

    def set_stack_seconds(self, seconds: float, stack_name: str | None = None) -> None:
        """How long operations started from now on stay in progress: of every stack without a
        duration of its own (stack_name None), or of the named stack (it need not exist yet)."""
        with backends.MOTO_LOCK:
            if stack_name is None:
                self.default_seconds = seconds
            else:
                self.seconds_by_stack[stack_name] = seconds

    def stack_seconds(self, stack_name: str) -> float:
        return self.seconds_by_stack.get(stack_name, self.default_seconds)

    def fail_next_update(self, stack_name: str) -> bool:
        with backends.MOTO_LOCK:
            if not any(stack.name == stack_name for stack in backends.all_stacks()):
                return False
            self.fail_next.add(stack_name)
            return True

    # --- the API entry points: hooks that sandbox/moto_gaps.py wires into moto (gaps 8 and 9),
    # called from moto request threads with MOTO_LOCK held -------------------------------------

    def keep_rollback_configuration(self, stack_name: str,
                                    configuration: dict[str, Any]) -> None:
        """The RollbackConfiguration of the UpdateStack request being served (moto drops it)."""
        self.rollback_configuration[stack_name] = configuration

    def refuse_if_busy(self, stack: Any) -> None:
        if stack.status.endswith(BUSY_SUFFIX):
            raise ValidationError(stack.stack_id, message=(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."))

    def begin_create(self, stack: Any) -> None:
        # moto created everything already and wrote CREATE_COMPLETE: rewind to in progress.
        del stack.events[1:]
        stack.status = "CREATE_IN_PROGRESS"
        operation = Operation(stack, "CREATE", resources=list(stack.template_dict["Resources"]),
                              seconds=self.stack_seconds(stack.name))
        for logical_id in operation.resources:
            add_event(stack, "CREATE_IN_PROGRESS", logical_id)
        self._launch(operation, self._run_create)

    def begin_update(self, stack: Any, template: str, role_arn: str | None,
                     parameters: dict[str, Any], tags: dict[str, str] | None) -> None:
        self.refuse_if_busy(stack)
        template_dict = cfn_models.Stack.parse_template(template)
        diff = stack.resource_map.build_resource_diff(template_dict, parameters)
        operation = Operation(
            stack, "UPDATE", template=template, parameters=parameters, role_arn=role_arn,
            tags=tags, resources=list(diff["Modify"]) + list(diff["Add"]),
            seconds=self.stack_seconds(stack.name),
            previous={"template": stack.template, "parameters": dict(stack.parameters),
                      "role_arn": stack.role_arn, "tags": dict(stack.tags)},
            fail=stack.name in self.fail_next)
        triggers = self.rollback_configuration.pop(stack.name, {})
        operation.rollback_alarms = [t["Arn"] for t in triggers.get("RollbackTriggers") or []]
        operation.monitoring_minutes = float(triggers.get("MonitoringTimeInMinutes") or 0)
        self.fail_next.discard(stack.name)
        stack.status = "UPDATE_IN_PROGRESS"
        add_event(stack, "UPDATE_IN_PROGRESS", reason="User Initiated")
        for logical_id in operation.resources:
            add_event(stack, "UPDATE_IN_PROGRESS", logical_id)
        self._launch(operation, self._run_update)

    def begin_delete(self, stack: Any, delete: Callable[[], None]) -> None:
        if stack.status == "DELETE_IN_PROGRESS":
            return
        stack.status = "DELETE_IN_PROGRESS"
        add_event(stack, "DELETE_IN_PROGRESS", reason="User Initiated")
        self._launch(Operation(stack, "DELETE", seconds=self.stack_seconds(stack.name)),
                     lambda operation: self._run_delete(
            operation, delete))

    def cancel_update(self, stack: Any) -> None:
        operation = self.operations.get(stack.stack_id)
        if stack.status != "UPDATE_IN_PROGRESS" or operation is None or operation.cancelled:
            raise ValidationError(stack.stack_id, message=(
                "CancelUpdateStack cannot be called from current stack status"))
        operation.cancelled = True

    # --- the operations' threads ----------------------------------------------------------------

    def _launch(self, operation: Operation, run: Callable[[Operation], None]) -> None:
        self.operations[operation.stack.stack_id] = operation
        self.finished_at.pop(operation.stack.stack_id, None)

        def guarded() -> None:
            try:
                run(operation)
            except Exception:  # never leave a stack in progress forever because of a bug
                log.exception("%s of %s failed", operation.kind, operation.stack.name)
            finally:
                with backends.MOTO_LOCK:
                    if self.operations.get(operation.stack.stack_id) is operation:
                        del self.operations[operation.stack.stack_id]

        thread = threading.Thread(target=guarded, daemon=True,
                                  name=f"{operation.kind} {operation.stack.name}")
        self._threads = [t for t in self._threads if t.is_alive()] + [thread]
        thread.start()

    def _wait(self, seconds: float, operation: Operation) -> bool:
        """Wait, or stop early on cancel/shutdown; True when the full time passed."""
        deadline = time.monotonic() + seconds
        while not operation.cancelled:
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            if self._stop.wait(min(left, self.settings.tick_seconds)):
                return False
        return False

    def _services(self, operation: Operation) -> dict[str, Any]:
        """The ECS services among the resources the operation touches, by logical id."""
        stack = operation.stack
        return {
            logical_id: stack.resource_map._parsed_resources.get(logical_id)
            for logical_id in operation.resources
            if _resource_type(stack, logical_id) == SERVICE_TYPE
            and isinstance(stack.resource_map._parsed_resources.get(logical_id),
                           ecs_models.Service)
        }

    def _wait_steady(self, operation: Operation, services: dict[str, Any]) -> bool:
        """Wait for every service to be steady, at most circuit_breaker_seconds."""
        deadline = time.monotonic() + self.settings.circuit_breaker_seconds
        while not operation.cancelled and not self._stop.is_set():
            if all(self.data_plane.steady(service) for service in services.values()):
                return True
            if time.monotonic() >= deadline:
                return False
            self._stop.wait(self.settings.tick_seconds)
        return False

    def _finish(self, stack: Any, status: str) -> None:
        """The stack's terminal status and event, and the moment it was reached (MOTO_LOCK held,
        so a DescribeStacks cannot see the status before the time is recorded)."""
        stack.status = status
        add_event(stack, status)
        self.finished_at[stack.stack_id] = time.time()

    def _complete_resources(self, operation: Operation, status: str, skip: set[str]) -> None:
        for logical_id in operation.resources:
            if logical_id not in skip:
                add_event(operation.stack, status, logical_id)

    def _run_create(self, operation: Operation) -> None:
        stack = operation.stack
        if not self._wait(operation.seconds, operation):
            return
        with backends.MOTO_LOCK:
            services = self._services(operation)
            self._complete_resources(operation, "CREATE_COMPLETE", skip=set(services))
        steady = self._wait_steady(operation, services) if services else True
        with backends.MOTO_LOCK:
            if self._stop.is_set() or operation.cancelled:
                return
            if steady:
                self._complete_resources(operation, "CREATE_COMPLETE",
                                         skip=set(operation.resources) - set(services))
                self._finish(stack, "CREATE_COMPLETE")
                return
            failed = sorted(services)
            for logical_id in failed:
                add_event(stack, "CREATE_FAILED", logical_id, CIRCUIT_BREAKER_REASON)
            stack.status = "ROLLBACK_IN_PROGRESS"
            add_event(stack, "ROLLBACK_IN_PROGRESS", reason=(
                f"The following resource(s) failed to create: [{', '.join(failed)}]. "
                f"Rollback requested by user."))
            _without_new_events(stack, stack.resource_map.delete)
            for logical_id in operation.resources:
                add_event(stack, "DELETE_COMPLETE", logical_id)
            self._finish(stack, "ROLLBACK_COMPLETE")

    def _run_update(self, operation: Operation) -> None:
        stack = operation.stack
        self._wait(operation.seconds, operation)
        if self._stop.is_set():
            return
        if operation.cancelled:
            self._roll_back(operation, applied=False, reason=CANCELLED_REASON)
            return
        attempted = False  # whether moto was asked to apply the update (it may have in part)
        with backends.MOTO_LOCK:
            failing = self._failing_resource(operation) if operation.fail else None
            if failing is not None:
                add_event(stack, "UPDATE_FAILED", failing, FAIL_NEXT_UPDATE_REASON)
            else:
                attempted = True
                try:
                    self._apply(stack, operation.template, operation.parameters,
                                operation.role_arn, operation.tags)
                except Exception as error:  # moto rejected it: CloudFormation rolls back
                    log.exception("update of %s failed", stack.name)
                    failing = (operation.resources or ["Stack"])[0]
                    add_event(stack, "UPDATE_FAILED", failing, str(error) or "update failed")
            services = self._services(operation)
            if failing is None:
                self._complete_resources(operation, "UPDATE_COMPLETE", skip=set(services))
        if failing is not None:
            self._roll_back(operation, applied=attempted, reason=_failed_to_update([failing]))
            return
        steady = self._wait_steady(operation, services) if services else True
        if self._stop.is_set():
            return
        if operation.cancelled:
            self._roll_back(operation, applied=True, reason=CANCELLED_REASON)
            return
        firing = self._watch_alarms(operation) if steady else None
        if self._stop.is_set():
            return
        if firing:
            self._roll_back(operation, applied=True,
                            reason=f"Rollback triggered by alarm(s) in ALARM state: {firing}")
            return
        with backends.MOTO_LOCK:
            if not steady:
                for logical_id in sorted(services):
                    add_event(stack, "UPDATE_FAILED", logical_id, CIRCUIT_BREAKER_REASON)
            else:
                for logical_id in services:
                    add_event(stack, "UPDATE_COMPLETE", logical_id)
                stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
                add_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
                self._finish(stack, "UPDATE_COMPLETE")
                return
        self._roll_back(operation, applied=True, reason=_failed_to_update(sorted(services)))

    def _watch_alarms(self, operation: Operation) -> str | None:
        """Names of the rollback-trigger alarms in ALARM during the monitoring time, or None
        once it passed quietly (at once when the update has no triggers)."""
        if not operation.rollback_alarms:
            return None
        deadline = time.monotonic() + (
            operation.monitoring_minutes * self.settings.monitoring_minute_seconds)
        while True:
            with backends.MOTO_LOCK:
                states = [backends.alarm_state(arn) for arn in operation.rollback_alarms]
            firing = [state[0] for state in states if state and state[1] == "ALARM"]
            if firing:
                return ", ".join(firing)
            if time.monotonic() >= deadline or \
                    self._stop.wait(self.settings.tick_seconds):
                return None

    def _failing_resource(self, operation: Operation) -> str:
        resources = list(operation.stack.template_dict.get("Resources", {}))
        for logical_id in resources:
            if _resource_type(operation.stack, logical_id) == SERVICE_TYPE:
                return logical_id
        return (operation.resources or resources or ["Stack"])[0]

    def _apply(self, stack: Any, template: str, parameters: dict[str, Any],
               role_arn: str | None, tags: dict[str, str] | None) -> None:
        """moto's own update, with the stack kept in progress and the data plane told at once."""
        status = stack.status
        try:
            _without_new_events(stack, lambda: stack.update(template, role_arn, parameters,
                                                            tags))
        finally:
            stack.status = status
            self.data_plane.publish()

    def _roll_back(self, operation: Operation, applied: bool, reason: str) -> None:
        """UPDATE_ROLLBACK_IN_PROGRESS for the operation's seconds, then UPDATE_ROLLBACK_COMPLETE
        with the stack on its previous template and parameters (re-applied if the update was
        applied)."""
        stack = operation.stack
        with backends.MOTO_LOCK:
            stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
            add_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason=reason)
            if applied:
                previous = operation.previous
                try:
                    self._apply(stack, previous["template"], previous["parameters"],
                                previous["role_arn"], previous["tags"])
                except Exception:
                    log.exception("rollback of %s failed", stack.name)
        if self._stop.wait(operation.seconds):
            return
        with backends.MOTO_LOCK:
            self._complete_resources(operation, "UPDATE_COMPLETE", skip=set())
            stack.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            add_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            self._finish(stack, "UPDATE_ROLLBACK_COMPLETE")

    def _run_delete(self, operation: Operation, delete: Callable[[], None]) -> None:
        if not self._wait(operation.seconds, operation):
            return
        with backends.MOTO_LOCK:
            stack = operation.stack
            _without_new_events(stack, delete)
            self._finish(stack, "DELETE_COMPLETE")


def _failed_to_update(logical_ids: list[str]) -> str:
    return f"The following resource(s) failed to update: [{', '.join(logical_ids)}]. "
