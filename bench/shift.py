"""Table 4: traffic shifting on the sandbox, with real HTTP through the production proxy.

- the production split observed at each step of a linear shift (25 % steps) over the requests
  sent while the step was held, against the step's weights;
- failed requests across a whole linear shift, and across a shift stopped by SIGTERM and rolled
  back in the middle;
- from an alarm set to ALARM during a step to production all back on the old colour, against
  one ALB stack update plus 2 s;
- a rollback to a retired colour (its tasks started, verified, then the swap), next to the time
  the sandbox takes to start the tasks and pass their health checks.

A request loop GETs production as fast as it answers, recording (time, answer); a watcher reads
the production listener's weights with DescribeListeners every 0.05 s, recording when they
change. Requests are counted in a step from 0.3 s after its weights appear to 0.3 s before they
change (the proxy follows the listener within a tick).
"""

from __future__ import annotations

import itertools
import signal
import subprocess
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from stackswap.environment.load import load_config
from stackswap.sandbox.lifecycle import admin

from bench.calls import sandbox_session
from bench.tools import command, tool_env

REGION = "us-east-1"
STEP_PERCENT = 25
STEP_SECONDS = 8  # long enough for well over 2,000 requests per step on the sandbox
ALB_SECONDS = 1.0  # each ALB stack update
SERVICE_SECONDS = 0.5
EDGE_SECONDS = 0.3
ALARM = "bench-5xx"
RUN_TIMEOUT_SECONDS = 300.0


@dataclass
class StepSplit:
    weight: int  # the new colour's weight
    requests: int
    observed: float  # percent of those requests the new colour answered


@dataclass
class ShiftResult:
    steps: list[StepSplit] = field(default_factory=list)
    shift_sent: int = 0
    shift_failed: int = 0
    rollback_sent: int = 0
    rollback_failed: int = 0
    alarm_back_seconds: float | None = None
    retired_rollback_seconds: float | None = None
    task_start_seconds: float | None = None
    problems: list[str] = field(default_factory=list)


class Traffic:
    """The request loop and the listener watcher."""

    def __init__(self, env: dict[str, str]) -> None:
        self.url = env["STACKSWAP_SANDBOX_PROD_URL"] + "/"
        config = load_config(env["STACKSWAP_CONFIG"])
        session = sandbox_session(REGION)
        self.cfn = session.client("cloudformation", endpoint_url=env["AWS_ENDPOINT_URL"])
        self.elbv2 = session.client("elbv2", endpoint_url=env["AWS_ENDPOINT_URL"])
        self.alb = config.alb_stack
        self.answers: list[tuple[float, str | None]] = []
        self.weights: list[tuple[float, dict[str, int]]] = []
        self._stop = threading.Event()

    def outputs(self) -> dict[str, str]:
        (stack,) = self.cfn.describe_stacks(StackName=self.alb)["Stacks"]
        return {o["OutputKey"]: o["OutputValue"] for o in stack.get("Outputs", [])}

    def split(self) -> dict[str, int]:
        outputs = self.outputs()
        colors = {outputs[f"{c.capitalize()}TargetGroupArn"]: c for c in ("blue", "green")}
        (listener,) = self.elbv2.describe_listeners(
            ListenerArns=[outputs["ProductionListenerArn"]])["Listeners"]
        (action,) = listener["DefaultActions"]
        groups = action.get("ForwardConfig", {}).get("TargetGroups") or [
            {"TargetGroupArn": action["TargetGroupArn"], "Weight": 1}]
        return {colors.get(g["TargetGroupArn"], "?"): int(g.get("Weight", 1))
                for g in groups if int(g.get("Weight", 1)) > 0}

    def _requests(self) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while not self._stop.is_set() and time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(self.url, timeout=5) as response:
                    answer: str | None = response.read().decode().strip()
            except (urllib.error.URLError, OSError):
                answer = None
            self.answers.append((time.monotonic(), answer))

    def _watch(self) -> None:
        deadline = time.monotonic() + RUN_TIMEOUT_SECONDS
        while not self._stop.is_set() and time.monotonic() < deadline:
            split = self.split()
            if not self.weights or self.weights[-1][1] != split:
                self.weights.append((time.monotonic(), split))
            time.sleep(0.05)

    @contextmanager
    def running(self) -> Iterator[Traffic]:
        self._stop.clear()
        self.answers, self.weights = [], []
        threads = [threading.Thread(target=target, daemon=True)
                   for target in (self._requests, self._watch)]
        for thread in threads:
            thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            for thread in threads:
                thread.join(timeout=10)

    def failed(self) -> int:
        return sum(answer is None for _, answer in self.answers)

    def wait_for(self, condition: Callable[[dict[str, int]], bool], timeout: float = 60.0,
                 after: float = 0.0) -> float | None:
        """The time the watcher first saw weights meeting `condition` (after `after`),
        waiting for it."""
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for seen, split in list(self.weights):
                if seen >= after and condition(split):
                    return seen
            time.sleep(0.02)
        return None


