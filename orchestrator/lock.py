"""One deploy at a time per environment: a lock kept in AWS, not on anyone's disk.

Where: an SSM Parameter Store parameter, `/stackswap/<name>/lock` (environment/names.py).
PutParameter with Overwrite=false is an atomic create-if-absent, SSM needs no infrastructure of
its own (a DynamoDB table would have to be created and paid for first), and everyone who may
deploy can reach it — two laptops and a CI runner included. The value says who holds it and
until when (wall-clock Unix time, which another machine can compare).

The lock lives as long as its holder: a run renews it from its own pauses (LockKeeper, the
clock every waiting loop sleeps on while the lock is held: no thread, so nothing runs beside a
signal handler), every third of its lifetime, and a holder that died leaves a lock that expires
one lifetime after its last renewal (LOCK_LIFETIME_SECONDS, longer with slow gates:
lock_lifetime). `stackswap unlock` removes one at once.

A renewal is never a blind overwrite (PutParameter has no compare-and-swap): it reads the lock
and goes on only if it is still this run's value, writes the new expiry, then reads the version
before the one it wrote (SSM numbers each value: "name:version" selects one) — which must be the
value it read. Anything else means another run wrote in between: its value is put back and this
run stops. What remains is a write landing between that check and the put-back, which needs an
`unlock --force` and another run's takeover within those milliseconds.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from collections.abc import Callable
from dataclasses import dataclass

from stackswap.environment.config import HOOK_POINTS, Config
from stackswap.environment.errors import Refused, StackswapError, StateUnknown
from stackswap.environment.names import lock_parameter_name
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.observe import read_lock
from stackswap.orchestrator.output.log import Log
from stackswap.orchestrator.wait import Clock, Heartbeat

LOCK_POLL_SECONDS = 2.0
# How long after its last renewal a lock expires: how long a run that died (a killed CI runner)
# blocks the next one. A live run renews it every third of that.
LOCK_LIFETIME_SECONDS = 600.0
RENEWALS_PER_LIFETIME = 3
# A run that has not renewed its lock for this share of the lifetime stops, with a third of the
# lifetime to spare for the clocks of two machines to disagree.
GIVE_UP_SHARE = 2 / 3
# After a renewal that failed, the next try (at a pause) comes this much later.
RENEW_RETRY_SECONDS = 10.0


def lock_lifetime(config: Config) -> float:
    """LOCK_LIFETIME_SECONDS, or three gates' time limits when a gate is configured and that
    is longer: a gate's command runs in one go, without a pause in which to renew."""
    hooks = config.deploy.hooks
    gated = any(getattr(hooks, point) for point in HOOK_POINTS)
    return max(LOCK_LIFETIME_SECONDS, 3.0 * hooks.timeout_seconds if gated else 0.0)


def whoami() -> str:
    try:
        user = getpass.getuser()
    except (KeyError, OSError):
        user = "unknown"
    return f"{user}@{socket.gethostname()}:{os.getpid()}"


@dataclass(frozen=True)
class Holder:
    owner: str
    command: str
    expires: float

    @classmethod
    def parse(cls, value: str) -> Holder:
        try:
            raw = json.loads(value)
            return cls(str(raw["owner"]), str(raw["command"]), float(raw["expires"]))
        except (ValueError, KeyError, TypeError):
            return cls("unknown (unreadable lock)", "?", 0.0)

    def describe(self) -> str:
        until = time.strftime("%Y-%m-%d %H:%M:%S UTC", time.gmtime(self.expires))
        return f"{self.owner} ({self.command}, until {until})"

    def expired(self, now: float) -> bool:
        """Whether the lock's expiry has passed at wall-clock time `now`."""
        return self.expires < now

    def gone(self) -> bool:
        """Whether the holder is known to be gone: a process of this machine that no longer
        runs. A holder on another machine (a CI runner, a colleague) cannot be asked."""
        _, _, place = self.owner.rpartition("@")
        host, _, pid = place.rpartition(":")
        if host != socket.gethostname() or not pid.isdigit():
            return False
        try:
            os.kill(int(pid), 0)  # signal 0 delivers nothing: it only asks whether pid runs
        except ProcessLookupError:
            return True
        except PermissionError:
            return False  # it runs, as another user
        return False


