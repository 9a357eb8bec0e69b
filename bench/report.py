"""The three tables (markdown, printed as they are written) with each target beside its figure,
and bench/results.md rendered from results.md.j2 with jinja2."""

from __future__ import annotations

import math
import os
import platform
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import jinja2

from bench.build import SuiteResult
from bench.deploy import BrokenImageResult, DeployResult
from bench.detection import ToolResult
from bench.shift import ShiftResult
from bench.stats import Target, maximum, median, seconds

TEMPLATE = Path(__file__).with_name("results.md.j2")

DELAY_TARGET_SECONDS = 0.5
CALLS_TARGET_PER_SECOND = 1.5
INSTANT_RATIO_TARGET = 0.5
REALISTIC_SOONER_TARGET_SECONDS = 20.0
RENDER_TARGET_SECONDS = 1.5
TEST_TARGET_SECONDS = 180.0
# A broken image is caught within the sandbox's circuit-breaker setting plus this (issue 13).
BROKEN_IMAGE_MARGIN_SECONDS = 5.0


@dataclass(frozen=True)
class Table:
    title: str
    headers: list[str]
    rows: list[list[str]]

    def markdown(self) -> str:
        widths = [max(len(cell) for cell in column)
                  for column in zip(self.headers, *self.rows, strict=True)]

        def line(cells: list[str]) -> str:
            return "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)) \
                + " |"

        return "\n".join([line(self.headers), "|" + "|".join("-" * (w + 2) for w in widths)
                          + "|", *(line(row) for row in self.rows)])


@dataclass
class Report:
    tables: list[Table] = field(default_factory=list)
    targets: list[tuple[str, Target]] = field(default_factory=list)  # (what, target)

    def target(self, what: str, text: str, met: bool) -> str:
        target = Target(text, met)
        self.targets.append((what, target))
        return str(target)


def _calls(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f}"


def detection_table(report: Report, results: list[ToolResult], rounds: int) -> None:
    rows = []
    for result in results:
        middle, ninetieth, worst = result.summary()
        rate = result.calls_per_second
        target = "peer (no target)"
        if result.name.startswith("stackswap"):
            target = "; ".join([
                report.target("detection delay median", f"median ≤ {DELAY_TARGET_SECONDS} s",
                              middle <= DELAY_TARGET_SECONDS),
                report.target("describe calls per second per stack",
                              f"≤ {CALLS_TARGET_PER_SECOND} calls/s",
                              rate <= CALLS_TARGET_PER_SECOND)])
        stacks = len(result.samples) // rounds if rounds else 0
        rows.append([result.name, f"{len(result.samples)} ({stacks} stacks × {rounds})",
                     seconds(middle), seconds(ninetieth), seconds(worst), _calls(rate), target])
    report.tables.append(Table(
        "1. Detection delay: stack finished → the waiting tool returns (operations of 2–20 s)",
        ["waiting tool", "samples", "median", "p90", "max", "describe calls/s per stack",
         "target"], rows))


def _spread(values: list[float]) -> str:
    if not values:
        return "–"
    return f"{median(values):.1f} s ({min(values):.1f}–{maximum(values):.1f})"


def deploy_table(report: Report, results: list[DeployResult]) -> None:
    rows = []
    for result in results:
        ours, theirs = median(result.stackswap), median(result.cli)
        ratio, sooner = ours / theirs if theirs else math.nan, theirs - ours
        instant = result.setting.service_seconds < 1
        if instant:
            target = report.target("end-to-end, instant stacks",
                                   f"ratio ≤ {INSTANT_RATIO_TARGET}",
                                   ratio <= INSTANT_RATIO_TARGET)
        else:
            target = report.target("end-to-end, realistic stacks",
                                   f"≥ {REALISTIC_SOONER_TARGET_SECONDS:.0f} s sooner",
                                   sooner >= REALISTIC_SOONER_TARGET_SECONDS)
        rows.append([result.setting.label, str(result.setting.rounds),
                     _spread(result.stackswap), _spread(result.cli),
                     f"{ratio:.2f}", f"{sooner:.1f} s", target])
    report.tables.append(Table(
        "2. End-to-end deploy (update idle → verify → swap → verify), wall time, median "
        "(min–max)",
        ["stack operations", "rounds", "stackswap deploy", "AWS CLI procedure",
         "stackswap / CLI", "CLI − stackswap", "target"], rows))


