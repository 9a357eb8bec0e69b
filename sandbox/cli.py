"""`stackswap sandbox up|down|status|notifications|fail-next-update|demo` — a local AWS with no
account.

`up` starts the sandbox server (sandbox.server) in the background, provisions a VPC, two subnets
and an ECS cluster in it, writes a stackswap config whose production/test URLs are the sandbox's
listener proxies, and prints the shell lines to `eval`. `down` stops it and removes its files.

For programs (a demo, end-to-end tests, the benchmark):

    with running_sandbox(directory, stack_seconds=0.3) as env:   # env: the variables `up` prints
        subprocess.run([...], env={**os.environ, **env})
    # nothing left running here
"""

from __future__ import annotations

import argparse
import contextlib
import ipaddress
import json
import os
import shlex
import signal
import subprocess
import sys
import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from stackswap.environment.errors import BadInput, StackswapError
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


# --- the command line -------------------------------------------------------------------------

class _Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # type: ignore[override]
        raise BadInput(message)


def _positive(text: str) -> float:
    try:
        value = float(text)
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be a number of seconds, got {text!r}") from None
    if not 0 < value <= 86400:
        raise argparse.ArgumentTypeError(f"must be between 0 and 86400 seconds, got {text}")
    return value


def _address(text: str) -> str:
    try:
        return str(ipaddress.ip_address(text))
    except ValueError:
        raise argparse.ArgumentTypeError(f"must be an IP address such as 203.0.113.10, got "
                                         f"{text!r}") from None


def _parser() -> argparse.ArgumentParser:
    defaults = SandboxSettings()
    parser = _Parser(prog="stackswap sandbox", description="A local AWS (moto) with ECS tasks, "
                     "target health and listeners that serve real HTTP; no account needed.")
    parser.add_argument("--dir", help=f"state directory (default: ${DIR_ENV} or ./{DEFAULT_DIR})")
    commands = parser.add_subparsers(dest="command", required=True, parser_class=_Parser)
    start = commands.add_parser("up", help="start the sandbox; prints lines to `eval`")
    start.add_argument("--dir", dest="sub_dir", help=argparse.SUPPRESS)
    start.add_argument("--stack-seconds", type=_positive, default=defaults.stack_seconds,
                       help="how long stack operations stay *_IN_PROGRESS (%(default)s)")
    start.add_argument("--health-check-seconds", type=_positive,
                       default=defaults.health_check_seconds,
                       help="interval of the target health checks (%(default)s)")
    start.add_argument("--drain-seconds", type=_positive, default=defaults.drain_seconds,
                       help="draining time of a deregistered target (%(default)s)")
    start.add_argument("--circuit-breaker-seconds", type=_positive,
                       default=defaults.circuit_breaker_seconds,
                       help="time a service update has to become steady (%(default)s)")
    start.add_argument("--lifetime-seconds", type=_positive, default=defaults.lifetime_seconds,
                       help="the server stops by itself after this (%(default)s)")
    start.add_argument("--client-address", type=_address, default=defaults.client_address,
                       help="the address the load balancers see local clients come from: what "
                            "their security groups and source-ip rules are checked against "
                            "(%(default)s)")
    start.add_argument("--https", action="store_true",
                       help="make a CA and a certificate, import it into ACM, serve ALB ports "
                            "443 and 8443 with TLS, and write an HTTPS config")
    for name, text in (("down", "stop the sandbox and remove its files"),
                       ("status", "what runs: server, listeners, stacks, tasks")):
        commands.add_parser(name, help=text).add_argument("--dir", dest="sub_dir",
                                                          help=argparse.SUPPRESS)
    told = commands.add_parser("notifications", help="what the team chat was told: the "
                               "messages the sandbox's webhook sink received (deploy.notify), "
                               "directly and through SNS")
    told.add_argument("--dir", dest="sub_dir", help=argparse.SUPPRESS)
    told.add_argument("--channel", choices=("webhook", "sns"),
                      help="only the messages of this channel (default: both)")
    demo = commands.add_parser("demo", help="the whole blue/green cycle on a sandbox of its own: "
                               "v1, v2 behind :8080, swap, rollback")
    demo.add_argument("--dir", dest="sub_dir", help=argparse.SUPPRESS)
    demo.add_argument("--stack-seconds", type=_positive, default=defaults.stack_seconds,
                      help="how long stack operations stay *_IN_PROGRESS (%(default)s)")
    fail = commands.add_parser("fail-next-update",
                               help="make the next update of STACK fail and roll back")
    fail.add_argument("stack", metavar="STACK")
    fail.add_argument("--dir", dest="sub_dir", help=argparse.SUPPRESS)
    return parser


