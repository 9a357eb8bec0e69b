"""Pins gaps 3 and 24 (sandbox/moto_gaps/task_definitions.py): with plain moto a task definition
made or replaced through CloudFormation loses what the template gave it; and shows the fix keeps it.
When a pin fails after a moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client

from tests.conftest import outputs


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


def _task_platform(aws) -> dict:
    import json

    cfn = client("cloudformation", aws.endpoint, aws.region)
    ecs = client("ecs", aws.endpoint, aws.region)
    cfn.create_stack(StackName="gap24", TemplateBody=json.dumps({"Resources": {"Task": {
        "Type": "AWS::ECS::TaskDefinition", "Properties": {
            "Family": "gap24", "Cpu": "256", "Memory": "512", "NetworkMode": "awsvpc",
            "RequiresCompatibilities": ["FARGATE"],
            "TaskRoleArn": "arn:aws:iam::123456789012:role/task",
            "RuntimePlatform": {"CpuArchitecture": "ARM64", "OperatingSystemFamily": "LINUX"},
            "EphemeralStorage": {"SizeInGiB": 40},
            "ContainerDefinitions": [{"Name": "app", "Image": "app:v1"}]}}}}))
    task = ecs.describe_task_definition(taskDefinition="gap24")["taskDefinition"]
    return {key: task.get(key) for key in ("runtimePlatform", "ephemeralStorage", "taskRoleArn",
                                           "cpu")}


def test_gap_24_task_definition_loses_its_task_level_properties(aws, plain_moto):
    assert _task_platform(aws) == {"runtimePlatform": None, "ephemeralStorage": None,
                                   "taskRoleArn": None, "cpu": None}


def test_task_definition_keeps_them_with_the_fix(aws):
    assert _task_platform(aws) == {
        "runtimePlatform": {"cpuArchitecture": "ARM64", "operatingSystemFamily": "LINUX"},
        "ephemeralStorage": {"sizeInGiB": 40},
        "taskRoleArn": "arn:aws:iam::123456789012:role/task", "cpu": "256"}
