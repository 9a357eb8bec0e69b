"""The stackswap CLI against a moto server over HTTP, with real boto3 clients."""

from __future__ import annotations

import json

import pytest
from stackswap.generator.policies import alb_stack_policy

from tests.harness import FailingUpdate, Requests


@pytest.fixture
def deployed(env):
    """First run done: both colours on app:v1, blue live."""
    result = env.run("deploy", "--image", "app:v1")
    assert result.code == 0, result
    env.aws.calls.clear()
    return env


def status(env) -> dict:
    result = env.run("status", "--json")
    assert result.code == 0
    return json.loads(result.out)


def test_first_run_creates_the_stacks_with_blue_live(env, capsys):
    result = env.run("deploy", "--image", "app:v1", capsys=capsys)
    assert result.code == 0, result.err
    assert "first run" in result.err
    for stack in ("shop-elb", "shop-blue", "shop-green"):
        assert env.stack(stack)["StackStatus"] == "CREATE_COMPLETE"
        assert env.stack(stack)["EnableTerminationProtection"] is True
    assert env.parameter("shop-blue", "Image") == env.parameter("shop-green", "Image") == "app:v1"
    assert (env.forwards(80), env.forwards(8080)) == ("blue", "green")
    assert "blue is live on production :80 with app:v1" in result.out


def test_deploy_updates_idle_color_then_swaps(deployed):
    result = deployed.run("deploy", "--image", "app:v2")
    assert result.code == 0
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert deployed.parameter("shop-blue", "Image") == "app:v1"
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")
    document = status(deployed)
    assert document["live"] == "green" and document["idle"] == "blue"
    assert document["colors"]["green"]["image"] == "app:v2"
    assert document["colors"]["green"]["healthy_targets"] == 2  # one target per task
    assert document["colors"]["blue"]["stack_status"] == "CREATE_COMPLETE"
    # The live colour's stack was never updated by the deploy.
    assert deployed.aws.calls.count("UpdateStack") == 2  # green's image, then the ALB swap


def test_a_deploy_reads_each_task_definition_revision_once(deployed):
    # A revision cannot be changed, only a new one registered ("To update a task definition,
    # create a task definition revision", ECS Developer Guide), so the plan made before the
    # lock and the one made under it share what they read of each revision; services, whose
    # counts can change any time, are read again.
    requests = Requests().install(deployed.aws)
    assert deployed.run("deploy", "--image", "app:v2").code == 0
    read = [params["taskDefinition"] for params in requests.of("DescribeTaskDefinition")]
    assert len(read) == len(set(read)) >= 2
    assert all(":task-definition/" in arn for arn in read)
    assert len(requests.of("DescribeServices")) > len({arn.rsplit(":", 1)[0] for arn in read})


def test_deploy_into_the_live_color_is_refused_without_any_change(deployed, capsys):
    assert deployed.run("deploy", "--image", "app:v2").code == 0
    deployed.aws.calls.clear()
    result = deployed.run("deploy", "--image", "app:v3", "--color", "green", capsys=capsys)
    assert result.code == 3
    assert "green is the live colour" in result.err
    assert deployed.aws.mutating == []
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert deployed.forwards(80) == "green"


def test_rollback_then_swap(deployed):
    assert deployed.run("deploy", "--image", "app:v2").code == 0
    assert deployed.run("rollback").code == 0
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")
    assert status(deployed)["live"] == "blue"
    assert deployed.run("swap").code == 0
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")


def test_no_swap_keeps_production_and_swap_promotes_later(deployed):
    assert deployed.run("deploy", "--image", "app:v2", "--no-swap").code == 0
    assert deployed.parameter("shop-green", "Image") == "app:v2"
    assert deployed.forwards(80) == "blue"
    assert deployed.run("swap").code == 0
    assert deployed.forwards(80) == "green"


def test_dry_run_prints_the_plan_and_changes_nothing(deployed):
    result = deployed.run("deploy", "--image", "app:v2", "--dry-run")
    assert result.code == 0
    assert "update the green service stack: image app:v1 -> app:v2" in result.out
    assert "swap: production :80 blue -> green, test :8080 green -> blue" in result.out
    assert deployed.aws.mutating == []
    assert deployed.parameter("shop-green", "Image") == "app:v1"


