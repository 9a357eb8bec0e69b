"""Where moto differs from real AWS (CloudFormation, ECS, ELBv2, CloudWatch, Application Auto
Scaling), and the sandbox's fixes: the one package that patches moto.

One module per gap family, each with its gaps' numbers, what plain moto does and what real AWS
does, and its patches (`PATCHES`: name -> (owner, attribute, replacement)):

- stack_updates: gap 1, an update re-applies what CloudFormation re-applies, in dependency order
- ecs_services: gaps 2, 5, 6 and 27, a CloudFormation ECS service's task definition revision,
  load balancers, deletion and launch type
- task_definitions: gaps 3 and 24, a CloudFormation task definition registered (and replaced) as
  RegisterTaskDefinition registers it
- targets: gaps 4 and 10, targets by Id and Port, their health from the sandbox's health checks
- parameters: gaps 7 and 20, parameters compared and shown as sent
- operations: gaps 8, 9, 11 and 13, stack operations handed to the sandbox's StackOperations
- termination_protection: gap 12, UpdateTerminationProtection
- composite_alarms: gap 14, PutCompositeAlarm and composite alarms' states
- change_sets: gap 15, change sets listed and executed as CloudFormation does
- listener_actions: gap 16, a Listener's weighted forward actions
- listener_certificates: gap 17, the ListenerCertificate resource
- load_balancer_type: gap 18, a LoadBalancer's `Type`
- target_group_targets: gap 19, a TargetGroup's `Targets`
- target_group_updates: gap 21, a TargetGroup modified by a stack update
- scaling: gaps 22, 23 and 26, Application Auto Scaling's CloudFormation resources, JSON
  answers and RegisterScalableTarget's clamp of the capacity into range
- request_routing: gap 25, the services moto routes requests to, listed once
- resource_types: the one lookup through which moto's CloudFormation finds the models of gaps 17
  and 22

Each gap has a pin test in tests/test_moto_gaps_*.py that shows plain moto still has it, so an
upgrade that closes one is noticed and its fix can go.

Gaps 8-11 and 13, and the execution of a change set (gap 15), are filled by the sandbox's
emulators (sandbox/stack_operations.py, sandbox/target_health.py); their modules only wire the
emulators' hooks into moto (`install(stack_operations, target_health)`), so that this package is
the one place that patches moto. Without a hook, that part stays as moto has it. The
sandbox's server installs every fix with both hooks; the tests' moto server installs them with
none.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from stackswap.sandbox.moto_gaps import (
    change_sets,
    composite_alarms,
    ecs_services,
    listener_actions,
    load_balancer_type,
    operations,
    parameters,
    request_routing,
    resource_types,
    scaling,
    stack_updates,
    target_group_targets,
    target_group_updates,
    targets,
    task_definitions,
    termination_protection,
)
from stackswap.sandbox.moto_gaps._common import HOOKS, MISSING, ORIGINALS

if TYPE_CHECKING:
    from stackswap.sandbox.stack_operations import StackOperations
    from stackswap.sandbox.target_health import TargetHealthBook

# The modules that patch moto (listener_certificates' model is installed by resource_types').
FAMILIES = (stack_updates, ecs_services, task_definitions, targets, parameters, operations,
            termination_protection, composite_alarms, change_sets, listener_actions,
            resource_types, load_balancer_type, target_group_targets, target_group_updates,
            scaling, request_routing)


def _patches() -> dict[str, tuple[Any, str, Any]]:
    """Every moto attribute the sandbox replaces, each once: name -> (owner, attribute, fix)."""
    found: dict[str, tuple[Any, str, Any]] = {}
    for family in FAMILIES:
        for name, patch in family.PATCHES.items():
            if name in found:  # ORIGINALS is keyed by name: one fix would lose moto's own
                raise RuntimeError(f"moto patch {name!r} is defined twice")
            found[name] = patch
    return found


def install(stack_operations: StackOperations | None = None,
            target_health: TargetHealthBook | None = None) -> None:
    """Apply every fix to moto in this process, and hand gaps 8, 9, 11, 13 and 15's execution
    to `stack_operations` and gap 10 to `target_health` (None: moto's own behaviour there). Each
    moto attribute is patched once, whatever the number of calls; the hooks are the last
    call's."""
    HOOKS.update(stack_operations=stack_operations, target_health=target_health)
    if ORIGINALS:
        return
    for name, (owner, attribute, fix) in _patches().items():
        ORIGINALS[name] = owner.__dict__.get(attribute, MISSING)
        setattr(owner, attribute, fix)


def installed() -> bool:
    """Whether the fixes are applied (the pin tests run on plain moto)."""
    return bool(ORIGINALS)


def uninstall() -> None:
    """Restore plain moto, hooks unwired (used by the pin tests)."""
    HOOKS.update(stack_operations=None, target_health=None)
    if not ORIGINALS:
        return
    for name, (owner, attribute, _) in _patches().items():
        original = ORIGINALS.pop(name)
        if original is MISSING:
            delattr(owner, attribute)
        else:
            setattr(owner, attribute, original)
