"""The value checks of an environment config: one check per key (a function returning the
problem, or None), the converters of its nested tables (environment, secrets, sidecars,
autoscaling, notify, hooks) into hashable data with errors that name the nested key, and SCHEMA,
every section's keys with their checks. Each problem names its dotted key in one line.
"""

from __future__ import annotations

import ipaddress
import re
import urllib.parse
from collections.abc import Callable
from typing import Any

from stackswap.environment.config import (
    DEFAULT_SSL_POLICY,
    DURATION,
    HOOK_POINTS,
    LAUNCH_TYPES,
    MAX_ALARMS,
    MAX_DESIRED_COUNT,
    MAX_DURATION_SECONDS,
    RETIRE,
    SCHEMES,
    STRATEGIES,
    TEST_MODES,
    Autoscaling,
    ContainerHealthCheck,
    Notify,
    Sidecar,
    duration_seconds,
)
from stackswap.environment.errors import ConfigError

Check = Callable[[Any], str | None]  # returns a problem, or None when the value is fine
HOST_NAME = re.compile(r"[a-z0-9](?:[a-z0-9-]*[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]*[a-z0-9])?)*\.?")


def _pattern(regex: str, what: str) -> Check:
    compiled = re.compile(regex)

    def check(value: Any) -> str | None:
        if not isinstance(value, str) or not compiled.fullmatch(value):
            return f"must be {what}, got {value!r}"
        return None

    return check


def _integer(low: int, high: int) -> Check:
    def check(value: Any) -> str | None:
        if isinstance(value, bool) or not isinstance(value, int) or not low <= value <= high:
            return f"must be a whole number from {low} to {high}, got {value!r}"
        return None

    return check


def _one_of(choices: tuple[Any, ...]) -> Check:
    def check(value: Any) -> str | None:
        if value not in choices:
            return f"must be one of {', '.join(map(str, choices))}, got {value!r}"
        return None

    return check


def _boolean(value: Any) -> str | None:
    return None if isinstance(value, bool) else f"must be true or false, got {value!r}"


def _ipv4_cidr(value: Any) -> str | None:
    # The test listener's rule is a security group `CidrIp`: IPv4 only (generator/elb.py).
    try:
        network = ipaddress.ip_network(value, strict=True)
    except (TypeError, ValueError):
        network = None
    if network is None or network.version != 4:
        return f"must be an IPv4 CIDR block such as 10.0.0.0/8, got {value!r}"
    return None


def _url_parts(value: Any, refused: str) -> urllib.parse.SplitResult | None:
    """A URL's parts when it is a string without the `refused` characters, with a host name or
    IP address and a port from 1 to 65535 if any; else None."""
    if not isinstance(value, str) or re.search(refused, value):
        return None
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:
        return None
    host = parts.hostname or ""
    if port == 0 or not (HOST_NAME.fullmatch(host) or _is_ip_address(host)):
        return None
    return parts


def _url(value: Any) -> str | None:
    """http(s)://host[:port][/]: a host name or IP address, a port from 1 to 65535, no path."""
    parts = _url_parts(value, r"[\s?#@]")
    if parts is None or parts.scheme not in ("http", "https") or parts.path not in ("", "/"):
        return (f"must be an http(s) URL without a path, such as http://shop.example.com:8080, "
                f"got {value!r}")
    return None


def _is_ip_address(text: str) -> bool:
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return False
    return True


def _list_of(item: Check, minimum: int, maximum: int | None = None, unique: bool = False
             ) -> Check:
    def check(value: Any) -> str | None:
        if not isinstance(value, list) or len(value) < minimum:
            return f"must be a list of at least {minimum}, got {value!r}"
        if maximum is not None and len(value) > maximum:
            return f"must be a list of at most {maximum}, got {len(value)}"
        for index, element in enumerate(value):
            problem = item(element)
            if problem:
                return problem
            if unique and element in value[:index]:
                return f"lists {element!r} twice"
        return None

    return check


