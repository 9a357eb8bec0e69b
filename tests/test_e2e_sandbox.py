"""End to end: the real `stackswap` CLI against the local sandbox (moto server + data plane),
with real HTTP traffic through the listener proxies."""

from __future__ import annotations

import json
import os
import queue
import signal
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

import botocore
import pytest
from stackswap.orchestrator.wait import SystemClock
from stackswap.sandbox.environment import client, provision, provision_notifications, write_config
from stackswap.sandbox.lifecycle import admin, notify_overrides, running_sandbox

from tests.conftest import REPO
from tests.harness import Env, HookedAws

STACK_SECONDS = 0.4


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("e2e") / "sandbox", stack_seconds=STACK_SECONDS,
                         health_check_seconds=0.2, drain_seconds=0.3,
                         circuit_breaker_seconds=3, monitoring_minute_seconds=0.5) as env:
        yield env


def empty_account(sandbox, tmp_path, monkeypatch, **overrides: dict[str, str]) -> tuple[dict, Env]:
    """An empty sandbox account with its network and a config (`overrides`: more config
    sections, as write_config takes them); the process environment points at it. Returns the
    network's ids and the CLI's environment."""
    assert admin(sandbox, "POST", "/reset")[0] == 200
    endpoint = sandbox["AWS_ENDPOINT_URL"]
    ids = provision(endpoint, name="demo", region="us-east-1")
    # the team is told through the sandbox's webhook sink, directly and through SNS, as
    # `sandbox up` configures it
    state = admin(sandbox, "GET", "/status")[1]
    topic = provision_notifications(endpoint, "demo", "us-east-1", state["sns_endpoint"])
    config = write_config(tmp_path / "demo.toml", ids, deploy={
        "production_url": f'"{sandbox["STACKSWAP_SANDBOX_PROD_URL"]}"',
        "test_url": f'"{sandbox["STACKSWAP_SANDBOX_TEST_URL"]}"',
        "verify_timeout_seconds": "6", "smoke_tries": "3"},
        **{**notify_overrides(state, topic), **overrides})
    for key in ("AWS_ENDPOINT_URL", "AWS_ACCESS_KEY_ID", "AWS_SECRET_ACCESS_KEY", "AWS_REGION",
                "AWS_DEFAULT_REGION"):
        monkeypatch.setenv(key, sandbox[key])
    monkeypatch.setenv("STACKSWAP_CONFIG", str(config))
    return ids, Env(endpoint, "us-east-1", config, None, None, HookedAws())


@pytest.fixture
def shop(sandbox, tmp_path, monkeypatch) -> Env:
    """An empty sandbox account with its network, a config, and v1 deployed (blue live)."""
    env = empty_account(sandbox, tmp_path, monkeypatch)[1]
    assert run(env, "deploy", "--image", "app:v1").code == 0
    env.aws.calls.clear()
    return env


def run(env: Env, *argv: str, capsys=None):
    return env.run(*argv, capsys=capsys, clock=SystemClock())


def prod(sandbox) -> str:
    with urllib.request.urlopen(sandbox["STACKSWAP_SANDBOX_PROD_URL"] + "/", timeout=5) as r:
        return r.read().decode().strip()


def alb_updates(env: Env) -> int:
    events = client("cloudformation", env.endpoint, env.region).describe_stack_events(
        StackName="demo-elb")["StackEvents"]
    return sum(e["ResourceStatus"] == "UPDATE_IN_PROGRESS" and e["LogicalResourceId"] ==
               "demo-elb" for e in events)


