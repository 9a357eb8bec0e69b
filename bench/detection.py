"""Table 1: how late a waiting tool notices that a stack operation finished, and how many
DescribeStacks + DescribeStackEvents calls per second it spends while waiting.

Each tool waits for its own small stacks (one SSM parameter each, updated with a new value
every round), all updated at once in every round, each operation lasting a random 2–20 s (set
per stack through the sandbox's `POST /stack-seconds`). The sandbox records the wall-clock time
each operation reached its terminal status (`finished_at` in `GET /status`); the delay is the
moment the tool's wait returned (`wait_for_stack` returning; the waiter's `wait()` returning;
the `aws` process exiting) minus that time.

- stackswap: `orchestrator.wait.wait_for_stack` on an `orchestrator.aws.Aws` built here on a
  boto3 session whose calls are counted (bench.calls).
- boto3: `client.get_waiter("stack_update_complete").wait(StackName=...)`, its defaults.
- AWS CLI: `aws cloudformation wait stack-update-complete` in a subprocess; its calls are
  counted from botocore's own `--debug` log of the process.
"""

from __future__ import annotations

import json
import random
import subprocess
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field

from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.model import SUCCEEDED
from stackswap.orchestrator.observe import newest_event_id
from stackswap.orchestrator.wait import SystemClock, wait_for_stack
from stackswap.sandbox.lifecycle import admin

from bench.calls import CallCounter, sandbox_session
from bench.stats import maximum, median, p90
from bench.tools import command, tool_env

REGION = "us-east-1"
WAIT_TIMEOUT_SECONDS = 120.0  # every operation here lasts at most 20 s; the CLI polls every 30
CREATE_SECONDS = 0.05
TEMPLATE = json.dumps({
    "Parameters": {"Round": {"Type": "String"}},
    "Resources": {"Marker": {"Type": "AWS::SSM::Parameter", "Properties": {
        "Name": {"Fn::Sub": "/bench/${AWS::StackName}"}, "Type": "String",
        "Value": {"Ref": "Round"}}}},
})
CLI_REQUEST_LINE = "Making request for OperationModel(name="


@dataclass(frozen=True)
class Sample:
    operation_seconds: float  # how long the sandbox kept the operation in progress
    delay: float  # the tool noticed − the stack finished, seconds
    calls: int  # DescribeStacks + DescribeStackEvents while waiting
    waited: float  # seconds from the update's return to the wait's return


@dataclass
class ToolResult:
    name: str
    samples: list[Sample] = field(default_factory=list)

    @property
    def delays(self) -> list[float]:
        return [s.delay for s in self.samples]

    @property
    def calls_per_second(self) -> float:
        waited = sum(s.waited for s in self.samples)
        return sum(s.calls for s in self.samples) / waited if waited else float("nan")

    def summary(self) -> tuple[float, float, float]:
        return median(self.delays), p90(self.delays), maximum(self.delays)


def _parameters(value: str) -> list[dict]:
    return [{"ParameterKey": "Round", "ParameterValue": value}]


class Worker:
    """Waits for one stack with one tool; `wait_round` updates it and waits, returning
    (wall-clock time the wait returned, describe calls, seconds waited)."""

    tool = ""

    def __init__(self, env: dict[str, str], stack: str) -> None:
        self.env, self.stack = env, stack
        self.session = sandbox_session(REGION)
        self.counter = CallCounter(self.session)
        self.problem: str | None = None

    def cfn(self):
        return self.session.client("cloudformation", endpoint_url=self.env["AWS_ENDPOINT_URL"])

    def wait_round(self, value: str) -> tuple[float, int, float]:
        raise NotImplementedError


class StackswapWorker(Worker):
    tool = "stackswap (`wait_for_stack`)"

    def __init__(self, env: dict[str, str], stack: str) -> None:
        super().__init__(env, stack)
        self.aws = Aws(self.session, env["AWS_ENDPOINT_URL"])

    def wait_round(self, value: str) -> tuple[float, int, float]:
        marker = newest_event_id(self.aws, self.stack)  # as orchestrator/stack_operation.py does
        self.aws.update_stack(self.stack, {"Round": value}, body=TEMPLATE)
        before, started = self.counter.describe_calls(), time.monotonic()
        result = wait_for_stack(self.aws, self.stack, marker=marker,
                                timeout=WAIT_TIMEOUT_SECONDS, clock=SystemClock())
        noticed = time.time()
        if result.outcome != SUCCEEDED:
            self.problem = f"{self.stack}: {result.status}"
        return noticed, self.counter.describe_calls() - before, time.monotonic() - started


