# PYTHON_ARGCOMPLETE_OK (argcomplete's marker: this command completes; docs/configuration.md)
"""The `stackswap` command: parse, load the config, observe, plan, (dry-run) run, report.

Results go to stdout; progress and stack events to stderr. Every StackswapError becomes one line
`stackswap: …` and its documented exit code; `--debug` shows the traceback too.
"""

from __future__ import annotations

import argparse
import gc
import importlib.metadata
import importlib.util
import os
import re
import shlex
import signal
import socket
import sys
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from functools import partial

from stackswap.environment.checks import REGION
from stackswap.environment.config import STRATEGIES, Config
from stackswap.environment.errors import BadInput, Interrupted, Refused, StackswapError
from stackswap.environment.image import parse_image
from stackswap.environment.load import load_config
from stackswap.environment.names import COLORS
from stackswap.orchestrator.aws import Aws, ConnectAws, check_endpoint
from stackswap.orchestrator.commands.diff import run_diff
from stackswap.orchestrator.commands.init import init
from stackswap.orchestrator.commands.render import render
from stackswap.orchestrator.commands.status import status
from stackswap.orchestrator.commands.unlock import unlock
from stackswap.orchestrator.commands.update_alb import update_alb
from stackswap.orchestrator.context import Context
from stackswap.orchestrator.model import Observed
from stackswap.orchestrator.notify import NOTIFYING, Notifier
from stackswap.orchestrator.observe import (
    observe_stacks,
    read_account,
    read_caller,
    read_image,
)
from stackswap.orchestrator.output import run_report
from stackswap.orchestrator.output.log import (
    ACTIVE,
    Log,
    Recorder,
    error_line,
    make_log,
    print_traceback,
)
from stackswap.orchestrator.output.summary import write_job_summary
from stackswap.orchestrator.plan import (
    DeployRequest,
    plan_deploy,
    plan_promote,
    plan_recover,
    plan_retire,
    promotion_settings,
)
from stackswap.orchestrator.run import run
from stackswap.orchestrator.wait import Clock, SystemClock

# What a CI runner, `timeout` or a closed terminal send: each ends the run the same way.
STOP_SIGNALS = (signal.SIGINT, signal.SIGTERM, signal.SIGHUP)
# A logical resource id, or NestedStackName.ResourceLogicalID (ContinueUpdateRollback).
RESOURCE_TO_SKIP = re.compile(r"[a-zA-Z0-9]+|[a-zA-Z][-a-zA-Z0-9]*\.[a-zA-Z0-9]+")


def image_argument(value: str) -> str:
    try:
        parse_image(value)
    except BadInput as error:
        raise argparse.ArgumentTypeError(error.message) from None
    return value


def skip_argument(value: str) -> str:
    if not RESOURCE_TO_SKIP.fullmatch(value):
        raise argparse.ArgumentTypeError(f"not a logical resource id: {value!r}")
    return value