def test_deploy_swaps_real_traffic(shop, sandbox):
    assert prod(sandbox) == "hello from app:v1"
    before = len(admin(sandbox, "GET", "/notifications")[1]["received"])
    assert run(shop, "deploy", "--image", "app:v2").code == 0
    assert prod(sandbox) == "hello from app:v2"
    # the team heard of it, through the webhook and through the SNS topic's subscription
    told = admin(sandbox, "GET", "/notifications")[1]["received"][before:]
    assert sorted((m["channel"], m["text"].split("\n")[0]) for m in told) == [
        ("sns", "stackswap demo: deploy of app:v2 started: production on blue (app:v1)"),
        ("sns", "stackswap demo: deploy of app:v2 succeeded: production on green (app:v2)"),
        ("webhook", "stackswap demo: deploy of app:v2 started: production on blue (app:v1)"),
        ("webhook", "stackswap demo: deploy of app:v2 succeeded: production on green (app:v2)")]
    document = json.loads(run(shop, "status", "--json").out)
    assert document["live"] == "green"
    assert document["colors"]["green"]["healthy_targets"] == 2
    assert document["colors"]["blue"]["image"] == "app:v1"


def test_unhealthy_image_is_never_swapped_in(sandbox, tmp_path, monkeypatch, capsys):
    # As on AWS, ECS replaces the tasks failing their ELB health checks after the grace period
    # and its deployment circuit breaker fails the deployment at max(3, 0.5 * desired) failed
    # tasks (https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html:
    # "a minimum threshold of 3 and a maximum threshold of 200 ... 0.5 * desired task count");
    # CloudFormation rolls the idle stack back. A 10 s grace lasts 0.4 s here (the sandbox keeps
    # the number of health-check intervals), so the count trips before circuit_breaker_seconds.
    env = empty_account(sandbox, tmp_path, monkeypatch,
                        health={"path": '"/health"', "grace_period_seconds": "10"})[1]
    assert run(env, "deploy", "--image", "app:v1").code == 0
    env.aws.calls.clear()
    result = run(env, "deploy", "--image", "app:v2-unhealthy", capsys=capsys)
    assert result.code == 4
    assert "Service UPDATE_FAILED: ECS Deployment Circuit Breaker was triggered" in result.err
    assert "rolled back" in result.err
    assert alb_updates(env) == 0
    assert env.parameter("demo-green", "Image") == "app:v1"
    assert prod(sandbox) == "hello from app:v1"


