"""The phases of one iteration, in teaching order.

ready → forward:1 … forward:L → loss → backward:L … backward:1 → update, and after
update the next iteration's forward:1. Entering `update` applies it.
"""

from functools import cache


@cache
def phases(depth: int) -> tuple[str, ...]:
    """Every phase of an iteration of a network with `depth` non-input layers."""
    return (
        "ready",
        *(f"forward:{k}" for k in range(1, depth + 1)),
        "loss",
        *(f"backward:{k}" for k in range(depth, 0, -1)),
        "update",
    )


@cache
def reached(phase: str, depth: int, stage: str) -> bool:
    """Whether `phase` has got as far as `stage` (e.g. "loss" or "backward:2")."""
    order = phases(depth)
    return order.index(phase) >= order.index(stage)
