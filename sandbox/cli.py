"""`stackswap sandbox up|down|status|notifications|fail-next-update|demo` — a local AWS with no
account.

`up` starts a sandbox (sandbox/lifecycle.py) and prints the shell lines to `eval`; `down` stops
it and removes its files. What the commands say goes through the orchestrator's output, and
orchestrator/cli.py turns their errors and signals into exit codes, as for every command.
"""

from __future__ import annotations

import argparse
import ipaddress
import shlex
from typing import Any

from stackswap.environment.errors import BadInput, StackswapError
from stackswap.orchestrator.output.log import print_result
from stackswap.sandbox.demo import main as run_demo
from stackswap.sandbox.lifecycle import DEFAULT_DIR, DIR_ENV, admin, down, state_dir, up
from stackswap.sandbox.settings import SandboxSettings


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


def status_lines(status: dict[str, Any]) -> list[str]:
    """What `sandbox status` prints: the server, its listeners, the stacks, services and tasks."""
    lines = [f"sandbox server pid {status['pid']}, up {status['uptime_seconds']} s",
             f"  AWS endpoint   {status['endpoint']}"]
    production, test = ("443", "8443") if status.get("https") else ("80", "8080")
    lines += [f"  client address {status['client_address']} (what security groups and source-ip "
              f"rules see)",
              f"  production :{production:<4} {status['production_url']}",
              f"  test :{test:<10} {status['test_url']}"]
    for port, url in sorted(status["listener_urls"].items(), key=lambda item: int(item[0])):
        if port not in (production, test):
            lines.append(f"  ALB :{port:<10} {url}")
    lines.append(f"  private NLB    {status['private_url']}")
    if status.get("https"):
        lines += [f"  certificate    {status['certificate_arn']}",
                  f"  CA bundle      {status['ca_file']}"]
    lines.append(f"  admin API      {status['admin_url']}")
    lines.append("stacks:" if status["stacks"] else "stacks: none")
    lines += [f"  {stack['name']:<24} {stack['status']}" for stack in status["stacks"]]
    tasks = {(t["cluster"], t["service"]): t["tasks"] for t in status["tasks"]}
    lines.append("services:" if status["services"] else "services: none")
    for service in status["services"]:
        lines.append(f"  {service['service']:<40} {service['running']}/{service['desired']} "
                     f"running, {service['pending']} pending, {service['deployments']} "
                     f"deployment(s)")
        lines += [f"    {task['id']:<10} {task['state']:<9} {task['image']:<20} "
                  f"127.0.0.1:{task['port']}"
                  for task in tasks.get((service["cluster"], service["service"]), [])]
    return lines


def notifications_text(received: list[dict[str, Any]]) -> str:
    """The messages as the team would read them, oldest first, each under its channel."""
    if not received:
        return "no notifications received yet"
    return "\n".join(f"[{message['channel']}] {message['text']}".replace("\n", "\n    ")
                     for message in received)


def run_command(args: argparse.Namespace) -> int:
    directory = state_dir(args.sub_dir or args.dir)
    if args.command == "up":
        settings = SandboxSettings(
            stack_seconds=args.stack_seconds, health_check_seconds=args.health_check_seconds,
            drain_seconds=args.drain_seconds, circuit_breaker_seconds=args.circuit_breaker_seconds,
            lifetime_seconds=args.lifetime_seconds, client_address=args.client_address,
            https=args.https)
        env = up(directory, settings)
        print_result(
            "# stackswap sandbox is up; `eval` these lines, `stackswap sandbox down` stops it",
            f"# the load balancers see clients from {args.client_address} (--client-address);"
            f" {'HTTPS' if args.https else 'HTTP'} listeners",
            "unset AWS_PROFILE AWS_SESSION_TOKEN",
            *(f"export {key}={shlex.quote(value)}" for key, value in env.items()))
        return 0
    if args.command == "down":
        was_running = down(directory)
        print_result(f"sandbox in {directory} stopped" if was_running
                     else f"no sandbox was running in {directory}")
        return 0
    if args.command == "status":
        status_code, status = admin(directory, "GET", "/status")
        if status_code != 200:
            raise StackswapError(f"sandbox status failed: {status.get('error', status_code)}")
        print_result(*status_lines(status))
        return 0
    if args.command == "notifications":
        status_code, answer = admin(directory, "GET", "/notifications")
        if status_code != 200:
            raise StackswapError(f"sandbox notifications failed: "
                                 f"{answer.get('error', status_code)}")
        print_result(notifications_text([message for message in answer["received"]
                                         if args.channel in (None, message["channel"])]))
        return 0
    if args.command == "fail-next-update":
        status_code, answer = admin(directory, "POST", "/fail-next-update",
                                    {"stack": args.stack})
        if status_code == 404:
            raise BadInput(answer.get("error", f"no stack named {args.stack}"))
        if status_code != 200:
            raise StackswapError(f"fail-next-update failed: {answer.get('error', status_code)}")
        print_result(f"the next update of {args.stack} will fail and roll back")
        return 0
    return run_demo(stack_seconds=args.stack_seconds)


def parse(argv: list[str]) -> argparse.Namespace:
    """The arguments after `stackswap sandbox`; BadInput (exit 2) for a bad one."""
    return _parser().parse_args(argv)
