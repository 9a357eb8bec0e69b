"""Load and validate an environment config (TOML) into frozen dataclasses.

The format is TOML because Python reads it without a dependency and it allows comments; the
commented reference is `stackswap.example.toml`. Every problem is reported as one ConfigError
naming the file and the dotted key, and unknown keys are errors too (a typo must not silently
fall back to a default).
"""

from __future__ import annotations

import ipaddress
import re
import tomllib
import urllib.parse
from collections.abc import Callable
from dataclasses import MISSING, dataclass, fields
from pathlib import Path
from typing import Any

from generator.errors import ConfigError
from generator.interface import COLORS, alb_stack_name, service_stack_name

__all__ = ["COLORS", "Config", "ConfigError", "load_config", "parse_config"]
LAUNCH_TYPES = ("FARGATE", "EC2")
# The task sizes Fargate runs: CPU units -> the memory (MiB) they take (Amazon ECS Developer
# Guide, "Troubleshoot Amazon ECS task definition invalid CPU or memory errors").
FARGATE_MEMORY: dict[int, tuple[int, ...] | range] = {
    256: (512, 1024, 2048),
    512: range(1024, 4096 + 1, 1024),
    1024: range(2048, 8192 + 1, 1024),
    2048: range(4096, 16384 + 1, 1024),
    4096: range(8192, 30720 + 1, 1024),
    8192: range(16384, 61440 + 1, 4096),
    16384: range(32768, 122880 + 1, 8192),
}
FARGATE_CPU = tuple(FARGATE_MEMORY)
# CloudFormation takes at most 5 rollback triggers (API Reference, RollbackConfiguration); every
# alarm is one trigger of the swap.
MAX_ALARMS = 5


@dataclass(frozen=True)
class Network:
    vpc_id: str
    subnets: tuple[str, ...]
    # Who may reach the test listener (:8080). Never the world unless the config says so.
    test_cidr: str = "10.0.0.0/8"
    assign_public_ip: bool = False


@dataclass(frozen=True)
class Service:
    container_name: str = "app"
    container_port: int = 8000
    desired_count: int = 2
    launch_type: str = "FARGATE"
    cpu: int = 256
    memory: int = 512


@dataclass(frozen=True)
class Health:
    path: str = "/health"
    # Fast defaults: a target is healthy after 2 passes 5 s apart (~10 s) and drained in 15 s,
    # so a swap or rollback completes in well under a minute. ALB's own defaults (30 s interval,
    # 5 passes, 300 s drain) make every deploy wait minutes for nothing.
    interval_seconds: int = 5
    timeout_seconds: int = 4
    healthy_threshold: int = 2
    unhealthy_threshold: int = 2
    deregistration_delay_seconds: int = 15
    grace_period_seconds: int = 30


@dataclass(frozen=True)
class Deploy:
    # How long one stack operation may take before stackswap gives up on it.
    stack_timeout_seconds: int = 1800
    # Requests to the test (and then production) listener before a colour counts as serving.
    smoke_path: str | None = None
    smoke_tries: int = 5
    # Where the smoke requests go. Default: http://<the ALB's DNS name>:80 and :8080. Set them
    # when users reach the ALB through another name (a CNAME, a CDN, a local proxy).
    production_url: str | None = None
    test_url: str | None = None
    # How long a new colour may take to become steady and healthy after its stack update.
    verify_timeout_seconds: int = 600
    # CloudWatch alarm names that roll the swap back (CloudFormation rollback triggers).
    alarms: tuple[str, ...] = ()
    alarm_monitoring_minutes: int = 5
    # How long AWS may fail to answer in a row (network lost, throttled past botocore's
    # retries) before a wait gives up with exit 7 and the rerun command.
    unreachable_timeout_seconds: int = 60


@dataclass(frozen=True)
class DeployRole:
    # "owner/repo": the deploy role also trusts GitHub Actions (OIDC) runs of this repository.
    # None: only principals of the account itself may assume it.
    github_repository: str | None = None
    # Which runs of that repository: the `sub` claim of GitHub's OIDC token after
    # "repo:owner/repo:". Default: pushes to main and jobs of the `production` environment,
    # never every branch, tag and pull request.
    github_subjects: tuple[str, ...] = ("ref:refs/heads/main", "environment:production")
    # The CloudFormationRoleArn output of the deploy-role stack. When set, stackswap passes it as
    # RoleARN when it creates and updates the three stacks (CloudFormation then acts with that
    # role, not with the caller's permissions); required when stackswap runs as the deploy role.
    cloudformation_role_arn: str | None = None


@dataclass(frozen=True)
class Config:
    name: str
    region: str
    cluster: str
    network: Network
    service: Service = Service()
    health: Health = Health()
    deploy: Deploy = Deploy()
    deploy_role: DeployRole = DeployRole()
    # The AWS account the environment lives in. When set, stackswap refuses to run with
    # credentials of any other account (a wrong profile would otherwise create a new environment).
    account_id: str | None = None
    path: str = "<memory>"

    @property
    def alb_stack(self) -> str:
        return alb_stack_name(self.name)

    def service_stack(self, color: str) -> str:
        return service_stack_name(self.name, color)

    @property
    def family(self) -> str:
        # One task-definition family for both colours, as in the article: every deploy is a new
        # revision of the same family.
        return self.name

    @property
    def smoke_path(self) -> str:
        return self.deploy.smoke_path or self.health.path


# --- validation -------------------------------------------------------------------------------

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


