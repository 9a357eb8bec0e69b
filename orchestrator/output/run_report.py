"""The run report (--report DIR): report.md and report.html of who ran what, from where, what
happened and how to undo it. Its templates are the files in templates/."""

from __future__ import annotations

import shlex
from pathlib import Path

from stackswap.orchestrator.model import Observed
from stackswap.orchestrator.output.text import production_weights

TEMPLATES = Path(__file__).resolve().parent / "templates"


def traffic_document(observed: Observed) -> dict:
    """Where traffic goes and which image each colour has: a report's before and after."""
    return {"production": observed.live_color, "test": observed.test_color,
            "weights": production_weights(observed), "retired": observed.retired,
            "paths": {"production": observed.paths.production, "test": observed.paths.test},
            "images": {color: state.image_parameter
                       for color, state in observed.colors.items()}}


def undo_command(meta: dict) -> str:
    """The exact command that puts back what the run changed (or why there is none)."""
    before, after = meta["before"], meta["after"]
    config = shlex.quote(meta["config"])
    if before is None or after is None:
        return "unknown: the state before or after the run could not be read (stackswap status)"
    if before["production"] is None:
        return "none: nothing served production before this run"
    if meta["subcommand"] == "update-alb":
        return ("put the config back as it was, then "
                f"`stackswap update-alb --config {config}`")
    if sum(weight > 0 for weight in after.get("weights", {}).values()) > 1:
        # A shift stopped half-way: rollback puts all of production back on the old colour.
        return f"stackswap rollback --config {config} --to {before['production']}"
    if after["production"] and after["production"] != before["production"]:
        verb = "swap" if meta["subcommand"] == "rollback" else "rollback"
        return f"stackswap {verb} --config {config} --to {before['production']}"
    if retired := [color for color in after.get("retired", ())
                   if color not in before.get("retired", ()) and after["images"].get(color)]:
        # A retire: a deploy of the colour's own image (no swap) starts its tasks again.
        return " && ".join(f"stackswap deploy --config {config} --image "
                           f"{shlex.quote(after['images'][color])} --color {color} --no-swap"
                           for color in retired)
    commands = [f"stackswap deploy --config {config} --image {shlex.quote(image)} --color "
                f"{color} --no-swap"
                for color, image in before["images"].items()
                if image and after["images"].get(color) != image
                and color != after["production"]]
    return " && ".join(commands) or "none: production and both colours are as before the run"


def timeline(events: list[dict]) -> list[dict]:
    """The phases of the run, each with its start (seconds into the run), duration, outcome."""
    phases: list[dict] = []
    for event in events:
        if event["type"] == "phase_start":
            phases.append({"number": event["number"], "total": event["total"],
                           "text": event["text"], "start": event["elapsed"],
                           "seconds": None, "outcome": "unfinished"})
        elif event["type"] == "phase_end" and phases:
            phases[-1] |= {"seconds": event["seconds"], "outcome": event["outcome"]}
    return phases


def report_context(meta: dict, events: list[dict]) -> dict:
    end = next((e for e in reversed(events) if e["type"] == "end"), None)
    errors = [e["message"] for e in events if e["type"] == "error"]
    results = [line for e in events if e["type"] == "result" for line in e["lines"]]
    outcome = "succeeded" if meta["exit_code"] == 0 else f"failed (exit {meta['exit_code']})"
    return {
        "meta": meta, "outcome": outcome, "undo": undo_command(meta),
        "phases": timeline(events),
        "stack_events": [e for e in events if e["type"] == "stack_event"],
        "health": [e for e in events if e["type"] == "health"],
        "messages": [e for e in events if e["type"] == "message"],
        "results": results, "errors": errors,
        "started": events[0]["time"] if events else "", "seconds": end["elapsed"] if end else 0,
    }


def md_cell(value: object) -> str:
    return str("" if value is None else value).replace("|", "\\|").replace("\n", " ")


def render_report(meta: dict, events: list[dict]) -> tuple[str, str]:
    """The report as Markdown and as a single HTML file (inline CSS, no script)."""
    import jinja2  # only when a report is asked for

    context = report_context(meta, events)
    loader = jinja2.FileSystemLoader(TEMPLATES)
    markdown_env = jinja2.Environment(loader=loader, autoescape=False,
                                      keep_trailing_newline=True)
    markdown_env.filters["cell"] = md_cell
    html_env = jinja2.Environment(loader=loader, autoescape=True, keep_trailing_newline=True)
    return (markdown_env.get_template("report.md.j2").render(context),
            html_env.get_template("report.html.j2").render(context))


def write_report(directory: str, meta: dict, events: list[dict]) -> str:
    """Write report.md and report.html into `directory` (made if missing); the Markdown."""
    markdown, html = render_report(meta, events)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(markdown, encoding="utf-8")
    (folder / "report.html").write_text(html, encoding="utf-8")
    return markdown

