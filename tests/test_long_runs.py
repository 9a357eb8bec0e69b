"""Long runs (issue 25): every wait's deadline follows from what its operation does, and the
deploy lock lives as long as its holder — renewed from the run's own pauses, gone a bounded time
after a holder that died. Against the moto server, with time on the virtual clock: an hour of
monitoring window or three hours of bake take a second or two."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys

import botocore.exceptions
import pytest
from stackswap.orchestrator.lock import LOCK_LIFETIME_SECONDS, LOCK_POLL_SECONDS

from tests.conftest import REPO
from tests.harness import (
    HookedAws,
    MonitoringWindow,
    VirtualClock,
    botocore_sleeps_on,
    http_error,
    invoke,
    wait_for,
)
from tests.test_faults import deployed as deployed  # the fixture: both colours on v1, blue live
from tests.test_faults import lock_exists, one_line, put_lock, set_alarm

LOCK = "/stackswap/shop/lock"


def configure(env, **deploy: str) -> None:
    """Set keys of the config's [deploy] table (TOML values, e.g. '"3h"', "1800")."""
    lines = [line for line in env.config_path.read_text().splitlines()
             if line.split(" = ")[0] not in deploy]
    at = lines.index("[deploy]") + 1
    lines[at:at] = [f"{key} = {value}" for key, value in deploy.items()]
    env.config_path.write_text("\n".join(lines) + "\n")


# --- deadlines from the plan -----------------------------------------------------------------

def test_a_monitoring_window_longer_than_the_stack_timeout_ends_in_a_completed_swap(deployed):
    # CloudFormation keeps the swap's update UPDATE_IN_PROGRESS for its whole monitoring time
    # once the listeners are changed: MonitoringTimeInMinutes (0-180) is "the amount of time ...
    # during which CloudFormation should monitor all the rollback triggers after the stack
    # creation or update operation deploys all necessary resources" (RollbackConfiguration,
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_RollbackConfiguration.html;
    # "Roll back your CloudFormation stack on alarm breach with rollback triggers",
    # https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/using-cfn-rollback-triggers.html).
    # A 60-minute window with a 30-minute stack timeout: the swap's deadline is both, so the swap
    # completes, nothing is cancelled, and the run said so at its start.
    set_alarm(deployed, "shop-5xx", "OK")
    configure(deployed, stack_timeout_seconds="1800", alarm_monitoring_minutes="60",
              alarms='["shop-5xx"]')
    clock = VirtualClock()
    window = MonitoringWindow(deployed, "shop-elb", clock).install(deployed.aws)
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 0, result.err
    assert (window.completed, window.cancels) == (1, 0)
    assert deployed.requests.of("CancelUpdateStack") == []
    assert (deployed.forwards(80), deployed.forwards(8080)) == ("green", "blue")
    assert clock.time - 1000 >= 3600
    said = result.err.splitlines()[0]
    assert said.startswith("this plan takes at most 3 h: 2 stack operations × 30 min")
    assert "alarm monitoring 1 h" in said


# --- the lock lives as long as its holder ---------------------------------------------------
# The lock is an SSM parameter; each renewal writes a new version of it ("Each time you edit the
# value of a parameter, Parameter Store ... creates a new version of the parameter", "Working
# with parameter versions in Parameter Store",
# https://docs.aws.amazon.com/systems-manager/latest/userguide/sysman-paramstore-versions.html),
# and the version before the one it wrote ("name:version") must be the value it read.

def lock_value(env) -> tuple[dict, int] | None:
    """The lock's value and its SSM version; None when there is no lock."""
    found = env.client("ssm").get_parameters(Names=[LOCK])["Parameters"]
    return (json.loads(found[0]["Value"]), found[0]["Version"]) if found else None


class Every(VirtualClock):
    """Calls `then(clock)` at each `every` seconds of virtual time after its first sleep (not
    from within itself: a run started by `then` sleeps on the same clock)."""

    def __init__(self, every: float, then) -> None:
        super().__init__()
        self.every, self.then = every, then
        self.next: float | None = None
        self.inside = False

    def sleep(self, seconds: float) -> None:
        super().sleep(seconds)
        if self.next is None:
            self.next = self.time + self.every
        if self.time >= self.next and not self.inside:
            self.next += self.every
            self.inside = True
            try:
                self.then(self)
            finally:
                self.inside = False


