"""The deploy-role stack (`templates/deploy-role.yml`): least privilege for one environment.

Two roles, the CloudFormation *service role* model:

- `CloudFormationRole` is assumed by CloudFormation only. It holds the permissions to create,
  update and delete the resources of the environment's three stacks, and nothing else.
- `DeployRole` is what the `stackswap` CLI runs as. It may call exactly the AWS actions the
  orchestrator calls (`DEPLOY_ACTIONS`, checked against a recorded CLI run by
  tests/test_deploy_role.py), change only the three stacks of this environment, and pass only
  the CloudFormation role, only to CloudFormation. It cannot create a load balancer, a role or a
  service itself — whoever holds it can only ask CloudFormation to run one of the three stacks.

Where IAM allows it, the CloudFormation role is scoped to this environment: the VPC of the config
for security groups, the config's cluster and task-definition family for ECS, and the names
CloudFormation generates for the service stacks' execution roles and log groups
(`<name>-<colour>-<LogicalId>-<random>`). The exact resource-provider permissions this is drawn
from, and the ones deliberately left out (`NOT_GRANTED`), are checked against the resource
schemas shipped with cfn-lint by tests/test_deploy_role.py.
"""

from __future__ import annotations

from awacs.aws import (
    Action,
    Allow,
    ArnEquals,
    Condition,
    PolicyDocument,
    Principal,
    Statement,
    StringEquals,
    StringLike,
)
from stackswap.environment.config import Config
from stackswap.environment.names import COLORS, lock_parameter_name
from stackswap.generator.elb import alb_template, tags
from stackswap.generator.service import TASK_EXECUTION_POLICY, service_template
from troposphere import Equals, GetAtt, Output, Ref, Sub, Template, iam

OUTPUT_CLOUDFORMATION_ROLE = "CloudFormationRoleArn"
OUTPUT_DEPLOY_ROLE = "DeployRoleArn"
GITHUB_OIDC = "token.actions.githubusercontent.com"

# Logical ids of the service stacks' resources whose names CloudFormation generates as
# `<stack name>-<logical id>-<random>`: the role can name them by prefix (tests check that the
# service templates still use these ids).
EXECUTION_ROLE_ID = "ExecutionRole"
LOG_GROUP_ID = "LogGroup"
TASK_ROLE_ID = "TaskRole"  # only with service.task_role_policy_arns

ARN = "arn:${AWS::Partition}"
HERE = "${AWS::Region}:${AWS::AccountId}"

# --- the deploy role: what orchestrator/aws.py calls ------------------------------------------

# Every action the stackswap CLI calls, grouped by how IAM lets it be scoped. Keep this equal to
# the calls in orchestrator/aws.py: tests/test_deploy_role.py runs the CLI and compares.
# GetStackPolicy: `status` says when the ALB stack has no stack policy.
STACK_READS = ("cloudformation:DescribeStacks", "cloudformation:DescribeStackEvents",
               "cloudformation:GetStackPolicy")
STACK_CHANGES = ("cloudformation:CreateStack", "cloudformation:UpdateStack",
                 "cloudformation:CancelUpdateStack", "cloudformation:ContinueUpdateRollback")
# The ALB stack only: deploy, swap, rollback and status compare its template with the config's
# render (GetTemplate); `update-alb` applies the render through a change set and sets the stack
# policy when it differs. Each takes the stack as its resource (Service Authorization Reference,
# CloudFormation: "stack*").
ALB_STACK_ACTIONS = ("cloudformation:GetTemplate", "cloudformation:CreateChangeSet",
                     "cloudformation:DescribeChangeSet", "cloudformation:DeleteChangeSet",
                     "cloudformation:ExecuteChangeSet", "cloudformation:SetStackPolicy")
# The service stacks: `stackswap diff` (and `deploy --dry-run`) previews an update through a
# change set it creates, describes and deletes — never executes.
SERVICE_STACK_PREVIEW = ("cloudformation:CreateChangeSet", "cloudformation:DescribeChangeSet",
                         "cloudformation:DeleteChangeSet")
