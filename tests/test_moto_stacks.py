"""The rendered stacks on a moto server (real boto3 over HTTP): they create, and a
parameter-only update of the ALB stack swaps the two listeners' (or, in host mode, the production
listener's and the test rule's) target groups."""

from __future__ import annotations

from stackswap.environment.names import COLORS
from stackswap.generator.render import alb_stack_body
from stackswap.sandbox.environment import client

from tests import template_data as templates
from tests.conftest import outputs, params
from tests.harness import forwards


def set_live_color(cfn, alb_stack: str, live: str) -> None:
    """A swap by hand: the ALB stack's previous template with only LiveColor changed."""
    cfn.update_stack(
        StackName=alb_stack, UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": live}] + [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in ("VpcId", "Subnets", "TestCidr")])


def test_three_stacks_create_with_their_outputs(stacks):
    config, cfn, alb = stacks
    for stack in (config.alb_stack, *map(config.service_stack, COLORS)):
        (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
    assert set(alb) == {"BlueTargetGroupArn", "GreenTargetGroupArn", "ProductionListenerArn",
                        "TestListenerArn", "LoadBalancerDnsName", "LoadBalancerArn",
                        "LoadBalancerSecurityGroupId", "RollbackRelease", "TrafficShift"}
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    families = set()
    for color in COLORS:
        service_arn = outputs(cfn, config.service_stack(color))["ServiceArn"]
        described = ecs.describe_services(cluster=config.cluster, services=[service_arn])
        (service,) = described["services"]
        task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])
        families.add(task["taskDefinition"]["family"])
    assert families == {config.family}


def test_parameter_only_update_swaps_the_listeners(stacks):
    config, cfn, alb = stacks
    elbv2 = client("elbv2", cfn.meta.endpoint_url, cfn.meta.region_name)
    blue, green = alb["BlueTargetGroupArn"], alb["GreenTargetGroupArn"]
    production, test = alb["ProductionListenerArn"], alb["TestListenerArn"]
    assert (forwards(elbv2, production), forwards(elbv2, test)) == (blue, green)

    for live, expected in (("green", (green, blue)), ("blue", (blue, green))):
        set_live_color(cfn, config.alb_stack, live)
        assert (forwards(elbv2, production), forwards(elbv2, test)) == expected
        # Nothing else moved: same listeners, same target groups.
        assert outputs(cfn, config.alb_stack) == alb


def test_image_update_reaches_the_service(stacks):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    cfn.update_stack(StackName=stack, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v2"}] + [
                         {"ParameterKey": key, "UsePreviousValue": True}
                         for key in ("Cluster", "DesiredCount", "TargetGroupArn", "VpcId",
                                     "Subnets", "LoadBalancerSecurityGroupId")])
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    (service,) = ecs.describe_services(cluster=config.cluster,
                                       services=[outputs(cfn, stack)["ServiceArn"]])["services"]
    task = ecs.describe_task_definition(taskDefinition=service["taskDefinition"])["taskDefinition"]
    assert [c["image"] for c in task["containerDefinitions"]] == ["app:v2"]


def rule_forwards(elbv2, rule_arn: str) -> str:
    (rule,) = elbv2.describe_rules(RuleArns=[rule_arn])["Rules"]
    (action,) = rule["Actions"]
    return action["TargetGroupArn"]


def test_host_mode_swap_flips_the_default_action_and_the_test_rule_only(aws):
    # Host mode on the moto server: the rules exist with their conditions, and one
    # parameter-only update moves the production listener and the test rule together while the
    # refusal rule stays a 403 for the test host from anywhere else.
    config = templates.mode_config("http-host")
    cfn = client("cloudformation", aws.endpoint, aws.region)
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                     Parameters=params(VpcId=aws.ids["vpc_id"], Subnets=",".join(
                         aws.ids["subnets"]), TestCidr="203.0.113.0/24", LiveColor="blue"))
    alb = outputs(cfn, config.alb_stack)
    blue, green = alb["BlueTargetGroupArn"], alb["GreenTargetGroupArn"]
    production, test_rule = alb["ProductionListenerArn"], alb["TestRuleArn"]
    rules = elbv2.describe_rules(ListenerArn=production)["Rules"]
    by_priority = {rule["Priority"]: rule for rule in rules}
    assert set(by_priority) == {"1", "2", "default"}
    assert by_priority["1"]["RuleArn"] == test_rule
    assert sorted(c["Field"] for c in by_priority["1"]["Conditions"]) == [
        "host-header", "source-ip"]
    refusal = by_priority["2"]
    assert [c["Field"] for c in refusal["Conditions"]] == ["host-header"]
    assert refusal["Actions"][0]["FixedResponseConfig"]["StatusCode"] == "403"

    for live, expected in (("green", (green, blue)), ("blue", (blue, green))):
        set_live_color(cfn, config.alb_stack, live)
        assert (forwards(elbv2, production), rule_forwards(elbv2, test_rule)) == expected
        (after,) = [r for r in elbv2.describe_rules(ListenerArn=production)["Rules"]
                    if r["Priority"] == "2"]
        assert after == refusal
        assert outputs(cfn, config.alb_stack) == alb
