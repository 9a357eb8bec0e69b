"""A sandbox's life: `up` starts the sandbox server (sandbox.server) in the background,
provisions a VPC, two subnets and an ECS cluster in it and writes a stackswap config whose
production/test URLs are the sandbox's listener proxies; `down` stops it and removes its files.
The command line (sandbox/cli.py) and programs (the demo, end-to-end tests, the benchmark) use it:

    with running_sandbox(directory, stack_seconds=0.3) as env:   # env: the variables `up` prints
        subprocess.run([...], env={**os.environ, **env})
    # nothing left running here
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stackswap.environment.errors import StackswapError
from stackswap.sandbox.environment import (
    DEFAULT_REGION,
    provision,
    provision_notifications,
    write_config,
)
from stackswap.sandbox.processes import pid_alive
from stackswap.sandbox.server import STATE_FILE
from stackswap.sandbox.settings import SandboxSettings
from stackswap.sandbox.tls import CA_FILE, CERTIFICATE_FILE, KEY_FILE

DIR_ENV = "STACKSWAP_SANDBOX_DIR"
DEFAULT_DIR = ".stackswap-sandbox"
CONFIG_FILE = "stackswap-sandbox.toml"
ENV_FILE = "env.json"
LOG_FILE = "server.log"
ENVIRONMENT_NAME = "demo"
START_TIMEOUT_SECONDS = 60.0
STOP_TIMEOUT_SECONDS = 15.0
REPO_ROOT = Path(__file__).resolve().parent.parent

# Processes this Python process started: a child that exited stays a zombie (kill(pid, 0)
# still succeeds) until it is waited for, so their liveness comes from Popen.
_CHILDREN: dict[int, subprocess.Popen] = {}


class SandboxRefused(StackswapError):
    """The sandbox cannot do that in its current state (already up, not up)."""

    exit_code = 3


def state_dir(directory: str | os.PathLike | None = None) -> Path:
    return Path(directory or os.environ.get(DIR_ENV) or DEFAULT_DIR).resolve()


def process_alive(pid: int) -> bool:
    child = _CHILDREN.get(pid)
    if child is not None:
        return child.poll() is None  # also reaps our own child, so it is not left a zombie
    return pid_alive(pid)


def read_state(directory: Path) -> dict[str, Any] | None:
    """The running sandbox's sandbox.json, or None when no sandbox runs in `directory`."""
    try:
        state = json.loads((directory / STATE_FILE).read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return state if process_alive(int(state.get("pid", 0))) else None


def _admin(state: dict[str, Any], method: str, path: str, body: dict | None = None,
           timeout: float = 10.0) -> tuple[int, dict]:
    data = json.dumps(body).encode() if body is not None else None
    request = urllib.request.Request(state["admin_url"] + path, data=data, method=method,
                                     headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=timeout) as response:
            return response.status, json.loads(response.read() or b"{}")
    except urllib.error.HTTPError as error:
        return error.code, json.loads(error.read() or b"{}")
    except OSError as error:
        raise StackswapError(f"the sandbox server does not answer at {state['admin_url']}: "
                             f"{error}") from None


def _last_log_line(directory: Path) -> str:
    with contextlib.suppress(OSError):
        lines = (directory / LOG_FILE).read_text(encoding="utf-8").strip().splitlines()
        if lines:
            return lines[-1]
    return "no log"


def start_server(directory: Path, settings: SandboxSettings,
                 exit_with_pid: int | None = None) -> dict[str, Any]:
    """Start the server in the background; return its sandbox.json once it answers."""
    directory.mkdir(parents=True, exist_ok=True)
    if read_state(directory) is not None:
        raise SandboxRefused(f"a sandbox is already running in {directory} "
                             f"(`stackswap sandbox down` stops it)")
    (directory / STATE_FILE).unlink(missing_ok=True)  # a stale one from a killed server
    command = [sys.executable, "-m", "stackswap.sandbox.server", "--dir", str(directory)]
    for name, value in settings.to_dict().items():
        if isinstance(value, bool):
            command += [f"--{name.replace('_', '-')}"] if value else []
        else:
            command += [f"--{name.replace('_', '-')}", str(value)]
    if exit_with_pid is not None:
        command += ["--exit-with-pid", str(exit_with_pid)]
    env = {**os.environ, "PYTHONPATH": os.pathsep.join(
        filter(None, [str(REPO_ROOT), os.environ.get("PYTHONPATH")]))}
    with open(directory / LOG_FILE, "ab") as log:
        child = subprocess.Popen(command, stdin=subprocess.DEVNULL, stdout=log, stderr=log,
                                 env=env, cwd=directory, start_new_session=True)
    _CHILDREN[child.pid] = child
    deadline = time.monotonic() + START_TIMEOUT_SECONDS
    while time.monotonic() < deadline:
        if child.poll() is not None:
            raise StackswapError(f"the sandbox server exited at start (code {child.returncode})"
                                 f": {_last_log_line(directory)}")
        state = read_state(directory)
        if state is not None and state.get("pid") == child.pid:
            with contextlib.suppress(StackswapError):
                if _admin(state, "GET", "/status", timeout=2)[0] == 200:
                    return state
        time.sleep(0.1)  # polling for the server to answer, bounded by the deadline
    _terminate(child.pid)
    raise StackswapError(f"the sandbox server did not answer within {START_TIMEOUT_SECONDS:.0f} s"
                         f": {_last_log_line(directory)}")


def environment(state: dict[str, Any], config_path: Path,
                region: str = DEFAULT_REGION) -> dict[str, str]:
    """The variables that point boto3, the AWS CLI and stackswap at the sandbox."""
    env = {
        "AWS_ENDPOINT_URL": state["endpoint"],
        # Dummy credentials: real ones must never be sent to a local endpoint.
        "AWS_ACCESS_KEY_ID": "sandbox",
        "AWS_SECRET_ACCESS_KEY": "sandbox",
        "AWS_REGION": region,
        "AWS_DEFAULT_REGION": region,
        "STACKSWAP_CONFIG": str(config_path),
        "STACKSWAP_SANDBOX_PROD_URL": state["production_url"],
        "STACKSWAP_SANDBOX_TEST_URL": state["test_url"],
        "STACKSWAP_SANDBOX_PRIVATE_URL": state["private_url"],
        "STACKSWAP_SANDBOX_CLIENT_ADDRESS": state["client_address"],
        "STACKSWAP_SANDBOX_ADMIN_URL": state["admin_url"],
        "STACKSWAP_SANDBOX_DIR": str(Path(config_path).parent),
    }
    if state.get("https"):
        env["STACKSWAP_SANDBOX_REDIRECT_URL"] = state["listener_urls"]["80"]
        env["STACKSWAP_SANDBOX_CA_BUNDLE"] = state["ca_file"]
    return env


def sandbox_config_overrides(state: dict[str, Any]) -> dict[str, dict[str, str]]:
    """The config sections that point stackswap at this sandbox: its listener URLs, and with
    --https the imported certificate and the CA that verifies it."""
    overrides = {"deploy": {"production_url": f'"{state["production_url"]}"',
                            "test_url": f'"{state["test_url"]}"'}}
    if state.get("https"):
        overrides["listener"] = {"certificate_arns": f'["{state["certificate_arn"]}"]'}
        overrides["deploy"]["ca_bundle"] = json.dumps(state["ca_file"])
    return overrides


def notify_overrides(state: dict[str, Any], topic_arn: str) -> dict[str, dict[str, str]]:
    """deploy.notify pointing at the sandbox's webhook sink, directly and through SNS."""
    return {"deploy.notify": {"webhook_url": f'"{state["webhook_url"]}"',
                              "sns_topic_arn": f'"{topic_arn}"'}}


def up(directory: Path, settings: SandboxSettings | None = None,
       exit_with_pid: int | None = None) -> dict[str, str]:
    """Start the sandbox, provision its network and cluster, write its config; return the env."""
    state = start_server(directory, settings or SandboxSettings(), exit_with_pid)
    try:
        ids = provision(state["endpoint"], name=ENVIRONMENT_NAME, region=DEFAULT_REGION)
        topic_arn = provision_notifications(state["endpoint"], ENVIRONMENT_NAME, DEFAULT_REGION,
                                            state["sns_endpoint"])
        config_path = write_config(directory / CONFIG_FILE, ids,
                                   **sandbox_config_overrides(state),
                                   **notify_overrides(state, topic_arn))
        env = environment(state, config_path)
        (directory / ENV_FILE).write_text(json.dumps(env, indent=2) + "\n", encoding="utf-8")
    except BaseException:
        down(directory)
        raise
    return env


def _terminate(pid: int) -> None:
    """Stop a server that ignored /shutdown: SIGTERM, then SIGKILL, by its pid only."""
    for sig in (signal.SIGTERM, signal.SIGKILL):
        with contextlib.suppress(ProcessLookupError):
            os.kill(pid, sig)
        if _wait_gone(pid, 5.0):
            return


def _wait_gone(pid: int, seconds: float) -> bool:
    deadline = time.monotonic() + seconds
    while process_alive(pid):
        if time.monotonic() >= deadline:
            return False
        time.sleep(0.05)  # polling for the process to exit, bounded by the deadline
    return True


def down(directory: Path) -> bool:
    """Stop the sandbox in `directory` and remove its files; False when none was running."""
    state = read_state(directory)
    if state is not None:
        pid = int(state["pid"])
        with contextlib.suppress(StackswapError):
            _admin(state, "POST", "/shutdown", timeout=5)
        if not _wait_gone(pid, STOP_TIMEOUT_SECONDS):
            _terminate(pid)
        child = _CHILDREN.pop(pid, None)
        if child is not None:
            child.wait(timeout=5)
    for name in (STATE_FILE, CONFIG_FILE, ENV_FILE, LOG_FILE, CA_FILE, CERTIFICATE_FILE,
                 KEY_FILE):
        (directory / name).unlink(missing_ok=True)
    with contextlib.suppress(OSError):
        directory.rmdir()  # only when empty: never remove what the sandbox did not create
    return state is not None


@contextlib.contextmanager
def running_sandbox(directory: str | os.PathLike, stack_seconds: float = 2.0,
                    **settings: Any) -> Iterator[dict[str, str]]:
    """A sandbox for the duration of a `with` block; yields the env `up` prints. The server
    also stops by itself if this process dies."""
    path = state_dir(directory)
    env = up(path, SandboxSettings(stack_seconds=stack_seconds, **settings),
             exit_with_pid=os.getpid())
    try:
        yield env
    finally:
        down(path)


def admin(env_or_dir: dict[str, str] | str | os.PathLike, method: str, path: str,
          body: dict | None = None) -> tuple[int, dict]:
    """Call the admin API of a running sandbox (given its env or its directory)."""
    if isinstance(env_or_dir, dict):
        state = {"admin_url": env_or_dir["STACKSWAP_SANDBOX_ADMIN_URL"]}
    else:
        state = read_state(state_dir(env_or_dir))
        if state is None:
            raise SandboxRefused(f"no sandbox is running in {state_dir(env_or_dir)} "
                                 f"(`stackswap sandbox up` starts one)")
    return _admin(state, method, path, body)
