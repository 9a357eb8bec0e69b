"""Table 2: a whole deploy — update the idle colour, wait, (verify,) swap, wait (, verify) —
by `stackswap deploy --image app:vN` against the article's procedure scripted with the AWS CLI:

    aws cloudformation update-stack --stack-name <idle service stack> --use-previous-template
        --parameters ParameterKey=Image,ParameterValue=app:vN <the others UsePreviousValue=true>
    aws cloudformation wait stack-update-complete --stack-name <idle service stack>
    aws cloudformation update-stack --stack-name <ALB stack> --use-previous-template
        --parameters ParameterKey=LiveColor,ParameterValue=<idle> <the others UsePreviousValue=true>
    aws cloudformation wait stack-update-complete --stack-name <ALB stack>

Both are run as subprocesses (the console scripts next to this Python), alternately in one
process on one sandbox, each deploy moving production to a new image; the wall time of each is
measured from starting its first process to the end of its last. Which colour is idle, and the
parameter names, are read before the CLI procedure's clock starts (a person running the
procedure knows them). After each deploy, outside the clock, production must answer the new
image; a deploy that did not is reported as a problem.
"""

from __future__ import annotations

import contextlib
import io
import subprocess
import time
import urllib.error
import urllib.request
from collections.abc import Callable
from dataclasses import dataclass, field

from stackswap.environment.load import load_config
from stackswap.orchestrator import cli
from stackswap.orchestrator.aws import Aws
from stackswap.sandbox.lifecycle import admin

from bench.calls import CallCounter, sandbox_session
from bench.tools import command, tool_env

REGION = "us-east-1"
RUN_TIMEOUT_SECONDS = 600.0
PRODUCTION_TIMEOUT_SECONDS = 10.0


@dataclass(frozen=True)
class Setting:
    label: str
    service_seconds: float  # duration of a service stack's update (before the service steadies)
    swap_seconds: float  # duration of the ALB stack's update
    rounds: int


@dataclass
class DeployResult:
    setting: Setting
    stackswap: list[float] = field(default_factory=list)
    cli: list[float] = field(default_factory=list)


