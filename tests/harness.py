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
import socket
import threading
import time
import types
import uuid
from collections import Counter
from collections.abc import Callable
from contextlib import redirect_stderr, redirect_stdout
from dataclasses import dataclass, field
from io import StringIO
from typing import Any
from urllib.parse import urlsplit

import boto3
import botocore.awsrequest
import botocore.exceptions
from stackswap.orchestrator import cli
from stackswap.orchestrator.aws import Aws
from stackswap.sandbox.environment import client, session

MUTATING = {"CreateStack", "UpdateStack", "DeleteStack", "CancelUpdateStack", "PutParameter",
            "DeleteParameter",
            "ContinueUpdateRollback", "SetStackPolicy", "UpdateTerminationProtection",
            "ExecuteChangeSet", "ModifyListener", "UpdateService", "RegisterTargets"}

# IAM action prefixes that differ from the botocore endpoint prefix (elbv2's endpoint prefix is
# already "elasticloadbalancing", CloudFormation's "cloudformation", ECS's "ecs").
IAM_PREFIXES = {"monitoring": "cloudwatch", "api.ecr": "ecr"}


def weighted(action: dict) -> list[tuple[str, int]]:
    """(target group ARN, weight) of a forward action as ELB describes it: a ForwardConfig
    with each group's weight, or one TargetGroupArn (weight 1)."""
    groups = action.get("ForwardConfig", {}).get("TargetGroups")
    if groups:
        return [(group["TargetGroupArn"], int(group.get("Weight", 1))) for group in groups]
    return [(action["TargetGroupArn"], 1)]


def forwards(elbv2, listener_arn: str) -> str:
    """The one target group a listener sends requests to (weight > 0)."""
    (listener,) = elbv2.describe_listeners(ListenerArns=[listener_arn])["Listeners"]
    (action,) = listener["DefaultActions"]
    (arn,) = [arn for arn, weight in weighted(action) if weight > 0]
    return arn


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


def fresh_session(region: str) -> boto3.Session:
    """A new boto3 session (its own events, credentials, clients) sharing one botocore data
    loader: every session would otherwise parse botocore's JSON models again (~0.3 s a run)."""
    return session(region)


