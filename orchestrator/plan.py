"""PURE: from what was observed and what was asked, the steps to run — or a refusal.

No I/O here: every decision about safety is a function of plain data, tested by tables in
tests/test_plan.py. The executor (run.py, with a handler per step in steps/) only performs them.
"""

from __future__ import annotations

import dataclasses
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from stackswap.environment.errors import OperatorNeeded, Refused
from stackswap.environment.names import (
    COLORS,
    NO_RELEASE,
    NO_SHIFT,
    PARAM_DESIRED_COUNT,
    PARAM_LIVE_COLOR,
    PARAM_TRAFFIC_SHIFT,
)
from stackswap.orchestrator.model import (
    ALL_AT_ONCE,
    CANARY,
    MONITORED,
    MUST_DELETE,
    ROLLBACK_FAILED,
    UPDATABLE,
    UPDATING,
    Alarm,
    ChangeSet,
    Observed,
    Paths,
    ShiftSpec,
    Stack,
    in_progress,
    other,
)

if TYPE_CHECKING:
    from stackswap.environment.config import Deploy

FIRST_LIVE = "blue"


# --- steps ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateAlb:
    live: str = FIRST_LIVE
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        return (f"create the ALB stack ({self.paths.production} -> {self.live}, "
                f"{self.paths.test} -> {other(self.live)})")


@dataclass(frozen=True)
class CreateService:
    color: str
    image: str

    def describe(self) -> str:
        return f"create the {self.color} service stack with {self.image}"


@dataclass(frozen=True)
class UpdateService:
    color: str
    image: str
    old_image: str | None
    # Capacity matching: the DesiredCount (and with autoscaling the MinCapacity floor) the
    # update sets; None keeps the stack's DesiredCount.
    desired: int | None = None
    # How the colour's task definition differs from the config, names only.
    changes: tuple[str, ...] = ()

    def describe(self) -> str:
        image = (f"image {self.image} (unchanged)" if self.old_image == self.image
                 else f"image {self.old_image} -> {self.image}")
        tasks = f", {self.desired} tasks" if self.desired is not None else ""
        changed = f"; {'; '.join(self.changes)}" if self.changes else ""
        return f"update the {self.color} service stack: {image}{tasks}{changed}"


@dataclass(frozen=True)
class WaitFor:
    stack: str
    status: str
    # The operation's monitoring time (its stack's RollbackConfiguration): part of its deadline.
    monitoring_minutes: int = 0

    def describe(self) -> str:
        return f"wait for {self.stack} ({self.status}) to finish, then plan again"


@dataclass(frozen=True)
class Verify:
    color: str
    image: str
    # Healthy targets to wait for (capacity matching: the count the update set).
    healthy: int = 1

    def describe(self) -> str:
        targets = "targets healthy" if self.healthy == 1 else f"{self.healthy} targets healthy"
        return (f"verify {self.color}: service steady on {self.image}, {targets}, "
                f"smoke request answers 2xx")


@dataclass(frozen=True)
class ReleaseFloor:
    """After a swap: lower the now-live colour's autoscaling floor (MinCapacity), raised to the
    matched count while it waited behind test traffic, back to service.autoscaling.min, so that
    it can scale in again (docs/capacity.md)."""

    color: str
    minimum: int

    def describe(self) -> str:
        return f"let {self.color} scale in again: its autoscaling minimum back to {self.minimum}"


@dataclass(frozen=True)
class Swap:
    from_color: str
    to_color: str
    # The release :80 leaves (from_color's task definition), recorded on the ALB stack so that
    # `rollback` can come back to it, and the value to restore if the swap must be undone.
    rollback_release: str
    previous_rollback_release: str | None
    # CloudFormation rollback triggers: the config's alarms on a forward swap, none otherwise.
    triggers: tuple[Alarm, ...] = ()
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        watching = (f"; CloudFormation watches {', '.join(a.name for a in self.triggers)}"
                    if self.triggers else "")
        return (f"swap: {self.paths.production} {self.from_color} -> {self.to_color}, "
                f"{self.paths.test} {self.to_color} -> {self.from_color}{watching}")


@dataclass(frozen=True)
class VerifyLive:
    color: str
    # The swap to undo if production fails its check (None: nothing to undo).
    undo: Swap | None = None
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        return f"confirm {self.paths.production} -> {self.color} and production answers 2xx"