class Boto3WaiterWorker(Worker):
    tool = "boto3 `stack_update_complete` waiter"

    def wait_round(self, value: str) -> tuple[float, int, float]:
        client = self.cfn()
        client.update_stack(StackName=self.stack, TemplateBody=TEMPLATE,
                            Parameters=_parameters(value))
        before, started = self.counter.describe_calls(), time.monotonic()
        client.get_waiter("stack_update_complete").wait(StackName=self.stack)  # its defaults
        noticed = time.time()
        return noticed, self.counter.describe_calls() - before, time.monotonic() - started


class CliWaitWorker(Worker):
    tool = "`aws cloudformation wait stack-update-complete`"

    def wait_round(self, value: str) -> tuple[float, int, float]:
        self.cfn().update_stack(StackName=self.stack, TemplateBody=TEMPLATE,
                                Parameters=_parameters(value))
        started = time.monotonic()
        result = subprocess.run(
            [*command("aws"), "cloudformation", "wait", "stack-update-complete", "--stack-name",
             self.stack, "--debug"], env=tool_env(self.env), capture_output=True, text=True,
            timeout=WAIT_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        noticed = time.time()
        if result.returncode != 0:
            self.problem = f"{self.stack}: aws exited {result.returncode}"
        calls = sum(f"{CLI_REQUEST_LINE}{name})" in line for line in result.stderr.splitlines()
                    for name in ("DescribeStacks", "DescribeStackEvents"))
        return noticed, calls, time.monotonic() - started


def _finished_at(env: dict[str, str]) -> dict[str, float | None]:
    status, body = admin(env, "GET", "/status")
    if status != 200:
        raise RuntimeError(f"sandbox status failed: {body}")
    return {stack["name"]: stack["finished_at"] for stack in body["stacks"]}


def _create(env: dict[str, str], workers: list[Worker]) -> None:
    cfn = workers[0].cfn()
    for worker in workers:
        admin(env, "POST", "/stack-seconds", {"seconds": CREATE_SECONDS,
                                              "stack": worker.stack})
        cfn.create_stack(StackName=worker.stack, TemplateBody=TEMPLATE,
                         Parameters=_parameters("round-0"))
    deadline = time.monotonic() + 60
    while not all(_finished_at(env).get(w.stack) for w in workers):
        if time.monotonic() >= deadline:
            raise RuntimeError("the benchmark's stacks were not created within 60 s")
        time.sleep(0.1)  # polling the sandbox for the creates, bounded by the deadline


def run(env: dict[str, str], rounds: int, rng: random.Random, workers_per_tool: dict[str, int],
        low: float = 2.0, high: float = 20.0,
        say: Callable[[str], None] = print) -> tuple[list[ToolResult], list[str]]:
    kinds: dict[str, type[Worker]] = {"stackswap": StackswapWorker, "boto3": Boto3WaiterWorker,
                                      "cli": CliWaitWorker}
    workers = [kinds[kind](env, f"bench-{kind}-{index}")
               for kind, count in workers_per_tool.items() for index in range(1, count + 1)]
    _create(env, workers)
    results = {kind.tool: ToolResult(kind.tool) for kind in kinds.values()
               if any(isinstance(w, kind) for w in workers)}
    problems: list[str] = []
    for round_number in range(1, rounds + 1):
        # Not rounded: lengths on a 0.1 s grid would fall in step with the polls (0.1 s, then
        # 0.3, 0.7, 1.5, 2.3, …) and make the delay look about 0.05 s shorter than it is.
        lengths = {w.stack: rng.uniform(low, high) for w in workers}
        for worker in workers:
            admin(env, "POST", "/stack-seconds", {"seconds": lengths[worker.stack],
                                                  "stack": worker.stack})
        started = time.monotonic()
        with ThreadPoolExecutor(len(workers)) as pool:
            waits = [pool.submit(w.wait_round, f"round-{round_number}") for w in workers]
            noticed = [future.result() for future in waits]
        finished = _finished_at(env)
        for worker, (when, calls, waited) in zip(workers, noticed, strict=True):
            if worker.problem or finished.get(worker.stack) is None:
                problems.append(worker.problem or f"{worker.stack}: no finish time")
                worker.problem = None
                continue
            results[worker.tool].samples.append(Sample(
                lengths[worker.stack], when - finished[worker.stack], calls, waited))
        say(f"  detection round {round_number}/{rounds}: {len(workers)} stacks, "
            f"{time.monotonic() - started:.0f} s")
    return list(results.values()), problems
