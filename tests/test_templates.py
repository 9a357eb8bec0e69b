"""The rendered templates: golden files, the listener/LiveColor property, colour symmetry."""

from __future__ import annotations

import ipaddress
import os
import re
import subprocess
import sys
from dataclasses import replace

import pytest
from stackswap.environment.config import swapped_resources
from stackswap.environment.config import test_path_output as path_output
from stackswap.environment.load import load_config
from stackswap.environment.names import (
    COLORS,
    target_group_id,
)
from stackswap.generator.elb import security_group_description
from stackswap.generator.render import rendered_files

from tests import template_data as templates
from tests.conftest import REPO

EXAMPLE = load_config(REPO / "stackswap.example.toml")
RENDER = [sys.executable, "-m", "stackswap.orchestrator", "render", "--config",
          str(REPO / "stackswap.example.toml")]
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
    subprocess.run([*RENDER, "--out", str(out)], check=True, cwd=REPO, env=env, capture_output=True)
    for name in ("elb.yml", "blue.yml", "green.yml"):
        assert (out / name).read_text() == (REPO / "templates" / name).read_text()


def test_check_mode_fails_on_stale_templates(tmp_path):
    out = tmp_path / "out"
    run = [*RENDER, "--out", str(out)]
    subprocess.run(run, check=True, cwd=REPO, capture_output=True)
    assert subprocess.run([*run, "--check"], cwd=REPO, capture_output=True).returncode == 0
    (out / "green.yml").write_text((out / "green.yml").read_text() + "# edited\n")
    result = subprocess.run([*run, "--check"], cwd=REPO, capture_output=True, text=True)
    assert result.returncode == 3 and "green.yml" in result.stderr


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
    parameters = {"LiveColor": live, **templates.NO_SHIFT_WEIGHTS}
    conditions = templates.evaluate_conditions(template, parameters)
    idle = next(c for c in COLORS if c != live)
    forwards = {}
    for resource in of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values():
        properties = templates.resolve(resource["Properties"], parameters, conditions)
        (action,) = properties["DefaultActions"]
        forwards[properties["Port"]] = templates.forward_target(action)
    assert forwards == {80: f"{live.capitalize()}TargetGroup",
                        8080: f"{idle.capitalize()}TargetGroup"}


@pytest.mark.parametrize("live", COLORS)
def test_a_shift_step_splits_production_and_keeps_the_test_path_on_the_new_colour(live):
    # ELB, "Listeners for your Application Load Balancers", forward actions: "each target group
    # weight is a value from 0 to 999. Requests that match a listener rule with weighted target
    # groups are distributed to these target groups based on their weights" — a group of weight
    # 0 gets none. A step of a shift sets LiveWeight/ShiftWeight only (LiveColor unchanged).
    template = alb()
    parameters = {"LiveColor": live, "LiveWeight": 75, "ShiftWeight": 25}
    conditions = templates.evaluate_conditions(template, parameters)
    idle = next(c for c in COLORS if c != live)
    listeners = {templates.resolve(r["Properties"], parameters, conditions)["Port"]:
                 templates.resolve(r["Properties"], parameters, conditions)["DefaultActions"][0]
                 for r in of_type(template, "AWS::ElasticLoadBalancingV2::Listener").values()}
    assert templates.weights(listeners[80]) == {f"{live.capitalize()}TargetGroup": 75,
                                                f"{idle.capitalize()}TargetGroup": 25}
    assert templates.forward_target(listeners[8080]) == f"{idle.capitalize()}TargetGroup"


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
    # template library; only creating or updating a stack loads it (orchestrator/steps/stacks.py).
    code = ("import sys, stackswap.orchestrator.cli; "
            "print(sorted(m for m in sys.modules if m.split('.')[0] == 'troposphere'))")
    result = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True,
                            cwd=REPO, timeout=60, check=True)
    assert result.stdout.strip() == "[]"


# --- every load-balancer mode (tests/template_data.MODES) -------------------------------------

MODE_NAMES = list(templates.MODES)
HTTPS_MODES = [name for name in MODE_NAMES if name.startswith("https")]
HOST_MODES = [name for name in MODE_NAMES if "-host" in name]
PORT_MODES = [name for name in MODE_NAMES if "-port" in name]


