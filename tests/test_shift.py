"""Traffic shifts (deploy.strategy canary / linear), rollback during one, gates, bake and retire:
the real CLI against the moto server, time from a virtual clock.

What AWS does, as these tests rely on it:
- ELB, "Listeners for your Application Load Balancers", forward actions: a forward action may
  route to several target groups, "each target group weight is a value from 0 to 999", and
  requests are distributed to the groups by their weights — a group of weight 0 gets none.
- CloudFormation UpdateStack (API reference): "UsePreviousValue" keeps a parameter's value, and a
  parameter-only update with the previous template changes only the resources that refer to the
  changed parameters (here the production listener's weights).
- Amazon ECS, UpdateService: desiredCount is "the number of instantiations of the task definition
  to place and keep running in your service"; 0 is allowed and stops every task.
"""

from __future__ import annotations

import json
import signal

import pytest
from stackswap.environment.errors import Interrupted

from tests.harness import Requests, VirtualClock, append_table, weighted
from tests.test_alb_config import reconfigure

ALARM = "shop-5xx"


@pytest.fixture
def shop(env):
    """blue live with app:v1, green on the test listener with app:v1; linear 50 % steps."""
    result = env.call("deploy", "--image", "app:v1")
    assert result.code == 0, result
    reconfigure(env, "deploy", strategy='"linear"', step_percent="50", step_interval='"30s"')
    return env


def production_split(env) -> dict[str, int]:
    """Colour -> weight of the production listener, as ELB describes it."""
    outputs = env.outputs("shop-elb")
    (listener,) = env.client("elbv2").describe_listeners(
        ListenerArns=[outputs["ProductionListenerArn"]])["Listeners"]
    (action,) = listener["DefaultActions"]
    colors = {outputs[f"{c.capitalize()}TargetGroupArn"]: c for c in ("blue", "green")}
    return {colors[arn]: weight for arn, weight in weighted(action) if weight > 0}


class StopAt(VirtualClock):
    """A clock that delivers a signal once `seconds` have passed (the run is holding a step),
    after calling `before` (e.g. to look at the split as it is then)."""

    def __init__(self, seconds: float, before=lambda: None) -> None:
        super().__init__()
        self.stop_at, self.before = self.time + seconds, before

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.time >= self.stop_at:
            self.stop_at = float("inf")
            self.before()
            raise Interrupted(signal.SIGTERM)


def test_a_linear_shift_moves_production_in_steps_and_ends_on_the_new_colour(shop):
    splits = []
    requests = Requests().install(shop.aws)
    class Recording(VirtualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if seconds == 1.0 and (split := production_split(shop)) not in splits:
                splits.append(split)

    result = shop.call("deploy", "--image", "app:v2", clock=Recording())
    assert result.code == 0, result
    # held at 50/50 (the test listener stays on green, the new colour, until the end)
    assert {"blue": 50, "green": 50} in splits
    assert production_split(shop) == {"green": 100}
    assert shop.forwards(8080) == "blue"
    assert shop.parameter("shop-elb", "TrafficShift") == "none"
    steps = [{p["ParameterKey"]: p.get("ParameterValue") for p in call["Parameters"]}
             for call in requests.of("UpdateStack") if call["StackName"] == "shop-elb"]
    assert [(s["LiveColor"], s["ShiftWeight"], s["TrafficShift"]) for s in steps] == [
        ("blue", "50", "linear:50:30"), ("green", "0", "none")]
    assert "step 1 of 2" in result.err and "next step in" in result.err


def test_status_shows_the_shift_and_a_rerun_resumes_it(shop, capsys):
    result = shop.call("deploy", "--image", "app:v2", clock=StopAt(5))
    assert result.code == 143, result
    assert production_split(shop) == {"blue": 50, "green": 50}
    # a split stackswap made is a known state, not drift
    status = json.loads(shop.run("status", "--json", capsys=capsys).out)
    assert status["drift"] == []
    assert status["shift"]["weight"] == 50 and status["shift"]["to"] == "green"
    assert (status["shift"]["step"], status["shift"]["steps"]) == (1, 2)
    text = shop.call("status").out
    assert "shifting: green 50 % (step 1 of 2" in text
    # another deploy is refused; the same deploy resumes from the current weights
    other = shop.call("deploy", "--image", "app:v3")
    assert other.code == 3 and "rerun that deploy to resume it" in other.err
    resumed = shop.call("deploy", "--image", "app:v2")
    assert resumed.code == 0, resumed
    assert "resuming the linear shift to green at 50 % (step 1 of 2)" in resumed.err
    assert production_split(shop) == {"green": 100}
    assert shop.forwards(8080) == "blue"


def test_rollback_during_a_shift_puts_all_of_production_back_at_once(shop):
    assert shop.call("deploy", "--image", "app:v2", clock=StopAt(5)).code == 143
    requests = Requests().install(shop.aws)
    result = shop.call("rollback")
    assert result.code == 0, result
    assert production_split(shop) == {"blue": 100}
    assert shop.forwards(8080) == "green"
    assert shop.parameter("shop-elb", "TrafficShift") == "none"
    # one ALB update, without rollback triggers
    (update,) = [c for c in requests.of("UpdateStack") if c["StackName"] == "shop-elb"]
    assert update["RollbackConfiguration"]["RollbackTriggers"] == []


def test_an_alarm_during_a_step_puts_production_back_and_exits_5(shop):
    cloudwatch = shop.client("cloudwatch")
    cloudwatch.put_metric_alarm(AlarmName=ALARM, MetricName="HTTPCode_Target_5XX_Count",
                                Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60,
                                EvaluationPeriods=1, Threshold=1,
                                ComparisonOperator="GreaterThanThreshold")
    cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="OK", StateReason="test")
    reconfigure(shop, "deploy", alarms=f'["{ALARM}"]')

    class FiresDuringTheHold(VirtualClock):
        def sleep(self, seconds: float) -> None:
            super().sleep(seconds)
            if production_split(shop) == {"blue": 50, "green": 50}:
                cloudwatch.set_alarm_state(AlarmName=ALARM, StateValue="ALARM",
                                           StateReason="test")

    result = shop.call("deploy", "--image", "app:v2", clock=FiresDuringTheHold())
    assert result.code == 5, result
    assert "alarm(s) in ALARM: shop-5xx" in result.err and "step 1 of 2" in result.err
    assert production_split(shop) == {"blue": 100}
    assert shop.parameter("shop-elb", "TrafficShift") == "none"


