"""Shared fixtures: one moto server over HTTP for the whole run (with the sandbox's fixes of
moto's gaps, see sandbox/moto_gaps/), reset before each test that uses it; and plain moto for the
pins of those gaps (tests/test_moto_gaps_*.py)."""

from __future__ import annotations

import gc
import json
import logging
import os
import urllib.request
import zlib
from dataclasses import dataclass
from pathlib import Path

import pytest
from moto.server import ThreadedMotoServer
from stackswap.environment.load import load_config
from stackswap.environment.names import COLORS
from stackswap.generator.render import alb_stack_body, service_stack_body
from stackswap.sandbox import moto_gaps
from stackswap.sandbox.environment import client, provision, write_config

from tests.harness import Env, FakeListener, HookedAws, arrange_tasks

REPO = Path(__file__).resolve().parent.parent

# moto loads ~900 default AMIs into every fresh EC2 backend, i.e. after every reset: ~0.14 s of
# CPU per test. No stack or test here uses an AMI (the EC2 launch type uses the cluster's hosts).
# Set for the test process, so moto servers the tests start (the sandbox) inherit it.
os.environ.setdefault("MOTO_EC2_LOAD_DEFAULT_AMIS", "false")


def pytest_configure(config: pytest.Config) -> None:
    # Every worker holds botocore's and moto's models, hundreds of MB that live for the whole
    # run: frozen, and with fewer young-generation passes, the cyclic collector stops re-scanning
    # them (about a sixth of an invariant chunk's CPU). Nothing a test asserts depends on when
    # garbage is collected.
    gc.collect()
    gc.freeze()
    gc.set_threshold(50_000, 20, 1000)


# Scheduling on pytest-xdist workers (`make test` runs `-n 4 --dist loadgroup`): the longest
# tests start first, so that the workers share them instead of one worker running them at the
# end, and each module whose tests share a module-scoped sandbox runs on one worker, which
# starts that sandbox once.
LONGEST_FIRST = ("tests/test_invariants.py", "tests/test_sandbox_cli.py")
ONE_WORKER = ("tests/test_sandbox.py", "tests/test_e2e_sandbox.py",
              "tests/test_sandbox_listeners.py", "tests/test_e2e_modes.py")


def pytest_collection_modifyitems(items: list[pytest.Item]) -> None:
    def rank(item: pytest.Item) -> int:
        module = item.nodeid.split("::")[0]
        return LONGEST_FIRST.index(module) if module in LONGEST_FIRST else len(LONGEST_FIRST)

    items.sort(key=rank)


# More modules with a module-scoped sandbox of their own (test_e2e_sandbox's fixture): one worker
# each, like ONE_WORKER's.
OWN_SANDBOX = ("tests/test_ecosystem_sandbox.py", "tests/test_sandbox_scaling.py")
# The modules whose tests take longest on their sandbox are split in shards, each a group of its
# own on its own worker with its own sandbox, so that no one worker runs the whole module.
SANDBOX_SHARDS = {"tests/test_e2e_sandbox.py": 2}


@pytest.hookimpl(optionalhook=True)  # `-p no:xdist` (one process) must still collect
def pytest_xdist_make_scheduler(config, log):
    """`--dist loadgroup` with the groups named here: it cannot use xdist_group marks, because
    pytest-xdist 3.8 tags grouped tests by rewriting `item._nodeid`, which pytest 9.2 no longer
    reads. Each group goes to one worker, every other test is a unit of its own; units are
    handed out in order, the largest groups first."""
    if config.getvalue("dist") != "loadgroup":
        return None
    from xdist.scheduler import LoadScopeScheduling

    class Groups(LoadScopeScheduling):
        def _split_scope(self, nodeid: str) -> str:
            module = nodeid.split("::")[0]
            if module not in ONE_WORKER + OWN_SANDBOX:
                return nodeid
            shards = SANDBOX_SHARDS.get(module, 1)
            return f"{module}#{zlib.crc32(nodeid.encode()) % shards}"

    return Groups(config, log)


@pytest.fixture(scope="session")
def moto_endpoint():
    # One access-log record per moto request adds up over thousands of requests; failures
    # still show the test's own output.
    logging.getLogger("werkzeug").setLevel(logging.WARNING)
    moto_gaps.install()
    server = ThreadedMotoServer(ip_address="127.0.0.1", port=0, verbose=False)
    server.start()
    host, port = server.get_host_and_port()
    yield f"http://{host}:{port}"
    server.stop()


