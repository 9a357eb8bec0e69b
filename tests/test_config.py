"""The environment config: the example is valid, and every wrong value is one line naming the
file and the key, with exit code 2 from the command line."""

from __future__ import annotations

import dataclasses
import re
import subprocess
import sys
import tomllib

import pytest
from stackswap.environment.errors import ConfigError
from stackswap.environment.load import load_config, parse_config

from tests.conftest import REPO

EXAMPLE = REPO / "stackswap.example.toml"


def example() -> dict:
    return tomllib.loads(EXAMPLE.read_text())


def test_example_config_is_valid_and_documents_defaults():
    config = load_config(EXAMPLE)
    assert config.name == "shop"
    assert config.alb_stack == "shop-elb"
    assert [config.service_stack(c) for c in ("blue", "green")] == ["shop-blue", "shop-green"]
    assert config.service.launch_type == "FARGATE"
    assert config.smoke_path == config.health.path


def without(raw: dict, dotted: str) -> dict:
    section, _, key = dotted.rpartition(".")
    (raw[section] if section else raw).pop(key)
    return raw


def replaced(raw: dict, dotted: str, value) -> dict:
    section, _, key = dotted.rpartition(".")
    (raw.setdefault(section, {}) if section else raw)[key] = value
    return raw


@pytest.mark.parametrize("key", ["name", "region", "cluster", "network.vpc_id"])
def test_missing_required_key_is_named(key):
    with pytest.raises(ConfigError) as error:
        parse_config(without(example(), key), "env.toml")
    assert error.value.message == f"env.toml: {key}: is required but missing"


def test_subnets_mean_both_lists_and_each_side_may_differ():
    raw = example()
    both = parse_config(raw).network
    assert both.alb_subnets == both.task_subnets == tuple(raw["network"]["subnets"])
    private = ["subnet-00000000000000001"]
    split = parse_config(replaced(example(), "network.task_subnets", private)).network
    assert split.alb_subnets == both.alb_subnets and split.task_subnets == tuple(private)
    with pytest.raises(ConfigError, match=r"^env.toml: network.alb_subnets: is required but "
                                          r"missing \(or network.subnets, which sets both\)$"):
        parse_config(replaced(without(example(), "network.subnets"), "network.task_subnets",
                              private), "env.toml")


def test_internet_facing_load_balancer_needs_test_cidr():
    """An internet-facing ALB has public addresses, so its clients arrive from public ones
    (Elastic Load Balancing User Guide, "Application Load Balancers": "The nodes of an
    internet-facing load balancer have public IP addresses"): a private default would lock
    every tester out."""
    with pytest.raises(ConfigError, match=r"^env.toml: network.test_cidr: is required with an "
                                          r"internet-facing load balancer"):
        parse_config(without(example(), "network.test_cidr"), "env.toml")
    internal = replaced(without(example(), "network.test_cidr"), "network.scheme", "internal")
    assert parse_config(internal).network.test_cidr == "10.0.0.0/8"


CERTIFICATE = "arn:aws:acm:eu-west-1:123456789012:certificate/01234567-89ab-cdef-0123-456789abcdef"


def https(raw: dict) -> dict:
    raw = replaced(raw, "listener.certificate_arns", [CERTIFICATE])
    return replaced(raw, "deploy.production_url", "https://shop.example.com")


def test_ports_follow_the_protocol_and_test_mode():
    http = parse_config(example()).listener
    assert (http.protocol, http.production_port, http.test_port) == ("HTTP", 80, 8080)
    secure = parse_config(https(example())).listener
    assert (secure.protocol, secure.production_port, secure.test_port,
            secure.redirect_port) == ("HTTPS", 443, 8443, 80)
    host = parse_config(replaced(replaced(example(), "listener.test_mode", "host"),
                                 "listener.test_host", "test.shop.example.com")).listener
    assert (host.production_port, host.test_port, host.test_host) == (
        80, None, "test.shop.example.com")


