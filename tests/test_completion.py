"""Shell completion (argcomplete): what the shell's hook gets, and that an ordinary start never
imports argcomplete."""

from __future__ import annotations

import os
import subprocess

from tests.conftest import REPO

STACKSWAP = REPO / ".venv" / "bin" / "stackswap"
PYTHON = REPO / ".venv" / "bin" / "python"


def completions(tmp_path, line: str) -> list[str]:
    """What the completion hook (`eval "$(register-python-argcomplete stackswap)"`) gets for the
    command line typed so far: it runs the command with _ARGCOMPLETE and COMP_LINE/COMP_POINT
    set and reads the words, separated by IFS (argcomplete's protocol)."""
    out = tmp_path / "completions"
    environ = {**os.environ, "_ARGCOMPLETE": "1", "COMP_LINE": line,
               "COMP_POINT": str(len(line)), "_ARGCOMPLETE_IFS": "\n",
               "_ARGCOMPLETE_STDOUT_FILENAME": str(out)}
    done = subprocess.run([str(STACKSWAP)], env=environ, capture_output=True, text=True,
                          timeout=60)
    assert done.returncode == 0, done.stderr
    return sorted(word.strip() for word in out.read_text().split("\n") if word.strip())


def test_commands_flags_and_choices_complete(tmp_path):
    assert completions(tmp_path, "stackswap d") == ["deploy", "diff"]
    assert completions(tmp_path, "stackswap deploy --co") == ["--color", "--config"]
    assert completions(tmp_path, "stackswap deploy --color ") == ["blue", "green"]
    assert completions(tmp_path, "stackswap status --output ") == ["json", "text"]


def test_an_ordinary_start_does_not_import_argcomplete():
    # -X importtime lists every module imported, on stderr.
    done = subprocess.run([str(PYTHON), "-X", "importtime", "-m", "stackswap.orchestrator",
                           "--version"],
                          capture_output=True, text=True, timeout=60, cwd=REPO)
    assert done.returncode == 0 and done.stdout.startswith("stackswap ")
    assert "stackswap.orchestrator.cli" in done.stderr
    assert "argcomplete" not in done.stderr
