"""How events are shown: plain lines when stderr is no terminal, a live progress line redrawn in
place on one, and the same events as JSON lines (report.py's sinks)."""

from __future__ import annotations

import io
import json
from contextlib import redirect_stdout

from stackswap.orchestrator import report
from stackswap.orchestrator.model import ColorState, ServiceState, TargetHealth
from stackswap.orchestrator.plan import Verify

from tests.harness import VirtualClock


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def a_verification(log: report.Log, clock: VirtualClock) -> None:
    step = Verify("green", "app:v2")
    log.phase_start(2, 4, step)
    for healthy in (0, 1, 2):
        clock.sleep(5)
        state = ColorState("green", None, None, ServiceState(2, 2, 0, 1, "app:v2"),
                           TargetHealth(healthy, 0, 2 - healthy))
        log.health("green", state, [] if healthy == 2 else ["targets healthy"])
    log.say("green verified")
    log.phase_end(2, 4, step, "done", 15)


def test_no_terminal_plain_lines_and_no_escape_codes():
    clock, stream = VirtualClock(), io.StringIO()
    a_verification(report.Log(stream, clock=clock), clock)
    assert stream.getvalue().splitlines() == [
        "[2/4] verify green: service steady on app:v2, targets healthy, smoke request answers "
        "2xx", "green verified"]
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_on_a_terminal_the_progress_line_is_redrawn_in_place():
    clock, stream = VirtualClock(), Terminal()
    a_verification(report.Log(stream, sinks=[report.TextSink(stream)], clock=clock), clock)
    out = stream.getvalue()
    assert out.count(report.ERASE_LINE) == 4  # three redraws, one erase before the next line
    assert f"{report.ERASE_LINE}[2/4] Verify · 10s · green · healthy 1/2 targets · tasks 2/2" \
        in out
    # what remains on the screen: the plain lines
    assert out.split(report.ERASE_LINE)[-1] == "green verified\n"


def test_json_sink_one_object_per_line_on_stdout():
    clock, out = VirtualClock(), io.StringIO()
    with redirect_stdout(out):
        a_verification(report.Log(io.StringIO(), sinks=[report.JsonSink()], clock=clock), clock)
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert [e["type"] for e in events] == ["phase_start", "health", "health", "health",
                                           "message", "phase_end"]
    assert events[2] | {"time": None} == {
        "type": "health", "time": None, "elapsed": 10.0, "color": "green", "running": 2,
        "desired": 2, "healthy": 1, "unhealthy": 0, "targets": 2,
        "waiting_for": "targets healthy"}


def test_the_progress_line_shows_production_weights_and_gates_are_lines_and_events():
    """During a shift the live line carries production's current weights, read from the load
    balancer after each step (the `traffic` event); a gate's verdict is a line and an event."""
    from stackswap.orchestrator.model import Observed

    clock, stream = VirtualClock(), Terminal()
    out = io.StringIO()
    log = report.Log(stream, sinks=[report.TextSink(stream), report.JsonSink()], clock=clock)
    observed = Observed(None, {c: ColorState(c, None, f"arn:{c}") for c in ("blue", "green")},
                        production=[("arn:blue", 75), ("arn:green", 25)])
    with redirect_stdout(out):
        log.traffic(observed)
        log.gate("after_step", "./slo.sh", "exit 1")
        a_verification(log, clock)
    assert "healthy 1/2 targets · tasks 2/2 · production blue 75 % / green 25 %" in \
        stream.getvalue()
    assert "gate after_step: exit 1\n" in stream.getvalue()
    events = [json.loads(line) for line in out.getvalue().splitlines()]
    assert events[0]["production"] == {"blue": 75, "green": 25}
    assert {k: events[1][k] for k in ("type", "point", "passed", "detail")} == {
        "type": "gate", "point": "after_step", "passed": False, "detail": "exit 1"}
