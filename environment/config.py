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
from dataclasses import MISSING, dataclass, fields, replace
from pathlib import Path
from typing import Any

from stackswap.environment import names
from stackswap.environment.errors import ConfigError
from stackswap.environment.names import COLORS, alb_stack_name, service_stack_name

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


SCHEMES = ("internet-facing", "internal")
TEST_MODES = ("port", "host")
# ELB's current TLS 1.3 policy (Elastic Load Balancing, "Security policies for your Application
# Load Balancer": the recommended default for HTTPS listeners).
DEFAULT_SSL_POLICY = "ELBSecurityPolicy-TLS13-1-2-2021-06"
# Who may reach the test path of an internal load balancer when the config does not say: the
# private address ranges its clients come from. An internet-facing one has no default: its
# clients arrive from public addresses (docs/configuration.md, network.test_cidr).
INTERNAL_TEST_CIDR = "10.0.0.0/8"


@dataclass(frozen=True)
class Network:
    vpc_id: str
    # `subnets` means both lists; alb_subnets / task_subnets override it for one side. After
    # parsing, alb_subnets and task_subnets are always filled in.
    subnets: tuple[str, ...] = ()
    alb_subnets: tuple[str, ...] = ()
    task_subnets: tuple[str, ...] = ()
    scheme: str = "internet-facing"
    # Who may reach the test path (listener or host rule), as the load balancer sees them.
    test_cidr: str | None = None
    # ENABLED only makes sense for tasks in public subnets (a NAT gateway never serves a task in
    # a public subnet: its route to the internet is the internet gateway).
    assign_public_ip: bool = False
    # An internal NLB in front of the ALB's production listener (seed 004): private clients
    # follow every swap with the public ones.
    private_nlb: bool = False


@dataclass(frozen=True)
class Listener:
    # ACM (or IAM server) certificate ARNs: the first is the default certificate, the others
    # are added to the listeners. Empty: the article's HTTP listeners.
    certificate_arns: tuple[str, ...] = ()
    ssl_policy: str = DEFAULT_SSL_POLICY
    # Ports; None until parsed, then 443/8443 with certificates, 80/8080 without. The test port
    # is None in host mode (no test listener).
    production_port: int | None = None
    test_port: int | None = None
    # HTTPS only: this port answers with a permanent redirect to https.
    redirect_port: int = 80
    # "port": a test listener on test_port; "host": a rule on the production listener that sends
    # test_host from test_cidr to the idle colour (seed 003).
    test_mode: str = "port"
    test_host: str | None = None
    # The user's S3 bucket (and optional key prefix) for the ALB's access logs; None: no logs.
    access_logs_bucket: str | None = None
    access_logs_prefix: str | None = None

    @property
    def https(self) -> bool:
        return bool(self.certificate_arns)

    @property
    def protocol(self) -> str:
        return "HTTPS" if self.https else "HTTP"

    @property
    def host_mode(self) -> bool:
        return self.test_mode == "host"


@dataclass(frozen=True)
class ContainerHealthCheck:
    """The app container's own health check (ECS HealthCheck), run by the container agent."""

    command: tuple[str, ...]
    interval_seconds: int = 30
    timeout_seconds: int = 5
    retries: int = 3
    start_period_seconds: int = 0


@dataclass(frozen=True)
class Sidecar:
    """A second container of the task, next to the app container (`[[service.sidecars]]`)."""

    name: str
    image: str
    essential: bool = True
    ports: tuple[int, ...] = ()
    environment: tuple[tuple[str, str], ...] = ()
    # (container name, condition): START, COMPLETE, SUCCESS or HEALTHY
    depends_on: tuple[tuple[str, str], ...] = ()


@dataclass(frozen=True)
class Autoscaling:
    """Application Auto Scaling of each colour's service: target tracking on CPU and/or ALB
    requests per target, between min and max tasks."""

    min: int
    max: int
    cpu_target_percent: int | None = None
    requests_per_target: int | None = None


