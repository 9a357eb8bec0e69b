"""What `deploy` says changed between a colour's registered task definition and the config, and
what `status` shows of it: names only, never values (pure, no AWS)."""

from __future__ import annotations

import dataclasses
import tomllib

from stackswap.environment.load import parse_config
from stackswap.orchestrator.desired_task import task_changes, view_of
from stackswap.orchestrator.model import ColorState, Observed, ServiceState, Stack
from stackswap.orchestrator.output.status import status_document, status_text

from tests.conftest import REPO
from tests.template_data import FULL_SERVICE

EXAMPLE = tomllib.loads((REPO / "stackswap.example.toml").read_text())


def config(**service):
    return parse_config({**EXAMPLE, "service": {**EXAMPLE["service"], **service}})


def registered(environment=None, secrets=None, extra_containers=(), **app) -> dict:
    """A DescribeTaskDefinition answer as ECS gives it (camelCase)."""
    container = {"name": "app", "image": "app:v1", "essential": True,
                 "portMappings": [{"containerPort": 8000, "hostPort": 8000, "protocol": "tcp"}],
                 "environment": [{"name": k, "value": v} for k, v in (environment or {}).items()],
                 "secrets": [{"name": k, "valueFrom": v} for k, v in (secrets or {}).items()],
                 **app}
    return {"taskDefinitionArn": "arn:aws:ecs:eu-west-1:123456789012:task-definition/shop:7",
            "revision": 7, "containerDefinitions": [container, *extra_containers]}


PARAMETER = "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/{}"


def test_a_task_definition_matching_the_config_has_no_changes():
    wanted = config(environment={"LOG_LEVEL": "info"},
                    secrets={"DB": PARAMETER.format("db")})
    running = view_of(registered({"LOG_LEVEL": "info"}, {"DB": PARAMETER.format("db")}))
    assert task_changes(wanted, running) == ()


def test_changes_are_named_added_changed_removed_never_valued():
    wanted = config(environment={"FEATURE_X": "value-x", "LOG_LEVEL": "value-debug"},
                    secrets={"DB": PARAMETER.format("db-2")})
    running = view_of(registered({"LOG_LEVEL": "info"},
                                 {"DB": PARAMETER.format("db"), "OLD": PARAMETER.format("o")}))
    changes = task_changes(wanted, running)
    assert changes == ("environment: +FEATURE_X, ~LOG_LEVEL", "secrets: ~DB, -OLD")
    assert not any(value in "; ".join(changes) for value in ("value-", "db-2", "arn:"))


def test_sidecars_and_settings_are_named():
    sidecar = {"name": "proxy", "image": "envoy:1", "essential": True, "environment": [],
               "secrets": [], "portMappings": []}
    wanted = config(sidecars=[{"name": "otel", "image": "otel:1"}],
                    health_check={"command": ["CMD", "true"]}, stop_timeout_seconds=60)
    changes = task_changes(wanted, view_of(registered(extra_containers=[sidecar])))
    assert changes == ("sidecars: +otel, -proxy",
                       "settings: health_check, stop_timeout_seconds")


def test_the_full_config_matches_its_own_registration():
    # What ECS returns for the rendered full task definition compares equal to the config.
    wanted = config(**FULL_SERVICE)
    service = wanted.service
    check = service.health_check
    sidecar = service.sidecars[0]
    raw = registered(
        dict(service.environment), dict(service.secrets),
        extra_containers=[{"name": sidecar.name, "image": sidecar.image, "essential": False,
                           "readonlyRootFilesystem": True,
                           "portMappings": [{"containerPort": 4317}],
                           "environment": [{"name": "OTEL_LEVEL", "value": "warn"}],
                           "dependsOn": [{"containerName": "app", "condition": "HEALTHY"}]}],
        command=list(service.command), entryPoint=list(service.entry_point),
        healthCheck={"command": list(check.command), "interval": check.interval_seconds,
                     "timeout": check.timeout_seconds, "retries": check.retries,
                     "startPeriod": check.start_period_seconds},
        readonlyRootFilesystem=True, stopTimeout=60)
    raw |= {"runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
            "ephemeralStorage": {"sizeInGiB": 40},
            "taskRoleArn": "arn:aws:iam::123456789012:role/shop-blue-TaskRole-X"}
    assert task_changes(wanted, view_of(raw)) == ()


def test_status_shows_names_counts_of_zero_and_alarms():
    wanted = dataclasses.replace(config(environment={"LOG_LEVEL": "info"},
                                        secrets={"DB": PARAMETER.format("db")}),
                                 deploy=dataclasses.replace(
                                     config().deploy, alarms=("shop-5xx",)))
    view = view_of(registered({"LOG_LEVEL": "secret-looking-value"},
                              {"DB": PARAMETER.format("db")}))
    stack = Stack("shop-blue", "UPDATE_COMPLETE", {"Image": "app:v1"}, {})
    blue = ColorState("blue", stack, "arn:tg/blue",
                      ServiceState(0, 0, 0, 1, "app:v1", view))
    observed = Observed(Stack("shop-elb", "UPDATE_COMPLETE", {}, {}), {
        "blue": blue, "green": ColorState("green", None, None)})
    document = status_document(wanted, observed)
    colour = document["colors"]["blue"]
    assert (colour["task_definition_revision"], colour["environment"], colour["secrets"]) == (
        7, ["LOG_LEVEL"], ["DB"])
    assert document["alarms"] == [{"name": "shop-5xx", "state": "MISSING"}]
    text = status_text(document)
    assert "secret-looking-value" not in text and "arn:aws:ssm" not in text
    assert "blue: task definition revision 7, environment: LOG_LEVEL; secrets: DB" in text
    assert " 0/0 " in text  # desired 0 is shown as 0, not "-"
    assert "alarms: shop-5xx MISSING" in text
