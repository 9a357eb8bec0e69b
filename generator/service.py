"""One ECS service stack per colour, both from `service_template(config, color)`.

The image is a parameter, so a deploy is an update of the idle colour's stack with a new `Image`;
both colours register revisions of one task-definition family, as in the article. Nothing here has
a fixed physical name (except the shared family), so CloudFormation can replace any resource.
"""

from __future__ import annotations

from stackswap.environment.config import Config, is_fargate
from stackswap.environment.names import (
    OUTPUT_LOG_GROUP,
    OUTPUT_SERVICE_ARN,
    OUTPUT_SERVICE_NAME,
    OUTPUT_TASK_DEFINITION,
    PARAM_CLUSTER,
    PARAM_DESIRED_COUNT,
    PARAM_IMAGE,
    PARAM_LOAD_BALANCER,
    PARAM_LOAD_BALANCER_SECURITY_GROUP,
    PARAM_MIN_CAPACITY,
    PARAM_SUBNETS,
    PARAM_TARGET_GROUP,
    PARAM_VPC,
)
from stackswap.generator.elb import tags
from troposphere import (
    GetAtt,
    Join,
    Output,
    Parameter,
    Ref,
    Select,
    Split,
    Template,
    applicationautoscaling,
    ecs,
    iam,
    logs,
)
from troposphere.ec2 import SecurityGroup, SecurityGroupRule

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
    scaling = config.service.autoscaling
    if scaling:
        params[PARAM_MIN_CAPACITY] = Parameter(
            PARAM_MIN_CAPACITY, Type="Number", MinValue=1, MaxValue=scaling.max,
            Default=scaling.min,
            Description="Fewest tasks auto scaling may leave (stackswap raises it to the live "
                        "colour's count while this colour waits to go live)")
        if scaling.requests_per_target:
            params[PARAM_LOAD_BALANCER] = Parameter(
                PARAM_LOAD_BALANCER, Type="String",
                Description="The ALB (an output of the ALB stack), for the request-count metric")
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


ECS_TASKS_TRUST = {
    "Version": "2012-10-17",
    "Statement": [{"Effect": "Allow", "Action": "sts:AssumeRole",
                   "Principal": {"Service": "ecs-tasks.amazonaws.com"}}],
}


def secret_resource(arn: str) -> str:
    """The IAM resource of a secret's ARN: without Secrets Manager's
    ":json-key:version-stage:version-id" suffix, which names a part of the secret, not another
    secret (ECS Developer Guide, "Pass Secrets Manager secrets through Amazon ECS environment
    variables")."""
    return ":".join(arn.split(":")[:7])


def secrets_policy(config: Config) -> list[iam.Policy]:
    """The execution role may read exactly the configured secrets (ssm:GetParameters,
    secretsmanager:GetSecretValue) and decrypt with service.secrets_kms_key_arn (ECS Developer
    Guide, "Amazon ECS task execution IAM role": required permissions for secrets)."""
    service = config.service
    if not service.secrets:
        return []
    arns = sorted({secret_resource(arn) for _, arn in service.secrets})
    statements = []
    parameters = [arn for arn in arns if ":ssm:" in arn]
    secrets = [arn for arn in arns if ":secretsmanager:" in arn]
    if parameters:
        statements.append({"Sid": "ReadTheParameters", "Effect": "Allow",
                           "Action": ["ssm:GetParameters"], "Resource": parameters})
    if secrets:
        statements.append({"Sid": "ReadTheSecrets", "Effect": "Allow",
                           "Action": ["secretsmanager:GetSecretValue"], "Resource": secrets})
    if service.secrets_kms_key_arn:
        statements.append({"Sid": "DecryptTheSecrets", "Effect": "Allow",
                           "Action": ["kms:Decrypt"], "Resource": [service.secrets_kms_key_arn]})
    return [iam.Policy(PolicyName="read-the-secrets",
                       PolicyDocument={"Version": "2012-10-17", "Statement": statements})]


