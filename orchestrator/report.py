"""All output of the orchestrator: events and progress to stderr as they happen; results
(summary, plan, status text or JSON) to stdout once a command is done."""

from __future__ import annotations

import json
import shlex
import sys
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, TextIO

from stackswap.environment.config import Config
from stackswap.environment.names import OUTPUT_PRIVATE_DNS_NAME
from stackswap.orchestrator.model import ColorState, Observed, StackEvent

if TYPE_CHECKING:
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

    def notification(self, channel: str, stage: str, failed: str | None) -> None:
        """A deploy.notify notification was sent, or why it could not be (a warning line)."""
        self.emit("notification", channel=channel, stage=stage, delivered=failed is None,
                  detail=failed)


def production_weights(observed: Observed) -> dict[str, int]:
    """Production's weights in % by colour ("other" for a target group not one of ours)."""
    weights: dict[str, int] = {}
    for arn, weight in observed.production:
        color = observed.color_of(arn) or "other"
        weights[color] = weights.get(color, 0) + weight
    total = sum(weights.values()) or 1
    return {color: round(100 * weight / total) for color, weight in weights.items()}


def weights_text(weights: dict[str, int]) -> str:
    return " / ".join(f"{color} {weight} %" for color, weight in sorted(weights.items()))


def print_result(*lines: str) -> None:
    """A command's result, to stdout (through the run's log while one is active)."""
    if ACTIVE:
        ACTIVE[-1].emit("result", lines=list(lines))
    else:
        print("\n".join(lines))


def error_line(message: str) -> None:
    print(f"stackswap: {message}", file=sys.stderr)
    if ACTIVE:  # for the JSON lines and the report; the text sink prints no line for it
        ACTIVE[-1].emit("error", message=message)


def plan_text(lines: list[str], dry_run: bool) -> list[str]:
    return ["dry run, nothing changed:", *lines] if dry_run else lines


def verify_progress(color: str, state: ColorState | None, problems: list[str]) -> str:
    """A progress line of `verify`: what the colour has now, and what it still lacks."""
    have = []
    if state is not None and state.service is not None:
        have.append(f"{state.service.running}/{state.service.desired} tasks running")
    if state is not None and state.health is not None:
        have.append(f"{state.health.healthy} healthy, {state.health.unhealthy} unhealthy "
                    f"targets")
    return f"verifying {color}: {', '.join([*have, f'waiting for: {problems[0]}'])}"


def summary(observed: Observed) -> str:
    live, idle = observed.live_color, observed.idle_color
    if live is None:
        return "no live colour"
    paths = observed.paths
    return (f"{live} is live on {paths.production} with "
            f"{observed.colors[live].image_parameter}; {idle} is on {paths.test} with "
            f"{observed.colors[idle].image_parameter}")


@dataclass(frozen=True)
class TestAnswer:
    """`status`'s one GET of the test URL from this machine."""

    request: str  # the URL, and the host sent in host mode
    status: int | None  # None: no HTTP answer
    detail: str

    @property
    def answers(self) -> bool:
        return self.status is not None and 200 <= self.status < 300


def duration_text(seconds: float) -> str:
    """"40s", "3m", "2h": how status says how long until something."""
    seconds = max(0, round(seconds))
    if seconds < 120:
        return f"{seconds}s"
    if seconds < 7200:
        return f"{round(seconds / 60)}m"
    return f"{round(seconds / 3600)}h"


def since_update(observed: Observed, now: datetime | None) -> float | None:
    """Seconds since the ALB stack's last update began (when the current step or swap did)."""
    updated = observed.alb.updated if observed.alb else None
    if now is None or updated is None:
        return None
    return (now - updated).total_seconds()


def shift_document(observed: Observed, now: datetime | None) -> dict | None:
    shift = observed.shift
    if shift is None:
        return None
    elapsed = since_update(observed, now)
    return {"from": shift.from_color, "to": shift.to_color, "weight": shift.weight,
            "step": shift.step, "steps": shift.spec.steps, "strategy": shift.spec.strategy,
            "interval_seconds": shift.spec.interval_seconds,
            "next_step_in_seconds": None if elapsed is None
            else round(shift.spec.interval_seconds - elapsed)}


