"""The sandbox server end to end, over HTTP with real boto3 clients: stack operations take time
and can fail or be cancelled, ECS services run tasks that answer HTTP, target health comes from
real health checks, and the listener proxies follow the ALB's listeners.

One sandbox server for the module (short stack time), reset to an empty account before each
test. Every wait polls for its condition with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import os
import re
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
from botocore.exceptions import ClientError
from stackswap.environment.config import Config
from stackswap.environment.load import load_config
from stackswap.environment.names import COLORS
from stackswap.generator.render import alb_stack_body, service_stack_body
from stackswap.sandbox.environment import client, provision, write_config
from stackswap.sandbox.lifecycle import admin, running_sandbox

from tests.conftest import outputs, params
from tests.harness import forwards, wait_for

REGION = "eu-west-1"
SERVICE_PARAMETERS = ("Cluster", "DesiredCount", "TargetGroupArn", "VpcId", "Subnets",
                      "LoadBalancerSecurityGroupId")
CIRCUIT_BREAKER_SECONDS = 3.0


def get(url: str) -> tuple[int, str]:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status, response.read().decode().strip()
    except urllib.error.HTTPError as error:
        return error.code, error.read().decode().strip()


@pytest.fixture(scope="module")
def sandbox(tmp_path_factory):
    with running_sandbox(tmp_path_factory.mktemp("sandbox"), stack_seconds=0.3,
                         health_check_seconds=0.25, drain_seconds=0.5,
                         circuit_breaker_seconds=CIRCUIT_BREAKER_SECONDS) as env:
        yield env


@dataclass
class Shop:
    env: dict[str, str]
    config: Config
    ids: dict
    alb: dict[str, str]
    clients: dict[str, Any] = field(default_factory=dict)

    def client(self, service: str) -> Any:
        # boto3 clients take a while to create; a slow poll would miss short states.
        if service not in self.clients:
            self.clients[service] = client(service, self.env["AWS_ENDPOINT_URL"], REGION)
        return self.clients[service]

    @property
    def cfn(self) -> Any:
        return self.client("cloudformation")

    @property
    def prod(self) -> str:
        return self.env["STACKSWAP_SANDBOX_PROD_URL"]

    @property
    def test(self) -> str:
        return self.env["STACKSWAP_SANDBOX_TEST_URL"]

    def status(self, stack: str) -> str:
        return self.cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"]

    def settle(self, stack: str, timeout: float = 15.0) -> tuple[str, list[str]]:
        """Wait until the stack's operation ends; return its status and the statuses seen."""
        seen: list[str] = []

        def done() -> bool:
            status = self.status(stack)
            if not seen or seen[-1] != status:
                seen.append(status)
            return not status.endswith("_IN_PROGRESS")

        wait_for(done, f"{stack} to finish its operation", timeout)
        return seen[-1], seen

    def events(self, stack: str) -> list[dict]:
        return self.cfn.describe_stack_events(StackName=stack)["StackEvents"]

    def parameters(self, stack: str) -> dict[str, str]:
        (described,) = self.cfn.describe_stacks(StackName=stack)["Stacks"]
        return {p["ParameterKey"]: p["ParameterValue"] for p in described["Parameters"]}

    def update_image(self, color: str, image: str) -> None:
        self.cfn.update_stack(
            StackName=self.config.service_stack(color), UsePreviousTemplate=True,
            Capabilities=["CAPABILITY_IAM"],
            Parameters=[{"ParameterKey": "Image", "ParameterValue": image}] + [
                {"ParameterKey": key, "UsePreviousValue": True} for key in SERVICE_PARAMETERS])

    def swap(self, live: str) -> None:
        self.cfn.update_stack(
            StackName=self.config.alb_stack, UsePreviousTemplate=True,
            Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": live}] + [
                {"ParameterKey": key, "UsePreviousValue": True}
                for key in ("VpcId", "Subnets", "TestCidr")])

    def service(self, color: str) -> dict:
        arn = outputs(self.cfn, self.config.service_stack(color))["ServiceArn"]
        (service,) = self.client("ecs").describe_services(
            cluster=self.config.cluster, services=[arn])["services"]
        return service

    def target_states(self, color: str) -> list[str]:
        described = self.client("elbv2").describe_target_health(
            TargetGroupArn=self.alb[f"{color.capitalize()}TargetGroupArn"])
        return sorted(d["TargetHealth"]["State"] for d in described["TargetHealthDescriptions"])

    def answers(self, url: str, count: int = 6) -> set[str]:
        return {get(url)[1] for _ in range(count)}


def steady(service: dict) -> bool:
    return (len(service["deployments"]) == 1 and service["pendingCount"] == 0
            and service["runningCount"] == service["desiredCount"])


@pytest.fixture
def account(sandbox, tmp_path):
    """An empty sandbox account with a VPC, subnets, a cluster and a config for them."""
    assert admin(sandbox, "POST", "/reset")[0] == 200
    ids = provision(sandbox["AWS_ENDPOINT_URL"], name="shop", region=REGION)
    return ids, load_config(write_config(tmp_path / "shop.toml", ids))


