"""What stackswap knows about an environment, as plain data: no I/O, no boto3.

orchestrator/observe.py fills these from AWS; the planner (plan.py), the checks (verify.py) and
the output (output/) only read them. What each CloudFormation stack status means for a deploy
is decided here and nowhere else.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from stackswap.environment.names import (
    COLORS,
    NO_RELEASE,
    NO_SHIFT,
    OUTPUT_TASK_DEFINITION,
    PARAM_DESIRED_COUNT,
    PARAM_IMAGE,
    PARAM_LIVE_COLOR,
    PARAM_ROLLBACK_RELEASE,
    PARAM_SHIFT_WEIGHT,
    PARAM_TRAFFIC_SHIFT,
)

# --- what a stack status means ----------------------------------------------------------------

# An update may start from these.
UPDATABLE = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"})
# A colour may serve production only from these: its last operation applied what was asked.
APPLIED = frozenset({"CREATE_COMPLETE", "UPDATE_COMPLETE"})
# Nothing but a delete is possible from these.
MUST_DELETE = frozenset({"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED",
                         "DELETE_FAILED"})
ROLLBACK_FAILED = "UPDATE_ROLLBACK_FAILED"
# An update running, or (with rollback triggers) in its monitoring window after the resources
# are done: CloudFormation keeps the status until the window ends.
UPDATING = "UPDATE_IN_PROGRESS"
# An operation in one of these may still have its monitoring time to run (CloudFormation
# monitors after a create or an update deploys its resources; a rollback has none).
MONITORED = frozenset({"CREATE_IN_PROGRESS", UPDATING})

IN_PROGRESS, SUCCEEDED, ROLLED_BACK, FAILED = "in_progress", "succeeded", "rolled_back", "failed"


def in_progress(status: str) -> bool:
    return status.endswith("_IN_PROGRESS")


def failed(status: str) -> bool:
    """A resource's or stack's operation failed (CREATE_FAILED, UPDATE_FAILED, ...)."""
    return status.endswith("_FAILED")


def outcome(status: str) -> str:
    """Reduce a CloudFormation stack status to what a deploy cares about."""
    if in_progress(status):
        return IN_PROGRESS
    if status in {"CREATE_COMPLETE", "UPDATE_COMPLETE", "IMPORT_COMPLETE"}:
        return SUCCEEDED
    if status in {"UPDATE_ROLLBACK_COMPLETE", "ROLLBACK_COMPLETE", "IMPORT_ROLLBACK_COMPLETE"}:
        return ROLLED_BACK
    return FAILED


# --- stacks -----------------------------------------------------------------------------------

@dataclass(frozen=True)
class Stack:
    name: str
    status: str
    parameters: dict[str, str]
    outputs: dict[str, str]
    reason: str = ""
    # ARNs of the rollback triggers CloudFormation keeps for the stack (its last update's).
    rollback_triggers: tuple[str, ...] = ()
    # Its RollbackConfiguration's MonitoringTimeInMinutes: how long an operation stays in
    # progress after its resources are done (with or without triggers).
    monitoring_minutes: int = 0
    termination_protection: bool = False
    # When its last update (or its create) began: a traffic shift's step started then.
    updated: datetime | None = None


@dataclass(frozen=True)
class StackEvent:
    event_id: str
    timestamp: datetime | None
    logical_id: str
    resource_type: str
    status: str
    reason: str

    @property
    def is_stack(self) -> bool:
        return self.resource_type == "AWS::CloudFormation::Stack"


# --- alarms ---------------------------------------------------------------------------------

METRIC_ALARM, COMPOSITE_ALARM = "AWS::CloudWatch::Alarm", "AWS::CloudWatch::CompositeAlarm"


@dataclass(frozen=True)
class Alarm:
    name: str
    arn: str
    state: str  # OK, ALARM, INSUFFICIENT_DATA
    kind: str  # METRIC_ALARM or COMPOSITE_ALARM: the rollback trigger's Type

    @property
    def firing(self) -> bool:
        return self.state == "ALARM"


# --- services, targets, colours, the environment ----------------------------------------------

HEALTHY = "healthy"
# Targets on their way out or not yet checked are neither healthy nor failing.
TRANSIENT_TARGET_STATES = {"draining", "initial", "unused"}


def other(color: str) -> str:
    return COLORS[1 - COLORS.index(color)]


@dataclass(frozen=True)
class ContainerView:
    """One container of a registered task definition, as DescribeTaskDefinition shows it. The
    values are kept to compare with the config; output shows names only (never values)."""

    name: str
    image: str
    environment: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()  # name, valueFrom (an ARN)
    other: tuple[tuple[str, str], ...] = ()  # what else the config sets, as comparable text


@dataclass(frozen=True)
class TaskDefinitionView:
    arn: str
    revision: int | None
    containers: tuple[ContainerView, ...] = ()
    settings: tuple[tuple[str, str], ...] = ()  # the task's own (architecture, storage, role)

    def container(self, name: str) -> ContainerView | None:
        return next((c for c in self.containers if c.name == name), None)


@dataclass(frozen=True)
class ScalingBounds:
    """A colour's Application Auto Scaling target (DescribeScalableTargets)."""

    min: int
    max: int
    suspended: bool = False