@dataclass
class HookedAws:
    """A `connect_aws` for cli.main whose sessions carry the test's botocore hooks."""

    hooks: list[tuple[str, Callable]] = field(default_factory=list)
    calls: list[str] = field(default_factory=list)
    # The same calls as IAM actions ("elasticloadbalancing:DescribeListeners"), which is what a
    # policy must allow: tests/test_deploy_role.py compares them with the deploy role.
    actions: list[str] = field(default_factory=list)

    def __call__(self, region: str, profile: str | None, endpoint: str | None) -> Aws:
        session = fresh_session(region)
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
    logic but no real delay (moto finishes every stack operation at once anyway). Its wall
    clock (the lock's expiry) starts at the real one and moves with it."""

    def __init__(self) -> None:
        self.time = 1000.0
        self.slept: list[float] = []
        self.epoch = time.time() - self.time

    def now(self) -> float:
        return self.time

    def wall(self) -> float:
        return self.epoch + self.time

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
        # One client per service: creating one costs more than most calls to moto.
        cache = self.__dict__.setdefault("_clients", {})
        if service not in cache:
            cache[service] = fresh_session(self.region).client(
                service, endpoint_url=self.endpoint, aws_access_key_id="sandbox",
                aws_secret_access_key="sandbox")
        return cache[service]

    def run(self, *argv: str, capsys=None, **kwargs) -> Result:
        out = StringIO()
        with redirect_stdout(out):
            kwargs.setdefault("clock", VirtualClock())
            code = cli.main([*argv, "--config", str(self.config_path)],
                            connect_aws=self.aws, **kwargs)
        err = capsys.readouterr().err if capsys else ""
        return Result(code, out.getvalue(), err)

    def call(self, *argv: str, config: bool = True, **kwargs) -> Result:
        """Like run, but stderr is captured too and argparse's SystemExit becomes the code."""
        extra = ["--config", str(self.config_path)] if config else []
        return invoke([*argv, *extra], self.aws, **kwargs)

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
        arn = forwards(self.client("elbv2"), outputs[key])
        return next(c for c in ("blue", "green") if outputs[f"{c.capitalize()}TargetGroupArn"]
                    == arn)


def invoke(argv: list[str], connect_aws: Callable, **kwargs) -> Result:
    """cli.main in-process with stdout and stderr captured; argparse's exit becomes a code."""
    out, err = StringIO(), StringIO()
    kwargs.setdefault("clock", VirtualClock())
    with redirect_stdout(out), redirect_stderr(err):
        try:
            code = cli.main(argv, connect_aws=connect_aws, **kwargs)
        except SystemExit as exit_:
            code = exit_.code if isinstance(exit_.code, int) else 2
    return Result(code, out.getvalue(), err.getvalue())


def arrange_tasks(endpoint: str, region: str, cluster: str) -> Callable:
    ecs, elbv2 = client("ecs", endpoint, region), client("elbv2", endpoint, region)

    def after_create(**kwargs) -> None:
        # ECS registers one target per task of a service in the service's target group.
        wanted: dict[str, int] = {}
        for arn in ecs.list_services(cluster=cluster)["serviceArns"]:
            (service,) = ecs.describe_services(cluster=cluster, services=[arn])["services"]
            if service["runningCount"] != service["desiredCount"]:
                ecs.update_service(cluster=cluster, service=arn,
                                   desiredCount=service["desiredCount"])
            for balancer in service.get("loadBalancers", []):
                wanted[balancer["targetGroupArn"]] = service["desiredCount"]
        for group in elbv2.describe_target_groups()["TargetGroups"]:
            arn = group["TargetGroupArn"]
            have = len(elbv2.describe_target_health(TargetGroupArn=arn)[
                "TargetHealthDescriptions"])
            count = max(wanted.get(arn, 1), 1)
            if have < count:
                elbv2.register_targets(TargetGroupArn=arn, Targets=[
                    {"Id": f"10.0.0.{10 + index}", "Port": 8000}
                    for index in range(have, count)])

    return after_create


class FailingUpdate:
    """Makes the next UpdateStack of one stack fail and roll back, as CloudFormation reports
    it: the request never reaches moto (so the stack keeps its previous parameters) and the
    stack's events and status then tell of a failed resource and a completed rollback.
    `final="UPDATE_ROLLBACK_FAILED"` makes the rollback fail too."""

    def __init__(self, env: Env, stack: str, resource: str, reason: str, *,
                 resource_type: str = "AWS::ECS::Service",
                 final: str = "UPDATE_ROLLBACK_COMPLETE") -> None:
        self.cfn = env.client("cloudformation")
        self.stack, self.resource, self.reason = stack, resource, reason
        self.resource_type, self.final = resource_type, final
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
                (self.final, ""),
                ("UPDATE_ROLLBACK_IN_PROGRESS", "The following resource(s) failed to update: "
                                                f"[{self.resource}]."),
            )] + [self.event(self.resource, self.resource_type, "UPDATE_FAILED", self.reason),
                  self.event(self.stack, stack, "UPDATE_IN_PROGRESS", "User Initiated")]
            return response({"StackId": self.stack})
        if not self.active:
            return None
        if model.name == "DescribeStackEvents":
            real = self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"]
            return response({"StackEvents": self.events + real})
        if model.name == "DescribeStacks":
            (real,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            return response({"Stacks": [{**real, "StackStatus": self.final}]})
        return None


# --- more of what moto cannot produce ---------------------------------------------------------

STACK_TYPE = "AWS::CloudFormation::Stack"


def error_response(code: str, message: str, status: int = 400) -> tuple:
    """A before-call short-circuit that botocore turns into a ClientError (no retries)."""
    http = botocore.awsrequest.AWSResponse("http://injected", status, {}, None)
    return http, {"Error": {"Code": code, "Message": message},
                  "ResponseMetadata": {"HTTPStatusCode": status, "RequestId": "injected"}}


class _Body:
    def __init__(self, data: bytes) -> None:
        self.data = data

    def stream(self, **kwargs):
        yield self.data


def http_error(code: str, message: str, status: int, *, json_protocol: bool = False):
    """An HTTP answer for a before-send hook: botocore parses it and its retry handler decides,
    exactly as for a reply from AWS. Query protocol (CloudFormation, ELBv2) unless json."""
    if json_protocol:
        body = f'{{"__type": "{code}", "message": "{message}"}}'.encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "application/x-amz-json-1.1"}
    else:
        body = (f"<ErrorResponse><Error><Type>Sender</Type><Code>{code}</Code><Message>{message}"
                f"</Message></Error><RequestId>injected</RequestId></ErrorResponse>").encode()
        headers = {"x-amzn-RequestId": "injected", "Content-Type": "text/xml"}
    return botocore.awsrequest.AWSResponse("http://injected", status, headers, _Body(body))


