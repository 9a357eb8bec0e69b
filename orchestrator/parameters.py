"""The parameters each stack is sent, one function per stack and operation: `deploy`, `swap`,
`rollback`, `update-alb` and `diff` all build them here, so `diff` shows exactly what the others
send. No I/O.

A parameter given as None keeps its previous value (UsePreviousValue): a parameter-only update
keeps every parameter it does not change, as the previous template does.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from stackswap.environment.config import is_fargate
from stackswap.environment.names import (
    NO_SHIFT,
    OUTPUT_LOAD_BALANCER,
    OUTPUT_SECURITY_GROUP,
    PARAM_CLUSTER,
    PARAM_DESIRED_COUNT,
    PARAM_IMAGE,
    PARAM_LIVE_COLOR,
    PARAM_LIVE_WEIGHT,
    PARAM_LOAD_BALANCER,
    PARAM_LOAD_BALANCER_SECURITY_GROUP,
    PARAM_MIN_CAPACITY,
    PARAM_PRIVATE_SUBNETS,
    PARAM_ROLLBACK_RELEASE,
    PARAM_SHIFT_WEIGHT,
    PARAM_SUBNETS,
    PARAM_TARGET_GROUP,
    PARAM_TEST_CIDR,
    PARAM_TRAFFIC_SHIFT,
    PARAM_VPC,
    target_group_output,
)

if TYPE_CHECKING:
    from stackswap.environment.config import Config
    from stackswap.orchestrator.model import Stack

Parameters = dict[str, str | None]


def alb_parameters(config: Config) -> dict[str, str]:
    """Every ALB-stack parameter the config decides (LiveColor and RollbackRelease are the
    swap's, never the config's)."""
    network = config.network
    parameters = {PARAM_VPC: network.vpc_id, PARAM_SUBNETS: ",".join(network.alb_subnets),
                  PARAM_TEST_CIDR: network.test_cidr}
    if network.private_nlb:
        parameters[PARAM_PRIVATE_SUBNETS] = ",".join(network.task_subnets)
    return parameters


def weight_parameters(shift_weight: int = 0, grid: str = NO_SHIFT) -> dict[str, str]:
    """The ALB stack's traffic-shift parameters: `shift_weight` % of production to the colour
    LiveColor does not name, the rest to LiveColor's, and the shift's grid (NO_SHIFT: none).
    Always sent with a value (the create, `update-alb`, every swap and step), never left to the
    template's defaults, so a stack made before these parameters existed gets them stated."""
    return {PARAM_LIVE_WEIGHT: str(100 - shift_weight), PARAM_SHIFT_WEIGHT: str(shift_weight),
            PARAM_TRAFFIC_SHIFT: grid if shift_weight else NO_SHIFT}


def kept(stack: Stack, **changed: str) -> Parameters:
    """Every parameter of `stack` kept at its previous value, except those `changed`."""
    return {**dict.fromkeys(stack.parameters), **changed}


def alb_create(config: Config, live: str) -> Parameters:
    """The ALB stack's creation: the config's values, `live` on production, no shift."""
    return {**alb_parameters(config), PARAM_LIVE_COLOR: live, **weight_parameters()}


def alb_update(config: Config) -> Parameters:
    """`update-alb`: the config's values; LiveColor and RollbackRelease keep theirs."""
    return {**alb_parameters(config), PARAM_LIVE_COLOR: None, PARAM_ROLLBACK_RELEASE: None,
            **weight_parameters()}


def alb_swap(config: Config, alb: Stack | None, color: str, rollback_release: str | None,
             shift_weight: int = 0, grid: str = NO_SHIFT) -> Parameters:
    """A swap or a shift's step: LiveColor (and RollbackRelease) set, every other parameter kept
    (the config's values reach the stack only through `update-alb` or the create).
    rollback_release None keeps the stack's value, stated as read (under the lock) rather than
    "previous value": the same value, and one a stack still at the template's default takes in
    every emulator too. The weights are sent on a stack whose template has them."""
    previous = dict.fromkeys(alb.parameters) if alb else dict.fromkeys(alb_parameters(config))
    parameters: Parameters = {**previous, PARAM_LIVE_COLOR: color}
    if rollback_release is None and alb is not None:
        rollback_release = alb.parameters.get(PARAM_ROLLBACK_RELEASE)
    if rollback_release is not None:
        parameters[PARAM_ROLLBACK_RELEASE] = rollback_release
    if PARAM_LIVE_WEIGHT in previous or shift_weight:
        parameters |= weight_parameters(shift_weight, grid)
    return parameters


def service(config: Config, alb_outputs: dict[str, str], color: str, image: str,
            previous: Stack | None, desired: int | None = None) -> Parameters:
    """Parameters of a colour's stack. Values derived from the config and the ALB stack are sent
    fresh; DesiredCount keeps the stack's value once it exists (someone may have scaled it),
    unless the deploy matched capacity (`desired`): then DesiredCount and, with autoscaling, the
    MinCapacity floor are that count (docs/capacity.md)."""
    values: Parameters = {
        PARAM_CLUSTER: config.cluster,
        PARAM_TARGET_GROUP: alb_outputs[target_group_output(color)],
        PARAM_IMAGE: image,
        PARAM_DESIRED_COUNT: str(config.service.desired_count),
    }
    if is_fargate(config):
        values |= {PARAM_VPC: config.network.vpc_id,
                   PARAM_SUBNETS: ",".join(config.network.task_subnets),
                   PARAM_LOAD_BALANCER_SECURITY_GROUP: alb_outputs[OUTPUT_SECURITY_GROUP]}
    # A retired colour (DesiredCount 0) starts the config's count again: deploying to it works
    # as to any idle colour.
    if previous is not None and previous.parameters.get(PARAM_DESIRED_COUNT, "0") != "0":
        values[PARAM_DESIRED_COUNT] = None
    scaling = config.service.autoscaling
    if scaling is not None:
        if scaling.requests_per_target:
            values[PARAM_LOAD_BALANCER] = alb_outputs[OUTPUT_LOAD_BALANCER]
        values[PARAM_MIN_CAPACITY] = str(scaling.min)
    if desired is not None:
        values[PARAM_DESIRED_COUNT] = str(desired)
        if scaling is not None:
            values[PARAM_MIN_CAPACITY] = str(desired)
    return values