def _url(value: Any) -> str | None:
    """http(s)://host[:port][/]: a host name or IP address, a port from 1 to 65535, no path."""
    problem = (f"must be an http(s) URL without a path, such as http://shop.example.com:8080, "
               f"got {value!r}")
    if not isinstance(value, str) or re.search(r"[\s?#@]", value):
        return problem
    try:
        parts = urllib.parse.urlsplit(value)
        port = parts.port  # ValueError when not a number from 0 to 65535
    except ValueError:
        return problem
    host = parts.hostname or ""
    if (parts.scheme not in ("http", "https") or parts.path not in ("", "/") or port == 0
            or not (HOST_NAME.fullmatch(host) or _is_ip_address(host))):
        return problem
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

SCHEMA: dict[str, dict[str, Check]] = {
    "": {"name": NAME, "region": REGION,
         "cluster": _pattern(r"[A-Za-z0-9_-]{1,255}", "an ECS cluster name"),
         "account_id": _pattern(r"\d{12}", "a 12-digit AWS account id")},
    "network": {
        "vpc_id": _pattern(r"vpc-[0-9a-f]{8,17}", "a VPC id such as vpc-0123456789abcdef0"),
        # An ALB needs subnets in at least two availability zones.
        "subnets": _list_of(_pattern(r"subnet-[0-9a-f]{8,17}", "a subnet id"), 2, unique=True),
        "test_cidr": _ipv4_cidr,
        "assign_public_ip": _boolean,
    },
    "service": {
        "container_name": _pattern(r"[A-Za-z0-9_-]{1,255}", "a container name"),
        "container_port": _integer(1, 65535),
        "desired_count": _integer(1, 1000),
        "launch_type": _one_of(LAUNCH_TYPES),
        "cpu": _integer(128, 16384),
        "memory": _integer(128, 122880),
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
SECTIONS = {"network": Network, "service": Service, "health": Health, "deploy": Deploy,
            "deploy_role": DeployRole}


def _validate_section(path: str, section: str, raw: dict[str, Any]) -> dict[str, Any]:
    schema = SCHEMA[section]
    prefix = f"{section}." if section else ""
    values: dict[str, Any] = {}
    for key, value in raw.items():
        if section == "" and key in SECTIONS:
            continue
        if key not in schema:
            known = ", ".join(sorted(schema) + ([] if section else sorted(SECTIONS)))
            raise ConfigError(path, prefix + key, f"unknown key (known keys: {known})")
        problem = schema[key](value)
        if problem:
            raise ConfigError(path, prefix + key, problem)
        values[key] = tuple(value) if isinstance(value, list) else value
    return values


def _required(path: str, section: str, cls: type, values: dict[str, Any]) -> None:
    for field in fields(cls):
        has_default = field.default is not MISSING or field.default_factory is not MISSING
        if not has_default and field.name not in values:
            prefix = f"{section}." if section else ""
            raise ConfigError(path, prefix + field.name, "is required but missing")


def parse_config(raw: dict[str, Any], path: str = "<memory>") -> Config:
    """Validate a parsed TOML document into a Config, or raise ConfigError."""
    top = _validate_section(path, "", raw)
    sections: dict[str, Any] = {}
    for section, cls in SECTIONS.items():
        body = raw.get(section, {})
        if not isinstance(body, dict):
            raise ConfigError(path, section, f"must be a [{section}] table")
        values = _validate_section(path, section, body)
        _required(path, section, cls, values)
        sections[section] = cls(**values)
    _required(path, "", Config, top | sections)
    config = Config(**top, **sections, path=path)
    _check_combinations(config)
    return config


def _check_combinations(config: Config) -> None:
    health, service = config.health, config.service
    if health.timeout_seconds >= health.interval_seconds:
        raise ConfigError(config.path, "health.timeout_seconds",
                          f"must be less than health.interval_seconds ({health.interval_seconds})")
    if service.launch_type != "FARGATE":
        return
    if service.cpu not in FARGATE_MEMORY:
        raise ConfigError(config.path, "service.cpu",
                          f"must be one of {', '.join(map(str, FARGATE_CPU))} on Fargate, "
                          f"got {service.cpu}")
    memory = FARGATE_MEMORY[service.cpu]
    if service.memory not in memory:
        allowed = (f"from {memory.start} to {memory[-1]} in steps of {memory.step}"
                   if isinstance(memory, range) else f"one of {', '.join(map(str, memory))}")
        raise ConfigError(config.path, "service.memory",
                          f"must be {allowed} with service.cpu {service.cpu} on Fargate, "
                          f"got {service.memory}")


def load_config(path: str | Path) -> Config:
    """Read and validate the environment config at `path`."""
    path = Path(path)
    try:
        data = path.read_bytes()
    except FileNotFoundError:
        raise ConfigError(str(path), None, "config file not found") from None
    except OSError as error:
        raise ConfigError(str(path), None, f"cannot read: {error.strerror}") from None
    try:
        # utf-8-sig: a byte order mark (what editors on Windows write) is read and dropped.
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as error:
        hint = ("UTF-16? save it as UTF-8" if data[:2] in (b"\xff\xfe", b"\xfe\xff")
                else f"byte 0x{data[error.start]:02x} at offset {error.start}")
        raise ConfigError(str(path), None, f"not a UTF-8 text file ({hint})") from None
    try:
        raw = tomllib.loads(text)
    except tomllib.TOMLDecodeError as error:
        raise ConfigError(str(path), None, f"not valid TOML: {error}") from None
    return parse_config(raw, str(path))