@dataclass(frozen=True)
class Service:
    container_name: str = "app"
    container_port: int = 8000
    desired_count: int = 2
    launch_type: str = "FARGATE"
    cpu: int = 256
    memory: int = 512
    # A KMS key ARN: both colours' log groups are encrypted with it. None: CloudWatch Logs'
    # default encryption.
    log_kms_key_arn: str | None = None
    # The full task definition (docs/configuration.md, "The task definition"). Tables are kept
    # as sorted (name, value) pairs, so a Config stays hashable (renders are cached by it).
    environment: tuple[tuple[str, str], ...] = ()
    secrets: tuple[tuple[str, str], ...] = ()
    secrets_kms_key_arn: str | None = None
    task_role_arn: str | None = None
    task_role_policy_arns: tuple[str, ...] = ()
    command: tuple[str, ...] = ()
    entry_point: tuple[str, ...] = ()
    health_check: ContainerHealthCheck | None = None
    cpu_architecture: str | None = None
    ephemeral_storage_gib: int | None = None
    read_only_root_filesystem: bool = False
    stop_timeout_seconds: int | None = None
    log_retention_days: int = 30
    sidecars: tuple[Sidecar, ...] = ()
    autoscaling: Autoscaling | None = None


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


STRATEGIES = ("all-at-once", "canary", "linear")
RETIRE = ("manual", "after-bake")
DURATION = re.compile(r"(\d{1,6})([smh])")
DURATION_UNITS = {"s": 1, "m": 60, "h": 3600}
# A step interval or a bake may be at most a day: stackswap waits them in one run.
MAX_DURATION_SECONDS = 86400
HOOK_POINTS = ("before_swap", "after_step", "after_swap")


@dataclass(frozen=True)
class Hooks:
    # Shell commands (run with /bin/sh -c): before production moves, after each step of a
    # shift, after the last step. A non-zero exit is a failed gate.
    before_swap: str | None = None
    after_step: str | None = None
    after_swap: str | None = None
    # How long each may run before it counts as failed.
    timeout: str = "5m"

    @property
    def timeout_seconds(self) -> int:
        return duration_seconds(self.timeout)


@dataclass(frozen=True)
class Notify:
    # Who is told of a run (start, each traffic step, success, failure, rollback): a chat
    # webhook taking Slack's {"text": ...} body, given as the URL or as the name of the
    # environment variable holding it (a webhook URL is a secret), and/or an SNS topic.
    webhook_url: str | None = None
    webhook_url_env: str | None = None
    sns_topic_arn: str | None = None
    # How long one notification may take before it counts as failed (it never fails the run).
    timeout_seconds: int = 5

    @property
    def any(self) -> bool:
        return bool(self.webhook_url or self.webhook_url_env or self.sns_topic_arn)


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
    # PEM file of the CA(s) the smoke requests trust for https (a private CA, the sandbox's);
    # relative to the config file. None: the system's trust store.
    ca_bundle: str | None = None
    # How production moves to the new colour: all at once (one swap), or a traffic shift —
    # canary (canary_percent for one step_interval, then 100 %) or linear (step_percent more
    # every step_interval). Durations are "90s", "5m", "1h".
    strategy: str = "all-at-once"
    canary_percent: int = 10
    step_percent: int = 25
    step_interval: str = "5m"
    # After the last step, how long the old colour stays warm before it may be retired, and who
    # retires it: this run ("after-bake") or the operator (`stackswap retire`, "manual").
    bake: str = "0s"
    retire: str = "manual"
    # Gates: commands run at points of a deploy (deploy.hooks.*), and their time limit.
    hooks: Hooks = Hooks()
    notify: Notify = Notify()

    @property
    def step_interval_seconds(self) -> int:
        return duration_seconds(self.step_interval)

    @property
    def bake_seconds(self) -> int:
        return duration_seconds(self.bake)


def duration_seconds(text: str) -> int:
    """Seconds of a validated duration ("90s", "5m", "2h")."""
    number, unit = DURATION.fullmatch(text).groups()
    return int(number) * DURATION_UNITS[unit]


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
    listener: Listener = Listener()
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



