"""Gap 19: a CloudFormation TargetGroup registers its `Targets`.

An `AWS::ElasticLoadBalancingV2::TargetGroup` ignores `Targets`: nothing is registered (the
private NLB's target group of type `alb` has no ALB behind it). Fix: register them
(RegisterTargets) once the target group exists.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2 import models as elbv2_models
from stackswap.sandbox.moto_gaps._common import ORIGINALS


def _target_group_create(cls: Any, resource_name: str, cloudformation_json: Any,
                         account_id: str, region_name: str, **kwargs: Any) -> Any:
    group = ORIGINALS["target_group_create"].__func__(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    targets = cloudformation_json["Properties"].get("Targets") or []
    if targets:
        elbv2_models.elbv2_backends[account_id][region_name].register_targets(
            group.arn, [{"Id": t["Id"], **({"Port": int(t["Port"])} if "Port" in t else {})}
                        for t in targets])
    return group


PATCHES = {
    "target_group_create": (elbv2_models.FakeTargetGroup, "create_from_cloudformation_json",
                            classmethod(_target_group_create)),
}