@pytest.mark.parametrize(("edit", "message"), [
    ({"listener.test_mode": "host"}, 'listener.test_host: is required with listener.test_mode'),
    ({"listener.test_host": "test.shop.example.com"},
     'listener.test_host: only applies with listener.test_mode = "host"'),
    ({"listener.test_mode": "host", "listener.test_host": "t.example.com",
      "listener.test_port": 8080}, "listener.test_port: has no meaning"),
    ({"listener.ssl_policy": "ELBSecurityPolicy-TLS13-1-2-2021-06"},
     "listener.ssl_policy: only applies with listener.certificate_arns"),
    ({"listener.test_port": 80}, "listener.test_port: 80 is also listener.production_port"),
    ({"listener.certificate_arns": [CERTIFICATE]},
     "deploy.production_url: is required with listener.certificate_arns"),
    ({"listener.certificate_arns": ["arn:aws:acm:eu-west-1:123:certificate/x"]},
     "listener.certificate_arns: must be an ACM certificate ARN"),
    ({"deploy.ca_bundle": "no-such.pem"}, "deploy.ca_bundle: no such file"),
    ({"network.scheme": "public"}, "network.scheme: must be one of internet-facing, internal"),
])
def test_listener_and_network_combinations(edit, message):
    raw = example()
    for key, value in edit.items():
        replaced(raw, key, value)
    with pytest.raises(ConfigError, match="^env.toml: " + re.escape(message)):
        parse_config(raw, "env.toml")


KEY = "arn:aws:kms:eu-west-1:123456789012:key/01234567-89ab-cdef-0123-456789abcdef"


def test_access_logs_and_log_key_are_optional_and_read():
    config = parse_config(example())
    assert (config.listener.access_logs_bucket, config.listener.access_logs_prefix,
            config.service.log_kms_key_arn) == (None, None, None)
    raw = replaced(replaced(example(), "listener.access_logs_bucket", "shop.alb-logs-1"),
                   "listener.access_logs_prefix", "prod/shop")
    raw = replaced(raw, "service.log_kms_key_arn", KEY)
    config = parse_config(raw)
    assert (config.listener.access_logs_bucket, config.listener.access_logs_prefix,
            config.service.log_kms_key_arn) == ("shop.alb-logs-1", "prod/shop", KEY)
    multi_region = KEY.replace("01234567-89ab-cdef-0123-456789abcdef", "mrk-" + "0" * 32)
    raw = replaced(example(), "service.log_kms_key_arn", multi_region)
    assert parse_config(raw).service.log_kms_key_arn == multi_region


# S3 general purpose bucket names (Amazon S3 User Guide, "General purpose bucket naming rules",
# https://docs.aws.amazon.com/AmazonS3/latest/userguide/bucketnamingrules.html): 3-63
# characters, lowercase letters, numbers, '.' and '-', beginning and ending with a letter or
# number, no two adjacent periods, not an IP address, none of the reserved prefixes (xn--,
# sthree-, amzn-s3-demo-) and suffixes (-s3alias, --ol-s3, .mrap, --x-s3, --table-s3).
@pytest.mark.parametrize("bucket", [
    "ab", "a" * 64, "Shop-logs", "shop_logs", "-shop", "shop-", "shop..logs", "192.168.5.4",
    "xn--shop", "sthree-logs", "amzn-s3-demo-logs", "shop-s3alias", "shop--ol-s3", "shop.mrap",
    "shop--x-s3", "shop--table-s3", 7, ""])
def test_access_logs_bucket_must_be_an_s3_bucket_name(bucket):
    with pytest.raises(ConfigError, match=r"^env.toml: listener.access_logs_bucket: must "):
        parse_config(replaced(example(), "listener.access_logs_bucket", bucket), "env.toml")


@pytest.mark.parametrize("bucket", ["abc", "a" * 63, "shop.alb-logs.2024", "1shop"])
def test_good_bucket_names(bucket):
    raw = replaced(example(), "listener.access_logs_bucket", bucket)
    assert parse_config(raw).listener.access_logs_bucket == bucket