class Deployer:
    def __init__(self, env: dict[str, str]) -> None:
        self.sandbox_env = env
        self.env = tool_env(env)
        self.config = load_config(env["STACKSWAP_CONFIG"])
        self.cfn = sandbox_session(REGION).client("cloudformation",
                                                  endpoint_url=env["AWS_ENDPOINT_URL"])
        self.version = 0
        self.problems: list[str] = []

    def _image(self) -> str:
        self.version += 1
        return f"app:v{self.version}"

    def _run(self, argv: list[str]) -> bool:
        result = subprocess.run(argv, env=self.env, capture_output=True, text=True,
                                timeout=RUN_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
        if result.returncode != 0:
            last = (result.stderr.strip().splitlines() or ["no output"])[-1]
            self.problems.append(f"`{' '.join(argv[1:4])} …` exited {result.returncode}: "
                                 f"{last}")
        return result.returncode == 0

    def _production_serves(self, image: str) -> None:
        url, expected = self.env["STACKSWAP_SANDBOX_PROD_URL"] + "/", f"hello from {image}"
        deadline = time.monotonic() + PRODUCTION_TIMEOUT_SECONDS
        answer = ""
        while time.monotonic() < deadline:
            try:
                with urllib.request.urlopen(url, timeout=5) as response:
                    answer = response.read().decode().strip()
            except (urllib.error.URLError, OSError) as error:
                answer = str(error)
            if answer == expected:
                return
            time.sleep(0.1)  # the proxy follows the listeners within a tick; bounded
        self.problems.append(f"production answered {answer!r} after deploying {image}")

    def first_deploy(self) -> None:
        """Create the three stacks (blue live) with app:v1, untimed."""
        image = self._image()
        self._run([*command("stackswap"), "deploy", "--image", image])
        self._production_serves(image)

    def stackswap(self) -> float:
        image = self._image()
        started = time.monotonic()
        self._run([*command("stackswap"), "deploy", "--image", image])
        elapsed = time.monotonic() - started
        self._production_serves(image)
        return elapsed

    def _parameter_keys(self, stack: str) -> tuple[dict[str, str], list[str]]:
        (described,) = self.cfn.describe_stacks(StackName=stack)["Stacks"]
        values = {p["ParameterKey"]: p.get("ParameterValue", "")
                  for p in described["Parameters"]}
        return values, sorted(values)

    def cli_procedure(self) -> float:
        image = self._image()
        alb = self.config.alb_stack
        alb_values, alb_keys = self._parameter_keys(alb)
        idle = "green" if alb_values["LiveColor"] == "blue" else "blue"
        service = self.config.service_stack(idle)
        _, service_keys = self._parameter_keys(service)
        aws = command("aws")
        cloudformation = [*aws, "cloudformation"]

        def update(stack: str, key: str, value: str, keys: list[str]) -> list[str]:
            return [*cloudformation, "update-stack", "--stack-name", stack,
                    "--use-previous-template", "--capabilities", "CAPABILITY_IAM",
                    "--parameters", f"ParameterKey={key},ParameterValue={value}",
                    *[f"ParameterKey={other},UsePreviousValue=true" for other in keys
                      if other != key]]

        def wait(stack: str) -> list[str]:
            return [*cloudformation, "wait", "stack-update-complete", "--stack-name", stack]

        steps = [update(service, "Image", image, service_keys), wait(service),
                 update(alb, "LiveColor", idle, alb_keys), wait(alb)]
        started = time.monotonic()
        for step in steps:
            if not self._run(step):
                break
        elapsed = time.monotonic() - started
        self._production_serves(image)
        return elapsed

    def count_calls(self) -> tuple[CallCounter, dict[str, float]]:
        """One deploy run in this process through `orchestrator.cli.main(argv, connect_aws=...)`
        on a session whose calls are counted (untimed): what a deploy asks of AWS, and how long
        each stack operation lasted in the sandbox (from UpdateStack's reply to `finished_at`)."""
        image = self._image()
        session = sandbox_session(REGION)
        counter = CallCounter(session)
        updated: list[str] = []
        replied: dict[str, float] = {}
        session.events.register("before-parameter-build.cloudformation.UpdateStack",
                                lambda params, **_: updated.append(params["StackName"]))
        session.events.register("after-call.cloudformation.UpdateStack",
                                lambda **_: replied.setdefault(updated[-1], time.time()))
        aws = Aws(session, self.sandbox_env["AWS_ENDPOINT_URL"])
        with contextlib.redirect_stdout(io.StringIO()), contextlib.redirect_stderr(io.StringIO()):
            code = cli.main(["deploy", "--image", image, "--config",
                             self.sandbox_env["STACKSWAP_CONFIG"]],
                            connect_aws=lambda region, profile, endpoint: aws)
        if code != 0:
            self.problems.append(f"the counted in-process deploy exited {code}")
        self._production_serves(image)
        _, status = admin(self.sandbox_env, "GET", "/status")
        finished = {stack["name"]: stack["finished_at"] for stack in status["stacks"]}
        return counter, {stack: finished[stack] - at for stack, at in replied.items()
                         if finished.get(stack)}

    def startup_seconds(self, runs: int = 3) -> dict[str, float]:
        """Median start-up of each tool: `stackswap --help`, `aws --version`."""
        times: dict[str, list[float]] = {"stackswap": [], "aws": []}
        for _ in range(runs):
            for name, argv in (("stackswap", [*command("stackswap"), "--help"]),
                               ("aws", [*command("aws"), "--version"])):
                started = time.monotonic()
                subprocess.run(argv, env=self.env, capture_output=True, timeout=60,
                               stdin=subprocess.DEVNULL)
                times[name].append(time.monotonic() - started)
        return {name: sorted(values)[len(values) // 2] for name, values in times.items()}

    def set_seconds(self, setting: Setting) -> None:
        for stack, seconds in ((self.config.service_stack("blue"), setting.service_seconds),
                               (self.config.service_stack("green"), setting.service_seconds),
                               (self.config.alb_stack, setting.swap_seconds)):
            status, body = admin(self.sandbox_env, "POST", "/stack-seconds",
                                 {"seconds": seconds, "stack": stack})
            if status != 200:
                raise RuntimeError(f"the sandbox refused /stack-seconds: {body}")


@dataclass(frozen=True)
class BrokenImageResult:
    """`stackswap deploy` of an image whose health check fails (the sandbox's `-unhealthy`
    images): how long until it exited, with which code, next to the sandbox's circuit-breaker
    setting (the most a service stack update may wait for a steady service)."""

    seconds: float
    exit_code: int
    circuit_breaker_seconds: float


def broken_image(deployer: Deployer, setting: Setting,
                 circuit_breaker_seconds: float) -> BrokenImageResult:
    """One deploy of an unhealthy image with `setting`'s stack lengths, timed from the start of
    the process to its exit; production must still answer the image it had (outside the
    clock)."""
    deployer.set_seconds(setting)
    live = f"app:v{deployer.version}"
    argv = [*command("stackswap"), "deploy", "--image", f"app:v{deployer.version + 1}-unhealthy"]
    started = time.monotonic()
    result = subprocess.run(argv, env=deployer.env, capture_output=True, text=True,
                            timeout=RUN_TIMEOUT_SECONDS, stdin=subprocess.DEVNULL)
    elapsed = time.monotonic() - started
    if result.returncode != 4:
        last = (result.stderr.strip().splitlines() or ["no output"])[-1]
        deployer.problems.append(f"the unhealthy image's deploy exited {result.returncode}, "
                                 f"not 4: {last}")
    deployer._production_serves(live)
    return BrokenImageResult(elapsed, result.returncode, circuit_breaker_seconds)


def run(deployer: Deployer, setting: Setting,
        say: Callable[[str], None] = print) -> DeployResult:
    """`setting.rounds` rounds of one stackswap deploy and one CLI procedure, alternating which
    goes first."""
    deployer.set_seconds(setting)
    result = DeployResult(setting)
    for number in range(1, setting.rounds + 1):
        order = ("stackswap", "cli") if number % 2 else ("cli", "stackswap")
        for tool in order:
            if tool == "stackswap":
                result.stackswap.append(deployer.stackswap())
            else:
                result.cli.append(deployer.cli_procedure())
        say(f"  deploy, {setting.label}, round {number}/{setting.rounds}: stackswap "
            f"{result.stackswap[-1]:.1f} s, AWS CLI {result.cli[-1]:.1f} s")
    return result
