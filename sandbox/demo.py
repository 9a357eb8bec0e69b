"""`make demo`: the whole blue/green cycle on a local sandbox, as a newcomer would type it.

sandbox up → first deploy of app:v1 → prod answers v1 → deploy app:v2 to the idle colour without
swapping → test answers v2, prod still v1 → swap → prod v2 → rollback → prod v1 → deploy a broken
image (app:v3-unhealthy): ECS's circuit breaker fails it, exit 4, prod still v1 → a linear
traffic shift to app:v4 (50 %, held 3 s, then 100 %) → what the team chat was told → sandbox
down.
A request loop runs against production during the swap, the rollback, the broken deploy and the
shift, and reports its count and the answers it saw.
Every command is the real `stackswap` CLI in a subprocess; exit 0 only if every check held.
"""

from __future__ import annotations

import json
import os
import ssl
import subprocess
import sys
import tempfile
import threading
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field

from stackswap.orchestrator.output.log import print_result
from stackswap.sandbox.lifecycle import running_sandbox

RULE = "─" * 72


def say(text: str = "") -> None:
    print_result(text)


def fetch(url: str) -> str:
    try:
        with urllib.request.urlopen(url, timeout=5) as response:
            return response.read().decode().strip()
    except (urllib.error.URLError, OSError) as error:
        return f"<no answer: {error}>"


@dataclass
class RequestLoop:
    """GET the production URL as fast as it answers, counting failures."""

    url: str
    # https: the TLS context that verifies the sandbox's certificate (its CA)
    context: ssl.SSLContext | None = None
    sent: int = 0
    failed: list[str] = field(default_factory=list)
    answers: set[str] = field(default_factory=set)
    _stop: threading.Event = field(default_factory=threading.Event)

    def run(self) -> None:
        deadline = time.monotonic() + 600  # bounded, whatever happens
        while not self._stop.is_set() and time.monotonic() < deadline:
            self.sent += 1
            try:
                with urllib.request.urlopen(self.url, timeout=5,
                                            context=self.context) as response:
                    self.answers.add(response.read().decode().strip())
            except (urllib.error.URLError, OSError) as error:
                self.failed.append(str(error))

    @contextmanager
    def running(self) -> Iterator[RequestLoop]:
        thread = threading.Thread(target=self.run, daemon=True)
        thread.start()
        try:
            yield self
        finally:
            self._stop.set()
            thread.join(timeout=10)


