"""The command line itself, without AWS: what a user types before anything else."""

from __future__ import annotations

import configparser
import subprocess

from tests.conftest import REPO

STACKSWAP = REPO / ".venv" / "bin" / "stackswap"


def test_version_is_the_installed_package_version():
    metadata = configparser.ConfigParser()
    metadata.read(REPO / "setup.cfg")
    done = subprocess.run([str(STACKSWAP), "--version"], capture_output=True, text=True,
                          timeout=60)
    assert (done.returncode, done.stdout, done.stderr) == (
        0, f"stackswap {metadata['metadata']['version']}\n", "")
