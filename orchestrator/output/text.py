"""What more than one output says alike: production's weights by colour, and how they read."""

from __future__ import annotations

from stackswap.orchestrator.model import Observed
from stackswap.orchestrator.plan import PlanLength, duration_text


def production_weights(observed: Observed) -> dict[str, int]:
    """Production's weights in % by colour ("other" for a target group not one of ours)."""
    weights: dict[str, int] = {}
    for arn, weight in observed.production:
        color = observed.color_of(arn) or "other"
        weights[color] = weights.get(color, 0) + weight
    total = sum(weights.values()) or 1
    return {color: round(100 * weight / total) for color, weight in weights.items()}


def weights_text(weights: dict[str, int]) -> str:
    return " / ".join(f"{color} {weight} %" for color, weight in sorted(weights.items()))


def length_text(length: PlanLength) -> str:
    """How long a plan takes at most, and of what: "at most 1 h 47 min: 3 stack operations ×
    30 min, verification 10 min 30 s, alarm monitoring 5 min, way back 1 h"."""
    parts = [f"{part.what} {duration_text(part.each)}" if part.count == 1
             else f"{part.count} {part.what}s × {duration_text(part.each)}"
             for part in length.parts]
    return f"at most {duration_text(length.seconds)}" + (f": {', '.join(parts)}" if parts
                                                          else "")


def length_document(length: PlanLength) -> dict:
    """The same as data: the `plan_length` event's fields and the diff document's `length`."""
    return {"max_seconds": length.seconds, "text": length_text(length),
            "parts": [{"what": part.what, "count": part.count, "each_seconds": part.each}
                      for part in length.parts]}
