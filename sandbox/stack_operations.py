"""CloudFormation's stack operations as they really run, on top of moto's, which completes every
operation inside the API call and never fails.

Here CreateStack, UpdateStack and DeleteStack return at once and the stack reports
`*_IN_PROGRESS` for `stack_seconds`, with stack events as real CloudFormation writes them. Then
the change is applied (moto's own update, run from a background thread under MOTO_LOCK) and, for
a stack with an ECS service, CloudFormation waits for the service to be steady, as the real one
does. A service that is not steady within `circuit_breaker_seconds` fails like ECS's deployment
circuit breaker, and the stack rolls back to its previous template and parameters.

Rollback triggers are honoured as CloudFormation documents them
(https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html):

- Each stack keeps its RollbackConfiguration (CreateStack's, then each UpdateStack's) and shows it
  in DescribeStacks (`{}` until one is given). An UpdateStack without one reuses the saved one;
  one with `RollbackTriggers` replaces the triggers (`[]` removes them), one without reuses the
  saved triggers; `MonitoringTimeInMinutes` defaults to 0. An update that rolls back leaves the
  stack with the configuration it had before (the sandbox's reading: AWS does not say).
- The triggers are watched during the whole operation and for its monitoring time
  (`monitoring_minute_seconds` per minute) once the change is applied; an alarm (metric or
  composite) in ALARM, or a trigger naming no alarm, rolls the operation back.
- During the monitoring time the stack stays `UPDATE_IN_PROGRESS` (an update waits it even
  without triggers) and CancelUpdateStack rolls the update back.

Also: updates of a stack in progress are refused with CloudFormation's own ValidationError,
CancelUpdateStack (which moto lacks) rolls an update back, DeleteStack refuses a stack with
termination protection, and `fail_next_update(stack)` makes a stack's next update fail on a
resource and roll back without ever being applied.

For the benchmark: `set_stack_seconds` changes the duration of the operations that start from
then on (for every stack, or for one stack by name), and `finished_at` holds the wall-clock time
(Unix seconds) at which each stack's last operation reached its terminal status — what a tool
waiting for the stack is measured against.

This module patches nothing in moto: sandbox/moto_gaps/operations.py (gaps 8, 9, 11 and 13) and
sandbox/moto_gaps/change_sets.py (gap 15) route moto's stack API calls to the hooks of
StackOperations (`begin_create`, `begin_update`, `begin_delete`, `refuse_if_busy`,
`rollback_configuration_requested`, `cancel_update`).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from moto.cloudformation import models as cfn_models
from moto.cloudformation.exceptions import ValidationError
from moto.ecs import models as ecs_models
from stackswap.sandbox import backends
from stackswap.sandbox.data_plane import DataPlane
from stackswap.sandbox.settings import SandboxSettings

log = logging.getLogger("stackswap.sandbox.stack_operations")

SERVICE_TYPE = "AWS::ECS::Service"
FAIL_NEXT_UPDATE_REASON = "ECS service did not stabilize (sandbox fail-next-update)"
CIRCUIT_BREAKER_REASON = "ECS Deployment Circuit Breaker was triggered"
CANCELLED_REASON = "Resource update cancelled"
ALARM_REASON = "Rollback triggered by alarm(s) in ALARM state: {}"
# AWS documents that a missing trigger fails and rolls back the operation, not the message: the
# sandbox's wording, naming the trigger.
MISSING_TRIGGER_REASON = "Rollback trigger(s) not found: {}"
# Statuses from which real CloudFormation accepts no other operation.
BUSY_SUFFIX = "_IN_PROGRESS"

# Why an operation stopped waiting before its time was up (Interruption.kind).
STOPPED = "stopped"  # the server is stopping, or /reset forgot the operation
CANCELLED = "cancelled"  # CancelUpdateStack
TRIGGERED = "triggered"  # a rollback trigger: an alarm in ALARM, or one that does not exist
TIMED_OUT = "timed out"  # the service never got steady in time, or its circuit breaker tripped


@dataclass(frozen=True)
class Interruption:
    kind: str
    reason: str = ""


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
    abandoned: bool = False  # /reset forgot it: its thread ends without touching anything
    rollback_configuration: dict[str, Any] = field(default_factory=dict)  # what it runs with

    @property
    def triggers(self) -> list[str]:
        """The rollback triggers' alarm ARNs."""
        return [trigger["Arn"]
                for trigger in self.rollback_configuration.get("RollbackTriggers") or []]

    @property
    def monitoring_minutes(self) -> float:
        return float(self.rollback_configuration.get("MonitoringTimeInMinutes") or 0)


