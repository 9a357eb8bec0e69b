"""The pure planner as tables: observed state + request -> steps, or a refusal. No AWS at all."""

from __future__ import annotations

import dataclasses

import pytest
from stackswap.environment.config import Health
from stackswap.environment.errors import OperatorNeeded, Refused
from stackswap.orchestrator.model import (
    COMPOSITE_ALARM,
    METRIC_ALARM,
    Alarm,
    ChangeSet,
    ColorState,
    Observed,
    Paths,
    ResourceChange,
    ServiceState,
    Stack,
    TargetHealth,
)
from stackswap.orchestrator.plan import (
    CancelSwap,
    ContinueRollback,
    CreateAlb,
    CreateService,
    DeployRequest,
    ReleaseFloor,
    Swap,
    UpdateService,
    Verify,
    VerifyLive,
    WaitFor,
    check_update_alb,
    plan_deploy,
    plan_promote,
    plan_recover,
    refuse_destructive,
)
from stackswap.orchestrator.verify import hopeless, unhealthy_limit_seconds

TG = {"blue": "arn:tg/blue", "green": "arn:tg/green"}


def stack(name: str, status: str = "UPDATE_COMPLETE", outputs: dict | None = None,
          triggers: tuple[str, ...] = (), **parameters: str) -> Stack:
    return Stack(name, status, parameters, outputs or {}, rollback_triggers=triggers)


def release(color: str, image: str) -> str:
    """The task definition a colour's stack runs: one revision per deploy of that colour."""
    return f"arn:task-definition/shop:{color}-{image}"


def world(live: str | None = "blue", *, alb: str | None = "UPDATE_COMPLETE",
          blue: tuple | None = ("UPDATE_COMPLETE", "app:v1"),
          green: tuple | None = ("UPDATE_COMPLETE", "app:v1"),
          live_parameter: str | None = None, production=None, test=None,
          rollback_release: str = "none", alb_triggers: tuple[str, ...] = ()) -> Observed:
    alb_stack = stack("shop-elb", alb, None, alb_triggers, LiveColor=live_parameter or live,
                      RollbackRelease=rollback_release) if alb else None
    colors = {}
    for color, spec in (("blue", blue), ("green", green)):
        service = stack(f"shop-{color}", spec[0], {"TaskDefinitionArn": release(color, spec[1])},
                        Image=spec[1]) if spec else None
        colors[color] = ColorState(color, service, TG[color] if alb else None)
    idle = {"blue": "green", "green": "blue"}.get(live)
    if production is None:
        production = [(TG[live], 1)] if alb and live else []
    if test is None:
        test = [(TG[idle], 1)] if alb and idle else []
    return Observed(alb_stack, colors, production, test)


def deploy(image="app:v2", color=None, swap=True) -> DeployRequest:
    return DeployRequest(image, color, swap)


def swap(from_color: str, to_color: str, leaving: str = "app:v1", previous: str | None = None,
         triggers: tuple[Alarm, ...] = ()) -> Swap:
    """A swap step: `leaving` is the image :80 leaves, recorded for `rollback`."""
    return Swap(from_color, to_color, release(from_color, leaving), previous, triggers)


def swapped(from_color: str, to_color: str, **kwargs) -> tuple[Swap, VerifyLive]:
    step = swap(from_color, to_color, **kwargs)
    return step, VerifyLive(to_color, step)


