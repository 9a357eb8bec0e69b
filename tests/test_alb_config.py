"""The ALB stack follows the config (issue 12), against the moto server through the real CLI:
`update-alb` applies a change through a real change set, refuses a replacement and says when
there is nothing to change; `deploy` and `swap` refuse while the ALB stack differs from the
config; host mode reads the test rule; a test URL nothing answers stops before any swap."""

from __future__ import annotations

import json
import socket

import pytest
from stackswap.environment.load import load_config
from stackswap.generator.policies import alb_stack_policy_body
from stackswap.orchestrator.observe import observe_stacks
from stackswap.orchestrator.verify import SmokeTarget, smoke_target

from tests.harness import MUTATING, Requests
from tests.host_mode import create_host_mode_alb, host_mode_config

# The stack policy a stack created by an earlier stackswap carries: only the two listeners may
# be modified. update-alb replaces it with generator/policies.py's.
OLD_POLICY = json.dumps({"Statement": [
    {"Effect": "Allow", "Principal": "*", "Action": "Update:Modify",
     "Resource": ["LogicalResourceId/ProductionListener", "LogicalResourceId/TestListener"]},
    {"Effect": "Deny", "Principal": "*", "Action": ["Update:Replace", "Update:Delete"],
     "Resource": "*"}]})


def reconfigure(env, section: str, **values: str) -> None:
    """Change keys of the env's config, keeping the listeners it points at."""
    text = env.config_path.read_text()
    lines = text.splitlines()
    start = lines.index(f"[{section}]")
    for key, value in values.items():
        found = [i for i, line in enumerate(lines) if line.startswith(f"{key} = ")
                 and i > start]
        if found:
            lines[found[0]] = f"{key} = {value}"
        else:
            lines.insert(start + 1, f"{key} = {value}")
    env.config_path.write_text("\n".join(lines) + "\n")


@pytest.fixture
def deployed(env, capsys):
    """green live with app:v2, blue on the test listener with app:v1."""
    for image in ("app:v1", "app:v2"):
        result = env.run("deploy", "--image", image, capsys=capsys)
        assert result.code == 0, result
    assert env.forwards(80) == "green"
    return env


def interval(env, color: str) -> int:
    arn = env.outputs("shop-elb")[f"{color.capitalize()}TargetGroupArn"]
    (group,) = env.client("elbv2").describe_target_groups(TargetGroupArns=[arn])["TargetGroups"]
    return group["HealthCheckIntervalSeconds"]


def test_update_alb_applies_a_changed_health_check_and_keeps_live_color(deployed, capsys):
    env = deployed
    assert interval(env, "blue") == 5
    reconfigure(env, "health", interval_seconds="10")
    env.client("cloudformation").set_stack_policy(StackName="shop-elb",
                                                  StackPolicyBody=OLD_POLICY)
    before = len(env.aws.calls)

    # deploy and swap refuse while the deployed template differs from the config's render
    # (GetTemplate: "CloudFormation returns the same template that was used when the stack was
    # created" — GetTemplate API reference), with no mutating call at all.
    for argv in (("deploy", "--image", "app:v3"), ("swap",)):
        result = env.call(*argv)
        assert result.code == 3, result
        assert "the ALB stack differs from the config: resource BlueTargetGroup differs; " \
               "resource GreenTargetGroup differs; run `stackswap update-alb` first" in result.err
    assert [call for call in env.aws.calls[before:] if call in MUTATING] == []
    status = json.loads(env.run("status", "--json", capsys=capsys).out)
    assert status["alb_differences"] == ["resource BlueTargetGroup differs",
                                         "resource GreenTargetGroup differs"]

    # --dry-run: the change set is made, described ("Replacement ... False" for an in-place
    # change — ResourceChange API reference) and deleted; nothing changes.
    result = env.call("update-alb", "--dry-run")
    assert result.code == 0, result
    assert result.out.splitlines() == [
        "dry run, nothing changed:",
        "update-alb shop-elb:",
        "  modify BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup), in place: "
        "HealthCheckIntervalSeconds",
        "  modify GreenTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup), in place: "
        "HealthCheckIntervalSeconds",
        "  stack policy: set to generator/policies.py's (modify in place, never replace or "
        "delete)"]
    cfn = env.client("cloudformation")
    assert cfn.list_change_sets(StackName="shop-elb")["Summaries"] == []
    assert "ExecuteChangeSet" not in env.aws.calls[before:] and interval(env, "blue") == 5

    requests = Requests().install(env.aws)
    result = env.call("update-alb")
    assert result.code == 0, result
    assert "shop-elb updated; green is live on production :80 with app:v2" in result.out
    assert interval(env, "blue") == 10 and interval(env, "green") == 10
    assert env.parameter("shop-elb", "LiveColor") == "green"
    assert env.forwards(80) == "green" and env.forwards(8080) == "blue"
    # LiveColor and RollbackRelease keep their values: "During a stack update, use the existing
    # parameter value that the stack is using" (Parameter API reference, UsePreviousValue).
    (created,) = requests.of("CreateChangeSet")
    kept = {p["ParameterKey"] for p in created["Parameters"] if p.get("UsePreviousValue")}
    assert kept == {"LiveColor", "RollbackRelease"}
    assert json.loads(cfn.get_stack_policy(StackName="shop-elb")["StackPolicyBody"]) == \
        json.loads(alb_stack_policy_body())
    assert requests.of("ExecuteChangeSet")[0]["ClientRequestToken"].startswith("stackswap-")

    # in step with the config again: nothing to change, and swap goes ahead
    result = env.call("update-alb")
    assert result.code == 0, result
    assert "template and parameters: nothing to change" in result.out
    # only the executed change set is left (CloudFormation keeps it, EXECUTE_COMPLETE)
    assert {s["ExecutionStatus"] for s in cfn.list_change_sets(StackName="shop-elb")[
        "Summaries"]} == {"EXECUTE_COMPLETE"}
    assert json.loads(env.run("status", "--json", capsys=capsys).out)["alb_differences"] == []
    assert env.call("swap", "--to", "blue").code == 0
    assert env.forwards(80) == "blue"


