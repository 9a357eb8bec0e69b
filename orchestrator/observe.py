"""Every read of AWS into the model (orchestrator/model.py). Nothing is cached between runs.

The live colour is read from the load balancer on every run — the target group the :80 listener
forwards to — and cross-checked with the ALB stack's `LiveColor` parameter (Observed.drift).
"""

from __future__ import annotations

from generator.config import COLORS, Config
from generator.interface import (
    OUTPUT_PRODUCTION_LISTENER,
    OUTPUT_SERVICE_ARN,
    OUTPUT_TEST_LISTENER,
    target_group_output,
)
from orchestrator.aws import Aws
from orchestrator.model import ColorState, Observed, ServiceState, Stack, TargetHealth


def read_listeners(aws: Aws, alb: Stack | None) -> tuple[list, list]:
    """What the :80 and :8080 listeners forward to now."""
    outputs = alb.outputs if alb else {}
    arns = [outputs[key] for key in (OUTPUT_PRODUCTION_LISTENER, OUTPUT_TEST_LISTENER)
            if key in outputs]
    found = aws.listener_forwards(arns) if arns else {}
    return (found.get(outputs.get(OUTPUT_PRODUCTION_LISTENER), []),
            found.get(outputs.get(OUTPUT_TEST_LISTENER), []))


def observe_color_stack(aws: Aws, config: Config, alb: Stack | None, color: str) -> ColorState:
    """A colour's service stack, and its target group from the ALB stack's outputs."""
    outputs = alb.outputs if alb else {}
    return ColorState(color, aws.describe_stack(config.service_stack(color)),
                      outputs.get(target_group_output(color)))


def observe_stacks(aws: Aws, config: Config) -> Observed:
    """The stacks and both listeners (a few calls): enough to plan."""
    alb = aws.describe_stack(config.alb_stack)
    colors = {color: observe_color_stack(aws, config, alb, color) for color in COLORS}
    production, test = read_listeners(aws, alb)
    return Observed(alb, colors, production, test, aws.alarms(list(config.deploy.alarms)))


def observe_service(aws: Aws, config: Config, stack: Stack | None) -> ServiceState | None:
    if stack is None or OUTPUT_SERVICE_ARN not in stack.outputs:
        return None
    raw = aws.describe_service(config.cluster, stack.outputs[OUTPUT_SERVICE_ARN])
    if raw is None:
        return None
    task_definition = raw.get("taskDefinition", "")
    images = aws.task_definition_images(task_definition) if task_definition else {}
    return ServiceState(
        desired=raw.get("desiredCount", 0), running=raw.get("runningCount", 0),
        pending=raw.get("pendingCount", 0), deployments=len(raw.get("deployments", [])),
        image=images.get(config.service.container_name))


def observe_color(aws: Aws, config: Config, state: ColorState) -> ColorState:
    """A colour's service and target health added to its stack state."""
    service = observe_service(aws, config, state.stack)
    health = (TargetHealth.from_states(aws.target_states(state.target_group))
              if state.target_group else None)
    return ColorState(state.color, state.stack, state.target_group, service, health)


def observe(aws: Aws, config: Config) -> Observed:
    """Everything `status` shows: stacks, listeners, both services and their targets."""
    observed = observe_stacks(aws, config)
    colors = {color: observe_color(aws, config, state)
              for color, state in observed.colors.items()}
    policy = aws.has_stack_policy(config.alb_stack) if observed.alb else None
    return Observed(observed.alb, colors, observed.production, observed.test, observed.alarms,
                    policy)
