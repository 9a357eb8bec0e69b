"""One ECS service stack per colour, both from `service_template(config, color)`.

The image is a parameter, so a deploy is an update of the idle colour's stack with a new `Image`;
both colours register revisions of one task-definition family, as in the article. Nothing here has
a fixed physical name (except the shared family), so CloudFormation can replace any resource.
"""

from __future__ import annotations

from troposphere import GetAtt, Output, Parameter, Ref, Template, ecs, iam, logs
from troposphere.ec2 import SecurityGroup, SecurityGroupRule

from generator.config import Config
from generator.elb import tags
from generator.interface import (
    OUTPUT_LOG_GROUP,
    OUTPUT_SERVICE_ARN,
    OUTPUT_SERVICE_NAME,
    OUTPUT_TASK_DEFINITION,
    PARAM_CLUSTER,
    PARAM_DESIRED_COUNT,
    PARAM_IMAGE,
    PARAM_LOAD_BALANCER_SECURITY_GROUP,
    PARAM_SUBNETS,
    PARAM_TARGET_GROUP,
    PARAM_VPC,
    is_fargate,
)

TASK_EXECUTION_POLICY = "arn:aws:iam::aws:policy/service-role/AmazonECSTaskExecutionRolePolicy"


def add_parameters(template: Template, config: Config) -> dict[str, Parameter]:
    params = {
        PARAM_CLUSTER: Parameter(PARAM_CLUSTER, Type="String", Description="ECS cluster name"),
        PARAM_TARGET_GROUP: Parameter(
            PARAM_TARGET_GROUP, Type="String",
            Description="This colour's target group (an output of the ALB stack)"),
        PARAM_IMAGE: Parameter(PARAM_IMAGE, Type="String", Description="Container image to run"),
        PARAM_DESIRED_COUNT: Parameter(PARAM_DESIRED_COUNT, Type="Number", MinValue=0,
                                  Default=config.service.desired_count,
                                  Description="Number of tasks"),
    }
    if is_fargate(config):
        params |= {
            PARAM_VPC: Parameter(PARAM_VPC, Type="AWS::EC2::VPC::Id",
                               Description="VPC of the tasks"),
            PARAM_SUBNETS: Parameter(PARAM_SUBNETS, Type="List<AWS::EC2::Subnet::Id>",
                                 Description="Subnets of the tasks"),
            PARAM_LOAD_BALANCER_SECURITY_GROUP: Parameter(
                PARAM_LOAD_BALANCER_SECURITY_GROUP, Type="AWS::EC2::SecurityGroup::Id",
                Description="The ALB's security group, the only source tasks admit"),
        }
    return {name: template.add_parameter(param) for name, param in params.items()}


def add_execution_role(template: Template, config: Config) -> iam.Role:
    # Lets ECS pull the image and write logs on the task's behalf; no RoleName, so it can be
    # replaced and two environments never collide.
    return template.add_resource(iam.Role(
        "ExecutionRole",
        AssumeRolePolicyDocument={
            "Version": "2012-10-17",
            "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                           "Principal": {"Service": "ecs-tasks.amazonaws.com"}}],
        },
        ManagedPolicyArns=[TASK_EXECUTION_POLICY],
        Tags=tags(config),
    ))


def add_task_definition(template: Template, config: Config, color: str, params: dict,
                        role: iam.Role, log_group: logs.LogGroup) -> ecs.TaskDefinition:
    service = config.service
    container = ecs.ContainerDefinition(
        Name=service.container_name,
        Image=Ref(params[PARAM_IMAGE]),
        Essential=True,
        # Fargate (awsvpc) maps the container port itself; on EC2 a host port of 0 asks for a
        # dynamic one, which is how the article runs both colours on the same instances.
        PortMappings=[ecs.PortMapping(
            ContainerPort=service.container_port,
            HostPort=service.container_port if is_fargate(config) else 0,
            Protocol="tcp")],
        LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options={
            "awslogs-group": Ref(log_group),
            "awslogs-region": Ref("AWS::Region"),
            "awslogs-stream-prefix": color,
        }),
        **({} if is_fargate(config) else {"Memory": service.memory}),
    )
    launch = {
        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
        "Cpu": str(service.cpu), "Memory": str(service.memory),
    } if is_fargate(config) else {"NetworkMode": "bridge", "RequiresCompatibilities": ["EC2"]}
    return template.add_resource(ecs.TaskDefinition(
        "TaskDefinition",
        Family=config.family,
        ExecutionRoleArn=GetAtt(role, "Arn"),
        ContainerDefinitions=[container],
        Tags=tags(config, **{"stackswap:color": color}),
        **launch,
    ))