def bake_document(config: Config, observed: Observed, now: datetime | None,
                  retired: list[str]) -> dict | None:
    """The bake after the last swap: while deploy.bake has not passed since the ALB stack's
    last update and the old colour still runs."""
    bake, elapsed, idle = config.deploy.bake_seconds, since_update(observed, now), \
        observed.idle_color
    if not bake or elapsed is None or observed.shift is not None or idle is None \
            or idle in retired or observed.rollback_release is None:
        return None
    left = bake - elapsed
    return {"color": idle, "seconds_left": max(0, round(left)), "retire": config.deploy.retire}


def shift_text(shift: dict) -> str:
    left = shift["next_step_in_seconds"]
    when = ("" if left is None else f", next in {duration_text(left)}" if left > 0
            else ", next step overdue: rerun the deploy to resume, or `stackswap rollback`")
    return (f"shifting: {shift['to']} {shift['weight']} % (step {shift['step']} of "
            f"{shift['steps']}{when})")


def bake_text(bake: dict) -> str:
    if bake["seconds_left"] > 0:
        return f"baking: {bake['color']} stays warm for {duration_text(bake['seconds_left'])}"
    then = ("`stackswap retire` scales it to zero" if bake["retire"] == "manual"
            else "the deploy retires it")
    return f"baked: {bake['color']} is still warm; {then}"


def status_document(config: Config, observed: Observed, test: TestAnswer | None = None,
                    now: datetime | None = None) -> dict:
    """What `status --json` prints: a stable, documented shape (docs/status.md)."""
    colors = {}
    for color, state in observed.colors.items():
        service, health = state.service, state.health
        colors[color] = {
            "stack": config.service_stack(color),
            "stack_status": state.stack.status if state.stack else None,
            "image": state.image_parameter,
            "running_image": service.image if service else None,
            "desired_tasks": service.desired if service else None,
            "running_tasks": service.running if service else None,
            "deployments": service.deployments if service else None,
            "healthy_targets": health.healthy if health else None,
            "unhealthy_targets": health.unhealthy if health else None,
            **task_definition_document(config, state),
        }
    retired = observed.retired
    return {
        "environment": config.name, "region": config.region,
        "alb_stack": config.alb_stack,
        "alb_stack_status": observed.alb.status if observed.alb else None,
        "live": observed.live_color, "idle": observed.idle_color,
        "listeners": {"production": observed.paths.production,
                      "test": observed.paths.test},
        "forwards": {"production": observed.describe_forwards(observed.production),
                     "test": observed.describe_forwards(observed.test)},
        "private_dns_name": (observed.alb.outputs.get(OUTPUT_PRIVATE_DNS_NAME)
                             if observed.alb else None),
        "test_url": None if test is None else {
            "request": test.request, "answers": test.answers, "status": test.status,
            "detail": test.detail},
        "alb_differences": (None if observed.alb_differences is None
                            else list(observed.alb_differences)),
        "drift": observed.drift(), "colors": colors,
        "termination_protection": {
            stack.name: stack.termination_protection
            for stack in [observed.alb] + [s.stack for s in observed.colors.values()] if stack},
        "alb_stack_policy": observed.alb_stack_policy,
        "alarms": alarms_document(config, observed),
        "shift": shift_document(observed, now),
        "retired": retired,
        "bake": bake_document(config, observed, now, retired),
    }


def task_definition_document(config: Config, state: ColorState) -> dict:
    """A colour's task definition as `status` shows it: the revision, the app image, the
    environment and secret NAMES (never their values), the sidecars, the autoscaling bounds."""
    service = state.service
    view = service.task_definition if service else None
    app = view.container(config.service.container_name) if view else None
    scaling = service.scaling if service else None
    return {
        "task_definition": view.arn if view else None,
        "task_definition_revision": view.revision if view else None,
        "environment": [name for name, _ in app.environment] if app else None,
        "secrets": [name for name, _ in app.secrets] if app else None,
        "sidecars": ([{"name": c.name, "image": c.image} for c in view.containers
                      if c.name != config.service.container_name] if view else None),
        "autoscaling": (None if scaling is None else {
            "min": scaling.min, "max": scaling.max, "suspended": scaling.suspended}),
    }