SERVICE_READS = ("ecs:DescribeServices",)
# The deploy lock, one SSM parameter (orchestrator/lock.py).
LOCK_ACTIONS = ("ssm:GetParameter", "ssm:PutParameter", "ssm:DeleteParameter")
# Only when the config names alarms (deploy.alarms): read those alarms, nothing else.
ALARM_READS = ("cloudwatch:DescribeAlarms",)
# No resource-level permissions exist for the first three (IAM requires "*"). DescribeImages
# checks that an ECR image exists before a deploy; the repository can be any, in any account.
UNSCOPED_READS = ("ecs:DescribeTaskDefinition", "elasticloadbalancing:DescribeListeners",
                  "elasticloadbalancing:DescribeRules", "elasticloadbalancing:DescribeTargetHealth",
                  "ecr:DescribeImages")
# Only with service.autoscaling: `status` shows each colour's scaling bounds.
SCALING_TARGET_READS = ("application-autoscaling:DescribeScalableTargets",)
DEPLOY_ACTIONS = (STACK_READS + STACK_CHANGES + ALB_STACK_ACTIONS + SERVICE_READS + LOCK_ACTIONS
                  + ALARM_READS + UNSCOPED_READS)


# CloudFormation checks the value of an AWS-specific parameter type against the account before
# it creates or updates a stack ("anyone who uses your template must specify valid values from
# the AWS account and Region they're creating the stack in": CloudFormation User Guide, "Specify
# existing resources at runtime with CloudFormation-supplied parameter types"). The docs do not
# say whose credentials it reads them with, so both roles may: the deploy role (the caller of
# CreateStack/UpdateStack) and the CloudFormation role (RoleARN). Describe* take only "*".
PARAMETER_TYPE_READS = {
    "AWS::EC2::VPC::Id": "ec2:DescribeVpcs",
    "List<AWS::EC2::Subnet::Id>": "ec2:DescribeSubnets",
    "AWS::EC2::SecurityGroup::Id": "ec2:DescribeSecurityGroups",
}


def actions(names: tuple[str, ...]) -> list[Action]:
    return [Action(*name.split(":", 1)) for name in names]


def parameter_validation_reads(config: Config) -> tuple[str, ...]:
    """The reads CloudFormation's validation of the three stacks' parameter types needs."""
    templates = [alb_template(config)] + [service_template(config, c) for c in COLORS]
    types = {p.properties["Type"] for t in templates for p in t.parameters.values()}
    return tuple(read for kind, read in PARAMETER_TYPE_READS.items() if kind in types)


def stack_arns(config: Config) -> list[Sub]:
    """The three stacks of the environment, any stack id (a re-created stack has a new one)."""
    names = [config.alb_stack] + [config.service_stack(color) for color in COLORS]
    return [Sub(f"{ARN}:cloudformation:{HERE}:stack/{name}/*") for name in names]


def service_arns(config: Config) -> list[Sub]:
    return [Sub(f"{ARN}:ecs:{HERE}:service/{config.cluster}/*")]


def lock_arn(config: Config) -> Sub:
    # A parameter ARN has no slash after "parameter": the name's leading one is dropped.
    return Sub(f"{ARN}:ssm:{HERE}:parameter{lock_parameter_name(config.name)}")


def alarm_statements(config: Config) -> list[Statement]:
    """Reading the configured alarms: the CLI checks them before a change, and CloudFormation
    watches them as rollback triggers under its service role. On "*": DescribeAlarms returns
    composite alarms only to a permission "scoped to *" (DescribeAlarms API reference), and an
    alarm's state is no secret worth a narrower grant."""
    if not config.deploy.alarms:
        return []
    return [Statement(Sid="ReadTheAlarms", Effect=Allow, Action=actions(ALARM_READS),
                      Resource=["*"])]


def notify_statements(config: Config) -> list[Statement]:
    """Publishing the run's notifications to exactly the configured topic (deploy.notify). A
    topic encrypted with a customer managed KMS key also needs kms:GenerateDataKey* and
    kms:Decrypt on that key for this role (docs/notifications.md)."""
    topic = config.deploy.notify.sns_topic_arn
    if topic is None:
        return []
    return [Statement(Sid="PublishTheNotifications", Effect=Allow,
                      Action=[Action("sns", "Publish")], Resource=[topic])]


