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
        return [sys.executable, "-m", "stackswap.orchestrator"]
    return [name]


def tool_env(sandbox_env: dict[str, str]) -> dict[str, str]:
    """This process's environment with every AWS setting replaced by the sandbox's, and Python
    free to cache compiled bytecode, as it is by default: pip compiled awscli's modules when it
    installed them, stackswap's (an editable install) are compiled on their first, untimed run,
    so neither tool recompiles its sources at every start even where PYTHONDONTWRITEBYTECODE is
    set (as on the machine this benchmark was written on)."""
    inherited = {key: value for key, value in os.environ.items()
                 if not key.startswith("AWS_")
                 and key not in ("STACKSWAP_CONFIG", "PYTHONDONTWRITEBYTECODE")}
    return {**inherited, **sandbox_env}