SUBNET = _pattern(r"subnet-[0-9a-f]{8,17}", "a subnet id")
SUBNETS = _list_of(SUBNET, 2, unique=True)
CERTIFICATE = _pattern(
    r"arn:aws[a-z-]*:(?:acm:[a-z0-9-]+:\d{12}:certificate/[0-9a-f-]{36}"
    r"|iam::\d{12}:server-certificate/[\w+=,.@/-]{1,128})",
    "an ACM certificate ARN such as arn:aws:acm:eu-west-1:123456789012:certificate/"
    "01234567-89ab-cdef-0123-456789abcdef")

# Stack names <name>-elb, <name>-blue, <name>-green: CloudFormation allows [a-zA-Z][-a-zA-Z0-9]*
# up to 128 characters. Stricter here: no '-' at the end or twice in a row ("demo-" would make
# demo--elb), as the name is joined to those suffixes with '-'.
NAME = _pattern(r"(?=.{1,20}$)[a-z](?:-?[a-z0-9])*",
                "1-20 lowercase letters, digits or single '-' between them, starting with a "
                "letter")
REGION = _pattern(r"[a-z]{2}(-[a-z]+)+-\d", "an AWS region such as eu-west-1")
PATH = _pattern(r"/[A-Za-z0-9._~!$&'()*+,;=:@%/-]*", "a URL path starting with '/'")
ALARM = _pattern(r"[^\s:][^:]{0,254}", "a CloudWatch alarm name")
# GitHub: owner 1-39 of letters, digits and single '-'; repository 1-100 of letters, digits,
# '.', '_', '-'. No wildcards: the role must trust exactly one repository.
GITHUB_REPOSITORY = _pattern(r"[A-Za-z0-9](?:-?[A-Za-z0-9]){0,38}/(?!\.\.?$)[A-Za-z0-9._-]{1,100}",
                             "a GitHub repository such as octo-org/shop (no wildcards)")

# The sub claim's forms after "repo:owner/repo:" (GitHub, "About security hardening with OpenID
# Connect", example subject claims); a leading wildcard would admit every ref again.
GITHUB_SUBJECT = _pattern(r"(?:ref:refs/(?:heads|tags)/|environment:)[^*?\s][^\s]*|pull_request",
                          "a GitHub OIDC subject such as ref:refs/heads/main, environment:"
                          "production or pull_request (no leading wildcard)")

# S3 general purpose bucket names (Amazon S3 User Guide, "General purpose bucket naming rules"):
# 3-63 characters of lowercase letters, digits, '.' and '-', starting and ending with a letter or
# digit, no two periods in a row, not an IP address, none of the reserved prefixes and suffixes.
BUCKET_PREFIXES = ("xn--", "sthree-", "amzn-s3-demo-")
BUCKET_SUFFIXES = ("-s3alias", "--ol-s3", ".mrap", "--x-s3", "--table-s3")


def _bucket_name(value: Any) -> str | None:
    problem = (f"must be an S3 bucket name (3-63 lowercase letters, digits, '.' or '-', starting "
               f"and ending with a letter or digit), got {value!r}")
    if not isinstance(value, str) or not re.fullmatch(r"[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]", value):
        return problem
    if ".." in value or _is_ip_address(value):
        return problem
    if value.startswith(BUCKET_PREFIXES) or value.endswith(BUCKET_SUFFIXES):
        return f"must not start with {', '.join(BUCKET_PREFIXES)} or end with " \
               f"{', '.join(BUCKET_SUFFIXES)} (reserved by S3), got {value!r}"
    return None


def _access_logs_prefix(value: Any) -> str | None:
    # ELB adds "AWSLogs/<account>/..." after the prefix itself, so the prefix must not contain
    # "AWSLogs" (ELB, "Enable access logs for your Application Load Balancer"); no '/' at either
    # end (stackswap's own: ELB joins bucket, prefix and AWSLogs with '/').
    if (not isinstance(value, str) or not re.fullmatch(r"[A-Za-z0-9!_.*'()/-]{1,200}", value)
            or value.startswith("/") or value.endswith("/") or "//" in value):
        return (f"must be an S3 key prefix of letters, digits, '/' between parts and "
                f"!_.*'()- (no '/' at either end), got {value!r}")
    if "AWSLogs" in value:
        return f"must not contain AWSLogs (ELB adds AWSLogs/<account>/... itself), got {value!r}"
    return None


