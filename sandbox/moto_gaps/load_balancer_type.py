"""Gap 18: a CloudFormation LoadBalancer of the `Type` the template gives.

An `AWS::ElasticLoadBalancingV2::LoadBalancer` ignores `Type`: a network load balancer (the
private NLB) is made an application one, and its TCP listener is then refused ("Listener
protocol 'TCP' must be one of 'HTTP, HTTPS'"). Fix: pass `Type` on, as CreateLoadBalancer does.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2 import models as elbv2_models


def _load_balancer_create(cls: Any, resource_name: str, cloudformation_json: Any,
                          account_id: str, region_name: str, **kwargs: Any) -> Any:
    properties = cloudformation_json["Properties"]
    backend = elbv2_models.elbv2_backends[account_id][region_name]
    return backend.create_load_balancer(
        resource_name, properties.get("SecurityGroups") or [], properties.get("Subnets"),
        scheme=properties.get("Scheme", "internet-facing"),
        loadbalancer_type=properties.get("Type") or "application")


PATCHES = {
    "load_balancer_create": (elbv2_models.FakeLoadBalancer, "create_from_cloudformation_json",
                             classmethod(_load_balancer_create)),
}