def test_a_three_hour_bake_keeps_its_lock_and_a_second_run_is_refused_throughout(deployed):
    # Three hours of bake are eighteen lifetimes of the lock: the run renews it from its own
    # pauses, so at every check, half an hour apart, the lock is the run's, renewed since the
    # last check, not expired; and a second deploy is refused, changing nothing.
    configure(deployed, bake='"3h"')
    checks: list[tuple[float, int]] = []

    def check(clock: Every) -> None:
        value, version = lock_value(deployed)
        assert value["command"] == "deploy"
        assert clock.wall() < value["expires"] <= clock.wall() + LOCK_LIFETIME_SECONDS
        assert not checks or (value["expires"] > checks[-1][0] and version > checks[-1][1])
        checks.append((value["expires"], version))
        second = HookedAws()
        refused = invoke(["deploy", "--image", "app:v3", "--config",
                          str(deployed.config_path)], second, clock=clock)
        assert refused.code == 3, refused.err
        assert "another stackswap run holds the lock of shop" in one_line(refused.err)
        assert [call for call in second.mutating if call != "PutParameter"] == []

    clock = Every(1800, check)
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 0, result.err
    assert clock.time - 1000 >= 3 * 3600
    assert len(checks) == 6
    assert deployed.forwards(80) == "green"
    assert not lock_exists(deployed)


def test_a_killed_holder_blocks_the_next_deploy_for_at_most_a_lock_lifetime(deployed):
    # A CI runner killed mid-bake (SIGKILL: nothing runs, nothing is released) leaves its lock
    # behind; it expires one lifetime after its last renewal (docs/lock-and-interrupts.md), so
    # the next deploy is refused until then, and one with --wait takes it over and goes on.
    configure(deployed, bake='"3h"')
    environ = {**os.environ, "PYTHONPATH": str(REPO)}
    holder = subprocess.Popen([sys.executable, "-m", "stackswap.orchestrator", "deploy",
                               "--image", "app:v2"], env=environ, stderr=subprocess.DEVNULL)
    try:
        wait_for(lambda: lock_value(deployed) and deployed.forwards(80) == "green",
                 "the holder's swap (its bake begins)", timeout=60)
    finally:
        holder.send_signal(signal.SIGKILL)
        holder.wait()
    value, _ = lock_value(deployed)
    assert value["owner"].endswith(f":{holder.pid}")
    configure(deployed, bake='"0s"')
    clock = VirtualClock()
    refused = deployed.call("deploy", "--image", "app:v3", clock=clock)
    assert refused.code == 3
    assert f":{holder.pid} (deploy, until" in one_line(refused.err)
    assert value["expires"] - clock.wall() <= LOCK_LIFETIME_SECONDS
    taken: list[float] = []
    deployed.aws.hooks.append(("after-call.ssm.PutParameter", lambda http_response, **kw: (
        taken.append(clock.wall()) if http_response.status_code == 200 else None)))
    result = deployed.call("deploy", "--image", "app:v3", "--wait", clock=clock)
    assert result.code == 0, result.err
    assert "taking over an expired lock of" in result.err
    assert value["expires"] <= taken[0] <= value["expires"] + LOCK_POLL_SECONDS + 1
    assert deployed.forwards(80) == "blue" and deployed.parameter("shop-blue", "Image") == "app:v3"