def test_failed_idle_update_stops_before_the_swap(deployed, capsys):
    failing = FailingUpdate(deployed, "shop-green", "Service",
                            "ECS Deployment Circuit Breaker was triggered")
    deployed.aws.hooks.append(("before-call.cloudformation.*", failing))
    result = deployed.run("deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 4
    assert "Service UPDATE_FAILED: ECS Deployment Circuit Breaker was triggered" in result.err
    assert failing.updates == 1
    # The ALB stack was never updated; production is where it was.
    assert deployed.aws.calls.count("UpdateStack") == 1
    assert deployed.forwards(80) == "blue"
    assert deployed.parameter("shop-green", "Image") == "app:v1"


def test_failing_smoke_on_test_listener_blocks_the_swap(deployed, capsys):
    deployed.test.answer(503)
    result = deployed.run("deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 4
    assert "smoke test of green failed" in result.err
    assert deployed.forwards(80) == "blue"
    assert deployed.aws.calls.count("UpdateStack") == 1


def test_failing_production_check_after_swap_swaps_back(deployed, capsys):
    deployed.production.answer(500)
    result = deployed.run("deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 5
    assert ":80 is confirmed back on blue" in result.err
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("blue", "green")


def hold_lock(env, expires_in: float) -> None:
    import json
    import time
    env.client("ssm").put_parameter(
        Name="/stackswap/shop/lock", Type="String",
        Value=json.dumps({"owner": "ci@runner:42", "command": "deploy",
                          "expires": time.time() + expires_in}))


def test_a_second_deploy_refuses_while_another_holds_the_lock(deployed, capsys):
    hold_lock(deployed, 3600)
    result = deployed.run("deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 3
    assert "another stackswap run holds the lock of shop: ci@runner:42 (deploy" in result.err
    assert [c for c in deployed.aws.mutating if c != "PutParameter"] == []
    assert deployed.parameter("shop-green", "Image") == "app:v1"
    # The holder runs on another machine and may be alive: only --force removes its lock.
    assert deployed.run("unlock").code == 3
    unlocked = deployed.run("unlock", "--force")
    assert unlocked.code == 0 and "removed the lock of ci@runner:42" in unlocked.out
    assert deployed.run("deploy", "--image", "app:v2").code == 0


def test_a_rollback_while_a_deploy_holds_the_lock_says_to_stop_that_deploy(deployed, capsys):
    # Waiting (--wait) would wait for the deploy to end, a shift included, so the advice is the
    # one docs/traffic-shifting.md gives: stop that deploy, then roll back.
    assert deployed.run("deploy", "--image", "app:v2").code == 0  # green live, blue to go back to
    capsys.readouterr()
    hold_lock(deployed, 3600)
    deployed.aws.calls.clear()
    result = deployed.run("rollback", capsys=capsys)
    assert result.code == 3
    assert result.err.count("\n") == 1
    assert "holds the lock of shop: ci@runner:42 (deploy" in result.err
    assert "stop that deploy first (Ctrl-C, or cancel its CI job" in result.err
    assert "--wait" not in result.err
    assert [c for c in deployed.aws.mutating if c != "PutParameter"] == []
    assert deployed.forwards(80) == "green"


def test_an_expired_lock_is_taken_over_and_every_run_releases_its_own(deployed):
    hold_lock(deployed, -1)
    assert deployed.run("deploy", "--image", "app:v2").code == 0
    ssm = deployed.client("ssm")
    assert ssm.describe_parameters()["Parameters"] == []


def test_an_alarm_already_firing_blocks_the_deploy(deployed, capsys):
    cloudwatch = deployed.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName="shop-5xx", MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName="shop-5xx", StateValue="ALARM", StateReason="test")
    text = deployed.config_path.read_text().replace("[deploy]", '[deploy]\nalarms = ["shop-5xx"]')
    deployed.config_path.write_text(text)
    result = deployed.run("deploy", "--image", "app:v2", capsys=capsys)
    assert result.code == 3
    assert "alarm(s) already in ALARM: shop-5xx" in result.err
    assert deployed.aws.calls.count("UpdateStack") == 0


def test_first_run_protects_the_alb_stack_and_passes_the_service_role(env):
    role = "arn:aws:iam::123456789012:role/shop-deploy-role-CloudFormationRole-X"
    env.config_path.write_text(env.config_path.read_text() +
                               f'\n[deploy_role]\ncloudformation_role_arn = "{role}"\n')
    assert env.run("deploy", "--image", "app:v1").code == 0
    assert env.run("deploy", "--image", "app:v2").code == 0
    for stack in ("shop-elb", "shop-blue", "shop-green"):
        assert env.stack(stack)["RoleARN"] == role
    policy = json.loads(env.client("cloudformation").get_stack_policy(
        StackName="shop-elb")["StackPolicyBody"])
    # The policy the stack carries is the one rendered (tests/test_deploy_role.py checks what
    # it allows: in-place modification, never replacement or deletion).
    assert policy == alb_stack_policy()


def test_rollback_to_a_color_is_safe_to_rerun(deployed):
    assert deployed.run("deploy", "--image", "app:v2").code == 0
    assert deployed.run("rollback", "--to", "blue").code == 0
    deployed.aws.calls.clear()
    rerun = deployed.run("rollback", "--to", "blue")
    assert rerun.code == 0 and "blue is already live; nothing to change" in rerun.out
    assert [c for c in deployed.aws.mutating if c in ("UpdateStack", "CreateStack")] == []
    assert deployed.forwards(80) == "blue"


def toml_value(value) -> str:
    """A TOML value (inline) for the config writer: strings, numbers, booleans, lists, tables."""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return str(value)
    if isinstance(value, str):
        return json.dumps(value)
    if isinstance(value, list):
        return "[" + ", ".join(toml_value(item) for item in value) + "]"
    return "{ " + ", ".join(f"{json.dumps(k)} = {toml_value(v)}" for k, v in value.items()) + " }"


def test_the_full_task_definition_and_autoscaling_deploy_and_show(env, capsys):
    # Every task-definition key and autoscaling with both targets, through CloudFormation on
    # the moto server: the task definition ECS registers carries them, each colour has its
    # scalable target and policies, and `status` shows names and bounds.
    from tests.template_data import FULL_SERVICE

    full = {key: value for key, value in FULL_SERVICE.items()
            if key not in ("cpu_architecture", "ephemeral_storage_gib")} | {
        "cpu_architecture": "ARM64", "ephemeral_storage_gib": 40}
    text = env.config_path.read_text().replace("[service]\n", "[service]\n" + "".join(
        f"{key} = {toml_value(value)}\n" for key, value in full.items()))
    env.config_path.write_text(text)
    result = env.run("deploy", "--image", "app:v1", capsys=capsys)
    assert result.code == 0, result.err
    ecs = env.client("ecs")
    arn = env.outputs("shop-blue")["TaskDefinitionArn"]
    task = ecs.describe_task_definition(taskDefinition=arn)["taskDefinition"]
    app, otel = task["containerDefinitions"]
    assert {e["name"] for e in app["environment"]} == {"FEATURE_X", "LOG_LEVEL"}
    assert {s["name"] for s in app["secrets"]} == {"API_TOKEN", "DATABASE_URL"}
    assert otel["name"] == "otel" and otel["dependsOn"] == [
        {"containerName": "app", "condition": "HEALTHY"}]
    scaling = env.client("application-autoscaling")
    targets = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert sorted((t["MinCapacity"], t["MaxCapacity"]) for t in targets) == [(2, 10), (2, 10)]
    policies = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert sorted(p["PolicyName"] for p in policies) == [
        "shop-blue-cpu", "shop-blue-requests", "shop-green-cpu", "shop-green-requests"]
    # The same image again: the live colour matches the config, nothing to change.
    again = env.run("deploy", "--image", "app:v1", capsys=capsys)
    assert again.code == 0 and "nothing to change" in again.err, again.err
    document = status(env)
    blue = document["colors"]["blue"]
    assert blue["environment"] == ["FEATURE_X", "LOG_LEVEL"]
    assert blue["secrets"] == ["API_TOKEN", "DATABASE_URL"]
    assert blue["autoscaling"] == {"min": 2, "max": 10, "suspended": False}
    assert blue["sidecars"][0]["name"] == "otel"
