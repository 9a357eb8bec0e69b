"""The safety invariants (README, "Invariants") under generated sequences of commands and faults.

Hypothesis generates sequences of deploy(image)/swap/rollback, linear traffic shifts (deploy
--strategy linear, 50 % steps) and retire, each with at most one injected
fault (the idle update rolls back, the swap rolls back, the smoke request on :8080 or :80 fails,
throttling, a lost reply, the configured alarm fires, a SIGTERM arrives before any one of the
run's CloudFormation calls). After every step:

1. :80 forwards only to our two target groups, with weights summing to 100: to exactly one of
   them, or during a shift (a SIGTERM between its steps leaves one) to both as the ALB stack
   records; every group with weight > 0 has >= 1 healthy target (invariant 11);
2. a deploy never updated the live colour's service stack (UpdateStack recorded per stack);
3. the exit code is one of the documented ones (and 0 when nothing was injected — except a
   rollback to a release that never served production, which is refused with 3 and changes
   nothing: the test keeps its own history of what :80 served to know which; and during a
   shift, any command but the same deploy or a rollback, refused with 3); rollback and
   swap --to succeed while the alarm fires (invariant 9);
4. the deploy lock is released, whatever ended the run (invariant 10);

and at the end a rerun of the last command without faults converges: exit 0, and a second rerun
makes no mutating CloudFormation call. (`swap` and `rollback` run with `--to <colour>`, which is
what makes them safe to rerun; alone they toggle.)

The sequences run as eight tests of EXAMPLES/8 each, with fixed seeds, so pytest-xdist spreads
them over its workers and evens out the load (tests/conftest.py starts them first).

All examples share one moto account (the `env` fixture is set up once for the test): each starts
from the converged state the previous one left, which is a state the invariants must hold from
anyway, and avoids re-provisioning 200 times.
"""

from __future__ import annotations

import math
import os
import signal
from dataclasses import dataclass

from hypothesis import HealthCheck, given, seed, settings
from hypothesis import strategies as st
from stackswap.environment.errors import Interrupted
from stackswap.orchestrator.model import other

from tests.harness import (
    FailingUpdate,
    LostReply,
    Requests,
    VirtualClock,
    botocore_sleeps_on,
    http_error,
    operation_of,
    weighted,
)

DOCUMENTED = {0, 2, 3, 4, 5, 6, 7, 130, 143, 129}
CFN_MUTATING = {"CreateStack", "UpdateStack", "DeleteStack", "CancelUpdateStack",
                "ContinueUpdateRollback"}
FAULTS = ["none", "idle_rolls_back", "swap_rolls_back", "smoke_8080", "smoke_80", "throttling",
          "lost_reply", "alarm_fires", "sigterm"]
ALARM = "shop-5xx"
# Every step is a real CLI run against moto over HTTP (~1 s an example), so this is the slowest
# test of the suite; STACKSWAP_INVARIANT_EXAMPLES=40 gives a quick local run.
EXAMPLES = int(os.environ.get("STACKSWAP_INVARIANT_EXAMPLES", "200"))
CHUNKS = 8


@dataclass(frozen=True)
class Step:
    command: str  # deploy | shift | swap | rollback | retire
    image: str    # deploy only: new | live | idle
    fault: str
    at: int = 1   # sigterm only: the CloudFormation call of the run the signal arrives before


steps = st.builds(Step, st.sampled_from(["deploy", "deploy", "shift", "shift", "swap",
                                         "rollback", "retire"]),
                  st.sampled_from(["new", "new", "live", "idle"]), st.sampled_from(FAULTS),
                  st.integers(1, 10))