def test_path_output(config: Config) -> str:
    """The ALB stack output naming what carries test traffic: the test listener or the rule."""
    return names.OUTPUT_TEST_RULE if config.listener.host_mode else names.OUTPUT_TEST_LISTENER


def swapped_resources(config: Config) -> tuple[str, str]:
    """Logical ids of the two resources a swap modifies (their forward actions)."""
    return (names.PRODUCTION_LISTENER,
            names.TEST_RULE if config.listener.host_mode else names.TEST_LISTENER)


def is_fargate(config: Config) -> bool:
    """Fargate service stacks (awsvpc tasks, `ip` targets) take the load balancer's security
    group as a parameter; EC2 ones (bridge networking) do not."""
    return config.service.launch_type == "FARGATE"


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
        "desired_count": _integer(1, 1000),
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
SECTIONS = {"network": Network, "listener": Listener, "service": Service, "health": Health,
            "deploy": Deploy, "deploy_role": DeployRole}


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
        if prefix + key in CONVERTERS:
            values[key] = CONVERTERS[prefix + key](path, prefix + key, value)
            continue
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
    config = _resolve(config, raw)
    _check_combinations(config)
    return config


def _resolve(config: Config, raw: dict[str, Any]) -> Config:
    """Fill in what depends on other keys: both subnet lists, the ports, test_cidr, ca_bundle's
    absolute path. A key that has no meaning in the chosen mode is an error, not ignored."""
    path, network, listener = config.path, config.network, config.listener
    given = {section: set(raw.get(section, {})) for section in ("network", "listener", "deploy")}
    alb_subnets = network.alb_subnets or network.subnets
    task_subnets = network.task_subnets or network.subnets
    for key, value in (("alb_subnets", alb_subnets), ("task_subnets", task_subnets)):
        if not value:
            raise ConfigError(path, f"network.{key}",
                              "is required but missing (or network.subnets, which sets both)")
    test_cidr = network.test_cidr
    if test_cidr is None:
        if network.scheme == "internet-facing":
            raise ConfigError(path, "network.test_cidr", _TEST_CIDR_REQUIRED)
        test_cidr = INTERNAL_TEST_CIDR
    if not listener.https:
        for key in ("ssl_policy", "redirect_port"):
            if key in given["listener"]:
                raise ConfigError(path, f"listener.{key}",
                                  "only applies with listener.certificate_arns (HTTPS)")
    if listener.host_mode:
        if listener.test_host is None:
            raise ConfigError(path, "listener.test_host",
                              'is required with listener.test_mode = "host"')
        if "test_port" in given["listener"]:
            raise ConfigError(path, "listener.test_port",
                              'has no meaning with listener.test_mode = "host" (no test '
                              'listener: test traffic is told apart by listener.test_host)')
    elif "test_host" in given["listener"]:
        raise ConfigError(path, "listener.test_host",
                          'only applies with listener.test_mode = "host"')
    if "access_logs_prefix" in given["listener"] and listener.access_logs_bucket is None:
        raise ConfigError(path, "listener.access_logs_prefix",
                          "only applies with listener.access_logs_bucket")
    production_port = listener.production_port or (443 if listener.https else 80)
    test_port = None if listener.host_mode else (
        listener.test_port or (8443 if listener.https else 8080))
    ports = [("production_port", production_port), ("test_port", test_port)]
    if listener.https:
        ports.append(("redirect_port", listener.redirect_port))
    seen: dict[int, str] = {}
    for key, port in ports:
        if port is not None and port in seen:
            raise ConfigError(path, f"listener.{key}",
                              f"{port} is also listener.{seen[port]}; each listener needs its "
                              f"own port")
        if port is not None:
            seen[port] = key
    if listener.https and config.deploy.production_url is None:
        raise ConfigError(path, "deploy.production_url",
                          "is required with listener.certificate_arns: the https URL your "
                          "certificate covers (https://shop.example.com); the load balancer's "
                          "own DNS name is not on the certificate")
    _check_strategy(config, given["deploy"])
    ca_bundle = config.deploy.ca_bundle
    if ca_bundle is not None:
        bundle = Path(path).parent / ca_bundle if path != "<memory>" else Path(ca_bundle)
        if not bundle.is_file():
            raise ConfigError(path, "deploy.ca_bundle", f"no such file: {bundle}")
        ca_bundle = str(bundle.resolve())
    return replace(
        config,
        network=replace(network, alb_subnets=alb_subnets, task_subnets=task_subnets,
                        test_cidr=test_cidr),
        listener=replace(listener, production_port=production_port, test_port=test_port),
        deploy=replace(config.deploy, ca_bundle=ca_bundle, hooks=Hooks(**dict(hooks))
                       if isinstance(hooks := config.deploy.hooks, dict) else hooks))


