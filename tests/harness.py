"""Test harness for running the real `stackswap` CLI in-process against the moto server.

- `Listeners`: two real HTTP servers standing in for the ALB's :80 and :8080 (moto serves no
  HTTP); the config's production_url/test_url point at them.
- `HookedAws`: builds the Aws the CLI uses with botocore event hooks on its session — the
  botocore boundary where tests observe calls and inject what moto cannot produce.
- `arrange_tasks`: moto runs no tasks and registers no targets; after each CreateStack this puts
  services at their desired count (moto's UpdateService does that) and registers a target in any
  empty target group (moto reports registered IP targets healthy) — moto's own APIs only.
"""

from __future__ import annotations

import datetime
import http.server
import threading
import uuid
from collections.abc import Callable
from contextlib import redirect_stdout
from dataclasses import dataclass, field
from io import StringIO

import boto3
import botocore.awsrequest

from orchestrator import cli
from orchestrator.aws import Aws
from sandbox.environment import client

MUTATING = {"CreateStack", "UpdateStack", "DeleteStack", "CancelUpdateStack", "PutParameter",
            "DeleteParameter",
            "ContinueUpdateRollback", "SetStackPolicy", "UpdateTerminationProtection",
            "ExecuteChangeSet", "ModifyListener", "UpdateService", "RegisterTargets"}

# IAM action prefixes that differ from the botocore endpoint prefix (elbv2's endpoint prefix is
# already "elasticloadbalancing", CloudFormation's "cloudformation", ECS's "ecs").
IAM_PREFIXES = {"monitoring": "cloudwatch"}


class _Handler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        status, body = self.server.answer  # type: ignore[attr-defined]
        self.send_response(status)
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, *args) -> None:
        pass


class FakeListener:
    def __init__(self) -> None:
        self.server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Handler)
        self.server.answer = (200, b"ok")
        threading.Thread(target=self.server.serve_forever, args=(0.05,), daemon=True).start()
        self.url = f"http://127.0.0.1:{self.server.server_address[1]}"

    def answer(self, status: int) -> None:
        self.server.answer = (status, b"x")

    def close(self) -> None:
        self.server.shutdown()
        self.server.server_close()


def response(parsed: dict) -> tuple:
    """A short-circuit reply for a botocore before-call hook."""
    http = botocore.awsrequest.AWSResponse("http://injected", 200, {}, None)
    parsed.setdefault("ResponseMetadata", {"HTTPStatusCode": 200, "RequestId": "injected"})
    return http, parsed


