"""What the orchestrator relies on in the rendered stacks: listener ports, output names, which
parameters a service stack takes. The templates (alb.py, service.py) and the orchestrator both
read these names from here.

No troposphere here: commands that render no template (`status`, `swap`, `rollback`) then start
without importing it, about 0.05 s sooner.
"""

from __future__ import annotations

from generator.config import Config

PRODUCTION_PORT = 80
TEST_PORT = 8080

# ALB stack outputs
OUTPUT_PRODUCTION_LISTENER = "ProductionListenerArn"
OUTPUT_TEST_LISTENER = "TestListenerArn"
OUTPUT_DNS_NAME = "LoadBalancerDnsName"
OUTPUT_SECURITY_GROUP = "LoadBalancerSecurityGroupId"
OUTPUT_LOAD_BALANCER = "LoadBalancerArn"

# service stack outputs
OUTPUT_SERVICE_ARN = "ServiceArn"
OUTPUT_SERVICE_NAME = "ServiceName"
OUTPUT_TASK_DEFINITION = "TaskDefinitionArn"
OUTPUT_LOG_GROUP = "LogGroupName"


def target_group_id(color: str) -> str:
    """Logical id of a colour's target group ("BlueTargetGroup")."""
    return f"{color.capitalize()}TargetGroup"


def target_group_output(color: str) -> str:
    """Output key holding a colour's target group ARN ("BlueTargetGroupArn")."""
    return f"{target_group_id(color)}Arn"


def is_fargate(config: Config) -> bool:
    """Fargate service stacks (awsvpc tasks, `ip` targets) take the load balancer's security
    group as a parameter; EC2 ones (bridge networking) do not."""
    return config.service.launch_type == "FARGATE"
