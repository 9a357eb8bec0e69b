"""The fault matrix (docs/failures.md), one test per row, against the moto server.

Each test injects its fault at a boundary — moto's own APIs, botocore event hooks on the CLI's
session (before-call short-circuits, before-send HTTP answers that botocore's real retry handler
sees, after-call hooks that lose a reply), the virtual clock — never by patching stackswap. Each
asserts the exit code, the message, and what was left behind: what :80 serves, which stacks were
updated, which mutating calls were made.
"""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import threading
import time

import botocore.exceptions
import pytest
from stackswap.environment.load import load_config
from stackswap.environment.names import COLORS
from stackswap.generator.render import alb_stack_body, service_stack_body
from stackswap.orchestrator import cli
from stackswap.sandbox.environment import write_config

from tests.conftest import params
from tests.harness import (
    FailingUpdate,
    HookedAws,
    LostReply,
    Requests,
    StatusAtStart,
    StuckUpdate,
    VirtualClock,
    arrange_tasks,
    botocore_sleeps_on,
    error_response,
    http_error,
    invoke,
    operation_of,
)

CFN_MUTATING = {"CreateStack", "UpdateStack", "DeleteStack", "CancelUpdateStack",
                "ContinueUpdateRollback", "SetStackPolicy", "UpdateTerminationProtection"}


@pytest.fixture
def offline(tmp_path):
    """A valid config and a recording connect_aws, with no AWS at all: for input that must be
    refused before any call."""
    ids = {"name": "shop", "region": "eu-west-1", "cluster": "shop",
           "vpc_id": "vpc-0123456789abcdef0",
           "subnets": ["subnet-0123456789abcdef0", "subnet-0123456789abcdef1"]}
    return write_config(tmp_path / "shop.toml", ids), HookedAws()


BODIES: dict[str, str] = {}


def body(config, stack: str) -> str:
    """Rendered templates are the same for every test's config (only ids differ, and those are
    parameters): render once."""
    if stack not in BODIES:
        BODIES[stack] = (alb_stack_body(config) if stack == "elb"
                         else service_stack_body(config, stack))
    return BODIES[stack]


@pytest.fixture
def deployed(env):
    """Both colours on app:v1, blue live — the stacks a first run creates, made with moto's API
    directly (faster than the first run, which test_orchestrator_moto covers); calls are
    recorded from here on."""
    config = load_config(env.config_path)
    cfn = env.client("cloudformation")
    network = {"VpcId": config.network.vpc_id, "Subnets": ",".join(config.network.alb_subnets)}
    cfn.create_stack(StackName="shop-elb", TemplateBody=body(config, "elb"),
                     Parameters=params(**network, TestCidr=config.network.test_cidr,
                                       LiveColor="blue"))
    alb = env.outputs("shop-elb")
    for color in COLORS:
        cfn.create_stack(
            StackName=f"shop-{color}", TemplateBody=body(config, color),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=params(Cluster=config.cluster, Image="app:v1", DesiredCount="2",
                              TargetGroupArn=alb[f"{color.capitalize()}TargetGroupArn"],
                              LoadBalancerSecurityGroupId=alb["LoadBalancerSecurityGroupId"],
                              **network))
    arrange_tasks(env.endpoint, env.region, config.cluster)()
    env.aws.calls.clear()
    env.requests = Requests().install(env.aws)
    return env


def cfn_mutating(env) -> list[str]:
    return [name for name in env.aws.calls if name in CFN_MUTATING]


def one_line(err: str) -> str:
    lines = [line for line in err.splitlines() if line.startswith("stackswap: ")]
    assert lines, err
    return lines[-1]


def set_alarm(env, name: str, state: str) -> None:
    cloudwatch = env.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=name, MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=name, StateValue=state, StateReason="test")


def use_alarms(env, *names: str) -> None:
    quoted = ", ".join(f'"{name}"' for name in names)
    text = env.config_path.read_text().replace("[deploy]", f"[deploy]\nalarms = [{quoted}]")
    env.config_path.write_text(text)


def target_group(env, color: str) -> str:
    return env.outputs("shop-elb")[f"{color.capitalize()}TargetGroupArn"]


def listener(env, port: int) -> str:
    key = "ProductionListenerArn" if port == 80 else "TestListenerArn"
    return env.outputs("shop-elb")[key]


def after_update_of(env, stack: str, then) -> None:
    """Call `then()` once UpdateStack of `stack` has reached moto and answered."""
    pending: list[str] = []
    env.aws.hooks.append(("before-call.cloudformation.UpdateStack",
                          lambda params, **kwargs: pending.append(params["body"]["StackName"])))

    def after(http_response, **kwargs) -> None:
        if pending and pending.pop() == stack and http_response.status_code < 300:
            then()
    env.aws.hooks.append(("after-call.cloudformation.UpdateStack", after))


def lock_exists(env) -> bool:
    names = [p["Name"] for p in env.client("ssm").describe_parameters()["Parameters"]]
    return "/stackswap/shop/lock" in names


# --- 1-6: bad requests and missing things, refused before any change -------------------------

def test_fault_01_deploy_into_live_color(deployed):
    result = deployed.call("deploy", "--image", "app:v2", "--color", "blue")
    assert result.code == 3
    assert "blue is the live colour (it serves production :80)" in one_line(result.err)
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "blue"
    assert deployed.parameter("shop-blue", "Image") == "app:v1"


