"""`python -m bench` (`make bench`): run the four benchmarks on a private sandbox, print the
tables and write bench/results.md. Exits 0 whatever the figures are (targets are reported, not
asserted); a tool run that failed is listed under "Problems" in the output."""

from __future__ import annotations

import argparse
import os
import random
import sys
import tempfile
import time
from dataclasses import asdict
from pathlib import Path

from stackswap.orchestrator.wait import Schedule
from stackswap.sandbox.lifecycle import running_sandbox
from stackswap.sandbox.settings import SandboxSettings

from bench import build, deploy, detection, report, shift

RESULTS = Path(__file__).with_name("results.md")
# Every timing knob of the sandbox at its floor, 0.01 s (the data plane's loop then costs about
# a quarter of one core with the demo's services running; finer would load the machine the
# tools run on): stack operations the benchmark does not lengthen take as little as the sandbox
# allows, so what is left in the "instant" deploy row is the tools' own overhead. At 0.05 s a
# service update lasted 0.26 s (start tasks, health checks, draining, each a few loop periods),
# time the CLI procedure hid inside its process starts and stackswap waited for.
SANDBOX_FLOOR = 0.01
SANDBOX_SETTINGS = {"stack_seconds": SANDBOX_FLOOR, "health_check_seconds": SANDBOX_FLOOR,
                    "drain_seconds": SANDBOX_FLOOR, "tick_seconds": SANDBOX_FLOOR}
# stackswap's row gets the most stacks: its median is a target, so it needs the samples (a
# delay is about uniform over the 0.8 s poll interval: the median of 80 varies by ±0.035 s,
# of 40 by ±0.05 s).
WORKERS = {"stackswap": 16, "boto3": 3, "cli": 2}
LOW, HIGH = 2.0, 20.0
RENDER_RUNS = 5

# Why a missed target is missed, when the cause is known; shown in results.md.
REASONS = {
    "describe calls per second per stack": (
        "the first polls come quickly (0.1 s after the call, then 0.2 s, 0.4 s) so that a short "
        "operation is noticed soon; over operations of 2–20 s that start weighs more than over "
        "real CloudFormation operations of minutes, where the rate tends to the steady one of "
        "one DescribeStackEvents per 0.8 s plus a DescribeStacks per 30 s (1.28/s)."),
    "detection delay median": (
        "the delay is about half the capped interval (0.4 s) plus one request round trip; a "
        "loaded machine adds to the round trip, and a median of a few dozen samples varies "
        "from run to run by several hundredths of a second."),
    "make test": (
        "the suite's own length (sandbox end-to-end tests wait on real timers) on 2 cores, "
        "and whatever else runs on the machine at the time: compare with an idle machine "
        "before blaming the suite."),
}


def deploy_calls_cli() -> str:
    return ("two UpdateStack plus at least two DescribeStacks calls (each `wait` asks at once, "
            "then every 30 s); it checks nothing")


def say(text: str = "") -> None:
    print(text, flush=True)


def parse(argv: list[str]) -> argparse.Namespace:
    parser = argparse.ArgumentParser(prog="python -m bench", description=__doc__)
    parser.add_argument("--skip-tests", action="store_true",
                        help="do not run the test suite (table 3 shows it skipped)")
    parser.add_argument("--detection-rounds", type=int, default=5, metavar="N",
                        help="rounds of concurrent stack updates for table 1 (%(default)s)")
    parser.add_argument("--instant-rounds", type=int, default=5, metavar="N",
                        help="deploy rounds with instant stack operations (%(default)s)")
    parser.add_argument("--realistic-rounds", type=int, default=2, metavar="N",
                        help="deploy rounds with 20 s / 10 s stack operations (%(default)s)")
    parser.add_argument("--seed", type=int, default=6, help="of the random operation lengths")
    parser.add_argument("--out", type=Path, default=RESULTS, help="results file (%(default)s)")
    args = parser.parse_args(argv)
    for name in ("detection_rounds", "instant_rounds", "realistic_rounds"):
        if not 1 <= getattr(args, name) <= 20:
            parser.error(f"--{name.replace('_', '-')} must be between 1 and 20")
    return args


def command_line(argv: list[str]) -> str:
    python = " ".join(["python -m bench", *argv])
    return f"make bench ({python})" if os.environ.get("MAKELEVEL") else python


def without_notifications(config: str) -> None:
    """Drop the sandbox config's [deploy.notify] (its last table): the figures are stackswap's
    own work, the same with or without a team to tell (a notification adds one POST or one
    SNS Publish per stage: docs/notifications.md)."""
    text = Path(config).read_text(encoding="utf-8")
    Path(config).write_text(text.split("\n[deploy.notify]\n")[0] + "\n", encoding="utf-8")