@pytest.mark.parametrize(("observed", "request_", "steps"), [
    # deploy goes to the idle colour, then swaps
    (world("blue"), deploy(), (UpdateService("green", "app:v2", "app:v1"),
                               Verify("green", "app:v2"), *swapped("blue", "green"))),
    (world("green"), deploy(), (UpdateService("blue", "app:v2", "app:v1"),
                                Verify("blue", "app:v2"), *swapped("green", "blue"))),
    # --color naming the idle colour is fine
    (world("blue"), deploy(color="green", swap=False),
     (UpdateService("green", "app:v2", "app:v1"), Verify("green", "app:v2"))),
    # an idle stack left UPDATE_ROLLBACK_COMPLETE by an earlier failure is updatable
    (world("blue", green=("UPDATE_ROLLBACK_COMPLETE", "app:v1")), deploy(swap=False),
     (UpdateService("green", "app:v2", "app:v1"), Verify("green", "app:v2"))),
    # the image is already live: only check production, change nothing
    (world("green", green=("UPDATE_COMPLETE", "app:v2")), deploy(), (VerifyLive("green"),)),
    (world("green", green=("UPDATE_COMPLETE", "app:v2")), deploy(color="green"),
     (VerifyLive("green"),)),
    # the idle colour already has the image (e.g. after --no-swap): update is a no-op, verify, swap
    (world("blue", green=("UPDATE_COMPLETE", "app:v2")), deploy(),
     (UpdateService("green", "app:v2", "app:v2"), Verify("green", "app:v2"),
      *swapped("blue", "green"))),
    # first run: everything created, blue live
    (world(None, alb=None, blue=None, green=None), deploy(image="app:v1"),
     (CreateAlb("blue"), CreateService("blue", "app:v1"), CreateService("green", "app:v1"),
      Verify("blue", "app:v1"), Verify("green", "app:v1"), VerifyLive("blue"))),
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


@pytest.mark.parametrize("live", ["blue", "green"])
def test_swap_promotes_the_idle_color_after_verifying_it(live):
    idle = {"blue": "green", "green": "blue"}[live]
    observed = world(live, **{idle: ("UPDATE_COMPLETE", "app:v9")})
    assert plan_promote(observed, "swap").steps == (Verify(idle, "app:v9"), *swapped(live, idle))


@pytest.mark.parametrize("live", ["blue", "green"])
def test_rollback_goes_back_to_the_release_production_ran_before_the_last_swap(live):
    idle = {"blue": "green", "green": "blue"}[live]
    observed = world(live, **{live: ("UPDATE_COMPLETE", "app:v2")},
                     rollback_release=release(idle, "app:v1"))
    assert plan_promote(observed, "rollback").steps == (
        Verify(idle, "app:v1"),
        *swapped(live, idle, leaving="app:v2", previous=release(idle, "app:v1")))


@pytest.mark.parametrize(("observed", "why"), [
    # no swap yet: production never ran anything else
    (world("blue"), "no swap has happened yet"),
    # the idle colour was redeployed after the last swap (--no-swap, or a swap that was
    # reverted): what it runs now never served production
    (world("green", blue=("UPDATE_COMPLETE", "app:v3"), green=("UPDATE_COMPLETE", "app:v2"),
           rollback_release=release("blue", "app:v1")), "blue now runs app:v3"),
])
def test_rollback_refuses_a_release_that_never_served_production(observed, why):
    with pytest.raises(Refused) as raised:
        plan_promote(observed, "rollback")
    assert why in raised.value.message
    assert raised.value.message.endswith(f"stackswap swap --to {observed.idle_color}")


FIVE_XX = Alarm("shop-5xx", "arn:alarm:shop-5xx", "OK", METRIC_ALARM)
FIRING = dataclasses.replace(FIVE_XX, state="ALARM")
LATENCY = Alarm("shop-slo", "arn:alarm:shop-slo", "OK", COMPOSITE_ALARM)


def test_a_forward_swap_is_watched_by_every_configured_alarm_metric_and_composite():
    observed = dataclasses.replace(world("blue", green=("UPDATE_COMPLETE", "app:v2")),
                                   alarms={"shop-5xx": FIVE_XX, "shop-slo": LATENCY})
    steps = plan_promote(observed, "swap", ("shop-5xx", "shop-slo")).steps
    assert steps[1].triggers == (FIVE_XX, LATENCY)
    steps = plan_deploy(observed, deploy("app:v3"), ("shop-5xx", "shop-slo")).steps
    assert steps[2].triggers == (FIVE_XX, LATENCY)


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
        "3. swap: production :80 blue -> green, test :8080 green -> blue",
        "4. confirm production :80 -> green and production answers 2xx",
    ]


def test_promote_waits_for_an_operation_in_progress():
    plan = plan_promote(world("blue", alb="UPDATE_IN_PROGRESS"), "swap")
    assert plan.steps == (WaitFor("shop-elb", "UPDATE_IN_PROGRESS"),)


def test_a_firing_alarm_refuses_a_forward_deploy_or_swap_and_a_missing_alarm_is_named():
    quiet = dataclasses.replace(world("blue"), alarms={"shop-5xx": FIVE_XX})
    assert plan_deploy(quiet, deploy(), ("shop-5xx",)).steps[0] == UpdateService(
        "green", "app:v2", "app:v1")
    firing = dataclasses.replace(world("blue"), alarms={"shop-5xx": FIRING})
    for refused in (lambda: plan_deploy(firing, deploy(), ("shop-5xx",)),
                    lambda: plan_promote(firing, "swap", ("shop-5xx",))):
        with pytest.raises(Refused, match="already in ALARM: shop-5xx"):
            refused()
    with pytest.raises(Refused, match="alarm\\(s\\) not found in CloudWatch: shop-typo"):
        plan_deploy(quiet, deploy(), ("shop-typo",))


@pytest.mark.parametrize("alarms", [{"shop-5xx": FIRING}, {}])
def test_rollback_and_swap_to_are_never_refused_for_an_alarm_and_carry_no_trigger(alarms):
    # DESIGN invariant 9: rollback is always possible. A firing alarm is why one rolls back, and
    # a rollback watched by that alarm would be reverted by CloudFormation (rollback triggers,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html).
    observed = dataclasses.replace(
        world("green", green=("UPDATE_COMPLETE", "app:v2"),
              rollback_release=release("blue", "app:v1")), alarms=alarms)
    for plan in (plan_promote(observed, "rollback", ("shop-5xx",)),
                 plan_promote(observed, "swap", ("shop-5xx",), to_color="blue")):
        assert [type(step) for step in plan.steps] == [Verify, Swap, VerifyLive]
        assert plan.steps[1].triggers == ()
        said = "in ALARM: shop-5xx" if alarms else "not found in CloudWatch: shop-5xx"
        assert any(said in note for note in plan.notes)


def test_rollback_during_the_monitoring_window_cancels_that_swap():
    # A forward swap's update stays UPDATE_IN_PROGRESS through its monitoring time, and
    # CancelUpdateStack reverts it: "manually cancel the stack creation or update as necessary"
    # (https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html).
    watched = world("green", alb="UPDATE_IN_PROGRESS", alb_triggers=("arn:alarm:shop-5xx",))
    assert plan_promote(watched, "rollback").steps == (CancelSwap("shop-elb", "blue"),
                                                       VerifyLive("blue"))
    assert not plan_promote(watched, "rollback").needs_lock  # the deploy holds it
    # A swap without triggers (a rollback itself) is waited for, never cancelled.
    unwatched = world("green", alb="UPDATE_IN_PROGRESS")
    assert plan_promote(unwatched, "rollback").steps == (
        WaitFor("shop-elb", "UPDATE_IN_PROGRESS"),)
    # `swap` never cancels anything.
    assert plan_promote(watched, "swap").steps == (WaitFor("shop-elb", "UPDATE_IN_PROGRESS"),)


def test_recover_continues_only_stuck_rollbacks_and_skips_only_named_resources():
    stuck = world("blue", green=("UPDATE_ROLLBACK_FAILED", "app:v2"))
    assert plan_recover(stuck, ()).steps == (ContinueRollback("shop-green", ()),)
    assert plan_recover(stuck, ("Service",)).steps == (ContinueRollback("shop-green",
                                                                        ("Service",)),)
    assert plan_recover(world("blue"), ()).steps == ()


@pytest.mark.parametrize("action", ["swap", "rollback"])
def test_promote_to_the_live_color_changes_nothing_so_a_rerun_is_safe(action):
    back = release("blue", "app:v1")
    observed = world("green", green=("UPDATE_COMPLETE", "app:v2"), rollback_release=back)
    assert plan_promote(observed, action, to_color="green").steps == (VerifyLive("green"),)
    assert plan_promote(observed, action, to_color="blue").steps == (
        Verify("blue", "app:v1"), *swapped("green", "blue", leaving="app:v2", previous=back))


# --- when verification may stop early (orchestrator/verify.py, pure) ------------------------

def color(service: ServiceState | None, states: list[str]) -> ColorState:
    return ColorState("green", stack("shop-green", Image="app:v2"), TG["green"], service,
                      TargetHealth.from_states(states))


RUNNING = ServiceState(desired=2, running=2, pending=0, deployments=1, image="app:v2")
LIMIT = unhealthy_limit_seconds(Health())  # 30 s grace + 2 x 5 s


@pytest.mark.parametrize(("state", "unhealthy_for", "why"), [
    (color(RUNNING, ["healthy", "unhealthy"]), 0, None),
    (color(RUNNING, ["unhealthy", "unhealthy"]), LIMIT, None),  # not longer than the limit yet
    (color(RUNNING, ["unhealthy", "unhealthy"]), LIMIT + 1, "every target has been unhealthy"),
    (color(RUNNING, []), 0, None),  # tasks up, targets not registered yet: may still come
    (color(dataclasses.replace(RUNNING, running=0, pending=1), []), 0, None),  # starting
    (color(dataclasses.replace(RUNNING, running=0), []), 0, "no task running or pending"),
    (color(dataclasses.replace(RUNNING, desired=0, running=0), []), 0,
     "no task running or pending (0 desired)"),
])
def test_hopeless(state, unhealthy_for, why):
    found = hopeless(state, unhealthy_for, LIMIT)
    assert (found is None) if why is None else (why in found)


def test_a_target_still_initial_is_not_every_target_unhealthy():
    assert LIMIT == 40
    assert not TargetHealth.from_states(["unhealthy", "initial"]).all_unhealthy
    assert TargetHealth.from_states(["unhealthy", "unhealthy"]).all_unhealthy
    assert not TargetHealth.from_states([]).all_unhealthy


# --- the ALB stack differs from the config (issue 12) -------------------------------------------

DIFFERS = ("resource BlueTargetGroup differs", "parameter TestCidr is 10.0.0.0/8, the config "
           "says 203.0.113.10/32")


def differing(observed: Observed, differences: tuple[str, ...] = DIFFERS) -> Observed:
    return dataclasses.replace(observed, alb_differences=differences)


@pytest.mark.parametrize(("plan", "observed"), [
    (lambda o: plan_deploy(o, deploy()), world("blue")),
    (lambda o: plan_deploy(o, deploy(swap=False)), world("blue")),
    (lambda o: plan_promote(o, "swap"), world("blue", green=("UPDATE_COMPLETE", "app:v2"))),
    (lambda o: plan_promote(o, "swap", to_color="green"),
     world("blue", green=("UPDATE_COMPLETE", "app:v2"))),
])
def test_deploy_and_swap_refuse_while_the_alb_stack_differs_from_the_config(plan, observed):
    with pytest.raises(Refused) as raised:
        plan(differing(observed))
    message = raised.value.message
    assert message.startswith("the ALB stack differs from the config: resource BlueTargetGroup "
                              "differs; parameter TestCidr is 10.0.0.0/8")
    assert message.endswith("run `stackswap update-alb` first (nothing was changed)")


def test_rollback_goes_on_with_a_warning_while_the_alb_stack_differs():
    # The emergency path (docs/update-alb.md, "The ALB stack differs from the config").
    observed = differing(world("green", green=("UPDATE_COMPLETE", "app:v2"),
                               rollback_release=release("blue", "app:v1")))
    plan = plan_promote(observed, "rollback")
    assert plan.steps[0] == Verify("blue", "app:v1")
    assert plan.notes[0].startswith("warning: the ALB stack differs from the config: resource "
                                    "BlueTargetGroup differs")
    assert "run `stackswap update-alb` afterwards" in plan.notes[0]


@pytest.mark.parametrize(("observed", "request_"), [
    # nothing changes: a rerun after success, `swap --to` the live colour
    (world("green", green=("UPDATE_COMPLETE", "app:v2")), deploy()),
])
def test_a_deploy_that_changes_nothing_is_not_refused_for_alb_differences(observed, request_):
    assert plan_deploy(differing(observed), request_).steps == (VerifyLive("green"),)


def test_swap_to_the_live_colour_is_not_refused_for_alb_differences():
    assert plan_promote(differing(world("blue")), "swap", to_color="blue").steps == (
        VerifyLive("blue"),)


def test_alb_differences_are_named_up_to_five():
    many = tuple(f"resource R{number} differs" for number in range(8))
    with pytest.raises(Refused) as raised:
        plan_promote(differing(world("blue", green=("UPDATE_COMPLETE", "app:v2")), many), "swap")
    assert "R4 differs; and 3 more;" in raised.value.message
    assert "R5" not in raised.value.message


def test_messages_and_steps_name_the_configured_paths():
    paths = Paths("production :443", "test host test.shop.example.com")
    observed = dataclasses.replace(world("blue", test=[(TG["blue"], 1)]), paths=paths)
    with pytest.raises(Refused) as raised:
        plan_deploy(observed, deploy())
    assert "test host test.shop.example.com forwards to blue, expected the other colour" in \
        raised.value.message
    observed = dataclasses.replace(world("blue", green=("UPDATE_COMPLETE", "app:v2")),
                                   paths=paths)
    assert plan_promote(observed, "swap").lines()[-2:] == [
        "2. swap: production :443 blue -> green, test host test.shop.example.com green -> blue",
        "3. confirm production :443 -> green and production answers 2xx"]


# --- update-alb: what a change set may do ---------------------------------------------------

def change(action: str, logical_id: str, replacement: str = "False",
           resource_type: str = "AWS::ElasticLoadBalancingV2::TargetGroup") -> ResourceChange:
    return ResourceChange(action, logical_id, resource_type, replacement, ("Port",))


@pytest.mark.parametrize(("changes", "refused"), [
    ((change("Modify", "BlueTargetGroup"),), None),
    ((change("Add", "PrivateLoadBalancer", ""),), None),
    # The refusal is a sentence: "would replace X (type) to change P in stack" (issue 24).
    ((change("Modify", "BlueTargetGroup", "True"),),
     "the change would replace BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) to "
     "change Port in shop-elb."),
    ((change("Modify", "TestListener", "Conditional",
             "AWS::ElasticLoadBalancingV2::Listener"),),
     "would possibly replace TestListener (AWS::ElasticLoadBalancingV2::Listener) to change "
     "Port in"),
    ((change("Remove", "TestListener", ""),), "would remove TestListener ("),
    ((change("Dynamic", "TestListener", ""),), "would possibly replace or remove TestListener"),
    ((change("Modify", "GreenTargetGroup"), change("Modify", "BlueTargetGroup", "True")),
     "would replace BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) to change Port "
     "in shop-elb"),
    ((change("Remove", "TestRule", "", "AWS::ElasticLoadBalancingV2::ListenerRule"),
      change("Modify", "BlueTargetGroup", "True")),
     "would remove TestRule (AWS::ElasticLoadBalancingV2::ListenerRule) and replace "
     "BlueTargetGroup"),
])
def test_update_alb_refuses_a_replacement_or_removal_naming_the_resource(changes, refused):
    change_set = ChangeSet("arn:cs", "CREATE_COMPLETE", "", "AVAILABLE", changes)
    if refused is None:
        refuse_destructive(change_set, "shop-elb")
        return
    with pytest.raises(Refused) as raised:
        refuse_destructive(change_set, "shop-elb")
    assert refused in raised.value.message
    assert "GreenTargetGroup" not in raised.value.message


@pytest.mark.parametrize(("observed", "message"), [
    (world(None, alb=None, blue=None, green=None), "there is no ALB stack to update"),
    (world("blue", alb="UPDATE_IN_PROGRESS"), "shop-elb is UPDATE_IN_PROGRESS"),
    (world("green", live_parameter="blue"), "LiveColor parameter is blue"),
])
def test_update_alb_refuses_before_any_change(observed, message):
    with pytest.raises(Refused) as raised:
        check_update_alb(observed)
    assert message in raised.value.message


# --- capacity matching and config-only changes (issue 13) ---------------------------------------

def with_services(observed: Observed, desired: dict[str, int],
                  changes: dict[str, tuple[str, ...]] | None = None) -> Observed:
    """`observed` with each colour's ECS desired count and how its task definition differs
    from the config (what observe_for_deploy adds)."""
    colors = {color: dataclasses.replace(state, service=ServiceState(
        desired[color], desired[color], 0, 1, state.image_parameter))
        for color, state in observed.colors.items()}
    return dataclasses.replace(observed, colors=colors,
                               task_changes=changes or {c: () for c in colors})


def capacity(desired_count=2, scaling=(None, None), image="app:v2") -> DeployRequest:
    return DeployRequest(image, None, True, None, desired_count, *scaling)


@pytest.mark.parametrize(("live_desired", "request_", "count", "floor_released"), [
    # never fewer than production runs, never fewer than the config says
    (5, capacity(2), 5, False),
    (1, capacity(2), 2, False),
    # with autoscaling: at most its max; the floor goes back to min after the swap
    (5, capacity(2, (1, 4)), 4, True),
    (3, capacity(2, (2, 6)), 3, True),
    (2, capacity(2, (2, 6)), 2, False),
])
def test_the_idle_colour_gets_the_larger_of_the_config_and_the_live_count(
        live_desired, request_, count, floor_released):
    observed = with_services(world("blue"), {"blue": live_desired, "green": 1})
    plan = plan_deploy(observed, request_)
    update, verify = plan.steps[:2]
    assert (update.color, update.desired) == ("green", count)
    assert verify == Verify("green", "app:v2", count)
    released = [s for s in plan.steps if isinstance(s, ReleaseFloor)]
    assert released == ([ReleaseFloor("green", request_.scaling_min)] if floor_released else [])
    if floor_released:
        assert plan.steps[-1] == released[0]  # after production is verified on green


def test_no_swap_keeps_the_floor():
    observed = with_services(world("blue"), {"blue": 3, "green": 1})
    plan = plan_deploy(observed, DeployRequest("app:v2", None, False, None, 2, 1, 4))
    assert not [s for s in plan.steps if isinstance(s, ReleaseFloor)]


def test_a_live_image_with_a_changed_config_is_deployed_to_the_idle_colour():
    changed = ("environment: +FEATURE_X",)
    observed = with_services(world("blue"), {"blue": 2, "green": 2},
                             {"blue": changed, "green": changed})
    plan = plan_deploy(observed, capacity(image="app:v1"))
    assert plan.steps[0] == UpdateService("green", "app:v1", "app:v1", 2, changed)
    assert isinstance(plan.steps[2], Swap) and plan.steps[2].to_color == "green"
    assert any("already live on blue, but its task definition differs" in n
               for n in plan.notes)
    assert "environment: +FEATURE_X" in plan.lines()[-5]


def test_a_live_image_matching_the_config_is_a_no_op():
    observed = with_services(world("blue"), {"blue": 2, "green": 2},
                             {"blue": (), "green": ("environment: -OLD",)})
    plan = plan_deploy(observed, capacity(image="app:v1"))
    assert plan.steps == (VerifyLive("blue"),)
# --- traffic shifts, gates, bake, retire ----------------------------------------------------------

from stackswap.orchestrator.model import ShiftSpec  # noqa: E402
from stackswap.orchestrator.plan import (  # noqa: E402
    Bake,
    Gate,
    Restore,
    Retire,
    ShiftBack,
    ShiftStep,
    plan_retire,
)

LINEAR = ShiftSpec("linear", 25, 60)


def shifting(weight: int, spec: ShiftSpec = LINEAR, *, to_image: str = "app:v2") -> Observed:
    """blue live, green (to_image) getting `weight` % of production, recorded on the ALB stack."""
    observed = world("blue", green=("UPDATE_COMPLETE", to_image),
                     production=[(TG["blue"], 100 - weight), (TG["green"], weight)])
    parameters = {**observed.alb.parameters, "ShiftWeight": str(weight),
                  "LiveWeight": str(100 - weight), "TrafficShift": spec.text()}
    return dataclasses.replace(observed, alb=dataclasses.replace(observed.alb,
                                                                 parameters=parameters))


def kinds(plan) -> list[str]:
    return [type(step).__name__ for step in plan.steps]


@pytest.mark.parametrize("spec, weights", [
    (ShiftSpec("linear", 25, 60), [25, 50, 75]),
    (ShiftSpec("linear", 30, 60), [30, 60, 90]),
    (ShiftSpec("canary", 10, 60), [10]),
])
def test_a_shift_deploy_steps_through_the_grid_then_swaps(spec, weights):
    plan = plan_deploy(world("blue"), DeployRequest("app:v2", shift=spec))
    shifts = [step for step in plan.steps if isinstance(step, ShiftStep)]
    assert [step.weight for step in shifts] == weights
    assert all((s.from_color, s.to_color) == ("blue", "green") for s in shifts)
    assert kinds(plan)[-2:] == ["Swap", "VerifyLive"]


def test_gates_bake_and_retire_take_their_places():
    request = DeployRequest("app:v2", shift=ShiftSpec("canary", 10, 60),
                            gates=("before_swap", "after_step", "after_swap"), bake_seconds=600,
                            retire=True)
    plan = plan_deploy(world("blue"), request)
    assert kinds(plan) == ["UpdateService", "Verify", "Gate", "ShiftStep", "Swap", "VerifyLive",
                           "Gate", "Bake", "Retire"]
    before, after = (step for step in plan.steps if isinstance(step, Gate))
    assert (before.point, before.undo) == ("before_swap", None)
    assert after.point == "after_swap" and after.undo.from_color == "blue"
    assert next(s for s in plan.steps if isinstance(s, ShiftStep)).gate
    assert next(s for s in plan.steps if isinstance(s, Bake)).undo.to_color == "green"
    assert next(s for s in plan.steps if isinstance(s, Retire)).color == "blue"


@pytest.mark.parametrize("weight, resumed", [(25, [25, 50, 75]), (50, [50, 75]), (75, [75])])
def test_the_same_deploy_resumes_a_shift_from_the_current_weight(weight, resumed):
    observed = shifting(weight)
    assert observed.drift() == [] and observed.live_color == "blue"
    plan = plan_deploy(observed, DeployRequest("app:v2"))
    assert [s.weight for s in plan.steps if isinstance(s, ShiftStep)] == resumed
    assert kinds(plan)[0] == "Verify" and "Gate" not in kinds(plan)  # before_swap is behind us
    assert f"resuming the linear shift to green at {weight} %" in plan.notes[0]


def test_another_deploy_or_a_swap_during_a_shift_is_refused():
    with pytest.raises(Refused, match="rerun that deploy to resume it"):
        plan_deploy(shifting(50), DeployRequest("app:v3"))
    with pytest.raises(Refused, match="traffic shift to green is in progress"):
        plan_promote(shifting(50), "swap")


def test_rollback_during_a_shift_goes_back_at_once():
    plan = plan_promote(shifting(50), "rollback")
    assert plan.steps == (ShiftBack("blue", 50, Paths()), VerifyLive("blue", paths=Paths()))


@pytest.mark.parametrize("production", [
    [(TG["blue"], 60), (TG["green"], 40)],  # off the recorded grid
    [(TG["blue"], 50), (TG["green"], 50), ("arn:tg/other", 1)],  # a third group
    [(TG["blue"], 50), (TG["green"], 60)],  # not summing to 100
])
def test_a_split_stackswap_did_not_make_is_drift(production):
    observed = dataclasses.replace(shifting(50), production=production)
    assert observed.shift is None and observed.live_color is None
    with pytest.raises(Refused, match="not to exactly one"):
        plan_deploy(observed, DeployRequest("app:v2"))


def test_retire_takes_the_idle_colour_and_rollback_restores_it_first():
    observed = world("green", rollback_release=release("blue", "app:v1"))
    assert plan_retire(observed).steps == (Retire("blue"),)
    blue = observed.colors["blue"]
    retired = dataclasses.replace(blue, stack=dataclasses.replace(
        blue.stack, parameters={**blue.stack.parameters, "DesiredCount": "0"}))
    green = observed.colors["green"]
    live = dataclasses.replace(green, stack=dataclasses.replace(
        green.stack, parameters={**green.stack.parameters, "DesiredCount": "3"}))
    observed = dataclasses.replace(observed, colors={"blue": retired, "green": live})
    assert plan_retire(observed).steps == ()
    plan = plan_promote(observed, "rollback")
    assert plan.steps[0] == Restore("blue", "3")
    assert kinds(plan)[1:] == ["Verify", "Swap", "VerifyLive"]
    assert any("must start and pass their health checks" in note for note in plan.notes)
    with pytest.raises(Refused, match="retire after it has finished"):
        plan_retire(shifting(25))


# --- how long a plan takes at most, and the deadline of each wait -------------------------------

from stackswap.environment.config import Deploy, Hooks  # noqa: E402
from stackswap.orchestrator.plan import (  # noqa: E402
    Limit,
    Part,
    operation_deadline,
    plan_length,
    refuse_beyond,
)


def test_a_plans_length_is_its_deadlines_its_holds_and_the_way_back():
    # The swap's update stays in progress for its monitoring time after its resources are done
    # (RollbackConfiguration, MonitoringTimeInMinutes: "The amount of time, in minutes, during
    # which CloudFormation should monitor all the rollback triggers after the stack creation or
    # update operation deploys all necessary resources",
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html).
    settings = Deploy(stack_timeout_seconds=1800, verify_timeout_seconds=600, smoke_tries=5,
                      alarm_monitoring_minutes=60, step_interval="5m", bake="3h",
                      hooks=Hooks(after_step="./check", timeout="2m"))
    observed = dataclasses.replace(world("blue"), alarms={"shop-5xx": FIVE_XX})
    request = DeployRequest("app:v2", shift=ShiftSpec("linear", 25, 300), bake_seconds=10800,
                            gates=("after_step",))
    length = plan_length(plan_deploy(observed, request, ("shop-5xx",)), settings)
    assert length.parts == (
        Part("stack operation", 5, 1800),  # green's update, three shift steps, the swap
        Part("verification", 1, 630), Part("production check", 4, 30), Part("gate", 3, 120),
        Part("shift step", 3, 300), Part("alarm monitoring", 1, 3600), Part("bake", 1, 10800),
        Part("way back", 1, 3600))  # an update cancelled at its deadline, then a swap back
    assert length.seconds == 5 * 1800 + 630 + 4 * 30 + 3 * 120 + 3 * 300 + 3600 + 10800 + 3600


