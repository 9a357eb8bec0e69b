"""One deploy at a time per environment: a lock kept in AWS, not on anyone's disk.

Where: an SSM Parameter Store parameter, `/stackswap/<name>/lock` (environment/names.py).
PutParameter with Overwrite=false is an atomic create-if-absent, SSM needs no infrastructure of
its own (a DynamoDB table would have to be created and paid for first), and everyone who may
deploy can reach it — two laptops and a CI runner included. The value says who holds it and
until when: a run that died leaves a lock that expires by itself (after twice the stack deadline
plus the verify time), and `stackswap unlock` removes one by hand.
"""

from __future__ import annotations

import getpass
import json
import os
import socket
import time
from dataclasses import dataclass

from stackswap.environment.config import Config
from stackswap.environment.errors import Refused, StateUnknown
from stackswap.environment.names import lock_parameter_name
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.observe import read_lock
from stackswap.orchestrator.output.log import Log
from stackswap.orchestrator.wait import Clock

LOCK_POLL_SECONDS = 2.0


def lock_lifetime(config: Config) -> float:
    return 2 * config.deploy.stack_timeout_seconds + config.deploy.verify_timeout_seconds + 300


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

    @property
    def expired(self) -> bool:
        return self.expires < time.time()

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


class DeployLock:
    def __init__(self, aws: Aws, config: Config, command: str, log: Log) -> None:
        self.aws, self.config, self.command, self.log = aws, config, command, log
        self.name = lock_parameter_name(config.name)
        self.value = json.dumps({"owner": whoami(), "command": command,
                                 "expires": time.time() + lock_lifetime(config)})
        self.held = False

    def acquire(self, clock: Clock, wait: bool) -> None:
        deadline = clock.now() + lock_lifetime(self.config)
        while True:
            if self.aws.create_parameter(self.name, self.value):
                self.held = True
                return
            current = read_lock(self.aws, self.name)
            if current is None:
                continue  # released between our two calls: try again
            holder = Holder.parse(current)
            if holder.expired:
                self.log.say(f"taking over an expired lock of {holder.describe()}")
                self.aws.delete_parameter(self.name)
                continue
            if not wait or clock.now() >= deadline:
                raise Refused(f"another stackswap run holds the lock of {self.config.name}: "
                              f"{holder.describe()}. {self.advice(holder)}")
            self.log.say(f"waiting for the lock held by {holder.describe()}")
            clock.sleep(LOCK_POLL_SECONDS)

    def advice(self, holder: Holder) -> str:
        if self.command == "rollback" and holder.command == "deploy":
            # --wait would wait for that deploy to end, a shift's last step included: the bad
            # release would reach all of production first (docs/traffic-shifting.md).
            return ("To roll back now, stop that deploy first (Ctrl-C, or cancel its CI job: "
                    "the traffic stays as it is and the lock is released), then roll back")
        return "Rerun with --wait to wait for it, or, if that run is gone, `stackswap unlock`"

    def confirm(self, changed: list[str]) -> None:
        """Before each change: the lock must still be ours, or another run may be changing the
        same stacks (a removed lock lets anyone in)."""
        current = read_lock(self.aws, self.name)
        if current == self.value:
            return
        self.held = False  # not ours to release any more
        who = f"is now held by {Holder.parse(current).describe()}" if current else "was removed"
        done = (f"this run had changed {', '.join(changed)}" if changed
                else "this run had changed nothing yet")
        raise LockTaken(f"the deploy lock of {self.config.name} {who} while this run held it; "
                        f"stopping before the next change ({done}). Run `stackswap status`, "
                        f"then rerun the same command to resume")

    def release(self) -> None:
        # Only our own lock is removed: re-read it first.
        if self.held and read_lock(self.aws, self.name) == self.value:
            self.aws.delete_parameter(self.name)
        self.held = False


def remove_lock(aws: Aws, config: Config, force: bool) -> Holder | None:
    """`stackswap unlock`: remove the environment's lock; who held it, or None if nobody. A
    holder that may still run is refused without --force: removing its lock would let a second
    run change the stacks beside it."""
    name = lock_parameter_name(config.name)
    current = read_lock(aws, name)
    if current is None:
        return None
    holder = Holder.parse(current)
    if not (force or holder.expired or holder.gone()):
        raise Refused(f"the lock of {config.name} is held by {holder.describe()}, which may "
                      f"still be running; it was left in place. If that run is gone: "
                      f"stackswap unlock --force")
    aws.delete_parameter(name)
    return holder