class LockTaken(StateUnknown):
    """This run's lock was removed (`unlock --force`) or taken over while it ran."""


def changed_text(changed: list[str]) -> str:
    return (f"this run had changed {', '.join(changed)}" if changed
            else "this run had changed nothing yet")


class DeployLock:
    def __init__(self, aws: Aws, config: Config, command: str, log: Log, clock: Clock) -> None:
        self.aws, self.config, self.command, self.log = aws, config, command, log
        self.clock = clock
        self.name = lock_parameter_name(config.name)
        self.owner = whoami()
        self.lifetime = lock_lifetime(config)
        self.value = self.stamp()
        # The value a renewal is writing: if the run is interrupted before it knows whether
        # the write was applied, release still knows the lock as its own.
        self.writing = self.value
        self.held = False
        self.renewed = clock.now()  # when the lock was last made to last a whole lifetime
        self.retry = 0.0  # after a renewal that failed: not again before this

    def stamp(self) -> str:
        """The lock's value: who holds it, doing what, until when (one lifetime from now)."""
        return json.dumps({"owner": self.owner, "command": self.command,
                           "expires": self.clock.wall() + self.lifetime})

    def acquire(self, wait: bool) -> None:
        """Take the lock, or refuse naming its holder; with `wait`, poll until it is free: a
        live holder keeps renewing it, a dead one's expires within a lifetime."""
        heartbeat, waiting_for = Heartbeat(self.clock, self.log.say), None
        while True:
            self.value = self.writing = self.stamp()
            if self.aws.create_parameter(self.name, self.value):
                self.held, self.renewed = True, self.clock.now()
                return
            current = read_lock(self.aws, self.name)
            if current is None:
                continue  # released between our two calls: try again
            holder = Holder.parse(current)
            if holder.expired(self.clock.wall()):
                self.log.say(f"taking over an expired lock of {holder.describe()}")
                self.aws.delete_parameter(self.name)
                continue
            if not wait:
                raise Refused(f"another stackswap run holds the lock of {self.config.name}: "
                              f"{holder.describe()}. {self.advice(holder)}")
            if (holder.owner, holder.command) != waiting_for:
                waiting_for = holder.owner, holder.command
                self.log.say(f"waiting for the lock held by {holder.describe()}")
            heartbeat.beat(f"waiting for the lock held by {holder.describe()}")
            self.clock.sleep(LOCK_POLL_SECONDS)

    def advice(self, holder: Holder) -> str:
        if self.command == "rollback" and holder.command == "deploy":
            # --wait would wait for that deploy to end, a shift's last step included: the bad
            # release would reach all of production first (docs/traffic-shifting.md).
            return ("To roll back now, stop that deploy first (Ctrl-C, or cancel its CI job: "
                    "the traffic stays as it is and the lock is released), then roll back")
        return "Rerun with --wait to wait for it, or, if that run is gone, `stackswap unlock`"

    def lost(self, current: str | None, changed: list[str], stopping: str) -> LockTaken:
        """The error of a lock that is no longer ours: removed (`current` None) or held by
        another run. It is not ours to release any more."""
        self.held = False
        who = f"is now held by {Holder.parse(current).describe()}" if current else "was removed"
        return LockTaken(f"the deploy lock of {self.config.name} {who} while this run held it; "
                         f"{stopping} ({changed_text(changed)}). Run `stackswap status`, then "
                         f"rerun the same command to resume")

    def ours(self, current: str | None) -> bool:
        """Whether the lock's value is this run's: its value, or the one a renewal was writing
        when it lost the reply (the write was applied after all: it is the value now)."""
        if current is not None and current == self.writing:
            self.value = current
        return current == self.value

    def confirm(self, changed: list[str]) -> None:
        """Before each change: the lock must still be ours, or another run may be changing the
        same stacks (a removed lock lets anyone in)."""
        current = read_lock(self.aws, self.name)
        if not self.ours(current):
            raise self.lost(current, changed, "stopping before the next change")

    def keep(self, changed: list[str], where: str) -> None:
        """At a pause of the run: renew the lock when a third of its lifetime has passed since
        the last renewal. A lock found removed or taken stops the run here (a pause is between
        two requests, a safe point: CloudFormation carries on with what is in progress, and a
        rerun resumes); so does a lock that could not be renewed for GIVE_UP_SHARE of its
        lifetime, before it can expire and let another run in."""
        now = self.clock.now()
        since = now - self.renewed
        if not self.held or since < self.lifetime / RENEWALS_PER_LIFETIME or now < self.retry:
            return
        try:
            self.renew(changed, f"stopping{where}")
        except LockTaken:
            raise
        except StackswapError as error:  # AWS unreachable, or refusing: try again soon
            self.retry = self.clock.now() + RENEW_RETRY_SECONDS
            if since >= GIVE_UP_SHARE * self.lifetime:
                raise StateUnknown(
                    f"the deploy lock of {self.config.name} could not be renewed for "
                    f"{since:.0f} s ({error.message}); stopping before it expires and another "
                    f"run may take it{where} ({changed_text(changed)}). Run `stackswap "
                    f"status`, then rerun the same command to resume") from None

    def renew(self, changed: list[str], stopping: str) -> None:
        """Make the lock last a lifetime from now, if it is still ours (see the module's
        docstring for why it is checked before and after the write)."""
        current = read_lock(self.aws, self.name)
        if not self.ours(current):
            raise self.lost(current, changed, stopping)
        read, self.writing = self.value, self.stamp()
        version = self.aws.overwrite_parameter(self.name, self.writing)
        self.value = self.writing  # what the lock holds now, for release
        before = read_lock(self.aws, self.name, version - 1) if version > 1 else None
        if before is None:
            # Removed between our read and our write: the write made the lock again, ours to
            # remove at release.
            error = self.lost(None, changed, stopping)
            self.held = True
            raise error
        if before not in (read, self.writing):  # ours: botocore may have retried the write
            # Another run took the lock between our read and our write (after an `unlock
            # --force`): its value is put back, and it goes on.
            self.aws.overwrite_parameter(self.name, before)
            raise self.lost(before, changed, stopping)
        self.renewed = self.clock.now()
        self.log.emit("lock", state="renewed", name=self.name,
                      expires=Holder.parse(self.value).expires)

    def release(self) -> None:
        # Only our own lock is removed: re-read it first.
        if self.held and read_lock(self.aws, self.name) in (self.value, self.writing):
            self.aws.delete_parameter(self.name)
        self.held = False


