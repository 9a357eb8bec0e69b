"""All output of the orchestrator: events and progress to stderr as they happen; results
(summary, plan, status text or JSON) to stdout once a command is done."""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass
from datetime import datetime
from typing import TextIO

from generator.config import Config
from generator.interface import OUTPUT_PRIVATE_DNS_NAME, PARAM_DESIRED_COUNT
from orchestrator.model import ColorState, Observed, StackEvent


class Log:
    """What is happening, to stderr, as it happens."""

    def __init__(self, stream: TextIO | None = None) -> None:
        self.stream = stream or sys.stderr

    def say(self, message: str) -> None:
        print(message, file=self.stream, flush=True)

    def event(self, stack: str, event: StackEvent) -> None:
        when = event.timestamp.strftime("%H:%M:%S") if event.timestamp else ""
        reason = f"  {event.reason}" if event.reason else ""
        self.say(f"  {when} {stack} {event.logical_id} {event.status}{reason}")


def print_result(*lines: str) -> None:
    """A command's result, to stdout."""
    print("\n".join(lines))


def error_line(message: str) -> None:
    print(f"stackswap: {message}", file=sys.stderr)


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
    """What `status --json` prints: a stable, documented shape (docs/operations.md)."""
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
        }
    retired = [color for color, state in observed.colors.items()
               if state.stack is not None and state.stack.parameters.get(
                   PARAM_DESIRED_COUNT) == "0"]
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
        "shift": shift_document(observed, now),
        "retired": retired,
        "bake": bake_document(config, observed, now, retired),
    }


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
        tasks = f"{c['running_tasks']}/{c['desired_tasks']}" if c["desired_tasks"] else "-"
        healthy = c["healthy_targets"] if c["healthy_targets"] is not None else "-"
        unhealthy = c["unhealthy_targets"] if c["unhealthy_targets"] is not None else "-"
        lines.append(f"{color:7} {c['stack_status'] or 'missing':26} {c['image'] or '-':28} "
                     f"{tasks:7} {healthy!s:8} {unhealthy}")
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


def status_json(document: dict) -> str:
    return json.dumps(document, indent=2)
