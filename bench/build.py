"""Table 3: `make render` (`stackswap render --out <tmpdir>`, a few runs) and the
whole test suite (`make test` itself, once), timed as subprocesses from the repo."""

from __future__ import annotations

import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass
from pathlib import Path

REPO = Path(__file__).resolve().parent.parent
# The README's own test command: its pytest arguments live in the Makefile only.
TEST_COMMAND = ["make", "--no-print-directory", "test"]
TEST_TIMEOUT_SECONDS = 1200.0


def render_times(runs: int) -> list[float]:
    times = []
    for _ in range(runs):
        with tempfile.TemporaryDirectory(prefix="stackswap-bench-render-") as out:
            started = time.monotonic()
            subprocess.run([sys.executable, "-m", "stackswap.orchestrator", "render", "--config",
                            "stackswap.example.toml", "--out", out], cwd=REPO, check=True,
                           capture_output=True, timeout=120)
            times.append(time.monotonic() - started)
    return times


@dataclass(frozen=True)
class SuiteResult:
    seconds: float
    returncode: int
    summary: str  # pytest's last line, e.g. "123 passed in 95.1s"


def test_suite() -> SuiteResult:
    started = time.monotonic()
    try:
        result = subprocess.run(TEST_COMMAND, cwd=REPO, capture_output=True,
                                text=True, timeout=TEST_TIMEOUT_SECONDS,
                                stdin=subprocess.DEVNULL)
    except subprocess.TimeoutExpired:
        return SuiteResult(time.monotonic() - started, -1,
                           f"stopped after {TEST_TIMEOUT_SECONDS:.0f} s")
    lines = result.stdout.strip().splitlines()
    return SuiteResult(time.monotonic() - started, result.returncode,
                       lines[-1].strip("= ") if lines else "no output")
