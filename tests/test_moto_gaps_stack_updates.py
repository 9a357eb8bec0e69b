"""Pins gap 1 (sandbox/moto_gaps/stack_updates.py): with plain moto a stack update re-applies only
what changed textually; the second pin holds gap 2 (ecs_services.py) too: the service updated
through CloudFormation keeps its old task definition. When a pin fails after a moto upgrade, moto
fixed that gap: drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client

from tests.conftest import outputs
from tests.harness import forwards


def test_gap_1_moto_ignores_fn_if_on_parameter_only_update(stacks, plain_moto):
    config, cfn, alb = stacks
    elbv2 = client("elbv2", cfn.meta.endpoint_url, cfn.meta.region_name)
    cfn.update_stack(StackName=config.alb_stack, UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": "green"}] + [
                         {"ParameterKey": k, "UsePreviousValue": True}
                         for k in ("VpcId", "Subnets", "TestCidr")])
    # Real CloudFormation would now forward :80 to green.
    assert forwards(elbv2, alb["ProductionListenerArn"]) == alb["BlueTargetGroupArn"]


def test_gap_1_and_2_service_keeps_old_task_definition(stacks, plain_moto):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, stack)["ServiceArn"]
    before = ecs.describe_services(cluster=config.cluster, services=[service_arn])
    cfn.update_stack(StackName=stack, UsePreviousTemplate=True, Capabilities=["CAPABILITY_IAM"],
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v2"}] + [
                         {"ParameterKey": k, "UsePreviousValue": True}
                         for k in ("Cluster", "DesiredCount", "TargetGroupArn", "VpcId",
                                   "Subnets", "LoadBalancerSecurityGroupId")])
    after = ecs.describe_services(cluster=config.cluster, services=[service_arn])
    assert after["services"][0]["taskDefinition"] == before["services"][0]["taskDefinition"]
    assert outputs(cfn, stack)["TaskDefinitionArn"] != after["services"][0]["taskDefinition"]