def test_fault_02_color_or_image_missing_or_invalid(offline):
    config, hooked = offline
    for argv in (
        ["deploy"],                                           # IMAGE missing
        ["deploy", "--image", "app"],                         # no tag
        ["deploy", "--image", "App:v2"],                      # not an image name
        ["deploy", "--image", "app:v2", "--color", "purple"],  # no such colour
        ["deploy", "--image", "app:v2", "--color"],           # COLOR without a value
    ):
        result = invoke([*argv, "--config", str(config)], hooked)
        assert result.code == 2, argv
        assert result.err.count("\n") == 1 and result.err.startswith("stackswap: deploy: ")
        assert "--help" in result.err
    assert hooked.calls == []


def test_fault_03_malformed_config(offline):
    config, hooked = offline
    good = config.read_text()
    for text, names in (
        ('name = "shop"\nregion = ', "not valid TOML"),
        (good.replace("cluster = ", "# cluster = "), "cluster: is required but missing"),
        (good.replace('vpc_id = "vpc-', 'vpc_id = "x-'), "network.vpc_id: must be"),
        (good.replace("smoke_tries = 5", "smoke_tries = 0"), "deploy.smoke_tries: must be"),
        (good.replace("[deploy]", '[deploy]\nalarms = ["a:b"]'), "deploy.alarms"),
    ):
        config.write_text(text)
        result = invoke(["deploy", "--image", "app:v2", "--config", str(config)], hooked)
        assert result.code == 2, names
        assert result.err == f"stackswap: {config}: " + result.err.split(": ", 2)[2]
        assert names in result.err and result.err.count("\n") == 1
    assert hooked.calls == []


def test_fault_04_wrong_region_or_account(deployed):
    result = deployed.call("deploy", "--image", "app:v2", "--region", "us-east-1")
    assert result.code == 2
    assert "--region us-east-1 differs from the config's region eu-west-1" in result.err
    assert deployed.aws.calls == []
    # Credentials of another account than the config's account_id (moto's is 123456789012).
    pinned = deployed.config_path.read_text()
    deployed.config_path.write_text('account_id = "999999999999"\n' + pinned)
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 3
    assert "credentials are for account 123456789012" in one_line(result.err)
    assert deployed.aws.calls == ["GetCallerIdentity"]
    deployed.config_path.write_text(pinned)
    # A config pointing at a region (or account) where the environment does not exist: `swap`
    # finds no stacks and refuses (a deploy there would be a first run, see row 5).
    text = deployed.config_path.read_text().replace('region = "eu-west-1"',
                                                    'region = "us-west-2"')
    deployed.config_path.write_text(text)
    result = deployed.call("swap")
    assert result.code == 3
    assert "stacks missing (alb, blue, green)" in one_line(result.err)
    assert deployed.aws.mutating == []


def test_fault_05_stack_missing(deployed):
    deployed.client("cloudformation").delete_stack(StackName="shop-green")
    for command in ("swap", "rollback"):
        result = deployed.call(command)
        assert result.code == 3
        assert "stacks missing (green)" in one_line(result.err)
        assert "stackswap deploy --image IMAGE" in result.err
    assert deployed.aws.mutating == []
    # deploy is the documented way to create what is missing: the idle colour, verified, no swap
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert "creating the missing stacks: green" in result.err
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert deployed.forwards(80) == "blue"
    assert [p["StackName"] for p in deployed.requests.of("CreateStack")] == ["shop-green"]
    assert deployed.requests.of("UpdateStack") == []


def test_fault_06_image_tag_does_not_exist(deployed):
    ecr = deployed.client("ecr")
    repository = ecr.create_repository(repositoryName="shop")["repository"]["repositoryUri"]
    manifest = json.dumps({"schemaVersion": 2, "config": {"digest": "sha256:" + "a" * 64},
                           "mediaType": "application/vnd.docker.distribution.manifest.v2+json"})
    ecr.put_image(repositoryName="shop", imageManifest=manifest, imageTag="v2")
    result = deployed.call("deploy", "--image", f"{repository}:v3")
    assert result.code == 3
    assert f"image {repository}:v3 does not exist" in one_line(result.err)
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "blue"
    # The tag that exists is deployed.
    result = deployed.call("deploy", "--image", f"{repository}:v2")
    assert result.code == 0, result.err
    assert deployed.forwards(80) == "green"


def test_fault_06b_an_image_the_deployer_may_pull_but_not_describe_is_not_refused(deployed):
    # Another account's repository whose policy grants pulls only (ecr:BatchGetImage,
    # ecr:GetDownloadUrlForLayer): DescribeImages is denied, which says nothing about the image.
    image = "210987654321.dkr.ecr.eu-west-1.amazonaws.com/shop:v2"
    deployed.aws.hooks.append(("before-call.ecr.DescribeImages", lambda **kwargs: error_response(
        "AccessDeniedException", "not authorized to perform: ecr:DescribeImages", 400)))
    result = deployed.call("deploy", "--image", image)
    assert result.code == 0, result.err
    (note,) = [line for line in result.err.splitlines() if line.startswith("note: ")]
    assert note.startswith(f"note: cannot check that {image} exists (AWS denied DescribeImages")
    assert deployed.forwards(80) == "green"


# --- 7-11: stacks in the way -----------------------------------------------------------------

