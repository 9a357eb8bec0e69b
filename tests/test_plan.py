"""The pure planner as tables: observed state + request -> steps, or a refusal. No AWS at all."""

from __future__ import annotations

import dataclasses

import pytest

from orchestrator.errors import OperatorNeeded, Refused
from orchestrator.model import ColorState, Observed, Stack
from orchestrator.plan import (
    ContinueRollback,
    CreateAlb,
    CreateService,
    DeployRequest,
    Swap,
    UpdateService,
    Verify,
    VerifyLive,
    WaitFor,
    plan_deploy,
    plan_promote,
    plan_recover,
)

TG = {"blue": "arn:tg/blue", "green": "arn:tg/green"}


def stack(name: str, status: str = "UPDATE_COMPLETE", **parameters: str) -> Stack:
    return Stack(name, status, parameters, {})


def world(live: str | None = "blue", *, alb: str | None = "UPDATE_COMPLETE",
          blue: tuple | None = ("UPDATE_COMPLETE", "app:v1"),
          green: tuple | None = ("UPDATE_COMPLETE", "app:v1"),
          live_parameter: str | None = None, production=None, test=None) -> Observed:
    alb_stack = stack("shop-elb", alb, LiveColor=live_parameter or live) if alb else None
    colors = {}
    for color, spec in (("blue", blue), ("green", green)):
        service = stack(f"shop-{color}", spec[0], Image=spec[1]) if spec else None
        colors[color] = ColorState(color, service, TG[color] if alb else None)
    idle = {"blue": "green", "green": "blue"}.get(live)
    if production is None:
        production = [(TG[live], 1)] if alb and live else []
    if test is None:
        test = [(TG[idle], 1)] if alb and idle else []
    return Observed(alb_stack, colors, production, test)


def deploy(image="app:v2", color=None, swap=True) -> DeployRequest:
    return DeployRequest(image, color, swap)


@pytest.mark.parametrize(("observed", "request_", "steps"), [
    # deploy goes to the idle colour, then swaps
    (world("blue"), deploy(), (UpdateService("green", "app:v2", "app:v1"),
                               Verify("green", "app:v2"), Swap("blue", "green"),
                               VerifyLive("green", "blue"))),
    (world("green"), deploy(), (UpdateService("blue", "app:v2", "app:v1"),
                                Verify("blue", "app:v2"), Swap("green", "blue"),
                                VerifyLive("blue", "green"))),
    # --color naming the idle colour is fine
    (world("blue"), deploy(color="green", swap=False),
     (UpdateService("green", "app:v2", "app:v1"), Verify("green", "app:v2"))),
    # an idle stack left UPDATE_ROLLBACK_COMPLETE by an earlier failure is updatable
    (world("blue", green=("UPDATE_ROLLBACK_COMPLETE", "app:v1")), deploy(swap=False),
     (UpdateService("green", "app:v2", "app:v1"), Verify("green", "app:v2"))),
    # the image is already live: only check production, change nothing
    (world("green", green=("UPDATE_COMPLETE", "app:v2")), deploy(), (VerifyLive("green", None),)),
    (world("green", green=("UPDATE_COMPLETE", "app:v2")), deploy(color="green"),
     (VerifyLive("green", None),)),
    # the idle colour already has the image (e.g. after --no-swap): update is a no-op, verify, swap
    (world("blue", green=("UPDATE_COMPLETE", "app:v2")), deploy(),
     (UpdateService("green", "app:v2", "app:v2"), Verify("green", "app:v2"),
      Swap("blue", "green"), VerifyLive("green", "blue"))),
    # first run: everything created, blue live
    (world(None, alb=None, blue=None, green=None), deploy(image="app:v1"),
     (CreateAlb("blue"), CreateService("blue", "app:v1"), CreateService("green", "app:v1"),
      Verify("blue", "app:v1"), Verify("green", "app:v1"), VerifyLive("blue", None))),
    # an interrupted first run resumes: only the missing stack is created
    (world("blue", green=None), deploy(image="app:v1"),
     (CreateService("green", "app:v1"), Verify("green", "app:v1"))),
    # an operation in progress (we hold the lock, so its run is gone): wait, then plan again
    (world("blue", green=("UPDATE_IN_PROGRESS", "app:v2")), deploy(),
     (WaitFor("shop-green", "UPDATE_IN_PROGRESS"),)),
    (world("blue", alb="UPDATE_IN_PROGRESS"), deploy(),
     (WaitFor("shop-elb", "UPDATE_IN_PROGRESS"),)),
    (world("blue", blue=("UPDATE_ROLLBACK_IN_PROGRESS", "app:v1")), deploy(),
     (WaitFor("shop-blue", "UPDATE_ROLLBACK_IN_PROGRESS"),)),
    (world(None, alb="CREATE_IN_PROGRESS", blue=None, green=None), deploy(),
     (WaitFor("shop-elb", "CREATE_IN_PROGRESS"),)),
])
def test_deploy_plans(observed, request_, steps):
    assert plan_deploy(observed, request_).steps == steps