def deploy_policy(config: Config, cloudformation_role: iam.Role) -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="ReadTheStacks", Effect=Allow, Action=actions(STACK_READS),
                  Resource=stack_arns(config)),
        Statement(Sid="ChangeOnlyTheStacks", Effect=Allow, Action=actions(STACK_CHANGES),
                  Resource=stack_arns(config)),
        Statement(Sid="UpdateTheAlbStackFromTheConfig", Effect=Allow,
                  Action=actions(ALB_STACK_ACTIONS), Resource=stack_arns(config)[:1]),
        Statement(Sid="PreviewTheServiceStacks", Effect=Allow,
                  Action=actions(SERVICE_STACK_PREVIEW), Resource=stack_arns(config)[1:]),
        Statement(Sid="PassOnlyTheCloudFormationRole", Effect=Allow,
                  Action=[Action("iam", "PassRole")],
                  Resource=[GetAtt(cloudformation_role, "Arn")],
                  Condition=Condition(StringEquals("iam:PassedToService",
                                                   "cloudformation.amazonaws.com"))),
        Statement(Sid="ReadTheServices", Effect=Allow, Action=actions(SERVICE_READS),
                  Resource=service_arns(config)),
        Statement(Sid="TheDeployLock", Effect=Allow, Action=actions(LOCK_ACTIONS),
                  Resource=[lock_arn(config)]),
        *alarm_statements(config),
        *notify_statements(config),
        Statement(Sid="ReadWithoutResourceLevelPermissions", Effect=Allow,
                  Action=actions(UNSCOPED_READS + (SCALING_TARGET_READS if config.service
                                                   .autoscaling else ())), Resource=["*"]),
        Statement(Sid="CloudFormationValidatesParameterTypes", Effect=Allow,
                  Action=actions(parameter_validation_reads(config)), Resource=["*"]),
    ])


def deploy_trust(config: Config) -> PolicyDocument:
    """The account's own principals (those its IAM policies allow sts:AssumeRole on this role),
    and, when the config names a repository, the GitHub Actions runs of that repository whose
    OIDC subject the config names (deploy_role.github_subjects), never a wildcard over refs."""
    statements = [Statement(
        Sid="ThisAccount", Effect=Allow, Action=[Action("sts", "AssumeRole")],
        Principal=Principal("AWS", Sub(f"{ARN}:iam::${{AWS::AccountId}}:root")))]
    repository = config.deploy_role.github_repository
    if repository:
        statements.append(Statement(
            Sid="GitHubActions", Effect=Allow, Action=[Action("sts", "AssumeRoleWithWebIdentity")],
            Principal=Principal("Federated", Sub(
                f"{ARN}:iam::${{AWS::AccountId}}:oidc-provider/{GITHUB_OIDC}")),
            Condition=Condition([
                StringEquals(f"{GITHUB_OIDC}:aud", "sts.amazonaws.com"),
                StringLike(f"{GITHUB_OIDC}:sub", [f"repo:{repository}:{subject}" for subject
                                                  in config.deploy_role.github_subjects]),
            ])))
    return PolicyDocument(Version="2012-10-17", Statement=statements)


# --- the CloudFormation service role ------------------------------------------------------------

