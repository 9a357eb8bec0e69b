"""End to end, every load-balancer mode: test traffic by port or by host name, HTTP or HTTPS, with
and without the private NLB — deploy, swap and rollback through the real CLI on the sandbox, with
request loops on every production path (the production listener, the :80 redirect to https, the
private NLB) that must see no failed request.

The sandbox enforces what ELB does (sandbox/load_balancing.py): the load balancer's security
group, listener rules by priority (host-header, source-ip), TLS with a certificate imported into
ACM, the redirect, and the NLB passing bytes through to the ALB's production listener.
"""

from __future__ import annotations

import ssl
import urllib.request
from contextlib import ExitStack

import pytest
from stackswap.orchestrator.wait import SystemClock
from stackswap.sandbox.demo import RequestLoop
from stackswap.sandbox.environment import provision, write_config
from stackswap.sandbox.lifecycle import admin, running_sandbox
from stackswap.sandbox.tls import TEST_HOST

from tests.harness import Env, HookedAws

TIMINGS = {"stack_seconds": 0.3, "health_check_seconds": 0.2, "drain_seconds": 0.3,
           "circuit_breaker_seconds": 5, "monitoring_minute_seconds": 0.5}
# name -> (HTTPS, test by host name, private NLB): every combination
MODES = {f"{'https' if https else 'http'}-{'host' if host else 'port'}{'-nlb' if nlb else ''}":
         (https, host, nlb)
         for https in (False, True) for host in (False, True) for nlb in (False, True)}


@pytest.fixture(scope="module")
def sandboxes(tmp_path_factory):
    """One HTTP and one HTTPS sandbox for the module (each mode resets the one it uses)."""
    with ExitStack() as stack:
        yield {https: stack.enter_context(running_sandbox(
            tmp_path_factory.mktemp("modes") / ("https" if https else "http"), https=https,
            **TIMINGS)) for https in (False, True)}


def mode_env(sandbox: dict, tmp_path, monkeypatch, https: bool, host: bool, nlb: bool) -> Env:
    """An empty account and a config for the mode; the process environment points at it."""
    assert admin(sandbox, "POST", "/reset")[0] == 200
    ids = provision(sandbox["AWS_ENDPOINT_URL"], name="demo", region="us-east-1")
    deploy = {"production_url": f'"{sandbox["STACKSWAP_SANDBOX_PROD_URL"]}"',
              "verify_timeout_seconds": "10", "smoke_tries": "3"}
    listener: dict[str, str] = {}
    if https:
        status = admin(sandbox, "GET", "/status")[1]
        listener["certificate_arns"] = f'["{status["certificate_arn"]}"]'
        deploy["ca_bundle"] = f'"{sandbox["STACKSWAP_SANDBOX_CA_BUNDLE"]}"'
    if host:
        listener |= {"test_mode": '"host"', "test_host": f'"{TEST_HOST}"'}
    else:
        deploy["test_url"] = f'"{sandbox["STACKSWAP_SANDBOX_TEST_URL"]}"'
    network = {"private_nlb": "true"} if nlb else {}
    config = write_config(tmp_path / "demo.toml", ids, deploy=deploy, listener=listener,
                          network=network)
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, sandbox[key])
    return Env(sandbox["AWS_ENDPOINT_URL"], "us-east-1", config, None, None, HookedAws())


def tls_context(sandbox: dict, https: bool) -> ssl.SSLContext | None:
    return ssl.create_default_context(cafile=sandbox["STACKSWAP_SANDBOX_CA_BUNDLE"]) \
        if https else None


def production_paths(sandbox: dict, https: bool, nlb: bool) -> dict[str, str]:
    """Every way users reach production in the mode: the production listener, with HTTPS the
    :80 redirect (followed to https), with the private NLB its listener."""
    paths = {"production": sandbox["STACKSWAP_SANDBOX_PROD_URL"] + "/"}
    if https:
        paths["redirect"] = sandbox["STACKSWAP_SANDBOX_REDIRECT_URL"] + "/"
    if nlb:
        paths["private NLB"] = sandbox["STACKSWAP_SANDBOX_PRIVATE_URL"] + "/"
    return paths