def alarms_document(config: Config, observed: Observed) -> list[dict]:
    """The configured alarms (deploy.alarms) with their state; MISSING when CloudWatch has none
    of that name."""
    return [{"name": name, "state": observed.alarms[name].state if name in observed.alarms
             else "MISSING"} for name in config.deploy.alarms]


def protection_warnings(document: dict) -> list[str]:
    """What an administrator must set once on stacks stackswap did not create (the deploy role
    cannot): docs/adopting-stacks.md."""
    lines = [f"warning: {name} has no termination protection (an administrator: aws "
             f"cloudformation update-termination-protection --enable-termination-protection "
             f"--stack-name {name})"
             for name, on in document["termination_protection"].items() if not on]
    if document["alb_stack_policy"] is False:
        lines.append(f"warning: {document['alb_stack']} has no stack policy (an administrator: "
                     f"aws cloudformation set-stack-policy --stack-name {document['alb_stack']} "
                     f"--stack-policy-body file://templates/alb-stack-policy.json)")
    return lines


def status_text(document: dict) -> str:
    if document["alb_stack_status"] is None:
        return (f"environment {document['environment']}: no stacks yet "
                f"(create them with `stackswap deploy --image IMAGE`)")
    lines = [
        f"environment {document['environment']} ({document['region']}), "
        f"{document['alb_stack']} {document['alb_stack_status']}",
        f"live: {document['live']}   idle: {document['idle']}",
        *(f"{document['listeners'][path]} -> {document['forwards'][path]}"
          for path in ("production", "test")),
        f"{'colour':7} {'stack status':26} {'image':28} {'tasks':7} {'healthy':8} unhealthy",
    ]
    for color, c in document["colors"].items():
        tasks = (f"{c['running_tasks']}/{c['desired_tasks']}" if c["desired_tasks"] is not None
                 else "-")
        healthy = c["healthy_targets"] if c["healthy_targets"] is not None else "-"
        unhealthy = c["unhealthy_targets"] if c["unhealthy_targets"] is not None else "-"
        lines.append(f"{color:7} {c['stack_status'] or 'missing':26} {c['image'] or '-':28} "
                     f"{tasks:7} {healthy!s:8} {unhealthy}")
    lines += [line for color, c in document["colors"].items()
              for line in color_detail_lines(color, c)]
    if document["alarms"]:
        lines.append("alarms: " + ", ".join(f"{a['name']} {a['state']}"
                                            for a in document["alarms"]))
    if document["shift"] is not None:
        lines.append(shift_text(document["shift"]))
    if document["bake"] is not None:
        lines.append(bake_text(document["bake"]))
    lines += [f"retired: {color} (0 tasks; `stackswap rollback` starts them again first)"
              for color in document["retired"]]
    lines.append("drift: " + ("; ".join(document["drift"]) or "none"))
    if document["private_dns_name"]:
        lines.append(f"private NLB: {document['private_dns_name']}")
    if (test := document["test_url"]) is not None:
        answer = (f"answers from here ({test['status']})" if test["answers"]
                  else f"does NOT answer from here ({test['status'] or 'no answer'} "
                       f"{test['detail']}".strip() + ")")
        lines.append(f"test URL {test['request']}: {answer}")
    differences = document["alb_differences"]
    if differences:
        lines.append(f"ALB stack differs from the config: {'; '.join(differences)} (run "
                     f"`stackswap update-alb`)")
    elif differences is not None:
        lines.append("ALB stack matches the config")
    return "\n".join(lines + protection_warnings(document))


def color_detail_lines(color: str, c: dict) -> list[str]:
    """A colour's task definition and scaling under the table (names only, never values)."""
    if c["task_definition_revision"] is None and c["autoscaling"] is None:
        return []

    def names(items: list[str] | None) -> str:
        return ", ".join(items) if items else "none"

    lines = [f"{color}: task definition revision {c['task_definition_revision']}, "
             f"environment: {names(c['environment'])}; secrets: {names(c['secrets'])}"]
    if c["sidecars"]:
        lines.append(f"{color}: sidecars: " + ", ".join(f"{s['name']} ({s['image']})"
                                                       for s in c["sidecars"]))
    if (scaling := c["autoscaling"]) is not None:
        suspended = ", scaling suspended" if scaling["suspended"] else ""
        lines.append(f"{color}: autoscaling {scaling['min']}-{scaling['max']} tasks{suspended}")
    return lines


