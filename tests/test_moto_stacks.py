"""The rendered stacks on a moto server (real boto3 over HTTP): they create, and a
parameter-only update of the ALB stack swaps the two listeners' target groups."""

from __future__ import annotations

import pytest

from generator.config import COLORS, load_config
from generator.render import alb_stack_body, service_stack_body
from sandbox.environment import client


def params(**values: str) -> list[dict]:
    return [{"ParameterKey": k, "ParameterValue": v} for k, v in values.items()]


def outputs(cfn, stack: str) -> dict:
    (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    return {o["OutputKey"]: o["OutputValue"] for o in described.get("Outputs", [])}


def forwards(elbv2, listener_arn: str) -> str:
    (listener,) = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"]
    (action,) = listener["DefaultActions"]
    return action["TargetGroupArn"]


@pytest.fixture
def stacks(aws):
    config = load_config(aws.config_path)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    subnets = ",".join(aws.ids["subnets"])
    cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                     Parameters=params(VpcId=aws.ids["vpc_id"], Subnets=subnets,
                                       TestCidr="127.0.0.0/8", LiveColor="blue"))
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


def test_three_stacks_create_with_their_outputs(stacks):
    config, cfn, alb = stacks
    for stack in (config.alb_stack, *map(config.service_stack, COLORS)):
        (described,) = cfn.describe_stacks(StackName=stack)["Stacks"]
        assert described["StackStatus"] == "CREATE_COMPLETE"
    assert set(alb) == {"BlueTargetGroupArn", "GreenTargetGroupArn", "ProductionListenerArn",
                        "TestListenerArn", "LoadBalancerDnsName", "LoadBalancerArn",
                        "LoadBalancerSecurityGroupId"}
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    families = set()
    for color in COLORS:
        service_arn = outputs(cfn, config.service_stack(color))["ServiceArn"]
        (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
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
