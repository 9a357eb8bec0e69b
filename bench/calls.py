"""Count the API calls made through a boto3 session, with botocore's event system.

The hook goes on the session before any client is created from it (a client copies the
session's event emitter when it is made), so every call of every client of that session —
stackswap's own `Aws`, a boto3 waiter — passes through it. Nothing of the code under test is
patched.
"""

from __future__ import annotations

import threading
from collections import Counter

import boto3

DESCRIBE = ("DescribeStacks", "DescribeStackEvents")


class CallCounter:
    def __init__(self, session: boto3.Session) -> None:
        self.counts: Counter[str] = Counter()
        self._lock = threading.Lock()
        session.events.register("before-call.*.*", self._count)

    def _count(self, event_name: str, **_: object) -> None:
        # event_name is "before-call.<service>.<Operation>"
        with self._lock:
            self.counts[event_name.rsplit(".", 1)[-1]] += 1

    def describe_calls(self) -> int:
        """DescribeStacks + DescribeStackEvents calls so far."""
        with self._lock:
            return sum(self.counts[name] for name in DESCRIBE)


def sandbox_session(region: str) -> boto3.Session:
    """A session with the sandbox's dummy credentials (real ones never reach a local endpoint)."""
    return boto3.Session(aws_access_key_id="sandbox", aws_secret_access_key="sandbox",
                         region_name=region)