def region_argument(value: str) -> str:
    if REGION(value):
        raise argparse.ArgumentTypeError(f"not an AWS region: {value!r}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as for every bad input
        command = self.prog.removeprefix("stackswap").strip()
        self.exit(2, f"stackswap: {command + ': ' if command else ''}{message} "
                     f"(see {self.prog} --help)\n")


def installed_version() -> str:
    try:
        return importlib.metadata.version("stackswap")
    except importlib.metadata.PackageNotFoundError:  # run from a source tree, not installed
        return "(not installed)"


def build_parser() -> argparse.ArgumentParser:
    configured = Parser(add_help=False)
    configured.add_argument("--config",
                            default=os.environ.get("STACKSWAP_CONFIG", "stackswap.toml"),
                            help="environment config (default: $STACKSWAP_CONFIG or "
                            "stackswap.toml)")
    configured.add_argument("--debug", action="store_true", help="show tracebacks")
    configured.add_argument("--output", choices=("text", "json"), default="text",
                            help="text (default; a live progress line on a terminal) or json: "
                            "every event as one JSON object per line on stdout "
                            "(docs/events.schema.json)")
    common = Parser(add_help=False, parents=[configured])
    common.add_argument("--region", type=region_argument,
                        help="must match the config's region (a safety check)")
    common.add_argument("--profile", default=os.environ.get("AWS_PROFILE"),
                        help="AWS profile (default: $AWS_PROFILE)")
    common.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="AWS endpoint (default: $AWS_ENDPOINT_URL; e.g. the sandbox)")

    changing = Parser(add_help=False)
    changing.add_argument("--dry-run", action="store_true",
                          help="print the plan and change nothing")
    changing.add_argument("--wait", action="store_true",
                          help="wait for another stackswap run to finish instead of refusing")
    changing.add_argument("--report", metavar="DIR",
                          help="write report.md and report.html of the run to DIR (and the "
                          "Markdown to $GITHUB_STEP_SUMMARY when it is set)")

    parser = Parser(prog="stackswap", description="Blue/green deployments for Amazon ECS with "
                    "CloudFormation stack updates.",
                    epilog="Exit codes: 0 done · 2 bad input · 3 refused, nothing changed · "
                    "4 new colour failed, production untouched · 5 swap reverted · "
                    "6 operator needed · 7 state unknown, rerun to resume · "
                    "130/143/129 interrupted by SIGINT/SIGTERM/SIGHUP, rerun to resume")
    parser.add_argument("--version", action="version", version=f"stackswap {installed_version()}")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)
    deploying = Parser(add_help=False)
    deploying.add_argument("--image", required=True, type=image_argument,
                           help="image with tag or digest")
    deploying.add_argument("--color", choices=COLORS,
                           help="colour to deploy to (default: the idle one; never the live one)")
    deploying.add_argument("--no-swap", action="store_true",
                           help="stop after verifying; promote later with `stackswap swap`")
    deploying.add_argument("--strategy", choices=STRATEGIES,
                           help="how production moves to the new colour (default: "
                           "deploy.strategy, else all-at-once): canary and linear shift "
                           "traffic in steps of deploy.canary_percent / deploy.step_percent "
                           "every deploy.step_interval")
    commands.add_parser(
        "deploy", parents=[common, changing, deploying], help="deploy an image to the idle "
        "colour, verify it, and swap it live", description="Update the idle colour's stack with "
        "IMAGE, verify it behind :8080, then swap :80 and :8080. The first deploy creates the "
        "stacks. With --dry-run: the plan and what CloudFormation would change (as `diff`).")
    commands.add_parser(
        "diff", parents=[common, deploying],
        help="what `deploy` would change: the plan, CloudFormation's change sets, traffic, images",
        description="Plan the deploy of IMAGE, then ask CloudFormation what it would change in "
        "each stack: a change set is created, described and deleted for every stack the deploy "
        "would update (never executed), the swap included. Shows the traffic on production and "
        "test before -> after and the image of each colour. Changes nothing; takes no lock.")
    promote = Parser(add_help=False)
    promote.add_argument("--to", choices=COLORS, dest="to_color",
                         help="the colour that must end up live; when it already is, nothing "
                         "changes (makes a rerun safe: without it, swap and rollback toggle)")
    commands.add_parser("swap", parents=[common, changing, promote],
                        help="verify the colour on :8080 and make it live")
    commands.add_parser("rollback", parents=[common, changing, promote],
                        help="put the previous colour (still on :8080) back on :80; during a "
                        "traffic shift, all of production back on the old colour at once")
    commands.add_parser("retire", parents=[common, changing],
                        help="scale the idle colour's service to zero tasks (a rollback then "
                        "starts them again first)")
    recover = commands.add_parser(
        "recover", parents=[common, changing],
        help="continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED")
    recover.add_argument("--skip", action="append", default=[], metavar="RESOURCE",
                         type=skip_argument,
                         help="logical id of a resource CloudFormation should skip (repeatable; "
                         "only when you have fixed or given up on it by hand)")
    unlock = commands.add_parser(
        "unlock", parents=[common], help="remove the deploy lock left by a run that is gone")
    unlock.add_argument("--force", action="store_true",
                        help="remove it even if its holder may still be running")
    commands.add_parser(
        "update-alb", parents=[common, changing],
        help="apply the config's load balancer template through a change set",
        description="Render the ALB stack's template from the config, show the change set "
        "CloudFormation makes of it (LiveColor and RollbackRelease keep their values), and "
        "apply it under the deploy lock. A change that would replace or remove a resource is "
        "refused. --dry-run shows the change set and deletes it.")
    status = commands.add_parser("status", parents=[common],
                                 help="colours, images, health, listeners, drift")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    init = commands.add_parser(
        "init", parents=[common],
        help="write a commented config: the example, or one read from a running ECS service",
        description="Write the environment config to --config (default stackswap.toml): the "
        "commented example, or with --from-service the values read from a running ECS service "
        "(network, port, CPU and memory, health check), with a comment on each and on what "
        "could not be inferred. An existing file is never replaced without --force.")
    init.add_argument("--from-service", metavar="CLUSTER/SERVICE",
                      help="read the running service SERVICE of cluster CLUSTER (its region: "
                      "--region, else AWS_REGION)")
    init.add_argument("--force", action="store_true", help="replace the file if it exists")
    rendering = commands.add_parser(
        "render", parents=[configured], help="write the config's templates (ALB stack, service "
        "stacks, deploy role) into a folder, or check the ones there",
        description="Render the CloudFormation templates of --config into --out. With --check, "
        "write nothing and exit 3 when a file there differs from a fresh render.")
    rendering.add_argument("--out", default="templates",
                           help="output folder (default: %(default)s)")
    rendering.add_argument("--check", action="store_true",
                           help="write nothing; exit 3 when the templates there are stale")
    commands.add_parser("sandbox", add_help=False,
                        help="the local sandbox: up, down, status, notifications, "
                        "fail-next-update, demo")
    return parser