def test_fault_07_stack_in_progress_at_start(deployed):
    # Someone else's update of the idle stack is in progress (a run that is gone, or a person):
    # it is waited for under the lock, never cancelled, and the plan is made again.
    other = StatusAtStart(deployed, "shop-green", "UPDATE_IN_PROGRESS",
                          reason="User Initiated", polls=4)
    deployed.aws.hooks.append(("before-call.cloudformation.*", other))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert "waiting for shop-green (UPDATE_IN_PROGRESS), started by someone else" in result.err
    assert "CancelUpdateStack" not in deployed.aws.calls
    assert deployed.requests.updated_stacks() == ["shop-green", "shop-elb"]
    assert deployed.forwards(80) == "green"
    # The dry run (no lock) shows the wait and changes nothing.
    deployed.aws.calls.clear()
    other.become("UPDATE_IN_PROGRESS")
    result = deployed.call("deploy", "--image", "app:v3", "--dry-run")
    assert result.code == 0 and "wait for shop-green (UPDATE_IN_PROGRESS)" in result.out
    assert deployed.aws.mutating == []


def test_fault_08_idle_stack_update_rollback_failed(deployed):
    stuck = StatusAtStart(deployed, "shop-green", "UPDATE_ROLLBACK_FAILED",
                          reason="Service failed to roll back")
    deployed.aws.hooks.append(("before-call.cloudformation.*", stuck))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 6
    line = one_line(result.err)
    assert "shop-green is UPDATE_ROLLBACK_FAILED" in line
    assert "stackswap recover" in line
    assert "continue-update-rollback --stack-name shop-green" in line
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "blue"
    # The command it names continues the rollback (no resource skipped), then deploys work.
    result = deployed.call("recover")
    assert result.code == 0, result.err
    (request,) = deployed.requests.of("ContinueUpdateRollback")
    assert request["StackName"] == "shop-green" and not request.get("ResourcesToSkip")
    assert request["ClientRequestToken"]
    assert deployed.call("deploy", "--image", "app:v2").code == 0
    assert deployed.forwards(80) == "green"


def test_fault_08b_update_ends_in_update_rollback_failed(deployed):
    failing = FailingUpdate(deployed, "shop-green", "Service", "Service did not stabilize",
                            final="UPDATE_ROLLBACK_FAILED")
    deployed.aws.hooks.append(("before-call.cloudformation.*", failing))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 6
    assert "continue-update-rollback --stack-name shop-green" in one_line(result.err)
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert "CancelUpdateStack" not in deployed.aws.calls
    assert deployed.forwards(80) == "blue"


def test_fault_09_stack_in_rollback_complete(deployed):
    dead = StatusAtStart(deployed, "shop-green", "ROLLBACK_COMPLETE")
    deployed.aws.hooks.append(("before-call.cloudformation.*", dead))
    for argv in (["deploy", "--image", "app:v2"], ["swap"]):
        result = deployed.call(*argv)
        assert result.code == 6
        line = one_line(result.err)
        assert "shop-green is ROLLBACK_COMPLETE: it can only be deleted" in line
        assert "delete-stack --stack-name shop-green" in line
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "blue"


def test_fault_10_update_rollback_complete_is_updatable(deployed):
    earlier = StatusAtStart(deployed, "shop-green", "UPDATE_ROLLBACK_COMPLETE")
    deployed.aws.hooks.append(("before-call.cloudformation.*", earlier))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert deployed.requests.updated_stacks() == ["shop-green", "shop-elb"]
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")


def test_fault_11_no_updates_to_perform_still_verifies(deployed):
    assert deployed.call("deploy", "--image", "app:v2").code == 0  # green live, blue on v1
    deployed.aws.calls.clear()
    deployed.test.answer(503)  # blue behind :8080 does not answer: no update, still verified
    result = deployed.call("deploy", "--image", "app:v1")
    assert result.code == 4
    assert "shop-blue: no updates to perform" in result.err
    assert "smoke test of blue failed" in one_line(result.err)
    assert deployed.aws.calls.count("DescribeTargetHealth") >= 1
    assert deployed.forwards(80) == "green"
    deployed.test.answer(200)
    result = deployed.call("deploy", "--image", "app:v1")
    assert result.code == 0, result.err
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")


# --- 12-16: the new colour fails; production untouched (4) -----------------------------------

def test_fault_12_idle_update_rolls_back(deployed):
    failing = FailingUpdate(deployed, "shop-green", "Service",
                            "ECS Deployment Circuit Breaker was triggered")
    deployed.aws.hooks.append(("before-call.cloudformation.*", failing))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 4
    line = one_line(result.err)
    assert "shop-green update failed and was rolled back" in line
    assert "Service UPDATE_FAILED: ECS Deployment Circuit Breaker was triggered" in line
    assert deployed.requests.updated_stacks() == ["shop-green"]  # the ALB stack untouched
    assert deployed.forwards(80) == "blue"
    assert deployed.parameter("shop-green", "Image") == "app:v1"
    assert not lock_exists(deployed)


def test_fault_13_tasks_never_healthy_deadline_cancels_own_update(deployed):
    stuck = StuckUpdate(deployed, "shop-green")
    deployed.aws.hooks.append(("before-call.cloudformation.*", stuck))
    clock = VirtualClock()
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 4
    line = one_line(result.err)
    assert "shop-green is still UPDATE_IN_PROGRESS after 60 s" in line
    assert "cancelled and rolled back" in line
    assert (stuck.updates, stuck.cancels) == (1, 1)
    cancels = deployed.requests.of("CancelUpdateStack")
    assert [c["StackName"] for c in cancels] == ["shop-green"] and cancels[0]["ClientRequestToken"]
    assert clock.time - 1000 >= 60
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"


def registered_targets(elbv2, group: str) -> list[dict]:
    return [d["Target"] for d in
            elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]]


