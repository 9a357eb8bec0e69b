"""Pins each moto gap that sandbox/moto_gaps.py covers: with plain moto the gap is still there.
When one of these fails after a moto upgrade, moto fixed the gap: drop its fix."""

from __future__ import annotations

import pytest
from moto.cloudformation.responses import CloudFormationResponse

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


def _ip_target_group(aws) -> str:
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    return elbv2.create_target_group(Name="pins", Protocol="HTTP", Port=8000, TargetType="ip",
                                     VpcId=aws.ids["vpc_id"])["TargetGroups"][0]["TargetGroupArn"]


def test_gap_4_targets_on_one_ip_overwrite_each_other(aws, plain_moto):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 40001},
                                                          {"Id": "127.0.0.1", "Port": 40002}])
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    # Real ELBv2 identifies a target by Id and Port: it would list both.
    assert [d["Target"]["Port"] for d in described] == [40002]


def test_gap_5_cloudformation_service_has_no_load_balancers(plain_moto, stacks):
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
    assert service["loadBalancers"] == []


def test_gap_6_deleted_stack_leaves_its_service_active(plain_moto, stacks):
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    cfn.delete_stack(StackName=config.service_stack("blue"))
    (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
    assert service["status"] == "ACTIVE"


# Gaps 8-10 are filled by the sandbox's emulators (sandbox/stack_operations.py,
# sandbox/target_health.py, sandbox/data_plane.py), which moto_gaps wires into moto.


def test_gap_8_stack_operations_complete_inside_the_call(plain_moto, stacks):
    config, cfn, _ = stacks
    (described,) = cfn.describe_stacks(StackName=config.service_stack("blue"))["Stacks"]
    assert described["StackStatus"] == "CREATE_COMPLETE"  # real: CREATE_IN_PROGRESS for minutes


def test_gap_9_cancel_update_stack_is_not_implemented(plain_moto):
    # Over HTTP moto answers a 500 page ("The cancel_update_stack action has not been
    # implemented") that botocore cannot even parse.
    assert not hasattr(CloudFormationResponse, "cancel_update_stack")


def test_gap_10_registered_targets_are_healthy_at_once_and_services_run_no_tasks(plain_moto,
                                                                                stacks, aws):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 9}])
    (described,) = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert described["TargetHealth"]["State"] == "healthy"  # nothing listens on port 9
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert ecs.list_tasks(cluster=config.cluster)["taskArns"] == []


def same_parameters(before: dict, subnets: tuple[str, ...]) -> list[dict]:
    """Every parameter unchanged, the subnet list sent as its value (as stackswap sends it)."""
    return [{"ParameterKey": p["ParameterKey"], "ParameterValue": ",".join(subnets)}
            if p["ParameterKey"] == "Subnets" else
            {"ParameterKey": p["ParameterKey"], "UsePreviousValue": True}
            for p in before["Parameters"]]


def test_gap_7_an_update_that_changes_nothing_runs_anyway(stacks, plain_moto):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    (before,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    cfn.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                     Parameters=same_parameters(before, config.network.subnets))
    # Real CloudFormation refuses: ValidationError "No updates are to be performed."
    (after,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert after["StackStatus"] == "UPDATE_COMPLETE"


def test_an_update_that_changes_nothing_is_refused_with_the_fix(stacks):
    config, cfn, _ = stacks
    stack = config.service_stack("green")
    (before,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    body = cfn.get_template(StackName=stack)["TemplateBody"]
    with pytest.raises(cfn.exceptions.ClientError, match="No updates are to be performed"):
        cfn.update_stack(StackName=stack, TemplateBody=body, Capabilities=["CAPABILITY_IAM"],
                         Parameters=same_parameters(before, config.network.subnets))


def _moto_attributes() -> dict[str, object]:
    return {name: owner.__dict__.get(attribute)
            for name, (owner, attribute, _) in moto_gaps._patches().items()}


def test_install_patches_each_attribute_once_and_uninstall_restores_moto(plain_moto):
    plain = _moto_attributes()
    moto_gaps.install()
    patched = _moto_attributes()
    assert all(patched[name] is not plain[name] for name in plain)
    moto_gaps.install(stack_operations=object(), target_health=object())  # hooks only
    assert _moto_attributes() == patched
    moto_gaps.uninstall()
    assert _moto_attributes() == plain