@dataclass(frozen=True)
class CancelSwap:
    """Cancel a forward swap still in its alarm-monitoring window: CloudFormation then restores
    the listeners and RollbackRelease it had before — which is the rollback."""

    stack: str
    back_to: str
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        return (f"cancel the swap still in progress on {self.stack}; CloudFormation puts "
                f"{self.paths.production} back on {self.back_to}")


@dataclass(frozen=True)
class ContinueRollback:
    stack: str
    skip: tuple[str, ...] = ()

    def describe(self) -> str:
        skipping = f", skipping {', '.join(self.skip)}" if self.skip else ""
        return f"continue the failed rollback of {self.stack}{skipping}"


@dataclass(frozen=True)
class ShiftStep:
    """One step of a traffic shift: `weight` % of production to `to_color` (LiveColor stays
    `from_color`), checked, gated, then held for the interval while the alarms are watched."""

    from_color: str
    to_color: str
    weight: int
    number: int
    spec: ShiftSpec
    # The forward swap that ends the shift: what a failure restores (RollbackRelease too).
    swap: Swap
    gate: bool = False  # deploy.hooks.after_step is configured
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        return (f"shift step {self.number} of {self.spec.steps}: {self.paths.production} "
                f"{self.to_color} {self.weight} %, {self.from_color} {100 - self.weight} %; "
                f"hold {self.spec.interval_seconds} s")


@dataclass(frozen=True)
class ShiftBack:
    """Put all of production back on `color` at once (a rollback during a shift)."""

    color: str
    weight: int
    paths: Paths = field(default_factory=Paths)

    def describe(self) -> str:
        return (f"put {self.paths.production} back on {self.color} at once (it had "
                f"{100 - self.weight} % of the shift)")


@dataclass(frozen=True)
class Gate:
    """Run deploy.hooks.<point>: before_swap (a failure: exit 4, nothing moved) or after_swap
    (a failure: `undo` swapped back, exit 5)."""

    point: str
    new_color: str
    old_color: str
    undo: Swap | None = None

    def describe(self) -> str:
        return f"gate: run deploy.hooks.{self.point}"


@dataclass(frozen=True)
class Bake:
    """Hold after the last step while the alarms are watched: `undo` on an alarm."""

    seconds: int
    old_color: str
    undo: Swap

    def describe(self) -> str:
        return f"bake {self.seconds} s: {self.old_color} stays warm, alarms watched"


@dataclass(frozen=True)
class Retire:
    """Scale the old colour's service to zero through its stack's DesiredCount."""

    color: str

    def describe(self) -> str:
        return f"retire {self.color}: its service scaled to 0 tasks (DesiredCount 0)"


@dataclass(frozen=True)
class Restore:
    """Scale a retired colour back up to `count` tasks before it is verified and swapped."""

    color: str
    count: str

    def describe(self) -> str:
        return f"start {self.color}'s tasks again: DesiredCount 0 -> {self.count}"


Step = (CreateAlb | CreateService | UpdateService | WaitFor | Verify | Swap | VerifyLive
        | CancelSwap | ContinueRollback | ReleaseFloor | ShiftStep | ShiftBack | Gate | Bake
        | Retire | Restore)


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def needs_lock(self) -> bool:
        """Whether the plan changes anything (or waits for a change) — checks alone do not. A
        CancelSwap needs no lock: the run that holds it is the one whose swap it cancels."""
        return any(not isinstance(step, Verify | VerifyLive | CancelSwap) for step in self.steps)

    @property
    def waits(self) -> bool:
        """Whether the plan only waits for someone else's operation (then plan again)."""
        return bool(self.steps) and isinstance(self.steps[0], WaitFor)

    def lines(self) -> list[str]:
        lines = list(self.notes)
        lines += [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]
        return lines or ["nothing to do"]


# --- how long a plan takes at most ----------------------------------------------------------

# One smoke request at most: probe.get's 5 s timeout and the 1 s pause before the next try
# (steps/smoke.py).
SMOKE_TRY_SECONDS = 6


def swap_monitoring_minutes(deploy: Deploy, triggers: tuple[Alarm, ...],
                            watched: bool = True) -> int:
    """The monitoring time of an ALB stack update: deploy.alarm_monitoring_minutes for one that
    carries rollback triggers (a forward swap), none for a swap back or a shift's step (whose
    interval is the watch). aws.update_stack sends exactly this."""
    return deploy.alarm_monitoring_minutes if triggers and watched else 0


