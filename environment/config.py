"""What an environment config is: frozen dataclasses, one per section of the TOML (`Config` and
its parts), the constants their values are chosen from, and what a config makes of the names
contract (which resource carries test traffic, which stack kind a launch type takes). Loading
and validation are load.py's (value checks in checks.py, cross-key rules in rules.py).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

from stackswap.environment import names
from stackswap.environment.names import alb_stack_name, service_stack_name

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


# service.desired_count: tasks per colour (stackswap's own bound, within ECS's tasks per service).
MAX_DESIRED_COUNT = 1000

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
    # How long one stack operation may take before stackswap gives up on it; a swap's alarm
    # monitoring time comes on top (plan.operation_deadline).
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

