"""The text of a notification (deploy.notify): its subject and its lines."""

from __future__ import annotations

from stackswap.orchestrator.model import Observed
from stackswap.orchestrator.output.text import production_weights, weights_text

# SNS: a subject is ASCII without line breaks, under 100 characters (API Reference, Publish).
SUBJECT_MAX = 99


def notification(environment: str, title: str, verb: str, detail: str | None, undo: str,
                 ci_run: str | None) -> tuple[str, str]:
    """A notification's subject (its one-line summary) and text: the summary with what
    happened, the command that undoes it, and the CI run it came from."""
    subject = f"stackswap {environment}: {title} {verb}"
    lines = [subject + (f": {detail}" if detail else ""),
             f"undo: `{undo}`" if undo.startswith("stackswap ") else f"undo: {undo}"]
    if ci_run:
        lines.append(f"run: {ci_run}")
    subject = subject.encode("ascii", "replace").decode()[:SUBJECT_MAX]
    return subject, "\n".join(lines)


def production_text(observed: Observed) -> str:
    """Where production is, for a notification: one colour and its image, or the split."""
    weights = production_weights(observed)
    if sum(weight > 0 for weight in weights.values()) > 1:
        return f"production {weights_text(weights)}"
    live = observed.live_color
    if live is None:
        return "nothing serves production yet"
    return f"production on {live} ({observed.colors[live].image_parameter})"