def operation_deadline(deploy: Deploy, monitoring_minutes: int = 0) -> int:
    """How long stackswap waits for one stack operation: deploy.stack_timeout_seconds for its
    resources, plus its monitoring time, during which CloudFormation keeps the stack in
    progress after the resources are done (RollbackConfiguration, MonitoringTimeInMinutes)."""
    return deploy.stack_timeout_seconds + 60 * monitoring_minutes


def deadline_made_of(monitoring_minutes: int) -> str:
    """What an operation's deadline is made of, for the message when it passes."""
    if not monitoring_minutes:
        return "deploy.stack_timeout_seconds"
    return (f"deploy.stack_timeout_seconds plus the update's {monitoring_minutes}-minute alarm "
            f"monitoring")


@dataclass(frozen=True)
class Part:
    """Some of a plan's length: `count` times up to `each` seconds of `what`."""

    what: str
    count: int
    each: int

    @property
    def seconds(self) -> int:
        return self.count * self.each


@dataclass(frozen=True)
class PlanLength:
    """How long a plan takes at most, and what that is made of."""

    parts: tuple[Part, ...]

    @property
    def seconds(self) -> int:
        return sum(part.seconds for part in self.parts)


# Steps that start a stack update, which is cancelled and rolled back at its deadline.
UPDATES = (UpdateService, ReleaseFloor, Retire, Restore, Swap, ShiftStep, ShiftBack)


def plan_length(plan: Plan, deploy: Deploy) -> PlanLength:
    """The most `plan` can take, a pure function of the plan and the config's deploy section:
    each step's deadline or fixed wait (a stack operation's deadline with the swap's alarm
    monitoring, a verification's timeout, the smoke tries, a gate's time limit, a shift step's
    interval, the bake) and, for a plan that updates a stack, the way back a failure takes (an
    update cancelled at its deadline is waited for again; a swap or shift is swapped back)."""
    stack, smoke = deploy.stack_timeout_seconds, deploy.smoke_tries * SMOKE_TRY_SECONDS
    counts: dict[tuple[str, int], int] = {}

    def add(what: str, each: int) -> None:
        if each:
            counts[what, each] = counts.get((what, each), 0) + 1

    for step in plan.steps:
        if isinstance(step, WaitFor):
            add("wait for an operation in progress",
                operation_deadline(deploy, step.monitoring_minutes))
        elif isinstance(step, Verify):
            add("verification", deploy.verify_timeout_seconds + smoke)
        elif isinstance(step, VerifyLive):
            add("production check", smoke)
        elif isinstance(step, Gate):
            add("gate", deploy.hooks.timeout_seconds)
        elif isinstance(step, Bake):
            add("bake", step.seconds)
        elif isinstance(step, ShiftStep):
            add("stack operation", stack)
            add("production check", smoke)
            if step.gate:
                add("gate", deploy.hooks.timeout_seconds)
            add("shift step", step.spec.interval_seconds)
        else:  # one stack operation: a create, an update, a cancel, a continued rollback
            add("stack operation", stack)
            if isinstance(step, Swap):
                add("alarm monitoring", 60 * swap_monitoring_minutes(deploy, step.triggers))
    back = stack if any(isinstance(step, UPDATES) for step in plan.steps) else 0
    if any(isinstance(step, Swap | ShiftStep) for step in plan.steps):
        back += stack
    add("way back", back)
    return PlanLength(tuple(Part(what, count, each) for (what, each), count in counts.items()))


@dataclass(frozen=True)
class Limit:
    """A time a run cannot extend and must end within: what it is, the seconds left of it, and
    what to change for more. The deploy lock is none (the run renews it: orchestrator/lock.py);
    credentials that cannot be refreshed are one (their expiry)."""

    what: str
    seconds: float
    key: str


def refuse_beyond(length: PlanLength, limits: tuple[Limit, ...]) -> None:
    """Before any change: a plan that may outlast a limit it cannot extend is refused."""
    for limit in limits:
        if length.seconds > limit.seconds:
            raise Refused(f"this plan may take up to {duration_text(length.seconds)}, longer "
                          f"than {limit.what} ({duration_text(limit.seconds)}); change "
                          f"{limit.key} (nothing was changed)")