def create_stacks(env: dict[str, str], ids: dict, config: Config) -> tuple[Shop, dict]:
    """Create the three stacks as the orchestrator would; return the statuses seen."""
    shop = Shop(env, config, ids, {})
    cfn = shop.cfn
    subnets = ",".join(ids["subnets"])
    cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                     Parameters=params(VpcId=ids["vpc_id"], Subnets=subnets,
                                       TestCidr="127.0.0.0/8", LiveColor="blue"))
    seen = {"first describe": cfn.describe_stacks(StackName=config.alb_stack)["Stacks"][0]}
    seen[config.alb_stack] = shop.settle(config.alb_stack)
    shop.alb = outputs(cfn, config.alb_stack)
    for color in COLORS:
        cfn.create_stack(
            StackName=config.service_stack(color), TemplateBody=service_stack_body(config, color),
            Capabilities=["CAPABILITY_IAM"],
            Parameters=params(Cluster=config.cluster, Image="app:v1", DesiredCount="2",
                              TargetGroupArn=shop.alb[f"{color.capitalize()}TargetGroupArn"],
                              VpcId=ids["vpc_id"], Subnets=subnets,
                              LoadBalancerSecurityGroupId=shop.alb["LoadBalancerSecurityGroupId"]))
    for color in COLORS:
        seen[config.service_stack(color)] = shop.settle(config.service_stack(color))
    return shop, seen


@pytest.fixture
def shop(sandbox, account) -> Shop:
    """The three stacks created, blue live, both colours on app:v1."""
    return create_stacks(sandbox, *account)[0]


def test_create_is_in_progress_then_complete_and_serves_v1(sandbox, account):
    shop, seen = create_stacks(sandbox, *account)
    first = seen["first describe"]
    assert first["StackStatus"] == "CREATE_IN_PROGRESS"
    assert "Outputs" not in first  # as in CloudFormation: outputs once created
    assert seen[shop.config.alb_stack] == ("CREATE_COMPLETE", ["CREATE_IN_PROGRESS",
                                                               "CREATE_COMPLETE"])
    for color in COLORS:  # green may be done by the time blue is
        assert seen[shop.config.service_stack(color)][0] == "CREATE_COMPLETE"
    events = shop.events(shop.config.service_stack("blue"))  # newest first
    assert (events[0]["ResourceStatus"], events[-1]["ResourceStatus"]) == (
        "CREATE_COMPLETE", "CREATE_IN_PROGRESS")
    assert events[-1]["ResourceStatusReason"] == "User Initiated"
    assert {e["LogicalResourceId"] for e in events} >= {"Service", "TaskDefinition"}

    assert shop.answers(shop.prod) == {"hello from app:v1"}
    assert shop.answers(shop.test) == {"hello from app:v1"}
    assert get(shop.prod + "/health") == (200, "ok")
    for color in COLORS:
        service = shop.service(color)
        assert steady(service) and service["runningCount"] == 2
        assert service["deployments"][0]["status"] == "PRIMARY"
        assert service["loadBalancers"][0]["targetGroupArn"] == shop.alb[
            f"{color.capitalize()}TargetGroupArn"]
        assert shop.target_states(color) == ["healthy", "healthy"]


def test_image_update_replaces_the_tasks_behind_the_test_listener(shop):
    stack = shop.config.service_stack("green")
    shop.update_image("green", "app:v2")
    assert shop.status(stack) == "UPDATE_IN_PROGRESS"
    with pytest.raises(ClientError) as refused:
        shop.update_image("green", "app:v3")
    assert refused.value.response["Error"]["Message"] == (
        f"Stack:{shop.cfn.describe_stacks(StackName=stack)['Stacks'][0]['StackId']} is in "
        f"UPDATE_IN_PROGRESS state and can not be updated.")

    # While replacing: two deployments, the new one PRIMARY.
    replacing = wait_for(lambda: (s := shop.service("green")) and len(s["deployments"]) == 2
                         and s, "two deployments")
    assert [d["status"] for d in replacing["deployments"]] == ["PRIMARY", "ACTIVE"]
    assert replacing["deployments"][0]["taskDefinition"] == replacing["taskDefinition"]

    assert shop.settle(stack)[0] == "UPDATE_COMPLETE"
    service = shop.service("green")
    assert steady(service) and service["runningCount"] == 2
    image = shop.client("ecs").describe_task_definition(
        taskDefinition=service["taskDefinition"])["taskDefinition"]["containerDefinitions"][0]
    assert image["image"] == "app:v2"
    assert shop.answers(shop.test) == {"hello from app:v2"}
    assert shop.answers(shop.prod) == {"hello from app:v1"}
    events = [(e["LogicalResourceId"], e["ResourceStatus"]) for e in shop.events(stack)]
    assert events[0] == (stack, "UPDATE_COMPLETE")
    assert ("Service", "UPDATE_COMPLETE") in events and (stack, "UPDATE_IN_PROGRESS") in events


def test_same_parameters_are_refused_at_once(shop):
    with pytest.raises(ClientError, match="No updates are to be performed"):
        shop.update_image("green", "app:v1")
    assert shop.status(shop.config.service_stack("green")) == "CREATE_COMPLETE"


def _request_loop(url: str, stop: threading.Event, results: list[tuple[int, str]]) -> None:
    deadline = time.monotonic() + 30  # bounded even if the test never sets stop
    while not stop.is_set() and time.monotonic() < deadline:
        results.append(get(url))


def test_swap_and_live_redeploy_fail_no_request(shop):
    shop.update_image("green", "app:v2")
    assert shop.settle(shop.config.service_stack("green"))[0] == "UPDATE_COMPLETE"
    results: list[tuple[int, str]] = []
    stop = threading.Event()
    loop = threading.Thread(target=_request_loop, args=(shop.prod, stop, results))
    loop.start()
    try:
        shop.swap("green")
        assert shop.settle(shop.config.alb_stack)[0] == "UPDATE_COMPLETE"
        assert forwards(shop.client("elbv2"), shop.alb["ProductionListenerArn"]) == shop.alb[
            "GreenTargetGroupArn"]
        wait_for(lambda: results and results[-1][1] == "hello from app:v2", "v2 on prod")
        # Redeploying the live colour drains its old tasks under traffic.
        shop.update_image("green", "app:v3")
        assert shop.settle(shop.config.service_stack("green"))[0] == "UPDATE_COMPLETE"
        wait_for(lambda: results[-1][1] == "hello from app:v3", "v3 on prod")
    finally:
        stop.set()
        loop.join()
    failures = [result for result in results if result[0] != 200]
    assert not failures and len(results) > 20
    answers = [body for _, body in results]
    assert answers[0] == "hello from app:v1" and answers[-1] == "hello from app:v3"
    assert set(answers) == {"hello from app:v1", "hello from app:v2", "hello from app:v3"}
    assert shop.answers(shop.test) == {"hello from app:v1"}  # blue is on :8080 now