def _check_strategy(config: Config, given: set[str]) -> None:
    """canary_percent, step_percent and step_interval are read whatever deploy.strategy says:
    `deploy --strategy` may choose a shift for one deploy."""
    if config.deploy.step_interval_seconds == 0:
        raise ConfigError(config.path, "deploy.step_interval", "must be at least 1s")


_TEST_CIDR_REQUIRED = (
    "is required with an internet-facing load balancer: who may reach the test path, as the "
    "load balancer sees them. Its clients arrive from public addresses (a laptop, a CI runner, "
    "even a host in the VPC leaving through its NAT gateway), so give their public address "
    "(e.g. \"203.0.113.10/32\"), or set network.scheme = \"internal\"")


def _check_combinations(config: Config) -> None:
    health, service = config.health, config.service
    if health.timeout_seconds >= health.interval_seconds:
        raise ConfigError(config.path, "health.timeout_seconds",
                          f"must be less than health.interval_seconds ({health.interval_seconds})")
    _check_task_definition(config)
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


def _check_task_definition(config: Config) -> None:
    """What the task-definition keys require of each other (docs/configuration.md)."""
    path, service = config.path, config.service
    if service.task_role_arn and service.task_role_policy_arns:
        raise ConfigError(path, "service.task_role_policy_arns",
                          "cannot be combined with service.task_role_arn: either an existing "
                          "role, or managed policies for a role the stack makes")
    if service.secrets_kms_key_arn and not service.secrets:
        raise ConfigError(path, "service.secrets_kms_key_arn", "only applies with service.secrets")
    both = {name for name, _ in service.environment} & {name for name, _ in service.secrets}
    if both:
        raise ConfigError(path, f"service.secrets.{sorted(both)[0]}",
                          "is also in service.environment; a variable comes from one of them")
    if service.launch_type != "FARGATE" and service.ephemeral_storage_gib is not None:
        raise ConfigError(path, "service.ephemeral_storage_gib",
                          'only applies with service.launch_type = "FARGATE"')
    names = [service.container_name]
    for index, sidecar in enumerate(service.sidecars):
        if sidecar.name in names:
            raise ConfigError(path, f"service.sidecars[{index}].name",
                              f"{sidecar.name!r} is already a container of the task; names must "
                              f"be unique")
        names.append(sidecar.name)
        if service.container_port in sidecar.ports:
            raise ConfigError(path, f"service.sidecars[{index}].ports",
                              f"{service.container_port} is service.container_port")
    for index, sidecar in enumerate(service.sidecars):
        for name, condition in sidecar.depends_on:
            where = f"service.sidecars[{index}].depends_on.{name}"
            if name == sidecar.name or name not in names:
                raise ConfigError(path, where, f"names no other container of the task (the "
                                               f"containers: {', '.join(names)})")
            # Only a container with a health check can be HEALTHY (ECS ContainerDependency).
            if condition == "HEALTHY" and not (name == service.container_name
                                               and service.health_check):
                raise ConfigError(path, where, "HEALTHY needs a container health check (only "
                                               "the app container has one: "
                                               "service.health_check)")
    scaling = service.autoscaling
    if scaling and not scaling.min <= service.desired_count <= scaling.max:
        raise ConfigError(path, "service.desired_count",
                          f"must be within service.autoscaling min {scaling.min} and max "
                          f"{scaling.max}, got {service.desired_count}")


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