def test_an_operation_found_in_progress_is_waited_for_through_its_monitoring_time():
    # Someone else's swap in its 60-minute window: the wait for it (and the plan) allow it all.
    observed = world("blue", alb="UPDATE_IN_PROGRESS")
    observed = dataclasses.replace(observed, alb=dataclasses.replace(
        observed.alb, rollback_triggers=("arn:alarm:shop-5xx",), monitoring_minutes=60))
    plan = plan_deploy(observed, deploy())
    assert plan.steps == (WaitFor("shop-elb", "UPDATE_IN_PROGRESS", 60),)
    settings = Deploy(stack_timeout_seconds=1800)
    assert operation_deadline(settings, 60) == 1800 + 3600
    assert plan_length(plan, settings).seconds == 1800 + 3600


def test_a_plan_longer_than_a_limit_the_run_cannot_extend_is_refused_naming_the_key():
    length = plan_length(plan_deploy(world("blue"), DeployRequest("app:v2", bake_seconds=7200)),
                         Deploy())
    refuse_beyond(length, (Limit("the credentials' lifetime", length.seconds, "X"),))
    with pytest.raises(Refused) as refused:
        refuse_beyond(length, (Limit("the credentials' lifetime", 3600,
                                     "deploy_role.max_session_hours"),))
    assert str(refused.value.message) == (
        "this plan may take up to 4 h 11 min, longer than the credentials' lifetime (1 h); "
        "change deploy_role.max_session_hours (nothing was changed)")