# The prefix: ELB "We add the portion of the file name starting with AWSLogs after the bucket
# name and prefix that you specify", so it must not include AWSLogs (ELB, "Enable access logs",
# bucket requirements); S3's safe key characters (Amazon S3 User Guide, "Naming Amazon S3
# objects"); no '/' at either end and no empty part (stackswap's own).
@pytest.mark.parametrize("prefix", ["AWSLogs", "prod/AWSLogs/x", "/prod", "prod/", "a//b",
                                    "prod shop", "prod?", "", "a" * 201, 5])
def test_access_logs_prefix_is_checked(prefix):
    raw = replaced(example(), "listener.access_logs_bucket", "shop-logs")
    with pytest.raises(ConfigError, match=r"^env.toml: listener.access_logs_prefix: must "):
        parse_config(replaced(raw, "listener.access_logs_prefix", prefix), "env.toml")


def test_access_logs_prefix_needs_a_bucket():
    with pytest.raises(ConfigError, match=r"^env.toml: listener.access_logs_prefix: only "
                                          r"applies with listener.access_logs_bucket$"):
        parse_config(replaced(example(), "listener.access_logs_prefix", "shop"), "env.toml")


@pytest.mark.parametrize("key", [
    "alias/shop-logs", "arn:aws:kms:eu-west-1:123456789012:alias/shop-logs",
    "01234567-89ab-cdef-0123-456789abcdef", "arn:aws:kms:eu-west-1:123:key/x",
    KEY.replace(":kms:", ":logs:"), KEY + "0"])
def test_log_kms_key_must_be_a_key_arn(key):
    with pytest.raises(ConfigError, match=r"^env.toml: service.log_kms_key_arn: must be a KMS "
                                          r"key ARN"):
        parse_config(replaced(example(), "service.log_kms_key_arn", key), "env.toml")


def test_https_redirect_port_must_differ(tmp_path):
    raw = replaced(https(example()), "listener.redirect_port", 443)
    with pytest.raises(ConfigError, match=r"listener\.redirect_port: 443 is also "
                                          r"listener\.production_port"):
        parse_config(raw, "env.toml")


def test_ca_bundle_is_relative_to_the_config(tmp_path):
    (tmp_path / "ca.pem").write_text("-----BEGIN CERTIFICATE-----\n")
    config = tmp_path / "env.toml"
    config.write_text(EXAMPLE.read_text() + '\n', encoding="utf-8")
    text = config.read_text().replace("[deploy]\n", '[deploy]\nca_bundle = "ca.pem"\n', 1)
    config.write_text(text)
    assert load_config(config).deploy.ca_bundle == str((tmp_path / "ca.pem").resolve())


@pytest.mark.parametrize(("key", "value"), [
    ("name", "Shop"), ("name", "a" * 21), ("name", 3),
    ("region", "europe"), ("cluster", "bad name"), ("account_id", "12345"),
    ("network.vpc_id", "vpc-xyz"), ("network.subnets", ["subnet-0123456789abcdef0"]),
    ("network.subnets", "subnet-0123456789abcdef0"), ("network.test_cidr", "10.0.0.1/8"),
    ("network.test_cidr", "everyone"), ("network.assign_public_ip", "yes"),
    ("service.container_port", 0), ("service.container_port", 70000),
    ("service.desired_count", 0), ("service.desired_count", True),
    ("service.launch_type", "LAMBDA"), ("service.cpu", 300),
    ("health.path", "health"), ("health.interval_seconds", 1), ("health.timeout_seconds", 5),
    ("deploy.smoke_tries", 0), ("deploy.alarms", "one"), ("service.colour", "blue"),
    ("deploy.test_url", "localhost:8080"), ("deploy.production_url", "http://a/path"),
    ("deploy_role.github_repository", "octo-org/*"),
    ("deploy_role.github_repository", "octo-org"), ("deploy_role.github_repository", 7),
    ("deploy_role.github_repository", "repo:octo-org/shop:*"), ("deploy_role.trust", "*"),
    ("deploy_role.cloudformation_role_arn", "CloudFormationRole"),
    ("deploy_role.cloudformation_role_arn", "arn:aws:iam::123:role/x"),
    ("deploy_role.cloudformation_role_arn", "arn:aws:iam::123456789012:user/x"),
    ("surprise", 1),
    ("name", "demo-"), ("name", "de--mo"), ("name", "-demo"),
    ("network.subnets", ["subnet-0123456789abcdef0", "subnet-0123456789abcdef0"]),
    ("network.test_cidr", "::/0"), ("network.test_cidr", "2001:db8::/32"),
    ("deploy.alarms", ["a1", "a2", "a3", "a4", "a5", "a6"]), ("deploy.alarms", ["a", "a"]),
    ("service.memory", 3000), ("service.memory", 1536),
    ("deploy.test_url", "http://:8080"), ("deploy.test_url", "http://shop:0"),
    ("deploy.test_url", "http://shop:65536"), ("deploy.production_url", "http://user@shop"),
    ("deploy.production_url", "http://shop?x=1"), ("deploy.production_url", "http://-shop-/"),
])
def test_wrong_value_is_named(key, value):
    with pytest.raises(ConfigError) as error:
        parse_config(replaced(example(), key, value), "env.toml")
    assert error.value.message.startswith(f"env.toml: {key}: ")
    assert error.value.exit_code == 2