def test_fault_14_idle_target_group_has_no_healthy_target(deployed):
    elbv2 = deployed.client("elbv2")
    green = target_group(deployed, "green")
    targets = registered_targets(elbv2, green)

    def tasks_gone(**kwargs):  # the new tasks never register healthy
        elbv2.deregister_targets(TargetGroupArn=green, Targets=targets)
    deployed.aws.hooks.append(("after-call.cloudformation.UpdateStack", tasks_gone))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 4
    line = one_line(result.err)
    assert "green is not fit to serve after 5 s" in line and "no healthy target" in line
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"


def slow_verify(env, seconds: int = 600) -> None:
    """A verify timeout far beyond what an early stop needs, so stopping early shows."""
    text = env.config_path.read_text()
    env.config_path.write_text(text.replace("verify_timeout_seconds = 5",
                                            f"verify_timeout_seconds = {seconds}"))
    assert f"verify_timeout_seconds = {seconds}" in env.config_path.read_text()


def test_fault_14b_idle_colour_with_no_task_stops_verification_at_once(deployed):
    # Scaled to zero by hand right after the update: no task runs or is pending (and their
    # targets are deregistered), so waiting for healthy targets is pointless.
    slow_verify(deployed)
    ecs, elbv2 = deployed.client("ecs"), deployed.client("elbv2")
    service = deployed.outputs("shop-green")["ServiceArn"]
    green = target_group(deployed, "green")
    targets = registered_targets(elbv2, green)

    def scaled_to_zero(**kwargs):
        ecs.update_service(cluster="shop", service=service, desiredCount=0)
        elbv2.deregister_targets(TargetGroupArn=green, Targets=targets)
    deployed.aws.hooks.append(("after-call.cloudformation.UpdateStack", scaled_to_zero))
    clock = VirtualClock()
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 4
    line = one_line(result.err)
    assert "green cannot become fit to serve: its service has no task running or pending" in line
    assert "Production was not touched" in line
    assert clock.time - 1000.0 < 600  # not verify_timeout_seconds
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"


def test_fault_14c_every_target_unhealthy_past_grace_and_threshold_stops_verification(
        deployed):
    # Every target unhealthy for longer than health.grace_period_seconds (30) +
    # health.unhealthy_threshold (2) x health.interval_seconds (5) = 40 s: ECS would replace
    # such tasks (after the grace period it no longer ignores failed health checks), so no
    # verdict is going to turn healthy.
    slow_verify(deployed)
    green = target_group(deployed, "green")

    def unhealthy(parsed):  # DescribeTargetHealth of green as ELB reports a 500
        for description in parsed.get("TargetHealthDescriptions", []):
            description["TargetHealth"] = {
                "State": "unhealthy", "Reason": "Target.ResponseCodeMismatch",
                "Description": "Health checks failed with these codes: [500]"}
    seen = []
    deployed.aws.hooks.append(("before-parameter-build.elastic-load-balancing-v2."
                               "DescribeTargetHealth",
                               lambda params, **kwargs: seen.append(params["TargetGroupArn"])))
    deployed.aws.hooks.append(("after-call.elastic-load-balancing-v2.DescribeTargetHealth",
                               lambda parsed, **kwargs: unhealthy(parsed)
                               if seen and seen[-1] == green else None))
    clock = VirtualClock()
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 4
    line = one_line(result.err)
    assert "green cannot become fit to serve: every target has been unhealthy for" in line
    assert "longer than the grace period plus the unhealthy threshold (40 s)" in line
    assert 40 < clock.time - 1000.0 < 600  # after the limit, long before verify_timeout_seconds
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"


def test_fault_15_smoke_on_test_listener_fails_or_times_out(deployed):
    deployed.test.answer(503)
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 4
    assert "smoke test of green failed" in one_line(result.err) and "503" in result.err
    deployed.test.close()  # nothing answers at all
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 4
    assert "no answer" in one_line(result.err)
    assert set(deployed.requests.updated_stacks()) == {"shop-green"}  # never the ALB stack
    assert "shop-green: no updates to perform" in result.err
    assert deployed.forwards(80) == "blue"


@pytest.mark.parametrize("fault", ["AccessDenied", "5xx"])
def test_fault_16_health_data_unreadable(deployed, monkeypatch, fault):
    clock = VirtualClock()
    botocore_sleeps_on(monkeypatch, clock)

    def unreadable(request, **kwargs):
        if operation_of(request) == "DescribeTargetHealth":
            if fault == "AccessDenied":
                return http_error("AccessDenied", "not allowed", 403)
            return http_error("InternalFailure", "oops", 503)
        return None
    deployed.aws.hooks.append(("before-send.elastic-load-balancing-v2", unreadable))
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 4
    line = one_line(result.err)
    assert "green is not fit to serve" in line and "DescribeTargetHealth" in line
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"


def test_fault_16b_alarm_data_unreadable_refuses_before_any_change(deployed):
    set_alarm(deployed, "shop-5xx", "OK")
    use_alarms(deployed, "shop-5xx")
    deployed.aws.hooks.append(("before-call.cloudwatch.DescribeAlarms",
                               lambda **kwargs: error_response("AccessDenied", "not allowed",
                                                               403)))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 3
    assert "AWS denied DescribeAlarms" in one_line(result.err)
    assert deployed.aws.mutating == []


# --- 17-19: the swap fails or production fails after it (5); alarms --------------------------

