"""Bad input: flags, config values, images, colours, regions, credentials, profiles, config
files, stacks that are not there. Each exits 2 (bad input) or 3 (refused) with exactly one line
on stderr, no traceback, and no mutating AWS call; most make no AWS call at all.

They run through `orchestrator.cli.main` in-process (tests.harness.invoke), and a few through the
installed console script in a subprocess to show it behaves the same.
"""

from __future__ import annotations

import argparse
import http.server
import os
import subprocess
import sys
import threading
from pathlib import Path

import botocore.awsrequest
import pytest
from stackswap.environment.errors import StateUnknown
from stackswap.orchestrator import cli
from stackswap.orchestrator.aws import Aws
from stackswap.sandbox.environment import write_config

from tests.conftest import REPO
from tests.harness import HookedAws, Result, fresh_session, http_error, invoke

IDS = {"name": "shop", "region": "eu-west-1", "cluster": "shop", "vpc_id": "vpc-0123456789abcdef0",
       "subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}
STACKSWAP = REPO / ".venv" / "bin" / "stackswap"


@pytest.fixture
def offline(tmp_path, monkeypatch):
    """A valid config, dummy credentials and an endpoint where nothing listens: any request
    that got out would fail loudly."""
    for key, value in {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_ACCESS_KEY_ID": "x",
                       "AWS_SECRET_ACCESS_KEY": "x", "AWS_EC2_METADATA_DISABLED": "true"}.items():
        monkeypatch.setenv(key, value)
    for key in ("AWS_PROFILE", "STACKSWAP_CONFIG", "AWS_SESSION_TOKEN"):
        monkeypatch.delenv(key, raising=False)
    return write_config(tmp_path / "shop.toml", IDS)


def edited(config: Path, old: str, new: str) -> Path:
    text = config.read_text()
    assert old in text, old
    config.write_text(text.replace(old, new))
    return config


def check(result, codes=(2,)) -> None:
    assert result.code in codes, result
    assert "Traceback" not in result.err
    assert result.err.count("\n") == 1 and result.err.endswith("\n"), result.err
    assert result.err.startswith("stackswap: "), result.err


FLAGS = [
    ([], "the following arguments are required: COMMAND"),
    (["frobnicate"], "invalid choice: 'frobnicate'"),
    (["deploy"], "the following arguments are required: --image"),
    (["deploy", "--image", "app"], "add a tag, e.g. app:v2"),
    (["deploy", "--image", "App:v2"], "not a container image with a tag or digest"),
    (["deploy", "--image", "app:"], "not a container image with a tag or digest"),
    (["deploy", "--image", " app:v2"], "not a container image with a tag or digest"),
    (["deploy", "--image", "app@sha256:abc"], "not a container image with a tag or digest"),
    (["deploy", "--image", "app:v2", "--color", "purple"], "invalid choice: 'purple'"),
    (["deploy", "--image", "app:v2", "--color", "Blue"], "invalid choice: 'Blue'"),
    (["deploy", "--image", "app:v2", "--color"], "expected one argument"),
    (["deploy", "--image", "app:v2", "--colour", "blue"], "unrecognized arguments"),
    (["deploy", "--image", "app:v2", "extra"], "unrecognized arguments: extra"),
    (["swap", "--image", "app:v2"], "unrecognized arguments: --image"),
    (["rollback", "--color", "blue"], "unrecognized arguments: --color"),
    (["status", "--dry-run"], "unrecognized arguments: --dry-run"),
    (["recover", "--skip"], "expected one argument"),
    (["unlock", "--wait"], "unrecognized arguments: --wait"),
    (["swap", "--to", "purple"], "invalid choice: 'purple'"),
    (["deploy", "--image", "app:v2", "--no-swap=yes"], "ignored explicit argument 'yes'"),
    # ECS ContainerDefinition `image`: "up to 255 characters total" with a tag; with a digest
    # the 255 apply to everything before the '@' (Amazon ECS API Reference, ContainerDefinition:
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ContainerDefinition.html).
    (["deploy", "--image", f"registry.example.com/{'a' * 469}:v1"], "493 characters"),
    (["deploy", "--image", f"{'a' * 256}@sha256:{'0' * 64}"], "256 characters before the '@'"),
    # ContinueUpdateRollback `ResourcesToSkip`: logical ids, pattern [a-zA-Z0-9]+ or
    # NestedStackName.ResourceLogicalID (AWS CloudFormation API Reference, ContinueUpdateRollback:
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ContinueUpdateRollback.html).
    (["recover", "--skip", ""], "--skip: not a logical resource id: ''"),
    (["recover", "--skip", "Blue Service"], "not a logical resource id: 'Blue Service'"),
    (["recover", "--skip", "Service", "--skip", "nested."], "not a logical resource id"),
    # The region is compared with the config's; an empty or malformed one is a typo, not "none".
    (["status", "--region", ""], "--region: not an AWS region: ''"),
    (["status", "--region", "Ireland"], "--region: not an AWS region: 'Ireland'"),
]


