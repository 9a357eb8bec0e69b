"""The sandbox's Application Auto Scaling (sandbox/scaling.py), over HTTP with real boto3 clients:
target tracking on the metric values a test sets through the admin API, cooldowns on the
compressed clock, the range clamp, SuspendedState and ECS deployments.

One sandbox for the module, reset to an empty account before each test. Waits poll for their
condition; that something does NOT happen is checked after the emulator has evaluated the target
a few more times (GET /status counts its evaluations), never after a fixed time.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import pytest
from stackswap.environment.load import load_config
from stackswap.generator.render import alb_stack_body, service_stack_body
from stackswap.generator.service import service_template
from stackswap.sandbox.environment import client, provision, write_config
from stackswap.sandbox.lifecycle import admin, running_sandbox

from tests.conftest import outputs, params
from tests.harness import wait_for

REGION = "eu-west-1"
DIMENSION = "ecs:service:DesiredCount"
CPU = "ECSServiceAverageCPUUtilization"
# One minute of Application Auto Scaling lasts 0.1 s: ECS's default 300 s cooldown, 0.5 s.
SCALING_MINUTE_SECONDS = 0.1
# A cooldown that does not end within a test (ten hours: 60 s here).
LONG_COOLDOWN = 36000
AUTOSCALING = "{ min = 2, max = 6, cpu_target_percent = 50 }"


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("scaling"), stack_seconds=0.3,
                         health_check_seconds=0.25, drain_seconds=0.3,
                         scaling_minute_seconds=SCALING_MINUTE_SECONDS) as env:
        yield env


@dataclass
class Account:
    sandbox: dict[str, str]
    ids: dict
    config: Any
    clients: dict[str, Any]

    def client(self, service: str) -> Any:
        if service not in self.clients:
            self.clients[service] = client(service, self.sandbox["AWS_ENDPOINT_URL"], REGION)
        return self.clients[service]

    def service(self, arn: str) -> dict:
        (found,) = self.client("ecs").describe_services(
            cluster=self.config.cluster, services=[arn])["services"]
        return found

    def desired(self, arn: str) -> int:
        return self.service(arn)["desiredCount"]

    def metric(self, arn: str, value: float, metric: str = CPU) -> None:
        answer = admin(self.sandbox, "POST", "/metric",
                       {"service": arn, "metric": metric, "value": value})
        assert answer[0] == 200, answer

    def scaling_status(self, arn: str) -> dict:
        (found,) = [t for t in admin(self.sandbox, "GET", "/status")[1]["scaling"]
                    if t["resource_id"] == resource_id(arn)]
        return found

    def evaluated(self, arn: str, times: int = 3) -> dict:
        """The target's status once the emulator has evaluated it `times` more times."""
        before = self.scaling_status(arn)["evaluations"]
        return wait_for(lambda: (s := self.scaling_status(arn))["evaluations"] >= before + times
                        and s, f"{times} more evaluations of {arn}")

    def register(self, arn: str, minimum: int = 2, maximum: int = 6, **more: Any) -> None:
        self.client("application-autoscaling").register_scalable_target(
            ServiceNamespace="ecs", ScalableDimension=DIMENSION, ResourceId=resource_id(arn),
            MinCapacity=minimum, MaxCapacity=maximum, **more)

    def wait_desired(self, arn: str, count: int, seen: list[int] | None = None) -> None:
        def reached() -> bool:
            desired = self.desired(arn)
            if seen is not None and (not seen or seen[-1] != desired):
                seen.append(desired)
            return desired == count

        wait_for(reached, f"{arn} at {count} desired tasks", timeout=30)

    def wait_running(self, arn: str, count: int) -> None:
        wait_for(lambda: (s := self.service(arn))["runningCount"] == count
                 and s["pendingCount"] == 0, f"{arn} running {count} tasks", timeout=30)


def resource_id(service_arn: str) -> str:
    return service_arn.split(":", 5)[5]  # service/<cluster>/<name>


@pytest.fixture
def account(sandbox, tmp_path) -> Account:
    """An empty sandbox account with a network, a cluster and a config with autoscaling (min 2,
    max 6, average CPU 50 %)."""
    assert admin(sandbox, "POST", "/reset")[0] == 200
    ids = provision(sandbox["AWS_ENDPOINT_URL"], name="shop", region=REGION)
    config = load_config(write_config(tmp_path / "shop.toml", ids,
                                      service={"autoscaling": AUTOSCALING}))
    return Account(sandbox, ids, config, {})


def rendered_cpu_policy(config: Any) -> dict:
    """The target-tracking configuration the generator renders for the CPU target."""
    resources = service_template(config, "blue").to_dict()["Resources"]
    return resources["CpuScalingPolicy"]["Properties"]["TargetTrackingScalingPolicyConfiguration"]