class Demo:
    def __init__(self, env: dict[str, str]) -> None:
        self.env = env
        self.prod = env["STACKSWAP_SANDBOX_PROD_URL"]
        self.test = env["STACKSWAP_SANDBOX_TEST_URL"]
        self.problems: list[str] = []

    def stackswap(self, *args: str, expect: int = 0) -> int:
        say(f"\n$ stackswap {' '.join(args)}")
        started = time.monotonic()
        result = subprocess.run([sys.executable, "-m", "stackswap.orchestrator", *args],
                                env=self.env, capture_output=True, text=True, timeout=900)
        for line in result.stderr.splitlines():
            say(f"  │ {line}")
        for line in result.stdout.splitlines():
            say(f"  {line}")
        if expect:
            mark = "✓" if result.returncode == expect else "✗"
            say(f"  exit {result.returncode} after {time.monotonic() - started:.0f} s    {mark} "
                f"expected: {expect}")
        if result.returncode != expect:
            self.problems.append(f"stackswap {' '.join(args)} exited {result.returncode}, "
                                 f"expected {expect}")
        return result.returncode

    def curl(self, name: str, url: str, expected: str) -> None:
        answer = fetch(url)
        mark = "✓" if answer == expected else "✗"
        say(f"\n$ curl ${name}\n  {answer}    {mark} expected: {expected}")
        if answer != expected:
            self.problems.append(f"{name} answered {answer!r}, expected {expected!r}")

    def watched(self, *args: str, expect: int = 0) -> set[str]:
        """Run a command while a request loop hammers production, report the loop, and return
        the answers it saw."""
        with RequestLoop(self.prod + "/").running() as loop:
            self.stackswap(*args, expect=expect)
        say(f"  production during `{' '.join(args)}`: {loop.sent} requests, "
            f"{len(loop.failed)} failed, answers seen: {', '.join(sorted(loop.answers))}")
        if loop.failed:
            self.problems.append(f"{len(loop.failed)} requests failed during "
                                 f"{' '.join(args)}: {loop.failed[0]}")
        return loop.answers

    def run(self) -> None:
        say("1. First deploy: nothing exists yet, so stackswap creates the ALB stack and both "
            "service stacks; blue goes live.")
        self.stackswap("deploy", "--image", "app:v1")
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v1")

        say(f"\n{RULE}\n2. Deploy app:v2 to the idle colour (green), verify it behind :8080, "
            f"and hold it there (--no-swap).")
        self.stackswap("deploy", "--image", "app:v2", "--no-swap")
        self.curl("STACKSWAP_SANDBOX_TEST_URL", self.test + "/", "hello from app:v2")
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v1")

        say(f"\n{RULE}\n3. Swap: green goes live on :80, blue (v1) stays warm on :8080.")
        self.watched("swap")
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v2")
        self.stackswap("status")

        say(f"\n{RULE}\n4. Roll back: v1 is still running, so it is back on :80 at once.")
        self.watched("rollback")
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v1")

        say(f"\n{RULE}\n5. A broken image: app:v3-unhealthy fails its health checks. ECS "
            f"replaces its tasks,\n   its circuit breaker fails the deployment, CloudFormation "
            f"rolls green back; exit 4.")
        self.watched("deploy", "--image", "app:v3-unhealthy", expect=4)
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v1")

        say(f"\n{RULE}\n6. A linear traffic shift: app:v4 gets 50 % of production for 3 s "
            f"(alarms and\n   production checked), then 100 %. The config says:")
        config = self.env["STACKSWAP_CONFIG"]
        with open(config, encoding="utf-8") as file:
            text = file.read()
        keys = 'step_percent = 50\nstep_interval = "3s"'
        with open(config, "w", encoding="utf-8") as file:
            file.write(text.replace("[deploy]", f"[deploy]\n{keys}", 1))
        say("  [deploy]\n" + "\n".join(f"  {line}" for line in keys.splitlines()))
        answers = self.watched("deploy", "--image", "app:v4", "--strategy", "linear")
        if not {"hello from app:v1", "hello from app:v4"} <= answers:
            self.problems.append(f"production did not serve both versions during the shift: "
                                 f"{sorted(answers)}")
        self.curl("STACKSWAP_SANDBOX_PROD_URL", self.prod + "/", "hello from app:v4")

        say(f"\n{RULE}\n7. The team was told of every run (deploy.notify: the sandbox's webhook "
            f"sink stands\n   for the team chat; an SNS topic delivers the same messages to it).")
        self.stackswap("sandbox", "notifications", "--channel", "webhook")
        told = self.told()
        if not told["webhook"] or told["webhook"] != told["sns"]:
            self.problems.append(f"the webhook and the SNS topic were not told the same: "
                                 f"{len(told['webhook'])} and {len(told['sns'])} messages")

    def told(self) -> dict[str, list[str]]:
        """The texts the sink received, by channel."""
        with urllib.request.urlopen(self.env["STACKSWAP_SANDBOX_ADMIN_URL"] + "/notifications",
                                    timeout=5) as response:
            received = json.load(response)["received"]
        return {channel: [m["text"] for m in received if m["channel"] == channel]
                for channel in ("webhook", "sns")}


def main(stack_seconds: float = 2.0) -> int:
    say("stackswap demo: blue/green on ECS with CloudFormation stack updates, on a local "
        "sandbox\n(a moto server and a small data plane on 127.0.0.1 — no AWS account, no "
        "Docker).")
    with tempfile.TemporaryDirectory(prefix="stackswap-demo-") as directory:
        say(f"\n$ eval \"$(stackswap sandbox up --stack-seconds {stack_seconds:g})\"")
        with running_sandbox(directory, stack_seconds=stack_seconds) as env:
            say(f"  sandbox up: AWS endpoint {env['AWS_ENDPOINT_URL']}, production "
                f"{env['STACKSWAP_SANDBOX_PROD_URL']}, test {env['STACKSWAP_SANDBOX_TEST_URL']}")
            demo = Demo({**_inherited_env(), **env})
            try:
                demo.run()
            finally:
                say("\n$ stackswap sandbox down")
        say("  sandbox stopped; nothing left running")
    if demo.problems:
        say("\ndemo FAILED:\n" + "\n".join(f"  - {problem}" for problem in demo.problems))
        return 1
    say("\ndemo passed: production served v1, then v2 after the swap, then v1 after the "
        "rollback and\nthrough a broken deploy caught in seconds, then both v1 and v4 during "
        "a linear shift and\nv4 after it, with no failed request; the team was told of "
        "each run.")
    return 0


def _inherited_env() -> dict[str, str]:
    # The sandbox's variables replace any real AWS settings of the user's shell.
    return {key: value for key, value in os.environ.items()
            if not key.startswith("AWS_") and key != "STACKSWAP_CONFIG"}