def answer(url: str, context: ssl.SSLContext | None, host: str | None = None) -> str:
    request = urllib.request.Request(url, headers={"Host": host} if host else {})
    with urllib.request.urlopen(request, timeout=5, context=context) as response:
        return response.read().decode().strip()


@pytest.mark.parametrize("mode", list(MODES))
def test_deploy_swap_rollback_with_no_failed_request_on_any_production_path(
        sandboxes, tmp_path, monkeypatch, mode):
    https, host, nlb = MODES[mode]
    sandbox = sandboxes[https]
    env = mode_env(sandbox, tmp_path, monkeypatch, https, host, nlb)
    context = tls_context(sandbox, https)
    paths = production_paths(sandbox, https, nlb)

    def run(*argv: str) -> int:
        return env.run(*argv, clock=SystemClock()).code

    def test_path() -> str:
        if host:  # the host rule on the production listener (from test_cidr 127.0.0.0/8)
            return answer(paths["production"], context, TEST_HOST)
        return answer(sandbox["STACKSWAP_SANDBOX_TEST_URL"] + "/", context)

    assert run("deploy", "--image", "app:v1") == 0
    assert {name: answer(url, context) for name, url in paths.items()} == {
        name: "hello from app:v1" for name in paths}
    with ExitStack() as stack:
        loops = {name: stack.enter_context(RequestLoop(url, context).running())
                 for name, url in paths.items()}
        assert run("deploy", "--image", "app:v2", "--no-swap") == 0
        assert test_path() == "hello from app:v2"
        assert answer(paths["production"], context) == "hello from app:v1"
        assert run("swap") == 0
        assert {name: answer(url, context) for name, url in paths.items()} == {
            name: "hello from app:v2" for name in paths}
        assert test_path() == "hello from app:v1"
        assert run("rollback") == 0
        assert {name: answer(url, context) for name, url in paths.items()} == {
            name: "hello from app:v1" for name in paths}
    for name, loop in loops.items():
        assert loop.sent > 0 and loop.failed == [], (name, loop.failed[:3])
        assert loop.answers == {"hello from app:v1", "hello from app:v2"}, name


def test_a_client_outside_test_cidr_is_stopped_before_any_swap(tmp_path, monkeypatch, capsys):
    """The real-account failure: an internet-facing ALB's clients arrive from public addresses
    ("The nodes of an internet-facing load balancer have public IP addresses", Elastic Load
    Balancing, "Application Load Balancers"), and a security group admits only the sources its
    rules name ("Security group rules are always permissive; you can't create rules that deny
    access", Amazon VPC, "Security group rules"). A runner at 203.0.113.10 with test_cidr
    127.0.0.0/8 cannot open the test listener: the deploy stops before any swap, exit 4."""
    with running_sandbox(tmp_path / "outside", client_address="203.0.113.10",
                         **TIMINGS) as sandbox:
        env = mode_env(sandbox, tmp_path, monkeypatch, False, False, False)
        first = env.run("deploy", "--image", "app:v1", clock=SystemClock(), capsys=capsys)
        assert first.code == 4
        assert "network.test_cidr" in first.err and "127.0.0.0/8" in first.err
        assert "public address" in first.err
        stacks = {s["StackName"]: s for s in env.client("cloudformation").describe_stacks()[
            "Stacks"]}
        assert stacks["demo-elb"]["StackStatus"] == "CREATE_COMPLETE"
        # The test listener never answered, so nothing was promoted: blue stays live, and
        # production (open to the world) answers from outside too.
        assert env.parameter("demo-elb", "LiveColor") == "blue"
        assert answer(sandbox["STACKSWAP_SANDBOX_PROD_URL"] + "/", None) == "hello from app:v1"