def test_fail_next_update_rolls_back_with_a_reason(shop, sandbox):
    stack = shop.config.service_stack("green")
    assert admin(sandbox, "POST", "/fail-next-update", {"stack": stack})[0] == 200
    shop.update_image("green", "app:v2")
    status, seen = shop.settle(stack)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert seen[0] == "UPDATE_IN_PROGRESS"
    (failed,) = [e for e in shop.events(stack) if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert failed["LogicalResourceId"] == "Service"
    assert "sandbox fail-next-update" in failed["ResourceStatusReason"]
    statuses = [e["ResourceStatus"] for e in shop.events(stack) if e["LogicalResourceId"] == stack]
    assert statuses[:3] == ["UPDATE_ROLLBACK_COMPLETE",
                            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                            "UPDATE_ROLLBACK_IN_PROGRESS"]
    assert shop.parameters(stack)["Image"] == "app:v1"
    assert shop.answers(shop.test) == {"hello from app:v1"}
    # Only the next update fails.
    shop.update_image("green", "app:v2")
    assert shop.settle(stack)[0] == "UPDATE_COMPLETE"


def sandbox_stack(sandbox, name: str) -> dict:
    (stack,) = [s for s in admin(sandbox, "GET", "/status")[1]["stacks"] if s["name"] == name]
    return stack


def test_stack_seconds_per_stack_and_the_time_an_operation_finished(shop, sandbox):
    green, blue = shop.config.service_stack("green"), shop.config.service_stack("blue")
    for bad in ({}, {"seconds": 0}, {"seconds": "1"}, {"seconds": True},
                {"seconds": 1, "stack": ""}):
        assert admin(sandbox, "POST", "/stack-seconds", bad)[0] == 400
    assert admin(sandbox, "POST", "/stack-seconds", {"seconds": 1.5, "stack": green}) == (
        200, {"stack": green, "seconds": 1.5})
    assert isinstance(sandbox_stack(sandbox, blue)["finished_at"], float)  # created

    started = time.time()
    shop.update_image("green", "app:v2")
    assert sandbox_stack(sandbox, green)["finished_at"] is None  # in progress
    assert shop.settle(green)[0] == "UPDATE_COMPLETE"
    noticed = time.time()
    finished = sandbox_stack(sandbox, green)["finished_at"]
    assert started + 1.5 <= finished <= noticed  # at least its own duration, before we saw it
    assert [sandbox_stack(sandbox, name)["operation_seconds"] for name in (green, blue)] == [
        1.5, 0.3]  # the other stacks keep the server's setting

    # Without "stack": every stack without a duration of its own; /reset restores the setting.
    assert admin(sandbox, "POST", "/stack-seconds", {"seconds": 0.2})[0] == 200
    assert [sandbox_stack(sandbox, name)["operation_seconds"] for name in (green, blue)] == [
        1.5, 0.2]
    assert admin(sandbox, "POST", "/reset")[0] == 200
    assert admin(sandbox, "GET", "/status")[1]["stacks"] == []


def test_unhealthy_tasks_are_replaced_until_the_circuit_breaker_trips_and_rolls_back(
        sandbox, account, tmp_path):
    # ECS stops a task whose target fails its ELB health checks once the service's grace period
    # is over, and starts another: healthCheckGracePeriodSeconds (CreateService, ECS API
    # reference, https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_CreateService.html)
    # "The period of time, in seconds, that the Amazon ECS service scheduler ignores unhealthy
    # Elastic Load Balancing ... health checks after a task has first started." Each failed task
    # counts toward the deployment circuit breaker: "a minimum threshold of 3 and a maximum
    # threshold of 200 ... 0.5 * desired task count" (ServiceDeploymentCircuitBreaker,
    # https://docs.aws.amazon.com/AmazonECS/latest/APIReference/API_ServiceDeploymentCircuitBreaker.html)
    # and a failed deployment "will transition to a failed state and stop launching new tasks"
    # (DeploymentCircuitBreaker); CloudFormation fails the service and rolls the stack back.
    # A 10 s grace period lasts 0.5 s here (two of the target group's 5 s intervals, each one
    # health_check_seconds long), so two rounds of failures fit in CIRCUIT_BREAKER_SECONDS.
    ids = account[0]
    config = load_config(write_config(tmp_path / "grace.toml", ids,
                                      health={"grace_period_seconds": "10"}))
    shop = create_stacks(sandbox, ids, config)[0]
    stack = config.service_stack("green")
    shop.update_image("green", "app:v2-unhealthy")
    status, _ = shop.settle(stack, timeout=CIRCUIT_BREAKER_SECONDS + 15)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    events = shop.events(stack)
    (failed,) = [e for e in events if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert (failed["LogicalResourceId"], failed["ResourceStatusReason"]) == (
        "Service", "ECS Deployment Circuit Breaker was triggered")
    begun = next(e for e in events if e.get("ResourceStatusReason") == "User Initiated")
    # tripped by the count, not by the sandbox's circuit_breaker_seconds of waiting for steady
    assert (failed["Timestamp"] - begun["Timestamp"]).total_seconds() < CIRCUIT_BREAKER_SECONDS
    messages = [e["message"] for e in shop.service("green")["events"]]
    assert sum("is unhealthy in target-group" in m for m in messages) >= 3  # max(3, 0.5 * 2)
    assert sum("deployment failed: tasks failed to start." in m for m in messages) == 1
    assert shop.parameters(stack)["Image"] == "app:v1"
    assert shop.answers(shop.test) == {"hello from app:v1"}  # the old tasks never stopped
    assert shop.answers(shop.prod) == {"hello from app:v1"}
    wait_for(lambda: steady(shop.service("green")), "green steady again")
    assert shop.target_states("green") == ["healthy", "healthy"]


def test_crash_image_trips_the_circuit_breaker_and_rolls_back(shop):
    stack = shop.config.service_stack("green")
    shop.update_image("green", "app:v2-crash")
    status, _ = shop.settle(stack, timeout=CIRCUIT_BREAKER_SECONDS + 15)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    (failed,) = [e for e in shop.events(stack) if e["ResourceStatus"] == "UPDATE_FAILED"]
    assert (failed["LogicalResourceId"], failed["ResourceStatusReason"]) == (
        "Service", "ECS Deployment Circuit Breaker was triggered")
    assert shop.parameters(stack)["Image"] == "app:v1"
    assert shop.answers(shop.test) == {"hello from app:v1"}  # the old tasks never stopped
    wait_for(lambda: steady(shop.service("green")), "green steady again")


def test_cancel_update_stack_rolls_back(shop):
    stack = shop.config.service_stack("green")
    shop.update_image("green", "app:v2")
    shop.cfn.cancel_update_stack(StackName=stack)
    status, seen = shop.settle(stack)
    assert status == "UPDATE_ROLLBACK_COMPLETE"
    assert "UPDATE_ROLLBACK_IN_PROGRESS" in seen or seen[0] == "UPDATE_ROLLBACK_COMPLETE"
    assert shop.parameters(stack)["Image"] == "app:v1"
    with pytest.raises(ClientError, match="CancelUpdateStack cannot be called"):
        shop.cfn.cancel_update_stack(StackName=stack)


def test_delete_stack_takes_time_and_stops_the_tasks(shop, sandbox):
    stack = shop.config.service_stack("green")
    shop.cfn.delete_stack(StackName=stack)
    assert shop.status(stack) == "DELETE_IN_PROGRESS"

    def gone() -> bool:
        try:
            shop.status(stack)
        except ClientError:
            return True
        return False

    wait_for(gone, f"{stack} deleted")
    blue = shop.service("blue")["serviceName"]

    def only_blue_runs() -> bool:
        return [entry["service"] for entry in admin(sandbox, "GET", "/status")[1]["tasks"]] == [
            blue]

    wait_for(only_blue_runs, "green's tasks stopped")
    assert get(shop.test)[0] == 503 and shop.answers(shop.prod) == {"hello from app:v1"}


def test_crash_image_at_create_rolls_the_stack_back(sandbox, account):
    ids, config = account
    shop = Shop(sandbox, config, ids, {})
    subnets = ",".join(ids["subnets"])
    shop.cfn.create_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(config),
                          Parameters=params(VpcId=ids["vpc_id"], Subnets=subnets,
                                            TestCidr="127.0.0.0/8", LiveColor="blue"))
    shop.settle(config.alb_stack)
    alb = outputs(shop.cfn, config.alb_stack)
    stack = config.service_stack("blue")
    shop.cfn.create_stack(
        StackName=stack, TemplateBody=service_stack_body(config, "blue"),
        Capabilities=["CAPABILITY_IAM"],
        Parameters=params(Cluster=config.cluster, Image="app:v1-crash", DesiredCount="2",
                          TargetGroupArn=alb["BlueTargetGroupArn"], VpcId=ids["vpc_id"],
                          Subnets=subnets,
                          LoadBalancerSecurityGroupId=alb["LoadBalancerSecurityGroupId"]))
    status, _ = shop.settle(stack, timeout=CIRCUIT_BREAKER_SECONDS + 15)
    assert status == "ROLLBACK_COMPLETE"
    (failed,) = [e for e in shop.events(stack) if e["ResourceStatus"] == "CREATE_FAILED"]
    assert failed["ResourceStatusReason"] == "ECS Deployment Circuit Breaker was triggered"
    wait_for(lambda: admin(sandbox, "GET", "/status")[1]["tasks"] == [], "no task left")
    assert get(shop.prod)[0] == 503


# --- rollback configuration, monitoring time, termination protection --------------------------

SETTING_TEMPLATE = """
Parameters: {Value: {Type: String}}
Resources:
  Setting:
    Type: AWS::SSM::Parameter
    Properties: {Name: !Sub "/sandbox/${AWS::StackName}", Type: String, Value: !Ref Value}
"""
MINUTE_SECONDS = 1.0  # the module's sandbox keeps the default monitoring_minute_seconds


def alarm(shop: Shop, name: str, rule: str | None = None) -> str:
    """A metric alarm (or, with a rule, a composite alarm) in OK; its ARN."""
    cloudwatch = shop.client("cloudwatch")
    if rule is None:
        cloudwatch.put_metric_alarm(
            AlarmName=name, MetricName="HTTPCode_Target_5XX_Count", Namespace="AWS/ApplicationELB",
            Statistic="Sum", Period=60, EvaluationPeriods=1, Threshold=1,
            ComparisonOperator="GreaterThanOrEqualToThreshold")
        return cloudwatch.describe_alarms(AlarmNames=[name])["MetricAlarms"][0]["AlarmArn"]
    cloudwatch.put_composite_alarm(AlarmName=name, AlarmRule=rule)
    return cloudwatch.describe_alarms(AlarmNames=[name], AlarmTypes=["CompositeAlarm"])[
        "CompositeAlarms"][0]["AlarmArn"]


def set_alarm(shop: Shop, name: str, state: str) -> None:
    shop.client("cloudwatch").set_alarm_state(AlarmName=name, StateValue=state,
                                              StateReason="test")


def watched_by(*arns: str, minutes: int = 0, kind: str = "AWS::CloudWatch::Alarm") -> dict:
    return {"RollbackConfiguration": {
        "RollbackTriggers": [{"Arn": arn, "Type": kind} for arn in arns],
        "MonitoringTimeInMinutes": minutes}}


def swap_to(shop: Shop, live: str, **rollback: Any) -> None:
    """The ALB stack's parameter-only update that stackswap's swap is, with `rollback` as sent."""
    shop.cfn.update_stack(
        StackName=shop.config.alb_stack, UsePreviousTemplate=True,
        Parameters=[{"ParameterKey": "LiveColor", "ParameterValue": live}] + [
            {"ParameterKey": key, "UsePreviousValue": True}
            for key in ("VpcId", "Subnets", "TestCidr")], **rollback)


def production_color(shop: Shop) -> str:
    group = forwards(shop.client("elbv2"), shop.alb["ProductionListenerArn"])
    return next(color for color in COLORS
                if shop.alb[f"{color.capitalize()}TargetGroupArn"] == group)


def rollback_configuration(shop: Shop, stack: str) -> dict:
    return shop.cfn.describe_stacks(StackName=stack)["Stacks"][0]["RollbackConfiguration"]


def rollback_reason(shop: Shop, stack: str) -> str:
    return next(e["ResourceStatusReason"] for e in shop.events(stack)
                if e["LogicalResourceId"] == stack
                and e["ResourceStatus"] in ("UPDATE_ROLLBACK_IN_PROGRESS", "ROLLBACK_IN_PROGRESS"))


def test_saved_triggers_revert_the_revert_unless_the_update_empties_them(shop):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html
    # "By default, CloudFormation saves the rollback triggers specified for a stack and applies
    # them to any subsequent update operations for the stack, unless you specify otherwise. [...]
    # To use the rollback triggers previously specified for this stack, if any, don't specify
    # this parameter. [...] To remove all currently specified triggers, specify an empty list".
    # DescribeStacks' Stack has RollbackConfiguration ("The rollback triggers for CloudFormation
    # to monitor during stack creation and updating operations") and shows `{}` for a stack
    # that has none (e.g. describe-stacks output quoted in aws/aws-cli and AWS samples).
    alb = shop.config.alb_stack
    assert rollback_configuration(shop, alb) == {}
    arn = alarm(shop, "shop-5xx")
    swap_to(shop, "green", **watched_by(arn, minutes=2))  # the forward swap, watched
    assert shop.settle(alb)[0] == "UPDATE_COMPLETE"
    saved = {"RollbackTriggers": [{"Arn": arn, "Type": "AWS::CloudWatch::Alarm"}],
             "MonitoringTimeInMinutes": 2}
    assert rollback_configuration(shop, alb) == saved
    assert production_color(shop) == "green"

    # Going back without stating the configuration: CloudFormation watches the saved triggers,
    # the alarm (still about green's 5xx) fires, and the way back is itself rolled back.
    swap_to(shop, "blue")
    set_alarm(shop, "shop-5xx", "ALARM")
    status, seen = shop.settle(alb)
    assert (status, seen[0]) == ("UPDATE_ROLLBACK_COMPLETE", "UPDATE_IN_PROGRESS")
    assert rollback_reason(shop, alb) == \
        "Rollback triggered by alarm(s) in ALARM state: shop-5xx"
    assert production_color(shop) == "green" and shop.parameters(alb)["LiveColor"] == "green"
    assert rollback_configuration(shop, alb) == saved

    # The same way back with an explicit empty list is not watched: it completes in ALARM.
    swap_to(shop, "blue", RollbackConfiguration={"RollbackTriggers": []})
    assert rollback_configuration(shop, alb) == {"RollbackTriggers": [],
                                                 "MonitoringTimeInMinutes": 0}
    assert shop.settle(alb)[0] == "UPDATE_COMPLETE"
    assert production_color(shop) == "blue" and shop.answers(shop.prod) == {"hello from app:v1"}
    assert rollback_configuration(shop, alb) == {"RollbackTriggers": [],
                                                 "MonitoringTimeInMinutes": 0}


def setting_stack(shop: Shop, name: str, value: str, **extra: Any) -> None:
    shop.cfn.create_stack(StackName=name, TemplateBody=SETTING_TEMPLATE,
                          Parameters=params(Value=value), **extra)


def update_setting(shop: Shop, name: str, value: str, **extra: Any) -> None:
    shop.cfn.update_stack(StackName=name, UsePreviousTemplate=True,
                          Parameters=params(Value=value), **extra)


def test_create_stack_saves_its_configuration_and_updates_replace_it_piece_by_piece(
        sandbox, account):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html
    # RollbackTriggers: "To use the rollback triggers previously specified for this stack, if
    # any, don't specify this parameter" and "you must specify all the triggers that you want
    # used for this stack, even triggers you've specified before (for example, when creating the
    # stack [...])"; MonitoringTimeInMinutes: "The default is 0 minutes."
    shop = Shop(sandbox, account[1], account[0], {})
    first, second = alarm(shop, "first"), alarm(shop, "second")
    setting_stack(shop, "setting", "1", **watched_by(first, minutes=1))
    assert shop.settle("setting")[0] == "CREATE_COMPLETE"
    assert rollback_configuration(shop, "setting") == watched_by(first, minutes=1)[
        "RollbackConfiguration"]
    update_setting(shop, "setting", "2", RollbackConfiguration={"MonitoringTimeInMinutes": 0})
    assert rollback_configuration(shop, "setting") == watched_by(first)["RollbackConfiguration"]
    assert shop.settle("setting")[0] == "UPDATE_COMPLETE"
    update_setting(shop, "setting", "3", **watched_by(second))
    assert shop.settle("setting")[0] == "UPDATE_COMPLETE"
    set_alarm(shop, "first", "ALARM")  # no longer a trigger of this stack
    update_setting(shop, "setting", "4")
    assert shop.settle("setting")[0] == "UPDATE_COMPLETE"
    assert rollback_configuration(shop, "setting") == watched_by(second)["RollbackConfiguration"]


def test_a_trigger_naming_no_alarm_fails_the_operation_and_rolls_it_back(sandbox, account):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html
    # Arn: "If a specified trigger is missing, the entire stack operation fails and is rolled
    # back." (AWS documents no message: the sandbox's names the trigger.)
    shop = Shop(sandbox, account[1], account[0], {})
    missing = "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:no-such-alarm"
    setting_stack(shop, "setting", "1")
    assert shop.settle("setting")[0] == "CREATE_COMPLETE"
    update_setting(shop, "setting", "2", **watched_by(missing))
    assert shop.settle("setting")[0] == "UPDATE_ROLLBACK_COMPLETE"
    statuses = [e["ResourceStatus"] for e in shop.events("setting")
                if e["LogicalResourceId"] == "setting"]
    assert statuses[:4] == ["UPDATE_ROLLBACK_COMPLETE",
                            "UPDATE_ROLLBACK_COMPLETE_CLEANUP_IN_PROGRESS",
                            "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_IN_PROGRESS"]
    assert rollback_reason(shop, "setting") == f"Rollback trigger(s) not found: {missing}"
    assert shop.parameters("setting") == {"Value": "1"}
    assert rollback_configuration(shop, "setting") == {}  # as before the rolled-back update
    # A creation too: it rolls back to ROLLBACK_COMPLETE, which can only be deleted.
    setting_stack(shop, "born-watched", "1", **watched_by(missing))
    assert shop.settle("born-watched")[0] == "ROLLBACK_COMPLETE"
    assert rollback_reason(shop, "born-watched") == f"Rollback trigger(s) not found: {missing}"


def test_a_composite_alarm_trigger_rolls_back_when_its_rule_holds(shop):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackTrigger.html
    # Type: "Specify either AWS::CloudWatch::Alarm or AWS::CloudWatch::CompositeAlarm".
    # https://docs.aws.amazon.com/AmazonCloudWatch/latest/APIReference/API_PutCompositeAlarm.html
    # "The composite alarm goes into ALARM state only if all conditions of the rule are met."
    alb = shop.config.alb_stack
    alarm(shop, "shop-5xx")
    alarm(shop, "shop-latency")
    slo = alarm(shop, "shop-slo", rule='ALARM("shop-5xx") OR ALARM("shop-latency")')
    swap_to(shop, "green", **watched_by(slo, minutes=30, kind="AWS::CloudWatch::CompositeAlarm"))
    wait_for(lambda: production_color(shop) == "green", "the swap applied")
    assert shop.status(alb) == "UPDATE_IN_PROGRESS"  # in its monitoring time
    set_alarm(shop, "shop-latency", "ALARM")
    assert shop.settle(alb)[0] == "UPDATE_ROLLBACK_COMPLETE"
    assert rollback_reason(shop, alb) == \
        "Rollback triggered by alarm(s) in ALARM state: shop-slo"
    assert production_color(shop) == "blue"


@pytest.mark.parametrize("triggered", [True, False], ids=["with-trigger", "without-trigger"])
def test_cancel_during_the_monitoring_time_rolls_the_update_back(shop, triggered):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html
    # MonitoringTimeInMinutes: "If you specify a monitoring period but don't specify any
    # rollback triggers, CloudFormation still waits the specified period of time before cleaning
    # up old resources after update operations. You can use this monitoring period to perform
    # any manual stack validation desired, and manually cancel the stack creation or update
    # (using CancelUpdateStack, for example) as necessary."
    alb = shop.config.alb_stack
    triggers = [alarm(shop, "shop-5xx")] if triggered else []
    swap_to(shop, "green", **watched_by(*triggers, minutes=30))
    wait_for(lambda: production_color(shop) == "green", "the swap applied")
    assert shop.status(alb) == "UPDATE_IN_PROGRESS"
    shop.cfn.cancel_update_stack(StackName=alb)
    assert shop.settle(alb)[0] == "UPDATE_ROLLBACK_COMPLETE"
    assert rollback_reason(shop, alb) == "Resource update cancelled"
    assert production_color(shop) == "blue" and shop.parameters(alb)["LiveColor"] == "blue"


def test_monitoring_time_without_triggers_is_waited_before_the_update_completes(shop, sandbox):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html
    # "If you set a monitoring time but don't specify any rollback triggers, CloudFormation
    # still waits the specified period of time before cleaning up old resources for update
    # operations."
    alb = shop.config.alb_stack
    started = time.time()
    swap_to(shop, "green", **watched_by(minutes=2))
    wait_for(lambda: production_color(shop) == "green", "the swap applied")
    assert shop.status(alb) == "UPDATE_IN_PROGRESS"
    assert shop.settle(alb)[0] == "UPDATE_COMPLETE"
    statuses = [e["ResourceStatus"] for e in shop.events(alb) if e["LogicalResourceId"] == alb]
    assert statuses[:2] == ["UPDATE_COMPLETE", "UPDATE_COMPLETE_CLEANUP_IN_PROGRESS"]
    operation = sandbox_stack(sandbox, alb)["operation_seconds"]
    assert sandbox_stack(sandbox, alb)["finished_at"] - started >= operation + 2 * MINUTE_SECONDS


def test_termination_protection_refuses_delete_until_it_is_turned_off(sandbox, account):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-protect-stacks.html
    # "If a user attempts to delete a stack with termination protection enabled, the deletion
    # fails and the stack, including its status, remains unchanged. You can enable termination
    # protection on a stack when you create it. [...] You can set termination protection on a
    # stack with any status except DELETE_IN_PROGRESS or DELETE_COMPLETE."
    # The refusal as AWS answers it (aws-nuke issue #821): "ValidationError: Stack [NAME]
    # cannot be deleted while TerminationProtection is enabled\n\tstatus code: 400".
    shop = Shop(sandbox, account[1], account[0], {})
    setting_stack(shop, "kept", "1", EnableTerminationProtection=True)
    (described,) = shop.cfn.describe_stacks(StackName="kept")["Stacks"]
    assert described["EnableTerminationProtection"] is True
    assert shop.settle("kept")[0] == "CREATE_COMPLETE"
    events = shop.events("kept")
    with pytest.raises(ClientError) as refused:
        shop.cfn.delete_stack(StackName="kept")
    assert (refused.value.response["Error"]["Code"], refused.value.response["Error"]["Message"]) \
        == ("ValidationError", "Stack [kept] cannot be deleted while TerminationProtection is "
                               "enabled")
    assert refused.value.response["ResponseMetadata"]["HTTPStatusCode"] == 400
    assert shop.status("kept") == "CREATE_COMPLETE" and shop.events("kept") == events

    # Its update and delete last long enough to be seen in progress on a loaded machine.
    assert admin(sandbox, "POST", "/stack-seconds", {"seconds": 2, "stack": "kept"})[0] == 200
    update_setting(shop, "kept", "2")  # settable in any status but the two deleting ones
    answer = shop.cfn.update_termination_protection(StackName="kept",
                                                    EnableTerminationProtection=False)
    assert answer["StackId"] == described["StackId"]
    assert shop.status("kept") == "UPDATE_IN_PROGRESS"
    assert shop.cfn.describe_stacks(StackName="kept")["Stacks"][0][
        "EnableTerminationProtection"] is False
    assert shop.settle("kept")[0] == "UPDATE_COMPLETE"
    shop.cfn.delete_stack(StackName="kept")
    assert shop.status("kept") == "DELETE_IN_PROGRESS"
    with pytest.raises(ClientError, match="DELETE_IN_PROGRESS"):
        shop.cfn.update_termination_protection(StackName=described["StackId"],
                                               EnableTerminationProtection=True)
    wait_for(lambda: shop.cfn.describe_stacks(StackName=described["StackId"])["Stacks"][0][
        "StackStatus"] == "DELETE_COMPLETE", "kept deleted")


RECOVERY = re.compile(r"aws cloudformation update-termination-protection "
                      r"--no-enable-termination-protection --stack-name [\w-]+ && "
                      r"aws cloudformation delete-stack --stack-name [\w-]+")


def shell(command: str, env: dict[str, str]) -> subprocess.CompletedProcess:
    return subprocess.run(["bash", "-c", command], env=env, capture_output=True, text=True,
                          timeout=120, check=False)


def test_the_printed_recovery_steps_work_on_the_sandbox_with_the_aws_cli(sandbox, account,
                                                                         tmp_path):
    # docs/recovering.md: a stack in ROLLBACK_COMPLETE must be
    # deleted, termination protection first (stackswap creates every stack with it). The
    # commands are the ones stackswap prints: orchestrator/steps/stacks.py (require_created) when a
    # creation fails, orchestrator/plan.py (MUST_DELETE) on the rerun; run by the AWS CLI
    # against the sandbox, as an operator would after `eval "$(stackswap sandbox up)"`.
    ids, config = account
    write_config(config_file := tmp_path / "crash.toml", ids, deploy={
        "production_url": f'"{sandbox["STACKSWAP_SANDBOX_PROD_URL"]}"',
        "test_url": f'"{sandbox["STACKSWAP_SANDBOX_TEST_URL"]}"'})
    venv_bin = str(Path(sys.executable).parent)  # the CLI and awscli live next to python
    env = {**os.environ, **sandbox, "AWS_REGION": REGION, "AWS_DEFAULT_REGION": REGION,
           "STACKSWAP_CONFIG": str(config_file), "PATH": f"{venv_bin}:{os.environ['PATH']}"}
    env.pop("AWS_PROFILE", None)
    stack = config.service_stack("blue")

    created = shell("stackswap deploy --image app:v1-crash", env)
    assert created.returncode == 6, created.stderr
    assert f"creating {stack} failed" in created.stderr
    rerun = shell("stackswap deploy --image app:v1-crash", env)
    assert rerun.returncode == 6, rerun.stderr
    assert f"{stack} is ROLLBACK_COMPLETE: it can only be deleted" in rerun.stderr
    (printed,) = {match[0] for match in map(RECOVERY.search, (created.stderr, rerun.stderr))
                  if match}  # both messages give the same commands
    assert f"--stack-name {stack} &&" in printed

    cfn = client("cloudformation", sandbox["AWS_ENDPOINT_URL"], REGION)
    (before,) = cfn.describe_stacks(StackName=stack)["Stacks"]
    assert (before["StackStatus"], before["EnableTerminationProtection"]) == (
        "ROLLBACK_COMPLETE", True)
    refused = shell(f"aws cloudformation delete-stack --stack-name {stack}", env)
    assert refused.returncode != 0
    assert (f"An error occurred (ValidationError) when calling the DeleteStack operation: Stack "
            f"[{stack}] cannot be deleted while TerminationProtection is enabled") in \
        refused.stderr
    assert cfn.describe_stacks(StackName=stack)["Stacks"][0]["StackStatus"] == \
        "ROLLBACK_COMPLETE"

    done = shell(printed, env)
    assert done.returncode == 0, done.stderr

    def deleted() -> bool:
        try:
            cfn.describe_stacks(StackName=stack)
        except ClientError as error:
            return "does not exist" in str(error)
        return False

    wait_for(deleted, f"{stack} deleted")


# --- change sets (gap 15): the same stack operations as CreateStack / UpdateStack -------------

def execute_change_set(shop: Shop, stack: str, kind: str, body: str, parameters: list[dict],
                       name: str) -> dict:
    shop.cfn.create_change_set(StackName=stack, ChangeSetName=name, ChangeSetType=kind,
                               TemplateBody=body, Parameters=parameters,
                               Capabilities=["CAPABILITY_IAM"])
    described = shop.cfn.describe_change_set(ChangeSetName=name, StackName=stack)
    shop.cfn.execute_change_set(ChangeSetName=name, StackName=stack)
    return described


def test_a_create_change_set_runs_as_create_stack_does_and_has_every_output(sandbox, account):
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ExecuteChangeSet.html
    # "After the call successfully completes, CloudFormation starts updating the stack. Use the
    # DescribeStacks action to view the status of the update." Outputs, as for CreateStack, once
    # the stack is created: all of them.
    ids, config = account
    shop = Shop(sandbox, config, ids, {})
    stack = config.alb_stack
    described = execute_change_set(
        shop, stack, "CREATE", alb_stack_body(config), params(
            VpcId=ids["vpc_id"], Subnets=",".join(ids["subnets"]), TestCidr="127.0.0.0/8",
            LiveColor="blue"), "create")
    assert {c["ResourceChange"]["Action"] for c in described["Changes"]} == {"Add"}
    first = shop.cfn.describe_stacks(StackName=stack)["Stacks"][0]
    assert first["StackStatus"] == "CREATE_IN_PROGRESS" and "Outputs" not in first
    assert shop.cfn.describe_change_set(ChangeSetName="create", StackName=stack)[
        "ExecutionStatus"] == "EXECUTE_IN_PROGRESS"
    assert shop.settle(stack) == ("CREATE_COMPLETE", ["CREATE_IN_PROGRESS", "CREATE_COMPLETE"])
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_ListChangeSets.html
    # "Returns the ID and status of each active change set for a stack": the status
    # DescribeChangeSet reports, asked first here.
    assert [s["ExecutionStatus"] for s in shop.cfn.list_change_sets(StackName=stack)[
        "Summaries"]] == ["EXECUTE_COMPLETE"]
    assert set(outputs(shop.cfn, stack)) == {
        "BlueTargetGroupArn", "GreenTargetGroupArn", "LoadBalancerArn", "LoadBalancerDnsName",
        "LoadBalancerSecurityGroupId", "ProductionListenerArn", "RollbackRelease", "TrafficShift",
        "TestListenerArn"}
    events = shop.events(stack)  # newest first
    assert [e["ResourceStatus"] for e in events if e["LogicalResourceId"] == stack] == [
        "CREATE_COMPLETE", "CREATE_IN_PROGRESS", "REVIEW_IN_PROGRESS"]
    created = {e["LogicalResourceId"] for e in events if e["ResourceStatus"] == "CREATE_COMPLETE"}
    assert created >= {"LoadBalancer", "ProductionListener", "TestListener", stack}
    assert shop.cfn.describe_change_set(ChangeSetName="create", StackName=stack)[
        "ExecutionStatus"] == "EXECUTE_COMPLETE"


def test_an_update_change_set_honours_fail_next_update_and_rolls_back(shop, sandbox):
    stack = shop.config.service_stack("green")
    assert admin(sandbox, "POST", "/fail-next-update", {"stack": stack})[0] == 200
    previous = [{"ParameterKey": key, "UsePreviousValue": True} for key in SERVICE_PARAMETERS]
    described = execute_change_set(
        shop, stack, "UPDATE", service_stack_body(shop.config, "green"),
        [{"ParameterKey": "Image", "ParameterValue": "app:v2"}, *previous], "v2")
    task_definition = {c["ResourceChange"]["LogicalResourceId"]: c["ResourceChange"]
                       for c in described["Changes"]}["TaskDefinition"]
    # ContainerDefinitions is a createOnlyProperty of AWS::ECS::TaskDefinition.
    assert task_definition["Replacement"] == "True"
    assert shop.settle(stack) == ("UPDATE_ROLLBACK_COMPLETE", [
        "UPDATE_IN_PROGRESS", "UPDATE_ROLLBACK_IN_PROGRESS", "UPDATE_ROLLBACK_COMPLETE"])
    assert shop.parameters(stack)["Image"] == "app:v1"
    # ListChangeSets (API reference: "the ID and status of each change set for the specified
    # stack") reports the failure before DescribeChangeSet is asked.
    assert [(s["ChangeSetName"], s["ExecutionStatus"]) for s in shop.cfn.list_change_sets(
        StackName=stack)["Summaries"]] == [("v2", "EXECUTE_FAILED")]
    assert shop.cfn.describe_change_set(ChangeSetName="v2", StackName=stack)[
        "ExecutionStatus"] == "EXECUTE_FAILED"
    assert shop.answers(shop.test) == {"hello from app:v1"}