def status_json(document: dict) -> str:
    return json.dumps(document, indent=2)


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


# --- `stackswap diff` ------------------------------------------------------------------------

def diff_text(document: dict, dry_run: bool = False) -> list[str]:
    """The plan, then what CloudFormation would change in each stack, the traffic before and
    after on production and test, and the image per colour."""
    lines = plan_text(list(document["plan"]), dry_run)
    lines.append("CloudFormation would change (change sets created, described, deleted):")
    if not document["stacks"]:
        lines.append("  no stack")
    for stack in document["stacks"]:
        if stack["operation"] == "create":
            lines.append(f"  {stack['stack']}: created from the config's template")
            continue
        label = {"swap": "the swap's update"}.get(stack["operation"], "update")
        if stack["status"] == "NO_CHANGES":
            lines.append(f"  {stack['stack']} ({label}): nothing to change")
            continue
        if stack["status"] == "FAILED":
            lines.append(f"  {stack['stack']} ({label}): CloudFormation could not make a "
                         f"change set: {stack['reason']}")
            continue
        lines.append(f"  {stack['stack']} ({label}):")
        lines += [f"    {change['text']}" for change in stack["changes"]]
    lines.append("traffic:")
    for path in ("production", "test"):
        t = document["traffic"][path]
        moved = "" if t["before"] != t["after"] else " (unchanged)"
        lines.append(f"  {document['paths'][path]}: {t['before'] or 'nothing'} -> "
                     f"{t['after'] or 'nothing'}{moved}")
    lines.append("images:")
    for color, image in document["images"].items():
        moved = "" if image["before"] != image["after"] else " (unchanged)"
        lines.append(f"  {color}: {image['before'] or '-'} -> {image['after'] or '-'}{moved}")
    return lines


def print_diff(document: dict, dry_run: bool) -> None:
    if ACTIVE:
        ACTIVE[-1].emit("result", lines=diff_text(document, dry_run), diff=document)
    else:
        print("\n".join(diff_text(document, dry_run)))


# --- deploy reports (--report DIR, $GITHUB_STEP_SUMMARY) -----------------------------------------

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


REPORT_MD = """\
# stackswap {{ meta.subcommand }} {{ meta.environment or "" }}: {{ outcome }}

| | |
|---|---|
| command | `{{ meta.command }}` |
| who | {{ meta.caller | cell }} |
| from | {{ meta.host | cell }}{% if meta.ci_run %} ([CI run]({{ meta.ci_run }})){% endif %} |
| started | {{ started }} ({{ "%.1f" | format(seconds) }} s) |
| stackswap | {{ meta.version | cell }} |
| undo | `{{ undo }}` |
{% if errors %}
**Error:** {{ errors | join("; ") | cell }}
{% endif %}
## Traffic
| | before | after |
|---|---|---|
{% for path in ("production", "test") -%}
| {{ path }} | {{ (meta.before or {}).get(path) or "-" }} \
| {{ (meta.after or {}).get(path) or "-" }} |
{% endfor -%}
{% for color in ((meta.after or meta.before or {}).get("images") or {}) -%}
| image of {{ color }} | {{ ((meta.before or {}).get("images") or {}).get(color) or "-" | cell }} \
| {{ ((meta.after or {}).get("images") or {}).get(color) or "-" | cell }} |
{% endfor %}
## Timeline
| # | phase | start (s) | duration (s) | outcome |
|---|---|---|---|---|
{% for p in phases -%}
| {{ p.number }}/{{ p.total }} | {{ p.text | cell }} | {{ "%.1f" | format(p.start) }} \
| {{ "%.1f" | format(p.seconds) if p.seconds is not none else "-" }} | {{ p.outcome }} |
{% endfor %}
{% if results %}
## Result
```
{{ results | join("\n") }}
```
{% endif %}
<details><summary>Stack events ({{ stack_events | length }})</summary>

| time | stack | resource | status | reason |
|---|---|---|---|---|
{% for e in stack_events -%}
| {{ e.timestamp or "" }} | {{ e.stack }} | {{ e.logical_id }} | {{ e.status }} \
| {{ e.reason | cell }} |
{% endfor %}
</details>

<details><summary>Health samples ({{ health | length }})</summary>

| at (s) | colour | healthy / targets | tasks | waiting for |
|---|---|---|---|---|
{% for h in health -%}
| {{ "%.1f" | format(h.elapsed) }} | {{ h.color }} | {{ h.healthy if h.healthy is not none \
else "-" }}/{{ h.targets if h.targets is not none else "-" }} | \
{{ h.running if h.running is not none else "-" }}/{{ h.desired if h.desired is not none \
else "-" }} | {{ h.waiting_for | cell }} |
{% endfor %}
</details>
"""