@pytest.mark.parametrize(("argv", "says"), FLAGS,
                         ids=[" ".join(a)[:60] or "none" for a, _ in FLAGS])
def test_bad_flags(offline, argv, says):
    hooked = HookedAws()
    result = invoke([*argv, "--config", str(offline)] if argv else [], hooked)
    check(result)
    assert says in result.err
    assert hooked.calls == []


def test_flag_errors_name_the_command_after_the_prefix(offline):
    result = invoke(["deploy", "--config", str(offline)], HookedAws())
    assert result.err == ("stackswap: deploy: the following arguments are required: --image "
                          "(see stackswap deploy --help)\n")
    result = invoke(["frobnicate"], HookedAws())
    assert result.err.startswith("stackswap: argument COMMAND: invalid choice: 'frobnicate'")
    assert result.err.endswith("(see stackswap --help)\n")


@pytest.mark.parametrize(("image", "fits"), [
    (f"registry.example.com/{'a' * 231}:v1", True),  # 255 characters
    (f"registry.example.com/{'a' * 232}:v1", False),
    (f"{'a' * 255}@sha256:{'0' * 64}", True),  # the digest does not count
])
def test_image_length_is_the_ecs_limit(image, fits):
    if fits:
        assert cli.image_argument(image) == image
    else:
        with pytest.raises(argparse.ArgumentTypeError, match="at most 255"):
            cli.image_argument(image)