def _print_status(status: dict[str, Any]) -> None:
    print(f"sandbox server pid {status['pid']}, up {status['uptime_seconds']} s")
    print(f"  AWS endpoint   {status['endpoint']}")
    production, test = ("443", "8443") if status.get("https") else ("80", "8080")
    print(f"  client address {status['client_address']} (what security groups and source-ip "
          f"rules see)")
    print(f"  production :{production:<4} {status['production_url']}")
    print(f"  test :{test:<10} {status['test_url']}")
    for port, url in sorted(status["listener_urls"].items(), key=lambda item: int(item[0])):
        if port not in (production, test):
            print(f"  ALB :{port:<10} {url}")
    print(f"  private NLB    {status['private_url']}")
    if status.get("https"):
        print(f"  certificate    {status['certificate_arn']}")
        print(f"  CA bundle      {status['ca_file']}")
    print(f"  admin API      {status['admin_url']}")
    print("stacks:" if status["stacks"] else "stacks: none")
    for stack in status["stacks"]:
        print(f"  {stack['name']:<24} {stack['status']}")
    tasks = {(t["cluster"], t["service"]): t["tasks"] for t in status["tasks"]}
    print("services:" if status["services"] else "services: none")
    for service in status["services"]:
        print(f"  {service['service']:<40} {service['running']}/{service['desired']} running, "
              f"{service['pending']} pending, {service['deployments']} deployment(s)")
        for task in tasks.get((service["cluster"], service["service"]), []):
            print(f"    {task['id']:<10} {task['state']:<9} {task['image']:<20} "
                  f"127.0.0.1:{task['port']}")


def notifications_text(received: list[dict[str, Any]]) -> str:
    """The messages as the team would read them, oldest first, each under its channel."""
    if not received:
        return "no notifications received yet"
    return "\n".join(f"[{message['channel']}] {message['text']}".replace("\n", "\n    ")
                     for message in received)


def run(args: argparse.Namespace) -> int:
    directory = state_dir(args.sub_dir or args.dir)
    if args.command == "up":
        settings = SandboxSettings(
            stack_seconds=args.stack_seconds, health_check_seconds=args.health_check_seconds,
            drain_seconds=args.drain_seconds, circuit_breaker_seconds=args.circuit_breaker_seconds,
            lifetime_seconds=args.lifetime_seconds, client_address=args.client_address,
            https=args.https)
        env = up(directory, settings)
        print("# stackswap sandbox is up; `eval` these lines, `stackswap sandbox down` stops it")
        print(f"# the load balancers see clients from {args.client_address} (--client-address);"
              f" {'HTTPS' if args.https else 'HTTP'} listeners")
        print("unset AWS_PROFILE AWS_SESSION_TOKEN")
        for key, value in env.items():
            print(f"export {key}={shlex.quote(value)}")
        return 0
    if args.command == "down":
        was_running = down(directory)
        print(f"sandbox in {directory} stopped" if was_running
              else f"no sandbox was running in {directory}")
        return 0
    if args.command == "status":
        status_code, status = admin(directory, "GET", "/status")
        if status_code != 200:
            raise StackswapError(f"sandbox status failed: {status.get('error', status_code)}")
        _print_status(status)
        return 0
    if args.command == "notifications":
        status_code, answer = admin(directory, "GET", "/notifications")
        if status_code != 200:
            raise StackswapError(f"sandbox notifications failed: "
                                 f"{answer.get('error', status_code)}")
        print(notifications_text([message for message in answer["received"]
                                  if args.channel in (None, message["channel"])]))
        return 0
    if args.command == "fail-next-update":
        status_code, answer = admin(directory, "POST", "/fail-next-update",
                                    {"stack": args.stack})
        if status_code == 404:
            raise BadInput(answer.get("error", f"no stack named {args.stack}"))
        if status_code != 200:
            raise StackswapError(f"fail-next-update failed: {answer.get('error', status_code)}")
        print(f"the next update of {args.stack} will fail and roll back")
        return 0
    from stackswap.sandbox.demo import (
        main as demo,  # imports the orchestrator's CLI only when needed
    )

    return demo(stack_seconds=args.stack_seconds)


def main(argv: list[str] | None = None) -> int:
    try:
        return run(_parser().parse_args(argv))
    except StackswapError as error:
        print(f"stackswap: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        print("stackswap: interrupted", file=sys.stderr)
        return 130