@dataclass(frozen=True)
class ServiceState:
    desired: int
    running: int
    pending: int
    deployments: int
    image: str | None
    task_definition: TaskDefinitionView | None = None
    scaling: ScalingBounds | None = None

    @property
    def steady(self) -> bool:
        return self.deployments == 1 and self.running == self.desired and self.pending == 0


@dataclass(frozen=True)
class TargetHealth:
    healthy: int = 0
    unhealthy: int = 0
    transient: int = 0  # initial, draining: on their way to a verdict or out

    @classmethod
    def from_states(cls, states: list[str]) -> TargetHealth:
        healthy = sum(state == HEALTHY for state in states)
        transient = sum(state in TRANSIENT_TARGET_STATES for state in states)
        return cls(healthy, len(states) - healthy - transient, transient)

    @property
    def all_unhealthy(self) -> bool:
        """Every target has an unhealthy verdict (and there is at least one)."""
        return self.unhealthy > 0 and self.healthy == 0 and self.transient == 0


@dataclass(frozen=True)
class ColorState:
    color: str
    stack: Stack | None
    target_group: str | None
    service: ServiceState | None = None
    health: TargetHealth | None = None

    @property
    def image_parameter(self) -> str | None:
        return self.stack.parameters.get(PARAM_IMAGE) if self.stack else None

    @property
    def release(self) -> str | None:
        """The task definition the stack runs: each deploy of a colour makes a new revision, so
        it names one release of one colour, unlike an image tag that may be pushed twice."""
        return self.stack.outputs.get(OUTPUT_TASK_DEFINITION) if self.stack else None


# --- how messages name the traffic paths -------------------------------------------------------

@dataclass(frozen=True)
class Paths:
    """How messages name production and test traffic: the configured listeners ("production
    :443", "test :8443") or the test host rule ("test host test.shop.example.com"). Plain
    labels, made from the config by observe.paths_of, so that this module stays config-free."""

    production: str = "production :80"
    test: str = "test :8080"


# --- an ALB change set (`stackswap update-alb`) ---------------------------------------------------

@dataclass(frozen=True)
class ResourceChange:
    action: str  # Add, Modify, Remove, Import, Dynamic
    logical_id: str
    resource_type: str
    replacement: str  # True, False, Conditional ("" for Add and Remove)
    properties: tuple[str, ...] = ()  # the properties that change (Modify)

    @property
    def destructive(self) -> bool:
        """Whether executing the change may delete the resource: removing it, or replacing it
        (Replacement True, or Conditional: "the resource may be replaced")."""
        return self.action in {"Remove", "Dynamic"} or (
            self.action == "Modify" and self.replacement in {"True", "Conditional"})

    def describe(self) -> str:
        what = f"{self.logical_id} ({self.resource_type})"
        if self.action == "Modify":
            changed = f": {', '.join(self.properties)}" if self.properties else ""
            replaced = {"True": ", REPLACED", "Conditional": ", MAY BE REPLACED"}.get(
                self.replacement, ", in place")
            return f"modify {what}{replaced}{changed}"
        return f"{self.action.lower()} {what}"

    def harm(self) -> str:
        """What a destructive change would do, as a clause of a refusal ("replace X (type) to
        change Port")."""
        what = f"{self.logical_id} ({self.resource_type})"
        changed = f" to change {', '.join(self.properties)}" if self.properties else ""
        if self.action == "Remove":
            return f"remove {what}"
        if self.action == "Dynamic":  # decided only when CloudFormation runs the change
            return f"possibly replace or remove {what}"
        if self.replacement == "Conditional":
            return f"possibly replace {what}{changed}"
        return f"replace {what}{changed}"


