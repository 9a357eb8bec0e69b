"""Target health from real HTTP health checks, reported through moto's DescribeTargetHealth.

moto reports every registered target `healthy` at once. The sandbox keeps its own book of
targets, checks each one over HTTP (the target group's path and thresholds, at the sandbox's
interval), and sandbox/moto_gaps/targets.py (gap 10) makes DescribeTargetHealth report the book:
`initial` -> `healthy`/`unhealthy`, and `draining` while a deregistered target finishes its
requests. The listener proxies send traffic only to targets the book calls healthy.

The book is guarded by backends.MOTO_LOCK, like the moto objects it describes.
"""

from __future__ import annotations

import http.client
from dataclasses import dataclass
from typing import Any

from stackswap.sandbox import backends

TargetKey = tuple[str, str, int]  # target group ARN, IP, port

# (reason, description) of each state as real ELBv2 words them.
STATE_DETAILS = {
    "initial": ("Elb.RegistrationInProgress", "Target registration is in progress"),
    "healthy": (None, None),
    "draining": ("Target.DeregistrationInProgress", "Target deregistration is in progress"),
}


@dataclass
class TargetRecord:
    key: TargetKey
    state: str = "initial"
    reason: str | None = STATE_DETAILS["initial"][0]
    description: str | None = STATE_DETAILS["initial"][1]
    passes: int = 0
    failures: int = 0
    next_check: float = 0.0

    def set_state(self, state: str, reason: str | None = None,
                  description: str | None = None) -> None:
        self.state = state
        default_reason, default_description = STATE_DETAILS.get(state, (None, None))
        self.reason = reason or default_reason
        self.description = description or default_description


@dataclass(frozen=True)
class CheckResult:
    ok: bool
    reason: str | None = None
    description: str | None = None


def check(ip: str, port: int, path: str, timeout: float) -> CheckResult:
    """One HTTP health check, as an ALB does it: GET path, success on 200."""
    connection = http.client.HTTPConnection(ip, port, timeout=timeout)
    try:
        connection.request("GET", path, headers={"User-Agent": "ELB-HealthChecker/2.0"})
        status = connection.getresponse().status
    except TimeoutError:
        return CheckResult(False, "Target.Timeout", "Request timed out")
    except OSError:
        return CheckResult(False, "Target.FailedHealthChecks", "Health checks failed")
    finally:
        connection.close()
    if status == 200:
        return CheckResult(True)
    return CheckResult(False, "Target.ResponseCodeMismatch",
                       f"Health checks failed with these codes: [{status}]")


class TargetHealthBook:
    def __init__(self) -> None:
        self.records: dict[TargetKey, TargetRecord] = {}

    def register(self, key: TargetKey, now: float) -> None:
        self.records[key] = TargetRecord(key, next_check=now)

    def start_draining(self, key: TargetKey) -> None:
        record = self.records.get(key)
        if record is not None:
            record.set_state("draining")

    def forget(self, key: TargetKey) -> None:
        self.records.pop(key, None)

    def get(self, key: TargetKey) -> TargetRecord | None:
        """The target's record, None when the book does not hold it (moto_gaps' hook)."""
        return self.records.get(key)

    def state(self, key: TargetKey) -> str | None:
        record = self.records.get(key)
        return record.state if record else None

    def healthy(self, group_arn: str) -> list[TargetKey]:
        return [key for key, record in self.records.items()
                if key[0] == group_arn and record.state == "healthy"]

    def due(self, now: float) -> list[TargetRecord]:
        return [record for record in self.records.values()
                if record.state != "draining" and record.next_check <= now]

    def record(self, record: TargetRecord, result: CheckResult, healthy_threshold: int,
               unhealthy_threshold: int) -> None:
        """Count one check result; a state changes after `threshold` results in a row."""
        if self.records.get(record.key) is not record or record.state == "draining":
            return  # forgotten or deregistered while the check ran
        if result.ok:
            record.passes, record.failures = record.passes + 1, 0
            if record.passes >= healthy_threshold:
                record.set_state("healthy")
        else:
            record.failures, record.passes = record.failures + 1, 0
            if record.failures >= unhealthy_threshold:
                record.set_state("unhealthy", result.reason, result.description)

    def clear(self) -> None:
        self.records.clear()


def health_settings(group_arn: str) -> dict[str, Any] | None:
    """Path, thresholds and timeout of a target group (call with MOTO_LOCK held)."""
    group = backends.target_group(group_arn)
    if group is None:
        return None
    return {"path": group.health_check_path or "/",
            "healthy_threshold": int(group.healthy_threshold_count),
            "unhealthy_threshold": int(group.unhealthy_threshold_count),
            "timeout": float(group.health_check_timeout_seconds),
            "interval": float(group.health_check_interval_seconds)}