def add_task_security_group(template: Template, config: Config, color: str, params: dict
                            ) -> SecurityGroup:
    port = config.service.container_port
    return template.add_resource(SecurityGroup(
        "TaskSecurityGroup",
        GroupDescription=f"{config.name} {color} tasks: container port from the ALB only",
        VpcId=Ref(params[PARAM_VPC]),
        SecurityGroupIngress=[SecurityGroupRule(
            IpProtocol="tcp", FromPort=port, ToPort=port,
            SourceSecurityGroupId=Ref(params[PARAM_LOAD_BALANCER_SECURITY_GROUP]),
            Description="from the load balancer")],
        Tags=tags(config, **{"stackswap:color": color}),
    ))


def add_service(template: Template, config: Config, color: str, params: dict,
                task_definition: ecs.TaskDefinition) -> ecs.Service:
    network = {}
    if is_fargate(config):
        security_group = add_task_security_group(template, config, color, params)
        network = {"NetworkConfiguration": ecs.NetworkConfiguration(
            AwsvpcConfiguration=ecs.AwsvpcConfiguration(
                Subnets=Ref(params[PARAM_SUBNETS]),
                SecurityGroups=[Ref(security_group)],
                AssignPublicIp="ENABLED" if config.network.assign_public_ip else "DISABLED",
            ))}
    # No service Role: with awsvpc ECS rejects one, and otherwise ECS uses its service-linked
    # role. The circuit breaker fails a deployment whose tasks never start, in minutes rather
    # than CloudFormation's three-hour stabilisation wait, and rolls the service back.
    return template.add_resource(ecs.Service(
        "Service",
        Cluster=Ref(params[PARAM_CLUSTER]),
        LaunchType=config.service.launch_type,
        DesiredCount=Ref(params[PARAM_DESIRED_COUNT]),
        TaskDefinition=Ref(task_definition),
        HealthCheckGracePeriodSeconds=config.health.grace_period_seconds,
        LoadBalancers=[ecs.LoadBalancer(
            ContainerName=config.service.container_name,
            ContainerPort=config.service.container_port,
            TargetGroupArn=Ref(params[PARAM_TARGET_GROUP]),
        )],
        DeploymentConfiguration=ecs.DeploymentConfiguration(
            DeploymentCircuitBreaker=ecs.DeploymentCircuitBreaker(Enable=True, Rollback=True),
            MinimumHealthyPercent=100,
            MaximumPercent=200,
        ),
        PropagateTags="SERVICE",
        EnableECSManagedTags=True,
        Tags=tags(config, **{"stackswap:color": color}),
        **network,
    ))


def service_template(config: Config, color: str) -> Template:
    """The service stack of one colour; blue and green differ only in colour-derived names."""
    template = Template(Description=f"stackswap {config.name}: the {color} ECS service")
    params = add_parameters(template, config)
    # With service.log_kms_key_arn, CloudWatch Logs encrypts the group's data with that key (its
    # key policy must let logs.<region>.amazonaws.com use it: docs/security.md).
    encryption = ({"KmsKeyId": config.service.log_kms_key_arn}
                  if config.service.log_kms_key_arn else {})
    log_group = template.add_resource(logs.LogGroup(
        "LogGroup", RetentionInDays=30, Tags=tags(config, **{"stackswap:color": color}),
        **encryption))
    role = add_execution_role(template, config)
    task_definition = add_task_definition(template, config, color, params, role, log_group)
    service = add_service(template, config, color, params, task_definition)
    template.add_output([
        Output(OUTPUT_SERVICE_ARN, Value=Ref(service), Description=f"The {color} ECS service"),
        Output(OUTPUT_SERVICE_NAME, Value=GetAtt(service, "Name"),
               Description=f"Name of the {color} ECS service"),
        Output(OUTPUT_TASK_DEFINITION, Value=Ref(task_definition),
               Description="Task definition revision the service runs"),
        Output(OUTPUT_LOG_GROUP, Value=Ref(log_group),
               Description=f"Container logs of the {color} tasks"),
    ])
    return template