class World:
    """The shared environment, and the one place faults are put in and taken out."""

    def __init__(self, env, monkeypatch) -> None:
        self.env = env
        self.version = 1
        # What :80 served before its last change, as this test saw it: (colour, task definition).
        self.served_before: tuple[str, str] | None = None
        self.requests = Requests().install(env.aws)
        self.arns: dict[str, str] | None = None
        self.base_hooks = list(env.aws.hooks)
        botocore_sleeps_on(monkeypatch, VirtualClock())  # botocore's backoff takes no real time
        # One alarm, configured: forward swaps carry it as a trigger; "alarm_fires" sets it off.
        self.set_alarm("OK")
        env.config_path.write_text(env.config_path.read_text().replace(
            "[deploy]", f'[deploy]\nalarms = ["{ALARM}"]\nstep_percent = 50\n'
                        f'step_interval = "3s"'))
        result = env.call("deploy", "--image", "app:v1")
        assert result.code == 0, result.err

    def set_alarm(self, state: str) -> None:
        cloudwatch = self.env.client("cloudwatch")
        cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count",
                                    Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                    EvaluationPeriods=1, Threshold=1,
                                    ComparisonOperator="GreaterThanThreshold")
        cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue=state, StateReason="test")

    def image_of(self, color: str) -> str:
        return self.env.parameter(f"shop-{color}", "Image")

    def release_of(self, color: str) -> str:
        return self.env.outputs(f"shop-{color}")["TaskDefinitionArn"]

    def rollback_allowed(self, argv: list[str]) -> bool:
        """Whether `rollback --to COLOUR` may go ahead: COLOUR still runs what :80 served
        before its last change."""
        return self.served_before == (argv[2], self.release_of(argv[2]))

    def observe(self) -> Seen:
        """What :80 forwards to and what the ALB stack records, read from moto. The ALB stack's
        ARNs never change (it is updated, never replaced), so they are read once."""
        if self.arns is None:
            self.arns = self.env.outputs("shop-elb")
        (listener,) = self.env.client("elbv2").describe_listeners(
            ListenerArns=[self.arns["ProductionListenerArn"]])["Listeners"]
        (action,) = listener["DefaultActions"]
        parameters = {p["ParameterKey"]: p["ParameterValue"]
                      for p in self.env.stack("shop-elb")["Parameters"]}
        return Seen(weighted(action), parameters, self.arns)

    def argv(self, step: Step, seen: Seen) -> list[str]:
        live = seen.live
        if step.command == "retire":
            return ["retire"]
        if step.command == "rollback" and seen.shifting:
            return ["rollback", "--to", live]  # during a shift: back to the colour it left
        if step.command not in ("deploy", "shift"):
            return [step.command, "--to", other(live)]
        strategy = ["--strategy", "linear"] if step.command == "shift" else []
        if step.image == "live":
            image = self.image_of(live)
        elif step.image == "idle":
            image = self.image_of(other(live))
        else:
            self.version += 1
            image = f"app:v{self.version}"
        return ["deploy", "--image", image, *strategy]

    def inject(self, fault: str, at: int, idle: str) -> None:
        env = self.env
        if fault == "idle_rolls_back":
            env.aws.hooks.append(("before-call.cloudformation.*", FailingUpdate(
                env, f"shop-{idle}", "Service", "ECS Deployment Circuit Breaker was triggered")))
        elif fault == "swap_rolls_back":
            env.aws.hooks.append(("before-call.cloudformation.*", FailingUpdate(
                env, "shop-elb", "ProductionListener", "Listener update failed",
                resource_type="AWS::ElasticLoadBalancingV2::Listener")))
        elif fault == "smoke_8080":
            env.test.answer(503)
        elif fault == "smoke_80":
            env.production.answer(500)
        elif fault == "throttling":
            count = {"n": 0}

            def throttle(request, **kwargs):
                if operation_of(request) in {"DescribeStacks", "DescribeStackEvents"}:
                    count["n"] += 1
                    if count["n"] % 3 == 0:
                        return http_error("Throttling", "Rate exceeded", 400)
                return None
            env.aws.hooks.append(("before-send.cloudformation", throttle))
        elif fault == "lost_reply":
            LostReply("UpdateStack").install(env.aws)
        elif fault == "alarm_fires":
            self.set_alarm("ALARM")
        elif fault == "sigterm":  # a CI runner cancels the job at a call of the run's work
            count = {"n": 0}

            def cancel(**kwargs) -> None:
                count["n"] += 1
                if count["n"] == at:
                    raise Interrupted(signal.SIGTERM)
            env.aws.hooks.append(("before-call.cloudformation.*", cancel))

    def heal(self, fault: str) -> None:
        self.env.aws.hooks[:] = self.base_hooks
        self.env.test.answer(200)
        self.env.production.answer(200)
        if fault == "alarm_fires":
            self.set_alarm("OK")

    def refused_during_shift(self, argv: list[str], seen: Seen) -> bool:
        """During a shift only its own deploy (resumed) and a rollback to the colour it left
        may go ahead; everything else is refused with 3 and changes nothing."""
        if not seen.shifting:
            return False
        if argv[0] == "deploy":
            return argv[2] != self.image_of(other(seen.parameters["LiveColor"]))
        return argv[0] != "rollback"

    def run(self, argv: list[str], seen: Seen, fault: str = "none", at: int = 1) -> Seen:
        """Run `argv` with `fault` from the state `seen`; check the invariants; return the state
        it left."""
        live = seen.live
        live_release = self.release_of(live)
        refused = self.refused_during_shift(argv, seen)
        allowed = not refused and (argv[0] != "rollback" or argv[2] == live or seen.shifting
                                   or self.rollback_allowed(argv))
        self.inject(fault, at, other(live))
        self.env.aws.calls.clear()
        self.requests.seen.clear()
        try:
            result = self.env.call(*argv)
        finally:
            self.heal(fault)
        after = self.observe()
        self.check(argv, live, result, fault, allowed, seen.shifting, after)
        if after.split == {other(live): 100}:
            self.served_before = (live, live_release)
        return after

    def check(self, argv: list[str], live_before: str, result, fault: str,
              allowed: bool, shifting: bool, after: Seen) -> None:
        env = self.env
        assert result.code in DOCUMENTED, result
        if not allowed:  # refused: a rollback to a release that never served production, or
            # anything but the shift's own deploy or a rollback during a shift
            interrupted = fault == "sigterm" and result.code == 143  # before it was refused
            assert result.code == 3 or interrupted, (argv, result.err)
            assert interrupted or shifting or \
                "To put it live anyway: stackswap swap --to" in result.err
            assert not [c for c in env.aws.calls if c in CFN_MUTATING]
        elif fault == "none":
            assert result.code == 0, (argv, result.err)
        elif fault == "alarm_fires" and argv[0] != "deploy":
            # invariant 9: rollback and swap --to are never refused for an alarm
            assert result.code == 0, (argv, result.err)
        assert "Traceback" not in result.err
        # every run, even one a signal ended, leaves the lock released
        assert not env.client("ssm").get_parameters(Names=["/stackswap/shop/lock"])[
            "Parameters"], (argv, fault, result.err)
        # 1 and 11. :80 forwards only to our groups, weights summing to 100, to one of them or
        # (a shift) to both as the ALB stack records; each group with weight > 0 is healthy
        groups = after.groups
        ours = {after.arns["BlueTargetGroupArn"], after.arns["GreenTargetGroupArn"]}
        assert {arn for arn, _ in groups} <= ours, groups
        assert sum(weight for _, weight in groups) == 100, groups
        serving = [arn for arn, weight in groups if weight > 0]
        if len(serving) > 1:
            new_weight = int(after.parameters["ShiftWeight"])
            assert after.parameters["TrafficShift"] == "linear:50:3", groups
            assert sorted(weight for _, weight in groups) == sorted(
                [new_weight, 100 - new_weight]), groups
        elbv2 = env.client("elbv2")
        for arn in serving:
            health = elbv2.describe_target_health(TargetGroupArn=arn)
            assert any(d["TargetHealth"]["State"] == "healthy"
                       for d in health["TargetHealthDescriptions"]), (argv, fault, arn)
        # 2. a deploy never updates the live colour's service stack
        if argv[0] == "deploy":
            assert f"shop-{live_before}" not in self.requests.updated_stacks(), (argv, fault)
        # after a refusal, a failed colour or a failed swap or step :80 is back where it was
        # (all of it on the colour that was live; a refusal leaves a shift as it was)
        if result.code in (4, 5) or (result.code == 3 and not shifting):
            assert after.split == {live_before: 100}, (argv, fault, result.err)