def connect(args: argparse.Namespace, connect_aws: ConnectAws) -> tuple[Config, Aws]:
    config = load_config(args.config)
    if args.region and args.region != config.region:
        raise BadInput(f"--region {args.region} differs from the config's region "
                       f"{config.region} ({config.path}); refusing to guess which is meant")
    aws = connect_aws(config.region, args.profile, check_endpoint(args.endpoint_url))
    if config.account_id and (account := read_account(aws)) != config.account_id:
        raise Refused(f"these credentials are for account {account}, but {config.path} is for "
                      f"account {config.account_id}; nothing was changed (check AWS_PROFILE)")
    return config, aws


def run_title(args: argparse.Namespace) -> str:
    """What a run does, for its notifications: "deploy of app:v2 to green", "rollback"."""
    if args.command == "deploy":
        return (f"deploy of {args.image}" + (f" to {args.color}" if args.color else "")
                + (" without a swap" if args.no_swap else ""))
    if args.command in ("swap", "rollback"):
        return args.command + (f" to {args.to_color}" if args.to_color else "")
    return {"retire": "retire of the idle colour", "recover": "recover",
            "update-alb": "load balancer update"}[args.command]


def command(args: argparse.Namespace, ctx_holder: list[Context], connect_aws: ConnectAws,
            clock: Clock, log: Log | None = None) -> int:
    if args.command == "init":
        return init(args, connect_aws)
    if args.command == "render":
        return render(args)
    config, aws = connect(args, connect_aws)
    ctx = Context(aws, config, clock, log or Log())
    ctx_holder.append(ctx)
    if config.deploy.notify.any and args.command in NOTIFYING and not args.dry_run:
        ctx.notifier = Notifier(ctx, args.command, run_title(args), ci_run_url(dict(os.environ)))
        ctx.log.sinks.append(ctx.notifier)
    if args.command == "status":
        return status(ctx, args.json)
    if args.command == "unlock":
        return unlock(ctx, args.force)
    if args.command == "update-alb":
        return update_alb(ctx, dry_run=args.dry_run, wait_for_lock=args.wait)
    # The commands that move traffic first compare the ALB stack with the config.
    ctx.compare_alb = args.command in {"deploy", "swap", "rollback"}
    alarms = config.deploy.alarms
    if args.command in ("deploy", "diff"):
        image_found, unchecked = read_image(aws, args.image)
        if unchecked:
            ctx.log.say(f"note: {unchecked}")
        scaling = config.service.autoscaling
        request = DeployRequest(args.image, args.color, not args.no_swap, image_found,
                                config.service.desired_count, scaling and scaling.min,
                                scaling and scaling.max,
                                **promotion_settings(config.deploy, args.strategy))
        ctx.observe_services = True
        make_plan = partial(plan_deploy, request=request, alarm_names=alarms)
    elif args.command == "recover":
        make_plan = partial(plan_recover, skip=tuple(args.skip))
    elif args.command == "retire":
        make_plan = plan_retire
    else:
        make_plan = partial(plan_promote, action=args.command, alarm_names=alarms,
                            to_color=args.to_color)
    if args.command == "diff" or (args.command == "deploy" and args.dry_run):
        return run_diff(ctx, make_plan, dry_run=args.command == "deploy")
    return run(ctx, make_plan, command=args.command, dry_run=args.dry_run,
               wait_for_lock=args.wait)