# Resource-provider permissions of the stacks' resource types that the role does NOT get, each
# with the reason: the templates never use the feature that needs it. (A template change that
# starts to use one must move it into the policy; the test against the schemas says which.)
NOT_GRANTED = {
    "cognito-idp:DescribeUserPoolClient": "no authenticate-cognito listener actions",
    "elasticloadbalancing:ModifyCapacityReservation": "no LCU reservation on the load balancer",
    "elasticloadbalancing:ModifyIpPools": "no IPAM pools on the load balancer",
    "elasticloadbalancing:SetIpAddressType": "IpAddressType is never set (ipv4)",
    "elasticloadbalancing:RegisterTargets": "the colours' target groups list no Targets (ECS "
                                            "registers tasks with its service-linked role); "
                                            "granted with network.private_nlb",
    "elasticloadbalancing:DeregisterTargets": "as RegisterTargets",
    "iam:PutRolePolicy": "the execution role has no inline policy; granted with "
                         "service.secrets (it may read exactly those)",
    "iam:UpdateAssumeRolePolicy": "the execution role's trust (ecs-tasks) never changes",
    "iam:PutRolePermissionsBoundary": "no permissions boundary",
    "iam:DeleteRolePermissionsBoundary": "no permissions boundary",
    "firehose:TagDeliveryStream": "no log delivery to Firehose",
    "s3:REST.PUT.OBJECT": "no log delivery to S3 (and not an IAM action)",
    "logs:CreateLogDelivery": "no log delivery",
    "logs:PutResourcePolicy": "no log-group resource policy",
    "logs:DeleteResourcePolicy": "no log-group resource policy",
    "logs:PutDataProtectionPolicy": "no data-protection policy",
    "logs:PutIndexPolicy": "no field index policy",
    "logs:DeleteIndexPolicy": "no field index policy",
    "logs:PutBearerTokenAuthentication": "no bearer-token authentication",
    "logs:AssociateKmsKey": "no KMS key on the log groups; granted with service.log_kms_key_arn",
    "logs:DisassociateKmsKey": "as AssociateKmsKey",
    "logs:PutLogGroupDeletionProtection": "no deletion protection setting",
    "application-autoscaling:PutScheduledAction": "no scheduled actions on the scalable target",
    "application-autoscaling:DeleteScheduledAction": "no scheduled actions",
    "application-autoscaling:DescribeScheduledActions": "no scheduled actions",
    "lambda:PutProvisionedConcurrencyConfig": "the scalable target is an ECS service, not a "
                                              "Lambda function",
    "lambda:GetProvisionedConcurrencyConfig": "as PutProvisionedConcurrencyConfig",
    "lambda:DeleteProvisionedConcurrencyConfig": "as PutProvisionedConcurrencyConfig",
}

# Reads IAM cannot scope to a resource ("*" is the only resource they accept).
CFN_UNSCOPED_READS = (
    "ec2:DescribeSecurityGroups", "ec2:DescribeInstances", "ec2:DescribeVpcs",
    "ec2:DescribeIpamPools",
    "elasticloadbalancing:DescribeLoadBalancers",
    "elasticloadbalancing:DescribeLoadBalancerAttributes",
    "elasticloadbalancing:DescribeCapacityReservation",
    "elasticloadbalancing:DescribeTargetGroups",
    "elasticloadbalancing:DescribeTargetGroupAttributes",
    "elasticloadbalancing:DescribeTargetHealth",
    "elasticloadbalancing:DescribeListeners",
    "elasticloadbalancing:DescribeListenerAttributes",
    "elasticloadbalancing:DescribeTags",
    "ecs:DescribeTaskDefinition",
    "logs:DescribeLogGroups", "logs:DescribeResourcePolicies", "logs:DescribeIndexPolicies",
)
SECURITY_GROUP_CHANGES = (
    "ec2:AuthorizeSecurityGroupIngress", "ec2:RevokeSecurityGroupIngress",
    "ec2:AuthorizeSecurityGroupEgress", "ec2:RevokeSecurityGroupEgress",
    "ec2:UpdateSecurityGroupRuleDescriptionsIngress",
    "ec2:UpdateSecurityGroupRuleDescriptionsEgress",
    "ec2:DeleteSecurityGroup", "ec2:CreateTags", "ec2:DeleteTags",
)
# What the legacy provider of AWS::ElasticLoadBalancingV2::ListenerCertificate calls: its schema
# declares no handlers, and its CloudFormation reference points to AddListenerCertificates, whose
# API reference names the calls that read and remove the list (DescribeListenerCertificates,
# RemoveListenerCertificates).
LEGACY_PROVIDER_PERMISSIONS = {
    "AWS::ElasticLoadBalancingV2::ListenerCertificate": (
        "elasticloadbalancing:AddListenerCertificates",
        "elasticloadbalancing:RemoveListenerCertificates",
        "elasticloadbalancing:DescribeListenerCertificates"),
}
LOAD_BALANCER_CHANGES = (
    "elasticloadbalancing:CreateLoadBalancer", "elasticloadbalancing:DeleteLoadBalancer",
    "elasticloadbalancing:ModifyLoadBalancerAttributes",
    "elasticloadbalancing:SetSecurityGroups", "elasticloadbalancing:SetSubnets",
    "elasticloadbalancing:CreateTargetGroup", "elasticloadbalancing:DeleteTargetGroup",
    "elasticloadbalancing:ModifyTargetGroup", "elasticloadbalancing:ModifyTargetGroupAttributes",
    "elasticloadbalancing:CreateListener", "elasticloadbalancing:DeleteListener",
    "elasticloadbalancing:ModifyListener", "elasticloadbalancing:ModifyListenerAttributes",
    "elasticloadbalancing:AddTags", "elasticloadbalancing:RemoveTags",
)
# Only in the modes whose resources need them: listener rules (test_mode "host"), more than one
# certificate (ListenerCertificate), the NLB's target group of type alb, which lists the ALB as
# its target (network.private_nlb).
# (Their Describe calls take only "*": mode_reads.)
RULE_CHANGES = ("elasticloadbalancing:CreateRule", "elasticloadbalancing:DeleteRule",
                "elasticloadbalancing:ModifyRule", "elasticloadbalancing:SetRulePriorities")
