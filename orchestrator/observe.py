"""Every read of AWS into the model (orchestrator/model.py). Nothing is cached between runs.

The live colour is read from the load balancer on every run — the target group the production
listener forwards to — and cross-checked with the ALB stack's `LiveColor` parameter
(Observed.drift). Test traffic is what the test listener forwards to (test_mode "port") or the
test host rule (test_mode "host", read with DescribeRules).
"""

from __future__ import annotations

from dataclasses import replace

from stackswap.environment.config import Config, test_path_output
from stackswap.environment.names import (
    COLORS,
    OUTPUT_PRODUCTION_LISTENER,
    OUTPUT_SERVICE_ARN,
    target_group_output,
)
from stackswap.orchestrator.aws import Aws
from stackswap.orchestrator.desired import alb_differences
from stackswap.orchestrator.desired_task import task_changes, view_of
from stackswap.orchestrator.model import (
    Alarm,
    ChangeSet,
    ColorState,
    Observed,
    Paths,
    RunningService,
    ScalingBounds,
    ServiceState,
    Stack,
    StackEvent,
    TargetHealth,
)


def paths_of(config: Config) -> Paths:
    """How messages name the configured production and test paths."""
    listener = config.listener
    test = (f"test host {listener.test_host}" if listener.host_mode
            else f"test :{listener.test_port}")
    return Paths(f"production :{listener.production_port}", test)


def read_listeners(aws: Aws, config: Config, alb: Stack | None) -> tuple[list, list]:
    """What production and test traffic forward to now: the production listener's default
    action, and the test listener's (port mode) or the test rule's actions (host mode)."""
    outputs = alb.outputs if alb else {}
    production_arn = outputs.get(OUTPUT_PRODUCTION_LISTENER)
    test_arn = outputs.get(test_path_output(config))
    host_mode = config.listener.host_mode
    listeners = [arn for arn in (production_arn, None if host_mode else test_arn) if arn]
    found = aws.listener_forwards(listeners) if listeners else {}
    if host_mode and test_arn:
        found |= aws.rule_forwards([test_arn])
    return found.get(production_arn, []), found.get(test_arn, [])


def read_alb_differences(aws: Aws, config: Config, alb: Stack | None
                         ) -> tuple[str, ...] | None:
    """How the deployed ALB stack differs from the config's render (None: no ALB stack)."""
    if alb is None:
        return None
    return alb_differences(config, aws.template_body(alb.name), alb.parameters)


def observe_color_stack(aws: Aws, config: Config, alb: Stack | None, color: str) -> ColorState:
    """A colour's service stack, and its target group from the ALB stack's outputs."""
    outputs = alb.outputs if alb else {}
    return ColorState(color, aws.describe_stack(config.service_stack(color)),
                      outputs.get(target_group_output(color)))


def observe_stacks(aws: Aws, config: Config, compare_alb: bool = False) -> Observed:
    """The stacks and both traffic paths (a few calls): enough to plan. With compare_alb, also
    how the ALB stack differs from the config (GetTemplate, and a render of the config)."""
    alb = aws.describe_stack(config.alb_stack)
    colors = {color: observe_color_stack(aws, config, alb, color) for color in COLORS}
    production, test = read_listeners(aws, config, alb)
    differences = read_alb_differences(aws, config, alb) if compare_alb else None
    return Observed(alb, colors, production, test, aws.alarms(list(config.deploy.alarms)),
                    paths=paths_of(config), alb_differences=differences)


def observe_service(aws: Aws, config: Config, stack: Stack | None) -> ServiceState | None:
    if stack is None or OUTPUT_SERVICE_ARN not in stack.outputs:
        return None
    raw = aws.describe_service(config.cluster, stack.outputs[OUTPUT_SERVICE_ARN])
    if raw is None:
        return None
    arn = raw.get("taskDefinition", "")
    view = view_of(aws.describe_task_definition(arn)) if arn else None
    app = view.container(config.service.container_name) if view else None
    return ServiceState(
        desired=raw.get("desiredCount", 0), running=raw.get("runningCount", 0),
        pending=raw.get("pendingCount", 0), deployments=len(raw.get("deployments", [])),
        image=app.image if app else None, task_definition=view,
        scaling=observe_scaling(aws, config, raw))


