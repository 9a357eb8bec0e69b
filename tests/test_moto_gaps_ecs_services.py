"""Pins gaps 5, 6 and 26 (sandbox/moto_gaps/ecs_services.py): with plain moto an ECS service
made through CloudFormation has no load balancers, outlives its stack, and reports the launch
type EC2 whatever its template says. Gap 2 is pinned with gap 1
(tests/test_moto_gaps_stack_updates.py). When a pin fails after a moto upgrade, moto fixed that gap:
drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client

from tests.conftest import outputs


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


def test_gap_27_cloudformation_fargate_service_reports_ec2(plain_moto, stacks):
    # "launchType: The launch type the service is using" (Amazon ECS API Reference, Service:
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_Service.html); the stack's
    # service is LaunchType FARGATE.
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    service_arn = outputs(cfn, config.service_stack("blue"))["ServiceArn"]
    (service,) = ecs.describe_services(cluster=config.cluster, services=[service_arn])["services"]
    assert config.service.launch_type == "FARGATE"
    assert service["launchType"] == "EC2"