def duration_text(seconds: float) -> str:
    """A duration as people read it: 1 h 5 min, 10 min 30 s, 45 s (seconds only under an
    hour)."""
    whole = round(seconds)
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = [f"{hours} h"] if hours else []
    if minutes:
        parts.append(f"{minutes} min")
    if secs and not hours:
        parts.append(f"{secs} s")
    return " ".join(parts) or "0 s"


@dataclass(frozen=True)
class DeployRequest:
    image: str
    color: str | None = None
    swap: bool = True
    # Whether the registry has the image: None when that cannot be checked (not ECR).
    image_found: bool | None = None
    # Capacity matching: service.desired_count, and service.autoscaling's bounds (None: no
    # autoscaling). desired_count None: keep the stack's DesiredCount.
    desired_count: int | None = None
    scaling_min: int | None = None
    scaling_max: int | None = None
    # How production moves: None all at once, else the traffic shift's grid and interval.
    shift: ShiftSpec | None = None
    # deploy.hooks points that are configured (before_swap, after_step, after_swap).
    gates: tuple[str, ...] = ()
    # deploy.bake in seconds, and whether this run retires the old colour after it.
    bake_seconds: int = 0
    retire: bool = False


# --- checks -----------------------------------------------------------------------------------

def blocker(stack: Stack) -> WaitFor | None:
    """None when the stack can be worked on; WaitFor when an operation is in progress;
    otherwise raises with what the operator must do.

    Waiting is safe because the caller holds the deploy lock: an operation in progress now was
    started by a run that is gone (interrupted, lost its connection) or by hand, so waiting for
    it and planning again is how a rerun resumes. It is never cancelled: it is not ours."""
    name, status = stack.name, stack.status
    if in_progress(status):
        return WaitFor(name, status, stack.monitoring_minutes if status in MONITORED else 0)
    if status == ROLLBACK_FAILED:
        raise OperatorNeeded(
            f"{name} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll it back. Fix the "
            f"cause ({stack.reason or 'see its events'}), then run `stackswap recover` (it "
            f"runs aws cloudformation continue-update-rollback --stack-name {name})")
    if status in MUST_DELETE:
        raise OperatorNeeded(
            f"{name} is {status}: it can only be deleted. Run: aws cloudformation "
            f"update-termination-protection --no-enable-termination-protection --stack-name "
            f"{name} && aws cloudformation delete-stack --stack-name {name}; then rerun")
    if status not in UPDATABLE:
        raise OperatorNeeded(f"{name} is {status}; stackswap does not know how to proceed")
    return None


def first_blocker(stacks: list[Stack | None]) -> WaitFor | None:
    for stack in stacks:
        if stack is not None and (waiting := blocker(stack)):
            return waiting
    return None


def forward_triggers(observed: Observed, alarm_names: tuple[str, ...]) -> tuple[Alarm, ...]:
    """The rollback triggers of a forward swap (a release that has not served production goes
    live): every configured alarm, which must exist (CloudFormation fails the whole update for
    a missing trigger) and must not fire already."""
    missing = [name for name in alarm_names if name not in observed.alarms]
    if missing:
        raise Refused(f"alarm(s) not found in CloudWatch: {', '.join(missing)} (deploy.alarms); "
                      f"create them or remove them from the config. Nothing was changed")
    firing = [name for name in alarm_names if observed.alarms[name].firing]
    if firing:
        raise Refused(f"alarm(s) already in ALARM: {', '.join(firing)}; refusing to deploy "
                      f"into a system that is already failing (`stackswap rollback` is never "
                      f"refused for an alarm)")
    return tuple(observed.alarms[name] for name in alarm_names)


def alarm_notes(observed: Observed, alarm_names: tuple[str, ...]) -> tuple[str, ...]:
    """What a rollback or `swap --to` says about the alarms, and then goes on."""
    notes = []
    if firing := observed.firing_alarms():
        notes.append(f"alarm(s) in ALARM: {', '.join(firing)}; going on without rollback "
                     f"triggers")
    if missing := [name for name in alarm_names if name not in observed.alarms]:
        notes.append(f"alarm(s) not found in CloudWatch: {', '.join(missing)} (deploy.alarms)")
    return tuple(notes)


def refuse_unserved(observed: Observed, color: str) -> None:
    """`rollback` goes back only to the release production ran before the last swap."""
    state, wanted = observed.colors[color], observed.rollback_release
    if wanted is None:
        raise Refused(f"nothing to roll back to: no swap has happened yet. To put {color} "
                      f"({state.image_parameter}) live anyway: stackswap swap --to {color}")
    if state.release != wanted:
        raise Refused(f"{color} now runs {state.image_parameter}, which production did not run "
                      f"before the last swap (that release is no longer deployed anywhere). "
                      f"To put it live anyway: stackswap swap --to {color}")