# A symmetric KMS key by ARN (CloudWatch Logs takes only symmetric keys: "Encrypt log data in
# CloudWatch Logs using AWS Key Management Service"): a single-Region or a multi-Region (mrk-) key.
KMS_KEY = _pattern(r"arn:aws[a-z-]*:kms:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:key/"
                   r"(?:[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}"
                   r"|mrk-[0-9a-f]{32})",
                   "a KMS key ARN such as arn:aws:kms:eu-west-1:123456789012:key/"
                   "01234567-89ab-cdef-0123-456789abcdef")

# --- the task definition's tables (service.environment, secrets, health_check, sidecars, ...) --

# Environment variable and secret names: letters, digits and '_', not starting with a digit
# (stackswap's own: the names a shell and most runtimes accept).
ENV_NAME = re.compile(r"[A-Za-z_][A-Za-z0-9_]{0,254}")
# A secret is the full ARN of an SSM parameter or of a Secrets Manager secret, optionally with
# Secrets Manager's ":json-key:version-stage:version-id" suffix (ECS Developer Guide, "Pass
# sensitive data to an Amazon ECS container": valueFrom is "the full ARN").
SECRET_ARN = re.compile(
    r"(?P<resource>arn:aws[a-z-]*:(?:ssm:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:parameter/[\w.\-/]{1,2048}"
    r"|secretsmanager:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:secret:[\w/+=.@-]{1,512}))"
    r"(?::[^:]*:[^:]*:[^:]*)?")
IAM_ROLE = _pattern(r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
                    "an IAM role ARN such as arn:aws:iam::123456789012:role/shop-task")
IAM_POLICY = _pattern(r"arn:aws[a-z-]*:iam::(?:aws|\d{12}):policy/[\w+=,.@/-]{1,512}",
                      "an IAM managed policy ARN such as arn:aws:iam::aws:policy/"
                      "AmazonS3ReadOnlyAccess")
STRINGS = _list_of(_pattern(r"(?s).{1,4096}", "a non-empty string"), 1, 100)
CPU_ARCHITECTURES = ("X86_64", "ARM64")
# CloudWatch Logs' retention values (PutRetentionPolicy API reference, retentionInDays).
LOG_RETENTION_DAYS = (1, 3, 5, 7, 14, 30, 60, 90, 120, 150, 180, 365, 400, 545, 731, 1096, 1827,
                      2192, 2557, 2922, 3288, 3653)
# ContainerDependency conditions (ECS API reference, ContainerDependency).
DEPENDENCY_CONDITIONS = ("START", "COMPLETE", "SUCCESS", "HEALTHY")
CONTAINER_NAME = _pattern(r"[A-Za-z0-9_-]{1,255}", "a container name (letters, digits, _ and -)")
# At most 10 containers in a task definition (ECS service quotas): the app and 9 sidecars.
MAX_SIDECARS = 9


def _table(value: Any) -> str | None:
    return None if isinstance(value, dict) else f"must be a table, got {value!r}"


def _sidecar_list(value: Any) -> str | None:
    if not isinstance(value, list) or not all(isinstance(item, dict) for item in value):
        return f"must be a list of tables ([[service.sidecars]]), got {value!r}"
    if len(value) > MAX_SIDECARS:
        return f"must be at most {MAX_SIDECARS} sidecars (10 containers per task), got {len(value)}"
    return None


def _sub_table(path: str, key: str, raw: dict[str, Any], schema: dict[str, Check],
               required: tuple[str, ...] = ()) -> dict[str, Any]:
    """Check a nested table's keys (unknown keys are errors) and values; errors name the
    dotted key (service.health_check.retries)."""
    for name, value in raw.items():
        if name not in schema:
            raise ConfigError(path, f"{key}.{name}",
                              f"unknown key (known keys: {', '.join(sorted(schema))})")
        problem = schema[name](value)
        if problem:
            raise ConfigError(path, f"{key}.{name}", problem)
    for name in required:
        if name not in raw:
            raise ConfigError(path, f"{key}.{name}", "is required but missing")
    return {name: tuple(value) if isinstance(value, list) else value
            for name, value in raw.items()}