def test_failed_idle_update_leaves_the_alb_stack_and_production_alone(shop, sandbox, capsys):
    assert admin(sandbox, "POST", "/fail-next-update", {"stack": "demo-green"})[0] == 200
    result = run(shop, "deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 4
    assert "Service UPDATE_FAILED: ECS service did not stabilize" in result.err
    assert alb_updates(shop) == 0
    assert shop.parameter("demo-green", "Image") == "app:v1"
    assert prod(sandbox) == "hello from app:v1"


def test_crash_image_trips_the_circuit_breaker(shop, sandbox, capsys):
    result = run(shop, "deploy", "--image", "app:v2-crash", capsys=capsys)
    assert result.code == 4
    assert "Circuit Breaker" in result.err
    assert prod(sandbox) == "hello from app:v1"


@pytest.mark.parametrize(("stop", "code"), [(signal.SIGINT, 130), (signal.SIGTERM, 143),
                                            (signal.SIGHUP, 129)])
def test_interrupted_deploy_resumes_on_rerun_without_a_second_update(shop, sandbox, stop, code):
    # Ctrl-C, a CI runner's cancel (SIGTERM) and a closed terminal (SIGHUP) end the run the same
    # way: the lock released, one line naming what CloudFormation carries on with, 128 + the
    # signal's number, and a rerun that resumes. The green update lasts long enough for the
    # signal to land while the CLI waits for it.
    assert admin(sandbox, "POST", "/stack-seconds", {"seconds": 2, "stack": "demo-green"})[0] \
        == 200
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    command = [sys.executable, "-m", "stackswap.orchestrator", "deploy", "--image", "app:v2"]
    first = subprocess.Popen(command, env=environ, stderr=subprocess.PIPE, text=True)
    lines: queue.Queue[str] = queue.Queue()

    def read_stderr() -> None:
        for line in first.stderr:
            lines.put(line)

    reader = threading.Thread(target=read_stderr, daemon=True)
    reader.start()
    # Interrupt once the CLI shows the update's first event: it prints events from its wait loop
    # only, so it is waiting then (the stack status alone says the request reached the server,
    # not that the CLI has had the reply).
    deadline = time.monotonic() + 30
    seen: list[str] = []
    while not any("demo-green demo-green UPDATE_IN_PROGRESS" in line for line in seen):
        assert first.poll() is None or not lines.empty(), f"update never started: {seen}"
        seen.append(lines.get(timeout=max(0.0, deadline - time.monotonic())))
    first.send_signal(stop)
    assert first.wait(timeout=30) == code
    reader.join(timeout=30)
    after = list(lines.queue)
    assert [line for line in after if line.startswith("stackswap:")] == after[-1:]
    assert (f"stackswap: interrupted by {stop.name} while waiting for demo-green; "
            f"CloudFormation carries on with it") in after[-1]
    ssm = client("ssm", shop.endpoint, shop.region)
    assert not ssm.get_parameters(Names=["/stackswap/demo/lock"])["Parameters"]
    cfn = client("cloudformation", shop.endpoint, shop.region)
    rerun = subprocess.run(command, env=environ, capture_output=True, text=True, timeout=120)
    assert rerun.returncode == 0, rerun.stderr
    assert "waiting for demo-green" in rerun.stderr or "no updates" in rerun.stderr
    assert prod(sandbox) == "hello from app:v2"
    green_updates = [e for e in cfn.describe_stack_events(StackName="demo-green")["StackEvents"]
                     if e["LogicalResourceId"] == "demo-green"
                     and e["ResourceStatus"] == "UPDATE_IN_PROGRESS"]
    assert len(green_updates) == 1


def watch_an_alarm(shop: Env, monitoring_minutes: int):
    """A 5xx alarm (OK) in the config's deploy.alarms; its CloudWatch client."""
    cloudwatch = client("cloudwatch", shop.endpoint, shop.region)
    cloudwatch.put_metric_alarm(
        AlarmName="demo-5xx", MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanThreshold")
    shop.config_path.write_text(shop.config_path.read_text().replace(
        "[deploy]", f'[deploy]\nalarms = ["demo-5xx"]\n'
                    f'alarm_monitoring_minutes = {monitoring_minutes}'))
    return cloudwatch


def test_alarm_firing_after_the_swap_puts_production_back(shop, sandbox, capsys):
    """CloudFormation's rollback trigger reverts the swap by itself; the run reports exit 5."""
    cloudwatch = watch_an_alarm(shop, monitoring_minutes=3)
    cfn = client("cloudformation", shop.endpoint, shop.region)

    def fire_when_the_swap_starts(**kwargs) -> None:
        # The CLI just asked for the swap: the 5xx alarm goes off while CloudFormation watches.
        cloudwatch.set_alarm_state(AlarmName="demo-5xx", StateValue="ALARM",
                                   StateReason="5xx after the swap")

    shop.aws.hooks.append(("after-call.cloudformation.UpdateStack", lambda **kw: (
        fire_when_the_swap_starts() if cfn.describe_stacks(StackName="demo-elb")["Stacks"][0][
            "StackStatus"] == "UPDATE_IN_PROGRESS" else None)))
    result = run(shop, "deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 5, result.err
    assert "Rollback triggered by alarm(s) in ALARM state: demo-5xx" in result.err
    assert ":80 is confirmed on blue" in result.err
    assert prod(sandbox) == "hello from app:v1"


def test_rollback_from_another_terminal_cancels_a_swap_in_its_monitoring_window(shop, sandbox):
    # The swap is live and CloudFormation watches the alarm for its monitoring time, the ALB
    # stack still UPDATE_IN_PROGRESS; the deploy holds the lock. An operator sees errors and
    # rolls back: that cancels the swap update ("manually cancel the stack creation or update
    # as necessary" during the monitoring period, rollback-triggers user guide,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html),
    # CloudFormation restores the listeners, and the deploy reports the revert (exit 5).
    watch_an_alarm(shop, monitoring_minutes=60)
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    deploy = subprocess.Popen([sys.executable, "-m", "stackswap.orchestrator", "deploy", "--image",
                               "app:v2"], env=environ, stderr=subprocess.PIPE, text=True)
    try:
        deadline = time.monotonic() + 60
        while prod(sandbox) != "hello from app:v2":  # the swap is applied; the window runs
            assert deploy.poll() is None and time.monotonic() < deadline
        cfn = client("cloudformation", shop.endpoint, shop.region)
        (alb,) = cfn.describe_stacks(StackName="demo-elb")["Stacks"]
        assert alb["StackStatus"] == "UPDATE_IN_PROGRESS"
        rollback = subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "rollback"],
                                  env=environ, capture_output=True, text=True, timeout=120)
        assert rollback.returncode == 0, rollback.stderr
        assert "cancelling the swap in progress on demo-elb" in rollback.stderr
        assert prod(sandbox) == "hello from app:v1"
        assert deploy.wait(timeout=60) == 5
        err = deploy.stderr.read()
        assert ":80 is confirmed on blue" in err
    finally:
        if deploy.poll() is None:
            deploy.kill()
            deploy.wait()
        deploy.stderr.close()


def test_stacks_made_by_the_aws_cli_are_adopted(sandbox, tmp_path, monkeypatch, capsys):
    # Issue #17: stacks a team's own pipeline made with `aws cloudformation deploy` (change
    # sets: https://docs.aws.amazon.com/cli/latest/reference/cloudformation/deploy/ "Deploys
    # the specified AWS CloudFormation template by creating and then executing a change set.")
    # are found by `status`, and deploy, swap and rollback move real traffic on them.
    ids, env = empty_account(sandbox, tmp_path, monkeypatch)
    config = env.config_path
    templates = tmp_path / "templates"
    subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "render", "--config",
                    str(config), "--out", str(templates)], check=True, cwd=REPO,
                   capture_output=True)
    # `aws cloudformation deploy` waits for the stack with a 30 s delay written into the CLI
    # (awscli/customizations/cloudformation/deployer.py). So the same change set is made with
    # `deploy --no-execute-changeset`, executed with `execute-change-set`, and waited for with
    # `wait stack-create-complete`, whose waiter is read from botocore's data: a copy of that
    # data with 1 s delays on AWS_DATA_PATH ("the botocore loaders have the concept of a data
    # path exposed through AWS_DATA_PATH", botocore Loaders Reference) makes it poll each second.
    waiters = json.loads((Path(botocore.__file__).parent / "data" / "cloudformation" /
                          "2010-05-15" / "waiters-2.json").read_text())
    for waiter in waiters["waiters"].values():
        waiter["delay"] = 1
    data = tmp_path / "aws-data" / "cloudformation" / "2010-05-15"
    data.mkdir(parents=True)
    (data / "waiters-2.json").write_text(json.dumps(waiters))
    environ = {**os.environ, **{k: sandbox[k] for k in ("AWS_ENDPOINT_URL", "AWS_REGION")},
               "AWS_DATA_PATH": str(tmp_path / "aws-data")}

    def aws(*argv: str) -> str:
        done = subprocess.run([str(REPO / ".venv/bin/aws"), "cloudformation", *argv],
                              env=environ, capture_output=True, text=True, timeout=120)
        assert done.returncode == 0, (argv, done.stderr)
        return done.stdout

    def cli_deploy(stack: str, template: str, **parameters: str) -> None:
        aws("deploy", "--template-file", str(templates / template), "--stack-name", stack,
            "--capabilities", "CAPABILITY_IAM", "--no-execute-changeset",
            "--parameter-overrides", *[f"{key}={value}" for key, value in parameters.items()])
        (change_set,) = json.loads(aws("list-change-sets", "--stack-name", stack))["Summaries"]
        aws("execute-change-set", "--change-set-name", change_set["ChangeSetId"])
        aws("wait", "stack-create-complete", "--stack-name", stack)

    subnets = ",".join(ids["subnets"])
    cli_deploy("demo-elb", "elb.yml", VpcId=ids["vpc_id"], Subnets=subnets,
               TestCidr="127.0.0.0/8", LiveColor="blue")
    cfn = client("cloudformation", sandbox["AWS_ENDPOINT_URL"], "us-east-1")
    alb = {o["OutputKey"]: o["OutputValue"]
           for o in cfn.describe_stacks(StackName="demo-elb")["Stacks"][0]["Outputs"]}
    for color in ("blue", "green"):  # what orchestrator/parameters.py (service) sends
        cli_deploy(f"demo-{color}", f"{color}.yml", Cluster="demo", Image="app:v1",
                   DesiredCount="2", TargetGroupArn=alb[f"{color.capitalize()}TargetGroupArn"],
                   VpcId=ids["vpc_id"], Subnets=subnets,
                   LoadBalancerSecurityGroupId=alb["LoadBalancerSecurityGroupId"])
    assert prod(sandbox) == "hello from app:v1"

    status = run(env, "status", capsys=capsys)
    assert status.code == 0 and "live: blue" in status.out
    assert "demo-elb has no stack policy" in status.out
    assert "demo-green has no termination protection" in status.out
    assert run(env, "deploy", "--image", "app:v2").code == 0
    assert prod(sandbox) == "hello from app:v2"
    assert run(env, "rollback").code == 0
    assert prod(sandbox) == "hello from app:v1"
    assert run(env, "swap", "--to", "green").code == 0
    assert prod(sandbox) == "hello from app:v2"
    # The administrator's one-time commands (docs/adopting-stacks.md) silence the warnings.
    for stack in ("demo-elb", "demo-blue", "demo-green"):
        cfn.update_termination_protection(StackName=stack, EnableTerminationProtection=True)
    cfn.set_stack_policy(StackName="demo-elb",
                         StackPolicyBody=(templates / "alb-stack-policy.json").read_text())
    document = json.loads(run(env, "status", "--json").out)
    assert document["alb_stack_policy"] is True
    assert set(document["termination_protection"].values()) == {True}