# Every Fargate task size (Amazon ECS Developer Guide, "Troubleshoot Amazon ECS task definition
# invalid CPU or memory errors", https://docs.aws.amazon.com/AmazonECS/latest/developerguide/
# task-cpu-memory-error.html): the ends of each range are taken, one step past them is not.
@pytest.mark.parametrize(("cpu", "fits", "misfits"), [
    (256, [512, 1024, 2048], [256, 1536, 3072]),
    (512, [1024, 2048, 4096], [512, 1536, 5120]),
    (1024, [2048, 8192], [1024, 2560, 9216]),
    (2048, [4096, 5120, 16384], [3072, 4608, 17408]),
    (4096, [8192, 9216, 30720], [7168, 31744]),
    (8192, [16384, 20480, 61440], [12288, 17408, 65536]),
    (16384, [32768, 40960, 122880], [24576, 36864]),
])
def test_fargate_cpu_and_memory_pairs(cpu, fits, misfits):
    for memory in fits:
        service = {"cpu": cpu, "memory": memory}
        assert parse_config(example() | {"service": service}).service.memory == memory
    for memory in misfits:
        with pytest.raises(ConfigError, match=rf"service.memory: must be .* with service.cpu "
                                              rf"{cpu} on Fargate, got {memory}$"):
            parse_config(example() | {"service": {"cpu": cpu, "memory": memory}})


def test_ec2_memory_is_not_held_to_fargate_sizes():
    service = {"launch_type": "EC2", "cpu": 256, "memory": 3000}
    assert parse_config(example() | {"service": service}).service.memory == 3000


@pytest.mark.parametrize("url", ["http://shop.example.com", "https://shop.example.com:8443/",
                                 "http://127.0.0.1:8080", "http://[::1]:8080", "http://localhost"])
def test_good_urls(url):
    assert parse_config(replaced(example(), "deploy.test_url", url)).deploy.test_url == url


def test_byte_order_mark_is_read(tmp_path):
    """Editors on Windows start UTF-8 files with a byte order mark; TOML does not allow one,
    so it is dropped before parsing."""
    config = tmp_path / "bom.toml"
    config.write_bytes(b"\xef\xbb\xbf" + EXAMPLE.read_bytes())
    assert load_config(config) == dataclasses.replace(load_config(EXAMPLE), path=str(config))


def test_section_that_is_not_a_table():
    with pytest.raises(ConfigError, match=r"^env.toml: health: must be a \[health\] table$"):
        parse_config(replaced(example(), "health", 5), "env.toml")


@pytest.mark.parametrize(("text", "expected"), [
    ("name = [", "not valid TOML"),
    ("name = 'caf\u00e9'".encode("latin-1"), "not a UTF-8 text file (byte 0xe9 at offset 11)"),
    (EXAMPLE.read_text().replace('vpc_id = "vpc-0123456789abcdef0"', 'vpc_id = "vpc-1"'),
     "network.vpc_id: must be a VPC id"),
])
def test_render_command_reports_one_line_and_exit_2(tmp_path, text, expected):
    bad = tmp_path / "bad.toml"
    bad.write_bytes(text if isinstance(text, bytes) else text.encode())
    result = subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "render",
                             "--config", str(bad), "--out", str(tmp_path / "out")],
                            capture_output=True, text=True, cwd=REPO)
    assert result.returncode == 2
    assert result.stderr.count("\n") == 1 and "Traceback" not in result.stderr
    assert str(bad) in result.stderr and expected in result.stderr
    assert not (tmp_path / "out").exists()