def main(argv: list[str] | None = None, *, connect_aws: ConnectAws = Aws.connect,
         clock: Clock | None = None) -> int:
    """The CLI. Tests hand in `connect_aws` (an Aws whose botocore session carries their event
    hooks) and `clock`; users never do."""
    argv = sys.argv[1:] if argv is None else argv
    if "_ARGCOMPLETE" in os.environ:  # the shell asks for completions: answer, then exit
        complete()
    if argv[:1] == ["sandbox"]:
        return sandbox(argv[1:])
    args = build_parser().parse_args(argv)
    clock = clock or SystemClock()
    recorder = Recorder() if getattr(args, "report", None) else None
    log = make_log(args.output, clock, recorder)
    holder: list[Context] = []
    code = 1
    ACTIVE.append(log)
    try:
        log.emit("start", command=args.command, argv=list(argv), version=installed_version())
        code = guarded(args, holder, connect_aws, clock, log)
        return code
    finally:
        ctx = holder[0] if holder else None
        after = wind_up(ctx, code, recorder is not None)
        log.emit("end", exit_code=code)
        ACTIVE.remove(log)
        if recorder is not None:
            write_report(args, list(argv), ctx, after, recorder, code)


def wind_up(ctx: Context | None, code: int, reporting: bool) -> Observed | None:
    """Read what the run left (for its report and its last notification) and send that
    notification. A signal here ends only this: the run itself is over."""
    telling = ctx is not None and ctx.notifier is not None and ctx.notifier.has_an_end(code)
    if ctx is None or not (reporting or telling):
        return None
    after = None
    try:
        with stop_signals_interrupt():
            try:
                after = observe_stacks(ctx.aws, ctx.config)
            except StackswapError as error:
                error_line(f"note: cannot read what the run left ({error.message})")
            if telling:
                ctx.notifier.finish(code, after)
    except (KeyboardInterrupt, Interrupted) as stop:
        name = stop.signal_name if isinstance(stop, Interrupted) else "SIGINT"
        error_line(f"note: interrupted by {name} after the run, while reading what it "
                   f"left and telling the team")
    return after


def guarded(args: argparse.Namespace, holder: list[Context], connect_aws: ConnectAws,
            clock: Clock, log: Log) -> int:
    """The command, with every way out mapped to its exit code and one line."""
    def interrupted(name: str) -> str:
        where = holder[0].where_interrupted() if holder else ""
        return f"interrupted by {name}{where}. Rerun the same command to resume from what AWS says"

    return exit_code(partial(command, args, holder, connect_aws, clock, log), args.debug,
                     interrupted)


def exit_code(do: Callable[[], int], debug: bool, interrupted: Callable[[str], str]) -> int:
    """`do()`'s exit code, every way out of it one line: an error of the family its own code,
    a signal 128 + its number (with what `interrupted` says of it), anything else a bug (1)."""
    try:
        with stop_signals_interrupt():
            return do()
    except StackswapError as error:
        if debug:
            print_traceback()
        error_line(error.message)
        return error.exit_code
    except (KeyboardInterrupt, Interrupted) as stop:
        stop = stop if isinstance(stop, Interrupted) else Interrupted(signal.SIGINT)
        error_line(interrupted(stop.signal_name))
        return stop.exit_code
    except Exception as error:  # a bug: say so in one line, the traceback with --debug
        if debug:
            print_traceback()
        error_line(f"internal error: {type(error).__name__}: {error} "
                   f"(rerun with --debug for the traceback)")
        return 1


