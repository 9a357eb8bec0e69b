"""Least privilege: the deploy role allows exactly the AWS actions the stackswap CLI calls, the
CloudFormation service role exactly what CloudFormation needs for the three stacks, the ALB stack
policy lets a swap through and nothing else, and no template opens :8080 or carries a secret."""

from __future__ import annotations

import dataclasses
import fnmatch
import json
import re
from dataclasses import replace
from pathlib import Path

import cfnlint
import pytest
from cfnlint.api import lint
from stackswap.environment.config import Network, Notify
from stackswap.environment.load import load_config
from stackswap.environment.names import COLORS
from stackswap.generator.deploy_role import (
    EXECUTION_ROLE_ID,
    LEGACY_PROVIDER_PERMISSIONS,
    LOG_GROUP_ID,
    NOT_GRANTED,
    deploy_role_template,
)
from stackswap.generator.policies import alb_stack_policy, alb_stack_policy_body
from stackswap.generator.render import rendered_files
from stackswap.generator.service import TASK_EXECUTION_POLICY

from tests import template_data as templates
from tests.conftest import REPO
from tests.harness import response
from tests.host_mode import create_host_mode_alb, host_mode_config
from tests.test_alb_config import OLD_POLICY

EXAMPLE = load_config(REPO / "stackswap.example.toml")
EC2 = replace(EXAMPLE, service=replace(EXAMPLE.service, launch_type="EC2"))
GITHUB = replace(EXAMPLE, deploy_role=replace(EXAMPLE.deploy_role,
                                              github_repository="octo-org/shop"))
PSEUDO = {"AWS::Partition": "aws", "AWS::Region": "eu-west-1", "AWS::AccountId": "123456789012"}
STACKS = ("shop-elb", "shop-blue", "shop-green")
MODES = {name: templates.mode_config(name) for name in templates.MODES}


# --- reading the rendered roles ---------------------------------------------------------------

def deploy_role_stack(config=EXAMPLE) -> dict:
    return templates.load(rendered_files(config)["deploy-role.yml"])


def substitute(node):
    """Resolve Fn::Sub of pseudo parameters to example values; GetAtt stays as "<Id.Attr>"."""
    if isinstance(node, list):
        return [substitute(item) for item in node]
    if isinstance(node, dict) and set(node) == {"Fn::Sub"}:
        return re.sub(r"\$\{([^}]+)\}", lambda m: PSEUDO[m.group(1)], node["Fn::Sub"])
    if isinstance(node, dict) and set(node) == {"Fn::GetAtt"}:
        return "<{}.{}>".format(*node["Fn::GetAtt"])
    if isinstance(node, dict):
        return {key: substitute(value) for key, value in node.items()}
    return node


def statements(role: str, config=EXAMPLE) -> list[dict]:
    (policy,) = deploy_role_stack(config)["Resources"][role]["Properties"]["Policies"]
    return substitute(policy["PolicyDocument"]["Statement"])


def as_list(value) -> list:
    return value if isinstance(value, list) else [value]


def granted(role: str, config=EXAMPLE) -> set[str]:
    return {action for s in statements(role, config) for action in as_list(s["Action"])}


def matches(pattern: str, value: str) -> bool:
    # IAM wildcards: * any run of characters, ? one character (case-sensitive for ARNs).
    return fnmatch.fnmatchcase(value, pattern)


def allows(role: str, action: str, resource: str, context: dict | None = None,
           config=EXAMPLE) -> bool:
    """Whether an Allow statement of the role's policy covers the request. Conditions must be
    met by `context` ({key: value}); every policy here is Allow-only."""
    for statement in statements(role, config):
        assert statement["Effect"] == "Allow"
        if not any(matches(p.lower(), action.lower()) for p in as_list(statement["Action"])):
            continue
        if not any(matches(p, resource) for p in as_list(statement["Resource"])):
            continue
        conditions = statement.get("Condition", {})
        # A condition with a list of values is met by any of them (IAM's OR within a key).
        if all((context or {}).get(key) in as_list(value)
               for test in conditions.values() for key, value in test.items()):
            return True
    return False


def stack_arn(name: str) -> str:
    return f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/4f1c2e70-0000-11ef-a"


# --- the deploy role against a real CLI run ------------------------------------------------------

