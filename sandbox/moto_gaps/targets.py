"""Gaps 4 and 10: ELBv2 targets identified by Id and Port, and healthy only once checked.

Gap 4 — moto keys a target group's targets by Id alone, so two targets on one IP with different
ports (two tasks on 127.0.0.1, or two containers on one EC2 instance) overwrite each other. Real
ELBv2 identifies a target by Id and Port. Fix: key non-instance targets by "Id:Port".

Gap 10 — every registered target is `healthy` at once (and an ECS service runs no task: the data
plane, sandbox/data_plane.py, runs them; it writes moto's objects but patches no moto code). Fix:
sandbox/target_health.py's TargetHealthBook, kept by real HTTP health checks. Wired here:
DescribeTargetHealth reports the book's state for the targets it holds; without the hook
(`install(target_health=None)`) every target stays `healthy`, as moto has it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from moto.elbv2 import models as elbv2_models
from stackswap.sandbox.moto_gaps._common import HOOKS, ORIGINALS

if TYPE_CHECKING:
    from stackswap.sandbox.target_health import TargetHealthBook


def _target_key(group: Any, target: dict[str, Any]) -> str:
    if group.target_type == "instance":
        return target["Id"]
    return f"{target['Id']}:{target.get('Port', group.port)}"


def _register_targets(self: Any, targets: list[dict[str, Any]]) -> None:
    if self.target_type == "instance":
        ORIGINALS["register"](self, targets)
        return
    for target in targets:
        key = _target_key(self, target)
        self.targets[key] = {"Id": target["Id"], "Port": target.get("Port", self.port)}
        self.deregistered_targets.pop(key, None)


def _deregister_targets(self: Any, targets: list[dict[str, Any]]) -> None:
    if self.target_type == "instance":
        ORIGINALS["deregister"](self, targets)
        return
    for target in targets:
        key = _target_key(self, target)
        registered = self.targets.pop(key, None)
        if registered is None:
            raise elbv2_models.InvalidTargetError()
        self.deregistered_targets[key] = registered


def _health_by_id_and_port(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    if self.target_type == "instance":
        return ORIGINALS["health_for"](self, target, ec2_backend)
    key = _target_key(self, target)
    registered = self.targets.get(key)
    if registered is not None:
        return elbv2_models.FakeHealthStatus(
            registered["Id"], registered["Port"], self.health_check_port, "healthy")
    if key in self.deregistered_targets:
        return elbv2_models.FakeHealthStatus(
            target["Id"], target.get("Port", self.port), self.health_check_port, "unused",
            "Target.NotRegistered", "Target is not registered to the target group")
    return ORIGINALS["health_for"](self, target, ec2_backend)


def _health_for(self: Any, target: dict[str, Any], ec2_backend: Any) -> Any:
    reported = _health_by_id_and_port(self, target, ec2_backend)  # gap 4
    book: TargetHealthBook | None = HOOKS["target_health"]
    if book is None:
        return reported
    record = book.get((self.arn, target["Id"], int(target.get("Port", self.port))))
    if record is None or reported.status != "healthy":
        return reported  # not registered (or not one of the sandbox's tasks)
    return elbv2_models.FakeHealthStatus(reported.instance_id, reported.port,
                                         self.health_check_port, record.state, record.reason,
                                         record.description)


PATCHES = {
    # gap 4 (and gap 10 in health_for)
    "register": (elbv2_models.FakeTargetGroup, "register", _register_targets),
    "deregister": (elbv2_models.FakeTargetGroup, "deregister", _deregister_targets),
    "health_for": (elbv2_models.FakeTargetGroup, "health_for", _health_for),
}
