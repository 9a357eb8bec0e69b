"""The rendered templates: golden files, the listener/LiveColor property, colour symmetry."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest

from generator.config import COLORS, load_config
from generator.render import rendered_files
from tests import template_data as templates
from tests.conftest import REPO

EXAMPLE = load_config(REPO / "stackswap.example.toml")
EC2 = replace(EXAMPLE, service=replace(EXAMPLE.service, launch_type="EC2"), path="ec2.toml")
GOLDEN = REPO / "tests" / "golden"
UPDATE = os.environ.get("STACKSWAP_UPDATE_GOLDEN") == "1"


def test_committed_templates_are_a_fresh_render():
    # templates/ is what reviewers read: it must be exactly what the generator renders now.
    for name, text in rendered_files(EXAMPLE).items():
        assert (REPO / "templates" / name).read_text() == text, f"templates/{name} is stale"


@pytest.mark.parametrize("name", ["elb.yml", "blue.yml", "green.yml"])
def test_ec2_launch_type_matches_golden(name):
    # Update with: STACKSWAP_UPDATE_GOLDEN=1 make test
    text = rendered_files(EC2)[name]
    golden = GOLDEN / f"ec2-{name}"
    if UPDATE:
        golden.write_text(text)
    assert golden.read_text() == text


def test_rendering_is_byte_identical_across_processes(tmp_path):
    # A fresh interpreter (different hash seed) must produce the same bytes.
    out = tmp_path / "out"
    env = {**os.environ, "PYTHONHASHSEED": "12345"}
    subprocess.run([sys.executable, "-m", "generator", "--out", str(out)], check=True, cwd=REPO,
                   env=env, capture_output=True)
    for name in ("elb.yml", "blue.yml", "green.yml"):
        assert (out / name).read_text() == (REPO / "templates" / name).read_text()


def test_check_mode_fails_on_stale_templates(tmp_path):
    out = tmp_path / "out"
    run = [sys.executable, "-m", "generator", "--out", str(out)]
    subprocess.run(run, check=True, cwd=REPO, capture_output=True)
    assert subprocess.run([*run, "--check"], cwd=REPO, capture_output=True).returncode == 0
    (out / "green.yml").write_text((out / "green.yml").read_text() + "# edited\n")
    result = subprocess.run([*run, "--check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 1 and "green.yml" in result.stderr


def alb() -> dict:
    return templates.load(rendered_files(EXAMPLE)["elb.yml"])


def of_type(template: dict, kind: str) -> dict:
    return {name: r for name, r in template["Resources"].items() if r["Type"] == kind}


def test_alb_has_two_target_groups_and_listeners_on_80_and_8080():
    template = alb()
    assert sorted(of_type(template, "AWS::ElasticLoadBalancingV2::TargetGroup")) == [
        "BlueTargetGroup", "GreenTargetGroup"]
    listeners = of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
    assert sorted(r["Properties"]["Port"] for r in listeners.values()) == [80, 8080]


@pytest.mark.parametrize("live", COLORS)
def test_listeners_follow_live_color(live):
    template = alb()
    parameters = {"LiveColor": live}
    conditions = templates.evaluate_conditions(template, parameters)
    idle = next(c for c in COLORS if c != live)
    forwards = {}
    for resource in of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values():
        properties = templates.resolve(resource["Properties"], parameters, conditions)
        (action,) = properties["DefaultActions"]
        forwards[properties["Port"]] = action["TargetGroupArn"]["Ref"]
    assert forwards == {80: f"{live.capitalize()}TargetGroup",
                        8080: f"{idle.capitalize()}TargetGroup"}


def test_live_color_reaches_only_the_listeners():
    # A swap (LiveColor flipped) must change the two listeners and nothing else.
    template = alb()
    resolved = {}
    for live in COLORS:
        parameters = {"LiveColor": live}
        conditions = templates.evaluate_conditions(template, parameters)
        resolved[live] = templates.resolve(template["Resources"], parameters, conditions)
    blue, green = resolved["blue"], resolved["green"]
    changed = [name for name in blue if blue[name] != green[name]]
    assert sorted(changed) == ["ProductionListener", "TestListener"]


def test_test_listener_is_not_open_to_the_world():
    (group,) = of_type(alb(), "AWS::EC2::SecurityGroup").values()
    ingress = group["Properties"]["SecurityGroupIngress"]
    rules = {rule["FromPort"]: rule["CidrIp"] for rule in ingress}
    assert rules == {80: "0.0.0.0/0", 8080: {"Ref": "TestCidr"}}


@pytest.mark.parametrize("config", [EXAMPLE, EC2], ids=["fargate", "ec2"])
def test_blue_and_green_differ_only_in_color_derived_names(config):
    files = rendered_files(config)
    as_green = re.sub("blue", "green", re.sub("Blue", "Green", files["blue.yml"]))
    assert as_green == files["green.yml"]
    assert files["blue.yml"] != files["green.yml"]


@pytest.mark.parametrize("config", [EXAMPLE, EC2], ids=["fargate", "ec2"])
def test_colors_share_one_task_definition_family(config):
    families = set()
    for color in COLORS:
        template = templates.load(rendered_files(config)[f"{color}.yml"])
        (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
        families.add(task["Properties"]["Family"])
    assert families == {config.family}


def service_resources(config, color="blue") -> dict:
    return templates.load(rendered_files(config)[f"{color}.yml"])


def test_fargate_service_uses_awsvpc_without_a_service_role_and_with_circuit_breaker():
    template = service_resources(EXAMPLE)
    (service,) = of_type(template, "AWS::ECS::Service").values()
    props = service["Properties"]
    assert "Role" not in props
    assert props["LaunchType"] == "FARGATE"
    assert props["DeploymentConfiguration"]["DeploymentCircuitBreaker"] == {
        "Enable": True, "Rollback": True}
    (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["NetworkMode"] == "awsvpc"
    assert task["Properties"]["ExecutionRoleArn"] == {"Fn::GetAtt": ["ExecutionRole", "Arn"]}
    (group,) = of_type(template, "AWS::EC2::SecurityGroup").values()
    (rule,) = group["Properties"]["SecurityGroupIngress"]
    assert rule["SourceSecurityGroupId"] == {"Ref": "LoadBalancerSecurityGroupId"}
    assert "CidrIp" not in rule


def test_ec2_service_uses_dynamic_host_ports():
    template = service_resources(EC2)
    (task,) = of_type(template, "AWS::ECS::TaskDefinition").values()
    assert task["Properties"]["NetworkMode"] == "bridge"
    (container,) = task["Properties"]["ContainerDefinitions"]
    assert container["PortMappings"][0]["HostPort"] == 0
    assert not of_type(template, "AWS::EC2::SecurityGroup")


@pytest.mark.parametrize("config", [EXAMPLE, EC2], ids=["fargate", "ec2"])
def test_no_fixed_physical_names(config):
    # Fixed names block replacement and make two environments collide; only the shared family
    # is named, on purpose.
    for name in ("elb.yml", "blue.yml", "green.yml"):
        text = rendered_files(config)[name]
        assert not re.search(r"^ {6}(RoleName|ServiceName|GroupName|LogGroupName|Name):", text,
                             re.MULTILINE), name


def test_commands_that_render_nothing_start_without_troposphere():
    # status, swap and rollback (what an incident needs fast) must not pay for importing the
    # template library; only creating or updating a stack loads it (orchestrator.execute).
    code = ("import sys, orchestrator.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'troposphere'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=60, check=True)
    assert result.stdout.strip() == "[]"