def operation_of(request) -> str:
    """The operation name of a botocore request in a before-send hook."""
    target = request.headers.get("X-Amz-Target", b"")
    if target:
        return (target.decode() if isinstance(target, bytes) else target).rsplit(".", 1)[-1]
    body = request.body.decode() if isinstance(request.body, bytes) else (request.body or "")
    for part in body.split("&"):
        if part.startswith("Action="):
            return part[len("Action="):]
    return ""


def botocore_sleeps_on(monkeypatch, clock: VirtualClock) -> None:
    """botocore's retry backoff sleeps on the virtual clock (the time boundary of botocore)."""
    import botocore.endpoint
    monkeypatch.setattr(botocore.endpoint, "time", types.SimpleNamespace(sleep=clock.sleep))


@dataclass
class Requests:
    """Records every API call's parameters (before-parameter-build), e.g. UpdateStack per stack
    and the ClientRequestToken of each mutating call."""

    seen: list[tuple[str, dict]] = field(default_factory=list)

    def install(self, aws: HookedAws) -> Requests:
        aws.hooks.append(("before-parameter-build.*.*", self))
        return self

    def __call__(self, params, model, **kwargs) -> None:
        self.seen.append((model.name, dict(params)))

    def of(self, operation: str) -> list[dict]:
        return [params for name, params in self.seen if name == operation]

    def updated_stacks(self) -> list[str]:
        return [params["StackName"] for params in self.of("UpdateStack")]