def saved_rollback_configuration(stack: Any) -> dict[str, Any]:
    """The RollbackConfiguration a stack keeps (moto's stacks have none: `{}`, as DescribeStacks
    shows a stack that was never given one)."""
    return getattr(stack, "rollback_configuration", None) or {}


def effective_rollback_configuration(saved: dict[str, Any],
                                     requested: dict[str, Any] | None) -> dict[str, Any]:
    """The configuration an operation runs with, and the stack keeps from then on.

    UpdateStack / RollbackConfiguration API reference: "By default, CloudFormation saves the
    rollback triggers specified for a stack and applies them to any subsequent update operations
    for the stack, unless you specify otherwise. [...] To use the rollback triggers previously
    specified for this stack, if any, don't specify this parameter. [...] To remove all
    currently specified triggers, specify an empty list for this parameter." A request without
    RollbackConfiguration keeps the saved one whole; MonitoringTimeInMinutes "The default is 0
    minutes"."""
    if requested is None:
        return saved
    triggers = (requested.get("RollbackTriggers") if "RollbackTriggers" in requested
                else saved.get("RollbackTriggers"))
    return {"RollbackTriggers": [{"Arn": t["Arn"], "Type": t["Type"]} for t in triggers or []],
            "MonitoringTimeInMinutes": int(requested.get("MonitoringTimeInMinutes") or 0)}


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
        # RollbackConfiguration of the CreateStack/UpdateStack request being served, by stack
        # name (None: the request has none).
        self.requested_rollback: dict[str, dict[str, Any] | None] = {}
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
                operation.abandoned = True
            self.operations.clear()
            self.fail_next.clear()
            self.finished_at.clear()
            self.seconds_by_stack.clear()
            self.requested_rollback.clear()
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

    # --- the API entry points: hooks that sandbox/moto_gaps/ wires into moto (gaps 8, 9, 11, 13
    # and 15), called from moto request threads with MOTO_LOCK held ---------------------------

    @contextmanager
    def rollback_configuration_requested(self, stack_name: str,
                                         configuration: dict[str, Any] | None) -> Iterator[None]:
        """While moto serves a CreateStack/UpdateStack request (moto drops its
        RollbackConfiguration): the request's, for begin_create/begin_update. Forgotten after
        the request, so one that moto refuses leaves nothing for the next."""
        self.requested_rollback[stack_name] = configuration
        try:
            yield
        finally:
            self.requested_rollback.pop(stack_name, None)

    def refuse_if_busy(self, stack: Any) -> None:
        if stack.status.endswith(BUSY_SUFFIX):
            raise ValidationError(stack.stack_id, message=(
                f"Stack:{stack.stack_id} is in {stack.status} state and can not be updated."))

    def begin_create(self, stack: Any, events_kept: int = 1) -> None:
        # moto created everything already and wrote CREATE_COMPLETE: rewind to in progress, keeping
        # the stack's first events (CreateStack's `User Initiated`; for a change set also its
        # REVIEW_IN_PROGRESS).
        del stack.events[events_kept:]
        stack.status = "CREATE_IN_PROGRESS"
        configuration = effective_rollback_configuration(
            {}, self.requested_rollback.pop(stack.name, None))
        stack.rollback_configuration = configuration
        operation = Operation(stack, "CREATE", resources=list(stack.template_dict["Resources"]),
                              seconds=self.stack_seconds(stack.name),
                              rollback_configuration=configuration)
        for logical_id in operation.resources:
            add_event(stack, "CREATE_IN_PROGRESS", logical_id)
        self._launch(operation, self._run_create)

    def begin_update(self, stack: Any, template: str, role_arn: str | None,
                     parameters: dict[str, Any], tags: dict[str, str] | None) -> None:
        self.refuse_if_busy(stack)
        template_dict = cfn_models.Stack.parse_template(template)
        diff = stack.resource_map.build_resource_diff(template_dict, parameters)
        saved = saved_rollback_configuration(stack)
        configuration = effective_rollback_configuration(
            saved, self.requested_rollback.pop(stack.name, None))
        operation = Operation(
            stack, "UPDATE", template=template, parameters=parameters, role_arn=role_arn,
            tags=tags, resources=list(diff["Modify"]) + list(diff["Add"]),
            seconds=self.stack_seconds(stack.name),
            previous={"template": stack.template, "parameters": dict(stack.parameters),
                      "role_arn": stack.role_arn, "tags": dict(stack.tags),
                      "rollback_configuration": saved},
            fail=stack.name in self.fail_next, rollback_configuration=configuration)
        self.fail_next.discard(stack.name)
        stack.rollback_configuration = configuration
        stack.status = "UPDATE_IN_PROGRESS"
        add_event(stack, "UPDATE_IN_PROGRESS", reason="User Initiated")
        for logical_id in operation.resources:
            add_event(stack, "UPDATE_IN_PROGRESS", logical_id)
        self._launch(operation, self._run_update)

    def begin_delete(self, stack: Any, delete: Callable[[], None], requested_name: str) -> None:
        # "If a user attempts to delete a stack with termination protection enabled, the
        # deletion fails and the stack, including its status, remains unchanged." (user guide,
        # Protect CloudFormation stacks from being deleted); AWS's message names the stack as
        # the request did.
        if stack.enable_termination_protection:
            raise ValidationError(stack.stack_id, message=(
                f"Stack [{requested_name}] cannot be deleted while TerminationProtection is "
                f"enabled"))
        if stack.status == "DELETE_IN_PROGRESS":
            return
        stack.status = "DELETE_IN_PROGRESS"
        add_event(stack, "DELETE_IN_PROGRESS", reason="User Initiated")
        self._launch(Operation(stack, "DELETE", seconds=self.stack_seconds(stack.name)),
                     lambda operation: self._run_delete(operation, delete))

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

    def _halted(self, operation: Operation) -> bool:
        return self._stop.is_set() or operation.abandoned

    def _pause(self, operation: Operation, seconds: float) -> bool:
        """Wait; False when the server stops or the operation is abandoned meanwhile."""
        deadline = time.monotonic() + seconds
        while not self._halted(operation):
            left = deadline - time.monotonic()
            if left <= 0:
                return True
            self._stop.wait(min(left, self.settings.tick_seconds))
        return False

    def _watch(self, operation: Operation, seconds: float,
               until: Callable[[], bool] | None = None) -> Interruption | None:
        """Wait `seconds` (with `until`: until it holds, at most `seconds`) watching the
        operation's rollback triggers, as CloudFormation watches them during the whole operation
        and its monitoring time. None when the time passed (or `until` held)."""
        deadline = time.monotonic() + seconds
        while True:
            if self._halted(operation):
                return Interruption(STOPPED)
            if operation.cancelled:
                return Interruption(CANCELLED)
            fired = self._fired_triggers(operation)
            if fired:
                return Interruption(TRIGGERED, fired)
            if until is not None and until():
                return None
            left = deadline - time.monotonic()
            if left <= 0:
                return None if until is None else Interruption(TIMED_OUT)
            self._stop.wait(min(left, self.settings.tick_seconds))

    def _fired_triggers(self, operation: Operation) -> str | None:
        """The rollback reason when a trigger names no alarm or its alarm is in ALARM.

        RollbackTrigger API reference: "If any of the alarms you specify goes to ALARM state
        during the stack operation or within the specified monitoring period afterwards,
        CloudFormation rolls back the entire stack operation." and "If a specified trigger is
        missing, the entire stack operation fails and is rolled back." """
        if not operation.triggers:
            return None
        with backends.MOTO_LOCK:
            states = {arn: backends.alarm_state(arn) for arn in operation.triggers}
        missing = [arn for arn, state in states.items() if state is None]
        if missing:
            return MISSING_TRIGGER_REASON.format(", ".join(missing))
        firing = [state[0] for state in states.values() if state and state[1] == "ALARM"]
        return ALARM_REASON.format(", ".join(firing)) if firing else None

    def _monitoring_seconds(self, operation: Operation) -> float:
        return operation.monitoring_minutes * self.settings.monitoring_minute_seconds

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

    def _watch_steady(self, operation: Operation,
                      services: dict[str, Any]) -> Interruption | None:
        """Wait for every service to be steady, at most circuit_breaker_seconds (TIMED_OUT); a
        service whose deployment's circuit breaker trips (unhealthy tasks replaced too often)
        fails it at once, TIMED_OUT too.

        DeploymentCircuitBreaker, ECS API reference: "If it is turned on, a service deployment
        will transition to a failed state and stop launching new tasks." CloudFormation then
        fails the service resource and rolls the stack back."""
        if not services:
            return None

        def failed() -> bool:
            return any(self.data_plane.failed(service) for service in services.values())

        interruption = self._watch(
            operation, self.settings.circuit_breaker_seconds,
            until=lambda: failed() or all(self.data_plane.steady(service)
                                          for service in services.values()))
        return Interruption(TIMED_OUT) if interruption is None and failed() else interruption

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
        services: dict[str, Any] = {}
        interruption = self._watch(operation, operation.seconds)
        if interruption is None:
            with backends.MOTO_LOCK:
                services = self._services(operation)
                self._complete_resources(operation, "CREATE_COMPLETE", skip=set(services))
            interruption = self._watch_steady(operation, services)
        if interruption is None and operation.triggers:
            interruption = self._watch(operation, self._monitoring_seconds(operation))
        if interruption is not None and interruption.kind == STOPPED:
            return
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
            if interruption is None:
                self._complete_resources(operation, "CREATE_COMPLETE",
                                         skip=set(operation.resources) - set(services))
                self._finish(stack, "CREATE_COMPLETE")
                return
            if interruption.kind == TIMED_OUT:
                failed = sorted(services)
                for logical_id in failed:
                    add_event(stack, "CREATE_FAILED", logical_id, CIRCUIT_BREAKER_REASON)
                reason = (f"The following resource(s) failed to create: [{', '.join(failed)}]. "
                          f"Rollback requested by user.")
            else:
                reason = interruption.reason
            stack.status = "ROLLBACK_IN_PROGRESS"
            add_event(stack, "ROLLBACK_IN_PROGRESS", reason=reason)
            _without_new_events(stack, stack.resource_map.delete)
            for logical_id in operation.resources:
                add_event(stack, "DELETE_COMPLETE", logical_id)
            self._finish(stack, "ROLLBACK_COMPLETE")

    def _run_update(self, operation: Operation) -> None:
        stack = operation.stack
        interruption = self._watch(operation, operation.seconds)
        if interruption is not None:
            self._interrupted(operation, interruption, applied=False)
            return
        attempted = False  # whether moto was asked to apply the update (it may have in part)
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
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
        interruption = self._watch_steady(operation, services)
        if interruption is not None and interruption.kind == TIMED_OUT:
            with backends.MOTO_LOCK:
                for logical_id in sorted(services):
                    add_event(stack, "UPDATE_FAILED", logical_id, CIRCUIT_BREAKER_REASON)
            self._roll_back(operation, applied=True, reason=_failed_to_update(sorted(services)))
            return
        if interruption is None:
            with backends.MOTO_LOCK:
                for logical_id in services:
                    add_event(stack, "UPDATE_COMPLETE", logical_id)
            # The monitoring time: "If you set a monitoring time but don't specify any rollback
            # triggers, CloudFormation still waits the specified period of time before cleaning
            # up old resources for update operations." (user guide, rollback triggers)
            interruption = self._watch(operation, self._monitoring_seconds(operation))
        if interruption is not None:
            self._interrupted(operation, interruption, applied=True)
            return
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
            stack.status = "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"
            add_event(stack, "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS")
            self._finish(stack, "UPDATE_COMPLETE")

    def _interrupted(self, operation: Operation, interruption: Interruption,
                     applied: bool) -> None:
        """Roll an update back because it was cancelled or a trigger fired (nothing when the
        server stops)."""
        if interruption.kind == STOPPED:
            return
        reason = CANCELLED_REASON if interruption.kind == CANCELLED else interruption.reason
        self._roll_back(operation, applied=applied, reason=reason)

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
        with the stack on its previous template, parameters and rollback configuration
        (re-applied if the update was applied)."""
        stack = operation.stack
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
            stack.status = "UPDATE_ROLLBACK_IN_PROGRESS"
            add_event(stack, "UPDATE_ROLLBACK_IN_PROGRESS", reason=reason)
            previous = operation.previous
            stack.rollback_configuration = previous["rollback_configuration"]
            if applied:
                try:
                    self._apply(stack, previous["template"], previous["parameters"],
                                previous["role_arn"], previous["tags"])
                except Exception:
                    log.exception("rollback of %s failed", stack.name)
        if not self._pause(operation, operation.seconds):
            return
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
            self._complete_resources(operation, "UPDATE_COMPLETE", skip=set())
            stack.status = "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS"
            add_event(stack, "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS")
            self._finish(stack, "UPDATE_ROLLBACK_COMPLETE")

    def _run_delete(self, operation: Operation, delete: Callable[[], None]) -> None:
        if self._watch(operation, operation.seconds) is not None:
            return
        with backends.MOTO_LOCK:
            if self._halted(operation):
                return
            stack = operation.stack
            _without_new_events(stack, delete)
            self._finish(stack, "DELETE_COMPLETE")


def _failed_to_update(logical_ids: list[str]) -> str:
    return f"The following resource(s) failed to update: [{', '.join(logical_ids)}]. "