REPORT_HTML = """\
<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>stackswap {{ meta.subcommand }} {{ meta.environment or "" }}: {{ outcome }}</title>
<style>
body { font: 14px/1.45 system-ui, sans-serif; margin: 2rem auto; max-width: 72rem;
       padding: 0 1rem; color: #1b1f24; }
h1 { font-size: 1.4rem; } h2 { font-size: 1.1rem; margin-top: 2rem; }
table { border-collapse: collapse; width: 100%; margin: .5rem 0; }
th, td { border: 1px solid #d0d7de; padding: .3rem .5rem; text-align: left;
         vertical-align: top; }
th { background: #f6f8fa; } code, pre { font: 13px ui-monospace, monospace; }
pre { background: #f6f8fa; padding: .75rem; overflow-x: auto; }
.ok { color: #1a7f37; } .bad { color: #cf222e; }
.bar { background: #54aeff; height: .8rem; min-width: 2px; }
.bar.failed { background: #cf222e; }
</style>
</head>
<body>
<h1>stackswap {{ meta.subcommand }} {{ meta.environment or "" }}:
<span class="{{ 'ok' if meta.exit_code == 0 else 'bad' }}">{{ outcome }}</span></h1>
<table>
<tr><th>command</th><td><code>{{ meta.command }}</code></td></tr>
<tr><th>who</th><td>{{ meta.caller }}</td></tr>
<tr><th>from</th><td>{{ meta.host }}{% if meta.ci_run %}
 (<a href="{{ meta.ci_run }}">CI run</a>){% endif %}</td></tr>
<tr><th>started</th><td>{{ started }} ({{ "%.1f" | format(seconds) }} s)</td></tr>
<tr><th>stackswap</th><td>{{ meta.version }}</td></tr>
<tr><th>undo</th><td><code>{{ undo }}</code></td></tr>
{% if errors %}<tr><th>error</th><td class="bad">{{ errors | join("; ") }}</td></tr>{% endif %}
</table>
<h2>Traffic</h2>
<table>
<tr><th></th><th>before</th><th>after</th></tr>
{% for path in ("production", "test") %}
<tr><th>{{ path }}</th><td>{{ (meta.before or {}).get(path) or "-" }}</td>
<td>{{ (meta.after or {}).get(path) or "-" }}</td></tr>
{% endfor %}
{% for color in ((meta.after or meta.before or {}).get("images") or {}) %}
<tr><th>image of {{ color }}</th>
<td>{{ ((meta.before or {}).get("images") or {}).get(color) or "-" }}</td>
<td>{{ ((meta.after or {}).get("images") or {}).get(color) or "-" }}</td></tr>
{% endfor %}
</table>
<h2>Timeline</h2>
<table>
<tr><th>#</th><th>phase</th><th>start (s)</th><th>duration (s)</th><th>outcome</th>
<th style="width: 25%"></th></tr>
{% for p in phases %}
<tr><td>{{ p.number }}/{{ p.total }}</td><td>{{ p.text }}</td>
<td>{{ "%.1f" | format(p.start) }}</td>
<td>{{ "%.1f" | format(p.seconds) if p.seconds is not none else "-" }}</td>
<td class="{{ 'ok' if p.outcome == 'done' else 'bad' }}">{{ p.outcome }}</td>
<td><div class="bar {{ p.outcome }}" style="margin-left: {{ (100 * p.start / seconds) | round(1)
 if seconds else 0 }}%; width: {{ (100 * (p.seconds or 0) / seconds) | round(1)
 if seconds else 0 }}%"></div></td></tr>
{% else %}<tr><td colspan="6">no phase ran</td></tr>
{% endfor %}
</table>
{% if results %}<h2>Result</h2>
<pre>{{ results | join("\n") }}</pre>{% endif %}
<h2>Stack events ({{ stack_events | length }})</h2>
<table>
<tr><th>time</th><th>stack</th><th>resource</th><th>status</th><th>reason</th></tr>
{% for e in stack_events %}
<tr><td>{{ e.timestamp or "" }}</td><td>{{ e.stack }}</td><td>{{ e.logical_id }}</td>
<td>{{ e.status }}</td><td>{{ e.reason }}</td></tr>
{% endfor %}
</table>
<h2>Health samples ({{ health | length }})</h2>
<table>
<tr><th>at (s)</th><th>colour</th><th>healthy / targets</th><th>tasks</th><th>waiting for</th>
</tr>
{% for h in health %}
<tr><td>{{ "%.1f" | format(h.elapsed) }}</td><td>{{ h.color }}</td>
<td>{{ h.healthy if h.healthy is not none else "-" }} /
{{ h.targets if h.targets is not none else "-" }}</td>
<td>{{ h.running if h.running is not none else "-" }} /
{{ h.desired if h.desired is not none else "-" }}</td><td>{{ h.waiting_for or "" }}</td></tr>
{% endfor %}
</table>
</body>
</html>
"""


