"""`stackswap diff` and `deploy --dry-run`: what a plan would change, asked of CloudFormation.

For each stack the plan would update, a change set is created with exactly the template and
parameters the step would send, described, and deleted — never executed (an unexecuted change
set changes nothing: "Change sets don't indicate whether CloudFormation will successfully
update a stack", CloudFormation User Guide, "Update CloudFormation stacks using change sets").
A swap is previewed as the parameter-only update of the ALB stack it is. Stacks the plan would
create are named with the template's resources. Traffic and images before and after come from
the plan and the observation: plain data, rendered by output/diff.py.
"""

from __future__ import annotations

from collections.abc import Callable

from stackswap.orchestrator import parameters as sent
from stackswap.orchestrator.commands.update_alb import forget_change_set, settled_change_set
from stackswap.orchestrator.context import Context
from stackswap.orchestrator.model import ChangeSet, Observed
from stackswap.orchestrator.output.diff import print_diff
from stackswap.orchestrator.output.text import length_document
from stackswap.orchestrator.plan import (
    CreateAlb,
    CreateService,
    Plan,
    Swap,
    UpdateService,
    plan_length,
)
from stackswap.orchestrator.run import planned
from stackswap.orchestrator.steps.stacks import template_body


def change_document(change_set: ChangeSet | None) -> dict:
    if change_set is None:
        return {"status": "NEW", "reason": "", "changes": []}
    return {"status": "NO_CHANGES" if change_set.empty else change_set.status,
            "reason": "" if change_set.empty else change_set.reason,
            "changes": [{"action": c.action, "logical_id": c.logical_id,
                         "resource_type": c.resource_type, "replacement": c.replacement,
                         "properties": list(c.properties), "text": c.describe()}
                        for c in change_set.changes]}


def preview_change(ctx: Context, stack: str, body: str | None,
                   parameters: dict[str, str | None]) -> ChangeSet:
    """Create a change set, wait until CloudFormation has computed it, delete it."""
    arn = ctx.aws.create_change_set(stack, body, parameters, ctx.role_arn, purpose="diff")
    try:
        return settled_change_set(ctx, arn)
    finally:
        forget_change_set(ctx, arn)


def after_traffic(observed: Observed, plan: Plan) -> dict[str, str | None]:
    """Which colour production and test forward to once the plan has run."""
    production, test = observed.live_color, observed.test_color
    for step in plan.steps:
        if isinstance(step, CreateAlb):
            production, test = step.live, ("green" if step.live == "blue" else "blue")
        elif isinstance(step, Swap):
            production, test = step.to_color, step.from_color
    return {"production": production, "test": test}


def preview(ctx: Context, plan: Plan) -> dict:
    """The diff document (docs/diff.md)."""
    config, observed = ctx.config, ctx.observed
    stacks: list[dict] = []
    images = {color: {"before": state.image_parameter, "after": state.image_parameter}
              for color, state in observed.colors.items()}
    for step in plan.steps:
        if isinstance(step, CreateAlb):
            stacks.append({"stack": config.alb_stack, "operation": "create",
                           **change_document(None)})
        elif isinstance(step, CreateService):
            images[step.color]["after"] = step.image
            stacks.append({"stack": config.service_stack(step.color), "operation": "create",
                           **change_document(None)})
        elif isinstance(step, UpdateService):
            images[step.color]["after"] = step.image
            name = config.service_stack(step.color)
            state = observed.colors[step.color]
            parameters = sent.service(config, observed.alb.outputs, step.color, step.image,
                                      state.stack, step.desired)
            found = preview_change(ctx, name, template_body(config, step.color), parameters)
            stacks.append({"stack": name, "operation": "update", **change_document(found)})
        elif isinstance(step, Swap):
            # Exactly what the swap sends (steps/traffic.py, set_live_color).
            parameters = sent.alb_swap(config, observed.alb, step.to_color,
                                       step.rollback_release)
            found = preview_change(ctx, config.alb_stack, None, parameters)
            stacks.append({"stack": config.alb_stack, "operation": "swap",
                           **change_document(found)})
    after = after_traffic(observed, plan)
    return {
        "environment": config.name,
        "plan": plan.lines(), "notes": list(plan.notes),
        "stacks": stacks,
        "traffic": {path: {"before": before, "after": after[path]}
                    for path, before in (("production", observed.live_color),
                                         ("test", observed.test_color))},
        "paths": {"production": observed.paths.production, "test": observed.paths.test},
        "images": images,
        # How long the deploy may take (none for a plan that changes nothing).
        "length": (length_document(plan_length(plan, config.deploy)) if plan.needs_lock
                   else None),
    }


def run_diff(ctx: Context, make_plan: Callable[[Observed], Plan], *, dry_run: bool) -> int:
    """Plan without the lock (as a dry run does), then preview the plan's changes."""
    plan = planned(ctx, make_plan)
    print_diff(preview(ctx, plan), dry_run)
    return 0
