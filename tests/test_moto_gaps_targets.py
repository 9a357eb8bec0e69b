"""Pins gaps 4 and 10 (sandbox/moto_gaps/targets.py): with plain moto two targets on one IP
overwrite each other, and every target is healthy at once. Gap 10 is filled by the sandbox's
emulators (sandbox/target_health.py, sandbox/data_plane.py), which moto_gaps wires into moto. When a
pin fails after a moto upgrade, moto fixed that gap: drop its fix."""

from __future__ import annotations

from stackswap.sandbox.environment import client


def _ip_target_group(aws) -> str:
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    return elbv2.create_target_group(Name="pins", Protocol="HTTP", Port=8000, TargetType="ip",
                                     VpcId=aws.ids["vpc_id"])["TargetGroups"][0]["TargetGroupArn"]


def test_gap_4_targets_on_one_ip_overwrite_each_other(aws, plain_moto):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 40001},
                                                          {"Id": "127.0.0.1", "Port": 40002}])
    described = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    # Real ELBv2 identifies a target by Id and Port: it would list both.
    assert [d["Target"]["Port"] for d in described] == [40002]


def test_gap_10_registered_targets_are_healthy_at_once_and_services_run_no_tasks(plain_moto,
                                                                                stacks, aws):
    elbv2 = client("elbv2", aws.endpoint, aws.region)
    group = _ip_target_group(aws)
    elbv2.register_targets(TargetGroupArn=group, Targets=[{"Id": "127.0.0.1", "Port": 9}])
    (described,) = elbv2.describe_target_health(TargetGroupArn=group)["TargetHealthDescriptions"]
    assert described["TargetHealth"]["State"] == "healthy"  # nothing listens on port 9
    config, cfn, _ = stacks
    ecs = client("ecs", cfn.meta.endpoint_url, cfn.meta.region_name)
    assert ecs.list_tasks(cluster=config.cluster)["taskArns"] == []