def render_report(meta: dict, events: list[dict]) -> tuple[str, str]:
    """The report as Markdown and as a single HTML file (inline CSS, no script)."""
    import jinja2  # only when a report is asked for

    context = report_context(meta, events)
    markdown_env = jinja2.Environment(autoescape=False, keep_trailing_newline=True)
    markdown_env.filters["cell"] = md_cell
    html_env = jinja2.Environment(autoescape=True, keep_trailing_newline=True)
    return (markdown_env.from_string(REPORT_MD).render(context),
            html_env.from_string(REPORT_HTML).render(context))


def write_report(directory: str, meta: dict, events: list[dict]) -> str:
    """Write report.md and report.html into `directory` (made if missing); the Markdown."""
    markdown, html = render_report(meta, events)
    folder = Path(directory)
    folder.mkdir(parents=True, exist_ok=True)
    (folder / "report.md").write_text(markdown, encoding="utf-8")
    (folder / "report.html").write_text(html, encoding="utf-8")
    return markdown


# --- notifications (deploy.notify) ---------------------------------------------------------------

# SNS: a subject is ASCII without line breaks, under 100 characters (API Reference, Publish).
SUBJECT_MAX = 99


def notification(environment: str, title: str, verb: str, detail: str | None, undo: str,
                 ci_run: str | None) -> tuple[str, str]:
    """A notification's subject (its one-line summary) and text: the summary with what
    happened, the command that undoes it, and the CI run it came from."""
    subject = f"stackswap {environment}: {title} {verb}"
    lines = [subject + (f": {detail}" if detail else ""),
             f"undo: `{undo}`" if undo.startswith("stackswap ") else f"undo: {undo}"]
    if ci_run:
        lines.append(f"run: {ci_run}")
    subject = subject.encode("ascii", "replace").decode()[:SUBJECT_MAX]
    return subject, "\n".join(lines)


def production_text(observed: Observed) -> str:
    """Where production is, for a notification: one colour and its image, or the split."""
    weights = production_weights(observed)
    if sum(weight > 0 for weight in weights.values()) > 1:
        return f"production {weights_text(weights)}"
    live = observed.live_color
    if live is None:
        return "nothing serves production yet"
    return f"production on {live} ({observed.colors[live].image_parameter})"