@pytest.mark.parametrize(("section", "key", "value"), [
    ("service", "container_port", "9000"),  # a target group's Port: createOnly, a replacement
])
def test_update_alb_refuses_a_replacement_naming_the_resources(deployed, section, key, value):
    env = deployed
    reconfigure(env, section, **{key: value})
    result = env.call("update-alb")
    assert result.code == 3, result
    # "If the RequiresRecreation field is Always and the Evaluation field is Static,
    # Replacement is True" (ResourceChange API reference).
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("stackswap: update-alb refused: the change would replace "
                           "BlueTargetGroup (AWS::ElasticLoadBalancingV2::TargetGroup) to change "
                           "Port and replace GreenTargetGroup")
    assert "GreenTargetGroup" in line and "nothing was changed" in line
    assert "ExecuteChangeSet" not in env.aws.calls
    assert env.client("cloudformation").list_change_sets(StackName="shop-elb")["Summaries"] == []
    assert env.forwards(80) == "green"


@pytest.mark.parametrize(("key", "port"), [("production_port", 8000), ("test_port", 9000)])
def test_a_port_change_in_the_articles_mode_is_refused_saying_why(deployed, key, port):
    # GroupDescription "Update requires: Replacement" (CloudFormation template reference,
    # AWS::EC2::SecurityGroup), and the article's mode's description names :80 and :8080. A new
    # group would not be the one the tasks admit (the service stacks' task security groups take
    # the ALB's group id), so update-alb refuses it, in one English sentence.
    env = deployed
    text = env.config_path.read_text()
    env.config_path.write_text(text.replace("[service]", f"[listener]\n{key} = {port}\n\n"
                                                         f"[service]"))
    result = env.call("update-alb")
    assert result.code == 3, result
    line = result.err.strip().splitlines()[-1]
    assert line.startswith("stackswap: update-alb refused: the change would replace "
                           "LoadBalancerSecurityGroup (AWS::EC2::SecurityGroup) to change "
                           "GroupDescription, SecurityGroupIngress in shop-elb. CloudFormation "
                           "replaces a security group to change its description"), line
    assert "a stack made in that mode keeps its ports and its mode" in line
    assert "ExecuteChangeSet" not in env.aws.calls
    assert env.forwards(80) == "green"


def test_update_alb_with_nothing_to_change_says_so(deployed):
    result = deployed.call("update-alb")
    assert result.code == 0, result
    assert result.out.splitlines() == [
        "update-alb shop-elb:",
        "  template and parameters: nothing to change (they match the config)"]
    assert "ExecuteChangeSet" not in deployed.aws.calls
    assert "SetStackPolicy" not in deployed.aws.calls