CERTIFICATE_CHANGES = ("elasticloadbalancing:AddListenerCertificates",
                       "elasticloadbalancing:RemoveListenerCertificates")
TARGET_REGISTRATION = ("elasticloadbalancing:RegisterTargets",
                       "elasticloadbalancing:DeregisterTargets")
SERVICE_CHANGES = (
    "ecs:CreateService", "ecs:UpdateService", "ecs:DeleteService", "ecs:DescribeServices",
    "ecs:DescribeServiceDeployments", "ecs:ListServiceDeployments", "ecs:StopServiceDeployment",
    "ecs:TagResource", "ecs:UntagResource", "ecs:ListTagsForResource",
)
# RegisterTaskDefinition and DeregisterTaskDefinition accept no resource but "*".
TASK_DEFINITION_CHANGES = ("ecs:RegisterTaskDefinition", "ecs:DeregisterTaskDefinition")
EXECUTION_ROLE_CHANGES = (
    "iam:CreateRole", "iam:DeleteRole", "iam:GetRole", "iam:UpdateRole",
    "iam:UpdateRoleDescription", "iam:TagRole", "iam:UntagRole", "iam:ListAttachedRolePolicies",
    "iam:ListRolePolicies", "iam:GetRolePolicy", "iam:DeleteRolePolicy",
)
EXECUTION_ROLE_POLICY_CHANGES = ("iam:AttachRolePolicy", "iam:DetachRolePolicy")
LOG_GROUP_CHANGES = (
    "logs:CreateLogGroup", "logs:DeleteLogGroup", "logs:PutRetentionPolicy",
    "logs:DeleteRetentionPolicy", "logs:TagResource", "logs:UntagResource",
    "logs:ListTagsForResource", "logs:GetDataProtectionPolicy",
    "logs:DeleteDataProtectionPolicy",
)
# Only with service.log_kms_key_arn: the AWS::Logs::LogGroup provider's update handler sets
# KmsKeyId with AssociateKmsKey and removes it with DisassociateKmsKey (its create handler passes
# the key to CreateLogGroup). No kms: permission: CloudWatch Logs uses the key as its own service
# principal, which the key's policy must allow (docs/security.md).
LOG_GROUP_KEY_CHANGES = ("logs:AssociateKmsKey", "logs:DisassociateKmsKey")


