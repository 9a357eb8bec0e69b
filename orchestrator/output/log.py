"""The event log: what is happening, as it happens. Each event goes to every sink: text lines
on stderr by default (with a live progress line on a terminal), JSON lines on stdout with
--output json, a Recorder for --report. A command's result goes to stdout once it is done."""

from __future__ import annotations

import json
import sys
import traceback
from datetime import UTC, datetime
from typing import TYPE_CHECKING, TextIO

from stackswap.orchestrator.model import ColorState, Observed, StackEvent
from stackswap.orchestrator.output.text import length_document, production_weights, weights_text

if TYPE_CHECKING:
    from stackswap.orchestrator.plan import PlanLength
    from stackswap.orchestrator.wait import Clock

# The log of the run in progress (cli.main activates it): print_result goes through it.
ACTIVE: list[Log] = []


class Log:
    """What is happening, as it happens: each event goes to every sink (the text on stderr by
    default; JSON lines on stdout with --output json; a Recorder for --report)."""

    def __init__(self, stream: TextIO | None = None, *, sinks: list | None = None,
                 clock: Clock | None = None) -> None:
        self.stream = stream or sys.stderr
        self.sinks = sinks if sinks is not None else [TextSink(self.stream)]
        self.clock = clock
        self.started = clock.now() if clock else 0.0

    def emit(self, kind: str, **fields: object) -> None:
        """One event (docs/events.schema.json) to every sink."""
        elapsed = round(self.clock.now() - self.started, 3) if self.clock else 0.0
        event = {"type": kind, "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                 "elapsed": elapsed, **fields}
        for sink in self.sinks:
            sink.emit(event)

    def say(self, message: str) -> None:
        self.emit("message", text=message)

    def event(self, stack: str, event: StackEvent) -> None:
        self.emit("stack_event", stack=stack, logical_id=event.logical_id,
                  resource_type=event.resource_type, status=event.status, reason=event.reason,
                  timestamp=event.timestamp.isoformat() if event.timestamp else None)

    def phase_start(self, number: int, total: int, step: object) -> None:
        self.emit("phase_start", number=number, total=total, step=type(step).__name__,
                  text=step.describe())

    def phase_end(self, number: int, total: int, step: object, outcome: str,
                  seconds: float) -> None:
        self.emit("phase_end", number=number, total=total, step=type(step).__name__,
                  text=step.describe(), outcome=outcome, seconds=round(seconds, 3))

    def health(self, color: str, state: ColorState | None, problems: list[str]) -> None:
        """A sample of a colour being verified: tasks and targets now, what it still lacks."""
        service = state.service if state is not None else None
        health = state.health if state is not None else None
        self.emit("health", color=color,
                  running=service.running if service else None,
                  desired=service.desired if service else None,
                  healthy=health.healthy if health else None,
                  unhealthy=health.unhealthy if health else None,
                  targets=(health.healthy + health.unhealthy + health.transient
                           if health else None),
                  waiting_for=problems[0] if problems else None)

    def traffic(self, observed: Observed) -> None:
        """What production forwards to now, each time stackswap has read it after a change."""
        self.emit("traffic", production=production_weights(observed))

    def gate(self, point: str, command: str, failed: str | None) -> None:
        """A deploy.hooks gate has run: passed, or why it failed."""
        self.emit("gate", point=point, command=command, passed=failed is None, detail=failed)

    def plan_length(self, length: PlanLength) -> None:
        """At a run's start: how long its plan takes at most (plan.plan_length)."""
        self.emit("plan_length", **length_document(length))

    def notification(self, channel: str, stage: str, failed: str | None) -> None:
        """A deploy.notify notification was sent, or why it could not be (a warning line)."""
        self.emit("notification", channel=channel, stage=stage, delivered=failed is None,
                  detail=failed)


def print_result(*lines: str, **fields: object) -> None:
    """A command's result, to stdout (through the run's log while one is active, as a `result`
    event with `fields` too)."""
    if ACTIVE:
        ACTIVE[-1].emit("result", lines=list(lines), **fields)
    else:
        print("\n".join(lines), flush=True)


def error_line(message: str) -> None:
    print(f"stackswap: {message}", file=sys.stderr)
    if ACTIVE:  # for the JSON lines and the report; the text sink prints no line for it
        ACTIVE[-1].emit("error", message=message)


def print_traceback() -> None:
    """The traceback of the exception being handled, to stderr (--debug)."""
    traceback.print_exc()


def verify_progress(color: str, state: ColorState | None, problems: list[str]) -> str:
    """A progress line of `verify`: what the colour has now, and what it still lacks."""
    have = []
    if state is not None and state.service is not None:
        have.append(f"{state.service.running}/{state.service.desired} tasks running")
    if state is not None and state.health is not None:
        have.append(f"{state.health.healthy} healthy, {state.health.unhealthy} unhealthy "
                    f"targets")
    return f"verifying {color}: {', '.join([*have, f'waiting for: {problems[0]}'])}"


# --- event sinks: text (default), JSON lines (--output json), a recorder (--report) -------------

ERASE_LINE = "\r\x1b[K"


class TextSink:
    """Events as the text lines stackswap has always printed: messages and stack events on
    stderr, results on stdout. On a terminal a live progress line (phase, elapsed, healthy
    targets) is redrawn in place under them; elsewhere only plain lines, no escape codes."""

    def __init__(self, stream: TextIO, live: bool | None = None) -> None:
        self.stream = stream
        self.live = stream.isatty() if live is None else live
        self.phase: dict | None = None
        self.weights: dict[str, int] | None = None
        self.drawn = False

    def emit(self, event: dict) -> None:
        kind = event["type"]
        if kind == "traffic":  # shown on the progress line, not a line of its own
            self.weights = event["production"]
            return
        if kind == "health":
            if self.live:
                self.draw(event)
            return
        if kind == "phase_start":
            self.phase = event
        line = event_text(event)
        if line is None:
            return
        self.clear()
        if kind == "result":
            print(line, file=sys.stdout, flush=True)
        else:
            print(line, file=self.stream, flush=True)

    def draw(self, event: dict) -> None:
        self.stream.write(ERASE_LINE + progress_line(self.phase, event, self.weights))
        self.stream.flush()
        self.drawn = True

    def clear(self) -> None:
        if self.drawn:
            self.stream.write(ERASE_LINE)
            self.drawn = False


def progress_line(phase: dict | None, sample: dict, weights: dict[str, int] | None = None
                  ) -> str:
    """The live line: phase, its elapsed time, healthy targets x/y, tasks, and production's
    current weights once a swap or a shift step has set them."""
    parts = []
    if phase is not None:
        parts.append(f"[{phase['number']}/{phase['total']}] {phase['step']}")
        parts.append(f"{sample['elapsed'] - phase['elapsed']:.0f}s")
    parts.append(sample["color"])
    if sample["targets"] is not None:
        parts.append(f"healthy {sample['healthy']}/{sample['targets']} targets")
    if sample["desired"] is not None:
        parts.append(f"tasks {sample['running']}/{sample['desired']}")
    if weights:
        parts.append("production " + weights_text(weights))
    return " · ".join(parts)


def event_text(event: dict) -> str | None:
    """An event as a text line (None: the event has no line of its own)."""
    kind = event["type"]
    if kind == "message":
        return event["text"]
    if kind == "stack_event":
        when = event["timestamp"][11:19] if event["timestamp"] else ""
        reason = f"  {event['reason']}" if event["reason"] else ""
        return f"  {when} {event['stack']} {event['logical_id']} {event['status']}{reason}"
    if kind == "phase_start":
        return f"[{event['number']}/{event['total']}] {event['text']}"
    if kind == "result":
        return "\n".join(event["lines"])
    if kind == "plan_length":
        return f"this plan takes {event['text']}"
    if kind == "gate":
        return f"gate {event['point']}: {'passed' if event['passed'] else event['detail']}"
    if kind == "notification" and not event["delivered"]:
        return (f"warning: could not notify {event['channel']} of the {event['stage']} "
                f"({event['detail']}); the run goes on")
    return None


class JsonSink:
    """Every event as one JSON object per line on stdout (--output json)."""

    def emit(self, event: dict) -> None:
        print(json.dumps(event, default=str), file=sys.stdout, flush=True)


class Recorder:
    """Keeps every event of the run for its report (--report DIR)."""

    def __init__(self) -> None:
        self.events: list[dict] = []

    def emit(self, event: dict) -> None:
        self.events.append(event)


def make_log(output: str, clock: Clock, recorder: Recorder | None = None) -> Log:
    sinks: list = [JsonSink() if output == "json" else TextSink(sys.stderr)]
    if recorder is not None:
        sinks.append(recorder)
    return Log(sys.stderr, sinks=sinks, clock=clock)