def test_a_changed_config_parameter_is_a_difference_too(deployed):
    reconfigure(deployed, "network", test_cidr='"203.0.113.10/32"')
    result = deployed.call("swap")
    assert result.code == 3
    assert "parameter TestCidr is 127.0.0.0/8, the config says 203.0.113.10/32" in result.err
    # rollback, the emergency path, goes on and says so (docs/update-alb.md)
    result = deployed.call("rollback")
    assert result.code == 0, result
    assert "warning: the ALB stack differs from the config: parameter TestCidr" in result.out
    assert deployed.forwards(80) == "blue"
    # the swap kept every other parameter's previous value
    assert deployed.parameter("shop-elb", "TestCidr") == "127.0.0.0/8"


# --- host mode: the test path is a listener rule -----

def test_host_mode_reads_the_test_rule_with_describe_rules(aws, env, tmp_path):
    # DescribeRules: "Describes the specified rules or the rules for the specified listener";
    # a rule's Actions hold its forward (Rule, ELB API reference).
    create_host_mode_alb(env.client("cloudformation"), aws.ids, live="green")
    config = load_config(host_mode_config(tmp_path / "hosts.toml", aws.ids,
                                          production_url=f'"{env.production.url}"'))
    observed = observe_stacks(env.aws("eu-west-1", None, aws.endpoint), config)
    assert observed.live_color == "green" and observed.test_color == "blue"
    assert observed.drift() == []
    assert "DescribeRules" in env.aws.calls
    # the test smoke request goes to the production URL with the test host (Host and SNI)
    target = smoke_target(config, observed.alb.outputs, production=False)
    assert target == SmokeTarget(env.production.url, "test.shop.example.com")


# --- a test URL nothing answers -----

def closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def test_a_test_listener_that_cannot_be_reached_stops_before_the_swap(deployed, capsys):
    env = deployed
    url = f"http://127.0.0.1:{closed_port()}"
    reconfigure(env, "deploy", test_url=f'"{url}"', smoke_tries="5")
    result = env.call("deploy", "--image", "app:v3")
    assert result.code == 4, result
    line = result.err.strip().splitlines()[-1]
    assert line == (
        f"stackswap: the test :8080 smoke request was not admitted: GET {url}/health -> no "
        f"answer Connection refused (deploy.test_url {url}: check that it reaches the test "
        f"listener); this machine may not be in network.test_cidr 127.0.0.0/8: an "
        f"internet-facing load balancer sees clients by their public address; set "
        f"network.test_cidr to your public address/32 (then `stackswap update-alb`), or set "
        f"deploy.test_url. Production was not touched")
    # two tries, not smoke_tries: a connection that cannot open is not waited out five times
    assert result.err.count("smoke GET") == 2
    assert env.forwards(80) == "green"
    assert "UpdateStack" in env.aws.calls  # blue was updated; the ALB stack was not
    status = json.loads(env.run("status", "--json", capsys=capsys).out)
    assert status["test_url"]["answers"] is False
    assert "Connection refused" in status["test_url"]["detail"]


def test_status_text_shows_the_new_lines(deployed, capsys):
    out = deployed.run("status", capsys=capsys).out
    assert "production :80 -> green" in out and "test :8080 -> blue" in out
    assert f"test URL {deployed.test.url}/health: answers from here (200)" in out
    assert "ALB stack matches the config" in out


def test_private_nlb_dns_name_is_shown(aws):
    # Outputs of the ALB stack are read as they are; a stack with the private NLB's output
    # shows it (the template engineer adds the output, interface.OUTPUT_PRIVATE_DNS_NAME).
    from stackswap.orchestrator.model import Observed, Stack
    from stackswap.orchestrator.output.status import status_document, status_text

    alb = Stack("shop-elb", "CREATE_COMPLETE", {},
                {"PrivateLoadBalancerDnsName": "internal-shop-nlb.elb.amazonaws.com"})
    document = status_document(load_config(aws.config_path), Observed(alb, {}))
    assert document["private_dns_name"] == "internal-shop-nlb.elb.amazonaws.com"
    assert "private NLB: internal-shop-nlb.elb.amazonaws.com" in status_text(document)