def test_fault_17_swap_rolls_back(deployed):
    failing = FailingUpdate(deployed, "shop-elb", "ProductionListener", "Listener update failed",
                            resource_type="AWS::ElasticLoadBalancingV2::Listener")
    deployed.aws.hooks.append(("before-call.cloudformation.*", failing))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 5
    line = one_line(result.err)
    assert "the swap failed and CloudFormation rolled it back" in line
    assert "ProductionListener UPDATE_FAILED: Listener update failed" in line
    assert ":80 is confirmed on blue" in line
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")
    assert deployed.requests.updated_stacks() == ["shop-green", "shop-elb"]
    # both listeners were read again after the failed swap
    after = deployed.requests.seen[[name for name, _ in deployed.requests.seen].index(
        "UpdateStack", 1):]
    read = [set(params["ListenerArns"]) for name, params in after if name == "DescribeListeners"]
    assert {deployed.outputs("shop-elb")[key] for key in ("ProductionListenerArn",
                                                          "TestListenerArn")} in read


def test_fault_18_alarm_fires_after_the_swap(deployed):
    set_alarm(deployed, "shop-5xx", "OK")
    use_alarms(deployed, "shop-5xx")

    after_update_of(deployed, "shop-elb", lambda: deployed.client("cloudwatch").set_alarm_state(
        AlarmName="shop-5xx", StateValue="ALARM", StateReason="5xx after the swap"))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 5
    line = one_line(result.err)
    assert "alarm(s) in ALARM: shop-5xx" in line and ":80 is confirmed back on blue" in line
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")
    swap, back = deployed.requests.of("UpdateStack")[1:]
    # The swap carried the alarm as a CloudFormation rollback trigger (CloudFormation reverts
    # by itself even if stackswap dies). The way back says it has no trigger: an update that
    # omits RollbackConfiguration reuses the stack's saved triggers (UpdateStack API reference,
    # RollbackConfiguration: "To remove all currently specified triggers, specify an empty
    # list"), and the alarm still firing would revert the way back.
    (trigger,) = swap["RollbackConfiguration"]["RollbackTriggers"]
    assert trigger == {"Arn": trigger["Arn"], "Type": "AWS::CloudWatch::Alarm"}
    assert trigger["Arn"].endswith(":alarm:shop-5xx")
    assert back["RollbackConfiguration"] == {"RollbackTriggers": [], "MonitoringTimeInMinutes": 0}


def test_fault_19_alarm_already_in_alarm(deployed):
    set_alarm(deployed, "shop-5xx", "ALARM")
    use_alarms(deployed, "shop-5xx")
    for argv in (["deploy", "--image", "app:v2"], ["swap"]):
        result = deployed.call(*argv)
        assert result.code == 3
        assert "alarm(s) already in ALARM: shop-5xx" in one_line(result.err)
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "blue"


# --- rollback: always possible, and always back to what production ran -------------------------

def test_rollback_goes_ahead_while_an_alarm_fires_and_is_not_watched_by_it(deployed):
    # The alarm fires because v2 is bad: that is when rollback is needed (invariant 9). Its
    # swap states an empty RollbackConfiguration, or CloudFormation would reuse the forward
    # swap's saved trigger and revert the rollback (UpdateStack API reference,
    # RollbackConfiguration: "To remove all currently specified triggers, specify an empty
    # list for this parameter").
    set_alarm(deployed, "shop-5xx", "OK")
    use_alarms(deployed, "shop-5xx")
    assert deployed.call("deploy", "--image", "app:v2").code == 0
    set_alarm(deployed, "shop-5xx", "ALARM")
    for argv in (["rollback", "--dry-run"], ["rollback"]):
        result = deployed.call(*argv)
        assert result.code == 0, result.err
        assert "alarm(s) in ALARM: shop-5xx; going on without rollback triggers" in (
            result.err + result.out)
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")
    forward, back = [p["RollbackConfiguration"] for p in deployed.requests.of("UpdateStack")
                     if p["StackName"] == "shop-elb"]
    assert [t["Arn"].rsplit(":", 1)[1] for t in forward["RollbackTriggers"]] == ["shop-5xx"]
    assert back == {"RollbackTriggers": [], "MonitoringTimeInMinutes": 0}


def test_rollback_after_a_reverted_swap_refuses_to_make_the_bad_release_live(deployed):
    assert deployed.call("deploy", "--image", "app:v2").code == 0  # green live, blue keeps v1
    failing = FailingUpdate(deployed, "shop-elb", "ProductionListener", "Listener update failed",
                            resource_type="AWS::ElasticLoadBalancingV2::Listener")
    deployed.aws.hooks.append(("before-call.cloudformation.*", failing))
    assert deployed.call("deploy", "--image", "app:v3").code == 5  # v3 on blue, never served
    deployed.aws.hooks.remove(("before-call.cloudformation.*", failing))
    deployed.aws.calls.clear()
    result = deployed.call("rollback")
    assert result.code == 3
    assert one_line(result.err).endswith("To put it live anyway: stackswap swap --to blue")
    assert "blue now runs app:v3" in result.err
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "green"
    # The operator's explicit override still works.
    assert deployed.call("swap", "--to", "blue").code == 0
    assert deployed.forwards(80) == "blue"


def test_rollback_before_any_swap_has_nothing_to_go_back_to(deployed):
    result = deployed.call("rollback")
    assert result.code == 3
    assert "nothing to roll back to: no swap has happened yet" in one_line(result.err)
    assert deployed.aws.mutating == []


def test_a_configured_alarm_that_does_not_exist_is_one_line_before_any_change(deployed):
    use_alarms(deployed, "shop-gone")
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 3
    assert "alarm(s) not found in CloudWatch: shop-gone (deploy.alarms)" in one_line(result.err)
    assert deployed.aws.mutating == []