@dataclass(frozen=True)
class ChangeSet:
    arn: str
    status: str  # CREATE_PENDING, CREATE_IN_PROGRESS, CREATE_COMPLETE, FAILED, ...
    reason: str
    execution_status: str
    changes: tuple[ResourceChange, ...] = ()

    @property
    def settled(self) -> bool:
        return self.status in {"CREATE_COMPLETE", "FAILED", "DELETE_COMPLETE", "DELETE_FAILED"}

    @property
    def failed(self) -> bool:
        return self.status == "FAILED"

    @property
    def empty(self) -> bool:
        """CloudFormation found nothing to change (it fails such a change set with a reason
        saying the submitted information "didn't contain changes")."""
        return self.status == "FAILED" and "didn't contain changes" in self.reason


# --- a traffic shift (deploy.strategy canary / linear) -------------------------------------------

CANARY, LINEAR, ALL_AT_ONCE = "canary", "linear", "all-at-once"


def shift_grid(strategy: str, percent: int) -> tuple[int, ...]:
    """The weights the new colour gets before it gets 100: canary one step, linear every
    multiple of `percent` below 100 (linear 30: 30, 60, 90)."""
    if strategy == CANARY:
        return (percent,)
    return tuple(range(percent, 100, percent))


@dataclass(frozen=True)
class ShiftSpec:
    """How a shift moves: recorded on the ALB stack (TrafficShift) by each of its steps, so
    that a split stackswap made is known by what AWS holds — never by a local file."""

    strategy: str  # CANARY or LINEAR
    percent: int
    interval_seconds: int

    @property
    def grid(self) -> tuple[int, ...]:
        return shift_grid(self.strategy, self.percent)

    @property
    def steps(self) -> int:
        """Steps of the shift, the last one (100 %) included."""
        return len(self.grid) + 1

    def text(self) -> str:
        return f"{self.strategy}:{self.percent}:{self.interval_seconds}"

    @classmethod
    def parse(cls, text: str | None) -> ShiftSpec | None:
        try:
            strategy, percent, seconds = (text or "").split(":")
            spec = cls(strategy, int(percent), int(seconds))
        except ValueError:
            return None
        return spec if strategy in (CANARY, LINEAR) and 0 < spec.percent < 100 else None


@dataclass(frozen=True)
class Shift:
    """A split of production stackswap made: `weight` % to `to_color`, the rest to
    `from_color` (LiveColor), as step `step` of spec.steps."""

    from_color: str
    to_color: str
    weight: int
    spec: ShiftSpec

    @property
    def step(self) -> int:
        return self.spec.grid.index(self.weight) + 1