def revision(account: Account, family: str, number: int) -> str:
    # By ARN: moto's UpdateService keeps a family:revision as given, where ECS shows the ARN.
    return account.client("ecs").describe_task_definition(
        taskDefinition=f"{family}:{number}")["taskDefinition"]["taskDefinitionArn"]


def api_service(account: Account, name: str, desired: int = 2, minimum: int = 2,
                **policy: Any) -> str:
    """An ECS service made through the API (no load balancer: its tasks count once running),
    its scalable target and the rendered CPU policy (with `policy` keys added); its ARN."""
    ecs = account.client("ecs")
    for image in ("app:v1", "app:v2-crash"):  # revisions 1 and 2
        ecs.register_task_definition(family=name, containerDefinitions=[
            {"name": "app", "image": image, "memory": 512}])
    arn = ecs.create_service(cluster=account.config.cluster, serviceName=name,
                             taskDefinition=revision(account, name, 1), desiredCount=desired
                             )["service"]["serviceArn"]
    account.wait_running(arn, desired)
    account.register(arn, minimum=minimum)
    account.client("application-autoscaling").put_scaling_policy(
        PolicyName="cpu", ServiceNamespace="ecs", ResourceId=resource_id(arn),
        ScalableDimension=DIMENSION, PolicyType="TargetTrackingScaling",
        TargetTrackingScalingPolicyConfiguration={**rendered_cpu_policy(account.config),
                                                  **policy})
    return arn


# How target tracking scaling for Application Auto Scaling works (Application Auto Scaling User
# Guide, https://docs.aws.amazon.com/autoscaling/application/userguide/target-tracking-scaling-policy-overview.html):
# "When the metric is above the target value, Application Auto Scaling scales out by adding
# capacity to reduce the difference between the metric value and the target value. When the
# metric is below the target value, Application Auto Scaling scales in by removing capacity.
# Scaling activities are performed with cooldown periods between them". ScaleOutCooldown and
# ScaleInCooldown (TargetTrackingScalingPolicyConfiguration, API reference): "Application Auto
# Scaling provides a default value of 300 for the following scalable targets: ECS services".

def test_the_rendered_cpu_policy_scales_out_to_max_then_in_to_min(account):
    # The service stack as the generator renders it: ScalableTarget (min 2, max 6) and a CPU
    # policy with no cooldowns of its own. Load up: 2 -> 4 (90 % on 2 tasks is 3.6 tasks' worth,
    # rounded up), one cooldown later 4 -> 8, clamped to 6; never above max. Load down: to min.
    config, ids, cfn = account.config, account.ids, account.client("cloudformation")
    subnets = ",".join(ids["subnets"])
    cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                     Parameters=params(VpcId=ids["vpc_id"], Subnets=subnets,
                                       TestCidr="127.0.0.0/8", LiveColor="blue"))
    wait_for(lambda: outputs(cfn, config.alb_stack), "the ALB stack's outputs")
    alb = outputs(cfn, config.alb_stack)
    stack = config.service_stack("blue")
    cfn.create_stack(
        StackName=stack, TemplateBody=service_stack_body(config, "blue"),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=params(Cluster=config.cluster, Image="app:v1", DesiredCount="2",
                          TargetGroupArn=alb["BlueTargetGroupArn"], VpcId=ids["vpc_id"],
                          Subnets=subnets,
                          LoadBalancerSecurityGroupId=alb["LoadBalancerSecurityGroupId"]))
    wait_for(lambda: outputs(cfn, stack), "the service stack's outputs", timeout=30)
    arn = outputs(cfn, stack)["ServiceArn"]
    account.metric(arn, 90)
    seen: list[int] = []
    account.wait_desired(arn, 6, seen)
    assert seen == sorted(seen) and max(seen) == 6
    # Scaling starts no ECS deployment (UpdateService, ECS API reference: "When a deployment is
    # triggered by updating the task definition of a service"): the one deployment stays
    # COMPLETED while the new tasks start, so nothing holds back a scale-in meanwhile.
    deployments = account.service(arn)["deployments"]
    assert [(d["status"], d["rolloutState"]) for d in deployments] == [("PRIMARY", "COMPLETED")]
    status = account.scaling_status(arn)
    assert [(a["from"], a["to"]) for a in status["activities"]] == [(2, 4), (4, 6)]
    assert status["activities"][0]["policies"] == [f"{config.name}-blue-cpu"]
    account.wait_running(arn, 6)
    account.metric(arn, 10)
    account.wait_desired(arn, 2)
    assert [(a["from"], a["to"]) for a in account.scaling_status(arn)["activities"]][-1] == (6, 2)


