"""Gaps 2, 5, 6 and 26: an ECS service made, updated and deleted through CloudFormation is the
service the ECS API would show.

Gap 2 — moto points a service updated through CloudFormation at the task-definition *family*
(it passes `TaskDefinition.family` to UpdateService), so DescribeServices shows "shop" instead
of the revision ARN. Fix: hand moto the revision's ARN.

Gap 5 — a service created or updated through CloudFormation ignores `LoadBalancers`
(DescribeServices shows `loadBalancers: []`). Fix: copy them onto the service, in the ECS API's
shape, so the sandbox's data plane (and anyone calling DescribeServices) knows the target group;
its `HealthCheckGracePeriodSeconds` too (moto keeps none), for the data plane's ECS emulation.

Gap 27 — a service created through CloudFormation ignores `LaunchType`: moto creates it with
none, and its CreateService default makes DescribeServices report `EC2` for a Fargate service.
ECS reports the launch type the service was created with ("launchType: The launch type the
service is using", ECS API Reference, Service). Fix: keep the template's `LaunchType` (when it
gives none, moto's default stays).

Gap 6 — deleting a stack (or rolling back its creation) leaves its ECS service ACTIVE: moto has
no delete for CloudFormation-managed services. Fix: delete the service as DeleteService would.
"""

from __future__ import annotations

from typing import Any

from moto.ecs import models as ecs_models
from stackswap.sandbox.moto_gaps._common import ORIGINALS


def _load_balancers(properties: dict[str, Any]) -> list[dict[str, Any]]:
    """A CloudFormation `LoadBalancers` property in the ECS API's shape."""
    return [
        {"targetGroupArn": item.get("TargetGroupArn"), "containerName": item.get("ContainerName"),
         "containerPort": int(item["ContainerPort"]) if "ContainerPort" in item else None}
        for item in properties.get("LoadBalancers") or []
    ]


def _grace(properties: dict[str, Any]) -> int:
    """`HealthCheckGracePeriodSeconds` (ECS's default when absent: 0)."""
    return int(properties.get("HealthCheckGracePeriodSeconds") or 0)


def _launch_type(service: Any, properties: dict[str, Any]) -> None:
    """Gap 27: the template's `LaunchType` on the service and its deployments, as ECS shows it."""
    launch_type = properties.get("LaunchType")
    if not launch_type:
        return
    service.launch_type = launch_type
    for deployment in service.deployments:
        deployment["launchType"] = launch_type
        deployment["platformFamily"] = "EC2" if launch_type == "EC2" else "FARGATE"


def _service_create(cls: Any, resource_name: str, cloudformation_json: Any, account_id: str,
                    region_name: str, **kwargs: Any) -> Any:
    service = ORIGINALS["service_create"].__func__(
        cls, resource_name, cloudformation_json, account_id, region_name, **kwargs)
    service.load_balancers = _load_balancers(cloudformation_json["Properties"])
    service.health_check_grace_period_seconds = _grace(cloudformation_json["Properties"])
    _launch_type(service, cloudformation_json["Properties"])
    return service


def _service_update(cls: Any, original_resource: Any, new_resource_name: str,
                    cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    properties = cloudformation_json["Properties"]
    task_definition = properties.get("TaskDefinition")
    if isinstance(task_definition, ecs_models.TaskDefinition):  # gap 2: the revision, not family
        properties = {**properties, "TaskDefinition": task_definition.arn}
        cloudformation_json = {**cloudformation_json, "Properties": properties}
    service = ORIGINALS["service_update"].__func__(
        cls, original_resource, new_resource_name, cloudformation_json, account_id, region_name)
    service.load_balancers = _load_balancers(properties)
    service.health_check_grace_period_seconds = _grace(properties)
    _launch_type(service, properties)
    return service


def _service_delete(self: Any, account_id: str, region_name: str) -> None:
    self._backend.delete_service(self.cluster_name, self.name, force=True)


PATCHES = {
    # gaps 2, 5 and 26
    "service_create": (ecs_models.Service, "create_from_cloudformation_json",
                       classmethod(_service_create)),
    "service_update": (ecs_models.Service, "update_from_cloudformation_json",
                       classmethod(_service_update)),
    # gap 6
    "service_delete": (ecs_models.Service, "delete", _service_delete),
}
