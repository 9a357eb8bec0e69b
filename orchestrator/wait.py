"""Wait for a stack operation to finish: our own poll loop with an injected clock.

Why not boto3's waiter: it polls every 30 s, so it notices a finished stack 15 s late on
average. Here the first poll comes 0.1 s after the call and the interval doubles to a 0.8 s cap
(0.1, 0.2, 0.4, 0.8, 0.8, … with ±10% jitter so parallel runs do not poll in lockstep). The
quick first polls are for operations that change little (a listener swap can finish in well
under a second); the cap bounds the cost of a long wait. `make bench` measures both the delay
and the call rate (bench/results.md).

Each poll is one DescribeStackEvents call: it streams the new events and shows the stack's own
terminal event, which ends the wait at once — its status and reason are the stack's. Every
30 s a DescribeStacks is asked as well, in case the stream ever missed that event. A poll that
fails (network, throttling past botocore's retries) is never read as a failed stack: polling
goes on, until AWS has not answered for `unreachable_timeout` seconds in a row (exit 7, rerun to
resume) or the deadline passes. No wait is silent: a progress line comes at least every
PROGRESS_SECONDS.
"""

from __future__ import annotations

import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Protocol

from stackswap.environment.errors import AwsUnreachable, StackswapError, StateUnknown
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.model import IN_PROGRESS, StackEvent, failed, outcome
from stackswap.orchestrator.observe import read_stack, read_stack_events


class Clock(Protocol):
    def now(self) -> float: ...

    def wall(self) -> float: ...  # Unix seconds: what another machine can compare (the lock)

    def sleep(self, seconds: float) -> None: ...


class SystemClock:
    def now(self) -> float:
        return time.monotonic()

    def wall(self) -> float:
        return time.time()

    def sleep(self, seconds: float) -> None:
        time.sleep(seconds)


PROGRESS_SECONDS = 10.0


class Heartbeat:
    """A progress line at most every PROGRESS_SECONDS of the clock, so no wait is silent."""

    def __init__(self, clock: Clock, say: Callable[[str], None]) -> None:
        self.clock, self.say = clock, say
        self.started = clock.now()
        self.next = self.started + PROGRESS_SECONDS

    def elapsed(self) -> float:
        return self.clock.now() - self.started

    def beat(self, line: str) -> None:
        if self.clock.now() >= self.next:
            self.next = self.clock.now() + PROGRESS_SECONDS
            self.say(f"  {line} ({self.elapsed():.0f} s)")


class Outage:
    """Calls to AWS that failed in a row: past `limit` seconds of them, the run gives up with
    exit 7 rather than wait silently for a deadline that may be half an hour away."""

    def __init__(self, clock: Clock, limit: float, doing: str) -> None:
        self.clock, self.limit, self.doing = clock, limit, doing
        self.since: float | None = None
        self.last = ""

    def failed(self, error: StackswapError) -> None:
        now = self.clock.now()
        self.since = now if self.since is None else self.since
        self.last = error.message
        if now - self.since >= self.limit:
            raise StateUnknown(f"AWS has not answered for {now - self.since:.0f} s while "
                               f"{self.doing} ({error.message}). CloudFormation carries on; "
                               f"rerun the same command to resume") from None

    def answered(self) -> None:
        self.since = None

    def describe(self) -> str | None:
        if self.since is None:
            return None
        return f"AWS not answering for {self.clock.now() - self.since:.0f} s ({self.last})"


@dataclass(frozen=True)
class Schedule:
    first: float = 0.1
    growth: float = 2.0
    cap: float = 0.8
    jitter: float = 0.1
    confirm_seconds: float = 30.0  # a DescribeStacks this often, as a safety net

    def interval(self, poll: int, rand: Callable[[], float] = random.random) -> float:
        """Seconds to sleep before poll number `poll` (0-based)."""
        # The exponent is bounded: growth ** poll overflows a float after a thousand polls
        # (a quarter of an hour of waiting), long after the cap is reached.
        base = min(self.cap, self.first * self.growth ** min(poll, 64))
        return base * (1 + self.jitter * (2 * rand() - 1))


class DeadlineExceeded(StackswapError):
    """The stack did not finish before the deadline. Not a StateUnknown: the state is known
    (still in progress), and only the executor decides what follows (cancel what is ours)."""

    exit_code = StateUnknown.exit_code

    def __init__(self, stack: str, status: str, seconds: float,
                 made_of: str = "deploy.stack_timeout_seconds") -> None:
        super().__init__(f"{stack} is still {status} after {seconds:.0f} s (the deadline, "
                         f"{made_of})")
        self.stack = stack
        self.status = status


@dataclass(frozen=True)
class WaitResult:
    stack: str
    status: str  # the stack's terminal status
    reason: str  # and the reason CloudFormation gave for it
    first_failure: StackEvent | None

    @property
    def outcome(self) -> str:
        return outcome(self.status)

    def failure_text(self) -> str:
        event = self.first_failure
        if event is None:
            return self.reason or self.status
        return f"{event.logical_id} {event.status}: {event.reason or 'no reason given'}"


def wait_for_stack(aws: Aws, stack: str, *, marker: str | None, timeout: float, clock: Clock,
                   on_event: Callable[[StackEvent], None] = lambda event: None,
                   on_progress: Callable[[str], None] = lambda line: None,
                   unreachable_timeout: float = 60.0,
                   schedule: Schedule = Schedule(),
                   rand: Callable[[], float] = random.random,
                   deadline_made_of: str = "deploy.stack_timeout_seconds") -> WaitResult:
    """Poll until `stack` leaves *_IN_PROGRESS; raise DeadlineExceeded after `timeout` s (the
    operation's deadline, `deadline_made_of` says of what: plan.operation_deadline), and
    StateUnknown once AWS has not answered for `unreachable_timeout` s in a row."""
    started = clock.now()
    deadline, next_confirm = started + timeout, started + schedule.confirm_seconds
    seen, first_failure, status, poll = marker, None, "IN_PROGRESS", 0
    heartbeat = Heartbeat(clock, on_progress)
    outage = Outage(clock, unreachable_timeout, f"waiting for {stack}")
    while True:
        clock.sleep(schedule.interval(poll, rand))
        poll += 1
        try:
            for event in read_stack_events(aws, stack, seen):
                on_event(event)
                seen = event.event_id
                if event.is_stack and event.logical_id == stack:
                    status = event.status
                    if outcome(status) != IN_PROGRESS:  # the stack's own terminal event
                        return WaitResult(stack, status, event.reason, first_failure)
                elif failed(event.status) and first_failure is None:
                    first_failure = event
            confirm = clock.now() >= next_confirm
            if confirm:
                next_confirm = clock.now() + schedule.confirm_seconds
                described = read_stack(aws, stack)
        except AwsUnreachable as error:
            outage.failed(error)  # a failed poll says nothing about the stack: poll again
        except StateUnknown as error:  # credentials gone: no later poll can succeed
            raise StateUnknown(f"lost track of {stack} while waiting for it: {error.message}. "
                               f"CloudFormation carries on; rerun the same command to resume"
                               ) from None
        else:
            outage.answered()
            if confirm and described is None:
                raise StateUnknown(f"{stack} disappeared while waiting for it")
            if confirm:
                status = described.status
                if outcome(status) != IN_PROGRESS:
                    return WaitResult(stack, status, described.reason, first_failure)
        if clock.now() >= deadline:
            raise DeadlineExceeded(stack, status, timeout, deadline_made_of)
        heartbeat.beat(outage.describe() or f"waiting for {stack}: {status}")