@dataclass(frozen=True)
class Observed:
    alb: Stack | None
    colors: dict[str, ColorState]
    # Target groups (ARNs, with weights) each listener forwards to.
    production: list[tuple[str, int]] = field(default_factory=list)
    test: list[tuple[str, int]] = field(default_factory=list)
    # The config's CloudWatch alarms that exist, by name.
    alarms: dict[str, Alarm] = field(default_factory=dict)
    # Whether the ALB stack has a stack policy (None: not read; only `status` reads it).
    alb_stack_policy: bool | None = None
    paths: Paths = field(default_factory=Paths)
    # How the deployed ALB stack (template, config-derived parameters) differs from the
    # config's render: empty when it does not, None when not compared (first run, recover).
    alb_differences: tuple[str, ...] | None = None
    # deploy only: per colour, how its running task definition differs from the config's
    # (names only: "environment: +FEATURE_X, ~LOG_LEVEL"); a colour without a service is
    # missing. None: not compared.
    task_changes: dict[str, tuple[str, ...]] | None = None

    def color_of(self, target_group: str) -> str | None:
        for color, state in self.colors.items():
            if state.target_group == target_group:
                return color
        return None

    def listener_color(self, forwards: list[tuple[str, int]]) -> str | None:
        """The colour a listener sends all its traffic to, or None (unknown group or split)."""
        live = [(arn, weight) for arn, weight in forwards if weight > 0]
        if len(live) != 1:
            return None
        return self.color_of(live[0][0])

    @property
    def recorded_shift(self) -> Shift | None:
        """The shift the ALB stack's parameters record (whatever the listener does)."""
        if self.alb is None:
            return None
        parameters = self.alb.parameters
        spec = ShiftSpec.parse(parameters.get(PARAM_TRAFFIC_SHIFT, NO_SHIFT))
        from_color = parameters.get(PARAM_LIVE_COLOR)
        try:
            weight = int(parameters.get(PARAM_SHIFT_WEIGHT, "0"))
        except ValueError:
            return None
        if spec is None or from_color not in COLORS or weight not in spec.grid:
            return None
        return Shift(from_color, other(from_color), weight, spec)

    @property
    def shift(self) -> Shift | None:
        """The traffic shift in progress: production splits between exactly our two groups,
        weights summing to 100, as the ALB stack records (a step of its grid). Any other split
        is drift."""
        recorded = self.recorded_shift
        if recorded is None:
            return None
        groups = {self.colors[color].target_group: color for color in COLORS}
        split = {groups.get(arn): weight for arn, weight in self.production}
        expected = {recorded.from_color: 100 - recorded.weight,
                    recorded.to_color: recorded.weight}
        return recorded if len(self.production) == 2 and split == expected else None

    @property
    def live_color(self) -> str | None:
        """The colour production forwards to; during a shift, the one it shifts from (LiveColor,
        until the shift's last step)."""
        shift = self.shift
        return shift.from_color if shift else self.listener_color(self.production)

    @property
    def serving_only(self) -> str | None:
        """The colour that gets all of production (None during a shift or with drift)."""
        return self.listener_color(self.production)

    @property
    def test_color(self) -> str | None:
        return self.listener_color(self.test)

    @property
    def retired(self) -> list[str]:
        """The colours whose service stack runs no task (DesiredCount 0: `stackswap retire`)."""
        return [color for color, state in self.colors.items()
                if state.stack is not None
                and state.stack.parameters.get(PARAM_DESIRED_COUNT) == "0"]

    @property
    def idle_color(self) -> str | None:
        return other(self.live_color) if self.live_color else None

    @property
    def rollback_release(self) -> str | None:
        """The release production ran before the last successful swap (recorded on the ALB
        stack by every swap, reverted with it); None before the first swap."""
        recorded = self.alb.parameters.get(PARAM_ROLLBACK_RELEASE) if self.alb else None
        return None if recorded in (None, "", NO_RELEASE) else recorded

    def firing_alarms(self) -> list[str]:
        return [name for name, alarm in self.alarms.items() if alarm.firing]

    def drift(self) -> list[str]:
        """Everything about the listeners that disagrees with stackswap's model."""
        paths = self.paths
        if self.alb is None or not self.production:
            return [] if self.alb is None else [f"{paths.production} forwards to no target "
                                                f"group"]
        problems = []
        describe = self.describe_forwards
        if self.live_color is None:
            problems.append(f"{paths.production} forwards to {describe(self.production)}, not "
                            f"to exactly one of the blue/green target groups"
                            + self.split_note())
        if self.test_color is None or self.test_color == self.live_color:
            problems.append(f"{paths.test} forwards to {describe(self.test)}, expected the "
                            f"other colour")
        parameter = self.alb.parameters.get(PARAM_LIVE_COLOR)
        if self.live_color and parameter != self.live_color:
            problems.append(f"{paths.production} forwards to {self.live_color} but the ALB "
                            f"stack's LiveColor parameter is {parameter} (changed by hand?)")
        return problems

    def split_note(self) -> str:
        """Why a split is not a shift stackswap made."""
        recorded = self.recorded_shift
        if recorded is None:
            return " (nor a traffic shift stackswap recorded on the ALB stack)"
        return (f" (the ALB stack records a shift of {recorded.weight} % to "
                f"{recorded.to_color}, which the listener does not match)")

    def describe_forwards(self, forwards: list[tuple[str, int]]) -> str:
        if not forwards:
            return "nothing"
        # A group of weight 0 gets no request: a forward that is all on one of our groups
        # reads as that group (the production listener lists both, one at 0, outside a shift).
        live = [(arn, weight) for arn, weight in forwards if weight > 0]
        if len(live) == 1 and self.color_of(live[0][0]) and all(
                self.color_of(arn) for arn, _ in forwards):
            return self.color_of(live[0][0])
        names = []
        for arn, weight in forwards:
            name = self.color_of(arn) or f"unknown target group {arn}"
            names.append(name if len(forwards) == 1 else f"{name} (weight {weight})")
        return " + ".join(names)


@dataclass(frozen=True)
class RunningService:
    """An ECS service stackswap does not manage, as `init --from-service` reads it: AWS's own
    answers (DescribeServices, DescribeTaskDefinition, DescribeTargetGroups and its attributes,
    DescribeLoadBalancers, DescribeSubnets, and for a service that runs no task
    DescribeScalableTargets), None or empty where there is nothing to read."""

    service: dict
    task_definition: dict
    target_group: dict | None
    load_balancer: dict | None
    subnet_vpcs: dict[str, str]
    scalable_target: dict | None = None