class StuckUpdate:
    """The next UpdateStack of `stack` never finishes by itself (CloudFormation reports
    UPDATE_IN_PROGRESS) until CancelUpdateStack, which rolls it back — the deadline path. Like
    FailingUpdate, the update never reaches moto, so the stack keeps its previous state."""

    def __init__(self, env, stack: str) -> None:
        self.cfn, self.stack, self.state = env.client("cloudformation"), stack, "idle"

    def __call__(self, model, params, **kwargs):
        body = params.get("body") or {}
        if not isinstance(body, dict) or body.get("StackName") != self.stack:
            return None
        if model.name == "UpdateStack" and self.state == "idle":
            self.state = "stuck"
            return response({"StackId": self.stack})
        if model.name == "CancelUpdateStack" and self.state == "stuck":
            self.state = "cancelled"
            return response({})
        if model.name == "DescribeStacks" and self.state != "idle":
            (real,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            status = "UPDATE_IN_PROGRESS" if self.state == "stuck" else "UPDATE_ROLLBACK_COMPLETE"
            return response({"Stacks": [{**real, "StackStatus": status}]})
        return None


class FailedRollback:
    """`stack` is UPDATE_ROLLBACK_FAILED until ContinueUpdateRollback, which completes it."""

    def __init__(self, env, stack: str) -> None:
        self.cfn, self.stack, self.continued = env.client("cloudformation"), stack, False

    def __call__(self, model, params, **kwargs):
        body = params.get("body") or {}
        if not isinstance(body, dict) or body.get("StackName") != self.stack:
            return None
        if model.name == "ContinueUpdateRollback":
            self.continued = True
            return response({})
        if model.name == "DescribeStacks":
            (real,) = self.cfn.describe_stacks(StackName=self.stack)["Stacks"]
            status = "UPDATE_ROLLBACK_COMPLETE" if self.continued else "UPDATE_ROLLBACK_FAILED"
            return response({"Stacks": [{**real, "StackStatus": status}]})
        return None


@pytest.fixture
def cycle(env, aws, capsys):
    """A whole life of an environment through the CLI, with a CloudWatch alarm configured:
    first run, a deploy, rollback, swap, status, a dry run, a linear traffic shift, retire, a
    rollback to the retired colour, a deploy whose update hits its
    deadline and is cancelled, and a recover of a stack whose rollback failed. Returns the
    config it ran with and every IAM action the CLI called."""
    text = env.config_path.read_text()
    # deploy.notify: the run publishes to the SNS topic (the webhook needs no permission)
    topic = env.client("sns").create_topic(Name="shop-deploys")["TopicArn"]
    env.config_path.write_text(text.replace("[deploy]\n", '[deploy]\nalarms = ["shop-5xx"]\n')
                               + f'\n[deploy.notify]\nsns_topic_arn = "{topic}"\n')
    env.client("cloudwatch").put_metric_alarm(
        AlarmName="shop-5xx", MetricName="HTTPCode_Target_5XX_Count",
        Namespace="AWS/ApplicationELB", Statistic="Sum", Period=60, EvaluationPeriods=1,
        Threshold=1, ComparisonOperator="GreaterThanOrEqualToThreshold")
    config = load_config(env.config_path)
    assert config.deploy.alarms == ("shop-5xx",)
    # An ECR image: the CLI checks that it exists before deploying it.
    env.client("ecr").create_repository(repositoryName="app")
    env.client("ecr").put_image(repositoryName="app", imageTag="v2", imageManifest=json.dumps(
        {"schemaVersion": 2, "mediaType": "application/vnd.docker.distribution.manifest.v2+json",
         "config": {"digest": "sha256:" + "0" * 64, "size": 1,
                    "mediaType": "application/vnd.docker.container.image.v1+json"},
         "layers": []}))
    ecr_image = "123456789012.dkr.ecr.eu-west-1.amazonaws.com/app:v2"
    for argv in [("deploy", "--image", "app:v1"), ("deploy", "--image", ecr_image),
                 ("rollback",), ("swap",), ("status", "--json"),
                 ("deploy", "--image", "app:v3", "--dry-run"), ("diff", "--image", "app:v3"),
                 # a linear shift to blue, green retired, and a rollback that restores it
                 ("deploy", "--image", "app:v4", "--strategy", "linear"), ("retire",),
                 ("rollback",)]:
        result = env.run(*argv, capsys=capsys)
        assert result.code == 0, (argv, result)
    # green is live now; the next deploy updates blue, and that update never finishes.
    stuck = StuckUpdate(env, "shop-blue")
    env.aws.hooks.append(("before-call.cloudformation.*", stuck))
    result = env.run("deploy", "--image", "app:v3", capsys=capsys)
    assert result.code == 4, result
    assert stuck.state == "cancelled" and "cancelling the update" in result.err
    assert env.forwards(80) == "green"
    env.aws.hooks.remove(("before-call.cloudformation.*", stuck))
    failed = FailedRollback(env, "shop-blue")
    env.aws.hooks.append(("before-call.cloudformation.*", failed))
    result = env.run("recover", capsys=capsys)
    assert result.code == 0, result
    assert failed.continued
    env.aws.hooks.remove(("before-call.cloudformation.*", failed))
    # update-alb: a changed health check, on a stack with an earlier stackswap's stack policy
    env.client("cloudformation").set_stack_policy(StackName="shop-elb",
                                                  StackPolicyBody=OLD_POLICY)
    env.config_path.write_text(env.config_path.read_text().replace(
        "[health]\n", "[health]\ninterval_seconds = 10\n"))
    for argv in (("update-alb", "--dry-run"), ("update-alb",)):
        result = env.run(*argv, capsys=capsys)
        assert result.code == 0, (argv, result)
    # test_mode "host": the test rule is read with DescribeRules (any command that plans)
    create_host_mode_alb(env.client("cloudformation"), aws.ids)
    result = env.call("recover", "--config", str(host_mode_config(
        env.config_path.parent / "hosts.toml", aws.ids)), config=False)
    assert result.code == 0, result
    return config, set(env.aws.actions)


def test_deploy_role_allows_exactly_the_actions_the_cli_calls(cycle):
    config, cli_actions = cycle
    policy = granted("DeployRole", config)
    # iam:PassRole is not an API call: CloudFormation checks it when a RoleARN is passed.
    policy.discard("iam:PassRole")
    # Nor are the reads CloudFormation makes to validate AWS-specific parameter types
    # (test_both_roles_may_read_what_parameter_type_validation_needs).
    policy -= {"ec2:DescribeVpcs", "ec2:DescribeSubnets", "ec2:DescribeSecurityGroups"}
    assert {"cloudformation:CreateStack", "cloudformation:UpdateStack",
            "cloudformation:CancelUpdateStack", "cloudformation:ExecuteChangeSet",
            "cloudformation:SetStackPolicy", "elasticloadbalancing:DescribeRules"} <= cli_actions
    assert cli_actions - policy == set(), "the CLI calls actions the deploy role lacks"
    assert policy - cli_actions == set(), "the deploy role grants actions the CLI never calls"


def test_no_wildcard_actions_and_no_not_action():
    for role in ("DeployRole", "CloudFormationRole"):
        for statement in statements(role):
            assert "NotAction" not in statement and "NotResource" not in statement
            for action in as_list(statement["Action"]):
                assert "*" not in action and "?" not in action, (role, action)


def test_pass_role_appears_once_on_the_cloudformation_role_to_cloudformation_only():
    passing = [s for s in statements("DeployRole") if "iam:PassRole" in as_list(s["Action"])]
    assert len(passing) == 1
    (statement,) = passing
    assert as_list(statement["Action"]) == ["iam:PassRole"]
    assert statement["Resource"] == ["<CloudFormationRole.Arn>"]
    assert statement["Condition"] == {
        "StringEquals": {"iam:PassedToService": "cloudformation.amazonaws.com"}}


def test_stack_changes_are_scoped_to_the_three_stacks_of_the_environment():
    expected = {f"arn:aws:cloudformation:eu-west-1:123456789012:stack/{name}/*"
                for name in STACKS}
    for statement in statements("DeployRole"):
        cloudformation = [a for a in as_list(statement["Action"])
                          if a.startswith("cloudformation:")]
        if cloudformation and statement["Sid"] == "UpdateTheAlbStackFromTheConfig":
            assert statement["Resource"] == [stack_arn("shop-elb")[:-len("4f1c2e70-0000-11ef-a")]
                                             + "*"], statement
        elif cloudformation and statement["Sid"] == "PreviewTheServiceStacks":
            assert set(statement["Resource"]) == expected - {
                stack_arn("shop-elb")[:-len("4f1c2e70-0000-11ef-a")] + "*"}, statement
        elif cloudformation:
            assert set(statement["Resource"]) == expected, statement
    for action in ("CreateStack", "UpdateStack", "CancelUpdateStack", "DescribeStacks"):
        for name in STACKS:
            assert allows("DeployRole", f"cloudformation:{action}", stack_arn(name))
        # Another environment whose name merely starts with ours, another stack, the role stack.
        for other in ("shop-staging-elb", "shop-blue-2", "billing-elb", "shop-deploy-role"):
            assert not allows("DeployRole", f"cloudformation:{action}", stack_arn(other))
    # Nothing that deletes stacks or changes their protection.
    for action in ("DeleteStack", "UpdateTerminationProtection"):
        assert not allows("DeployRole", f"cloudformation:{action}", stack_arn("shop-elb"))
    # `update-alb` changes the ALB stack through a change set and its stack policy: that stack
    # only, never a service stack.
    for action in ("ExecuteChangeSet", "SetStackPolicy", "GetTemplate"):
        assert allows("DeployRole", f"cloudformation:{action}", stack_arn("shop-elb"))
        for other in ("shop-blue", "shop-green", "shop-staging-elb", "shop-deploy-role"):
            assert not allows("DeployRole", f"cloudformation:{action}", stack_arn(other))
    # `diff` previews every stack of the environment through change sets it never executes.
    for action in ("CreateChangeSet", "DescribeChangeSet", "DeleteChangeSet"):
        for name in STACKS:
            assert allows("DeployRole", f"cloudformation:{action}", stack_arn(name))
        for other in ("shop-staging-elb", "shop-blue-2", "shop-deploy-role"):
            assert not allows("DeployRole", f"cloudformation:{action}", stack_arn(other))


def test_deploy_role_reads_services_of_its_cluster_only():
    service = "arn:aws:ecs:eu-west-1:123456789012:service/{}/shop-blue-Service-AbC"
    assert allows("DeployRole", "ecs:DescribeServices", service.format("shop"))
    assert not allows("DeployRole", "ecs:DescribeServices", service.format("payments"))


def test_deploy_role_trusts_the_account_and_github_only_when_configured():
    def trust(config) -> list[dict]:
        role = deploy_role_stack(config)["Resources"]["DeployRole"]["Properties"]
        return substitute(role["AssumeRolePolicyDocument"]["Statement"])

    (account,) = trust(EXAMPLE)
    assert account["Principal"] == {"AWS": "arn:aws:iam::123456789012:root"}
    assert account["Action"] == ["sts:AssumeRole"] and "Condition" not in account
    account, github = trust(GITHUB)
    assert github["Principal"] == {"Federated": "arn:aws:iam::123456789012:oidc-provider/"
                                                 "token.actions.githubusercontent.com"}
    assert github["Action"] == ["sts:AssumeRoleWithWebIdentity"]
    assert github["Condition"] == {
        "StringEquals": {"token.actions.githubusercontent.com:aud": "sts.amazonaws.com"},
        "StringLike": {"token.actions.githubusercontent.com:sub": [
            "repo:octo-org/shop:ref:refs/heads/main", "repo:octo-org/shop:environment:production"]}}


def test_github_trust_names_the_runs_the_config_names_never_every_ref():
    # GitHub's OIDC `sub` claim is "repo:OWNER/REPO:" then the ref, environment or
    # pull_request of the job (GitHub docs, "About security hardening with OpenID Connect",
    # example subject claims); `repo:OWNER/REPO:*` would let any branch or pull request deploy.
    config = dataclasses.replace(GITHUB, deploy_role=dataclasses.replace(
        GITHUB.deploy_role, github_subjects=("environment:prod-eu", "ref:refs/tags/v*")))
    role = deploy_role_stack(config)["Resources"]["DeployRole"]["Properties"]
    _, github = substitute(role["AssumeRolePolicyDocument"]["Statement"])
    assert github["Condition"]["StringLike"] == {"token.actions.githubusercontent.com:sub": [
        "repo:octo-org/shop:environment:prod-eu", "repo:octo-org/shop:ref:refs/tags/v*"]}


def test_outputs_are_both_role_arns():
    outputs = deploy_role_stack()["Outputs"]
    assert {key: value["Value"] for key, value in outputs.items()} == {
        "CloudFormationRoleArn": {"Fn::GetAtt": ["CloudFormationRole", "Arn"]},
        "DeployRoleArn": {"Fn::GetAtt": ["DeployRole", "Arn"]}}


def test_cloudformation_role_is_for_cloudformation_only():
    role = deploy_role_stack()["Resources"]["CloudFormationRole"]["Properties"]
    (trust,) = role["AssumeRolePolicyDocument"]["Statement"]
    assert trust["Principal"] == {"Service": "cloudformation.amazonaws.com"}


# --- the CloudFormation role against the resource providers' own permission lists ---------------

def provider_permissions(resource_type: str) -> set[str]:
    """The permissions CloudFormation's resource provider declares for create, read, update and
    delete (from the resource schemas cfn-lint ships). A legacy type whose schema declares no
    handlers (ListenerCertificate) is read from LEGACY_PROVIDER_PERMISSIONS, which says where
    its list comes from."""
    base = Path(cfnlint.__file__).parent / "data" / "schemas"
    index = json.loads((base / "providers" / "eu-west-1.json").read_text())
    schema = json.loads((base / "resources" / f"{index[resource_type]}.json").read_text())
    if "handlers" not in schema:
        return set(LEGACY_PROVIDER_PERMISSIONS[resource_type])
    handlers = schema["handlers"]
    return {p for h in ("create", "read", "update", "delete") for p in handlers[h]["permissions"]}


def stack_resources(config) -> dict[str, dict]:
    resources = {}
    for name in ("elb.yml", *(f"{color}.yml" for color in COLORS)):
        for logical_id, resource in templates.load(rendered_files(config)[name])[
                "Resources"].items():
            resources[f"{name}:{logical_id}"] = resource
    return resources


# What CloudFormation reads to validate an AWS-specific parameter type's value ("anyone who
# uses your template must specify valid values from the AWS account and Region they're creating
# the stack in": CloudFormation User Guide, "Specify existing resources at runtime with
# CloudFormation-supplied parameter types").
VALIDATION_READS = {"AWS::EC2::VPC::Id": "ec2:DescribeVpcs",
                    "List<AWS::EC2::Subnet::Id>": "ec2:DescribeSubnets",
                    "AWS::EC2::SecurityGroup::Id": "ec2:DescribeSecurityGroups"}


def parameter_types(config) -> set[str]:
    types = set()
    for name in ("elb.yml", *(f"{color}.yml" for color in COLORS)):
        parameters = templates.load(rendered_files(config)[name])["Parameters"]
        types |= {parameter["Type"] for parameter in parameters.values()}
    return types


CONFIGS = {"fargate": EXAMPLE, "ec2": EC2, **MODES}


@pytest.mark.parametrize("name", CONFIGS)
def test_cloudformation_role_grants_what_the_resource_providers_need_and_no_more(name):
    # Each mode's role holds exactly what that mode's resources need: a rule, a listener
    # certificate or the NLB's target registration only where the template has one.
    config = CONFIGS[name]
    needed = {VALIDATION_READS[kind] for kind in parameter_types(config) if kind.startswith(
        ("AWS::", "List<AWS::"))}
    for resource in stack_resources(config).values():
        needed |= provider_permissions(resource["Type"])
    role = granted("CloudFormationRole", config)
    assert needed - role - set(NOT_GRANTED) == set(), "permissions the providers need"
    assert role - needed == set(), "permissions no resource provider of the stacks uses"
    # A NOT_GRANTED permission is granted exactly when the template uses its feature.
    used = features_in_use(stack_resources(config))
    for permission, feature in FEATURE_OF.items():
        assert (permission in role) is (feature in used), (permission, feature)
    assert (set(NOT_GRANTED) - set(FEATURE_OF)) & role == set()


# NOT_GRANTED permissions some templates need, and the feature of the rendered stacks that needs
# each: the NLB's target group lists the ALB as a target (RegisterTargets); a log group has a
# KmsKeyId, which the AWS::Logs::LogGroup provider's update handler sets with AssociateKmsKey
# and removes with DisassociateKmsKey.
FEATURE_OF = {
    "elasticloadbalancing:RegisterTargets": "target group Targets",
    "elasticloadbalancing:DeregisterTargets": "target group Targets",
    "logs:AssociateKmsKey": "log group KmsKeyId",
    "logs:DisassociateKmsKey": "log group KmsKeyId",
    "iam:PutRolePolicy": "role Policies",
}


def features_in_use(resources: dict) -> set[str]:
    used = set()
    for resource in resources.values():
        properties = resource.get("Properties", {})
        if resource["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup" and "Targets" in \
                properties:
            used.add("target group Targets")
        if resource["Type"] == "AWS::Logs::LogGroup" and "KmsKeyId" in properties:
            used.add("log group KmsKeyId")
        if resource["Type"] == "AWS::IAM::Role" and "Policies" in properties:
            used.add("role Policies")
    return used


def test_sns_publish_only_with_a_topic_and_only_on_that_topic():
    topic = "arn:aws:sns:eu-west-1:123456789012:shop-deploys"
    assert not allows("DeployRole", "sns:Publish", topic)
    config = replace(EXAMPLE, deploy=replace(EXAMPLE.deploy,
                                             notify=Notify(sns_topic_arn=topic)))
    assert allows("DeployRole", "sns:Publish", topic, config=config)
    assert not allows("DeployRole", "sns:Publish", topic + "-other", config=config)
    assert not allows("CloudFormationRole", "sns:Publish", topic, config=config)


def test_kms_key_permissions_only_with_a_key_and_only_on_the_environments_log_groups():
    config = MODES["https-port-logs-kms"]
    log_group = "arn:aws:logs:eu-west-1:123456789012:log-group:{}"
    for action in ("logs:AssociateKmsKey", "logs:DisassociateKmsKey"):
        assert allows("CloudFormationRole", action,
                      log_group.format("shop-blue-LogGroup-9Z8Y"), config=config)
        assert not allows("CloudFormationRole", action,
                          log_group.format("billing-blue-LogGroup-9Z8Y"), config=config)
        assert not allows("CloudFormationRole", action, log_group.format("shop-blue-LogGroup-9Z8Y"))
    # CloudWatch Logs uses the key as its own service principal (the key policy allows it):
    # neither role holds a kms: permission.
    for role in ("CloudFormationRole", "DeployRole"):
        assert not [a for a in granted(role, config) if a.startswith("kms:")], role


def test_not_granted_entries_are_all_needed_somewhere():
    needed = set()
    for config in CONFIGS.values():
        for resource in stack_resources(config).values():
            needed |= provider_permissions(resource["Type"])
    assert set(NOT_GRANTED) - needed == set(), "stale NOT_GRANTED entries"


def test_target_registration_only_with_the_private_nlb():
    # The colours' target groups list no Targets (ECS registers tasks); only the NLB's target
    # group of type alb lists one, the ALB, and only then may CloudFormation register it.
    for name, config in CONFIGS.items():
        role = granted("CloudFormationRole", config)
        assert ("elasticloadbalancing:RegisterTargets" in role) is config.network.private_nlb, name
    group = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:targetgroup/shop-Priva-1/ab"
    assert allows("CloudFormationRole", "elasticloadbalancing:RegisterTargets", group,
                  config=MODES["https-host-private"])
    nlb = "arn:aws:elasticloadbalancing:eu-west-1:123456789012:loadbalancer/net/shop-Priva/ab"
    assert allows("CloudFormationRole", "elasticloadbalancing:CreateLoadBalancer", nlb,
                  config=MODES["https-host-private"])
    assert not allows("CloudFormationRole", "elasticloadbalancing:CreateLoadBalancer", nlb)


@pytest.mark.parametrize("name", CONFIGS)
def test_both_roles_may_read_what_parameter_type_validation_needs(name):
    # The docs do not say whose credentials CloudFormation validates with (the caller's or the
    # service role's): both roles hold the reads, on "*" (EC2 Describe* take no resource).
    config = CONFIGS[name]
    expected = {VALIDATION_READS[kind] for kind in parameter_types(config)
                if kind in VALIDATION_READS}
    assert {"ec2:DescribeVpcs", "ec2:DescribeSubnets"} <= expected
    assert ("ec2:DescribeSecurityGroups" in expected) is (config.service.launch_type == "FARGATE")
    (validation,) = [s for s in statements("DeployRole", config)
                     if s.get("Sid") == "CloudFormationValidatesParameterTypes"]
    assert set(as_list(validation["Action"])) == expected and validation["Resource"] == ["*"]
    for read in expected:
        assert allows("CloudFormationRole", read, "*", config=config), read


def test_features_behind_not_granted_permissions_are_unused():
    for config in CONFIGS.values():
        for name, resource in stack_resources(config).items():
            properties = resource.get("Properties", {})
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::TargetGroup":
                # Only the private NLB's group lists a target (RegisterTargets, granted then).
                assert ("Targets" in properties) is name.endswith(":PrivateTargetGroup"), name
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::LoadBalancer":
                assert not {"IpAddressType", "MinimumLoadBalancerCapacity",
                            "Ipv4IpamPoolId"} & set(properties), name
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::Listener":
                assert {a["Type"] for a in properties["DefaultActions"]} <= {
                    "forward", "redirect"}, name
            if resource["Type"] == "AWS::ElasticLoadBalancingV2::ListenerRule":
                assert {a["Type"] for a in properties["Actions"]} <= {
                    "forward", "fixed-response"}, name
            if resource["Type"] == "AWS::IAM::Role":
                # Only the execution role has an inline policy, and only with secrets.
                assert "PermissionsBoundary" not in properties, name
                assert ("Policies" in properties) is (
                    name.endswith(":ExecutionRole") and bool(config.service.secrets)), name
            if resource["Type"] == "AWS::ApplicationAutoScaling::ScalableTarget":
                assert not {"RoleARN", "ScheduledActions"} & set(properties), name
            if resource["Type"] == "AWS::Logs::LogGroup":
                optional = {"KmsKeyId"} if config.service.log_kms_key_arn else set()
                assert set(properties) <= {"RetentionInDays", "Tags"} | optional, name


def test_generated_names_the_role_is_scoped_to():
    # The role names the execution roles and log groups by the names CloudFormation generates,
    # `<stack>-<logical id>-<random>`: that holds only while they have no fixed name.
    for config in (EXAMPLE, EC2):
        for color in COLORS:
            resources = templates.load(rendered_files(config)[f"{color}.yml"])["Resources"]
            roles = {k: r for k, r in resources.items() if r["Type"] == "AWS::IAM::Role"}
            groups = {k: r for k, r in resources.items() if r["Type"] == "AWS::Logs::LogGroup"}
            assert list(roles) == [EXECUTION_ROLE_ID] and list(groups) == [LOG_GROUP_ID]
            assert "RoleName" not in roles[EXECUTION_ROLE_ID]["Properties"]
            assert "LogGroupName" not in groups[LOG_GROUP_ID]["Properties"]
            assert roles[EXECUTION_ROLE_ID]["Properties"]["ManagedPolicyArns"] == [
                TASK_EXECUTION_POLICY]
    role = "arn:aws:iam::123456789012:role/{}"
    for color in COLORS:
        mine = role.format(f"shop-{color}-ExecutionRole-1A2B3C4D5E6F")
        assert allows("CloudFormationRole", "iam:CreateRole", mine)
        assert allows("CloudFormationRole", "iam:PassRole", mine,
                      {"iam:PassedToService": "ecs-tasks.amazonaws.com"})
        assert not allows("CloudFormationRole", "iam:PassRole", mine,
                          {"iam:PassedToService": "ec2.amazonaws.com"})
        assert allows("CloudFormationRole", "iam:AttachRolePolicy", mine,
                      {"iam:PolicyARN": TASK_EXECUTION_POLICY})
        assert not allows("CloudFormationRole", "iam:AttachRolePolicy", mine,
                          {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"})
    for other in ("shop-staging-blue-ExecutionRole-X", "admin", "shop-elb-ExecutionRole-X"):
        assert not allows("CloudFormationRole", "iam:CreateRole", role.format(other))
    log_group = "arn:aws:logs:eu-west-1:123456789012:log-group:{}:*"
    assert allows("CloudFormationRole", "logs:DeleteLogGroup",
                  log_group.format("shop-green-LogGroup-9Z8Y"))
    assert not allows("CloudFormationRole", "logs:DeleteLogGroup",
                      log_group.format("shop-staging-green-LogGroup-9Z8Y"))


def test_security_groups_only_in_the_vpc_of_the_config():
    group = "arn:aws:ec2:eu-west-1:123456789012:security-group/sg-0a1b2c3d"
    vpc = f"arn:aws:ec2:eu-west-1:123456789012:vpc/{EXAMPLE.network.vpc_id}"
    assert allows("CloudFormationRole", "ec2:CreateSecurityGroup", vpc)
    assert not allows("CloudFormationRole", "ec2:CreateSecurityGroup",
                      "arn:aws:ec2:eu-west-1:123456789012:vpc/vpc-0fffffffffffffff0")
    assert allows("CloudFormationRole", "ec2:DeleteSecurityGroup", group, {"ec2:Vpc": vpc})
    assert not allows("CloudFormationRole", "ec2:DeleteSecurityGroup", group,
                      {"ec2:Vpc": vpc.replace("0123", "0999")})


def test_inline_policies_fit_iams_size_limit():
    # IAM: at most 10,240 characters (whitespace not counted) of inline policy per role, once
    # the ARNs are substituted; the longest partition, region and account id make the margin.
    for role in ("DeployRole", "CloudFormationRole"):
        document = json.dumps({"Version": "2012-10-17", "Statement": statements(role, GITHUB)},
                              separators=(",", ":"))
        document = document.replace("arn:aws:", "arn:aws-iso-b:")
        document = document.replace("eu-west-1", "ap-southeast-7")
        assert len(document) < 10240 * 0.8, role


def test_a_github_variant_lints_clean():
    for config in (GITHUB, EC2):
        text = rendered_files(config)["deploy-role.yml"]
        assert lint(text) == []


def test_role_stack_refuses_another_region():
    (rule,) = deploy_role_stack()["Rules"].values()
    (assertion,) = rule["Assertions"]
    assert assertion["Assert"] == {"Fn::Equals": [{"Ref": "AWS::Region"}, "eu-west-1"]}
    assert lint(deploy_role_template(replace(EXAMPLE, region="us-east-2")).to_yaml()) == []


# --- :8080 and secrets --------------------------------------------------------------------------

def test_test_listener_is_not_open_to_the_world_by_default():
    assert Network("vpc-0123456789abcdef0", ("a", "b")).test_cidr is None  # the config says
    assert EXAMPLE.network.test_cidr == "10.0.0.0/8"
    alb = templates.load(rendered_files(EXAMPLE)["elb.yml"])
    assert "Default" not in alb["Parameters"]["TestCidr"]
    rules = alb["Resources"]["LoadBalancerSecurityGroup"]["Properties"]["SecurityGroupIngress"]
    (test,) = [r for r in rules if r["FromPort"] <= 8080 <= r["ToPort"]]
    assert test["CidrIp"] == {"Ref": "TestCidr"}


def test_the_cli_opens_8080_to_the_configured_cidr_only(env):
    assert env.run("deploy", "--image", "app:v1").code == 0
    assert env.parameter("shop-elb", "TestCidr") == "127.0.0.0/8"  # the test config's value
    (group,) = [g for g in env.client("ec2").describe_security_groups()["SecurityGroups"]
                if any(p.get("FromPort") == 8080 for p in g["IpPermissions"])]
    (rule,) = [p for p in group["IpPermissions"] if p.get("FromPort") == 8080]
    assert [r["CidrIp"] for r in rule["IpRanges"]] == ["127.0.0.0/8"]


SECRET = re.compile(r"(?:A3T[A-Z0-9]|AKIA|ASIA|AGPA|AIDA|AROA|ANPA)[A-Z0-9]{16}"
                    r"|aws_secret_access_key|aws_session_token"
                    r"|(?<![A-Za-z0-9/+=])[A-Za-z0-9/+=]{40}(?![A-Za-z0-9/+=])", re.IGNORECASE)


@pytest.mark.parametrize("config", [EXAMPLE, EC2, GITHUB], ids=["fargate", "ec2", "github"])
def test_no_template_carries_anything_secret(config):
    for name, text in rendered_files(config).items():
        assert SECRET.findall(text) == [], name
    for path in (REPO / "templates").iterdir():
        assert SECRET.findall(path.read_text()) == [], path.name


# --- the ALB stack policy -----------------------------------------------------------------------

def stack_policy_permits(action: str, logical_id: str) -> bool:
    """CloudFormation's evaluation: an explicit Deny wins, then an Allow, else denied."""
    def covers(statement) -> bool:
        if not any(matches(a, action) for a in as_list(statement["Action"])):
            return False
        resource = f"LogicalResourceId/{logical_id}"
        if "NotResource" in statement:
            return not any(matches(r, resource) for r in as_list(statement["NotResource"]))
        return any(matches(r, resource) for r in as_list(statement["Resource"]))

    effects = {s["Effect"] for s in alb_stack_policy()["Statement"] if covers(s)}
    return "Deny" not in effects and "Allow" in effects


@pytest.mark.parametrize("name", MODES)
def test_alb_stack_policy_allows_modifying_and_refuses_replacing_or_deleting_anything(name):
    # "After you set a stack policy, all of the resources in the stack are protected by default.
    # To allow updates on specific resources, you specify an explicit Allow statement" and an
    # explicit Deny wins (CloudFormation User Guide, "Prevent updates to stack resources"). A
    # swap and update-alb modify in place; a change that would replace or remove a load
    # balancer, target group, listener, rule or the security group must fail.
    alb = templates.load(rendered_files(MODES[name])["elb.yml"])
    for logical_id in alb["Resources"]:
        assert stack_policy_permits("Update:Modify", logical_id), logical_id
        for action in ("Update:Replace", "Update:Delete"):
            assert not stack_policy_permits(action, logical_id), (action, logical_id)


def test_alb_stack_policy_shape():
    policy = alb_stack_policy()
    assert set(policy) == {"Statement"}
    for statement in policy["Statement"]:
        assert statement["Principal"] == "*"
        assert set(statement) <= {"Effect", "Principal", "Action", "Resource", "NotResource"}
        assert all(a.startswith("Update:") for a in as_list(statement["Action"]))
    # The committed JSON is what the function returns, and what StackPolicyBody will carry.
    assert json.loads(rendered_files(EXAMPLE)["alb-stack-policy.json"]) == policy
    assert json.loads(alb_stack_policy_body()) == policy


def test_with_alarms_both_roles_read_every_alarm_so_composite_ones_work_as_triggers():
    # CloudFormation watches rollback triggers, metric or composite ("Specify either
    # AWS::CloudWatch::Alarm or AWS::CloudWatch::CompositeAlarm", RollbackTrigger API reference),
    # under the service role when a RoleARN is passed; DescribeAlarms returns composite alarms
    # only to "the cloudwatch:DescribeAlarms permission that is scoped to *" (DescribeAlarms API
    # reference). The AWS docs name no permission for trigger monitoring itself: granting the
    # read is the safe side (docs/security.md).
    config = dataclasses.replace(EXAMPLE, deploy=dataclasses.replace(
        EXAMPLE.deploy, alarms=("shop-5xx", "shop-slo")))
    for role in ("DeployRole", "CloudFormationRole"):
        (read,) = [s for s in statements(role, config) if s.get("Sid") == "ReadTheAlarms"]
        assert (as_list(read["Action"]), read["Resource"]) == (["cloudwatch:DescribeAlarms"],
                                                               ["*"]), role
        assert not [s for s in statements(role) if s.get("Sid") == "ReadTheAlarms"]


def test_the_deploy_role_reads_scalable_targets_only_with_autoscaling():
    # `status` reads each colour's scalable target (DescribeScalableTargets, a Describe call on
    # "*") only when the config has service.autoscaling; the cycle above has none.
    full = MODES["http-port-full-task"]
    assert "application-autoscaling:DescribeScalableTargets" in granted("DeployRole", full)
    assert "application-autoscaling:DescribeScalableTargets" not in granted("DeployRole")


def test_secrets_task_role_and_scaling_permissions_are_scoped():
    full = MODES["http-port-full-task"]
    role = "arn:aws:iam::123456789012:role/{}"
    policy = "arn:aws:iam::aws:policy/AmazonS3ReadOnlyAccess"
    task_role = role.format("shop-blue-TaskRole-1A2B")
    assert allows("CloudFormationRole", "iam:AttachRolePolicy", task_role,
                  {"iam:PolicyARN": policy}, config=full)
    assert not allows("CloudFormationRole", "iam:AttachRolePolicy", task_role,
                      {"iam:PolicyARN": "arn:aws:iam::aws:policy/AdministratorAccess"},
                      config=full)
    assert allows("CloudFormationRole", "iam:PutRolePolicy",
                  role.format("shop-green-ExecutionRole-9Z"), config=full)
    assert not allows("CloudFormationRole", "iam:PutRolePolicy",
                      role.format("shop-green-ExecutionRole-9Z"))
    assert allows("CloudFormationRole", "cloudwatch:PutMetricAlarm",
                  "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:TargetTracking-service/"
                  "shop/shop-blue-Service-X-AlarmHigh-1", config=full)
    assert not allows("CloudFormationRole", "cloudwatch:PutMetricAlarm",
                      "arn:aws:cloudwatch:eu-west-1:123456789012:alarm:shop-5xx", config=full)
    linked = ("arn:aws:iam::123456789012:role/aws-service-role/ecs.application-autoscaling."
              "amazonaws.com/AWSServiceRoleForApplicationAutoScaling_ECSService")
    assert allows("CloudFormationRole", "iam:CreateServiceLinkedRole", linked,
                  {"iam:AWSServiceName": "ecs.application-autoscaling.amazonaws.com"},
                  config=full)
    assert not allows("CloudFormationRole", "iam:CreateServiceLinkedRole", linked)