def add_execution_role(template: Template, config: Config) -> iam.Role:
    # Lets ECS pull the image, write logs and read the configured secrets on the task's behalf;
    # no RoleName, so it can be replaced and two environments never collide.
    policies = secrets_policy(config)
    return template.add_resource(iam.Role(
        "ExecutionRole",
        AssumeRolePolicyDocument=ECS_TASKS_TRUST,
        ManagedPolicyArns=[TASK_EXECUTION_POLICY],
        Tags=tags(config),
        **({"Policies": policies} if policies else {}),
    ))


def task_role_arn(template: Template, config: Config) -> object | None:
    """The task's own role: service.task_role_arn as given, or a role this stack makes with
    service.task_role_policy_arns attached; None: the task has no role."""
    service = config.service
    if service.task_role_arn:
        return service.task_role_arn
    if not service.task_role_policy_arns:
        return None
    role = template.add_resource(iam.Role(
        "TaskRole", AssumeRolePolicyDocument=ECS_TASKS_TRUST,
        ManagedPolicyArns=list(service.task_role_policy_arns), Tags=tags(config)))
    return GetAtt(role, "Arn")


def key_values(pairs: tuple[tuple[str, str], ...]) -> list[ecs.Environment]:
    return [ecs.Environment(Name=name, Value=value) for name, value in pairs]


def sidecar_containers(config: Config, color: str, log_options: dict) -> list:
    """The sidecars: each its own image (fixed in the config, not the Image parameter), ports,
    environment and start order."""
    containers = []
    for sidecar in config.service.sidecars:
        options = {**log_options, "awslogs-stream-prefix": f"{color}-{sidecar.name}"}
        extra: dict = {}
        if sidecar.ports:
            extra["PortMappings"] = [ecs.PortMapping(
                ContainerPort=port, HostPort=port if is_fargate(config) else 0, Protocol="tcp")
                for port in sidecar.ports]
        if sidecar.environment:
            extra["Environment"] = key_values(sidecar.environment)
        if sidecar.depends_on:
            extra["DependsOn"] = [ecs.ContainerDependency(ContainerName=name, Condition=cond)
                                  for name, cond in sidecar.depends_on]
        if config.service.read_only_root_filesystem:
            extra["ReadonlyRootFilesystem"] = True
        containers.append(ecs.ContainerDefinition(
            Name=sidecar.name, Image=sidecar.image, Essential=sidecar.essential,
            LogConfiguration=ecs.LogConfiguration(LogDriver="awslogs", Options=options),
            **extra))
    return containers


def app_container_extras(config: Config) -> dict:
    """The app container's optional keys, each only when the config sets it (so a config
    without them renders what it always did)."""
    service, extra = config.service, {}
    if service.environment:
        extra["Environment"] = key_values(service.environment)
    if service.secrets:
        extra["Secrets"] = [ecs.Secret(Name=name, ValueFrom=arn) for name, arn in service.secrets]
    if service.command:
        extra["Command"] = list(service.command)
    if service.entry_point:
        extra["EntryPoint"] = list(service.entry_point)
    if check := service.health_check:
        extra["HealthCheck"] = ecs.HealthCheck(
            Command=list(check.command), Interval=check.interval_seconds,
            Timeout=check.timeout_seconds, Retries=check.retries,
            StartPeriod=check.start_period_seconds)
    if service.read_only_root_filesystem:
        extra["ReadonlyRootFilesystem"] = True
    if service.stop_timeout_seconds is not None:
        extra["StopTimeout"] = service.stop_timeout_seconds
    return extra


