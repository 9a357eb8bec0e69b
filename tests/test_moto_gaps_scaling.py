"""Pins gaps 22, 23 and 26 (sandbox/moto_gaps/scaling.py): plain moto's CloudFormation skips
Application Auto Scaling's resources, the service answers as a web page, and RegisterScalableTarget
leaves the capacity outside the range it registers; and shows the fixes. When a pin fails after a
moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client

from tests.conftest import outputs, stack_error


def _scaling_resources(cluster: str, service_arn: str, minimum: int = 2) -> dict:
    return {
        "Target": {"Type": "AWS::ApplicationAutoScaling::ScalableTarget", "Properties": {
            "ServiceNamespace": "ecs", "ScalableDimension": "ecs:service:DesiredCount",
            "ResourceId": f"service/{cluster}/{service_arn.rsplit('/', 1)[1]}",
            "MinCapacity": minimum, "MaxCapacity": 6}},
        "Cpu": {"Type": "AWS::ApplicationAutoScaling::ScalingPolicy", "Properties": {
            "PolicyName": "cpu", "PolicyType": "TargetTrackingScaling",
            "ScalingTargetId": {"Ref": "Target"},
            "TargetTrackingScalingPolicyConfiguration": {
                "TargetValue": 60.0, "PredefinedMetricSpecification": {
                    "PredefinedMetricType": "ECSServiceAverageCPUUtilization"}}}},
    }


def test_gap_22_scalable_targets_and_policies_are_not_created(stacks, plain_moto):
    config, cfn, _ = stacks
    service = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    scaling = client("application-autoscaling", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert stack_error(cfn, "gap22", _scaling_resources(config.cluster, service)) is None
    # Real CloudFormation registers the target and puts the policy.
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def test_scalable_targets_and_policies_with_the_fix(stacks):
    import json

    config, cfn, _ = stacks
    service = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    scaling = client("application-autoscaling", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert stack_error(cfn, "fixed", _scaling_resources(config.cluster, service)) is None
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert (target["MinCapacity"], target["MaxCapacity"]) == (2, 6)
    (policy,) = scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"]
    assert policy["PolicyName"] == "cpu" and policy["ResourceId"] == target["ResourceId"]
    # An update of MinCapacity updates the target in place (RegisterScalableTarget).
    cfn.update_stack(StackName="fixed", TemplateBody=json.dumps(
        {"Resources": _scaling_resources(config.cluster, service, minimum=4)}))
    (target,) = scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"]
    assert target["MinCapacity"] == 4
    cfn.delete_stack(StackName="fixed")
    assert scaling.describe_scalable_targets(ServiceNamespace="ecs")["ScalableTargets"] == []
    assert scaling.describe_scaling_policies(ServiceNamespace="ecs")["ScalingPolicies"] == []


def _scaling_media_type(aws) -> str:
    scaling = client("application-autoscaling", aws.endpoint, aws.region)
    answer = scaling.describe_scalable_targets(ServiceNamespace="ecs")
    return answer["ResponseMetadata"]["HTTPHeaders"]["content-type"].split(";")[0]


def test_gap_23_application_auto_scaling_answers_as_a_web_page(aws, plain_moto):
    assert _scaling_media_type(aws) == "text/html"  # real: application/x-amz-json-1.1


def test_application_auto_scaling_answers_as_json_with_the_fix(aws):
    assert _scaling_media_type(aws) == "application/x-amz-json-1.1"


def _desired_after_registering(stacks, *ranges: tuple[int, int]) -> list[int]:
    """The blue service's desired count (2 at first) after each RegisterScalableTarget of a
    (MinCapacity, MaxCapacity) range, in order."""
    config, cfn, _ = stacks
    service = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    scaling = client("application-autoscaling", cfn.meta.endpoint_url, cfn.meta.region_name)
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    seen = []
    for low, high in ranges:
        scaling.register_scalable_target(
            ServiceNamespace="ecs", ScalableDimension="ecs:service:DesiredCount",
            ResourceId=f"service/{config.cluster}/{service.rsplit('/', 1)[1]}",
            MinCapacity=low, MaxCapacity=high)
        (described,) = ecs.describe_services(cluster=config.cluster, services=[service])["services"]
        seen.append(described["desiredCount"])
    return seen


# RegisterScalableTarget, Application Auto Scaling API reference
# (https://docs.aws.amazon.com/autoscaling/application/APIReference/API_RegisterScalableTarget.html):
# "If the specified resource is not active in the target service, this operation does not change
# the resource's current capacity. Otherwise, it changes the resource's current capacity to a
# value that is inside of this range." And the User Guide's concepts
# (https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html): "anytime
# a scaling policy is invoked or the RegisterScalableTarget API is called, Application Auto Scaling
# retrieves the current capacity and compares it to the minimum and maximum capacity. If it falls
# outside of the minimum-maximum range, then the capacity is updated to comply with the set
# minimum and maximum."

def test_gap_26_register_scalable_target_leaves_the_capacity_out_of_range(stacks, plain_moto):
    assert _desired_after_registering(stacks, (4, 6), (1, 1)) == [2, 2]


def test_register_scalable_target_clamps_the_capacity_with_the_fix(stacks):
    # raised to a MinCapacity above it, lowered to a MaxCapacity below it, kept when inside
    assert _desired_after_registering(stacks, (4, 6), (1, 3), (1, 5)) == [4, 3, 3]
