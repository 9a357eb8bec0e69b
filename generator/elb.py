"""The ALB stack: security group, load balancer, the blue and green target groups, and what
carries production and test traffic, all ports from `config.listener`:

- production: `ProductionListener` (HTTP, or HTTPS with the config's certificates);
- test, `test_mode = "port"`: `TestListener` on its own port, open to `TestCidr` only;
- test, `test_mode = "host"`: `TestRule` on the production listener (host header `test_host`
  from `TestCidr`), and `TestHostRefusalRule` answering 403 to that host from anywhere else;
- HTTPS only: `RedirectListener`, a permanent redirect to https that no swap touches;
- `network.private_nlb`: an internal NLB whose target group (type `alb`) is the ALB's production
  listener, so private clients follow every swap with the public ones.

A swap is a parameter-only update of this stack (`LiveColor` flipped, previous template): the
only resources whose properties change are `swapped_resources(config)`. A traffic shift's step
is one too: `LiveWeight`/`ShiftWeight` set production's forward weights over both groups.
"""

from __future__ import annotations

from stackswap.environment.config import Config
from stackswap.environment.names import (
    COLORS,
    ENV_TAG,
    NO_RELEASE,
    NO_SHIFT,
    OUTPUT_DNS_NAME,
    OUTPUT_LOAD_BALANCER,
    OUTPUT_PRIVATE_DNS_NAME,
    OUTPUT_PRODUCTION_LISTENER,
    OUTPUT_ROLLBACK_RELEASE,
    OUTPUT_SECURITY_GROUP,
    OUTPUT_TEST_LISTENER,
    OUTPUT_TEST_RULE,
    OUTPUT_TRAFFIC_SHIFT,
    PARAM_LIVE_COLOR,
    PARAM_LIVE_WEIGHT,
    PARAM_PRIVATE_SUBNETS,
    PARAM_ROLLBACK_RELEASE,
    PARAM_SHIFT_WEIGHT,
    PARAM_SUBNETS,
    PARAM_TEST_CIDR,
    PARAM_TRAFFIC_SHIFT,
    PARAM_VPC,
    PRIVATE_LISTENER,
    PRIVATE_LOAD_BALANCER,
    PRIVATE_TARGET_GROUP,
    PRODUCTION_LISTENER,
    REDIRECT_LISTENER,
    TEST_HOST_REFUSAL_RULE,
    TEST_LISTENER,
    TEST_RULE,
    target_group_id,
    target_group_output,
)
from troposphere import Equals, GetAtt, If, Output, Parameter, Ref, Tags, Template
from troposphere import elasticloadbalancingv2 as elb
from troposphere.ec2 import SecurityGroup, SecurityGroupRule

BLUE_IS_LIVE = "BlueIsLive"
LOAD_BALANCER = "LoadBalancer"
SECURITY_GROUP = "LoadBalancerSecurityGroup"
# The ALB's request hardening (Elastic Load Balancing, "Application Load Balancers", load
# balancer attributes and "Desync mitigation mode"): drop header fields that are not valid HTTP,
# and classify requests with the desync guardian in ELB's default mode, defensive ("durable
# mitigation against HTTP desync while maintaining the availability of your application";
# strictest also refuses compliant-but-unusual requests some clients send). Stated in the
# template so it does not depend on a default, and a scanner can see it.
LOAD_BALANCER_ATTRIBUTES = {
    "routing.http.drop_invalid_header_fields.enabled": "true",
    "routing.http.desync_mitigation_mode": "defensive",
}


def load_balancer_attributes(config: Config) -> dict[str, str]:
    """The request hardening, and access logs: on with `listener.access_logs_bucket`, else
    stated off, so removing the bucket from the config turns them off rather than leaving
    whatever the load balancer had."""
    listener = config.listener
    attributes = dict(LOAD_BALANCER_ATTRIBUTES)
    attributes["access_logs.s3.enabled"] = str(listener.access_logs_bucket is not None).lower()
    if listener.access_logs_bucket is not None:
        attributes["access_logs.s3.bucket"] = listener.access_logs_bucket
        if listener.access_logs_prefix is not None:
            attributes["access_logs.s3.prefix"] = listener.access_logs_prefix
    return attributes


# Host mode: what a request for the test host from outside TestCidr gets instead of production.
REFUSAL_STATUS = "403"


def tags(config: Config, **extra: str) -> Tags:
    return Tags({ENV_TAG: config.name, **extra})