def test_a_split_stackswap_did_not_make_is_drift(shop):
    # weights set by hand, off the shift grid the ALB stack records (none)
    outputs = shop.outputs("shop-elb")
    shop.client("elbv2").modify_listener(
        ListenerArn=outputs["ProductionListenerArn"], DefaultActions=[{
            "Type": "forward", "ForwardConfig": {"TargetGroups": [
                {"TargetGroupArn": outputs["BlueTargetGroupArn"], "Weight": 70},
                {"TargetGroupArn": outputs["GreenTargetGroupArn"], "Weight": 30}]}}])
    result = shop.call("deploy", "--image", "app:v2")
    assert result.code == 3, result
    assert "nor a traffic shift stackswap recorded on the ALB stack" in result.err


def test_a_failing_gate_before_the_swap_moves_nothing(shop):
    append_table(shop, "deploy.hooks", before_swap=json.dumps(
        "echo checking $STACKSWAP_NEW_COLOR $STACKSWAP_NEW_IMAGE; exit 3"))
    result = shop.call("deploy", "--image", "app:v2")
    assert result.code == 4, result
    assert "[before_swap] checking green app:v2" in result.err
    assert "the before_swap gate failed (exited with 3)" in result.err
    assert production_split(shop) == {"blue": 100}


def test_a_failing_gate_after_a_step_puts_production_back(shop):
    append_table(shop, "deploy.hooks", after_step='"test $STACKSWAP_WEIGHT -lt 50"')
    result = shop.call("deploy", "--image", "app:v2")
    assert result.code == 5, result
    assert "the after_step gate failed at step 1 of 2 (exited with 1)" in result.err
    assert production_split(shop) == {"blue": 100}


def test_retire_then_rollback_starts_the_tasks_first(shop):
    reconfigure(shop, "deploy", strategy='"all-at-once"')
    shop.config_path.write_text(shop.config_path.read_text().replace(
        "step_percent = 50\n", "").replace('step_interval = "30s"\n', ""))
    assert shop.call("deploy", "--image", "app:v2").code == 0
    result = shop.call("retire")
    assert result.code == 0, result
    assert shop.parameter("shop-blue", "DesiredCount") == "0"
    assert "retired: blue" in shop.call("status").out
    rollback = shop.call("rollback", "--dry-run")
    assert "blue is retired (0 tasks): its tasks must start" in rollback.out
    rollback = shop.call("rollback")
    assert rollback.code == 0, rollback
    # as many tasks as the live colour runs
    assert shop.parameter("shop-blue", "DesiredCount") == shop.parameter("shop-green",
                                                                         "DesiredCount")
    assert production_split(shop) == {"blue": 100}


def test_the_next_deploy_to_a_retired_colour_works_as_today(shop):
    shop.config_path.write_text(shop.config_path.read_text().replace(
        'strategy = "linear"\n', ""))
    assert shop.call("deploy", "--image", "app:v2").code == 0
    assert shop.call("retire").code == 0
    result = shop.call("deploy", "--image", "app:v3")
    assert result.code == 0, result
    assert shop.parameter("shop-blue", "DesiredCount") != "0"
    assert production_split(shop) == {"blue": 100}


def test_status_lines_for_a_shift_a_bake_and_durations():
    from stackswap.orchestrator.output.status import bake_text, duration_text, shift_text

    assert [duration_text(s) for s in (40, 180, 7300)] == ["40s", "3m", "2h"]
    shift = {"to": "green", "weight": 25, "step": 1, "steps": 4, "next_step_in_seconds": 180}
    assert shift_text(shift) == "shifting: green 25 % (step 1 of 4, next in 3m)"
    assert "next step overdue: rerun the deploy" in shift_text({**shift,
                                                                "next_step_in_seconds": -5})
    assert bake_text({"color": "blue", "seconds_left": 600, "retire": "manual"}) == \
        "baking: blue stays warm for 10m"
    assert bake_text({"color": "blue", "seconds_left": 0, "retire": "manual"}) == \
        "baked: blue is still warm; `stackswap retire` scales it to zero"
