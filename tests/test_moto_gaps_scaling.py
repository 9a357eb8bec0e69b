"""Pins gaps 22 and 23 (sandbox/moto_gaps/scaling.py): plain moto's CloudFormation skips Application
Auto Scaling's resources, and the service answers as a web page; and shows the fixes. When a pin
fails after a moto upgrade, moto fixed that gap: drop its fix."""

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
