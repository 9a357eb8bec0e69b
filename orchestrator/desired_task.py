"""What the config says a colour's task definition should be, and how a registered one differs
from it: the changes `deploy` names ("environment: +FEATURE_X, ~LOG_LEVEL; secrets: -OLD").
No I/O, no boto3; names only ever leave this module, never values.

Both sides are reduced to the same comparable form: the app container's environment and
secrets (name -> value or ARN), its other settings, each sidecar as a whole, and the task's own
settings. The image is not compared (it is the deploy's `--image`).
"""

from __future__ import annotations

import json
from typing import TYPE_CHECKING, Any

from stackswap.orchestrator.model import ContainerView, TaskDefinitionView

if TYPE_CHECKING:
    from stackswap.environment.config import Config, Sidecar

DEFAULT_ARCHITECTURE = "X86_64"  # ECS's when a task definition names none


def _text(value: Any) -> str:
    """A setting as comparable text; absent, empty and false are all ""."""
    if value in (None, False, [], {}, ""):
        return ""
    return json.dumps(value, sort_keys=True)


def _health_check(command: Any, interval: Any, timeout: Any, retries: Any, start: Any) -> str:
    return _text([list(command), interval, timeout, retries, start]) if command else ""


def view_of(raw: dict) -> TaskDefinitionView:
    """A DescribeTaskDefinition answer, reduced to what stackswap compares and shows."""
    containers = []
    for c in raw.get("containerDefinitions", []):
        check = c.get("healthCheck") or {}
        other = {
            "command": _text(c.get("command")),
            "entry_point": _text(c.get("entryPoint")),
            "health_check": _health_check(check.get("command"), check.get("interval"),
                                          check.get("timeout"), check.get("retries"),
                                          check.get("startPeriod")),
            "read_only_root_filesystem": _text(c.get("readonlyRootFilesystem")),
            "stop_timeout_seconds": _text(c.get("stopTimeout")),
            "essential": _text(c.get("essential", True)),
            "ports": _text(sorted(int(p["containerPort"]) for p in c.get("portMappings", []))),
            "depends_on": _text(sorted([d["containerName"], d["condition"]]
                                       for d in c.get("dependsOn", []))),
        }
        containers.append(ContainerView(
            name=c.get("name", ""), image=c.get("image", ""),
            environment=tuple(sorted((e["name"], e.get("value", ""))
                                     for e in c.get("environment", []))),
            secrets=tuple(sorted((e["name"], e.get("valueFrom", ""))
                                 for e in c.get("secrets", []))),
            other=tuple(sorted(other.items()))))
    platform = raw.get("runtimePlatform") or {}
    settings = {
        "cpu_architecture": platform.get("cpuArchitecture") or DEFAULT_ARCHITECTURE,
        "ephemeral_storage_gib": _text((raw.get("ephemeralStorage") or {}).get("sizeInGiB")),
        "task_role": raw.get("taskRoleArn") or "",
    }
    arn = raw.get("taskDefinitionArn", "")
    revision = raw.get("revision")
    return TaskDefinitionView(arn, int(revision) if revision is not None else None,
                              tuple(containers), tuple(sorted(settings.items())))


def _sidecar_other(sidecar: Sidecar, read_only: bool) -> tuple[tuple[str, str], ...]:
    return tuple(sorted({
        "command": "", "entry_point": "", "health_check": "", "stop_timeout_seconds": "",
        "read_only_root_filesystem": _text(read_only),
        "essential": _text(sidecar.essential),
        "ports": _text(sorted(sidecar.ports)),
        "depends_on": _text(sorted([name, condition] for name, condition in sidecar.depends_on)),
    }.items()))


def desired_view(config: Config) -> TaskDefinitionView:
    """The config's task definition in the same form (the app image left empty)."""
    service = config.service
    check = service.health_check
    app_other = {
        "command": _text(list(service.command)),
        "entry_point": _text(list(service.entry_point)),
        "health_check": _health_check(check.command, check.interval_seconds,
                                      check.timeout_seconds, check.retries,
                                      check.start_period_seconds) if check else "",
        "read_only_root_filesystem": _text(service.read_only_root_filesystem),
        "stop_timeout_seconds": _text(service.stop_timeout_seconds),
        "essential": _text(True),
        "ports": _text([service.container_port]),
        "depends_on": "",
    }
    containers = [ContainerView(service.container_name, "", service.environment,
                                service.secrets, tuple(sorted(app_other.items())))]
    for sidecar in service.sidecars:
        containers.append(ContainerView(
            sidecar.name, sidecar.image, sidecar.environment, (),
            _sidecar_other(sidecar, service.read_only_root_filesystem)))
    settings = {
        "cpu_architecture": service.cpu_architecture or DEFAULT_ARCHITECTURE,
        "ephemeral_storage_gib": _text(service.ephemeral_storage_gib),
        # a role the stack makes has a generated ARN: compared as "some role"
        "task_role": service.task_role_arn or ("*" if service.task_role_policy_arns else ""),
    }
    return TaskDefinitionView("", None, tuple(containers), tuple(sorted(settings.items())))


def _names(old: dict[str, str], new: dict[str, str]) -> list[str]:
    """+NAME added, -NAME removed, ~NAME changed: names only."""
    return ([f"+{name}" for name in sorted(new.keys() - old.keys())]
            + [f"~{name}" for name in sorted(new.keys() & old.keys()) if old[name] != new[name]]
            + [f"-{name}" for name in sorted(old.keys() - new.keys())])


def task_changes(config: Config, running: TaskDefinitionView | None) -> tuple[str, ...]:
    """How the config's task definition differs from `running` (a colour's registered one),
    as "<what>: <names>" parts; empty when nothing but the image can differ."""
    if running is None:
        return ()
    wanted = desired_view(config)
    name = config.service.container_name
    app, have = wanted.container(name), running.container(name)
    if have is None:
        return (f"container {name}: +{name}",)
    parts = []
    for what, old, new in (("environment", have.environment, app.environment),
                           ("secrets", have.secrets, app.secrets)):
        if names := _names(dict(old), dict(new)):
            parts.append(f"{what}: {', '.join(names)}")
    sidecars_old = {c.name: c for c in running.containers if c.name != name}
    sidecars_new = {c.name: c for c in wanted.containers if c.name != name}
    if names := _names({k: repr((c.image, c.environment, c.other))
                        for k, c in sidecars_old.items()},
                       {k: repr((c.image, c.environment, c.other))
                        for k, c in sidecars_new.items()}):
        parts.append(f"sidecars: {', '.join(names)}")
    old_settings = dict(have.other) | {
        k: ("*" if v and dict(wanted.settings)[k] == "*" else v)
        for k, v in running.settings}
    new_settings = dict(app.other) | dict(wanted.settings)
    if changed := [k for k in sorted(new_settings) if old_settings.get(k, "") != new_settings[k]]:
        parts.append(f"settings: {', '.join(changed)}")
    return tuple(parts)