CONFIGS = [
    (('name = "shop"', 'name = "Shop"'), "name: must be"),
    (('region = "eu-west-1"', 'region = "europe"'), "region: must be"),
    (('name = "shop"', 'nmae = "shop"'), "nmae: unknown key"),
    (('"subnet-0123456789abcdef1"', ""), "network.subnets: must be a list of at least 2"),
    (('test_cidr = "127.0.0.0/8"', 'test_cidr = "everyone"'), "network.test_cidr"),
    (("desired_count = 2", "desired_count = 0"), "service.desired_count"),
    (("[service]", '[service]\nlaunch_type = "LAMBDA"'), "service.launch_type"),
    (("[health]", "[health]\ninterval_seconds = 5\ntimeout_seconds = 5"),
     "health.timeout_seconds: must be less than"),
    (("[deploy]", '[deploy]\nproduction_url = "ftp://shop"'), "deploy.production_url"),
    (("[deploy]", '[deploy]\nsmoke_path = "health"'), "deploy.smoke_path"),
    # GitHub OIDC subjects: never a wildcard over every ref (docs/security.md)
    (("[deploy]", '[deploy_role]\ngithub_subjects = ["*"]\n[deploy]'),
     "deploy_role.github_subjects: must be a GitHub OIDC subject"),
    (("[deploy]", '[deploy_role]\ngithub_subjects = ["ref:refs/heads/*"]\n[deploy]'),
     "deploy_role.github_subjects: must be a GitHub OIDC subject"),
    (("[deploy]", '[deploy_role]\ngithub_subjects = []\n[deploy]'),
     "deploy_role.github_subjects: must be a list of at least 1"),
    (("[deploy]", '[deploy]\nalarms = ["a:b"]'), "deploy.alarms"),
    (("stack_timeout_seconds = 120", "stack_timeout_seconds = 5"),
     "deploy.stack_timeout_seconds"),
    (('cluster = "shop"', ""), "cluster: is required but missing"),
    (('region = "eu-west-1"', 'region = '), "not valid TOML"),
    # CreateLoadBalancer `Subnets`: "You can specify only one subnet per Availability Zone" and an
    # ALB needs "subnets from at least two Availability Zones" (Elastic Load Balancing API
    # Reference, CreateLoadBalancer: https://docs.aws.amazon.com/elasticloadbalancing/latest/
    # APIReference/API_CreateLoadBalancer.html): the same subnet twice is one zone.
    (('"subnet-0123456789abcdef1"', '"subnet-0123456789abcdef0"'),
     "network.subnets: lists 'subnet-0123456789abcdef0' twice"),
    # The test listener's rule is `CidrIp` (generator/elb.py), "the IPv4 address range, in CIDR
    # format"; IPv6 would need `CidrIpv6` (CloudFormation template reference,
    # AWS::EC2::SecurityGroup Ingress: https://docs.aws.amazon.com/AWSCloudFormation/latest/
    # TemplateReference/aws-properties-ec2-securitygroup-ingress.html).
    (('test_cidr = "127.0.0.0/8"', 'test_cidr = "::/0"'), "network.test_cidr: must be an IPv4"),
    (('test_cidr = "127.0.0.0/8"', 'test_cidr = "2001:db8::/32"'), "network.test_cidr: must be"),
    # RollbackConfiguration `RollbackTriggers`: "Array Members: Maximum number of 5 items" (AWS
    # CloudFormation API Reference, RollbackConfiguration: https://docs.aws.amazon.com/
    # AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html; botocore's model of
    # the API says the same, `max: 5`). Every alarm is one trigger of the swap.
    (("[deploy]", '[deploy]\nalarms = ["a1", "a2", "a3", "a4", "a5", "a6"]'),
     "deploy.alarms: must be a list of at most 5"),
    (("[deploy]", '[deploy]\nalarms = ["shop-5xx", "shop-5xx"]'),
     "deploy.alarms: lists 'shop-5xx' twice"),
    # Fargate task sizes: 256 CPU units take 512, 1024 or 2048 MiB; 512 take 1024-4096 and 8192
    # take 16384-61440 in 4096 steps (Amazon ECS Developer Guide, "Task CPU and memory" /
    # "Troubleshoot Amazon ECS task definition invalid CPU or memory errors":
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/task-cpu-memory-error.html).
    (("[service]", "[service]\nmemory = 3000"),
     "service.memory: must be one of 512, 1024, 2048 with service.cpu 256 on Fargate, got 3000"),
    (("[service]", "[service]\ncpu = 512\nmemory = 512"),
     "service.memory: must be from 1024 to 4096 in steps of 1024 with service.cpu 512"),
    (("[service]", "[service]\ncpu = 8192\nmemory = 17408"),
     "in steps of 4096 with service.cpu 8192 on Fargate, got 17408"),
    # Stack names `<name>-elb` must match [a-zA-Z][-a-zA-Z0-9]*, at most 128 characters (AWS
    # CloudFormation API Reference, CreateStack: https://docs.aws.amazon.com/AWSCloudFormation/
    # latest/APIReference/API_CreateStack.html). "demo-" gives demo--elb, which that rule allows
    # (the templates name no load balancer or target group, so their 32-character limits do
    # not apply); stackswap's own rule forbids it: the name is joined to suffixes with '-'.
    (('name = "shop"', 'name = "demo-"'), "name: must be 1-20 lowercase letters"),
    (('name = "shop"', 'name = "de--mo"'), "name: must be"),
    # S3 bucket names: lowercase letters, numbers, '.' and '-' (Amazon S3 User Guide, "General
    # purpose bucket naming rules": https://docs.aws.amazon.com/AmazonS3/latest/userguide/
    # bucketnamingrules.html); ELB adds AWSLogs/... after the prefix itself, so the prefix must
    # not contain it (ELB, "Enable access logs for your Application Load Balancer").
    (("[deploy]", '[listener]\naccess_logs_bucket = "Shop_Logs"\n[deploy]'),
     "listener.access_logs_bucket: must be an S3 bucket name"),
    (("[deploy]", '[listener]\naccess_logs_bucket = "shop-logs"\n'
                  'access_logs_prefix = "AWSLogs"\n[deploy]'),
     "listener.access_logs_prefix: must not contain AWSLogs"),
    (("[service]", '[service]\nlog_kms_key_arn = "alias/shop"'),
     "service.log_kms_key_arn: must be a KMS key ARN"),
    # The task definition (issue 13): each key's ECS limit, and nested keys named in full.
    # ECS HealthCheck API reference: "retries ... between 1 and 10"; Fargate: "The max stop
    # timeout value is 120 seconds" (ContainerDefinition stopTimeout); EphemeralStorage
    # "minimum supported value is 21 GiB and the maximum supported value is 200 GiB".
    (("[service]", '[service]\nhealth_check = { command = ["CMD", "true"], retries = 11 }'),
     "service.health_check.retries: must be a whole number from 1 to 10"),
    (("[service]", '[service]\nstop_timeout_seconds = 121'),
     "service.stop_timeout_seconds: must be a whole number from 2 to 120"),
    (("[service]", '[service]\nephemeral_storage_gib = 20'),
     "service.ephemeral_storage_gib: must be a whole number from 21 to 200"),
    (("[service]", '[service]\nlog_retention_days = 31'), "service.log_retention_days"),
    (("[service]", '[service]\ncpu_architecture = "arm64"'),
     "service.cpu_architecture: must be one of X86_64, ARM64"),
    (("[service]", '[service]\nsecrets = { DB = "shop/db" }'),
     "service.secrets.DB: must be the full ARN"),
    (("[service]", '[service]\nenvironment = { 1X = "a" }'), "service.environment.1X"),
    (("[service]", '[service]\nenvironment = { X = 1 }'), "service.environment.X: must be a "
                                                          "string"),
    (("[service]", '[service]\nsidecars = [{ name = "app", image = "x:1" }]'),
     "service.sidecars[0].name: 'app' is already a container"),
    (("[service]", '[service]\nsidecars = [{ name = "p", image = "x:1", depends_on = '
                   '{ q = "START" } }]'), "service.sidecars[0].depends_on.q: names no other"),
    (("[service]", '[service]\nsidecars = [{ name = "p", image = "x:1", depends_on = '
                   '{ app = "HEALTHY" } }]'),
     "service.sidecars[0].depends_on.app: HEALTHY needs a container health check"),
    (("[service]", '[service]\nsidecars = [{ name = "p", image = "x:1", depends_on = '
                   '{ app = "READY" } }]'),
     "service.sidecars[0].depends_on.app: must be one of START, COMPLETE, SUCCESS, HEALTHY"),
    (("[service]", '[service]\ntask_role_arn = "arn:aws:iam::123456789012:role/t"\n'
                   'task_role_policy_arns = ["arn:aws:iam::aws:policy/ReadOnlyAccess"]'),
     "service.task_role_policy_arns: cannot be combined with service.task_role_arn"),
    (("[service]", '[service]\nautoscaling = { min = 3, max = 2, cpu_target_percent = 50 }'),
     "service.autoscaling.max: must be at least service.autoscaling.min"),
    (("[service]", '[service]\nautoscaling = { min = 1, max = 4 }'),
     "service.autoscaling: needs a target"),
    (("[service]", '[service]\nautoscaling = { min = 3, max = 4, cpu_target_percent = 50 }'),
     "service.desired_count: must be within service.autoscaling min 3 and max 4"),
    (("[service]", '[service]\nautoscaling = { min = 1, max = 4, cpu = 50 }'),
     "service.autoscaling.cpu: unknown key"),
    # stackswap's own: a smoke URL needs a host, and a port from 1 to 65535.
    (("[deploy]", '[deploy]\ntest_url = "http://:8080"'), "deploy.test_url"),
    (("[deploy]", '[deploy]\nproduction_url = "http://shop.example.com:99999"'),
     "deploy.production_url"),
]


