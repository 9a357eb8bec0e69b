"""The contract between the rendered stacks and the orchestrator: every stack, parameter, output,
swapped resource and tag name, and the lock path (the ports are the config's: config.listener;
which resource carries test traffic for a config is config.py's).
The templates (elb.py, service.py, deploy_role.py) and the orchestrator read these names from
here and nowhere else.

No troposphere here: commands that render no template (`status`, `swap`, `rollback`) start
without importing it.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

if TYPE_CHECKING:
    pass

COLORS = ("blue", "green")

# Every stack of an environment carries this tag, with the environment's name.
ENV_TAG = "stackswap:env"

# ALB stack parameters
PARAM_VPC = "VpcId"
PARAM_SUBNETS = "Subnets"
PARAM_TEST_CIDR = "TestCidr"
PARAM_LIVE_COLOR = "LiveColor"
# The task definition production ran before the last successful swap: `stackswap rollback` goes
# back only to it. Every swap sets it; a swap CloudFormation reverts restores it with LiveColor.
PARAM_ROLLBACK_RELEASE = "RollbackRelease"
NO_RELEASE = "none"  # its value before the first swap
# A traffic shift (deploy.strategy "canary" or "linear"): the production listener forwards
# ShiftWeight % to the colour LiveColor does not name and LiveWeight % (100 - ShiftWeight, set
# together) to LiveColor's; TrafficShift records the shift's step grid ("linear:25:300": strategy,
# percent, interval seconds) so that a split stackswap made is told apart from drift, and is
# NO_SHIFT outside a shift. LiveWeight 100 / ShiftWeight 0 routes as a plain forward does.
PARAM_LIVE_WEIGHT = "LiveWeight"
PARAM_SHIFT_WEIGHT = "ShiftWeight"
PARAM_TRAFFIC_SHIFT = "TrafficShift"
NO_SHIFT = "none"
# network.private_nlb only: the internal NLB's subnets (the config's task subnets)
PARAM_PRIVATE_SUBNETS = "PrivateSubnets"

# service stack parameters (Fargate stacks add PARAM_VPC, PARAM_SUBNETS and
# PARAM_LOAD_BALANCER_SECURITY_GROUP)
PARAM_CLUSTER = "Cluster"
PARAM_TARGET_GROUP = "TargetGroupArn"
PARAM_IMAGE = "Image"
PARAM_DESIRED_COUNT = "DesiredCount"
PARAM_LOAD_BALANCER_SECURITY_GROUP = "LoadBalancerSecurityGroupId"
# service.autoscaling only: the scalable target's floor (stackswap sets it with DesiredCount:
# docs/capacity.md), and with requests_per_target the ALB's ARN (the metric's
# ResourceLabel names the load balancer and the target group).
PARAM_MIN_CAPACITY = "MinCapacity"
PARAM_LOAD_BALANCER = "LoadBalancerArn"

# ALB stack resources a swap modifies: the production listener's default action, and the test
# listener's (test_mode "port") or the test rule's (test_mode "host"). The redirect listener
# (HTTPS) and the private NLB never change on a swap.
PRODUCTION_LISTENER = "ProductionListener"
TEST_LISTENER = "TestListener"
TEST_RULE = "TestRule"
# host mode: requests for the test host from outside TestCidr get a 403 from this rule instead
# of falling through to production (a smoke test must never pass on the live colour).
TEST_HOST_REFUSAL_RULE = "TestHostRefusalRule"
REDIRECT_LISTENER = "RedirectListener"
PRIVATE_LOAD_BALANCER = "PrivateLoadBalancer"
PRIVATE_TARGET_GROUP = "PrivateTargetGroup"
PRIVATE_LISTENER = "PrivateListener"

# ALB stack outputs
OUTPUT_PRODUCTION_LISTENER = "ProductionListenerArn"
OUTPUT_TEST_LISTENER = "TestListenerArn"  # test_mode "port"
OUTPUT_TEST_RULE = "TestRuleArn"  # test_mode "host"
OUTPUT_PRIVATE_DNS_NAME = "PrivateLoadBalancerDnsName"  # network.private_nlb
OUTPUT_DNS_NAME = "LoadBalancerDnsName"
OUTPUT_SECURITY_GROUP = "LoadBalancerSecurityGroupId"
OUTPUT_LOAD_BALANCER = "LoadBalancerArn"
OUTPUT_ROLLBACK_RELEASE = "RollbackRelease"
OUTPUT_TRAFFIC_SHIFT = "TrafficShift"

# service stack outputs
OUTPUT_SERVICE_ARN = "ServiceArn"
OUTPUT_SERVICE_NAME = "ServiceName"
OUTPUT_TASK_DEFINITION = "TaskDefinitionArn"
OUTPUT_LOG_GROUP = "LogGroupName"


def alb_stack_name(env: str) -> str:
    return f"{env}-elb"


def service_stack_name(env: str, color: str) -> str:
    return f"{env}-{color}"


def lock_parameter_name(env: str) -> str:
    """The SSM parameter that is the environment's deploy lock (orchestrator/lock.py)."""
    return f"/stackswap/{env}/lock"


def target_group_id(color: str) -> str:
    """Logical id of a colour's target group ("BlueTargetGroup")."""
    return f"{color.capitalize()}TargetGroup"


def target_group_output(color: str) -> str:
    """Output key holding a colour's target group ARN ("BlueTargetGroupArn")."""
    return f"{target_group_id(color)}Arn"