def observe_scaling(aws: Aws, config: Config, raw_service: dict) -> ScalingBounds | None:
    """The service's scalable target, with service.autoscaling only (else none is read)."""
    if config.service.autoscaling is None:
        return None
    found = aws.scalable_target(f"service/{config.cluster}/{raw_service.get('serviceName', '')}")
    if found is None:
        return None
    suspended = found.get("SuspendedState") or {}
    return ScalingBounds(found["MinCapacity"], found["MaxCapacity"],
                         any(suspended.get(key) for key in (
                             "DynamicScalingInSuspended", "DynamicScalingOutSuspended")))


def observe_for_deploy(aws: Aws, config: Config, observed: Observed) -> Observed:
    """What a deploy plans with beyond the stacks: each colour's service (its desired count:
    capacity matching) and how its task definition differs from the config."""
    colors, changes = {}, {}
    for color, state in observed.colors.items():
        service = observe_service(aws, config, state.stack)
        colors[color] = replace(state, service=service)
        if service is not None and service.task_definition is not None:
            changes[color] = task_changes(config, service.task_definition)
    return replace(observed, colors=colors, task_changes=changes)


def observe_color(aws: Aws, config: Config, state: ColorState) -> ColorState:
    """A colour's service and target health added to its stack state."""
    service = observe_service(aws, config, state.stack)
    health = (TargetHealth.from_states(aws.target_states(state.target_group))
              if state.target_group else None)
    return ColorState(state.color, state.stack, state.target_group, service, health)


def observe(aws: Aws, config: Config) -> Observed:
    """Everything `status` shows: stacks, listeners, both services and their targets."""
    observed = observe_stacks(aws, config, compare_alb=True)
    colors = {color: observe_color(aws, config, state)
              for color, state in observed.colors.items()}
    policy = aws.stack_policy(config.alb_stack) is not None if observed.alb else None
    return replace(observed, colors=colors, alb_stack_policy=policy)


# --- single reads: what a step re-reads, the poller, the lock and the commands read ----------

def read_stack(aws: Aws, name: str) -> Stack | None:
    return aws.describe_stack(name)


def read_alarms(aws: Aws, config: Config) -> dict[str, Alarm]:
    """The configured alarms (deploy.alarms) as CloudWatch has them now."""
    return aws.alarms(list(config.deploy.alarms))


def read_stack_policy(aws: Aws, name: str) -> str | None:
    return aws.stack_policy(name)


def read_change_set(aws: Aws, arn: str) -> ChangeSet:
    return aws.describe_change_set(arn)


def read_stack_events(aws: Aws, name: str, last_seen_id: str | None) -> list[StackEvent]:
    """The stack's events after `last_seen_id` (all of them for None), oldest first."""
    return aws.stack_events_since(name, last_seen_id)


def newest_event_id(aws: Aws, stack: str) -> str | None:
    """The marker after which events belong to the operation we are about to start."""
    events = aws.stack_events_since(stack, None)
    return events[-1].event_id if events else None


def read_lock(aws: Aws, name: str, version: int | None = None) -> str | None:
    """The deploy lock's SSM parameter value (of `version`: one of its earlier values), None
    when there is no lock (or no such version)."""
    return aws.read_parameter(name, version)


def read_account(aws: Aws) -> str:
    return aws.account_id()


def read_caller(aws: Aws) -> str:
    return aws.caller_arn()


def read_image(aws: Aws, image: str) -> tuple[bool | None, str]:
    """Whether the image exists (None: cannot be told), and a note when it cannot be told."""
    return aws.image_exists(image)


def read_running_service(aws: Aws, cluster: str, name: str) -> RunningService | None:
    """The service and what it is wired to: its task definition, its first load balancer's
    target group and that group's load balancer, its subnets' VPC when no group says it, and
    when it runs no task its scaling target."""
    service = aws.describe_service(cluster, name)
    if service is None:
        return None
    balancers = service.get("loadBalancers") or []
    group_arn = balancers[0].get("targetGroupArn") if balancers else None
    group = aws.target_group(group_arn) if group_arn else None
    balancer = aws.load_balancer(group["LoadBalancerArns"][0]) \
        if group and group.get("LoadBalancerArns") else None
    network = (service.get("networkConfiguration") or {}).get("awsvpcConfiguration") or {}
    subnets = list(network.get("subnets") or [])
    vpcs = aws.subnet_vpcs(subnets) if subnets and not (group and group.get("VpcId")) else {}
    # A retired service (no task desired) says nothing of how many it runs: its scaling
    # target's minimum may.
    scalable = (aws.scalable_target(f"service/{cluster}/{service.get('serviceName', name)}")
                if not service.get("desiredCount") else None)
    return RunningService(service, aws.describe_task_definition(service["taskDefinition"]),
                          group, balancer, vpcs, scalable)