@pytest.mark.parametrize(("change", "says"), CONFIGS, ids=[s for _, s in CONFIGS])
def test_bad_config_values(offline, change, says):
    hooked = HookedAws()
    edited(offline, *change)
    result = invoke(["deploy", "--image", "app:v2", "--config", str(offline)], hooked)
    check(result)
    assert result.err.startswith(f"stackswap: {offline}: ") and says in result.err
    assert hooked.calls == []


# Config files that are not UTF-8 text. TOML files are UTF-8 ("TOML v1.0.0", https://toml.io/
# en/v1.0.0: "A TOML file must be a valid UTF-8 encoded Unicode document").
FILES = [
    (b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00", "not a UTF-8 text file"),
    ('name = "shop"  # caf\u00e9\n'.encode("latin-1"), "not a UTF-8 text file"),
    ('name = "shop"\n'.encode("utf-16"), "not a UTF-8 text file (UTF-16?"),
]


@pytest.mark.parametrize(("content", "says"), FILES, ids=["binary", "latin-1", "utf-16"])
def test_config_file_that_is_not_utf8_text(offline, content, says):
    hooked = HookedAws()
    offline.write_bytes(content)
    result = invoke(["deploy", "--image", "app:v2", "--config", str(offline)], hooked)
    check(result)
    assert result.err.startswith(f"stackswap: {offline}: {says}"), result.err
    assert hooked.calls == []


# The endpoint must be an http(s) URL with a host: botocore refuses anything else only when it
# builds a client ("Invalid endpoint") or sends a request ("Not supported URL scheme").
ENDPOINTS = [
    ({"AWS_ENDPOINT_URL": "garbage"}, [], "'garbage': not an http(s) URL"),
    ({"AWS_ENDPOINT_URL": "localhost:4566"}, [], "'localhost:4566': not an http(s) URL"),
    ({}, ["--endpoint-url", "ftp://127.0.0.1:9"], "'ftp://127.0.0.1:9': not an http(s) URL"),
    ({}, ["--endpoint-url", "http://"], "'http://': not an http(s) URL"),
    ({}, ["--endpoint-url", "http://127.0.0.1:99999"], "not an http(s) URL"),
    ({}, ["--endpoint-url", "http://local host:4566"], "not an http(s) URL"),
]


@pytest.mark.parametrize(("environment", "argv", "says"), ENDPOINTS,
                         ids=[" ".join([*e.values(), *a]) for e, a, _ in ENDPOINTS])
def test_bad_endpoint(offline, monkeypatch, environment, argv, says):
    for key, value in environment.items():
        monkeypatch.setenv(key, value)
    hooked = HookedAws()
    result = invoke(["status", *argv, "--config", str(offline)], hooked)
    check(result)
    assert result.err.startswith("stackswap: --endpoint-url (or AWS_ENDPOINT_URL) ")
    assert says in result.err
    assert hooked.calls == []


def test_table_has_forty_bad_inputs():
    assert len(FLAGS) + len(CONFIGS) + len(FILES) + len(ENDPOINTS) >= 40


def test_config_with_a_byte_order_mark_is_read(offline):
    """Editors on Windows write a UTF-8 BOM; it is read like any other config (the run then
    gets as far as AWS, which the offline fixture makes unreachable: exit 7)."""
    offline.write_bytes(b"\xef\xbb\xbf" + offline.read_bytes())
    hooked = HookedAws()
    result = invoke(["status", "--config", str(offline)], hooked)
    assert result.code == 7, result
    assert "cannot reach AWS" in result.err


# --- an endpoint that is a web server, not AWS ------------------------------------------------

PAGE = (b"<!DOCTYPE html>\n<html>\n<head><title>Welcome to nginx!</title></head>\n<body>\n"
        b"<h1>Welcome to nginx!</h1>\n</body>\n</html>\n")


class _WebPage(http.server.BaseHTTPRequestHandler):
    def do_POST(self) -> None:  # every AWS API call stackswap makes is a POST
        self.rfile.read(int(self.headers.get("Content-Length") or 0))
        self.send_response(self.server.status)  # type: ignore[attr-defined]
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(PAGE)))
        self.end_headers()
        self.wfile.write(PAGE)

    def log_message(self, *args) -> None:
        pass