def _environment(path: str, key: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    for name, value in raw.items():
        if not ENV_NAME.fullmatch(name):
            raise ConfigError(path, f"{key}.{name}", "must be a name of letters, digits and _, "
                                                     "not starting with a digit")
        if not isinstance(value, str):
            raise ConfigError(path, f"{key}.{name}", f"must be a string, got {value!r} (quote it)")
    return tuple(sorted(raw.items()))


def _secrets(path: str, key: str, raw: dict[str, Any]) -> tuple[tuple[str, str], ...]:
    for name, value in raw.items():
        if not ENV_NAME.fullmatch(name):
            raise ConfigError(path, f"{key}.{name}", "must be a name of letters, digits and _, "
                                                     "not starting with a digit")
        if not isinstance(value, str) or not SECRET_ARN.fullmatch(value):
            raise ConfigError(path, f"{key}.{name}",
                              "must be the full ARN of an SSM parameter (arn:aws:ssm:<region>:"
                              "<account>:parameter/...) or a Secrets Manager secret (arn:aws:"
                              f"secretsmanager:<region>:<account>:secret:...), got {value!r}")
    return tuple(sorted(raw.items()))


HEALTH_CHECK_SCHEMA: dict[str, Check] = {
    # ECS HealthCheck (API reference): command starts with CMD or CMD-SHELL; interval 5-300 s,
    # timeout 2-60 s, retries 1-10, startPeriod 0-300 s.
    "command": _list_of(_pattern(r"(?s).{1,4096}", "a non-empty string"), 2, 100),
    "interval_seconds": _integer(5, 300),
    "timeout_seconds": _integer(2, 60),
    "retries": _integer(1, 10),
    "start_period_seconds": _integer(0, 300),
}
SIDECAR_SCHEMA: dict[str, Check] = {
    "name": CONTAINER_NAME,
    "image": _pattern(r"[^\s]{1,255}(?:@sha256:[0-9a-f]{64})?", "an image reference"),
    "essential": _boolean,
    "ports": _list_of(_integer(1, 65535), 1, 100, unique=True),
    "environment": _table,
    "depends_on": _table,
}
AUTOSCALING_SCHEMA: dict[str, Check] = {
    "min": _integer(1, 1000),
    "max": _integer(1, 1000),
    # Target tracking targets (stackswap's own bounds: a percentage, a request rate).
    "cpu_target_percent": _integer(1, 100),
    "requests_per_target": _integer(1, 1000000),
}


def _health_check(path: str, key: str, raw: dict[str, Any]) -> ContainerHealthCheck:
    values = _sub_table(path, key, raw, HEALTH_CHECK_SCHEMA, required=("command",))
    if values["command"][0] not in ("CMD", "CMD-SHELL"):
        raise ConfigError(path, f"{key}.command",
                          f'must start with "CMD" or "CMD-SHELL" (ECS HealthCheck), got '
                          f"{values['command'][0]!r}")
    return ContainerHealthCheck(**values)


def _sidecars(path: str, key: str, raw: list[dict[str, Any]]) -> tuple[Sidecar, ...]:
    sidecars = []
    for index, table in enumerate(raw):
        where = f"{key}[{index}]"
        values = _sub_table(path, where, table, SIDECAR_SCHEMA, required=("name", "image"))
        values["environment"] = _environment(path, f"{where}.environment",
                                             dict(values.get("environment", {})))
        depends = dict(values.get("depends_on", {}))
        for name, condition in depends.items():
            if condition not in DEPENDENCY_CONDITIONS:
                raise ConfigError(path, f"{where}.depends_on.{name}",
                                  f"must be one of {', '.join(DEPENDENCY_CONDITIONS)}, got "
                                  f"{condition!r}")
        values["depends_on"] = tuple(sorted(depends.items()))
        sidecars.append(Sidecar(**values))
    return tuple(sidecars)


def _autoscaling(path: str, key: str, raw: dict[str, Any]) -> Autoscaling:
    values = _sub_table(path, key, raw, AUTOSCALING_SCHEMA, required=("min", "max"))
    scaling = Autoscaling(**values)
    if scaling.max < scaling.min:
        raise ConfigError(path, f"{key}.max", f"must be at least {key}.min ({scaling.min}), "
                                              f"got {scaling.max}")
    if scaling.cpu_target_percent is None and scaling.requests_per_target is None:
        raise ConfigError(path, key, "needs a target: cpu_target_percent and/or "
                                     "requests_per_target")
    return scaling


def webhook_url_problem(value: Any) -> str | None:
    """A chat webhook URL: https, or http to this machine only (the sandbox's sink), since the
    URL is a secret and its messages name images and URLs."""
    parts = _url_parts(value, r"\s")
    host = parts.hostname if parts else ""
    local = host == "localhost" or (_is_ip_address(host) and ipaddress.ip_address(host).is_loopback)
    if parts is None or not (parts.scheme == "https" or (parts.scheme == "http" and local)):
        return ("must be an https URL such as https://hooks.slack.com/services/T000/B000/XXXX "
                "(http only to 127.0.0.1 or localhost)")
    return None


# SNS topic names: 1-256 letters, digits, '_' and '-'; a FIFO topic's ends in ".fifo" (Amazon
# SNS API Reference, CreateTopic).
SNS_TOPIC_ARN = re.compile(r"arn:aws[a-z-]*:sns:[a-z]{2}(?:-[a-z]+)+-\d:\d{12}:"
                           r"(?=.{1,256}\Z)[A-Za-z0-9_-]+(?:\.fifo)?")
NOTIFY_SCHEMA: dict[str, Check] = {
    "webhook_url": webhook_url_problem,
    "webhook_url_env": _pattern(ENV_NAME.pattern, "the name of an environment variable such as "
                                "SLACK_WEBHOOK_URL"),
    "sns_topic_arn": _pattern(SNS_TOPIC_ARN.pattern, "an SNS topic ARN such as "
                              "arn:aws:sns:eu-west-1:123456789012:deploys"),
    "timeout_seconds": _integer(1, 60),
}


def _notify(path: str, key: str, raw: dict[str, Any]) -> Notify:
    values = _sub_table(path, key, raw, NOTIFY_SCHEMA)
    if "webhook_url" in values and "webhook_url_env" in values:
        raise ConfigError(path, f"{key}.webhook_url_env",
                          "give the webhook as webhook_url or as webhook_url_env, not both")
    return Notify(**values)


# Keys whose value is a table (or a list of tables): checked and converted into hashable data
# by these, with errors that name the nested key.
CONVERTERS: dict[str, Callable[[str, str, Any], Any]] = {
    "deploy.notify": _notify,
    "service.environment": _environment,
    "service.secrets": _secrets,
    "service.health_check": _health_check,
    "service.sidecars": _sidecars,
    "service.autoscaling": _autoscaling,
}
def _duration(value: Any) -> str | None:
    if not isinstance(value, str) or not DURATION.fullmatch(value):
        return f'must be a duration such as "90s", "5m" or "1h", got {value!r}'
    if duration_seconds(value) > MAX_DURATION_SECONDS:
        return f"must be at most 24h, got {value}"
    return None


def _command(value: Any) -> str | None:
    if not isinstance(value, str) or not value.strip() or "\x00" in value:
        return "must be a shell command (a non-empty string)"
    return None


HOOKS_SCHEMA: dict[str, Check] = {**{point: _command for point in HOOK_POINTS},
                                  "timeout": _duration}


def _hooks(value: Any) -> str | None:
    if not isinstance(value, dict):
        return "must be a [deploy.hooks] table"
    for key, item in value.items():
        if key not in HOOKS_SCHEMA:
            return f"unknown key {key!r} (known keys: {', '.join(HOOKS_SCHEMA)})"
        problem = HOOKS_SCHEMA[key](item)
        if problem:
            return f"{key} {problem}"
    return None


SCHEMA: dict[str, dict[str, Check]] = {
    "": {"name": NAME, "region": REGION,
         "cluster": _pattern(r"[A-Za-z0-9_-]{1,255}", "an ECS cluster name"),
         "account_id": _pattern(r"\d{12}", "a 12-digit AWS account id")},
    "network": {
        "vpc_id": _pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0123456789abcdef0"),
        # An ALB needs subnets in at least two availability zones.
        "subnets": SUBNETS,
        "alb_subnets": SUBNETS,
        "task_subnets": _list_of(SUBNET, 1, unique=True),
        "scheme": _one_of(SCHEMES),
        "test_cidr": _ipv4_cidr,
        "assign_public_ip": _boolean,
        "private_nlb": _boolean,
    },
    "listener": {
        # A listener takes one default certificate and up to 25 more (ELB quotas, certificates
        # per Application Load Balancer).
        "certificate_arns": _list_of(CERTIFICATE, 1, 26, unique=True),
        "ssl_policy": _pattern(r"ELBSecurityPolicy-[A-Za-z0-9-]{1,100}",
                               "an ELB security policy name such as " + DEFAULT_SSL_POLICY),
        "production_port": _integer(1, 65535),
        "test_port": _integer(1, 65535),
        "redirect_port": _integer(1, 65535),
        "test_mode": _one_of(TEST_MODES),
        "test_host": _pattern(HOST_NAME.pattern, "a host name such as test.shop.example.com"),
        "access_logs_bucket": _bucket_name,
        "access_logs_prefix": _access_logs_prefix,
    },
    "service": {
        "container_name": _pattern(r"[A-Za-z0-9_-]{1,255}", "a container name"),
        "container_port": _integer(1, 65535),
        "desired_count": _integer(1, MAX_DESIRED_COUNT),
        "launch_type": _one_of(LAUNCH_TYPES),
        "cpu": _integer(128, 16384),
        "memory": _integer(128, 122880),
        "log_kms_key_arn": KMS_KEY,
        "environment": _table,
        "secrets": _table,
        "secrets_kms_key_arn": KMS_KEY,
        "task_role_arn": IAM_ROLE,
        # IAM: at most 20 managed policies per role (IAM quotas, the raised maximum).
        "task_role_policy_arns": _list_of(IAM_POLICY, 1, 20, unique=True),
        "command": STRINGS,
        "entry_point": STRINGS,
        "health_check": _table,
        "cpu_architecture": _one_of(CPU_ARCHITECTURES),
        # Fargate: 21-200 GiB (ECS API reference, EphemeralStorage).
        "ephemeral_storage_gib": _integer(21, 200),
        "read_only_root_filesystem": _boolean,
        # Fargate: "The max stop timeout value is 120 seconds" (ECS API reference,
        # ContainerDefinition stopTimeout); 2 s is stackswap's own minimum.
        "stop_timeout_seconds": _integer(2, 120),
        "log_retention_days": _one_of(LOG_RETENTION_DAYS),
        "sidecars": _sidecar_list,
        "autoscaling": _table,
    },
    "health": {
        "path": PATH,
        "interval_seconds": _integer(5, 300),
        "timeout_seconds": _integer(2, 120),
        "healthy_threshold": _integer(2, 10),
        "unhealthy_threshold": _integer(2, 10),
        "deregistration_delay_seconds": _integer(0, 3600),
        "grace_period_seconds": _integer(0, 2147483647),
    },
    "deploy": {
        "stack_timeout_seconds": _integer(10, 43200),
        "smoke_path": PATH,
        "smoke_tries": _integer(1, 100),
        "production_url": _url,
        "test_url": _url,
        "verify_timeout_seconds": _integer(1, 43200),
        "unreachable_timeout_seconds": _integer(5, 3600),
        "alarms": _list_of(ALARM, 0, MAX_ALARMS, unique=True),
        "alarm_monitoring_minutes": _integer(0, 180),
        "ca_bundle": _pattern(r"[^\x00]{1,4096}", "the path of a PEM file"),
        "strategy": _one_of(STRATEGIES),
        "canary_percent": _integer(1, 99),
        "step_percent": _integer(1, 99),
        "step_interval": _duration,
        "bake": _duration,
        "retire": _one_of(RETIRE),
        "hooks": _hooks,
        "notify": _table,
    },
    "deploy_role": {
        "github_repository": GITHUB_REPOSITORY,
        "github_subjects": _list_of(GITHUB_SUBJECT, 1, 20, unique=True),
        "cloudformation_role_arn": _pattern(
            r"arn:aws[a-z-]*:iam::\d{12}:role/[\w+=,.@/-]{1,512}",
            "an IAM role ARN such as arn:aws:iam::123456789012:role/shop-deploy-role-"
            "CloudFormationRole-AB12CD34"),
    },
}