def test_capacity_is_matched_before_the_swap_and_autoscaling_floor_released_after(
        sandbox, tmp_path, monkeypatch, capsys):
    # Seed 003: never swap onto less than production runs. The live colour was scaled up (by
    # hand here, as autoscaling would): the idle colour gets as many tasks in the same update
    # of its stack, verification waits for that many healthy targets, and its autoscaling
    # floor (MinCapacity) holds that count while it waits behind test traffic ("Application
    # Auto Scaling turns off scale-in processes while Amazon ECS deployments are in progress",
    # ECS Developer Guide, "Troubleshooting service auto scaling" — not once the deployment is
    # done and the colour waits); after the swap the floor goes back to autoscaling.min.
    env = empty_account(sandbox, tmp_path, monkeypatch, service={
        "desired_count": "1",
        "autoscaling": "{ min = 1, max = 4, cpu_target_percent = 50 }"})[1]
    assert run(env, "deploy", "--image", "app:v1").code == 0
    ecs = client("ecs", env.endpoint, env.region)
    scaling = client("application-autoscaling", env.endpoint, env.region)
    ecs.update_service(cluster="demo", service=env.outputs("demo-blue")["ServiceArn"],
                       desiredCount=3)
    result = run(env, "deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 0, result.err
    assert "blue runs 3 tasks" in result.err
    assert "3 targets healthy" in result.err
    document = json.loads(run(env, "status", "--json").out)
    green = document["colors"]["green"]
    assert document["live"] == "green"
    assert (green["desired_tasks"], green["healthy_targets"]) == (3, 3)
    assert green["autoscaling"] == {"min": 1, "max": 4, "suspended": False}
    floors = [t["MinCapacity"] for t in
              scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]]
    assert floors == [1, 1]
    assert "autoscaling minimum back to 1" in result.err