def main(argv: list[str] | None = None) -> int:
    argv = sys.argv[1:] if argv is None else argv
    args = parse(argv)
    started = time.monotonic()
    deploy_settings = [
        deploy.Setting(f"instant ({SANDBOX_FLOOR:g} s)", SANDBOX_FLOOR, SANDBOX_FLOOR,
                       args.instant_rounds),
        deploy.Setting("realistic (20 s service, 10 s swap)", 20.0, 10.0, args.realistic_rounds),
    ]
    say(f"stackswap benchmark: {report.machine()}")
    with tempfile.TemporaryDirectory(prefix="stackswap-bench-") as directory, \
            running_sandbox(Path(directory) / "sandbox", **SANDBOX_SETTINGS) as env:
        without_notifications(env["STACKSWAP_CONFIG"])
        say("1. detection delay …")
        detections, problems = detection.run(env, args.detection_rounds,
                                             random.Random(args.seed), WORKERS, LOW, HIGH,
                                             say=say)
        say("2. end-to-end deploy …")
        deployer = deploy.Deployer(env)
        deployer.first_deploy()
        deployer.set_seconds(deploy_settings[0])
        calls, lasted = deployer.count_calls()
        startup = deployer.startup_seconds()
        deploys = [deploy.run(deployer, setting, say=say) for setting in deploy_settings]
        say("   a broken image …")
        broken = deploy.broken_image(deployer, deploy_settings[0],
                                     SandboxSettings().circuit_breaker_seconds)
        problems += deployer.problems
        say("4. traffic shifting …")
        shifting = shift.run(env, say=say)
        problems += shifting.problems
    say("3. make render …")
    render = build.render_times(RENDER_RUNS)
    suite = None
    if not args.skip_tests:
        say("   the test suite (last) …")
        suite = build.test_suite()

    results = report.Report()
    report.detection_table(results, detections, args.detection_rounds)
    report.deploy_table(results, deploys)
    report.broken_image_table(results, broken)
    report.build_table(results, render, suite)
    report.shift_table(results, shifting, shift.ALB_SECONDS)
    total = time.monotonic() - started
    for table in results.tables:
        say(f"\n{table.title}\n\n{table.markdown()}")
    counted = ", ".join(f"{count} {name}" for name, count in calls.counts.most_common())
    operations = " and ".join(f"{seconds:.2f} s ({stack})" for stack, seconds in lasted.items())
    overhead = (f"one stackswap deploy is one process start ({startup['stackswap']:.2f} s for "
                f"`stackswap --help`; a deploy also imports troposphere to render the service "
                f"template) and "
                f"{sum(calls.counts.values())} API calls ({counted}), plus at least one "
                f"{Schedule().first:g} s poll sleep per stack operation; the sandbox's own "
                f"operations lasted {operations} from the update's reply to their end (a "
                f"service update waits for new tasks to pass health checks and old ones to "
                f"drain); the AWS CLI procedure is four process starts "
                f"({startup['aws']:.2f} s each) and {deploy_calls_cli()}")
    reasons = {**REASONS, "end-to-end, instant stacks": (
        f"with stack operations near-instant, what is left is each tool's own work: {overhead}."
        f" stackswap's extra time buys the lock, the drift check and the verification before "
        f"and after the swap.")}
    missed = [(what, reasons.get(what, "see the table")) for what, target in results.targets
              if not target.met]
    say(f"\ntargets: {sum(t.met for _, t in results.targets)}/{len(results.targets)} met"
        + "".join(f"\n  ✗ {what}: {reason}" for what, reason in missed))
    if problems:
        say("\nproblems during the run:\n" + "\n".join(f"  - {p}" for p in problems))
    stacks = ", ".join(f"{count} for {name}" for name, count in WORKERS.items())
    report.write_results(
        args.out, results, command=command_line(argv), date=report.now(),
        machine=report.machine(), total=f"{total:.0f} s", missed=missed, problems=problems,
        sandbox_settings=", ".join(f"`{k}={v}`" for k, v in SANDBOX_SETTINGS.items()),
        detection_setup=(f"{args.detection_rounds} rounds; in each, {sum(WORKERS.values())} "
                         f"stacks ({stacks}) are updated at once, each waited for by its "
                         f"tool in its own thread."),
        low=f"{LOW:g}", high=f"{HIGH:g}", seed=args.seed,
        schedule=", ".join(f"{k}={v}" for k, v in asdict(Schedule()).items()),
        deploy_setup=" ".join(
            f"*{s.label}*: service stack updates last {s.service_seconds:g} s and the ALB "
            f"stack's {s.swap_seconds:g} s (the sandbox's `POST /stack-seconds` per stack), "
            f"{s.rounds} rounds of each tool." for s in deploy_settings),
        render_runs=RENDER_RUNS, overhead=overhead, shift_setup=shift.__doc__.split("\n\n", 1)[1])
    say(f"\nwhere the instant deploy's time goes: {overhead}")
    say(f"\nwrote {args.out} ({total:.0f} s in all)")
    return 0


if __name__ == "__main__":
    sys.exit(main())