@pytest.mark.parametrize("intruder", ["removed", "taken"])
def test_a_run_whose_lock_is_taken_during_the_bake_stops_at_its_next_renewal(deployed, intruder):
    # `unlock --force` mid-bake (and, "taken", another run's lock): the renewal reads the lock
    # first (the versions page above) and finds it is not this run's; the run stops there,
    # exit 7, naming what it changed.
    configure(deployed, bake='"1h"')
    took: list[float] = []

    def take(clock: Every) -> None:
        if not took:
            took.append(clock.time)
            deployed.client("ssm").delete_parameter(Name=LOCK)
            if intruder == "taken":
                put_lock(deployed, "ops@laptop:77")

    clock = Every(900, take)
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 7
    who = "is now held by ops@laptop:77 (deploy, until" if intruder == "taken" else "was removed"
    line = one_line(result.err)
    assert f"the deploy lock of shop {who}" in line and "while this run held it" in line
    assert "stopping (this run had changed shop-green, shop-elb)" in line and "rerun" in line
    assert clock.time - took[0] <= LOCK_LIFETIME_SECONDS / 3 + 1
    assert deployed.forwards(80) == "green"  # the bake stopped; production as the run left it
    assert lock_exists(deployed) == (intruder == "taken")  # the intruder's is not ours to remove


def test_a_run_that_cannot_renew_its_lock_stops_before_it_could_expire(deployed, monkeypatch):
    # SSM stops answering mid-bake (HTTP 503, retried by botocore as from AWS): the run keeps
    # trying, and stops, exit 7, before a lifetime has passed since its last renewal — so no
    # other run can take the lock while this one still acts.
    configure(deployed, bake='"1h"')
    down: list[float] = []
    clock = Every(600, lambda clock: down.append(clock.time) if not down else None)
    botocore_sleeps_on(monkeypatch, clock)
    deployed.aws.hooks.append(("before-send.ssm.*", lambda request, **kw: http_error(
        "ServiceUnavailable", "down", 503, json_protocol=True) if down else None))
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 7
    line = one_line(result.err)
    assert "the deploy lock of shop could not be renewed for" in line
    assert "stopping before it expires and another run may take it" in line
    assert "(this run had changed shop-green, shop-elb)" in line
    value, _ = lock_value(deployed)  # left behind (SSM is down for the run), not yet expired
    assert down[0] < clock.time and clock.wall() < value["expires"]
    assert "could not remove the deploy lock" in result.err


def test_a_renewal_that_finds_another_write_in_between_gives_the_lock_back(deployed):
    # PutParameter with Overwrite has no compare-and-swap: between the renewal's read (still
    # ours) and its write, another run takes the lock (after an `unlock --force`). The version
    # before the renewal's write ("name:version", the versions page above) is that run's
    # value: it is put back, and this run stops.
    configure(deployed, bake='"1h"')
    raced: list[str] = []

    def intrude(params, **kwargs) -> None:
        if params.get("Overwrite") and not raced:
            raced.append("yes")
            deployed.client("ssm").delete_parameter(Name=LOCK)
            put_lock(deployed, "ops@laptop:77")
    deployed.aws.hooks.append(("before-parameter-build.ssm.PutParameter", intrude))
    result = deployed.call("deploy", "--image", "app:v2")
    assert result.code == 7
    assert "the deploy lock of shop is now held by ops@laptop:77" in one_line(result.err)
    value, _ = lock_value(deployed)
    assert value["owner"] == "ops@laptop:77"


def test_a_renewal_whose_reply_is_lost_was_applied_and_the_run_goes_on(deployed):
    # The renewal's PutParameter reaches SSM and is applied, then the connection drops before
    # its reply: the lock holds the value this run was writing, which is still its own — the
    # next try finds it so, and the run keeps its lock to the end of the bake.
    configure(deployed, bake='"1h"')
    pending: list[bool] = []
    lost: list[str] = []

    def sent(params, **kwargs) -> None:
        pending.append(bool(params.get("Overwrite")))

    def drop(**kwargs) -> None:
        if pending.pop() and not lost:
            lost.append("reply")
            raise botocore.exceptions.ConnectionClosedError(endpoint_url="http://moto")
    deployed.aws.hooks += [("before-parameter-build.ssm.PutParameter", sent),
                           ("after-call.ssm.PutParameter", drop)]
    clock = VirtualClock()
    result = deployed.call("deploy", "--image", "app:v2", clock=clock)
    assert result.code == 0, result.err
    assert lost == ["reply"]
    assert not lock_exists(deployed)
