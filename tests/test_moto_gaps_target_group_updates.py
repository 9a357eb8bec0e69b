"""Pins gap 21 (sandbox/moto_gaps/target_group_updates.py): with plain moto a target group modified
by a stack update keeps its properties; and shows the fix modifies it in place. When a pin fails
after a moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

import dataclasses

from stackswap.generator.render import alb_stack_body
from stackswap.sandbox.environment import client


def _update_health_check_interval(stacks, seconds: int) -> None:
    config, cfn, _ = stacks
    changed = dataclasses.replace(config, health=dataclasses.replace(
        config.health, interval_seconds=seconds))
    cfn.update_stack(StackName=config.alb_stack, TemplateBody=alb_stack_body(changed),
                     Parameters=[{"ParameterKey": key, "UsePreviousValue": True}
                                 for key in ("VpcId", "Subnets", "TestCidr", "LiveColor")])


def _intervals(stacks) -> set[int]:
    _, cfn, alb = stacks
    elbv2 = client("elbv2", cfn.meta.endpoint_url, cfn.meta.region_name)
    arns = [alb["BlueTargetGroupArn"], alb["GreenTargetGroupArn"]]
    return {group["HealthCheckIntervalSeconds"] for group in
            elbv2.describe_target_groups(TargetGroupArns=arns)["TargetGroups"]}


def test_gap_21_a_target_group_modified_by_an_update_keeps_its_properties(stacks, plain_moto):
    _update_health_check_interval(stacks, 10)
    # Real CloudFormation modifies HealthCheckIntervalSeconds in place ("Update requires: No
    # interruption", AWS::ElasticLoadBalancingV2::TargetGroup). (With gap 1's fix the listeners
    # that refer to the group are updated too, and fail on the group moto lost.)
    assert _intervals(stacks) == {5}


def test_a_target_group_is_modified_in_place_with_the_fix(stacks):
    _update_health_check_interval(stacks, 10)
    assert _intervals(stacks) == {10}