def add_parameters(template: Template, config: Config) -> dict[str, Parameter]:
    params = {
        PARAM_VPC: Parameter(PARAM_VPC, Type="AWS::EC2::VPC::Id",
                             Description="VPC of the load balancer"),
        PARAM_SUBNETS: Parameter(
            PARAM_SUBNETS, Type="List<AWS::EC2::Subnet::Id>",
            Description="Subnets of the load balancer, in at least two availability zones"),
        PARAM_TEST_CIDR: Parameter(
            PARAM_TEST_CIDR, Type="String", AllowedPattern=r"^[0-9a-fA-F.:]+/\d{1,3}$",
            Description="Who may reach the test path (test listener or test host), as the "
                        "load balancer sees them"),
        PARAM_LIVE_COLOR: Parameter(
            PARAM_LIVE_COLOR, Type="String", AllowedValues=list(COLORS), Default="blue",
            Description="The colour production forwards to; the other one gets test traffic"),
        PARAM_ROLLBACK_RELEASE: Parameter(
            PARAM_ROLLBACK_RELEASE, Type="String", Default=NO_RELEASE,
            Description="Task definition production ran before the last successful swap, set "
                        "by every swap: `stackswap rollback` goes back only to it"),
        PARAM_LIVE_WEIGHT: Parameter(
            PARAM_LIVE_WEIGHT, Type="Number", MinValue=0, MaxValue=100, Default=100,
            Description="Percent of production the live colour gets (100 - ShiftWeight)"),
        PARAM_SHIFT_WEIGHT: Parameter(
            PARAM_SHIFT_WEIGHT, Type="Number", MinValue=0, MaxValue=100, Default=0,
            Description="Percent of production the other colour gets during a traffic shift"),
        PARAM_TRAFFIC_SHIFT: Parameter(
            PARAM_TRAFFIC_SHIFT, Type="String", Default=NO_SHIFT,
            AllowedPattern=r"^(none|(canary|linear):\d{1,2}:\d{1,6})$",
            Description="The traffic shift in progress (strategy:percent:interval seconds), "
                        "or none"),
    }
    if config.network.private_nlb:
        params[PARAM_PRIVATE_SUBNETS] = Parameter(
            PARAM_PRIVATE_SUBNETS, Type="List<AWS::EC2::Subnet::Id>",
            Description="Subnets of the internal NLB, in availability zones of the load "
                        "balancer")
    return {name: template.add_parameter(param) for name, param in params.items()}


def security_group_description(config: Config) -> str:
    """GroupDescription cannot change without replacing the group, which the stack policy
    refuses. The article's mode (HTTP :80/:8080, test by port) keeps the text ALB stacks have
    always had, so they update in place; other modes name no port, so a later port change stays
    in place. Switching an existing stack between the two, a port change of the article's mode
    included, is a replacement, which `update-alb` refuses: the tasks admit only this group's id
    (docs/update-alb.md, "Listener ports")."""
    listener = config.listener
    if (not listener.https and not listener.host_mode
            and (listener.production_port, listener.test_port) == (80, 8080)):
        return f"{config.name} load balancer: :80 public, :8080 test CIDR only"
    return f"{config.name} load balancer: listeners as configured, test path from TestCidr only"


def add_security_group(template: Template, config: Config, params: dict) -> SecurityGroup:
    """Ingress for exactly the listeners that exist: production (and the redirect) from
    anywhere, the test listener from TestCidr. Host mode has no test port: its test traffic
    arrives on the production port and the rule's source-ip condition admits TestCidr."""
    listener = config.listener
    public = [(listener.production_port, "production")]
    if listener.https:
        public.append((listener.redirect_port, "redirect to https"))
    rules = [SecurityGroupRule(IpProtocol="tcp", FromPort=port, ToPort=port, CidrIp="0.0.0.0/0",
                               Description=what) for port, what in public]
    if listener.test_port is not None:
        rules.append(SecurityGroupRule(
            IpProtocol="tcp", FromPort=listener.test_port, ToPort=listener.test_port,
            CidrIp=Ref(params[PARAM_TEST_CIDR]), Description="test listener"))
    return template.add_resource(SecurityGroup(
        SECURITY_GROUP,
        GroupDescription=security_group_description(config),
        VpcId=Ref(params[PARAM_VPC]),
        SecurityGroupIngress=rules,
        Tags=tags(config),
    ))


