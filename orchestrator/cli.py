"""The `stackswap` command: parse, load the config, observe, plan, (dry-run) run, report.

Results go to stdout; progress and stack events to stderr. Every StackswapError becomes one line
`stackswap: …` and its documented exit code; `--debug` shows the traceback too.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import re
import sys
import traceback
from collections.abc import Callable

from generator.config import COLORS, Config, load_config
from generator.errors import BadInput, StackswapError
from orchestrator.aws import Aws
from orchestrator.errors import Refused
from orchestrator.events import Log
from orchestrator.lock import DeployLock, Holder, lock_name
from orchestrator.plan import (
    DeployRequest,
    Plan,
    WaitFor,
    plan_deploy,
    plan_promote,
    plan_recover,
)
from orchestrator.run import Context, execute, summary
from orchestrator.state import Observed, observe, observe_stacks
from orchestrator.wait import Clock, SystemClock

EXIT_INTERRUPTED = 130
MAX_REPLANS = 20
# A container image reference with an explicit tag or digest: a deploy of an implicit "latest"
# cannot be verified ("is the new image running?") and is refused.
IMAGE = re.compile(
    r"(?:[a-zA-Z0-9.-]+(?::\d+)?/)?[a-z0-9]+(?:[._-][a-z0-9]+)*(?:/[a-z0-9]+(?:[._-][a-z0-9]+)*)*"
    r"(?::[A-Za-z0-9_][A-Za-z0-9._-]{0,127}|@sha256:[a-f0-9]{64})")


def image_argument(value: str) -> str:
    if not IMAGE.fullmatch(value):
        hint = " (add a tag, e.g. app:v2)" if ":" not in value and "@" not in value else ""
        raise argparse.ArgumentTypeError(f"not a container image with a tag or digest: "
                                         f"{value!r}{hint}")
    return value


class Parser(argparse.ArgumentParser):
    def error(self, message: str) -> None:  # one line and exit 2, as for every bad input
        self.exit(2, f"{self.prog}: error: {message} (see {self.prog} --help)\n")


def build_parser() -> argparse.ArgumentParser:
    common = Parser(add_help=False)
    common.add_argument("--config", default=os.environ.get("STACKSWAP_CONFIG", "stackswap.toml"),
                        help="environment config (default: $STACKSWAP_CONFIG or stackswap.toml)")
    common.add_argument("--region", help="must match the config's region (a safety check)")
    common.add_argument("--profile", default=os.environ.get("AWS_PROFILE"),
                        help="AWS profile (default: $AWS_PROFILE)")
    common.add_argument("--endpoint-url", default=os.environ.get("AWS_ENDPOINT_URL"),
                        help="AWS endpoint (default: $AWS_ENDPOINT_URL; e.g. the sandbox)")
    common.add_argument("--debug", action="store_true", help="show tracebacks")

    changing = Parser(add_help=False)
    changing.add_argument("--dry-run", action="store_true",
                          help="print the plan and change nothing")
    changing.add_argument("--wait", action="store_true",
                          help="wait for another stackswap run to finish instead of refusing")

    parser = Parser(prog="stackswap", description="Blue/green deployments for Amazon ECS with "
                    "CloudFormation stack updates.",
                    epilog="Exit codes: 0 done · 2 bad input · 3 refused, nothing changed · "
                    "4 new colour failed, production untouched · 5 swap reverted · "
                    "6 operator needed · 7 state unknown, rerun to resume · 130 interrupted")
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND",
                                     parser_class=Parser)
    deploy = commands.add_parser(
        "deploy", parents=[common, changing], help="deploy an image to the idle colour, verify "
        "it, and swap it live", description="Update the idle colour's stack with IMAGE, verify "
        "it behind :8080, then swap :80 and :8080. The first deploy creates the stacks.")
    deploy.add_argument("--image", required=True, type=image_argument,
                        help="image with tag or digest")
    deploy.add_argument("--color", choices=COLORS,
                        help="colour to deploy to (default: the idle one; never the live one)")
    deploy.add_argument("--no-swap", action="store_true",
                        help="stop after verifying; promote later with `stackswap swap`")
    promote = Parser(add_help=False)
    promote.add_argument("--to", choices=COLORS, dest="to_color",
                         help="the colour that must end up live; when it already is, nothing "
                         "changes (makes a rerun safe: without it, swap and rollback toggle)")
    commands.add_parser("swap", parents=[common, changing, promote],
                        help="verify the colour on :8080 and make it live")
    commands.add_parser("rollback", parents=[common, changing, promote],
                        help="put the previous colour (still on :8080) back on :80")
    recover = commands.add_parser(
        "recover", parents=[common, changing],
        help="continue the rollback of a stack stuck in UPDATE_ROLLBACK_FAILED")
    recover.add_argument("--skip", action="append", default=[], metavar="RESOURCE",
                         help="logical id of a resource CloudFormation should skip (repeatable; "
                         "only when you have fixed or given up on it by hand)")
    commands.add_parser("unlock", parents=[common],
                        help="remove the deploy lock left by a run that is gone")
    status = commands.add_parser("status", parents=[common],
                                 help="colours, images, health, listeners, drift")
    status.add_argument("--json", action="store_true", help="machine-readable output")
    commands.add_parser("sandbox", add_help=False,
                        help="the local sandbox: up, down, status, fail-next-update, demo")
    return parser


ConnectAws = Callable[[str, "str | None", "str | None"], Aws]


def connect(args: argparse.Namespace, connect_aws: ConnectAws) -> tuple[Config, Aws]:
    config = load_config(args.config)
    if args.region and args.region != config.region:
        raise BadInput(f"--region {args.region} differs from the config's region "
                       f"{config.region} ({config.path}); refusing to guess which is meant")
    aws = connect_aws(config.region, args.profile, args.endpoint_url)
    if config.account_id and (account := aws.account_id()) != config.account_id:
        raise Refused(f"these credentials are for account {account}, but {config.path} is for "
                      f"account {config.account_id}; nothing was changed (check AWS_PROFILE)")
    return config, aws


def run_plan(ctx: Context, args: argparse.Namespace,
             make_plan: Callable[[Observed], Plan]) -> int:
    # Plan once without the lock: refusals and dry runs make no mutating call at all.
    plan = make_plan(observe_now(ctx))
    if args.dry_run:
        print("\n".join(["dry run, nothing changed:", *plan.lines()]))
        return 0
    if not plan.needs_lock:
        return finish(ctx, plan)
    lock = DeployLock(ctx.aws, ctx.config, args.command, ctx.log)
    lock.acquire(ctx.clock, args.wait)
    try:
        for _ in range(MAX_REPLANS):
            # Plan again under the lock: the state may have moved while we waited for it.
            plan = make_plan(observe_now(ctx))
            if not (plan.steps and isinstance(plan.steps[0], WaitFor)):
                return finish(ctx, plan)
            execute(plan, ctx)
    finally:
        release(ctx, lock)
    raise StackswapError("the environment kept changing while waiting; run again")


def observe_now(ctx: Context) -> Observed:
    ctx.observed = observe_stacks(ctx.aws, ctx.config)
    return ctx.observed


def release(ctx: Context, lock: DeployLock) -> None:
    """Remove our lock; when AWS cannot be reached for it, say so instead of hiding the error
    that ended the run (the lock expires by itself; `stackswap unlock` removes it at once)."""
    try:
        lock.release()
    except StackswapError as error:
        ctx.log.say(f"note: could not remove the deploy lock {lock.name} ({error.message});"
                    f" run `stackswap unlock` before the rerun, or wait for it to expire")


def finish(ctx: Context, plan: Plan) -> int:
    for note in plan.notes:
        ctx.log.say(note)
    execute(plan, ctx)
    print("\n".join([*plan.notes, summary(ctx.observed)]))
    return 0


def unlock(ctx: Context) -> int:
    name = lock_name(ctx.config)
    current = ctx.aws.read_parameter(name)
    if current is None:
        print(f"{ctx.config.name} is not locked")
        return 0
    ctx.aws.delete_parameter(name)
    print(f"removed the lock of {Holder.parse(current).describe()}")
    return 0


def status_document(config: Config, observed: Observed) -> dict:
    colors = {}
    for color, state in observed.colors.items():
        service, health = state.service, state.health
        colors[color] = {
            "stack": config.service_stack(color),
            "stack_status": state.stack.status if state.stack else None,
            "image": state.image_parameter,
            "running_image": service.image if service else None,
            "desired_tasks": service.desired if service else None,
            "running_tasks": service.running if service else None,
            "deployments": service.deployments if service else None,
            "healthy_targets": health.healthy if health else None,
            "unhealthy_targets": health.unhealthy if health else None,
        }
    return {
        "environment": config.name, "region": config.region,
        "alb_stack": config.alb_stack,
        "alb_stack_status": observed.alb.status if observed.alb else None,
        "live": observed.live_color, "idle": observed.idle_color,
        "listeners": {"80": observed.describe_forwards(observed.production),
                      "8080": observed.describe_forwards(observed.test)},
        "drift": observed.drift(), "colors": colors,
    }


def print_status(document: dict) -> None:
    if document["alb_stack_status"] is None:
        print(f"environment {document['environment']}: no stacks yet "
              f"(create them with `stackswap deploy --image IMAGE`)")
        return
    print(f"environment {document['environment']} ({document['region']}), "
          f"{document['alb_stack']} {document['alb_stack_status']}")
    print(f"live: {document['live']}   idle: {document['idle']}")
    print(f":80   -> {document['listeners']['80']}\n:8080 -> {document['listeners']['8080']}")
    print(f"{'colour':7} {'stack status':26} {'image':28} {'tasks':7} {'healthy':8} unhealthy")
    for color, c in document["colors"].items():
        tasks = f"{c['running_tasks']}/{c['desired_tasks']}" if c["desired_tasks"] else "-"
        print(f"{color:7} {c['stack_status'] or 'missing':26} {c['image'] or '-':28} "
              f"{tasks:7} {c['healthy_targets'] if c['healthy_targets'] is not None else '-'!s:8} "
              f"{c['unhealthy_targets'] if c['unhealthy_targets'] is not None else '-'}")
    print("drift: " + ("; ".join(document["drift"]) or "none"))


def command(args: argparse.Namespace, ctx_holder: list[Context], connect_aws: ConnectAws,
            clock: Clock) -> int:
    config, aws = connect(args, connect_aws)
    ctx = Context(aws, config, clock, Log())
    ctx_holder.append(ctx)
    if args.command == "status":
        document = status_document(config, observe(aws, config))
        if args.json:
            print(json.dumps(document, indent=2))
        else:
            print_status(document)
        return 0
    alarms = config.deploy.alarms
    if args.command == "deploy":
        request = DeployRequest(args.image, args.color, not args.no_swap,
                                image_found=aws.image_exists(args.image))
        return run_plan(ctx, args, lambda observed: plan_deploy(observed, request, alarms))
    if args.command == "recover":
        return run_plan(ctx, args, lambda observed: plan_recover(observed, tuple(args.skip)))
    if args.command == "unlock":
        return unlock(ctx)
    return run_plan(ctx, args, lambda observed: plan_promote(observed, args.command, alarms,
                                                             args.to_color))


def main(argv: list[str] | None = None, *, connect_aws: ConnectAws = Aws.connect,
         clock: Clock | None = None) -> int:
    """The CLI. Tests hand in `connect_aws` (an Aws whose botocore session carries their event
    hooks) and `clock`; users never do."""
    argv = sys.argv[1:] if argv is None else argv
    if argv[:1] == ["sandbox"]:
        from sandbox.cli import main as sandbox_main  # the sandbox is a dev tool, loaded lazily
        return sandbox_main(argv[1:])
    args = build_parser().parse_args(argv)
    holder: list[Context] = []
    try:
        return command(args, holder, connect_aws, clock or SystemClock())
    except StackswapError as error:
        if args.debug:
            traceback.print_exc()
        print(f"stackswap: {error.message}", file=sys.stderr)
        return error.exit_code
    except KeyboardInterrupt:
        where = holder[0].where_interrupted() if holder else ""
        print(f"\nstackswap: interrupted{where}. Rerun the same command to resume from what "
              f"AWS says", file=sys.stderr)
        return EXIT_INTERRUPTED
    except Exception as error:  # a bug: say so in one line, the traceback with --debug
        if args.debug:
            traceback.print_exc()
        print(f"stackswap: internal error: {type(error).__name__}: {error} "
              f"(rerun with --debug for the traceback)", file=sys.stderr)
        return 1


def console() -> int:
    """The `stackswap` console script and `python -m orchestrator`: main(), then a process about
    to exit. gc.freeze() spares it the collector's passes over every object at interpreter exit
    (about 0.15 s after a deploy on 2 cores, a sixth of the whole instant deploy); the memory
    goes back to the OS all the same, and buffered output is still flushed."""
    try:
        return main()
    finally:  # also after argparse's own exits (--help, a bad flag)
        gc.freeze()
