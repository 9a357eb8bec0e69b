"""Gap 21: a TargetGroup modified by a stack update (`update-alb`) is modified, not lost.

moto has no update for an `AWS::ElasticLoadBalancingV2::TargetGroup`: a changed health check or
deregistration delay makes the resource None, and every resource that refers to it (the
listeners) fails the update with a KeyError (a 500 page over HTTP). Fix: modify the target group
in place, as ModifyTargetGroup and ModifyTargetGroupAttributes would; a change to a property
that replaces a target group (its `createOnlyProperties`) creates a new one, as CloudFormation
does.
"""

from __future__ import annotations

from typing import Any

from moto.elbv2 import models as elbv2_models

# The properties whose change replaces a target group (its schema's createOnlyProperties).
_TARGET_GROUP_REPLACED_BY = ("Port", "Protocol", "VpcId", "TargetType", "Name")


def _target_group_update(cls: Any, original_resource: Any, new_resource_name: str,
                         cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    properties = cloudformation_json.get("Properties") or {}
    current = {"Port": original_resource.port, "Protocol": original_resource.protocol,
               "VpcId": original_resource.vpc_id, "TargetType": original_resource.target_type}
    if any(key in properties and properties[key] != current.get(key, properties[key])
           for key in _TARGET_GROUP_REPLACED_BY):
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)
    backend = elbv2_models.elbv2_backends[account_id][region_name]
    matcher = properties.get("Matcher") or {}
    backend.modify_target_group(
        original_resource.arn, health_check_proto=properties.get("HealthCheckProtocol"),
        health_check_port=properties.get("HealthCheckPort"),
        health_check_path=properties.get("HealthCheckPath"),
        health_check_interval=properties.get("HealthCheckIntervalSeconds"),
        health_check_timeout=properties.get("HealthCheckTimeoutSeconds"),
        healthy_threshold_count=properties.get("HealthyThresholdCount"),
        unhealthy_threshold_count=properties.get("UnhealthyThresholdCount"),
        http_codes=matcher.get("HttpCode"))
    attributes = {item["Key"]: item["Value"]
                  for item in properties.get("TargetGroupAttributes") or []}
    if attributes:
        backend.modify_target_group_attributes(original_resource.arn, attributes)
    return original_resource


PATCHES = {
    "target_group_update": (elbv2_models.FakeTargetGroup, "update_from_cloudformation_json",
                            classmethod(_target_group_update)),
}
