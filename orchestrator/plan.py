"""PURE: from what was observed and what was asked, the steps to run — or a refusal.

No I/O here: every decision about safety is a function of plain data, tested by tables in
tests/test_plan.py. The executor (execute.py) only performs the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.interface import COLORS
from orchestrator.errors import OperatorNeeded, Refused
from orchestrator.model import (
    MUST_DELETE,
    ROLLBACK_FAILED,
    UPDATABLE,
    Observed,
    Stack,
    in_progress,
    other,
)

FIRST_LIVE = "blue"


# --- steps ------------------------------------------------------------------------------------

@dataclass(frozen=True)
class CreateAlb:
    live: str = FIRST_LIVE

    def describe(self) -> str:
        return f"create the ALB stack (:80 -> {self.live}, :8080 -> {other(self.live)})"


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

    def describe(self) -> str:
        return f"update the {self.color} service stack: image {self.old_image} -> {self.image}"


@dataclass(frozen=True)
class WaitFor:
    stack: str
    status: str

    def describe(self) -> str:
        return f"wait for {self.stack} ({self.status}) to finish, then plan again"


@dataclass(frozen=True)
class Verify:
    color: str
    image: str

    def describe(self) -> str:
        return (f"verify {self.color}: service steady on {self.image}, targets healthy, "
                f"smoke request answers 2xx")


@dataclass(frozen=True)
class Swap:
    from_color: str
    to_color: str

    def describe(self) -> str:
        return (f"swap listeners: :80 {self.from_color} -> {self.to_color}, "
                f":8080 {self.to_color} -> {self.from_color}")


@dataclass(frozen=True)
class VerifyLive:
    color: str
    previous: str | None

    def describe(self) -> str:
        return f"confirm :80 -> {self.color} and production answers 2xx"


@dataclass(frozen=True)
class ContinueRollback:
    stack: str
    skip: tuple[str, ...] = ()

    def describe(self) -> str:
        skipping = f", skipping {', '.join(self.skip)}" if self.skip else ""
        return f"continue the failed rollback of {self.stack}{skipping}"


Step = (CreateAlb | CreateService | UpdateService | WaitFor | Verify | Swap | VerifyLive
        | ContinueRollback)


@dataclass(frozen=True)
class Plan:
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    @property
    def needs_lock(self) -> bool:
        """Whether the plan changes anything (or waits for a change) — checks alone do not."""
        return any(not isinstance(step, Verify | VerifyLive) for step in self.steps)

    @property
    def waits(self) -> bool:
        """Whether the plan only waits for someone else's operation (then plan again)."""
        return bool(self.steps) and isinstance(self.steps[0], WaitFor)

    def lines(self) -> list[str]:
        lines = list(self.notes)
        lines += [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]
        return lines or ["nothing to do"]


@dataclass(frozen=True)
class DeployRequest:
    image: str
    color: str | None = None
    swap: bool = True
    # Whether the registry has the image: None when that cannot be checked (not ECR).
    image_found: bool | None = None


# --- checks -----------------------------------------------------------------------------------

def blocker(stack: Stack) -> WaitFor | None:
    """None when the stack can be worked on; WaitFor when an operation is in progress;
    otherwise raises with what the operator must do.

    Waiting is safe because the caller holds the deploy lock: an operation in progress now was
    started by a run that is gone (interrupted, lost its connection) or by hand, so waiting for
    it and planning again is how a rerun resumes. It is never cancelled: it is not ours."""
    name, status = stack.name, stack.status
    if in_progress(status):
        return WaitFor(name, status)
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


def refuse_alarms(observed: Observed, alarm_names: tuple[str, ...]) -> None:
    missing = [name for name in alarm_names if name not in observed.alarms]
    if missing:
        raise Refused(f"alarm(s) not found: {', '.join(missing)} (deploy.alarms in the config)")
    firing = [name for name in alarm_names if observed.alarms[name][1] == "ALARM"]
    if firing:
        raise Refused(f"alarm(s) already in ALARM: {', '.join(firing)}; refusing to deploy "
                      f"into a system that is already failing")


def refuse_drift(observed: Observed) -> None:
    drift = observed.drift()
    if drift:
        raise Refused("refusing to change anything, the listeners are not as stackswap left "
                      "them: " + "; ".join(drift))


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
    steps: list[Step] = [] if observed.alb else [CreateAlb()]
    created = [c for c in COLORS if observed.colors[c].stack is None]
    steps += [CreateService(color, request.image) for color in created]
    steps += [Verify(color, request.image) for color in created]
    if observed.alb is None:
        steps.append(VerifyLive(FIRST_LIVE, None))
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
    live = observed.live_color
    live_image = observed.colors[live].image_parameter
    if live_image == request.image and request.color in (None, live):
        # A rerun after success (or after an interruption during the swap): check, change
        # nothing.
        return Plan((VerifyLive(live, None),),
                    (f"{request.image} is already live on {live}; nothing to change",))
    refuse_alarms(observed, alarm_names)
    target = request.color or other(live)
    if target == live:
        raise Refused(f"{target} is the live colour (it serves :80); stackswap never deploys "
                      f"into it. Deploy to {other(live)} (the default) instead")
    steps: list[Step] = [UpdateService(target, request.image, observed.colors[target]
                                       .image_parameter), Verify(target, request.image)]
    if request.swap:
        steps += [Swap(live, target), VerifyLive(target, live)]
    return Plan(tuple(steps))


def plan_promote(observed: Observed, action: str, alarm_names: tuple[str, ...] = (),
                 to_color: str | None = None) -> Plan:
    """`swap` and `rollback`: put the colour now on :8080 on :80 after verifying it. They are
    one operation — the previous colour is the one still running behind :8080. Alone they
    toggle, so a rerun would swap back; with `to_color` (--to) a rerun finds that colour live
    and changes nothing."""
    missing = [s for s in ("alb", *COLORS) if (observed.alb if s == "alb"
                                                 else observed.colors[s].stack) is None]
    if missing:
        raise Refused(f"cannot {action}: stacks missing ({', '.join(missing)}); run "
                      f"`stackswap deploy --image IMAGE` first")
    waiting = first_blocker(all_stacks(observed))
    if waiting:
        return Plan((waiting,))
    refuse_drift(observed)
    live, target = observed.live_color, observed.idle_color
    if to_color == live:
        return Plan((VerifyLive(live, None),),
                    (f"{live} is already live; nothing to change",))
    refuse_alarms(observed, alarm_names)
    image = observed.colors[target].image_parameter
    if not image:
        raise Refused(f"cannot {action}: the {target} stack has no Image parameter")
    return Plan((Verify(target, image), Swap(live, target), VerifyLive(target, live)),
                (f"{action}: {target} ({image}) goes live, {live} "
                 f"({observed.colors[live].image_parameter}) moves to :8080",))


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
