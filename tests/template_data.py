"""Helpers to read rendered templates as plain data (long-form intrinsic functions)."""

from __future__ import annotations

import json
import tomllib
from pathlib import Path

import cfn_flip
from stackswap.environment.config import Config
from stackswap.environment.load import parse_config


def load(yaml_text: str) -> dict:
    return json.loads(cfn_flip.to_json(yaml_text))


def resolve(node, parameters: dict, conditions: dict):
    """Evaluate Ref-to-parameter, Fn::Equals and Fn::If; leave resource Refs as {"Ref": id}."""
    if isinstance(node, list):
        return [resolve(item, parameters, conditions) for item in node]
    if not isinstance(node, dict):
        return node
    if set(node) == {"Ref"} and node["Ref"] in parameters:
        return parameters[node["Ref"]]
    if set(node) == {"Fn::If"}:
        name, when_true, when_false = node["Fn::If"]
        return resolve(when_true if conditions[name] else when_false, parameters, conditions)
    return {key: resolve(value, parameters, conditions) for key, value in node.items()}


# The ALB stack's weights outside a traffic shift (their defaults): all production to LiveColor.
NO_SHIFT_WEIGHTS = {"LiveWeight": 100, "ShiftWeight": 0}


def weights(action: dict) -> dict[str, int]:
    """Target group logical id -> weight of a resolved forward action (either form: one
    TargetGroupArn weighs 1; ForwardConfig lists each group with its weight)."""
    if "ForwardConfig" in action:
        return {group["TargetGroupArn"]["Ref"]: int(group["Weight"])
                for group in action["ForwardConfig"]["TargetGroups"]}
    return {action["TargetGroupArn"]["Ref"]: 1}


def forward_target(action: dict) -> str:
    """The one target group a resolved forward action sends requests to (weight > 0)."""
    (group,) = [name for name, weight in weights(action).items() if weight > 0]
    return group


def evaluate_conditions(template: dict, parameters: dict) -> dict:
    result = {}
    for name, body in template.get("Conditions", {}).items():
        left, right = resolve(body["Fn::Equals"], parameters, result)
        result[name] = left == right
    return result


# --- the load-balancer modes, as configs (the example plus what each mode sets) ---------------
# The one home of the modes: the golden and template tests, the roles' tests and the security
# scan of `make lint` (tools/security_scan.py) all render these.

EXAMPLE_CONFIG = Path(__file__).resolve().parent.parent / "stackswap.example.toml"
CERTIFICATES = (
    "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef",
    "arn:aws:acm:eu-west-1:123456789012:certificate/11111111-2222-3333-4444-555555555555",
)
TEST_HOST = "test.shop.example.com"
ACCESS_LOGS_BUCKET = "shop-alb-access-logs"
LOG_KMS_KEY = "arn:aws:kms:eu-west-1:123456789012:key/22222222-3333-4444-5555-666666666666"
_HTTPS = {"certificate_arns": list(CERTIFICATES)}
_HOST = {"test_mode": "host", "test_host": TEST_HOST}
_SEPARATE_PRIVATE = {"private_nlb": True, "scheme": "internal",
                     "alb_subnets": ["subnet-0123456789abcdef0", "subnet-0fedcba9876543210"],
                     "task_subnets": ["subnet-0aaaaaaaaaaaaaaa1", "subnet-0bbbbbbbbbbbbbbb2"]}
_ACCESS_LOGS = {"access_logs_bucket": ACCESS_LOGS_BUCKET, "access_logs_prefix": "shop"}
# Every key of the full task definition and autoscaling (docs/configuration.md).
FULL_SERVICE = {
    "environment": {"LOG_LEVEL": "info", "FEATURE_X": "on"},
    "secrets": {
        "DATABASE_URL": "arn:aws:ssm:eu-west-1:123456789012:parameter/shop/database-url",
        "API_TOKEN": "arn:aws:secretsmanager:eu-west-1:123456789012:secret:shop/api-AbCdEf"
                     ":token::",
    },
    "secrets_kms_key_arn": LOG_KMS_KEY,
    "task_role_policy_arns": ["arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"],
    "command": ["gunicorn", "shop:app"],
    "entry_point": ["/docker-entrypoint.sh"],
    "health_check": {"command": ["CMD-SHELL", "curl -f http://localhost:8000/health || exit 1"],
                     "interval_seconds": 10, "timeout_seconds": 5, "retries": 3,
                     "start_period_seconds": 20},
    "cpu_architecture": "ARM64", "ephemeral_storage_gib": 40,
    "read_only_root_filesystem": True, "stop_timeout_seconds": 60, "log_retention_days": 90,
    "sidecars": [{"name": "otel", "image": "public.ecr.aws/aws-observability/aws-otel-collector"
                                            ":v0.40.0",
                  "essential": False, "ports": [4317], "environment": {"OTEL_LEVEL": "warn"},
                  "depends_on": {"app": "HEALTHY"}}],
    "autoscaling": {"min": 2, "max": 10, "cpu_target_percent": 60, "requests_per_target": 500},
}
# name -> {section: keys} over the example config
MODES: dict[str, dict[str, dict]] = {
    "http-port": {},
    "https-port": {"listener": _HTTPS},
    "http-host": {"listener": _HOST},
    "https-host": {"listener": _HTTPS | _HOST},
    "http-port-private": {"network": _SEPARATE_PRIVATE},
    "https-host-private": {"listener": _HTTPS | _HOST, "network": _SEPARATE_PRIVATE},
    # HTTPS with every optional safeguard the scanner looks for: ALB access logs, encrypted logs.
    "https-port-logs-kms": {"listener": _HTTPS | _ACCESS_LOGS,
                            "service": {"log_kms_key_arn": LOG_KMS_KEY}},
    # The full task definition, sidecars and autoscaling (the service stacks' golden mode).
    "http-port-full-task": {"service": FULL_SERVICE},
}
# Modes whose service stacks (blue.yml) are golden too.
SERVICE_MODES = ("http-port-full-task",)


def mode_config(name: str) -> Config:
    raw = tomllib.loads(EXAMPLE_CONFIG.read_text())
    for section, keys in MODES[name].items():
        raw[section] = {**raw.get(section, {}), **keys}
    if raw["listener"].get("certificate_arns"):
        raw["deploy"] = {**raw["deploy"], "production_url": "https://shop.example.com"}
    # the file name the rendered header shows: the mode's
    return parse_config(raw, f"{name}.toml")