def broken_image_table(report: Report, result: BrokenImageResult) -> None:
    limit = result.circuit_breaker_seconds + BROKEN_IMAGE_MARGIN_SECONDS
    target = report.target("unhealthy image caught",
                           f"exit 4 within ≤ {limit:g} s (circuit breaker + "
                           f"{BROKEN_IMAGE_MARGIN_SECONDS:g} s)",
                           result.exit_code == 4 and result.seconds <= limit)
    report.tables.append(Table(
        "2b. A broken image: deploy start to exit 4, instant stack operations",
        ["what", "exit", "time", "sandbox circuit breaker", "target"],
        [["`stackswap deploy --image app:vN-unhealthy`", str(result.exit_code),
          f"{result.seconds:.1f} s", f"{result.circuit_breaker_seconds:g} s", target]]))
SPLIT_TOLERANCE_PP = 3.0
SPLIT_MIN_REQUESTS = 2000
ALARM_SLACK_SECONDS = 2.0


def shift_table(report: Report, result: ShiftResult, alb_seconds: float) -> None:
    """Table 4: traffic shifting (bench/shift.py)."""
    rows = []
    for number, step in enumerate(result.steps, 1):
        met = (step.requests >= SPLIT_MIN_REQUESTS
               and abs(step.observed - step.weight) <= SPLIT_TOLERANCE_PP)
        rows.append([f"linear step {number}: new colour at {step.weight} %",
                     f"{step.observed:.1f} % of {step.requests} requests",
                     report.target(f"split at step {number}",
                                   f"±{SPLIT_TOLERANCE_PP:g} pp over ≥ {SPLIT_MIN_REQUESTS}",
                                   met)])
    for what, sent, failed in (("a whole linear shift", result.shift_sent, result.shift_failed),
                               ("a shift stopped by SIGTERM, then `rollback`",
                                result.rollback_sent, result.rollback_failed)):
        rows.append([f"failed requests across {what}", f"{failed} of {sent}",
                     report.target(f"no failed request across {what}", "0", failed == 0)])
    limit = alb_seconds + ALARM_SLACK_SECONDS
    back = result.alarm_back_seconds
    rows.append(["alarm set to ALARM during a step → production all on the old colour",
                 "not seen" if back is None else seconds(back),
                 report.target("alarm to old colour", f"≤ one ALB update ({alb_seconds:g} s) "
                               f"+ {ALARM_SLACK_SECONDS:g} s",
                               back is not None and back <= limit)])
    rollback, start = result.retired_rollback_seconds, result.task_start_seconds
    rows.append(["`rollback` to a retired colour (start tasks, verify, swap)",
                 "–" if rollback is None else seconds(rollback),
                 "of which the tasks starting and passing health checks: "
                 + ("not seen" if start is None else seconds(start))])
    report.tables.append(Table("4. Traffic shifting (sandbox, real HTTP through the "
                               "production proxy)", ["what", "measured", "target"], rows))


def build_table(report: Report, render: list[float], suite: SuiteResult | None) -> None:
    middle = median(render)
    rows = [[f"`make render` (`stackswap render --out <tmp>`, median of "
              f"{len(render)})",
             seconds(middle), report.target("make render", f"≤ {RENDER_TARGET_SECONDS} s",
                                            middle <= RENDER_TARGET_SECONDS)]]
    if suite is None:
        rows.append(["`make test`", "skipped (--skip-tests)", "–"])
    else:
        passed = suite.returncode == 0
        rows.append([f"`make test` (once: {suite.summary})",
                     f"{suite.seconds:.0f} s",
                     report.target("make test", f"≤ {TEST_TARGET_SECONDS / 60:.0f} min"
                                   + ("" if passed else " (and the suite failed)"),
                                   passed and suite.seconds <= TEST_TARGET_SECONDS)])
    report.tables.append(Table("3. Build and test", ["what", "time", "target"], rows))


def machine() -> str:
    return (f"{platform.platform()}, {os.cpu_count()} CPUs, Python "
            f"{platform.python_version()}")


def now() -> str:
    return datetime.now(UTC).strftime("%Y-%m-%d %H:%M UTC")


def write_results(path: Path, report: Report, **context: object) -> None:
    environment = jinja2.Environment(loader=jinja2.FileSystemLoader(TEMPLATE.parent),
                                     keep_trailing_newline=True, trim_blocks=True,
                                     lstrip_blocks=True, undefined=jinja2.StrictUndefined,
                                     autoescape=False)
    text = environment.get_template(TEMPLATE.name).render(report=report, **context)
    path.write_text(text, encoding="utf-8")