@pytest.mark.parametrize(("observed", "request_", "error", "message"), [
    (world("blue"), deploy(color="blue"), Refused, "blue is the live colour"),
    (world("green"), deploy(color="green"), Refused, "green is the live colour"),
    (world("blue", green=("UPDATE_ROLLBACK_FAILED", "app:v1")), deploy(), OperatorNeeded,
     "stackswap recover"),
    (world("blue", green=("ROLLBACK_COMPLETE", "app:v1")), deploy(), OperatorNeeded,
     "delete-stack --stack-name shop-green"),
    (world("blue", alb="DELETE_FAILED"), deploy(), OperatorNeeded, "shop-elb is DELETE_FAILED"),
    # drift: :80 and LiveColor disagree, unknown target group, weighted split
    (world("green", live_parameter="blue"), deploy(), Refused, "LiveColor parameter is blue"),
    (world("blue", production=[("arn:tg/other", 1)]), deploy(), Refused,
     "unknown target group arn:tg/other"),
    (world("blue", production=[(TG["blue"], 90), (TG["green"], 10)]), deploy(), Refused,
     "blue (weight 90) + green (weight 10)"),
    (world("blue", test=[(TG["blue"], 1)]), deploy(), Refused, ":8080 forwards to blue"),
    # a half-existing environment without its ALB stack
    (world(None, alb=None), deploy(), Refused, "the ALB stack is missing"),
    (world(None, alb=None, blue=None, green=None), deploy(color="green"), Refused,
     "rerun without --color"),
])
def test_deploy_refusals(observed, request_, error, message):
    with pytest.raises(error) as raised:
        plan_deploy(observed, request_)
    assert message in raised.value.message


@pytest.mark.parametrize("action", ["swap", "rollback"])
@pytest.mark.parametrize("live", ["blue", "green"])
def test_swap_and_rollback_promote_the_idle_color_after_verifying_it(action, live):
    idle = {"blue": "green", "green": "blue"}[live]
    observed = world(live, **{idle: ("UPDATE_COMPLETE", "app:v9")})
    assert plan_promote(observed, action).steps == (
        Verify(idle, "app:v9"), Swap(live, idle), VerifyLive(idle, live))


@pytest.mark.parametrize(("observed", "error", "message"), [
    (world(None, alb=None, blue=None, green=None), Refused, "stacks missing (alb, blue, green)"),
    (world("blue", green=None), Refused, "stacks missing (green)"),
    (world("blue", live_parameter="green"), Refused, "changed by hand"),
    (world("blue", green=("UPDATE_ROLLBACK_FAILED", "app:v1")), OperatorNeeded,
     "continue-update-rollback"),
])
def test_promote_refusals(observed, error, message):
    with pytest.raises(error) as raised:
        plan_promote(observed, "swap")
    assert message in raised.value.message


def test_dry_run_lines_say_what_changes():
    lines = plan_deploy(world("blue"), deploy()).lines()
    assert lines == [
        "1. update the green service stack: image app:v1 -> app:v2",
        "2. verify green: service steady on app:v2, targets healthy, smoke request answers 2xx",
        "3. swap listeners: :80 blue -> green, :8080 green -> blue",
        "4. confirm :80 -> green and production answers 2xx",
    ]


def test_promote_waits_for_an_operation_in_progress():
    plan = plan_promote(world("blue", alb="UPDATE_IN_PROGRESS"), "swap")
    assert plan.steps == (WaitFor("shop-elb", "UPDATE_IN_PROGRESS"),)


def test_alarm_in_alarm_refuses_and_a_missing_alarm_is_named():
    quiet = dataclasses.replace(world("blue"), alarms={"shop-5xx": ("arn:a", "OK")})
    assert plan_deploy(quiet, deploy(), ("shop-5xx",)).steps[0] == UpdateService(
        "green", "app:v2", "app:v1")
    firing = dataclasses.replace(world("blue"), alarms={"shop-5xx": ("arn:a", "ALARM")})
    with pytest.raises(Refused, match="already in ALARM: shop-5xx"):
        plan_deploy(firing, deploy(), ("shop-5xx",))
    with pytest.raises(Refused, match="already in ALARM"):
        plan_promote(firing, "rollback", ("shop-5xx",))
    with pytest.raises(Refused, match="alarm\\(s\\) not found: shop-typo"):
        plan_deploy(quiet, deploy(), ("shop-typo",))


def test_recover_continues_only_stuck_rollbacks_and_skips_only_named_resources():
    stuck = world("blue", green=("UPDATE_ROLLBACK_FAILED", "app:v2"))
    assert plan_recover(stuck, ()).steps == (ContinueRollback("shop-green", ()),)
    assert plan_recover(stuck, ("Service",)).steps == (ContinueRollback("shop-green",
                                                                        ("Service",)),)
    assert plan_recover(world("blue"), ()).steps == ()


@pytest.mark.parametrize("action", ["swap", "rollback"])
def test_promote_to_the_live_color_changes_nothing_so_a_rerun_is_safe(action):
    assert plan_promote(world("green"), action, to_color="green").steps == (
        VerifyLive("green", None),)
    assert plan_promote(world("green"), action, to_color="blue").steps == (
        Verify("blue", "app:v1"), Swap("green", "blue"), VerifyLive("blue", "green"))