def test_a_composite_alarm_is_a_rollback_trigger_of_type_composite(deployed):
    set_alarm(deployed, "shop-5xx", "OK")
    deployed.client("cloudwatch").put_composite_alarm(AlarmName="shop-slo",
                                                      AlarmRule='ALARM("shop-5xx")')
    use_alarms(deployed, "shop-slo")
    assert deployed.call("deploy", "--image", "app:v2").code == 0
    swap = [p for p in deployed.requests.of("UpdateStack") if p["StackName"] == "shop-elb"][-1]
    (trigger,) = swap["RollbackConfiguration"]["RollbackTriggers"]
    assert trigger["Type"] == "AWS::CloudWatch::CompositeAlarm"
    assert trigger["Arn"].endswith(":alarm:shop-slo")


# --- 20-24: AWS itself misbehaves ------------------------------------------------------------

def test_fault_20_throttling_and_5xx_are_retried(deployed, monkeypatch):
    clock = VirtualClock()
    botocore_sleeps_on(monkeypatch, clock)
    seen: dict[str, int] = {}
    throttled = {"left": 0}

    def flaky(request, **kwargs):
        operation = operation_of(request)
        seen[operation] = seen.get(operation, 0) + 1
        if operation == "UpdateStack" and seen[operation] == 1:
            throttled["left"] = 2 * 6 + 1  # the polls of this update: two fail past retries
            return http_error("InternalFailure", "try again", 503)  # never reached moto
        if operation == "DescribeStackEvents" and throttled["left"] > 0:
            throttled["left"] -= 1
            return http_error("Throttling", "Rate exceeded", 400)
        return None
    deployed.aws.hooks.append(("before-send.cloudformation", flaky))
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 0, result.err
    assert throttled["left"] == 0
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert clock.time > 1000 + 2  # botocore backed off (on the virtual clock)
    # the 503 UpdateStack was retried by botocore with the same request: one call, applied once
    assert deployed.requests.updated_stacks() == ["shop-green", "shop-elb"]
    assert seen["UpdateStack"] == 3


def test_fault_21_credentials_expire_mid_wait(deployed, monkeypatch):
    clock = VirtualClock()
    botocore_sleeps_on(monkeypatch, clock)
    expired = {"now": False}

    def start():
        expired["now"] = True

    def reply(request, **kwargs):
        if expired["now"]:
            json_protocol = b"X-Amz-Target" in b"".join(
                k.encode() if isinstance(k, str) else k for k in request.headers)
            return http_error("ExpiredToken", "The security token included in the request is "
                              "expired", 403, json_protocol=json_protocol)
        return None
    after_update_of(deployed, "shop-green", start)
    deployed.aws.hooks.append(("before-send", reply))
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 7
    line = one_line(result.err)
    assert "lost track of shop-green" in line and "rerun the same command to resume" in line
    assert "CancelUpdateStack" not in deployed.aws.calls
    assert deployed.requests.updated_stacks() == ["shop-green"]
    assert deployed.forwards(80) == "blue"
    # Credentials renewed: the rerun resumes (the lock the dead run left is said to be removed
    # by `stackswap unlock`; the message above told what happened to it).
    expired["now"] = False
    deployed.aws.hooks.clear()
    if lock_exists(deployed):
        assert "stackswap unlock" in result.err
        # The "dead" run is this test process, still alive: only --force removes its lock.
        assert deployed.call("unlock", "--force").code == 0
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert deployed.forwards(80) == "green"


class InterruptedWait(StatusAtStart):
    """The stack's update looks in progress to the run that starts it (moto finishes updates
    at once), and Ctrl-C arrives on the second poll of the wait."""

    def __init__(self, env) -> None:
        super().__init__(env, "shop-green", "UPDATE_COMPLETE")
        self.status, self.waits = None, 0

    def started(self) -> None:
        if self.waits:
            return  # the rerun's own (no-op) update
        self.polls = 6
        self.hide_last_operation()
        self.become("UPDATE_IN_PROGRESS", "User Initiated")

    def on_poll(self) -> None:
        if self.status:
            self.waits += 1
            if self.waits == 2:
                raise KeyboardInterrupt
        super().on_poll()


def test_fault_22_ctrl_c_mid_wait_then_rerun_resumes(deployed):
    script = InterruptedWait(deployed)
    after_update_of(deployed, "shop-green", script.started)
    deployed.aws.hooks.append(("before-call.cloudformation.*", script))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 130
    assert "interrupted by SIGINT while waiting for shop-green; CloudFormation carries on" \
        in result.err
    assert "Rerun the same command to resume" in result.err
    assert "CancelUpdateStack" not in deployed.aws.calls
    assert deployed.forwards(80) == "blue"
    assert not lock_exists(deployed)  # released on the way out
    # The rerun finds the update still in progress, waits for it, verifies, swaps.
    deployed.aws.calls.clear()
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert "waiting for shop-green (UPDATE_IN_PROGRESS)" in result.err
    assert "CancelUpdateStack" not in deployed.aws.calls
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")
    assert deployed.requests.updated_stacks().count("shop-elb") == 1


def test_fault_22_ctrl_c_while_the_update_request_is_answered_names_the_stack(deployed):
    # Ctrl-C while UpdateStack's reply comes in: the update may be running in CloudFormation,
    # and the message must say which stack.
    def interrupt() -> None:
        raise KeyboardInterrupt

    after_update_of(deployed, "shop-green", interrupt)
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 130
    assert ("interrupted by SIGINT while asking CloudFormation to start an operation on "
            "shop-green; it may have started") in result.err
    assert not lock_exists(deployed)
    assert deployed.forwards(80) == "blue"


