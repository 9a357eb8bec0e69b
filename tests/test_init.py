"""`stackswap init`: the commented example, or a config read from an ECS service made through
the moto server (real boto3 clients over HTTP), which stackswap then loads."""

from __future__ import annotations

import pytest
from stackswap.environment.load import load_config
from stackswap.sandbox.environment import client

from tests.conftest import REPO, outputs
from tests.harness import HookedAws, invoke


@pytest.fixture
def running_service(aws) -> dict:
    """A Fargate service behind an ALB target group, made as a team would have made it."""
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    ecs = client("ecs", aws.endpoint, aws.region)
    balancer = elbv2.create_load_balancer(Name="web-alb", Subnets=aws.ids["subnets"],
                                          Scheme="internet-facing", Type="application")
    balancer_arn = balancer["LoadBalancers"][0]["LoadBalancerArn"]
    group_arn = elbv2.create_target_group(
        Name="web", Protocol="HTTP", Port=8080, VpcId=aws.ids["vpc_id"], TargetType="ip",
        HealthCheckPath="/ready", HealthCheckIntervalSeconds=15, HealthCheckTimeoutSeconds=5,
        HealthyThresholdCount=3, UnhealthyThresholdCount=4)["TargetGroups"][0]["TargetGroupArn"]
    elbv2.modify_target_group_attributes(TargetGroupArn=group_arn, Attributes=[
        {"Key": "deregistration_delay.timeout_seconds", "Value": "45"}])
    elbv2.create_listener(LoadBalancerArn=balancer_arn, Protocol="HTTP", Port=80,
                          DefaultActions=[{"Type": "forward", "TargetGroupArn": group_arn}])
    ecs.register_task_definition(
        family="web", cpu="512", memory="1024", networkMode="awsvpc",
        requiresCompatibilities=["FARGATE"], containerDefinitions=[{
            "name": "web", "image": "nginx:1.27", "portMappings": [{"containerPort": 8080}],
            "environment": [{"name": "LOG_LEVEL", "value": "verbose-42"},
                            {"name": "FEATURE_X", "value": "on"}],
            "secrets": [{"name": "DB_PASSWORD",
                         "valueFrom": "arn:aws:ssm:eu-west-1:123456789012:parameter/db-pw"}]}])
    group = client("ec2", aws.endpoint, aws.region).create_security_group(
        GroupName="web-tasks", Description="web tasks", VpcId=aws.ids["vpc_id"])["GroupId"]
    ecs.create_service(
        cluster=aws.ids["cluster"], serviceName="web-frontend", taskDefinition="web",
        desiredCount=3, launchType="FARGATE", healthCheckGracePeriodSeconds=60,
        networkConfiguration={"awsvpcConfiguration": {
            "subnets": aws.ids["subnets"], "securityGroups": [group],
            "assignPublicIp": "DISABLED"}},
        loadBalancers=[{"targetGroupArn": group_arn, "containerName": "web",
                        "containerPort": 8080}])
    return aws.ids


def test_from_service_writes_a_config_stackswap_loads(aws, running_service, tmp_path):
    # What DescribeServices answers for a service behind a load balancer: "loadBalancers":
    # [{"targetGroupArn", "containerName", "containerPort"}] ("ContainerPort: The port on the
    # container to associate with the load balancer", ECS API reference).
    target = tmp_path / "web.toml"
    result = invoke(["init", "--from-service", f"{aws.ids['cluster']}/web-frontend",
                     "--config", str(target)], HookedAws())
    assert result.code == 0, result
    assert result.out.startswith(f"wrote {target} (read from shop/web-frontend;")
    config = load_config(target)
    assert (config.name, config.region, config.cluster) == ("web-frontend", "eu-west-1", "shop")
    assert config.network.vpc_id == aws.ids["vpc_id"]
    assert sorted(config.network.alb_subnets) == sorted(aws.ids["subnets"])
    assert config.network.scheme == "internet-facing" and config.network.assign_public_ip is False
    service = config.service
    assert (service.container_name, service.container_port, service.desired_count,
            service.launch_type, service.cpu, service.memory) == ("web", 8080, 3, "FARGATE",
                                                                  512, 1024)
    health = config.health
    assert (health.path, health.interval_seconds, health.timeout_seconds,
            health.healthy_threshold, health.unhealthy_threshold,
            health.deregistration_delay_seconds) == ("/ready", 15, 5, 3, 4, 45)
    text = target.read_text()
    # moto 5 keeps no healthCheckGracePeriodSeconds (its DescribeServices leaves it out), so
    # here the config says it could not be read rather than inventing one
    assert "health.grace_period_seconds: the service reports no health-check grace period" \
        in text
    # environment and secret NAMES in a comment, never their values
    assert "environment variables FEATURE_X, LOG_LEVEL and secrets DB_PASSWORD" in " ".join(
        line.removeprefix("#").strip() for line in text.splitlines())
    assert "verbose-42" not in text and "parameter/db-pw" not in text
    # what it could not infer is said, with the placeholder marked
    assert "# NOT INFERRED" in text
    assert 'test_cidr = "203.0.113.10/32"' in text and "NOT INFERRED (placeholder)" in text
    assert 'path = "/ready"' in text and "# target group web" in text


