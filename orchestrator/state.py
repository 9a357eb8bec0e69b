"""Observe an environment in AWS into plain data.

The live colour is read from the load balancer on every run — the target group the :80 listener
forwards to — and cross-checked with the ALB stack's `LiveColor` parameter. Nothing is cached.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from generator.config import COLORS, Config
from generator.interface import (
    OUTPUT_PRODUCTION_LISTENER,
    OUTPUT_SERVICE_ARN,
    OUTPUT_TEST_LISTENER,
    target_group_output,
)
from orchestrator.aws import Aws, Stack

HEALTHY = "healthy"
# Targets on their way out or not yet checked are neither healthy nor failing.
TRANSIENT_TARGET_STATES = {"draining", "initial", "unused"}


def other(color: str) -> str:
    return COLORS[1 - COLORS.index(color)]


@dataclass(frozen=True)
class ServiceState:
    desired: int
    running: int
    pending: int
    deployments: int
    task_definition: str
    image: str | None

    @property
    def steady(self) -> bool:
        return self.deployments == 1 and self.running == self.desired and self.pending == 0


@dataclass(frozen=True)
class TargetHealth:
    healthy: int = 0
    unhealthy: int = 0
    transient: int = 0

    @classmethod
    def from_states(cls, states: list[str]) -> TargetHealth:
        healthy = sum(state == HEALTHY for state in states)
        transient = sum(state in TRANSIENT_TARGET_STATES for state in states)
        return cls(healthy, len(states) - healthy - transient, transient)


@dataclass(frozen=True)
class ColorState:
    color: str
    stack: Stack | None
    target_group: str | None
    service: ServiceState | None = None
    health: TargetHealth | None = None

    @property
    def image_parameter(self) -> str | None:
        return self.stack.parameters.get("Image") if self.stack else None


@dataclass(frozen=True)
class Observed:
    alb: Stack | None
    colors: dict[str, ColorState]
    # Target groups (ARNs, with weights) each listener forwards to.
    production: list[tuple[str, int]] = field(default_factory=list)
    test: list[tuple[str, int]] = field(default_factory=list)
    # The config's CloudWatch alarms that exist: name -> (ARN, state).
    alarms: dict[str, tuple[str, str]] = field(default_factory=dict)

    def color_of(self, target_group: str) -> str | None:
        for color, state in self.colors.items():
            if state.target_group == target_group:
                return color
        return None

    def listener_color(self, forwards: list[tuple[str, int]]) -> str | None:
        """The colour a listener sends all its traffic to, or None (unknown group or split)."""
        live = [(arn, weight) for arn, weight in forwards if weight > 0]
        if len(live) != 1:
            return None
        return self.color_of(live[0][0])

    @property
    def live_color(self) -> str | None:
        return self.listener_color(self.production)

    @property
    def test_color(self) -> str | None:
        return self.listener_color(self.test)

    @property
    def idle_color(self) -> str | None:
        return other(self.live_color) if self.live_color else None

    def drift(self) -> list[str]:
        """Everything about the listeners that disagrees with stackswap's model."""
        if self.alb is None or not self.production:
            return [] if self.alb is None else ["the :80 listener forwards to no target group"]
        problems = []
        describe = self.describe_forwards
        if self.live_color is None:
            problems.append(f":80 forwards to {describe(self.production)}, not to exactly one "
                            f"of the blue/green target groups")
        if self.test_color is None or self.test_color == self.live_color:
            problems.append(f":8080 forwards to {describe(self.test)}, expected the other colour")
        parameter = self.alb.parameters.get("LiveColor")
        if self.live_color and parameter != self.live_color:
            problems.append(f":80 forwards to {self.live_color} but the ALB stack's LiveColor "
                            f"parameter is {parameter} (changed by hand?)")
        return problems

    def describe_forwards(self, forwards: list[tuple[str, int]]) -> str:
        if not forwards:
            return "nothing"
        names = []
        for arn, weight in forwards:
            name = self.color_of(arn) or f"unknown target group {arn}"
            names.append(name if len(forwards) == 1 else f"{name} (weight {weight})")
        return " + ".join(names)


def read_listeners(aws: Aws, alb: Stack | None) -> tuple[list, list]:
    """What the :80 and :8080 listeners forward to now."""
    outputs = alb.outputs if alb else {}
    arns = [outputs[key] for key in (OUTPUT_PRODUCTION_LISTENER, OUTPUT_TEST_LISTENER)
            if key in outputs]
    found = aws.listener_forwards(arns) if arns else {}
    return (found.get(outputs.get(OUTPUT_PRODUCTION_LISTENER), []),
            found.get(outputs.get(OUTPUT_TEST_LISTENER), []))


def color_stack(aws: Aws, config: Config, alb: Stack | None, color: str) -> ColorState:
    """A colour's service stack, and its target group from the ALB stack's outputs."""
    outputs = alb.outputs if alb else {}
    return ColorState(color, aws.describe_stack(config.service_stack(color)),
                      outputs.get(target_group_output(color)))


def observe_stacks(aws: Aws, config: Config) -> Observed:
    """The stacks and both listeners (a few calls): enough to plan."""
    alb = aws.describe_stack(config.alb_stack)
    colors = {color: color_stack(aws, config, alb, color) for color in COLORS}
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
        task_definition=task_definition, image=images.get(config.service.container_name))


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
    return Observed(observed.alb, colors, observed.production, observed.test, observed.alarms)
