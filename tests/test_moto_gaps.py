"""Pins each moto gap that sandbox/moto_gaps.py covers: with plain moto the gap is still there.
When one of these fails after a moto upgrade, moto fixed the gap: drop its fix."""

from __future__ import annotations

import pytest

from sandbox import moto_gaps
from sandbox.environment import client
from tests.conftest import forwards, outputs


@pytest.fixture
def plain_moto():
    moto_gaps.uninstall()
    yield
    moto_gaps.install()


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


def test_gap_3_replaced_task_definition_loses_its_image(aws, plain_moto):
    ecs = client("ecs", aws.endpoint, aws.region)
    cfn = client("cloudformation", aws.endpoint, aws.region)
    template = """
Parameters: {Image: {Type: String}}
Resources:
  Task:
    Type: AWS::ECS::TaskDefinition
    Properties:
      Family: gap3
      ContainerDefinitions: [{Name: app, Image: !Ref Image, Memory: 128}]
Outputs: {Arn: {Value: !Ref Task}}
"""
    cfn.create_stack(StackName="gap3", TemplateBody=template,
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v1"}])
    cfn.update_stack(StackName="gap3", UsePreviousTemplate=True,
                     Parameters=[{"ParameterKey": "Image", "ParameterValue": "app:v2"}])
    task = ecs.describe_task_definition(taskDefinition=outputs(cfn, "gap3")["Arn"])
    assert "image" not in task["taskDefinition"]["containerDefinitions"][0]