def refuse_drift(observed: Observed) -> None:
    drift = observed.drift()
    if drift:
        raise Refused("refusing to change anything, the listeners are not as stackswap left "
                      "them: " + "; ".join(drift))


# At most this many differences are named in one refusal line.
DIFFERENCES_SHOWN = 5


def alb_differences_text(differences: tuple[str, ...]) -> str:
    shown = "; ".join(differences[:DIFFERENCES_SHOWN])
    more = len(differences) - DIFFERENCES_SHOWN
    return f"{shown}; and {more} more" if more > 0 else shown


def refuse_alb_differences(observed: Observed, action: str) -> tuple[str, ...]:
    """`deploy` and `swap` refuse while the deployed ALB stack differs from the config's render
    (its template or its config-derived parameters): the smoke checks would follow a config the
    load balancer does not have. `rollback`, the emergency path, goes on with the deployed
    template and says so (docs/update-alb.md, "The ALB stack differs from the config")."""
    if not observed.alb_differences:
        return ()
    text = ("the ALB stack differs from the config: "
            + alb_differences_text(observed.alb_differences))
    if action == "rollback":
        return (f"warning: {text}. Rolling back anyway, on the deployed ALB stack; run "
                f"`stackswap update-alb` afterwards",)
    raise Refused(f"{text}; run `stackswap update-alb` first (nothing was changed)")


def all_stacks(observed: Observed) -> list[Stack | None]:
    return [observed.alb] + [observed.colors[color].stack for color in COLORS]


# --- planners ---------------------------------------------------------------------------------

def plan_first_run(observed: Observed, request: DeployRequest) -> Plan:
    """Create whatever is missing; the image goes to every new colour and blue is live."""
    if observed.alb is None and any(observed.colors[c].stack for c in COLORS):
        raise Refused("the ALB stack is missing but a service stack exists; delete the service "
                      "stacks or restore the ALB stack before deploying")
    if request.color and request.color != FIRST_LIVE and observed.alb is None:
        raise Refused(f"first deploy: nothing exists yet, so {request.image} goes to both "
                      f"colours and {FIRST_LIVE} goes live; rerun without --color")
    steps: list[Step] = [] if observed.alb else [CreateAlb(paths=observed.paths)]
    created = [c for c in COLORS if observed.colors[c].stack is None]
    steps += [CreateService(color, request.image) for color in created]
    steps += [Verify(color, request.image) for color in created]
    if observed.alb is None:
        steps.append(VerifyLive(FIRST_LIVE, paths=observed.paths))
    note = ("first run: creating the ALB stack and both service stacks"
            if observed.alb is None else f"creating the missing stacks: {', '.join(created)}")
    return Plan(tuple(steps), (note,))


def plan_deploy(observed: Observed, request: DeployRequest,
                alarm_names: tuple[str, ...] = ()) -> Plan:
    if request.image_found is False:
        raise Refused(f"image {request.image} does not exist in its ECR repository; push it "
                      f"first (nothing was changed)")
    waiting = first_blocker(all_stacks(observed))
    if waiting:
        return Plan((waiting,))
    if observed.alb is None or any(observed.colors[c].stack is None for c in COLORS):
        return plan_first_run(observed, request)
    refuse_drift(observed)
    if observed.shift is not None:
        return plan_resume_shift(observed, request, alarm_names)
    live = observed.live_color
    live_image = observed.colors[live].image_parameter
    changes = observed.task_changes or {}
    if live_image == request.image and request.color in (None, live) and not changes.get(live):
        # A rerun after success (or after an interruption during the swap): check, change
        # nothing.
        return Plan((VerifyLive(live, paths=observed.paths),),
                    (f"{request.image} is already live on {live}; nothing to change",))
    target = request.color or other(live)
    if target == live:
        raise Refused(f"{target} is the live colour (it serves {observed.paths.production}); "
                      f"stackswap never deploys into it. Deploy to {other(live)} (the default) "
                      f"instead")
    refuse_alb_differences(observed, "deploy")
    triggers = forward_triggers(observed, alarm_names)
    desired, notes = matched_capacity(observed, live, request)
    if live_image == request.image:
        # The image is live, the config is not: the new task definition goes to the idle
        # colour and is swapped in, exactly like a new image (docs/diff.md).
        notes += (f"{request.image} is already live on {live}, but its task definition "
                  f"differs from the config ({'; '.join(changes[live])}): deploying it to "
                  f"{target}",)
    steps: list[Step] = [UpdateService(target, request.image, observed.colors[target]
                                       .image_parameter, desired, changes.get(target, ())),
                         Verify(target, request.image, desired or 1)]
    if request.swap:
        steps += promotion(observed, target, triggers, request)
        if request.scaling_min is not None and desired is not None \
                and desired > request.scaling_min:
            steps.append(ReleaseFloor(target, request.scaling_min))
    return Plan(tuple(steps), notes)


