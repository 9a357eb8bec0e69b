"""The step handlers, by family: stacks (create, update, scale, recover), verification (a
colour, production, the gates) and traffic (swap, the way back, shifts, holds). HANDLERS maps
each step of plan.py to its handler."""

from __future__ import annotations

from collections.abc import Callable

from stackswap.orchestrator.context import Context
from stackswap.orchestrator.plan import (
    Bake,
    CancelSwap,
    ContinueRollback,
    CreateAlb,
    CreateService,
    Gate,
    ReleaseFloor,
    Restore,
    Retire,
    ShiftBack,
    ShiftStep,
    Step,
    Swap,
    UpdateService,
    Verify,
    VerifyLive,
    WaitFor,
)
from stackswap.orchestrator.steps.stacks import (
    continue_rollback,
    create_alb,
    create_service,
    release_floor,
    restore,
    retire,
    update_service,
    wait_for_other,
)
from stackswap.orchestrator.steps.traffic import bake, cancel_swap, shift_back, shift_step, swap
from stackswap.orchestrator.steps.verification import gate_step, verify, verify_live

HANDLERS: dict[type, Callable[[Step, Context], None]] = {
    CreateAlb: create_alb, CreateService: create_service, UpdateService: update_service,
    WaitFor: wait_for_other, Verify: verify, Swap: swap, VerifyLive: verify_live,
    CancelSwap: cancel_swap, ContinueRollback: continue_rollback, ReleaseFloor: release_floor,
    ShiftStep: shift_step,
    ShiftBack: shift_back, Gate: gate_step, Bake: bake, Retire: retire, Restore: restore,
}
