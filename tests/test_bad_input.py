"""Bad input: flags, config values, images, colours, regions, credentials, profiles, config
files, stacks that are not there. Each exits 2 (bad input) or 3 (refused) with exactly one line
on stderr, no traceback, and no mutating AWS call; most make no AWS call at all.

They run through `orchestrator.cli.main` in-process (tests.harness.invoke), and a few through the
installed console script in a subprocess to show it behaves the same.
"""

from __future__ import annotations

import os
import subprocess
from pathlib import Path

import pytest

from sandbox.environment import write_config
from tests.conftest import REPO
from tests.harness import HookedAws, invoke

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
    assert result.err.startswith("stackswap"), result.err


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
]


@pytest.mark.parametrize(("argv", "says"), FLAGS, ids=[" ".join(a) or "none" for a, _ in FLAGS])
def test_bad_flags(offline, argv, says):
    hooked = HookedAws()
    result = invoke([*argv, "--config", str(offline)] if argv else [], hooked)
    check(result)
    assert says in result.err
    assert hooked.calls == []


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
    (("[deploy]", '[deploy]\nalarms = ["a:b"]'), "deploy.alarms"),
    (("stack_timeout_seconds = 120", "stack_timeout_seconds = 5"),
     "deploy.stack_timeout_seconds"),
    (('cluster = "shop"', ""), "cluster: is required but missing"),
    (('region = "eu-west-1"', 'region = '), "not valid TOML"),
]


@pytest.mark.parametrize(("change", "says"), CONFIGS, ids=[s for _, s in CONFIGS])
def test_bad_config_values(offline, change, says):
    hooked = HookedAws()
    edited(offline, *change)
    result = invoke(["deploy", "--image", "app:v2", "--config", str(offline)], hooked)
    check(result)
    assert result.err.startswith(f"stackswap: {offline}: ") and says in result.err
    assert hooked.calls == []


def test_missing_config_file(offline, tmp_path):
    hooked = HookedAws()
    result = invoke(["swap", "--config", str(tmp_path / "nope.toml")], hooked)
    check(result)
    assert "nope.toml: config file not found" in result.err
    assert hooked.calls == []


def test_config_that_is_a_directory(offline, tmp_path):
    hooked = HookedAws()
    result = invoke(["status", "--config", str(tmp_path)], hooked)
    check(result)
    assert "cannot read" in result.err
    assert hooked.calls == []


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
    from orchestrator.aws import Aws
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