def test_fault_23_network_lost_while_waiting(deployed, monkeypatch):
    # AWS unreachable mid-wait: poll on (a failed poll says nothing about the stack), saying so
    # at least every 10 s, and give up after deploy.unreachable_timeout_seconds of failures in a
    # row — not after the stack deadline, half an hour away — with exit 7 and the rerun.
    text = deployed.config_path.read_text()
    deployed.config_path.write_text(text.replace(
        "stack_timeout_seconds = 60", "stack_timeout_seconds = 1800\n"
        "unreachable_timeout_seconds = 30"))
    assert "stack_timeout_seconds = 1800" in deployed.config_path.read_text()
    clock = VirtualClock()
    botocore_sleeps_on(monkeypatch, clock)
    down = {"now": False, "tries": 0, "since": 0.0}

    def start():
        down["now"], down["since"] = True, clock.time

    def unplugged(request, **kwargs):
        if down["now"]:
            down["tries"] += 1
            raise botocore.exceptions.EndpointConnectionError(endpoint_url=request.url)
        return None
    after_update_of(deployed, "shop-green", start)
    deployed.aws.hooks.append(("before-send", unplugged))
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 7
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("stackswap: AWS has not answered for ")
    assert "while waiting for shop-green" in line and "rerun the same command" in line
    assert 30 <= clock.time - down["since"] < 120  # the outage bound, not the 1800 s deadline
    progress = [text for text in result.err.splitlines() if "AWS not answering for" in text]
    assert len(progress) >= 2  # one at least every 10 s of the 30
    assert down["tries"] > 6  # botocore retried each poll, and polls went on
    assert deployed.requests.updated_stacks() == ["shop-green"]  # never swapped
    assert deployed.forwards(80) == "blue"


def test_verify_says_what_it_waits_for_at_least_every_10_seconds(deployed):
    # A colour whose targets never become healthy: verify polls until verify_timeout_seconds,
    # and is never silent meanwhile.
    slow_verify(deployed, 45)
    elbv2 = deployed.client("elbv2")
    green = target_group(deployed, "green")
    targets = registered_targets(elbv2, green)
    deployed.aws.hooks.append(("after-call.cloudformation.UpdateStack", lambda **kwargs:
                               elbv2.deregister_targets(TargetGroupArn=green, Targets=targets)))
    result = deployed.call("deploy", "--image", "app:v2", clock=VirtualClock())
    assert result.code == 4
    progress = [line for line in result.err.splitlines() if line.startswith("  verifying green")]
    assert len(progress) >= 4, result.err  # 45 s of verifying: a line every 10 s at least
    assert progress[0].startswith("  verifying green: 2/2 tasks running, 0 healthy, 0 unhealthy "
                                  "targets, waiting for: its target group has no healthy target")


def test_fault_24_request_applied_but_reply_lost(deployed):
    lost = LostReply("UpdateStack", "shop-green").install(deployed.aws)
    result = deployed.call("deploy", "--image", "app:v2")
    assert lost.lost == 1
    assert result.code == 7
    line = one_line(result.err)
    assert "UpdateStack shop-green" in line and "rerun" in line
    assert deployed.parameter("shop-green", "Image") == "app:v2"  # it was applied
    assert deployed.forwards(80) == "blue"
    # The rerun re-reads the state: green already has the image, nothing is applied twice.
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0, result.err
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")
    assert "shop-green: no updates to perform" in result.err
    # Every mutating request carried a ClientRequestToken, and each token is distinct.
    tokens = [p["ClientRequestToken"] for name, p in deployed.requests.seen
              if name in CFN_MUTATING]
    assert tokens and len(set(tokens)) == len(tokens)


# --- 25-28: the world is not as stackswap left it; reruns; concurrency -----------------------

def test_fault_25_production_listener_changed_by_hand(deployed):
    deployed.client("elbv2").modify_listener(
        ListenerArn=listener(deployed, 80),
        DefaultActions=[{"Type": "forward", "TargetGroupArn": target_group(deployed, "green")}])
    for argv in (["deploy", "--image", "app:v2"], ["swap"], ["rollback"]):
        result = deployed.call(*argv)
        assert result.code == 3
        line = one_line(result.err)
        assert "not as stackswap left them" in line
        assert ":80 forwards to green but the ALB stack's LiveColor parameter is blue" in line
    assert deployed.aws.mutating == []
    assert deployed.forwards(80) == "green"  # left as the person set it


@pytest.mark.parametrize("shape", ["unknown", "weighted"])
def test_fault_27_production_forwards_to_unknown_group_or_split(deployed, shape):
    elbv2 = deployed.client("elbv2")
    if shape == "unknown":
        foreign = elbv2.create_target_group(
            Name="someone-else", Protocol="HTTP", Port=80, TargetType="ip",
            VpcId=deployed.parameter("shop-elb", "VpcId"))["TargetGroups"][0]["TargetGroupArn"]
        action = {"Type": "forward", "TargetGroupArn": foreign}
        expected = "unknown target group"
    else:
        action = {"Type": "forward", "ForwardConfig": {"TargetGroups": [
            {"TargetGroupArn": target_group(deployed, "blue"), "Weight": 90},
            {"TargetGroupArn": target_group(deployed, "green"), "Weight": 10}]}}
        expected = "blue (weight 90) + green (weight 10)"
    elbv2.modify_listener(ListenerArn=listener(deployed, 80), DefaultActions=[action])
    for argv in (["deploy", "--image", "app:v2"], ["swap"]):
        result = deployed.call(*argv)
        assert result.code == 3
        line = one_line(result.err)
        assert "not to exactly one of the blue/green target groups" in line
        assert expected in line
    assert deployed.aws.mutating == []