def test_a_changed_environment_rolls_out_through_the_idle_colour(shop, sandbox, capsys):
    # Same image, changed config: not a no-op. The new task definition goes to the idle
    # colour and is swapped in like an image, and deploy names what changed (never values).
    text = shop.config_path.read_text()
    shop.config_path.write_text(text.replace(
        "[service]\n", '[service]\nenvironment = { FEATURE_X = "on", LOG_LEVEL = "debug" }\n'))
    result = run(shop, "deploy", "--image", "app:v1", capsys=capsys)
    assert result.code == 0, result.err
    assert "environment: +FEATURE_X, +LOG_LEVEL" in result.err
    assert '"on"' not in result.err and "debug" not in result.err
    document = json.loads(run(shop, "status", "--json").out)
    assert document["live"] == "green"
    assert document["colors"]["green"]["environment"] == ["FEATURE_X", "LOG_LEVEL"]
    assert document["colors"]["blue"]["environment"] == []
    assert prod(sandbox) == "hello from app:v1"
    # A rerun changes nothing now: the live colour matches the config.
    again = run(shop, "deploy", "--image", "app:v1", capsys=capsys)
    assert again.code == 0 and "nothing to change" in again.err
# --- traffic shifts over real HTTP ----------------------------------------------------------------

class Requests:
    """GETs of production in a loop, in a thread: every answer (None for a failed request)."""

    def __init__(self, sandbox) -> None:
        self.url = sandbox["STACKSWAP_SANDBOX_PROD_URL"] + "/"
        self.answers: list[str | None] = []
        self.stop = threading.Event()
        self.thread = threading.Thread(target=self.loop, daemon=True)

    def loop(self) -> None:
        deadline = time.monotonic() + 120
        while not self.stop.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    self.answers.append(response.read().decode().strip())
            except OSError:
                self.answers.append(None)

    def __enter__(self) -> Requests:
        self.thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self.stop.set()
        self.thread.join(timeout=10)