class LockKeeper:
    """The run's clock while it holds the lock: each pause first renews the lock when it is
    due (DeployLock.keep), so every waiting loop keeps the lock — a stack operation, a
    verification, a shift's step, the bake — without a thread. A pause longer than a renewal
    interval is slept in parts. `situation` says what the run has changed and where it is, for
    the message if it must stop."""

    def __init__(self, clock: Clock, lock: DeployLock,
                 situation: Callable[[], tuple[list[str], str]]) -> None:
        self.clock, self.lock, self.situation = clock, lock, situation

    def now(self) -> float:
        return self.clock.now()

    def wall(self) -> float:
        return self.clock.wall()

    def sleep(self, seconds: float) -> None:
        part = self.lock.lifetime / RENEWALS_PER_LIFETIME
        while True:
            self.lock.keep(*self.situation())
            self.clock.sleep(min(seconds, part))
            seconds -= part
            if seconds <= 0:
                return


def remove_lock(aws: Aws, config: Config, force: bool, now: float) -> Holder | None:
    """`stackswap unlock`: remove the environment's lock; who held it, or None if nobody. A
    holder that may still run is refused without --force: removing its lock would let a second
    run change the stacks beside it. `now`: the wall clock, for the lock's expiry."""
    name = lock_parameter_name(config.name)
    current = read_lock(aws, name)
    if current is None:
        return None
    holder = Holder.parse(current)
    if not (force or holder.expired(now) or holder.gone()):
        raise Refused(f"the lock of {config.name} is held by {holder.describe()}, which may "
                      f"still be running; it was left in place. If that run is gone: "
                      f"stackswap unlock --force")
    aws.delete_parameter(name)
    return holder
