"""How events are shown: plain lines when stderr is no terminal, a live progress line redrawn in
place on one, and the same events as JSON lines (output/log.py's sinks); the run report's
Markdown and HTML (output/run_report.py) held to golden files."""

from __future__ import annotations

import io
import json
import os
from contextlib import redirect_stdout
from pathlib import Path

import pytest
from stackswap.orchestrator.model import ColorState, ServiceState, TargetHealth
from stackswap.orchestrator.output.log import ERASE_LINE, JsonSink, Log, TextSink
from stackswap.orchestrator.output.run_report import render_report
from stackswap.orchestrator.plan import Verify

from tests.harness import VirtualClock


class Terminal(io.StringIO):
    def isatty(self) -> bool:
        return True


def a_verification(log: Log, clock: VirtualClock) -> None:
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
    a_verification(Log(stream, clock=clock), clock)
    assert stream.getvalue().splitlines() == [
        "[2/4] verify green: service steady on app:v2, targets healthy, smoke request answers "
        "2xx", "green verified"]
    assert "\x1b" not in stream.getvalue() and "\r" not in stream.getvalue()


def test_on_a_terminal_the_progress_line_is_redrawn_in_place():
    clock, stream = VirtualClock(), Terminal()
    a_verification(Log(stream, sinks=[TextSink(stream)], clock=clock), clock)
    out = stream.getvalue()
    assert out.count(ERASE_LINE) == 4  # three redraws, one erase before the next line
    assert f"{ERASE_LINE}[2/4] Verify · 10s · green · healthy 1/2 targets · tasks 2/2" \
        in out
    # what remains on the screen: the plain lines
    assert out.split(ERASE_LINE)[-1] == "green verified\n"


def test_json_sink_one_object_per_line_on_stdout():
    clock, out = VirtualClock(), io.StringIO()
    with redirect_stdout(out):
        a_verification(Log(io.StringIO(), sinks=[JsonSink()], clock=clock), clock)
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
    log = Log(stream, sinks=[TextSink(stream), JsonSink()], clock=clock)
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


# --- the run report (--report DIR): its Markdown and HTML, held to golden files ----------------

GOLDEN = Path(__file__).resolve().parent / "golden"
UPDATE = os.environ.get("STACKSWAP_UPDATE_GOLDEN") == "1"

REPORT_META = {
    "command": "stackswap deploy --config shop.toml --image 'app:v2' --report out",
    "subcommand": "deploy", "exit_code": 4, "config": "shop.toml", "environment": "shop",
    "caller": "arn:aws:iam::123456789012:user/a|b", "host": "ci-<runner>",
    "ci_run": "https://github.com/o/r/actions/runs/1", "version": "0.1.0",
    "before": {"production": "blue", "test": "green", "weights": {"blue": 100}, "retired": [],
               "images": {"blue": "app:v1", "green": "app:v0"}},
    "after": {"production": "blue", "test": "green", "weights": {"blue": 100}, "retired": [],
              "images": {"blue": "app:v1", "green": "app:v2&<x>"}},
}
REPORT_EVENTS = [
    {"type": "start", "time": "2024-05-01T10:00:00.000+00:00", "elapsed": 0.0},
    {"type": "phase_start", "number": 1, "total": 2, "text": "update shop-green | app:v2",
     "elapsed": 0.5},
    {"type": "stack_event", "stack": "shop-green", "logical_id": "Service",
     "status": "UPDATE_FAILED", "reason": "circuit breaker | tripped\nrolled back",
     "timestamp": "2024-05-01T10:00:09+00:00", "elapsed": 9.0},
    {"type": "stack_event", "stack": "shop-green", "logical_id": "Service",
     "status": "UPDATE_ROLLBACK_COMPLETE", "reason": None, "timestamp": None, "elapsed": 12.0},
    {"type": "health", "color": "green", "running": None, "desired": 2, "healthy": None,
     "unhealthy": None, "targets": None, "waiting_for": None, "elapsed": 3.25},
    {"type": "health", "color": "green", "running": 1, "desired": 2, "healthy": 0,
     "unhealthy": 1, "targets": 1, "waiting_for": "targets healthy", "elapsed": 6.0},
    {"type": "phase_end", "number": 1, "total": 2, "outcome": "failed", "seconds": 12.0,
     "elapsed": 12.5},
    {"type": "phase_start", "number": 2, "total": 2, "text": "verify <green>", "elapsed": 12.6},
    {"type": "result", "lines": ["blue is live on :80 with app:v1", "green <b>"],
     "elapsed": 13.0},
    {"type": "error", "message": "green failed | <exit 4>", "elapsed": 13.0},
    {"type": "end", "exit_code": 4, "elapsed": 13.125},
]


@pytest.mark.parametrize("index, name", [(0, "report.md"), (1, "report.html")])
def test_the_run_report_matches_golden(index, name):
    # Update with: STACKSWAP_UPDATE_GOLDEN=1 make test
    text = render_report(REPORT_META, REPORT_EVENTS)[index]
    golden = GOLDEN / name
    if UPDATE:
        golden.write_text(text, encoding="utf-8")
    assert golden.read_text(encoding="utf-8") == text