def shift_config(shop: Env, interval: str) -> None:
    shop.config_path.write_text(shop.config_path.read_text().replace(
        "[deploy]", f'[deploy]\nstep_percent = 50\nstep_interval = "{interval}"'))


def test_a_linear_shift_splits_real_traffic_without_a_failed_request(shop, sandbox):
    # ELB: requests are distributed to a forward action's target groups by their weights; the
    # sandbox's proxy does that per request (docs/sandbox.md).
    shift_config(shop, "2s")
    with Requests(sandbox) as requests:
        result = run(shop, "deploy", "--image", "app:v2", "--strategy", "linear")
    assert result.code == 0, result
    assert None not in requests.answers
    assert {"hello from app:v1", "hello from app:v2"} <= set(requests.answers)
    assert prod(sandbox) == "hello from app:v2"


def test_a_shift_stopped_by_sigterm_is_rolled_back_without_a_failed_request(shop, sandbox):
    shift_config(shop, "60s")
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    elbv2 = client("elbv2", shop.endpoint, shop.region)
    listener = shop.outputs("demo-elb")["ProductionListenerArn"]

    def serving() -> int:
        (described,) = elbv2.describe_listeners(ListenerArns=[listener])["Listeners"]
        groups = described["DefaultActions"][0].get("ForwardConfig", {}).get("TargetGroups", [])
        return sum(group.get("Weight", 1) > 0 for group in groups)

    with Requests(sandbox) as requests:
        deploy = subprocess.Popen([sys.executable, "-m", "stackswap.orchestrator", "deploy",
                                   "--image", "app:v2", "--strategy", "linear"], env=environ,
                                  stderr=subprocess.PIPE, text=True)
        try:
            deadline = time.monotonic() + 60
            while serving() < 2:  # the first step is applied and held
                assert deploy.poll() is None and time.monotonic() < deadline
            deploy.send_signal(signal.SIGTERM)
            assert deploy.wait(timeout=60) == 143
        finally:
            if deploy.poll() is None:
                deploy.kill()
                deploy.wait()
            deploy.stderr.close()
        status = run(shop, "status")
        assert "shifting: green 50 % (step 1 of 2" in status.out
        result = run(shop, "rollback")
    assert result.code == 0, result
    assert serving() == 1 and prod(sandbox) == "hello from app:v1"
    assert None not in requests.answers