@contextmanager
def stop_signals_interrupt() -> Iterator[None]:
    """SIGINT, SIGTERM and SIGHUP raise Interrupted wherever the run is, so the way out is the
    same for all three: the lock released, one line, 128 + the signal's number. (Python's
    defaults would end the process on SIGTERM and SIGHUP with nothing released.)"""
    if threading.current_thread() is not threading.main_thread():
        yield  # signal handlers can only be set from the main thread
        return

    def interrupt(signum: int, frame: object) -> None:
        raise Interrupted(signum)

    previous = {stop: signal.signal(stop, interrupt) for stop in STOP_SIGNALS}
    try:
        yield
    finally:
        for stop, handler in previous.items():
            signal.signal(stop, handler)


def sandbox(argv: list[str]) -> int:
    """`stackswap sandbox …`: a dev tool that needs moto, an extra (`stackswap[sandbox]`)."""
    if importlib.util.find_spec("moto") is None:
        error_line("the sandbox needs moto: pip install 'stackswap[sandbox]' "
                   "(or `make venv` in a clone)")
        return 2
    from stackswap.sandbox.cli import parse, run_command  # loaded only when asked for

    return exit_code(lambda: run_command(parse(argv)), debug=False,
                     interrupted=lambda name: f"interrupted by {name}")


def console() -> int:
    """The `stackswap` console script and `python -m stackswap.orchestrator`: main(), then a
    process about to exit. gc.freeze() spares it the collector's passes over every object
    botocore loaded at interpreter exit (bench/results.md); the memory goes back to the OS all
    the same, and buffered output is still flushed."""
    try:
        return main()
    finally:  # also after argparse's own exits (--help, a bad flag)
        gc.freeze()


# --- `--report DIR` ------------------------------------------------------------------------------

def ci_run_url(environ: dict[str, str]) -> str | None:
    """The GitHub Actions run this is part of (its default environment variables), if any."""
    keys = ("GITHUB_SERVER_URL", "GITHUB_REPOSITORY", "GITHUB_RUN_ID")
    if not all(environ.get(key) for key in keys):
        return None
    server, repository, run_id = (environ[key] for key in keys)
    attempt = environ.get("GITHUB_RUN_ATTEMPT")
    return f"{server}/{repository}/actions/runs/{run_id}" + (
        f"/attempts/{attempt}" if attempt else "")


def write_report(args: argparse.Namespace, argv: list[str], ctx: Context | None,
                 after: Observed | None, recorder: Recorder, code: int) -> None:
    """report.md and report.html in --report DIR (and $GITHUB_STEP_SUMMARY): who ran what, from
    where, what happened, and how to undo it. A report that cannot be written is a note."""
    caller = "unknown (no AWS connection was made)"
    if ctx is not None:
        try:
            caller = read_caller(ctx.aws)
        except StackswapError as error:
            caller = f"unknown ({error.message})"
    meta = {
        "command": shlex.join(["stackswap", *argv]), "subcommand": args.command,
        "exit_code": code, "config": args.config,
        "environment": ctx.config.name if ctx else None, "caller": caller,
        "host": socket.gethostname(), "ci_run": ci_run_url(dict(os.environ)),
        "version": installed_version(),
        "before": run_report.traffic_document(ctx.first_observed) if ctx and ctx.first_observed
        else None,
        "after": run_report.traffic_document(after) if after is not None else None,
    }
    try:
        markdown = run_report.write_report(args.report, meta, recorder.events)
        write_job_summary(markdown)
    except OSError as error:
        error_line(f"note: could not write the report to {args.report}: {error}")


def complete() -> None:
    """Shell completion (argcomplete), imported only when the shell's completion hook runs the
    command with _ARGCOMPLETE set: an ordinary start never loads it."""
    import argcomplete

    argcomplete.autocomplete(build_parser())