def mode(name: str):
    config = templates.mode_config(name)
    return config, templates.load(rendered_files(config)["elb.yml"])


def alb_listeners(template: dict) -> dict:
    """The ALB's listeners by logical id (not the private NLB's)."""
    return {name: r for name, r in of_type(template, "AWS::ElasticLoadBalancingV2::Listener")
            .items() if r["Properties"]["LoadBalancerArn"] == {"Ref": "LoadBalancer"}}


@pytest.mark.parametrize("name", MODE_NAMES)
def test_mode_matches_golden(name):
    # Update with: STACKSWAP_UPDATE_GOLDEN=1 make test
    config = templates.mode_config(name)
    text = rendered_files(config)["elb.yml"]
    golden = GOLDEN / f"{name}-elb.yml"
    if UPDATE:
        golden.write_text(text)
    assert golden.read_text() == text


@pytest.mark.parametrize("name", templates.SERVICE_MODES)
def test_service_mode_matches_golden(name):
    # Update with: STACKSWAP_UPDATE_GOLDEN=1 make test
    text = rendered_files(templates.mode_config(name))["blue.yml"]
    golden = GOLDEN / f"{name}-blue.yml"
    if UPDATE:
        golden.write_text(text)
    assert golden.read_text() == text


@pytest.mark.parametrize("name", MODE_NAMES)
def test_mode_lints_clean(name):
    from cfnlint.api import lint  # ~1 s to import; only these tests need it

    files = rendered_files(templates.mode_config(name))
    for file in ("elb.yml", "deploy-role.yml", "blue.yml", "green.yml"):
        assert [(m.rule.id, m.message) for m in lint(files[file])] == [], file


def test_http_port_mode_is_the_articles_layout():
    # Without certificates: HTTP :80 production, HTTP :8080 test, nothing else listening.
    _, template = mode("http-port")
    listeners = alb_listeners(template)
    assert {n: (r["Properties"]["Protocol"], r["Properties"]["Port"])
            for n, r in listeners.items()} == {"ProductionListener": ("HTTP", 80),
                                               "TestListener": ("HTTP", 8080)}
    assert not of_type(template, "AWS::ElasticLoadBalancingV2::ListenerCertificate")
    assert not of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")


@pytest.mark.parametrize("name", MODE_NAMES)
def test_security_group_opens_exactly_the_listeners_that_exist(name):
    # "You must ensure that your load balancer can communicate with registered targets on both
    # the listener port and the health check port" (ELB, "Security groups for your Application
    # Load Balancer"): every listener's port is open — production and the redirect to anyone,
    # the test listener to TestCidr only — and no port without a listener is.
    config, template = mode(name)
    (group,) = of_type(template, "AWS::EC2::SecurityGroup").values()
    ingress = group["Properties"]["SecurityGroupIngress"]
    opened = {}
    for rule in ingress:
        assert rule["FromPort"] == rule["ToPort"] and rule["IpProtocol"] == "tcp"
        assert rule["FromPort"] not in opened, "one rule per port"
        opened[rule["FromPort"]] = rule["CidrIp"]
    expected = {}
    for logical_id, listener in alb_listeners(template).items():
        expected[listener["Properties"]["Port"]] = (
            {"Ref": "TestCidr"} if logical_id == "TestListener" else "0.0.0.0/0")
    assert opened == expected
    if config.listener.host_mode:  # nothing but production (and the redirect) listens
        assert {"Ref": "TestCidr"} not in opened.values()


def test_security_group_description_stays_for_existing_stacks_and_port_changes():
    # GroupDescription "Update requires: Replacement" (CloudFormation, AWS::EC2::SecurityGroup),
    # and the stack policy refuses replacements. ALB stacks of the article's mode keep the text
    # they were created with, so they update in place; every other mode shares one text that
    # names no port, so moving ports or switching between those modes stays in place too.
    descriptions = {name: mode(name)[1]["Resources"]["LoadBalancerSecurityGroup"]["Properties"][
        "GroupDescription"] for name in MODE_NAMES}
    article = {name for name in MODE_NAMES if name.startswith("http-port")}  # NLB or not
    assert {descriptions.pop(name) for name in article} == {
        "shop load balancer: :80 public, :8080 test CIDR only"}
    assert len(set(descriptions.values())) == 1
    moved = replace(EXAMPLE, listener=replace(EXAMPLE.listener, production_port=8000,
                                              test_port=9000))
    assert security_group_description(moved) == next(iter(descriptions.values()))


