"""`stackswap status`: the document `status --json` prints (docs/status.md), its text, and the
one-line summary a run ends with."""

from __future__ import annotations

import json
from dataclasses import dataclass
from datetime import datetime

from stackswap.environment.config import Config
from stackswap.environment.names import OUTPUT_PRIVATE_DNS_NAME
from stackswap.orchestrator.model import ColorState, Observed


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

