"""Small statistics for the tables, and the targets they are reported against."""

from __future__ import annotations

import math
import statistics
from dataclasses import dataclass


def median(values: list[float]) -> float:
    return statistics.median(values) if values else math.nan


def p90(values: list[float]) -> float:
    """The 90th percentile, nearest rank (with few samples: the second-largest of ten)."""
    if not values:
        return math.nan
    ordered = sorted(values)
    return ordered[max(0, math.ceil(0.9 * len(ordered)) - 1)]


def maximum(values: list[float]) -> float:
    return max(values) if values else math.nan


@dataclass(frozen=True)
class Target:
    """A figure checked against a target: `text` names the target, `met` says whether it is."""

    text: str
    met: bool

    def __str__(self) -> str:
        return f"{'✓' if self.met else '✗'} {self.text}"


def seconds(value: float) -> str:
    return "–" if math.isnan(value) else f"{value:.2f} s"
