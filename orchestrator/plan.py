"""PURE: from what was observed and what was asked, the steps to run — or a refusal.

No I/O here: every decision about safety is a function of plain data, tested by tables in
tests/test_plan.py. The executor (run.py) only performs the steps.
"""

from __future__ import annotations

from dataclasses import dataclass

from generator.config import COLORS
from orchestrator.aws import Stack
from orchestrator.errors import OperatorNeeded, Refused
from orchestrator.state import Observed, other

UPDATABLE = {"CREATE_COMPLETE", "UPDATE_COMPLETE", "UPDATE_ROLLBACK_COMPLETE"}
MUST_DELETE = {"ROLLBACK_COMPLETE", "ROLLBACK_FAILED", "CREATE_FAILED", "DELETE_FAILED"}
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


Step = CreateAlb | CreateService | UpdateService | WaitFor | Verify | Swap | VerifyLive


@dataclass(frozen=True)
class Plan:
    action: str
    steps: tuple[Step, ...]
    notes: tuple[str, ...] = ()

    def lines(self) -> list[str]:
        lines = list(self.notes)
        lines += [f"{number}. {step.describe()}" for number, step in enumerate(self.steps, 1)]
        return lines or ["nothing to do"]


@dataclass(frozen=True)
class DeployRequest:
    image: str
    color: str | None = None
    swap: bool = True
    wait: bool = False


# --- checks -----------------------------------------------------------------------------------

def blocker(stack: Stack, wait: bool) -> WaitFor | None:
    """None when the stack can be worked on; WaitFor when busy and --wait; otherwise raises."""
    name, status = stack.name, stack.status
    if status.endswith("_IN_PROGRESS"):
        if wait:
            return WaitFor(name, status)
        raise Refused(f"{name} is {status} (another deploy or a change in progress); rerun "
                      f"with --wait to wait for it and continue")
    if status == "UPDATE_ROLLBACK_FAILED":
        raise OperatorNeeded(
            f"{name} is UPDATE_ROLLBACK_FAILED: CloudFormation could not roll it back. Fix the "
            f"cause ({stack.reason or 'see its events'}), then run: aws cloudformation "
            f"continue-update-rollback --stack-name {name}")
    if status in MUST_DELETE:
        raise OperatorNeeded(
            f"{name} is {status}: it can only be deleted. Run: aws cloudformation "
            f"update-termination-protection --no-enable-termination-protection --stack-name "
            f"{name} && aws cloudformation delete-stack --stack-name {name}; then rerun")
    if status not in UPDATABLE:
        raise OperatorNeeded(f"{name} is {status}; stackswap does not know how to proceed")
    return None


def first_blocker(stacks: list[Stack | None], wait: bool) -> WaitFor | None:
    for stack in stacks:
        if stack is not None and (waiting := blocker(stack, wait)):
            return waiting
    return None


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
    return Plan("deploy", tuple(steps), (note,))


def plan_deploy(observed: Observed, request: DeployRequest) -> Plan:
    if observed.alb is None or any(observed.colors[c].stack is None for c in COLORS):
        waiting = first_blocker(all_stacks(observed), request.wait)
        return Plan("deploy", (waiting,)) if waiting else plan_first_run(observed, request)
    waiting = first_blocker(all_stacks(observed), request.wait)
    if waiting:
        return Plan("deploy", (waiting,))
    refuse_drift(observed)
    live = observed.live_color
    live_image = observed.colors[live].image_parameter
    if live_image == request.image and request.color in (None, live):
        return Plan("deploy", (), (f"{request.image} is already live on {live}; nothing to do",))
    target = request.color or other(live)
    if target == live:
        raise Refused(f"{target} is the live colour (it serves :80); stackswap never deploys "
                      f"into it. Deploy to {other(live)} (the default) instead")
    steps: list[Step] = [UpdateService(target, request.image, observed.colors[target]
                                       .image_parameter), Verify(target, request.image)]
    if request.swap:
        steps += [Swap(live, target), VerifyLive(target, live)]
    return Plan("deploy", tuple(steps))


def plan_promote(observed: Observed, action: str, wait: bool = False) -> Plan:
    """`swap` and `rollback`: put the colour now on :8080 on :80 after verifying it. They are
    one operation — the previous colour is the one still running behind :8080."""
    missing = [s for s in ("alb", *COLORS) if (observed.alb if s == "alb"
                                                 else observed.colors[s].stack) is None]
    if missing:
        raise Refused(f"cannot {action}: stacks missing ({', '.join(missing)}); run "
                      f"`stackswap deploy --image IMAGE` first")
    waiting = first_blocker(all_stacks(observed), wait)
    if waiting:
        return Plan(action, (waiting,))
    refuse_drift(observed)
    live, target = observed.live_color, observed.idle_color
    image = observed.colors[target].image_parameter
    if not image:
        raise Refused(f"cannot {action}: the {target} stack has no Image parameter")
    return Plan(action, (Verify(target, image), Swap(live, target), VerifyLive(target, live)),
                (f"{action}: {target} ({image}) goes live, {live} "
                 f"({observed.colors[live].image_parameter}) moves to :8080",))
