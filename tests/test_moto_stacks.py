"""The rendered stacks on a moto server (real boto3 over HTTP): they create, and a
parameter-only update of the ALB stack swaps the two listeners' target groups."""

from __future__ import annotations

from generator.config import COLORS
from sandbox.environment import client
from tests.conftest import forwards, outputs


def test_three_stacks_create_with_their_outputs(stacks):
    config, cfn, alb = stacks
    for stack in (config.alb_stack, *map(config.service_stack, COLORS)):
        (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
    assert set(alb) == {"BlueTargetGroupArn", "GreenTargetGroupArn", "ProductionListenerArn",
                        "TestListenerArn", "LoadBalancerDnsName", "LoadBalancerArn",
                        "LoadBalancerSecurityGroupId", "RollbackRelease"}
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
        cfn.update_stack(
            StackName=config.alb_stack, UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": live}] + [
                {"ParameterKey": key, "UsePreviousValue": True}
                for key in ("VpcId", "Subnets", "TestCidr")])
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