@pytest.mark.parametrize("name", HTTPS_MODES)
def test_https_listeners_carry_every_certificate_and_the_tls_policy(name):
    # "You must specify exactly one certificate" as a listener's default (Listener Certificates,
    # CloudFormation); the others go to its certificate list: "You can specify one certificate
    # per resource" (AWS::ElasticLoadBalancingV2::ListenerCertificate).
    config, template = mode(name)
    first, *others = config.listener.certificate_arns
    https = {n: r["Properties"] for n, r in alb_listeners(template).items()
             if r["Properties"]["Protocol"] == "HTTPS"}
    expected = ({"ProductionListener"} if config.listener.host_mode
                else {"ProductionListener", "TestListener"})
    assert set(https) == expected
    added = {}
    for resource in of_type(template, "AWS::ElasticLoadBalancingV2::ListenerCertificate").values():
        (certificate,) = resource["Properties"]["Certificates"]
        added.setdefault(resource["Properties"]["ListenerArn"]["Ref"], []).append(
            certificate["CertificateArn"])
    for logical_id, properties in https.items():
        assert properties["Certificates"] == [{"CertificateArn": first}]
        assert properties["SslPolicy"] == config.listener.ssl_policy == \
            "ELBSecurityPolicy-TLS13-1-2-2021-06"
        assert sorted(added.pop(logical_id)) == sorted(others)
    assert added == {}
    port = {n: p["Port"] for n, p in https.items()}
    assert port["ProductionListener"] == 443
    assert port.get("TestListener", 8443) == 8443


@pytest.mark.parametrize("name", HTTPS_MODES)
def test_redirect_listener_is_a_permanent_redirect_to_https(name):
    # A redirect action: "StatusCode: The HTTP redirect code. The redirect is either permanent
    # (HTTP 301) or temporary (HTTP 302)" (CloudFormation, ListenerRule/Listener RedirectConfig);
    # "#{host}", "#{path}" and "#{query}" keep what the client asked for.
    config, template = mode(name)
    redirect = alb_listeners(template)["RedirectListener"]["Properties"]
    assert (redirect["Protocol"], redirect["Port"]) == ("HTTP", config.listener.redirect_port)
    (action,) = redirect["DefaultActions"]
    assert action == {"Type": "redirect", "RedirectConfig": {
        "Protocol": "HTTPS", "Port": str(config.listener.production_port), "Host": "#{host}",
        "Path": "/#{path}", "Query": "#{query}", "StatusCode": "HTTP_301"}}


def test_no_redirect_without_certificates():
    for name in set(MODE_NAMES) - set(HTTPS_MODES):
        assert "RedirectListener" not in mode(name)[1]["Resources"], name


def resolved(template: dict, live: str) -> dict:
    parameters = {"LiveColor": live, "TestCidr": "203.0.113.0/24", **templates.NO_SHIFT_WEIGHTS}
    conditions = templates.evaluate_conditions(template, parameters)
    return templates.resolve(template["Resources"], parameters, conditions)


@pytest.mark.parametrize("name", MODE_NAMES)
def test_a_swap_changes_only_the_swapped_resources(name):
    # A swap flips LiveColor with the previous template: whatever differs between the two
    # resolutions is what the swap modifies. The redirect, the certificates, the refusal rule
    # and the private NLB must not be among them.
    config, template = mode(name)
    blue, green = resolved(template, "blue"), resolved(template, "green")
    changed = {logical_id for logical_id in blue if blue[logical_id] != green[logical_id]}
    assert changed == set(swapped_resources(config))