# service.autoscaling only (the AWS::ApplicationAutoScaling::ScalableTarget and ScalingPolicy
# providers' permissions). The changes take the scalable target's ARN; the reads only "*".
SCALING_CHANGES = (
    "application-autoscaling:RegisterScalableTarget",
    "application-autoscaling:DeregisterScalableTarget",
    "application-autoscaling:PutScalingPolicy", "application-autoscaling:DeleteScalingPolicy",
    "application-autoscaling:TagResource", "application-autoscaling:UntagResource",
)
SCALING_READS = (
    "application-autoscaling:DescribeScalableTargets",
    "application-autoscaling:DescribeScalingPolicies",
    "application-autoscaling:ListTagsForResource",
    "cloudwatch:DescribeAlarms", "cloudwatch:GetMetricData",
)
# The target-tracking alarms Application Auto Scaling names "TargetTracking-service/<cluster>/…".
SCALING_ALARM_CHANGES = ("cloudwatch:PutMetricAlarm", "cloudwatch:DeleteAlarms")
SCALING_SERVICE = "ecs.application-autoscaling.amazonaws.com"
SCALING_LINKED_ROLE = (f"aws-service-role/{SCALING_SERVICE}/"
                       f"AWSServiceRoleForApplicationAutoScaling_ECSService")


def scaling_statements(config: Config) -> list[Statement]:
    """Application Auto Scaling of the colours: the scalable targets and their policies, their
    alarms, and the service-linked role Application Auto Scaling scales ECS with (created once
    per account, by whoever registers the first ECS scalable target)."""
    if config.service.autoscaling is None:
        return []
    return [
        Statement(Sid="ScalableTargetsAndPolicies", Effect=Allow, Action=actions(SCALING_CHANGES),
                  Resource=[Sub(f"{ARN}:application-autoscaling:{HERE}:scalable-target/*")]),
        Statement(Sid="TargetTrackingAlarms", Effect=Allow,
                  Action=actions(SCALING_ALARM_CHANGES),
                  Resource=[Sub(f"{ARN}:cloudwatch:{HERE}:alarm:TargetTracking-service/"
                                f"{config.cluster}/*")]),
        Statement(Sid="ApplicationAutoScalingServiceLinkedRole", Effect=Allow,
                  Action=[Action("iam", "CreateServiceLinkedRole")],
                  Resource=[Sub(f"{ARN}:iam::${{AWS::AccountId}}:role/{SCALING_LINKED_ROLE}")],
                  Condition=Condition(StringEquals("iam:AWSServiceName", SCALING_SERVICE))),
    ]


def task_role_statements(config: Config) -> list[Statement]:
    """service.task_role_arn: CloudFormation passes that role to ECS (RegisterTaskDefinition).
    service.task_role_policy_arns: the stacks make the task role and attach exactly those."""
    service = config.service
    to_ecs_tasks = Condition(StringEquals("iam:PassedToService", "ecs-tasks.amazonaws.com"))
    if service.task_role_arn:
        return [Statement(Sid="PassTheTaskRoleToEcsTasks", Effect=Allow,
                          Action=[Action("iam", "PassRole")], Resource=[service.task_role_arn],
                          Condition=to_ecs_tasks)]
    if not service.task_role_policy_arns:
        return []
    roles = [Sub(f"{ARN}:iam::${{AWS::AccountId}}:role/{name}")
             for name in generated_names(config, TASK_ROLE_ID)]
    return [
        Statement(Sid="TaskRoles", Effect=Allow, Action=actions(EXECUTION_ROLE_CHANGES),
                  Resource=roles),
        Statement(Sid="TaskRolesGetOnlyTheConfiguredPolicies", Effect=Allow,
                  Action=actions(EXECUTION_ROLE_POLICY_CHANGES), Resource=roles,
                  Condition=Condition(ArnEquals("iam:PolicyARN",
                                                list(service.task_role_policy_arns)))),
        Statement(Sid="PassTaskRolesToEcsTasks", Effect=Allow,
                  Action=[Action("iam", "PassRole")], Resource=roles, Condition=to_ecs_tasks),
    ]