def test_during_a_scale_out_cooldown_only_a_larger_scale_out_goes_through(account):
    # ScaleOutCooldown (API reference): "The scaling policy won't increase the desired capacity
    # again unless either a larger scale out is triggered or the cooldown period ends. While
    # the cooldown period is in effect, the capacity added by the initiating scale-out activity
    # is calculated as part of the desired capacity for the next scale-out activity."
    arn = api_service(account, "web", ScaleOutCooldown=LONG_COOLDOWN)
    account.metric(arn, 90)
    account.wait_desired(arn, 4)
    assert account.evaluated(arn)["desired"] == 4  # 90 % of 2 tasks still needs 4
    account.metric(arn, 140)  # 140 % of 2 tasks' worth: 6, more than the 4 it has
    account.wait_desired(arn, 6)


def test_register_scalable_target_raises_the_count_to_a_higher_minimum(account):
    # RegisterScalableTarget (API reference): "it changes the resource's current capacity to a
    # value that is inside of this range" — in the call itself; the tasks follow.
    arn = api_service(account, "web")
    account.register(arn, minimum=4)
    assert account.desired(arn) == 4
    account.wait_running(arn, 4)


def test_the_metric_endpoint_names_what_is_wrong(account):
    arn = api_service(account, "web")
    for body, status in [
            ({"service": arn.replace("/web", "/nope"), "metric": CPU, "value": 1}, 404),
            ({"service": "web", "metric": CPU, "value": 1}, 404),  # neither ARN nor resource id
            ({"service": arn, "metric": CPU, "value": "high"}, 400),
            ({"service": arn, "value": 1}, 400)]:
        answer = admin(account.sandbox, "POST", "/metric", body)
        assert answer[0] == status and answer[1]["error"], (body, answer)
    answer = admin(account.sandbox, "POST", "/metric",
                   {"service": resource_id(arn), "metric": CPU, "value": 70})
    assert answer == (200, {"service": resource_id(arn), "metric": CPU, "value": 70.0})


def test_a_policy_invocation_brings_a_count_set_out_of_range_back_into_it(account):
    # Application Auto Scaling concepts (User Guide, https://docs.aws.amazon.com/autoscaling/application/userguide/getting-started.html):
    # "You can make out-of-band changes directly to the underlying resource that are outside
    # of this range, which Application Auto Scaling doesn't know about. However, anytime a
    # scaling policy is invoked or the RegisterScalableTarget API is called, Application Auto
    # Scaling retrieves the current capacity and compares it to the minimum and maximum
    # capacity. If it falls outside of the minimum-maximum range, then the capacity is updated
    # to comply with the set minimum and maximum."
    arn = api_service(account, "web")
    account.client("ecs").update_service(cluster=account.config.cluster, service=arn,
                                         desiredCount=0)
    account.metric(arn, 50)  # at the target: no alarm, no invocation
    assert account.evaluated(arn)["desired"] == 0
    account.metric(arn, 10)  # the scale-in alarm invokes the policy: clamped up to min 2
    account.wait_desired(arn, 2)


def test_dynamic_scaling_in_suspended_holds_the_count_until_resumed(account):
    # SuspendedState (API reference): DynamicScalingInSuspended "Whether scale in by a target
    # tracking scaling policy or a step scaling policy is suspended. Set the value to true if
    # you don't want Application Auto Scaling to remove capacity when a scaling policy is
    # triggered."
    arn = api_service(account, "web", desired=4)
    account.register(arn, SuspendedState={"DynamicScalingInSuspended": True})
    account.metric(arn, 10)
    assert account.evaluated(arn)["desired"] == 4
    account.register(arn, SuspendedState={"DynamicScalingInSuspended": False})
    account.wait_desired(arn, 2)


def test_no_scale_in_while_a_deployment_of_the_service_is_in_progress(account):
    # Troubleshooting service auto scaling (ECS Developer Guide,
    # https://docs.aws.amazon.com/AmazonECS/latest/developerguide/troubleshoot-service-auto-scaling.html):
    # "Application Auto Scaling turns off scale-in processes while Amazon ECS deployments are in
    # progress, and they resume once the deployment has completed." A crashing image's tasks
    # never start: its deployment stays in progress next to the running one.
    arn = api_service(account, "web", desired=4)
    ecs = account.client("ecs")
    ecs.update_service(cluster=account.config.cluster, service=arn,
                       taskDefinition=revision(account, "web", 2))
    wait_for(lambda: len(account.service(arn)["deployments"]) == 2, "the crashing deployment")
    account.metric(arn, 10)
    status = account.evaluated(arn)
    assert (status["desired"], status["deploying"]) == (4, True)
    ecs.update_service(cluster=account.config.cluster, service=arn,
                       taskDefinition=revision(account, "web", 1))
    account.wait_desired(arn, 2)
    assert account.service(arn)["deployments"][0]["rolloutState"] == "COMPLETED"
