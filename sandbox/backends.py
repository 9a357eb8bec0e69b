"""Access to moto's in-process backends, and the one lock that serialises them.

moto's backends are plain Python objects with no locking. The sandbox changes them from its own
threads (stack operations finishing, the data plane registering targets) while moto serves API
calls from request threads; so every moto request and every sandbox access to a backend holds
MOTO_LOCK. Requests take milliseconds, and nothing slow (HTTP, sleeping) runs under the lock.
"""

from __future__ import annotations

import threading
from collections.abc import Iterator
from typing import Any

from moto.applicationautoscaling.models import applicationautoscaling_backends
from moto.cloudformation.models import cloudformation_backends
from moto.cloudwatch.models import cloudwatch_backends
from moto.ecs.models import ecs_backends
from moto.elbv2.models import elbv2_backends

MOTO_LOCK = threading.RLock()


def _existing(backend_dict: Any) -> Iterator[Any]:
    # dict.items() on purpose: moto's BackendDict.__getitem__ creates backends on first access,
    # and the sandbox must only look at what the API calls created.
    for account_backends in list(dict.values(backend_dict)):
        yield from list(dict.values(account_backends))


def cloudformation() -> Iterator[Any]:
    return _existing(cloudformation_backends)


def application_autoscaling() -> Iterator[Any]:
    return _existing(applicationautoscaling_backends)


def ecs() -> Iterator[Any]:
    return _existing(ecs_backends)


def elbv2() -> Iterator[Any]:
    return _existing(elbv2_backends)


def alarm_state(arn: str) -> tuple[str, str] | None:
    """(name, state) of the CloudWatch alarm with this ARN, or None."""
    for backend in _existing(cloudwatch_backends):
        for alarm in backend.alarms.values():
            if alarm.alarm_arn == arn:
                return alarm.name, alarm.state_value
    return None


def target_group(arn: str) -> Any | None:
    for backend in elbv2():
        group = backend.target_groups.get(arn)
        if group is not None:
            return group
    return None


def all_stacks() -> list[Any]:
    return [stack for backend in cloudformation() for stack in backend.stacks.values()]


class LockedWsgiApp:
    """Runs a WSGI app (moto's) with MOTO_LOCK held for each request."""

    def __init__(self, app: Any) -> None:
        self.app = app

    def __call__(self, environ: dict, start_response: Any) -> Any:
        with MOTO_LOCK:
            # Materialise the body under the lock: moto may build it lazily from live objects.
            return list(self.app(environ, start_response))
