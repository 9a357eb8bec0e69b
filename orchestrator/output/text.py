"""What more than one output says alike: production's weights by colour, and how they read."""

from __future__ import annotations

from stackswap.orchestrator.model import Observed


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