def matched_capacity(observed: Observed, live: str, request: DeployRequest
                     ) -> tuple[int | None, tuple[str, ...]]:
    """The idle colour's task count before it is verified: the larger of the config's count and
    the live colour's current desired count (never swap onto fewer tasks than production runs),
    at most autoscaling's max. None when neither is known (keep the stack's count)."""
    if request.desired_count is None:
        return None, ()
    service = observed.colors[live].service
    live_desired = service.desired if service is not None else 0
    wanted = max(request.desired_count, live_desired)
    if request.scaling_max is not None and wanted > request.scaling_max:
        return request.scaling_max, (
            f"warning: {live} runs {live_desired} tasks, more than service.autoscaling.max "
            f"{request.scaling_max}; the new colour gets {request.scaling_max}",)
    if wanted > request.desired_count:
        return wanted, (f"{live} runs {live_desired} tasks (more than service.desired_count "
                        f"{request.desired_count}): the new colour gets as many before the "
                        f"swap",)
    return wanted, ()


def promotion(observed: Observed, target: str, triggers: tuple[Alarm, ...],
              request: DeployRequest, from_weight: int = 0) -> list[Step]:
    """Production moved to `target`: the before_swap gate, the shift's steps from
    `from_weight` on (none all at once), the swap (the last step) and its check, the
    after_swap gate, the bake, the retirement."""
    live, paths = observed.live_color, observed.paths
    swap = swap_step(observed, target, triggers)
    steps: list[Step] = []
    if "before_swap" in request.gates and not from_weight:
        steps.append(Gate("before_swap", target, live))
    spec = request.shift
    if spec is not None:
        steps += [ShiftStep(live, target, weight, number, spec, swap,
                            "after_step" in request.gates, paths)
                  for number, weight in enumerate(spec.grid, 1) if weight >= from_weight]
    steps += [swap, VerifyLive(target, swap, paths)]
    if "after_swap" in request.gates:
        steps.append(Gate("after_swap", target, live, swap))
    if request.bake_seconds:
        steps.append(Bake(request.bake_seconds, live, swap))
    if request.retire:
        steps.append(Retire(live))
    return steps


def promotion_settings(deploy, strategy: str | None = None) -> dict:
    """DeployRequest's fields from the config's deploy section (generator.config.Deploy) and
    --strategy: the shift (None all at once), the configured gates, the bake, the retirement."""
    strategy = strategy or deploy.strategy
    percent = deploy.canary_percent if strategy == CANARY else deploy.step_percent
    shift = (None if strategy == ALL_AT_ONCE
             else ShiftSpec(strategy, percent, deploy.step_interval_seconds))
    gates = tuple(point for point in ("before_swap", "after_step", "after_swap")
                  if getattr(deploy.hooks, point))
    return {"shift": shift, "gates": gates, "bake_seconds": deploy.bake_seconds,
            "retire": deploy.retire == "after-bake"}


def plan_resume_shift(observed: Observed, request: DeployRequest,
                      alarm_names: tuple[str, ...]) -> Plan:
    """A deploy finds a shift stackswap made: the same deploy resumes it from the current
    weight (that step is held again for a whole interval, as no one can say how long it was
    held), on the grid the ALB stack records; any other deploy is refused."""
    shift = observed.shift
    new = observed.colors[shift.to_color]
    if new.image_parameter != request.image or request.color not in (None, shift.to_color):
        raise Refused(f"a traffic shift to {shift.to_color} ({new.image_parameter}) is in "
                      f"progress at {shift.weight} %: rerun that deploy to resume it, or "
                      f"`stackswap rollback` to put production back on {shift.from_color} "
                      f"(nothing was changed)")
    refuse_alb_differences(observed, "deploy")
    triggers = forward_triggers(observed, alarm_names)
    resumed = dataclasses.replace(request, color=shift.to_color, swap=True, shift=shift.spec)
    steps = [Verify(shift.to_color, request.image),
             *promotion(observed, shift.to_color, triggers, resumed, shift.weight)]
    return Plan(tuple(steps), (f"resuming the {shift.spec.strategy} shift to {shift.to_color} "
                               f"at {shift.weight} % (step {shift.step} of "
                               f"{shift.spec.steps})",))


