"""The ALB stack: security group, load balancer, the blue and green target groups, and the two
listeners — production :80 and test :8080 — whose target groups follow the `LiveColor` parameter.

A swap is a parameter-only update of this stack (`LiveColor` flipped, previous template): the
only resources whose properties change are the two listeners.
"""

from __future__ import annotations

from troposphere import Equals, GetAtt, If, Output, Parameter, Ref, Tags, Template
from troposphere import elasticloadbalancingv2 as elb
from troposphere.ec2 import SecurityGroup, SecurityGroupRule

from generator.config import COLORS, Config
from generator.interface import (
    ENV_TAG,
    NO_RELEASE,
    OUTPUT_DNS_NAME,
    OUTPUT_LOAD_BALANCER,
    OUTPUT_PRODUCTION_LISTENER,
    OUTPUT_ROLLBACK_RELEASE,
    OUTPUT_SECURITY_GROUP,
    OUTPUT_TEST_LISTENER,
    PARAM_LIVE_COLOR,
    PARAM_ROLLBACK_RELEASE,
    PARAM_SUBNETS,
    PARAM_TEST_CIDR,
    PARAM_VPC,
    target_group_id,
    target_group_output,
)

BLUE_IS_LIVE = "BlueIsLive"


def tags(config: Config, **extra: str) -> Tags:
    return Tags({ENV_TAG: config.name, **extra})


def add_parameters(template: Template) -> dict[str, Parameter]:
    return {
        PARAM_VPC: template.add_parameter(Parameter(
            PARAM_VPC, Type="AWS::EC2::VPC::Id", Description="VPC of the load balancer")),
        PARAM_SUBNETS: template.add_parameter(Parameter(
            PARAM_SUBNETS, Type="List<AWS::EC2::Subnet::Id>",
            Description="Subnets of the load balancer, in at least two availability zones")),
        PARAM_TEST_CIDR: template.add_parameter(Parameter(
            PARAM_TEST_CIDR, Type="String", AllowedPattern=r"^[0-9a-fA-F.:]+/\d{1,3}$",
            Description="Who may reach the test listener (:8080)")),
        PARAM_LIVE_COLOR: template.add_parameter(Parameter(
            PARAM_LIVE_COLOR, Type="String", AllowedValues=list(COLORS), Default="blue",
            Description="The colour production (:80) forwards to; the other one is on :8080")),
        PARAM_ROLLBACK_RELEASE: template.add_parameter(Parameter(
            PARAM_ROLLBACK_RELEASE, Type="String", Default=NO_RELEASE,
            Description="Task definition production ran before the last successful swap, set "
                        "by every swap: `stackswap rollback` goes back only to it")),
    }


def add_security_group(template: Template, config: Config, params: dict) -> SecurityGroup:
    return template.add_resource(SecurityGroup(
        "LoadBalancerSecurityGroup",
        GroupDescription=f"{config.name} load balancer: :80 public, :8080 test CIDR only",
        VpcId=Ref(params[PARAM_VPC]),
        SecurityGroupIngress=[
            SecurityGroupRule(IpProtocol="tcp", FromPort=config.listener.production_port,
                              ToPort=config.listener.production_port,
                              CidrIp="0.0.0.0/0", Description="production"),
            SecurityGroupRule(IpProtocol="tcp", FromPort=config.listener.test_port,
                              ToPort=config.listener.test_port,
                              CidrIp=Ref(params[PARAM_TEST_CIDR]), Description="test listener"),
        ],
        Tags=tags(config),
    ))


def add_target_group(template: Template, config: Config, params: dict, color: str
                     ) -> elb.TargetGroup:
    health = config.health
    return template.add_resource(elb.TargetGroup(
        target_group_id(color),
        VpcId=Ref(params[PARAM_VPC]),
        Port=config.service.container_port,
        Protocol="HTTP",
        # Fargate tasks register by IP (awsvpc); EC2 tasks by instance and dynamic host port.
        TargetType="ip" if config.service.launch_type == "FARGATE" else "instance",
        HealthCheckPath=health.path,
        HealthCheckIntervalSeconds=health.interval_seconds,
        HealthCheckTimeoutSeconds=health.timeout_seconds,
        HealthyThresholdCount=health.healthy_threshold,
        UnhealthyThresholdCount=health.unhealthy_threshold,
        TargetGroupAttributes=[elb.TargetGroupAttribute(
            Key="deregistration_delay.timeout_seconds",
            Value=str(health.deregistration_delay_seconds))],
        Tags=tags(config, **{"stackswap:color": color}),
    ))


def add_listener(template: Template, name: str, port: int, load_balancer, target_group_arn
                 ) -> elb.Listener:
    return template.add_resource(elb.Listener(
        name,
        LoadBalancerArn=Ref(load_balancer),
        Port=port,
        Protocol="HTTP",
        DefaultActions=[elb.Action(Type="forward", TargetGroupArn=target_group_arn)],
    ))


def alb_template(config: Config) -> Template:
    template = Template(Description=f"stackswap {config.name}: load balancer, blue/green target "
                                    f"groups, production :80 and test :8080 listeners")
    params = add_parameters(template)
    template.add_condition(BLUE_IS_LIVE, Equals(Ref(params[PARAM_LIVE_COLOR]), "blue"))
    security_group = add_security_group(template, config, params)
    load_balancer = template.add_resource(elb.LoadBalancer(
        "LoadBalancer",
        Type="application",
        Scheme="internet-facing",
        Subnets=Ref(params[PARAM_SUBNETS]),
        SecurityGroups=[Ref(security_group)],
        Tags=tags(config),
    ))
    groups = {color: add_target_group(template, config, params, color) for color in COLORS}
    blue, green = (Ref(groups[color]) for color in COLORS)
    production = add_listener(template, "ProductionListener", config.listener.production_port,
                              load_balancer, If(BLUE_IS_LIVE, blue, green))
    test = add_listener(template, "TestListener", config.listener.test_port, load_balancer,
                        If(BLUE_IS_LIVE, green, blue))

    for color in COLORS:
        template.add_output(Output(target_group_output(color), Value=Ref(groups[color]),
                                   Description=f"ARN of the {color} target group"))
    template.add_output([
        Output(OUTPUT_PRODUCTION_LISTENER, Value=Ref(production),
               Description="Production listener (:80)"),
        Output(OUTPUT_TEST_LISTENER, Value=Ref(test), Description="Test listener (:8080)"),
        Output(OUTPUT_DNS_NAME, Value=GetAtt(load_balancer, "DNSName"),
               Description="DNS name of the load balancer"),
        Output(OUTPUT_LOAD_BALANCER, Value=Ref(load_balancer),
               Description="ARN of the load balancer"),
        Output(OUTPUT_ROLLBACK_RELEASE, Value=Ref(params[PARAM_ROLLBACK_RELEASE]),
               Description="Task definition `stackswap rollback` goes back to"),
        Output(OUTPUT_SECURITY_GROUP, Value=GetAtt(security_group, "GroupId"),
               Description="Security group of the load balancer; tasks admit traffic only "
                           "from it"),
    ])
    return template