def reset_moto(endpoint: str) -> None:
    request = urllib.request.Request(f"{endpoint}/moto-api/reset", method="POST")
    urllib.request.urlopen(request, timeout=10).read()


@dataclass
class AwsEnv:
    endpoint: str
    ids: dict
    config_path: Path
    region: str


@pytest.fixture
def aws(moto_endpoint, tmp_path, monkeypatch) -> AwsEnv:
    """A fresh moto account with a VPC, two subnets, a cluster and a config file for them; the
    process environment points boto3 at the moto server, as a user's shell would."""
    reset_moto(moto_endpoint)
    ids = provision(moto_endpoint, name="shop", region="eu-west-1")
    config_path = write_config(tmp_path / "shop.toml", ids)
    for key, value in {
        "AWS_ENDPOINT_URL": moto_endpoint, "AWS_ACCESS_KEY_ID": "testing",
        "AWS_SECRET_ACCESS_KEY": "testing", "AWS_REGION": "eu-west-1",
        "AWS_DEFAULT_REGION": "eu-west-1", "STACKSWAP_CONFIG": str(config_path),
    }.items():
        monkeypatch.setenv(key, value)
    monkeypatch.delenv("AWS_PROFILE", raising=False)
    return AwsEnv(moto_endpoint, ids, config_path, "eu-west-1")


def params(**values: str) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def outputs(cfn, stack: str) -> dict:
    (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


# --- what the pins of moto's gaps share (tests/test_moto_gaps_*.py) ---------------------------

@pytest.fixture
def plain_moto():
    """Plain moto for one test: the sandbox's fixes uninstalled, installed again after it."""
    moto_gaps.uninstall()
    yield
    moto_gaps.install()


TOPIC = "Resources: {Topic: {Type: AWS::SNS::Topic}}"


def metric_alarm(cloudwatch, name: str) -> str:
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanOrEqualToThreshold")
    return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]


def stack_error(cfn, name: str, resources: dict) -> str | None:
    """Create a stack; the error moto answers (None when it is created)."""
    try:
        cfn.create_stack(StackName=name, TemplateBody=json.dumps({"Resources": resources}))
    except Exception as error:  # moto's 500 page is not even a ClientError
        return type(error).__name__
    return None


@pytest.fixture
def stacks(aws):
    config = load_config(aws.config_path)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    subnets = ",".join(aws.ids["subnets"])
    # Plain moto cannot create the production listener's weighted forward (gap 16): the pin
    # tests of other gaps, which look at the service stacks, get the ALB stack from the fixes.
    plain = not moto_gaps.installed()
    if plain:
        moto_gaps.install()
    cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                     Parameters=params(VpcId=aws.ids["vpc_id"], Subnets=subnets,
                                       TestCidr="127.0.0.0/8", LiveColor="blue"))
    if plain:
        moto_gaps.uninstall()
    alb = outputs(cfn, config.alb_stack)
    for color in COLORS:
        cfn.create_stack(
            StackName=config.service_stack(color), TemplateBody=service_stack_body(config, color),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=params(Cluster=config.cluster, Image="app:v1", DesiredCount="2",
                              TargetGroupArn=alb[f"{color.capitalize()}TargetGroupArn"],
                              VpcId=aws.ids["vpc_id"], Subnets=subnets,
                              LoadBalancerSecurityGroupId=alb["LoadBalancerSecurityGroupId"]))
    return config, cfn, alb


@pytest.fixture
def env(aws) -> Env:
    """The CLI against moto, with fake listeners for smoke requests (see tests/harness.py)."""
    production, test = FakeListener(), FakeListener()
    write_config(aws.config_path, aws.ids, deploy={
        "production_url": f'"{production.url}"', "test_url": f'"{test.url}"',
        "stack_timeout_seconds": "60", "verify_timeout_seconds": "5", "smoke_tries": "2"})
    hooked = HookedAws()
    hooked.hooks.append(("after-call.cloudformation.CreateStack",
                         arrange_tasks(aws.endpoint, aws.region, aws.ids["cluster"])))
    yield Env(aws.endpoint, aws.region, aws.config_path, production, test, hooked)
    production.close()
    test.close()
