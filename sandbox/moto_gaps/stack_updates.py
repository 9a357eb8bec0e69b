"""Gap 1: a stack update re-applies what real CloudFormation re-applies, in dependency order.

moto diffs an update textually: it re-applies a resource only when its own JSON changed or it
`Ref`s a changed parameter directly. Real CloudFormation also re-applies a resource when a
condition it uses (`Fn::If`) changes value, or when a resource it references gets a new physical
id. Seen: the listeners' `Fn::If` on `LiveColor` is never re-evaluated, so a swap does nothing;
an ECS service whose task definition was replaced keeps the old revision. Fix: extend moto's
diff with those resources, and apply all of them in dependency order (moto keeps its diff's
order, so a service whose DesiredCount changed with its image would be re-applied before its
new task definition exists). Change sets (change_sets.py) list what this diff applies.
"""

from __future__ import annotations

from typing import Any

from moto.cloudformation import parsing
from stackswap.sandbox.moto_gaps._common import (
    ORIGINALS,
    as_sent,
    changed_conditions,
    conditions_used,
    references,
)


def _build_resource_diff(self: Any, other_template: dict[str, Any],
                         parameters: dict[str, Any] | None = None) -> dict[str, Any]:
    diff = ORIGINALS["build_resource_diff"](self, other_template, parameters)
    new = other_template["Resources"]
    changed_parameters = {  # compared as sent (gap 7): moto keeps numbers and lists parsed
        name for name, value in as_sent(parameters or {}).items()
        if as_sent(self.input_parameters).get(name) != value
    }
    changed = changed_conditions(other_template, changed_parameters)
    touched = list(diff["Modify"]) + list(diff["Add"])
    for name, body in new.items():
        if name not in touched and name not in diff["Add"] and (conditions_used(body) & changed):
            touched.append(name)
    # Breadth-first over dependents: a resource is re-applied after everything it references.
    queue = list(touched)
    while queue:
        current = queue.pop(0)
        for name, body in new.items():
            if name not in touched and current in references(body):
                touched.append(name)
                queue.append(name)
    diff["Modify"] = [name for name in _dependency_order(touched, new)
                      if name not in diff["Add"]]
    return diff


def _dependency_order(names: list[str], resources: dict[str, Any]) -> list[str]:
    """`names` with each after every one of them it references, as CloudFormation updates
    them: a service whose own properties changed too (its DesiredCount) is still updated after
    the task definition it refers to is replaced, and so gets the new revision."""
    ordered: list[str] = []
    wanted = set(names)

    def visit(name: str, path: set[str]) -> None:
        if name in ordered or name in path:
            return
        for reference in sorted(references(resources.get(name, {})) & wanted):
            visit(reference, path | {name})
        ordered.append(name)

    for name in names:
        visit(name, set())
    return ordered


PATCHES = {
    "build_resource_diff": (parsing.ResourceMap, "build_resource_diff", _build_resource_diff),
}
