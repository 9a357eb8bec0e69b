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

from stackswap.orchestrator.lock import LOCK_LIFETIME_SECONDS, LOCK_POLL_SECONDS

from tests.conftest import REPO
from tests.harness import HookedAws, MonitoringWindow, VirtualClock, invoke, wait_for
from tests.test_faults import deployed as deployed  # the fixture: both colours on v1, blue live
from tests.test_faults import lock_exists, one_line, set_alarm

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