@pytest.fixture
def web_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _WebPage)
    threading.Thread(target=server.serve_forever, args=(0.05,), daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("status", [200, 404, 502])
@pytest.mark.parametrize("command", [["status"], ["unlock"], ["deploy", "--image", "app:v2"]])
def test_endpoint_that_answers_html(offline, web_server, status, command):
    """The first answer is a web page: the endpoint is not AWS. Bad input (2), said in one line
    with what was found, without the page and without waiting for retries."""
    web_server.status = status
    url = f"http://127.0.0.1:{web_server.server_address[1]}"
    hooked = HookedAws()
    result = invoke([*command, "--endpoint-url", url, "--config", str(offline)], hooked)
    check(result)
    assert result.err.startswith(f"stackswap: the endpoint {url} is not an AWS API: it "
                                 f"answered {hooked.calls[0]} with an HTML page (HTTP {status}, "
                                 f"text/html, 'Welcome to nginx!')"), result.err
    assert "<html" not in result.err.lower()
    assert len(hooked.calls) == 1 and hooked.mutating == []


class _Raw:
    def __init__(self, body: bytes) -> None:
        self.body = body

    def stream(self, **_):
        yield self.body


def test_web_page_after_aws_has_answered_is_state_unknown(offline):
    """A page after AWS has answered (a proxy failing mid-run) is no bad input: state unknown,
    rerun to resume (7)."""
    replies = [http_error("ValidationError", "Stack with id shop-elb does not exist", 400),
               botocore.awsrequest.AWSResponse("http://127.0.0.1:9", 502,
                                               {"Content-Type": "text/html"}, _Raw(PAGE))]
    session = fresh_session("eu-west-1")
    session.events.register("before-send", lambda **_: replies.pop(0))
    aws = Aws(session, "http://127.0.0.1:9")
    assert aws.describe_stack("shop-elb") is None
    with pytest.raises(StateUnknown, match=r"^the endpoint http://127.0.0.1:9 stopped answering "
                       r"as AWS: it answered DescribeStacks with an HTML page \(HTTP 502, "
                       r"text/html, 'Welcome to nginx!'\); rerun"):
        aws.describe_stack("shop-elb")


def test_missing_config_file(offline, tmp_path):
    hooked = HookedAws()
    result = invoke(["swap", "--config", str(tmp_path / "nope.toml")], hooked)
    check(result)
    assert "nope.toml: config file not found" in result.err
    assert hooked.calls == []


def odd_config(kind: str, tmp_path: Path) -> str:
    """A --config that is not an environment's config file, as users have given one."""
    if kind == "fifo":
        os.mkfifo(tmp_path / "pipe.toml")
        return str(tmp_path / "pipe.toml")
    if kind == "huge":
        (tmp_path / "huge.toml").write_text("# padding\n" * 200_000)
        return str(tmp_path / "huge.toml")
    return {"directory": str(tmp_path), "device": "/dev/zero", "empty": ""}[kind]


@pytest.mark.parametrize(("kind", "says"), [
    ("directory", ": not a regular file (a directory): name the environment's TOML config file"),
    ("fifo", "pipe.toml: not a regular file (a named pipe): name the environment's"),
    ("device", "/dev/zero: not a regular file (a character device): name the"),
    ("empty", "--config: an empty path: name the environment's config file"),
    ("huge", "huge.toml: larger than 1024 KiB: not an environment config"),
])
def test_config_that_is_not_a_config_file(offline, tmp_path, kind, says):
    # A FIFO would block a read forever and a device never end it: the CLI runs in a process
    # of its own, so that the test fails on a hang instead of hanging.
    done = subprocess.run(
        [sys.executable, "-m", "stackswap.orchestrator", "status", "--config",
         odd_config(kind, tmp_path)], cwd=REPO, capture_output=True, text=True, timeout=60)
    check(Result(done.returncode, done.stdout, done.stderr))
    assert says in done.stderr


def test_default_config_from_environment_missing(offline, tmp_path, monkeypatch):
    monkeypatch.setenv("STACKSWAP_CONFIG", str(tmp_path / "gone.toml"))
    hooked = HookedAws()
    result = invoke(["deploy", "--image", "app:v2"], hooked)
    check(result)
    assert "gone.toml: config file not found" in result.err
    assert hooked.calls == []


def test_region_differs_from_the_config(offline):
    hooked = HookedAws()
    result = invoke(["deploy", "--image", "app:v2", "--region", "us-east-1", "--config",
                     str(offline)], hooked)
    check(result)
    assert "--region us-east-1 differs from the config's region eu-west-1" in result.err
    assert hooked.calls == []


def test_unknown_profile(offline):
    hooked = HookedAws()
    # The profile goes to boto3 through Aws.connect (the real session factory).
    from stackswap.orchestrator.aws import Aws
    result = invoke(["status", "--profile", "no-such-profile", "--config", str(offline)],
                    Aws.connect)
    check(result)
    assert "AWS profile 'no-such-profile' not found" in result.err
    assert hooked.calls == []


def no_credentials(monkeypatch, tmp_path) -> None:
    for key in ("AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_SESSION_TOKEN", "AWS_PROFILE",
                "AWS_CONTAINER_CREDENTIALS_RELATIVE_URI", "AWS_CONTAINER_CREDENTIALS_FULL_URI",
                "AWS_WEB_IDENTITY_TOKEN_FILE"):
        monkeypatch.delenv(key, raising=False)
    empty = tmp_path / "empty"
    empty.write_text("")
    monkeypatch.setenv("AWS_SHARED_CREDENTIALS_FILE", str(empty))
    monkeypatch.setenv("AWS_CONFIG_FILE", str(empty))
    monkeypatch.setenv("AWS_EC2_METADATA_DISABLED", "true")


@pytest.mark.parametrize("argv", [["deploy", "--image", "app:v2"], ["swap"], ["status"]])
def test_missing_credentials(offline, tmp_path, monkeypatch, argv):
    no_credentials(monkeypatch, tmp_path)
    hooked = HookedAws()
    result = invoke([*argv, "--config", str(offline)], hooked)
    check(result)
    assert "no AWS credentials found" in result.err
    assert hooked.mutating == []


@pytest.mark.parametrize("command", ["swap", "rollback"])
def test_stacks_missing_for_swap_and_rollback(aws, command):
    hooked = HookedAws()
    result = invoke([command, "--config", str(aws.config_path)], hooked)
    check(result, codes=(3,))
    assert f"cannot {command}: stacks missing (alb, blue, green)" in result.err
    assert hooked.mutating == []


# --- the console script behaves the same -------------------------------------------------------

def script(*argv: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run([str(STACKSWAP), *argv], capture_output=True, text=True, timeout=60,
                          env=env, cwd=REPO)


def test_console_script_bad_input(offline, tmp_path, monkeypatch):
    environment = {k: v for k, v in os.environ.items() if not k.startswith("AWS_")}
    environment |= {"AWS_ENDPOINT_URL": "http://127.0.0.1:9", "AWS_EC2_METADATA_DISABLED": "true"}
    cases = [
        (["deploy", "--image", "app", "--config", str(offline)], 2, "add a tag"),
        (["swap", "--config", str(tmp_path / "nope.toml")], 2, "config file not found"),
        (["deploy", "--image", "app:v2", "--region", "us-east-1", "--config", str(offline)], 2,
         "differs from the config's region"),
    ]
    empty = tmp_path / "empty"
    empty.write_text("")
    cases.append((["status", "--config", str(offline)], 2, "no AWS credentials found"))
    environment |= {"AWS_SHARED_CREDENTIALS_FILE": str(empty), "AWS_CONFIG_FILE": str(empty)}
    for argv, code, says in cases:
        done = script(*argv, env=environment)
        assert done.returncode == code, (argv, done.stderr)
        assert done.stderr.count("\n") == 1 and "Traceback" not in done.stderr, done.stderr
        assert says in done.stderr
        assert done.stdout == ""