@dataclass
class HookedAws:
    """A `connect_aws` for cli.main whose sessions carry the test's botocore hooks."""

    hooks: list[tuple[str, Callable]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # The same calls as IAM actions ("elasticloadbalancing:DescribeListeners"), which is what a
    # policy must allow: tests/test_deploy_role.py compares them with the deploy role.
    actions: list[str] = field(default_factory=list)

    def __call__(self, region: str, profile: str | None, endpoint: str | None) -> Aws:
        session = boto3.Session(region_name=region)
        session.events.register("before-call.*.*", self._record)
        for event, handler in self.hooks:
            session.events.register(event, handler)
        return Aws(session, endpoint)

    def _record(self, model, **kwargs) -> None:
        self.calls.append(model.name)
        prefix = model.service_model.endpoint_prefix
        self.actions.append(f"{IAM_PREFIXES.get(prefix, prefix)}:{model.name}")

    @property
    def mutating(self) -> list[str]:
        return [name for name in self.calls if name in MUTATING]


class VirtualClock:
    """Time that passes only when the code under test sleeps: waits and deadlines run at full
    logic but no real delay (moto finishes every stack operation at once anyway)."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.slept: list[float] = []

    def now(self) -> float:
        return self.time

    def sleep(self, seconds: float) -> None:
        self.slept.append(seconds)
        self.time += seconds


@dataclass
class Result:
    code: int
    out: str
    err: str


@dataclass
class Env:
    """A moto account with the network pieces, a config, fake listeners and a CLI runner."""

    endpoint: str
    region: str
    config_path: object
    production: FakeListener
    test: FakeListener
    aws: HookedAws

    def client(self, service: str):
        return client(service, self.endpoint, self.region)

    def run(self, *argv: str, capsys=None, **kwargs) -> Result:
        out = StringIO()
        with redirect_stdout(out):
            kwargs.setdefault("clock", VirtualClock())
            code = cli.main([*argv, "--config", str(self.config_path)],
                            connect_aws=self.aws, **kwargs)
        err = capsys.readouterr().err if capsys else ""
        return Result(code, out.getvalue(), err)

    def stack(self, name: str) -> dict:
        return self.client("cloudformation").describe_stacks(StackName=name)["Stacks"][0]

    def parameter(self, stack: str, key: str) -> str:
        params = self.stack(stack)["Parameters"]
        return next(p["ParameterValue"] for p in params if p["ParameterKey"] == key)

    def outputs(self, stack: str) -> dict:
        return {o["OutputKey"]: o["OutputValue"] for o in self.stack(stack).get("Outputs", [])}

    def forwards(self, port: int) -> str:
        """The colour the listener on `port` forwards to."""
        outputs = self.outputs("shop-elb")
        key = "ProductionListenerArn" if port == 80 else "TestListenerArn"
        (listener,) = self.client("elbv2").describe_listeners(
            ListenerArns=[outputs[key]])["Listeners"]
        arn = listener["DefaultActions"][0]["TargetGroupArn"]
        return next(c for c in ("blue", "green") if outputs[f"{c.capitalize()}TargetGroupArn"]
                    == arn)


def arrange_tasks(endpoint: str, region: str, cluster: str) -> Callable:
    ecs, elbv2 = client("ecs", endpoint, region), client("elbv2", endpoint, region)

    def after_create(**kwargs) -> None:
        for arn in ecs.list_services(cluster=cluster)["serviceArns"]:
            (service,) = ecs.describe_services(cluster=cluster, services=[arn])["services"]
            if service["runningCount"] != service["desiredCount"]:
                ecs.update_service(cluster=cluster, service=arn,
                                   desiredCount=service["desiredCount"])
        for group in elbv2.describe_target_groups()["TargetGroups"]:
            arn = group["TargetGroupArn"]
            if not elbv2.describe_target_health(TargetGroupArn=arn)["TargetHealthDescriptions"]:
                elbv2.register_targets(TargetGroupArn=arn,
                                       Targets=[{"Id": "10.0.0.10", "Port": 8000}])

    return after_create


class FailingUpdate:
    """Makes the next UpdateStack of one stack fail and roll back, as CloudFormation reports
    it: the request never reaches moto (so the stack keeps its previous parameters) and the
    stack's events and status then tell of a failed resource and a completed rollback."""

    def __init__(self, env: Env, stack: str, resource: str, reason: str) -> None:
        self.cfn = env.client("cloudformation")
        self.stack, self.resource, self.reason = stack, resource, reason
        self.active = False
        self.updates = 0

    def event(self, logical_id: str, resource_type: str, status: str, reason: str = "") -> dict:
        return {"StackName": self.stack, "StackId": self.stack, "EventId": str(uuid.uuid4()),
                "LogicalResourceId": logical_id, "ResourceType": resource_type,
                "ResourceStatus": status, "ResourceStatusReason": reason,
                "Timestamp": datetime.datetime.now(datetime.UTC)}

    def __call__(self, model, params, **kwargs):
        body = params.get("body") or {}
        if not isinstance(body, dict) or body.get("StackName") != self.stack:
            return None
        if model.name == "UpdateStack" and not self.active:
            self.active, self.updates = True, self.updates + 1
            stack = "AWS::CloudFormation::Stack"
            self.events = [self.event(self.stack, stack, status, reason) for status, reason in (
                ("UPDATE_ROLLBACK_COMPLETE", ""),
                ("UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "
                                                f"[{self.resource}]."),
            )] + [self.event(self.resource, "AWS::ECS::Service", "UPDATE_FAILED", self.reason),
                  self.event(self.stack, stack, "UPDATE_IN_PROGRESS", "User Initiated")]
            return response({"StackId": self.stack})
        if not self.active:
            return None
        if model.name == "DescribeStackEvents":
            real = self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"]
            return response({"StackEvents": self.events + real})
        if model.name == "DescribeStacks":
            (real,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            return response({"Stacks": [{**real, "StackStatus": "UPDATE_ROLLBACK_COMPLETE"}]})
        return None