def swap_step(observed: Observed, to_color: str, triggers: tuple[Alarm, ...]) -> Swap:
    live = observed.live_color
    return Swap(live, to_color, observed.colors[live].release or NO_RELEASE,
                observed.rollback_release, triggers, observed.paths)


def plan_promote(observed: Observed, action: str, alarm_names: tuple[str, ...] = (),
                 to_color: str | None = None) -> Plan:
    """`swap` and `rollback`: put the colour now on :8080 on :80 after verifying it.

    `swap` is a forward promotion: the alarms become rollback triggers, and an alarm that fires
    already refuses it. `rollback` goes back to the release production ran before the last
    swap, never refused for an alarm and never watched by one (a rollback that CloudFormation
    could revert would bring the bad release back); during a forward swap's monitoring window
    it cancels that swap. `swap --to COLOR` is the operator's override: never refused for an
    alarm either. With --to, a rerun finds that colour live and changes nothing; without it,
    both toggle."""
    missing = [s for s in ("alb", *COLORS) if (observed.alb if s == "alb"
                                                 else observed.colors[s].stack) is None]
    if missing:
        raise Refused(f"cannot {action}: stacks missing ({', '.join(missing)}); run "
                      f"`stackswap deploy --image IMAGE` first")
    if action == "rollback" and observed.alb.status == UPDATING \
            and observed.alb.rollback_triggers \
            and observed.alb.parameters.get(PARAM_TRAFFIC_SHIFT, NO_SHIFT) == NO_SHIFT:
        back_to = other(observed.alb.parameters.get(PARAM_LIVE_COLOR, COLORS[0]))
        return Plan((CancelSwap(observed.alb.name, back_to, observed.paths),
                     VerifyLive(back_to, paths=observed.paths)),
                    ("rollback: the last swap is still in its alarm-monitoring window",))
    waiting = first_blocker(all_stacks(observed))
    if waiting:
        return Plan((waiting,))
    refuse_drift(observed)
    if observed.shift is not None:
        return plan_promote_during_shift(observed, action, to_color)
    live, target = observed.live_color, observed.idle_color
    if to_color == live:
        return Plan((VerifyLive(live, paths=observed.paths),),
                    (f"{live} is already live; nothing to change",))
    differences = refuse_alb_differences(observed, action)
    image = observed.colors[target].image_parameter
    if not image:
        raise Refused(f"cannot {action}: the {target} stack has no Image parameter")
    notes: tuple[str, ...] = ()
    if action == "rollback":
        refuse_unserved(observed, target)
        triggers: tuple[Alarm, ...] = ()
        notes = alarm_notes(observed, alarm_names)
    elif to_color is None:
        triggers = forward_triggers(observed, alarm_names)
    else:
        notes = alarm_notes(observed, alarm_names)
        going_back = observed.colors[target].release == observed.rollback_release
        triggers = () if notes or going_back else forward_triggers(observed, alarm_names)
    swap = swap_step(observed, target, triggers)
    restore = restore_steps(observed, target)
    if restore:
        notes = (*notes, f"{target} is retired (0 tasks): its tasks must start and pass their "
                         f"health checks before it can go live")
    return Plan((*restore, Verify(target, image), swap, VerifyLive(target, swap, observed.paths)),
                (*differences, *notes, f"{action}: {target} ({image}) goes live, {live} "
                 f"({observed.colors[live].image_parameter}) moves to {observed.paths.test}"))


def restore_steps(observed: Observed, color: str) -> tuple[Step, ...]:
    """A retired colour starts as many tasks as the live one has before it is verified."""
    if color not in observed.retired:
        return ()
    live = observed.colors[observed.live_color].stack
    count = live.parameters.get(PARAM_DESIRED_COUNT, "1") if live else "1"
    return (Restore(color, count if count != "0" else "1"),)