def execution_role_changes(config: Config) -> tuple[str, ...]:
    # With service.secrets the execution role has an inline policy (read exactly those).
    return EXECUTION_ROLE_CHANGES + (("iam:PutRolePolicy",) if config.service.secrets else ())


def generated_names(config: Config, logical_id: str) -> list[str]:
    """The names CloudFormation gives a service stack's resource: `shop-blue-LogGroup-AB12…`.
    Environment names are lowercase, so no other environment's names can match."""
    return [f"{config.service_stack(color)}-{logical_id}-*" for color in COLORS]


def execution_role_arns(config: Config) -> list[Sub]:
    return [Sub(f"{ARN}:iam::${{AWS::AccountId}}:role/{name}")
            for name in generated_names(config, EXECUTION_ROLE_ID)]


def load_balancing(config: Config) -> Statement:
    """Load balancers, target groups, listeners (and rules) get names CloudFormation generates
    and truncates, so IAM can only scope them to the account, the region and their type: the
    ALB's (app), and with network.private_nlb the NLB's (net)."""
    elb = f"{ARN}:elasticloadbalancing:{HERE}"
    names = LOAD_BALANCER_CHANGES
    kinds = ["app"] + (["net"] if config.network.private_nlb else [])
    resources = [f"{elb}:loadbalancer/{kind}/*" for kind in kinds] + [f"{elb}:targetgroup/*"]
    resources += [f"{elb}:listener/{kind}/*" for kind in kinds]
    if config.listener.host_mode:
        names += RULE_CHANGES
        resources.append(f"{elb}:listener-rule/app/*")
    if len(config.listener.certificate_arns) > 1:
        names += CERTIFICATE_CHANGES
    if config.network.private_nlb:
        names += TARGET_REGISTRATION
    return Statement(Sid="LoadBalancing", Effect=Allow, Action=actions(names),
                     Resource=[Sub(arn) for arn in resources])


def cloudformation_reads(config: Config) -> tuple[str, ...]:
    reads = CFN_UNSCOPED_READS + parameter_validation_reads(config)
    if config.listener.host_mode:
        reads += ("elasticloadbalancing:DescribeRules",)
    if len(config.listener.certificate_arns) > 1:
        reads += ("elasticloadbalancing:DescribeListenerCertificates",)
    if config.service.autoscaling is not None:
        reads += SCALING_READS
    return tuple(dict.fromkeys(reads))  # once each, in order


def log_group_changes(config: Config) -> tuple[str, ...]:
    return LOG_GROUP_CHANGES + (LOG_GROUP_KEY_CHANGES if config.service.log_kms_key_arn else ())


def cloudformation_policy(config: Config) -> PolicyDocument:
    vpc = Sub(f"{ARN}:ec2:{HERE}:vpc/{config.network.vpc_id}")
    security_groups = Sub(f"{ARN}:ec2:{HERE}:security-group/*")
    ecs = f"{ARN}:ecs:{HERE}"
    roles = execution_role_arns(config)
    return PolicyDocument(Version="2012-10-17", Statement=[
        Statement(Sid="ReadWithoutResourceLevelPermissions", Effect=Allow,
                  Action=actions(cloudformation_reads(config)), Resource=["*"]),
        *alarm_statements(config),
        Statement(Sid="CreateSecurityGroupsInTheVpc", Effect=Allow,
                  Action=[Action("ec2", "CreateSecurityGroup")], Resource=[vpc, security_groups]),
        Statement(Sid="TagSecurityGroupsOnCreate", Effect=Allow,
                  Action=[Action("ec2", "CreateTags")], Resource=[security_groups],
                  Condition=Condition(StringEquals("ec2:CreateAction", "CreateSecurityGroup"))),
        Statement(Sid="ChangeSecurityGroupsOfTheVpc", Effect=Allow,
                  Action=actions(SECURITY_GROUP_CHANGES), Resource=[security_groups],
                  Condition=Condition(ArnEquals("ec2:Vpc", vpc))),
        load_balancing(config),
        Statement(Sid="ServicesOfTheCluster", Effect=Allow, Action=actions(SERVICE_CHANGES),
                  Resource=[Sub(f"{ecs}:service/{config.cluster}/*"),
                            Sub(f"{ecs}:service-deployment/{config.cluster}/*"),
                            Sub(f"{ecs}:task-definition/{config.family}:*")]),
        Statement(Sid="TaskDefinitions", Effect=Allow, Action=actions(TASK_DEFINITION_CHANGES),
                  Resource=["*"]),
        Statement(Sid="ExecutionRoles", Effect=Allow,
                  Action=actions(execution_role_changes(config)), Resource=roles),
        Statement(Sid="ExecutionRolesGetOnlyTheTaskExecutionPolicy", Effect=Allow,
                  Action=actions(EXECUTION_ROLE_POLICY_CHANGES), Resource=roles,
                  Condition=Condition(ArnEquals("iam:PolicyARN", TASK_EXECUTION_POLICY))),
        Statement(Sid="PassExecutionRolesToEcsTasks", Effect=Allow,
                  Action=[Action("iam", "PassRole")], Resource=roles,
                  Condition=Condition(StringEquals("iam:PassedToService",
                                                   "ecs-tasks.amazonaws.com"))),
        Statement(Sid="LogGroups", Effect=Allow, Action=actions(log_group_changes(config)),
                  Resource=[Sub(f"{ARN}:logs:{HERE}:log-group:{name}")
                            for name in generated_names(config, LOG_GROUP_ID)]),
        *task_role_statements(config),
        *scaling_statements(config),
    ])