def test_init_never_overwrites_without_force(aws, running_service, tmp_path):
    target = tmp_path / "stackswap.toml"
    target.write_text("# mine\n")
    result = invoke(["init", "--config", str(target)], HookedAws())
    assert result.code == 3, result
    assert result.err == f"stackswap: {target} exists; not overwriting it (--force to replace " \
                         f"it)\n"
    assert target.read_text() == "# mine\n"
    result = invoke(["init", "--config", str(target), "--force"], HookedAws())
    assert result.code == 0, result
    # `init` alone: the commented example, as shipped
    assert target.read_text() == (REPO / "stackswap.example.toml").read_text()


def test_from_a_service_that_is_not_there_one_line_and_no_file(aws, tmp_path):
    target = tmp_path / "x.toml"
    hooked = HookedAws()
    for argv, code, message in (
            (["--from-service", "shop/nope"], 2,
             "no active ECS service nope in cluster shop (eu-west-1)"),
            (["--from-service", "arn:aws:ecs:x"], 2, "--from-service 'arn:aws:ecs:x': expected "
             "CLUSTER/SERVICE (names, not ARNs)")):
        result = invoke(["init", *argv, "--config", str(target)], hooked)
        assert result.code == code, result
        assert result.err == f"stackswap: {message}\n"
        assert not target.exists()
    # reading a service changes nothing in the account
    assert hooked.mutating == []


def init_from(aws, service: str, target) -> str:
    result = invoke(["init", "--from-service", f"{aws.ids['cluster']}/{service}", "--config",
                     str(target)], HookedAws())
    assert result.code == 0, result
    return target.read_text()


@pytest.mark.parametrize(("scaling_min", "count", "source"), [
    (3, 3, "its scaling target's minimum"),
    (None, 2, "stackswap's default"),
])
def test_a_retired_service_gives_a_config_that_loads(aws, running_service, tmp_path,
                                                     scaling_min, count, source):
    # A retired service: "desiredCount: The desired number of instantiations of the task
    # definition to keep running on the service" is 0 (ECS API Reference, Service), which
    # service.desired_count (1-1000) refuses; its scaling target's MinCapacity
    # (DescribeScalableTargets) says how many it runs when it scales.
    # The target is registered first: RegisterScalableTarget brings the desired count into its
    # range (moto gap 26), so a retire sets 0 after it, as `stackswap retire` does.
    if scaling_min is not None:
        client("application-autoscaling", aws.endpoint, aws.region).register_scalable_target(
            ServiceNamespace="ecs", ResourceId=f"service/{aws.ids['cluster']}/web-frontend",
            ScalableDimension="ecs:service:DesiredCount", MinCapacity=scaling_min,
            MaxCapacity=10)
    ecs = client("ecs", aws.endpoint, aws.region)
    ecs.update_service(cluster=aws.ids["cluster"], service="web-frontend", desiredCount=0)
    target = tmp_path / "web.toml"
    text = init_from(aws, "web-frontend", target)
    assert load_config(target).service.desired_count == count
    assert f"desired_count = {count}" in text
    assert f"# the service's desired count is 0: {source} instead" in text
    assert "service.desired_count: the service's desired count is 0 (retired?)" in text


def test_from_a_fargate_service_made_by_cloudformation(aws, stacks, tmp_path):
    # The sandbox's ECS reports the launch type a CloudFormation service was created with
    # (moto gap 27): "launchType: The launch type the service is using" (ECS API Reference,
    # Service). stackswap's own blue stack is such a service, LaunchType FARGATE.
    config, cfn, _ = stacks
    name = outputs(cfn, config.service_stack("blue"))["ServiceName"]
    target = tmp_path / "blue.toml"
    text = init_from(aws, name, target)
    assert 'launch_type = "FARGATE"' in text
    assert load_config(target).service.launch_type == "FARGATE"