@dataclass(frozen=True)
class Seen:
    """:80's forward action and the ALB stack's parameters, as read after a run."""

    groups: list[tuple[str, int]]
    parameters: dict[str, str]
    arns: dict[str, str]

    @property
    def split(self) -> dict[str, int]:
        """Colour -> weight of each of our groups :80 sends requests to (weight > 0)."""
        colors = {self.arns[f"{c.capitalize()}TargetGroupArn"]: c for c in ("blue", "green")}
        return {colors.get(arn, arn): weight for arn, weight in self.groups if weight > 0}

    @property
    def shifting(self) -> bool:
        return len(self.split) > 1

    @property
    def live(self) -> str:
        """The colour :80 serves; during a shift, the one it shifts from (LiveColor)."""
        split = self.split
        return next(iter(split)) if len(split) == 1 else self.parameters["LiveColor"]


def check_sequence(env, monkeypatch, sequence) -> None:
    world = env.__dict__.get("world")
    if world is None:
        world = env.__dict__["world"] = World(env, monkeypatch)
    argv = ["swap"]
    seen = world.observe()
    for step in sequence:
        argv = world.argv(step, seen)
        seen = world.run(argv, seen, step.fault, step.at)
    # A rerun of the last command without faults converges...
    seen = world.run(argv, seen)
    if any(c in CFN_MUTATING for c in env.aws.calls):
        # ...and then has nothing left to do (when the rerun itself changed something).
        world.run(argv, seen)
        assert [c for c in env.aws.calls if c in CFN_MUTATING] == [], env.aws.calls


def sequences_test(chunk: int):
    @seed(20261127 + chunk)
    @settings(max_examples=math.ceil(EXAMPLES / CHUNKS), deadline=None, database=None,
              suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
    @given(sequence=st.lists(steps, min_size=1, max_size=2))
    def test(env, monkeypatch, sequence):
        check_sequence(env, monkeypatch, sequence)

    return test


test_fault_sequences_keep_the_invariants_1 = sequences_test(1)
test_fault_sequences_keep_the_invariants_2 = sequences_test(2)
test_fault_sequences_keep_the_invariants_3 = sequences_test(3)
test_fault_sequences_keep_the_invariants_4 = sequences_test(4)
test_fault_sequences_keep_the_invariants_5 = sequences_test(5)
test_fault_sequences_keep_the_invariants_6 = sequences_test(6)
test_fault_sequences_keep_the_invariants_7 = sequences_test(7)
test_fault_sequences_keep_the_invariants_8 = sequences_test(8)
