"""Gates: the commands of deploy.hooks, run at their points of a deploy.

A gate is a shell command (`/bin/sh -c`) with the test and production URLs, the colours and the
images in its environment (STACKSWAP_* below), a time limit (deploy.hooks.timeout), and its
output streamed line by line to stderr as it runs. Exit 0 passes; any other exit, or running
past the limit (the command and its children are then stopped), fails the gate. What a failed
gate means is the executor's: before the swap nothing moved (exit 4), after it production goes
back to the old colour (exit 5).
"""

from __future__ import annotations

import os
import signal
import subprocess
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass

# How long the output of a stopped command may still be read before the gate gives up on it.
DRAIN_SECONDS = 2.0


@dataclass(frozen=True)
class GateContext:
    """What a gate command is told, as environment variables."""

    point: str  # before_swap, after_step, after_swap
    environment: str
    production_url: str
    test_url: str
    test_host: str | None
    new_color: str
    old_color: str
    new_image: str
    old_image: str
    weight: int  # the percent of production the new colour has

    def variables(self) -> dict[str, str]:
        values = {
            "STACKSWAP_GATE": self.point, "STACKSWAP_ENVIRONMENT": self.environment,
            "STACKSWAP_PRODUCTION_URL": self.production_url,
            "STACKSWAP_TEST_URL": self.test_url,
            "STACKSWAP_NEW_COLOR": self.new_color, "STACKSWAP_OLD_COLOR": self.old_color,
            "STACKSWAP_NEW_IMAGE": self.new_image, "STACKSWAP_OLD_IMAGE": self.old_image,
            "STACKSWAP_WEIGHT": str(self.weight),
        }
        if self.test_host:
            values["STACKSWAP_TEST_HOST"] = self.test_host
        return values


def run_gate(command: str, context: GateContext, timeout_seconds: float,
             say: Callable[[str], None]) -> str | None:
    """Run the gate's command; None when it passed, else why it failed (one phrase)."""
    process = subprocess.Popen(
        ["/bin/sh", "-c", command], stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
        stderr=subprocess.STDOUT, env={**os.environ, **context.variables()},
        start_new_session=True)  # its own process group: stopped as a whole
    reader = threading.Thread(target=stream, args=(process, context.point, say), daemon=True)
    reader.start()
    try:
        code = process.wait(timeout_seconds)
    except subprocess.TimeoutExpired:
        stop(process)
        return f"ran longer than its time limit ({timeout_seconds:.0f} s) and was stopped"
    finally:
        if process.poll() is None:  # interrupted (a signal): the command does not outlive us
            stop(process)
        reader.join(DRAIN_SECONDS)
    return None if code == 0 else f"exited with {code}"


def stream(process: subprocess.Popen, point: str, say: Callable[[str], None]) -> None:
    for raw in iter(process.stdout.readline, b""):
        say(f"  [{point}] {raw.decode('utf-8', 'replace').rstrip()}")


def stop(process: subprocess.Popen) -> None:
    """SIGTERM to the command's process group, then SIGKILL if it has not ended in 2 s."""
    for signum in (signal.SIGTERM, signal.SIGKILL):
        try:
            os.killpg(process.pid, signum)
        except ProcessLookupError:
            return
        deadline = time.monotonic() + DRAIN_SECONDS
        while process.poll() is None and time.monotonic() < deadline:
            time.sleep(0.05)
        if process.poll() is not None:
            return
