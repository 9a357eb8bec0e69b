"""The sandbox server end to end, over HTTP with real boto3 clients: stack operations take time
and can fail or be cancelled, ECS services run tasks that answer HTTP, target health comes from
real health checks, and the listener proxies follow the ALB's listeners.

One sandbox server for the module (short stack time), reset to an empty account before each
test. Every wait polls for its condition with a deadline; nothing sleeps a fixed time.
"""

from __future__ import annotations

import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import pytest
from botocore.exceptions import ClientError

from generator.config import COLORS, Config, load_config
from generator.render import alb_stack_body, service_stack_body
from sandbox.cli import admin, running_sandbox
from sandbox.environment import client, provision, write_config
from tests.conftest import forwards, outputs, params

REGION = "eu-west-1"
SERVICE_PARAMETERS = ("Cluster", "DesiredCount", "TargetGroupArn", "VpcId", "Subnets",
                      "LoadBalancerSecurityGroupId")
CIRCUIT_BREAKER_SECONDS = 3.0


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)  # poll interval, not a wait for something


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


def test_unhealthy_image_completes_with_unhealthy_targets(shop):
    stack = shop.config.service_stack("green")
    shop.update_image("green", "app:v2-unhealthy")
    assert shop.settle(stack)[0] == "UPDATE_COMPLETE"
    assert shop.target_states("green") == ["unhealthy", "unhealthy"]
    assert steady(shop.service("green"))
    assert get(shop.test)[0] == 503  # no healthy target behind :8080
    assert shop.answers(shop.prod) == {"hello from app:v1"}


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