def add_task_definition(template: Template, config: Config, color: str, params: dict,
                        role: iam.Role, log_group: logs.LogGroup) -> ecs.TaskDefinition:
    service = config.service
    log_options = {"awslogs-group": Ref(log_group), "awslogs-region": Ref("AWS::Region")}
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
        **app_container_extras(config),
    )
    launch = {
        "NetworkMode": "awsvpc", "RequiresCompatibilities": ["FARGATE"],
        "Cpu": str(service.cpu), "Memory": str(service.memory),
    } if is_fargate(config) else {"NetworkMode": "bridge", "RequiresCompatibilities": ["EC2"]}
    if service.cpu_architecture:
        launch["RuntimePlatform"] = ecs.RuntimePlatform(
            CpuArchitecture=service.cpu_architecture, OperatingSystemFamily="LINUX")
    if service.ephemeral_storage_gib is not None:
        launch["EphemeralStorage"] = ecs.EphemeralStorage(SizeInGiB=service.ephemeral_storage_gib)
    task_role = task_role_arn(template, config)
    if task_role is not None:
        launch["TaskRoleArn"] = task_role
    return template.add_resource(ecs.TaskDefinition(
        "TaskDefinition",
        Family=config.family,
        ExecutionRoleArn=GetAtt(role, "Arn"),
        ContainerDefinitions=[container, *sidecar_containers(config, color, log_options)],
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


SCALABLE_DIMENSION = "ecs:service:DesiredCount"


def add_autoscaling(template: Template, config: Config, color: str, params: dict,
                    service: ecs.Service) -> None:
    """Application Auto Scaling of this colour's service: a scalable target between the
    MinCapacity parameter and autoscaling.max, and one target-tracking policy per target. No
    RoleARN: Application Auto Scaling uses its service-linked role for ECS."""
    scaling = config.service.autoscaling
    if scaling is None:
        return
    target = template.add_resource(applicationautoscaling.ScalableTarget(
        "ScalableTarget",
        ServiceNamespace="ecs", ScalableDimension=SCALABLE_DIMENSION,
        ResourceId=Join("/", ["service", Ref(params[PARAM_CLUSTER]), GetAtt(service, "Name")]),
        MinCapacity=Ref(params[PARAM_MIN_CAPACITY]), MaxCapacity=scaling.max,
    ))
    metrics = []
    if scaling.cpu_target_percent:
        metrics.append(("Cpu", scaling.cpu_target_percent,
                        applicationautoscaling.PredefinedMetricSpecification(
                            PredefinedMetricType="ECSServiceAverageCPUUtilization")))
    if scaling.requests_per_target:
        # app/<name>/<id>/targetgroup/<name>/<id>, from the two ARNs' resource parts
        # (PredefinedMetricSpecification, ResourceLabel).
        load_balancer = Select(5, Split(":", Ref(params[PARAM_LOAD_BALANCER])))
        target_group = Select(5, Split(":", Ref(params[PARAM_TARGET_GROUP])))
        label = Join("/", [Select(1, Split("/", load_balancer)),
                           Select(2, Split("/", load_balancer)),
                           Select(3, Split("/", load_balancer)), target_group])
        metrics.append(("Requests", scaling.requests_per_target,
                        applicationautoscaling.PredefinedMetricSpecification(
                            PredefinedMetricType="ALBRequestCountPerTarget",
                            ResourceLabel=label)))
    for name, value, metric in metrics:
        template.add_resource(applicationautoscaling.ScalingPolicy(
            f"{name}ScalingPolicy",
            PolicyName=f"{config.name}-{color}-{name.lower()}",
            PolicyType="TargetTrackingScaling",
            ScalingTargetId=Ref(target),
            TargetTrackingScalingPolicyConfiguration=applicationautoscaling
            .TargetTrackingScalingPolicyConfiguration(
                TargetValue=float(value), PredefinedMetricSpecification=metric),
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
        "LogGroup", RetentionInDays=config.service.log_retention_days,
        Tags=tags(config, **{"stackswap:color": color}),
        **encryption))
    role = add_execution_role(template, config)
    task_definition = add_task_definition(template, config, color, params, role, log_group)
    service = add_service(template, config, color, params, task_definition)
    add_autoscaling(template, config, color, params, service)
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