class ScriptedStack:
    """One stack reports the status and events a script gives it, in situations moto cannot
    produce. The script only ever answers DescribeStacks/DescribeStackEvents (and the operations
    a subclass handles) for its own stack; everything else is moto's. Injected events are merged
    with moto's by time, newest first, as CloudFormation lists them."""

    def __init__(self, env: Env, stack: str) -> None:
        self.cfn = env.client("cloudformation")
        self.stack = stack
        self.status: str | None = None  # None: moto's own status
        self.reason = ""
        self.events: list[dict] = []
        self.calls: Counter = Counter()
        # While a status is scripted, moto's own events from this time on are not shown.
        self.hidden_since: datetime.datetime | None = None

    def install(self) -> ScriptedStack:
        return self

    def hide_last_operation(self) -> None:
        """Hide the events of the operation moto has just finished at once (from its start
        event on) while a status is scripted: the script tells that operation's story."""
        real = self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"]
        self.hidden_since = next(e["Timestamp"] for e in real if e["LogicalResourceId"] ==
                                 self.stack and e["ResourceStatus"].endswith("_IN_PROGRESS")
                                 and "CLEANUP" not in e["ResourceStatus"])

    def add_event(self, logical_id: str, status: str, reason: str = "",
                  resource_type: str = STACK_TYPE) -> None:
        self.events.append({
            "StackName": self.stack, "StackId": self.stack, "EventId": str(uuid.uuid4()),
            "LogicalResourceId": logical_id, "ResourceType": resource_type,
            "ResourceStatus": status, "ResourceStatusReason": reason,
            "Timestamp": datetime.datetime.now(datetime.UTC)})

    def become(self, status: str | None, reason: str = "") -> None:
        """Report `status` from now on (with a stack event); None hands back to moto."""
        if status is not None:
            self.add_event(self.stack, status, reason)
        self.status, self.reason = status, reason

    # What a subclass may script; None lets the call through to moto.
    def on_operation(self, operation: str, body: dict):
        return None

    def on_poll(self) -> None:
        pass

    def __call__(self, model, params, **kwargs):
        body = params.get("body") or {}
        if not isinstance(body, dict) or body.get("StackName") != self.stack:
            return None
        self.calls[model.name] += 1
        if model.name == "DescribeStackEvents":
            self.on_poll()
            if not self.events:
                return None
            real = self.cfn.describe_stack_events(StackName=self.stack)["StackEvents"]
            if self.status is not None and self.hidden_since is not None:
                real = [e for e in real if e["Timestamp"] < self.hidden_since]
            merged = sorted(real + self.events, key=lambda e: e["Timestamp"], reverse=True)
            return response({"StackEvents": merged})
        if model.name == "DescribeStacks":
            if self.status is None:
                return None
            (real,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            return response({"Stacks": [{**real, "StackStatus": self.status,
                                         "StackStatusReason": self.reason}]})
        return self.on_operation(model.name, body)


class StatusAtStart(ScriptedStack):
    """A stack found in `status` (left by an earlier failure, a person, or a run that is gone).
    With `polls`, an operation in progress that finishes (`then`) after that many
    DescribeStackEvents polls; otherwise the status stays until an update of the stack, which
    moto then applies."""

    def __init__(self, env: Env, stack: str, status: str, *, reason: str = "",
                 polls: int | None = None, then: str = "UPDATE_COMPLETE") -> None:
        super().__init__(env, stack)
        self.polls, self.then = polls, then
        self.become(status, reason)

    def on_poll(self) -> None:
        if self.polls is not None and self.status is not None:
            self.polls -= 1
            if self.polls < 0:
                self.add_event(self.stack, self.then)
                self.status = None

    def on_operation(self, operation: str, body: dict):
        if operation == "UpdateStack":
            self.status = None
        if operation == "ContinueUpdateRollback" and self.status == "UPDATE_ROLLBACK_FAILED":
            self.become("UPDATE_ROLLBACK_COMPLETE")
            return response({})
        return None


class StuckUpdate(ScriptedStack):
    """The next UpdateStack of the stack never finishes (tasks never become healthy, so ECS
    never reaches a steady state): UPDATE_IN_PROGRESS until someone cancels it; then it rolls
    back. The update is never applied in moto."""

    def __init__(self, env: Env, stack: str) -> None:
        super().__init__(env, stack)
        self.updates = self.cancels = 0

    def on_operation(self, operation: str, body: dict):
        if operation == "UpdateStack" and self.status is None:
            self.updates += 1
            self.become("UPDATE_IN_PROGRESS", "User Initiated")
            self.add_event("Service", "UPDATE_IN_PROGRESS", "", "AWS::ECS::Service")
            return response({"StackId": self.stack})
        if operation == "CancelUpdateStack" and self.status == "UPDATE_IN_PROGRESS":
            self.cancels += 1
            self.become("UPDATE_ROLLBACK_IN_PROGRESS", "Resource update cancelled")
            self.add_event("Service", "UPDATE_FAILED", "Resource update cancelled",
                           "AWS::ECS::Service")
            self.become("UPDATE_ROLLBACK_COMPLETE")
            return response({})
        return None


class MonitoringWindow(ScriptedStack):
    """CloudFormation's monitoring time, on the virtual clock: an update of the stack that asks
    for MonitoringTimeInMinutes is applied by moto at once, then the stack stays
    UPDATE_IN_PROGRESS until that many minutes of `clock` have passed, and completes
    ("monitor all the rollback triggers after the stack creation or update operation deploys
    all necessary resources", RollbackConfiguration, CloudFormation API reference).
    CancelUpdateStack in the window puts the stack's previous parameters back and rolls it
    back. While the window runs, moto's events (which do not change) are read once."""

    def __init__(self, env: Env, stack: str, clock: VirtualClock) -> None:
        super().__init__(env, stack)
        self.clock = clock
        self.asked: tuple[int, list[dict]] | None = None
        self.ends: float | None = None
        self.previous: list[dict] = []
        self.real: list[dict] | None = None
        self.cancels = self.completed = 0

    def install(self, aws: HookedAws) -> MonitoringWindow:
        aws.hooks += [("before-parameter-build.cloudformation.UpdateStack", self.request),
                      ("after-call.cloudformation.UpdateStack", self.applied),
                      ("before-call.cloudformation.*", self)]
        return self

    def request(self, params, **kwargs) -> None:
        if params.get("StackName") == self.stack:
            minutes = int(params.get("RollbackConfiguration", {}).get(
                "MonitoringTimeInMinutes", 0))
            (stack,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            self.asked = (minutes, [{"ParameterKey": p["ParameterKey"],
                                     "ParameterValue": p["ParameterValue"]}
                                    for p in stack["Parameters"]])

    def applied(self, http_response, **kwargs) -> None:
        asked, self.asked = self.asked, None
        if asked is None or not asked[0] or http_response.status_code >= 300:
            return
        minutes, self.previous = asked
        self.hide_last_operation()
        self.real = [e for e in self.cfn.describe_stack_events(StackName=self.stack)[
            "StackEvents"] if e["Timestamp"] < self.hidden_since]
        self.become("UPDATE_IN_PROGRESS", "User Initiated")
        self.add_event("ProductionListener", "UPDATE_COMPLETE", "",
                       "AWS::ElasticLoadBalancingV2::Listener")
        self.ends = self.clock.now() + 60 * minutes

    def on_poll(self) -> None:
        if self.status == "UPDATE_IN_PROGRESS" and self.clock.now() >= self.ends:
            self.completed += 1
            self.add_event(self.stack, "UPDATE_COMPLETE")
            self.status, self.real = None, None

    def __call__(self, model, params, **kwargs):
        body = params.get("body") or {}
        if model.name == "DescribeStackEvents" and self.real is not None \
                and isinstance(body, dict) and body.get("StackName") == self.stack:
            self.on_poll()
            if self.real is not None:
                merged = sorted(self.real + self.events, key=lambda e: e["Timestamp"],
                                reverse=True)
                return response({"StackEvents": merged})
        return super().__call__(model, params, **kwargs)

    def on_operation(self, operation: str, body: dict):
        if operation == "CancelUpdateStack" and self.status == "UPDATE_IN_PROGRESS":
            self.cancels += 1
            self.cfn.update_stack(StackName=self.stack, UsePreviousTemplate=True,
                                  Parameters=self.previous)
            self.become("UPDATE_ROLLBACK_IN_PROGRESS", "Resource update cancelled")
            self.become("UPDATE_ROLLBACK_COMPLETE")
            self.real = None
            return response({})
        return None


class LostReply:
    """The request reaches AWS and is applied, then the connection drops before the reply:
    an after-call hook that raises for the first `times` calls of one operation (of one stack
    when `stack` is given)."""

    def __init__(self, operation: str, stack: str | None = None, times: int = 1) -> None:
        self.operation, self.stack, self.times = operation, stack, times
        self.lost = 0
        self.pending: list[str | None] = []

    def install(self, aws: HookedAws) -> LostReply:
        aws.hooks.append((f"before-call.*.{self.operation}", self.sent))
        aws.hooks.append((f"after-call.*.{self.operation}", self))
        return self

    def sent(self, params, **kwargs) -> None:
        body = params.get("body")
        self.pending.append(body.get("StackName") if isinstance(body, dict) else None)

    def __call__(self, **kwargs) -> None:
        stack = self.pending.pop() if self.pending else None
        if self.stack and stack != self.stack:
            return
        if self.lost < self.times:
            self.lost += 1
            raise botocore.exceptions.ConnectionClosedError(endpoint_url="http://moto")


def wait_for(condition: Callable[[], Any], what: str, timeout: float = 15.0) -> Any:
    """Poll `condition` until it is truthy (its value) or `timeout` passes (AssertionError)."""
    deadline = time.monotonic() + timeout
    while True:
        value = condition()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(f"timed out after {timeout} s waiting for {what}")
        time.sleep(0.05)  # poll interval, not a wait for something


def no_http_answer(url: str) -> bool:
    """A request to `url` gets no HTTP answer: the connection is refused, reset or closed
    before any byte (a listener proxy with nothing behind it, a security group's drop)."""
    parts = urlsplit(url)
    with socket.socket() as probe:
        probe.settimeout(5)
        try:
            probe.connect((parts.hostname, parts.port))
            probe.sendall(b"GET / HTTP/1.1\r\nHost: x\r\n\r\n")
            return probe.recv(100) == b""
        except (ConnectionResetError, ConnectionRefusedError, BrokenPipeError):
            return True


def append_table(env, table: str, **values: str) -> None:
    """Append a [table] with these keys (TOML values, e.g. '"text"', "5") to the env's config."""
    body = "".join(f"{key} = {value}\n" for key, value in values.items())
    env.config_path.write_text(env.config_path.read_text() + f"\n[{table}]\n{body}")
