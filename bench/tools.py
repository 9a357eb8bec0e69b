"""The two command-line tools the benchmark runs in subprocesses, started the same way: the
console scripts `make` installed next to this Python (`stackswap`, and awscli v1's `aws`)."""

from __future__ import annotations

import os
import sys
from pathlib import Path

BIN = Path(sys.executable).parent


def command(name: str) -> list[str]:
    script = BIN / name
    if script.exists():
        return [str(script)]
    if name == "stackswap":  # not installed as a script (e.g. PYTHONPATH use): same code
        return [sys.executable, "-m", "orchestrator"]
    return [name]


def tool_env(sandbox_env: dict[str, str]) -> dict[str, str]:
    """This process's environment with every AWS setting replaced by the sandbox's."""
    inherited = {key: value for key, value in os.environ.items()
                 if not key.startswith("AWS_") and key != "STACKSWAP_CONFIG"}
    return {**inherited, **sandbox_env}
