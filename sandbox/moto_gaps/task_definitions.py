"""Gaps 3 and 24: an ECS task definition made or replaced through CloudFormation is registered
as RegisterTaskDefinition registers it.

Gap 24 — moto's CloudFormation keeps only a task definition's family, containers, volumes and
memory: `Cpu`, `NetworkMode`, `RequiresCompatibilities`, `ExecutionRoleArn`, `TaskRoleArn`,
`RuntimePlatform` and `EphemeralStorage` are dropped, so DescribeTaskDefinition shows a task
definition other than the one the template registered. Fix: register it with those.

Gap 3 — a task definition replaced by an update is registered with CloudFormation's PascalCase
container keys ("Image" instead of "image"), so DescribeTaskDefinition shows no image. Fix:
replace it the way it is created (a new revision, the old one deregistered), as CloudFormation
does for this immutable resource.
"""

from __future__ import annotations

from typing import Any

from moto.core.utils import pascal_to_camelcase, remap_nested_keys
from moto.ecs import models as ecs_models


def _task_definition_create(cls: Any, resource_name: str, cloudformation_json: Any,
                            account_id: str, region_name: str, **kwargs: Any) -> Any:
    """A task definition with its task-level properties (gap 24), as RegisterTaskDefinition
    keeps them."""
    properties = cloudformation_json["Properties"]

    def camel(value: Any) -> Any:
        return remap_nested_keys(value, pascal_to_camelcase) if value else None

    return ecs_models.ecs_backends[account_id][region_name].register_task_definition(
        family=properties.get("Family", resource_name),
        container_definitions=camel(properties.get("ContainerDefinitions")) or [],
        volumes=camel(properties.get("Volumes")) or [],
        network_mode=properties.get("NetworkMode"),
        requires_compatibilities=properties.get("RequiresCompatibilities"),
        cpu=properties.get("Cpu"), memory=properties.get("Memory"),
        task_role_arn=properties.get("TaskRoleArn"),
        execution_role_arn=properties.get("ExecutionRoleArn"),
        runtime_platform=camel(properties.get("RuntimePlatform")),
        ephemeral_storage=camel(properties.get("EphemeralStorage")))


def _task_definition_update(cls: Any, original_resource: Any, new_resource_name: str,
                            cloudformation_json: Any, account_id: str, region_name: str) -> Any:
    replacement = cls.create_from_cloudformation_json(
        new_resource_name, cloudformation_json, account_id, region_name)
    ecs_models.ecs_backends[account_id][region_name].deregister_task_definition(
        original_resource.arn)
    return replacement


PATCHES = {
    # gap 24
    "task_definition_create": (ecs_models.TaskDefinition, "create_from_cloudformation_json",
                               classmethod(_task_definition_create)),
    # gap 3
    "task_definition_update": (ecs_models.TaskDefinition, "update_from_cloudformation_json",
                               classmethod(_task_definition_update)),
}