def test_missing_file(tmp_path):
    with pytest.raises(ConfigError, match="config file not found"):
        load_config(tmp_path / "nope.toml")


def test_the_full_task_definition_parses_into_hashable_sorted_data():
    # Renders are cached by Config (generator/render.py): every table becomes sorted pairs.
    from tests.template_data import FULL_SERVICE

    config = parse_config(replaced(example(), "service", {**example()["service"],
                                                          **FULL_SERVICE}))
    service = config.service
    hash(config)
    assert service.environment == (("FEATURE_X", "on"), ("LOG_LEVEL", "info"))
    assert [name for name, _ in service.secrets] == ["API_TOKEN", "DATABASE_URL"]
    assert service.health_check.command[0] == "CMD-SHELL"
    assert service.health_check.start_period_seconds == 20
    (sidecar,) = service.sidecars
    assert (sidecar.name, sidecar.essential, sidecar.ports, sidecar.depends_on) == (
        "otel", False, (4317,), (("app", "HEALTHY"),))
    assert (service.autoscaling.min, service.autoscaling.max) == (2, 10)


def test_a_config_without_the_new_keys_renders_what_it_always_did():
    service = load_config(EXAMPLE).service
    assert (service.environment, service.secrets, service.sidecars, service.autoscaling,
            service.health_check, service.log_retention_days) == ((), (), (), None, None, 30)
# --- deploy.strategy, intervals, bake, retire, hooks ---------------------------------------------

def test_strategy_keys_are_read_with_durations_in_seconds():
    raw = example()
    raw["deploy"].update(strategy="linear", step_percent=20, step_interval="90s", bake="15m",
                         retire="after-bake", hooks={"after_step": "./slo.sh", "timeout": "2m"})
    deploy = parse_config(raw, "env.toml").deploy
    assert (deploy.strategy, deploy.step_percent, deploy.step_interval_seconds) == \
        ("linear", 20, 90)
    assert (deploy.bake_seconds, deploy.retire) == (900, "after-bake")
    assert (deploy.hooks.after_step, deploy.hooks.before_swap) == ("./slo.sh", None)
    assert deploy.hooks.timeout_seconds == 120


@pytest.mark.parametrize(("edit", "message"), [
    ({"strategy": "blue-green"}, "deploy.strategy: must be one of all-at-once, canary, linear"),
    ({"strategy": "linear", "step_interval": "5 min"},
     'deploy.step_interval: must be a duration such as "90s", "5m" or "1h"'),
    ({"strategy": "linear", "step_interval": 90}, "deploy.step_interval: must be a duration"),
    ({"strategy": "linear", "step_interval": "0s"}, "deploy.step_interval: must be at least 1s"),
    ({"bake": "2d"}, "deploy.bake: must be a duration"),
    ({"bake": "25h"}, "deploy.bake: must be at most 24h, got 25h"),
    ({"strategy": "canary", "canary_percent": 100}, "deploy.canary_percent: must be"),
    ({"retire": "never"}, "deploy.retire: must be one of manual, after-bake"),
    ({"hooks": {"before_deploy": "true"}}, "deploy.hooks: unknown key 'before_deploy'"),
    ({"hooks": {"after_swap": ""}}, "deploy.hooks: after_swap must be a shell command"),
    ({"hooks": {"timeout": "soon"}}, "deploy.hooks: timeout must be a duration"),
])
def test_strategy_mistakes_are_one_line_naming_the_key(edit, message):
    raw = example()
    raw["deploy"].update(edit)
    with pytest.raises(ConfigError, match="^env.toml: " + re.escape(message)):
        parse_config(raw, "env.toml")