def host_rule_answer(resources: dict, host: str, source: str) -> str:
    """Which target group (or fixed response) the ALB's production listener gives a request,
    the way ELB evaluates rules: "Rules are evaluated in priority order, from the lowest value
    to the highest value. When the conditions for a rule are met, its actions are performed. If
    the conditions for no rules are met, the actions for the default rule are performed" (AWS
    CLI reference, elbv2 create-rule); a rule's conditions must all match."""
    def matches(condition) -> bool:
        if condition["Field"] == "host-header":
            return host in condition["HostHeaderConfig"]["Values"]
        if condition["Field"] == "source-ip":
            return any(ipaddress.ip_address(source) in ipaddress.ip_network(cidr)
                       for cidr in condition["SourceIpConfig"]["Values"])
        raise AssertionError(condition)

    rules = sorted((r["Properties"] for r in resources.values()
                    if r["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule"),
                   key=lambda rule: rule["Priority"])
    for rule in rules:
        assert rule["ListenerArn"] == {"Ref": "ProductionListener"}
        if all(matches(condition) for condition in rule["Conditions"]):
            (action,) = rule["Actions"]
            break
    else:
        (action,) = resources["ProductionListener"]["Properties"]["DefaultActions"]
    if action["Type"] == "fixed-response":
        return action["FixedResponseConfig"]["StatusCode"]
    return templates.forward_target(action)


@pytest.mark.parametrize("name", HOST_MODES)
@pytest.mark.parametrize("live", COLORS)
def test_host_mode_sends_the_test_host_from_test_cidr_to_the_idle_colour_and_refuses_others(
        name, live):
    config, template = mode(name)
    resources = resolved(template, live)  # TestCidr 203.0.113.0/24
    idle = next(color for color in COLORS if color != live)
    test_host = config.listener.test_host
    assert host_rule_answer(resources, test_host, "203.0.113.7") == target_group_id(idle)
    # The test host from any other address never reaches production by accident.
    assert host_rule_answer(resources, test_host, "198.51.100.7") == "403"
    for source in ("203.0.113.7", "198.51.100.7"):
        assert host_rule_answer(resources, "shop.example.com", source) == target_group_id(live)
    assert "TestListener" not in resources
    outputs = template["Outputs"]
    assert "TestRuleArn" in outputs and "TestListenerArn" not in outputs
    assert path_output(config) == "TestRuleArn"


@pytest.mark.parametrize("name", PORT_MODES)
def test_port_mode_has_a_test_listener_and_no_rules(name):
    config, template = mode(name)
    assert not of_type(template, "AWS::ElasticLoadBalancingV2::ListenerRule")
    assert path_output(config) == "TestListenerArn" in template["Outputs"]


@pytest.mark.parametrize("name", MODE_NAMES)
def test_load_balancer_scheme_subnets_and_request_hardening(name):
    # Issue 16: drop invalid header fields; desync mitigation "defensive", ELB's default mode,
    # "durable mitigation against HTTP desync while maintaining the availability of your
    # application" (ELB, "Desync mitigation mode"); a scanner only sees what the template says.
    config, template = mode(name)
    properties = template["Resources"]["LoadBalancer"]["Properties"]
    assert properties["Scheme"] == config.network.scheme
    assert properties["Subnets"] == {"Ref": "Subnets"}
    attributes = {a["Key"]: a["Value"] for a in properties["LoadBalancerAttributes"]}
    hardening = {"routing.http.drop_invalid_header_fields.enabled": "true",
                 "routing.http.desync_mitigation_mode": "defensive"}
    assert {key: attributes.pop(key) for key in hardening} == hardening
    # Access logs: stated off without a bucket (see test_access_logs_follow_the_config).
    enabled = attributes.pop("access_logs.s3.enabled")
    assert enabled == ("true" if config.listener.access_logs_bucket else "false")
    assert set(attributes) <= {"access_logs.s3.bucket", "access_logs.s3.prefix"}


@pytest.mark.parametrize(("bucket", "prefix"), [(None, None), ("shop-logs", None),
                                                ("shop-logs", "prod/shop")])
def test_access_logs_follow_the_config(bucket, prefix):
    # The ALB's load balancer attributes "access_logs.s3.enabled", "access_logs.s3.bucket" ("The
    # name of the S3 bucket for the access logs ... The bucket must exist in the same region as
    # the load balancer and have a bucket policy that grants Elastic Load Balancing permissions
    # to write to the bucket") and "access_logs.s3.prefix" (ELB API reference,
    # LoadBalancerAttribute). Without a bucket the template says "false": a bucket removed from
    # the config turns the logs off instead of leaving the load balancer as it was.
    listener = replace(EXAMPLE.listener, access_logs_bucket=bucket, access_logs_prefix=prefix)
    template = templates.load(rendered_files(replace(EXAMPLE, listener=listener))["elb.yml"])
    attributes = {a["Key"]: a["Value"] for a in
                  template["Resources"]["LoadBalancer"]["Properties"]["LoadBalancerAttributes"]
                  if a["Key"].startswith("access_logs.")}
    expected = {"access_logs.s3.enabled": "true" if bucket else "false"}
    if bucket:
        expected["access_logs.s3.bucket"] = bucket
    if prefix:
        expected["access_logs.s3.prefix"] = prefix
    assert attributes == expected


@pytest.mark.parametrize("key", [None, templates.LOG_KMS_KEY])
def test_both_colours_log_groups_use_the_configured_kms_key(key):
    # AWS::Logs::LogGroup KmsKeyId: "The Amazon Resource Name (ARN) of the KMS key to use when
    # encrypting log data" (CloudFormation template reference); omitted, CloudWatch Logs'
    # default encryption.
    config = replace(EXAMPLE, service=replace(EXAMPLE.service, log_kms_key_arn=key))
    for color in COLORS:
        (group,) = of_type(service_resources(config, color), "AWS::Logs::LogGroup").values()
        assert group["Properties"].get("KmsKeyId") == key
        assert group["Properties"]["RetentionInDays"] == 30


def test_private_nlb_forwards_to_the_albs_production_listener():
    # ELB, "Use an Application Load Balancer as a target of a Network Load Balancer": "the load
    # balancers must be in the same VPC within the same account", one ALB per target group; the
    # target's port: "If the target type is alb, the targeted Application Load Balancer must
    # have at least one listener whose port matches the target group port" (TargetDescription,
    # ELB API reference) — so the target group waits for the production listener (DependsOn).
    config, template = mode("https-host-private")
    resources, port = template["Resources"], config.listener.production_port
    nlb = resources["PrivateLoadBalancer"]["Properties"]
    assert (nlb["Type"], nlb["Scheme"], nlb["Subnets"]) == (
        "network", "internal", {"Ref": "PrivateSubnets"})
    group = resources["PrivateTargetGroup"]
    assert group["DependsOn"] == ["ProductionListener"]
    properties = group["Properties"]
    assert (properties["TargetType"], properties["Protocol"], properties["Port"]) == (
        "alb", "TCP", port)
    assert properties["VpcId"] == resources["LoadBalancer"]["Properties"].get(
        "VpcId", {"Ref": "VpcId"}) == {"Ref": "VpcId"}
    assert properties["Targets"] == [{"Id": {"Ref": "LoadBalancer"}, "Port": port}]
    assert properties["HealthCheckProtocol"] == "HTTPS"
    listener = resources["PrivateListener"]["Properties"]
    assert (listener["LoadBalancerArn"], listener["Protocol"], listener["Port"]) == (
        {"Ref": "PrivateLoadBalancer"}, "TCP", port)
    assert listener["DefaultActions"] == [
        {"Type": "forward", "TargetGroupArn": {"Ref": "PrivateTargetGroup"}}]
    assert template["Parameters"]["PrivateSubnets"]["Type"] == "List<AWS::EC2::Subnet::Id>"
    assert template["Outputs"]["PrivateLoadBalancerDnsName"]["Value"] == {
        "Fn::GetAtt": ["PrivateLoadBalancer", "DNSName"]}


def test_without_private_nlb_no_nlb_and_no_private_subnets_parameter():
    for name in ("http-port", "https-port", "http-host"):
        _, template = mode(name)
        assert "PrivateSubnets" not in template["Parameters"]
        assert not [r for r in template["Resources"] if r.startswith("Private")]
        assert "PrivateLoadBalancerDnsName" not in template["Outputs"]


@pytest.mark.parametrize("name", MODE_NAMES)
def test_descriptions_name_the_configured_ports(name):
    config, template = mode(name)
    listener = config.listener
    assert f"{listener.protocol} :{listener.production_port}" in template["Description"]
    assert template["Outputs"]["ProductionListenerArn"]["Description"].endswith(
        f"(:{listener.production_port})")
    if listener.test_port is not None:
        assert f":{listener.test_port}" in template["Description"]
    else:
        assert listener.test_host in template["Description"]