def cloudformation_trust() -> PolicyDocument:
    return PolicyDocument(Version="2012-10-17", Statement=[Statement(
        Effect=Allow, Action=[Action("sts", "AssumeRole")],
        Principal=Principal("Service", "cloudformation.amazonaws.com"))])


def max_session_seconds(config: Config) -> int:
    """Long enough for the longest run (a stack deadline, the cancelled update's rollback, the
    swap, verification), in whole hours from one to twelve as IAM requires."""
    deploy = config.deploy
    longest = 3 * deploy.stack_timeout_seconds + deploy.verify_timeout_seconds
    hours = -(-longest // 3600)
    return min(max(hours, 1), 12) * 3600


def deploy_role_template(config: Config) -> Template:
    template = Template(Description=f"stackswap {config.name}: the CloudFormation service role "
                                    f"and the deploy role of the stackswap CLI")
    # The policies name the environment's region; a role stack deployed elsewhere would grant
    # nothing that works, so refuse it.
    template.add_rule("InTheEnvironmentsRegion", {"Assertions": [{
        "Assert": Equals(Ref("AWS::Region"), config.region),
        "AssertDescription": f"deploy this stack in {config.region}, the environment's region",
    }]})
    cloudformation_role = template.add_resource(iam.Role(
        "CloudFormationRole",
        Description=f"stackswap {config.name}: CloudFormation creates and updates "
                    f"{config.alb_stack}, {config.service_stack('blue')} and "
                    f"{config.service_stack('green')} with it",
        AssumeRolePolicyDocument=cloudformation_trust(),
        Policies=[iam.Policy(PolicyName="stacks-of-this-environment",
                             PolicyDocument=cloudformation_policy(config))],
        Tags=tags(config),
    ))
    deploy_role = template.add_resource(iam.Role(
        "DeployRole",
        Description=f"stackswap {config.name}: what the stackswap CLI may do",
        AssumeRolePolicyDocument=deploy_trust(config),
        MaxSessionDuration=max_session_seconds(config),
        Policies=[iam.Policy(PolicyName="stackswap-cli",
                             PolicyDocument=deploy_policy(config, cloudformation_role))],
        Tags=tags(config),
    ))
    template.add_output([
        Output(OUTPUT_CLOUDFORMATION_ROLE, Value=GetAtt(cloudformation_role, "Arn"),
               Description="The CloudFormation service role (RoleARN of the three stacks)"),
        Output(OUTPUT_DEPLOY_ROLE, Value=GetAtt(deploy_role, "Arn"),
               Description="The role to run stackswap as (assume it locally or from CI)"),
    ])
    return template
