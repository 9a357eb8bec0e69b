"""Gaps 22, 23 and 26: Application Auto Scaling as a service stack's autoscaling meets it.

Gap 22 — `AWS::ApplicationAutoScaling::ScalableTarget` and `AWS::ApplicationAutoScaling::
ScalingPolicy` are not supported: moto skips both with a warning, so a service stack's
autoscaling registers nothing (DescribeScalableTargets and DescribeScalingPolicies stay empty).
Fix: CloudFormation models that call moto's own RegisterScalableTarget / PutScalingPolicy on
create and update (a changed MinCapacity updates the target in place, as the API does) and
DeregisterScalableTarget / DeleteScalingPolicy on delete. The target's physical id is
CloudFormation's `<resource id>|<scalable dimension>|<namespace>`, what a policy's
ScalingTargetId refers to. moto's CloudFormation finds them through resource_types.py.

Gap 23 — Application Auto Scaling answers with `Content-Type: text/html` (its JSON body is
right): a client that refuses web pages for API answers (stackswap does: an HTML answer means a
proxy or a web server, not AWS) cannot read it. Real: `application/x-amz-json-1.1`, the
protocol's media type. Fix: answer with that type.

Gap 26 — RegisterScalableTarget leaves the ECS service's desired count where it is, also outside
the new [MinCapacity, MaxCapacity]. Real (RegisterScalableTarget, API reference): "If the
specified resource is not active in the target service, this operation does not change the
resource's current capacity. Otherwise, it changes the resource's current capacity to a value
that is inside of this range." Fix: after moto's registration, an ACTIVE ECS service's
DesiredCount is clamped into the target's range (through CloudFormation's ScalableTarget too,
which registers it). The other half, the clamp on each policy invocation, is the sandbox's
scaling emulator's (sandbox/scaling.py).
"""

from __future__ import annotations

import contextlib
from typing import Any

from moto.applicationautoscaling import models as scaling_models
from moto.applicationautoscaling import responses as scaling_responses
from moto.core.responses import BaseResponse
from stackswap.sandbox.moto_gaps._common import ORIGINALS, PlainResource

# --- gap 22: scalable targets and scaling policies through CloudFormation -------------------


class ScalableTarget(PlainResource):
    """AWS::ApplicationAutoScaling::ScalableTarget."""

    def __init__(self, backend: Any, namespace: str, resource_id: str, dimension: str) -> None:
        self.backend, self.namespace = backend, namespace
        self.resource_id, self.dimension = resource_id, dimension

    @property
    def physical_resource_id(self) -> str:
        return f"{self.resource_id}|{self.dimension}|{self.namespace}"

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalableTarget"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ScalableTarget:
        properties = cloudformation_json["Properties"]
        backend = scaling_models.applicationautoscaling_backends[account_id][region_name]
        made = cls(backend, properties["ServiceNamespace"], properties["ResourceId"],
                   properties["ScalableDimension"])
        backend.register_scalable_target(
            made.namespace, made.resource_id, made.dimension,
            int(properties["MinCapacity"]), int(properties["MaxCapacity"]),
            properties.get("RoleARN", ""), properties.get("SuspendedState"))
        return made

    @classmethod
    def update_from_cloudformation_json(cls, original_resource: Any, new_resource_name: str,
                                        cloudformation_json: Any, account_id: str,
                                        region_name: str) -> ScalableTarget:
        properties = cloudformation_json["Properties"]
        if (properties["ResourceId"], properties["ScalableDimension"]) != (
                original_resource.resource_id, original_resource.dimension):
            original_resource.delete(account_id, region_name)
        # RegisterScalableTarget of an existing target updates it in place.
        return cls.create_from_cloudformation_json(new_resource_name, cloudformation_json,
                                                   account_id, region_name)

    def delete(self, account_id: str, region_name: str) -> None:
        if self.resource_id in self.backend.targets.get(self.dimension, {}):
            self.backend.deregister_scalable_target(self.namespace, self.resource_id,
                                                    self.dimension)


class ScalingPolicy(PlainResource):
    """AWS::ApplicationAutoScaling::ScalingPolicy, on a ScalingTargetId."""

    def __init__(self, backend: Any, name: str, target: tuple[str, str, str]) -> None:
        self.backend, self.name = backend, name
        self.resource_id, self.dimension, self.namespace = target

    @property
    def physical_resource_id(self) -> str:
        return self.policy.policy_arn

    @property
    def policy(self) -> Any:
        return self.backend.policies[scaling_models.FakeApplicationAutoscalingPolicy
                                     .formulate_key(self.namespace, self.resource_id,
                                                    self.dimension, self.name)]

    @staticmethod
    def cloudformation_type() -> str:
        return "AWS::ApplicationAutoScaling::ScalingPolicy"

    @classmethod
    def create_from_cloudformation_json(cls, resource_name: str, cloudformation_json: Any,
                                        account_id: str, region_name: str,
                                        **kwargs: Any) -> ScalingPolicy:
        properties = cloudformation_json["Properties"]
        backend = scaling_models.applicationautoscaling_backends[account_id][region_name]
        target = tuple(properties["ScalingTargetId"].split("|"))
        made = cls(backend, properties["PolicyName"], target)  # type: ignore[arg-type]
        body = (properties.get("TargetTrackingScalingPolicyConfiguration")
                or properties.get("StepScalingPolicyConfiguration"))
        backend.put_scaling_policy(made.name, made.namespace, made.resource_id, made.dimension,
                                   body, properties["PolicyType"])
        return made

    def delete(self, account_id: str, region_name: str) -> None:
        with contextlib.suppress(KeyError, scaling_models.AWSValidationException):
            self.backend.delete_scaling_policy(self.name, self.namespace, self.resource_id,
                                               self.dimension)


# --- gap 23: answers as JSON -----------------------------------------------------------------

AMZ_JSON = "application/x-amz-json-1.1"


def _scaling_call_action(self: Any) -> Any:
    """Application Auto Scaling's answers as the JSON protocol's media type."""
    # moto's own is inherited (BaseResponse.call_action): uninstall deletes this override.
    status, headers, body = BaseResponse.call_action(self)
    headers = {key: value for key, value in dict(headers).items()
               if key.lower() != "content-type"}
    return status, {**headers, "Content-Type": AMZ_JSON}, body


# --- gap 26: RegisterScalableTarget brings the capacity into range -------------------------

ECS_DESIRED_COUNT = "ecs:service:DesiredCount"


def _register_scalable_target(self: Any, namespace: str, r_id: str, dimension: str,
                              min_capacity: int | None, max_capacity: int | None, role_arn: str,
                              suspended_state: Any) -> Any:
    target = ORIGINALS["register_scalable_target"](self, namespace, r_id, dimension,
                                                   min_capacity, max_capacity, role_arn,
                                                   suspended_state)
    if namespace == "ecs" and dimension == ECS_DESIRED_COUNT and None not in (
            target.min_capacity, target.max_capacity):
        _, cluster, name = r_id.split("/")
        service = self.ecs_backend.services.get(f"{cluster}:{name}")
        if service is not None and service.status == "ACTIVE":
            service.desired_count = min(max(int(service.desired_count or 0),
                                            int(target.min_capacity)), int(target.max_capacity))
    return target


MODELS = (ScalableTarget, ScalingPolicy)

PATCHES = {
    # gap 23
    "scaling_call_action": (scaling_responses.ApplicationAutoScalingResponse, "call_action",
                            _scaling_call_action),
    # gap 26
    "register_scalable_target": (scaling_models.ApplicationAutoscalingBackend,
                                 "register_scalable_target", _register_scalable_target),
}