def test_fault_26_rerun_after_success(deployed):
    assert deployed.call("deploy", "--image", "app:v2").code == 0
    deployed.aws.calls.clear()
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 0
    assert "app:v2 is already live on green; nothing to change" in result.out
    assert deployed.aws.mutating == []
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")


def test_fault_28_two_deploys_at_once(deployed):
    second = HookedAws()
    results = []

    def start_second(**kwargs):
        if not results:
            # The first run holds the lock now: the second starts, as from another laptop.
            results.append(invoke(["deploy", "--image", "app:v3", "--config",
                                   str(deployed.config_path)], second))
    deployed.aws.hooks.append(("after-call.ssm.PutParameter", start_second))
    first = deployed.call("deploy", "--image", "app:v2")
    assert first.code == 0, first.err
    (loser,) = results
    assert loser.code == 3
    assert "another stackswap run holds the lock of shop" in one_line(loser.err)
    assert [c for c in second.calls if c in CFN_MUTATING] == []
    assert second.mutating == ["PutParameter"]  # the create-if-absent that lost
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert deployed.parameter("shop-blue", "Image") == "app:v1"
    assert deployed.forwards(80) == "green"
    assert not lock_exists(deployed)


def test_fault_28b_two_deploys_in_threads(deployed):
    hooked = [HookedAws(), HookedAws()]
    barrier = threading.Barrier(2)
    results: list = [None, None]

    def meet(**kwargs):  # both have planned; they race for the lock
        barrier.wait(timeout=30)

    def run(index: int, image: str) -> None:
        # cli.main directly: redirecting sys.stdout is not thread-safe; the codes tell enough
        hooked[index].hooks.append(("before-call.ssm.PutParameter", meet))
        results[index] = cli.main(["deploy", "--image", image, "--config",
                                   str(deployed.config_path)], connect_aws=hooked[index],
                                  clock=VirtualClock())
    threads = [threading.Thread(target=run, args=(i, f"app:v{i + 2}")) for i in (0, 1)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=60)
    assert sorted(results) == [0, 3]
    winner, loser = (hooked[results.index(0)], hooked[results.index(3)])
    assert [c for c in loser.calls if c in CFN_MUTATING] == []
    assert winner.calls.count("UpdateStack") == 2
    assert deployed.forwards(80) == "green"
    assert not lock_exists(deployed)


# --- the lock: never removed from under a live run; a run whose lock was taken stops ------------

def put_lock(env, owner: str, expires_in: float = 3600) -> None:
    env.client("ssm").put_parameter(
        Name="/stackswap/shop/lock", Type="String", Value=json.dumps(
            {"owner": owner, "command": "deploy", "expires": time.time() + expires_in}))


def test_unlock_refuses_a_holder_that_may_be_alive_unless_forced(deployed):
    put_lock(deployed, "ci@runner-7:4242")  # another machine: it cannot be asked
    result = deployed.call("unlock")
    assert result.code == 3
    assert "held by ci@runner-7:4242 (deploy, until" in one_line(result.err)
    assert "stackswap unlock --force" in result.err
    assert lock_exists(deployed)
    forced = deployed.call("unlock", "--force")
    assert forced.code == 0 and "removed the lock of ci@runner-7:4242" in forced.out
    assert not lock_exists(deployed)


def test_unlock_removes_the_lock_of_a_run_that_is_gone_or_expired(deployed):
    finished = subprocess.run([sys.executable, "-c", "import os; print(os.getpid())"],
                              capture_output=True, text=True, check=True)
    put_lock(deployed, f"me@{socket.gethostname()}:{finished.stdout.strip()}")
    assert deployed.call("unlock").code == 0
    assert not lock_exists(deployed)
    put_lock(deployed, "ci@runner-7:4242", expires_in=-1)
    assert deployed.call("unlock").code == 0
    assert not lock_exists(deployed)


@pytest.mark.parametrize("intruder", ["removed", "taken"])
def test_a_run_whose_lock_was_taken_stops_before_its_next_change(deployed, intruder):
    # Someone forces the lock away while the deploy updates green (and, "taken", another run
    # grabs it): the deploy must not swap, and must not claim it changed nothing.
    def take_the_lock() -> None:
        deployed.client("ssm").delete_parameter(Name="/stackswap/shop/lock")
        if intruder == "taken":
            put_lock(deployed, "ops@laptop:77")

    after_update_of(deployed, "shop-green", take_the_lock)
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 7
    line = one_line(result.err)
    who = "is now held by ops@laptop:77 (deploy, until" if intruder == "taken" else "was removed"
    assert f"the deploy lock of shop {who}" in line and "while this run held it" in line
    assert "stopping before the next change (this run had changed shop-green)" in line
    assert deployed.requests.updated_stacks() == ["shop-green"]  # no swap
    assert deployed.forwards(80) == "blue"
    # The intruder's lock is not ours to remove.
    assert lock_exists(deployed) == (intruder == "taken")



def test_a_refusal_after_a_change_never_claims_nothing_changed(deployed):
    # AWS refuses the swap (another client's update of the ALB stack got in between): exit 3
    # would promise "refused before any change", but green was already updated.
    def busy(params, **kwargs):
        if (params.get("body") or {}).get("StackName") == "shop-elb":
            return error_response("ValidationError", "Stack:shop-elb is in UPDATE_IN_PROGRESS "
                                  "state and can not be updated.", 400)
        return None
    deployed.aws.hooks.append(("before-call.cloudformation.UpdateStack", busy))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 7
    line = one_line(result.err)
    assert "AWS refused UpdateStack shop-elb" in line
    assert "after this run had changed shop-green" in line and "rerun" in line
    assert deployed.forwards(80) == "blue"