def plan_promote_during_shift(observed: Observed, action: str, to_color: str | None) -> Plan:
    """`rollback` during a shift puts all of production back on the colour it shifts from, at
    once (no check first: that colour serves most of production now); `swap` is refused."""
    shift = observed.shift
    if action != "rollback" or to_color == shift.to_color:
        raise Refused(f"a traffic shift to {shift.to_color} is in progress at {shift.weight} %: "
                      f"rerun its deploy to finish it, or `stackswap rollback` to put "
                      f"production back on {shift.from_color} (nothing was changed)")
    return Plan((ShiftBack(shift.from_color, shift.weight, observed.paths),
                 VerifyLive(shift.from_color, paths=observed.paths)),
                (f"rollback during a shift: {shift.to_color} had {shift.weight} % "
                 f"(step {shift.step} of {shift.spec.steps}); all of production goes back "
                 f"to {shift.from_color}",))


def plan_retire(observed: Observed) -> Plan:
    """`stackswap retire`: the idle colour's service to zero tasks, never the live one's, never
    during a shift. A rollback to it starts its tasks again first."""
    missing = [c for c in COLORS if observed.colors[c].stack is None]
    if observed.alb is None or missing:
        raise Refused("nothing to retire: the stacks do not exist yet")
    waiting = first_blocker(all_stacks(observed))
    if waiting:
        return Plan((waiting,))
    refuse_drift(observed)
    if observed.shift is not None:
        raise Refused(f"a traffic shift to {observed.shift.to_color} is in progress; retire "
                      f"after it has finished (nothing was changed)")
    idle = observed.idle_color
    if idle in observed.retired:
        return Plan((), (f"{idle} is already retired (0 tasks); nothing to do",))
    return Plan((Retire(idle),), (f"retiring {idle}: `stackswap rollback` will have to start its "
                                  f"tasks again before it can swap back",))


def plan_recover(observed: Observed, skip: tuple[str, ...]) -> Plan:
    """Continue the rollback of every stack stuck in UPDATE_ROLLBACK_FAILED. Resources are
    skipped only when the operator names them (--skip)."""
    stuck = [s for s in all_stacks(observed) if s and s.status == ROLLBACK_FAILED]
    if not stuck:
        return Plan((), ("no stack is UPDATE_ROLLBACK_FAILED; nothing to recover",))
    if skip and len(stuck) > 1:
        raise Refused("--skip names resources of one stack, but several stacks are stuck: "
                      + ", ".join(s.name for s in stuck))
    return Plan(tuple(ContinueRollback(s.name, skip) for s in stuck))


# --- update-alb -------------------------------------------------------------------------------

def check_update_alb(observed: Observed) -> None:
    """`update-alb` changes an ALB stack that exists, is settled, and forwards as stackswap
    left it (it confirms afterwards that the listeners still do)."""
    if observed.alb is None:
        raise Refused("there is no ALB stack to update; `stackswap deploy --image IMAGE` "
                      "creates it from the config")
    waiting = blocker(observed.alb)
    if waiting:
        raise Refused(f"{waiting.stack} is {waiting.status}; rerun `stackswap update-alb` "
                      f"when it has finished (nothing was changed)")
    refuse_drift(observed)


def refuse_destructive(change_set: ChangeSet, stack: str) -> None:
    """An ALB change that would replace or delete a resource (the load balancer, a target
    group, a listener, the security group) is refused: a replacement drops connections and
    changes ARNs that the service stacks and DNS records point at (a new security group would
    not be the one the tasks admit), and the stack policy forbids it anyway (Update:Replace,
    Update:Delete)."""
    destructive = [change for change in change_set.changes if change.destructive]
    if not destructive:
        return
    why = ""
    if any(change.resource_type == "AWS::EC2::SecurityGroup"
           and "GroupDescription" in change.properties for change in destructive):
        why = (" CloudFormation replaces a security group to change its description, and in "
               "the article's mode (HTTP on :80 and :8080, test by port) the description names "
               "those ports: a stack made in that mode keeps its ports and its mode "
               "(docs/update-alb.md, \"Listener ports\").")
    harms = " and ".join(change.harm() for change in destructive)
    raise Refused(f"update-alb refused: the change would {harms} in {stack}.{why} stackswap "
                  f"never replaces or deletes a resource of the ALB stack; revert that part of "
                  f"the config (nothing was changed)")