def main() -> int:
    """`python -m bench.shift`: this table alone, on its own sandbox (a few minutes)."""
    import tempfile
    from pathlib import Path

    from stackswap.sandbox.lifecycle import running_sandbox

    with tempfile.TemporaryDirectory(prefix="stackswap-shift-") as directory, \
            running_sandbox(Path(directory) / "sandbox", stack_seconds=0.01,
                            health_check_seconds=0.01, drain_seconds=0.01,
                            tick_seconds=0.01) as env:
        subprocess.run([*command("stackswap"), "deploy", "--image", "app:v1"],
                       env=tool_env(env), capture_output=True, check=True, timeout=300)
        print(run(env))
    return 0


class Shifter:
    def __init__(self, env: dict[str, str]) -> None:
        self.sandbox_env = env
        self.env = tool_env(env)
        self.config = load_config(env["STACKSWAP_CONFIG"])
        self.traffic = Traffic(env)
        self.cloudwatch = sandbox_session(REGION).client("cloudwatch",
                                                         endpoint_url=env["AWS_ENDPOINT_URL"])
        self.version = 100
        self.result = ShiftResult()

    def configure(self) -> None:
        """25 % steps held 8 s, the bench alarm as a rollback trigger; ALB updates of 1 s."""
        self.set_alarm("OK")
        path = self.sandbox_env["STACKSWAP_CONFIG"]
        with open(path, encoding="utf-8") as file:
            text = file.read()
        keys = (f'step_percent = {STEP_PERCENT}\nstep_interval = "{STEP_SECONDS}s"\n'
                f'alarms = ["{ALARM}"]')
        with open(path, "w", encoding="utf-8") as file:
            file.write(text.replace("[deploy]", f"[deploy]\n{keys}", 1))
        for stack, seconds in ((self.config.service_stack("blue"), SERVICE_SECONDS),
                               (self.config.service_stack("green"), SERVICE_SECONDS),
                               (self.config.alb_stack, ALB_SECONDS)):
            status, body = admin(self.sandbox_env, "POST", "/stack-seconds",
                                 {"seconds": seconds, "stack": stack})
            if status != 200:
                raise RuntimeError(f"the sandbox refused /stack-seconds: {body}")

    def set_alarm(self, state: str) -> None:
        if state == "OK":
            self.cloudwatch.put_metric_alarm(
                AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count",
                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                EvaluationPeriods=1, Threshold=1, ComparisonOperator="GreaterThanThreshold")
        self.cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="bench")

    def image(self) -> str:
        self.version += 1
        return f"app:v{self.version}"

    def stackswap(self, *args: str, expect: int = 0) -> subprocess.CompletedProcess:
        result = subprocess.run([*command("stackswap"), *args], env=self.env,
                                capture_output=True, text=True, timeout=RUN_TIMEOUT_SECONDS,
                                stdin=subprocess.DEVNULL)
        if result.returncode != expect:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            self.result.problems.append(f"`stackswap {' '.join(args)}` exited "
                                        f"{result.returncode} (expected {expect}): {last}")
        return result

    def start(self, *args: str) -> subprocess.Popen:
        return subprocess.Popen([*command("stackswap"), *args], env=self.env,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
                                stdin=subprocess.DEVNULL)

    def whole_shift(self) -> None:
        image, old = self.image(), next(iter(self.traffic.split()))
        new = "green" if old == "blue" else "blue"
        with self.traffic.running() as traffic:
            self.stackswap("deploy", "--image", image, "--strategy", "linear")
        self.result.shift_sent, self.result.shift_failed = len(traffic.answers), traffic.failed()
        changes = [*traffic.weights, (time.monotonic(), {})]
        for (start, split), (end, _) in itertools.pairwise(changes):
            if len(split) != 2:
                continue
            window = [answer for seen, answer in traffic.answers
                      if start + EDGE_SECONDS <= seen <= end - EDGE_SECONDS and answer]
            served_new = sum(answer == f"hello from {image}" for answer in window)
            self.result.steps.append(StepSplit(
                split.get(new, 0), len(window),
                100.0 * served_new / len(window) if window else 0.0))

    def rollback_mid_shift(self) -> None:
        with self.traffic.running() as traffic:
            run = self.start("deploy", "--image", self.image(), "--strategy", "linear")
            if traffic.wait_for(lambda split: len(split) == 2) is None:
                self.result.problems.append("the shift to stop never split production")
            run.send_signal(signal.SIGTERM)
            run.wait(timeout=60)
            self.stackswap("rollback")
        self.result.rollback_sent = len(traffic.answers)
        self.result.rollback_failed = traffic.failed()

    def alarm_during_a_step(self) -> None:
        old = next(iter(self.traffic.split()))
        with self.traffic.running() as traffic:
            run = self.start("deploy", "--image", self.image(), "--strategy", "linear")
            if traffic.wait_for(lambda split: len(split) == 2) is None:
                self.result.problems.append("the shift never split production")
            fired = time.monotonic()
            self.set_alarm("ALARM")
            back = traffic.wait_for(lambda split: split == {old: 100}, timeout=60,
                                    after=fired)
            if run.wait(timeout=120) != 5:
                self.result.problems.append(f"the deploy an alarm stopped exited "
                                            f"{run.returncode}, expected 5")
        self.set_alarm("OK")
        self.result.alarm_back_seconds = None if back is None else back - fired

    def rollback_to_retired(self) -> None:
        self.stackswap("deploy", "--image", self.image())
        self.stackswap("retire")
        idle = "green" if next(iter(self.traffic.split())) == "blue" else "blue"
        arn = self.traffic.outputs()[f"{idle.capitalize()}TargetGroupArn"]
        healthy: list[float] = []

        def watch_health(stop: threading.Event) -> None:
            while not stop.is_set():
                states = [d["TargetHealth"]["State"] for d in
                          self.traffic.elbv2.describe_target_health(
                              TargetGroupArn=arn)["TargetHealthDescriptions"]]
                if states and all(state == "healthy" for state in states):
                    healthy.append(time.monotonic())
                    return
                time.sleep(0.05)

        stop = threading.Event()
        watcher = threading.Thread(target=watch_health, args=(stop,), daemon=True)
        started = time.monotonic()
        watcher.start()
        self.stackswap("rollback")
        self.result.retired_rollback_seconds = time.monotonic() - started
        stop.set()
        watcher.join(timeout=5)
        self.result.task_start_seconds = healthy[0] - started if healthy else None


def run(env: dict[str, str], say: Callable[[str], None] = print) -> ShiftResult:
    shifter = Shifter(env)
    shifter.configure()
    say("  a whole linear shift …")
    shifter.whole_shift()
    say("  a shift stopped by SIGTERM and rolled back …")
    shifter.rollback_mid_shift()
    say("  an alarm during a step …")
    shifter.alarm_during_a_step()
    say("  a rollback to a retired colour …")
    shifter.rollback_to_retired()
    return shifter.result


if __name__ == "__main__":
    raise SystemExit(main())