def add_load_balancer(template: Template, config: Config, params: dict,
                      security_group: SecurityGroup) -> elb.LoadBalancer:
    return template.add_resource(elb.LoadBalancer(
        LOAD_BALANCER,
        Type="application",
        Scheme=config.network.scheme,
        Subnets=Ref(params[PARAM_SUBNETS]),
        SecurityGroups=[Ref(security_group)],
        LoadBalancerAttributes=[elb.LoadBalancerAttributes(Key=key, Value=value)
                                for key, value in load_balancer_attributes(config).items()],
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


def add_listener(template: Template, config: Config, name: str, port: int, load_balancer,
                 action: elb.Action) -> elb.Listener:
    """An HTTP listener, or with certificates an HTTPS one: the first certificate is its
    default, the others are added as ListenerCertificate resources (one certificate each, as
    that resource takes)."""
    listener = config.listener
    properties: dict = {}
    if listener.https:
        properties = {"Certificates": [elb.Certificate(
            CertificateArn=listener.certificate_arns[0])], "SslPolicy": listener.ssl_policy}
    resource = template.add_resource(elb.Listener(
        name, LoadBalancerArn=Ref(load_balancer), Port=port, Protocol=listener.protocol,
        DefaultActions=[action], **properties))
    for number, arn in enumerate(listener.certificate_arns[1:], start=2):
        template.add_resource(elb.ListenerCertificate(
            f"{name}Certificate{number}", ListenerArn=Ref(resource),
            Certificates=[elb.Certificate(CertificateArn=arn)]))
    return resource


def forward(target_group_arn) -> elb.Action:
    return elb.Action(Type="forward", TargetGroupArn=target_group_arn)


def weighted_forward(params: dict, groups: dict) -> elb.Action:
    """Production's forward over both target groups: LiveWeight to LiveColor's group,
    ShiftWeight to the other (ELB: weights 0 to 999, a group of weight 0 gets no request). At
    100/0 it routes exactly as a forward to the live group; a traffic shift moves the weights
    by a parameter-only update."""
    live, shift = Ref(params[PARAM_LIVE_WEIGHT]), Ref(params[PARAM_SHIFT_WEIGHT])
    return elb.Action(Type="forward", ForwardConfig=elb.ForwardConfig(TargetGroups=[
        elb.TargetGroupTuple(TargetGroupArn=Ref(groups["blue"]),
                             Weight=If(BLUE_IS_LIVE, live, shift)),
        elb.TargetGroupTuple(TargetGroupArn=Ref(groups["green"]),
                             Weight=If(BLUE_IS_LIVE, shift, live)),
    ]))


def add_redirect_listener(template: Template, config: Config, load_balancer) -> elb.Listener:
    """HTTP on redirect_port: a permanent redirect to the same host, path and query over https
    on the production port. It forwards nowhere, so a swap never changes it."""
    return template.add_resource(elb.Listener(
        REDIRECT_LISTENER, LoadBalancerArn=Ref(load_balancer), Port=config.listener.redirect_port,
        Protocol="HTTP",
        DefaultActions=[elb.Action(Type="redirect", RedirectConfig=elb.RedirectConfig(
            Protocol="HTTPS", Port=str(config.listener.production_port), Host="#{host}",
            Path="/#{path}", Query="#{query}", StatusCode="HTTP_301"))]))


def add_test_rules(template: Template, config: Config, params: dict, production: elb.Listener,
                   idle_target_group) -> elb.ListenerRule:
    """Host mode: the test host from TestCidr goes to the idle colour (priority 1); the test
    host from anywhere else gets a 403 (priority 2) rather than the default action, production:
    a smoke test from a wrong address must fail, never pass on the live colour."""
    host = elb.Condition(Field="host-header", HostHeaderConfig=elb.HostHeaderConfig(
        Values=[config.listener.test_host]))
    source = elb.Condition(Field="source-ip", SourceIpConfig=elb.SourceIpConfig(
        Values=[Ref(params[PARAM_TEST_CIDR])]))
    rule = template.add_resource(elb.ListenerRule(
        TEST_RULE, ListenerArn=Ref(production), Priority=1, Conditions=[host, source],
        Actions=[elb.ListenerRuleAction(Type="forward", TargetGroupArn=idle_target_group)]))
    template.add_resource(elb.ListenerRule(
        TEST_HOST_REFUSAL_RULE, ListenerArn=Ref(production), Priority=2, Conditions=[host],
        Actions=[elb.ListenerRuleAction(
            Type="fixed-response", FixedResponseConfig=elb.FixedResponseConfig(
                StatusCode=REFUSAL_STATUS, ContentType="text/plain",
                MessageBody=f"{config.listener.test_host} answers only clients in "
                            f"network.test_cidr"))]))
    return rule


def add_private_nlb(template: Template, config: Config, params: dict, load_balancer,
                    production: elb.Listener) -> elb.LoadBalancer:
    """An internal NLB in front of the ALB (seed 004): its target group of type `alb` has the
    ALB as its one target, on the production port, so what production serves — whichever
    colour — is what private clients get. ELB requires the ALB to have a listener on the target
    group's port, hence DependsOn; both load balancers are in the one VPC of the stack."""
    port, health = config.listener.production_port, config.health
    nlb = template.add_resource(elb.LoadBalancer(
        PRIVATE_LOAD_BALANCER, Type="network", Scheme="internal",
        Subnets=Ref(params[PARAM_PRIVATE_SUBNETS]), Tags=tags(config)))
    target_group = template.add_resource(elb.TargetGroup(
        PRIVATE_TARGET_GROUP, DependsOn=[production.title], VpcId=Ref(params[PARAM_VPC]),
        TargetType="alb", Protocol="TCP", Port=port,
        Targets=[elb.TargetDescription(Id=Ref(load_balancer), Port=port)],
        # The NLB checks the ALB with HTTP(S) on the production port: healthy while production
        # answers health.path.
        HealthCheckProtocol=config.listener.protocol, HealthCheckPath=health.path,
        Tags=tags(config)))
    template.add_resource(elb.Listener(
        PRIVATE_LISTENER, LoadBalancerArn=Ref(nlb), Port=port, Protocol="TCP",
        DefaultActions=[forward(Ref(target_group))]))
    return nlb


def describe(config: Config) -> str:
    listener = config.listener
    test = (f"test host {listener.test_host}" if listener.host_mode
            else f"test :{listener.test_port}")
    parts = [f"production {listener.protocol} :{listener.production_port}", test]
    if listener.https:
        parts.append(f":{listener.redirect_port} redirects to https")
    if config.network.private_nlb:
        parts.append("internal NLB")
    return (f"stackswap {config.name}: load balancer, blue/green target groups, "
            f"{', '.join(parts)}")


def alb_template(config: Config) -> Template:
    listener = config.listener
    template = Template(Description=describe(config))
    params = add_parameters(template, config)
    template.add_condition(BLUE_IS_LIVE, Equals(Ref(params[PARAM_LIVE_COLOR]), "blue"))
    security_group = add_security_group(template, config, params)
    load_balancer = add_load_balancer(template, config, params, security_group)
    groups = {color: add_target_group(template, config, params, color) for color in COLORS}
    idle = If(BLUE_IS_LIVE, Ref(groups['green']), Ref(groups['blue']))
    production = add_listener(template, config, PRODUCTION_LISTENER, listener.production_port,
                              load_balancer, weighted_forward(params, groups))
    if listener.host_mode:
        test = add_test_rules(template, config, params, production, idle)
        test_output = Output(OUTPUT_TEST_RULE, Value=Ref(test),
                             Description=f"Test rule ({listener.test_host}) on the production "
                                         f"listener")
    else:
        test = add_listener(template, config, TEST_LISTENER, listener.test_port, load_balancer,
                            forward(idle))
        test_output = Output(OUTPUT_TEST_LISTENER, Value=Ref(test),
                             Description=f"Test listener (:{listener.test_port})")
    if listener.https:
        add_redirect_listener(template, config, load_balancer)

    for color in COLORS:
        template.add_output(Output(target_group_output(color), Value=Ref(groups[color]),
                                   Description=f"ARN of the {color} target group"))
    template.add_output([
        Output(OUTPUT_PRODUCTION_LISTENER, Value=Ref(production),
               Description=f"Production listener (:{listener.production_port})"),
        test_output,
        Output(OUTPUT_DNS_NAME, Value=GetAtt(load_balancer, "DNSName"),
               Description="DNS name of the load balancer"),
        Output(OUTPUT_LOAD_BALANCER, Value=Ref(load_balancer),
               Description="ARN of the load balancer"),
        Output(OUTPUT_ROLLBACK_RELEASE, Value=Ref(params[PARAM_ROLLBACK_RELEASE]),
               Description="Task definition `stackswap rollback` goes back to"),
        Output(OUTPUT_TRAFFIC_SHIFT, Value=Ref(params[PARAM_TRAFFIC_SHIFT]),
               Description="The traffic shift in progress (strategy:percent:interval), or none"),
        Output(OUTPUT_SECURITY_GROUP, Value=GetAtt(security_group, "GroupId"),
               Description="Security group of the load balancer; tasks admit traffic only "
                           "from it"),
    ])
    if config.network.private_nlb:
        nlb = add_private_nlb(template, config, params, load_balancer, production)
        template.add_output(Output(OUTPUT_PRIVATE_DNS_NAME, Value=GetAtt(nlb, "DNSName"),
                                   Description="DNS name of the internal NLB in front of the "
                                               "production listener"))
    return template
