"""Checking an option spec, an optimiser's or a schedule's, in one place.

A spec is plain data, {"name": "adam", "betas": [0.9, 0.999]}: `checked` returns the full
options (the name, then every option with its default filled in) or raises InvalidInput
naming the field, as `optimizer.betas`. A rule checks one value of any type: a wrong type,
a value out of range, a huge int or a huge string is an InvalidInput, never another error.
"""

import math
from collections.abc import Callable
from typing import Any

from app.engine.errors import InvalidInput

Rule = Callable[[str, Any], Any]  # (field, value) → the checked value, or InvalidInput

# A bound on every number option: none needs more, and sums of a few stay far from overflow.
LARGEST = 1e6


def shown(value: Any) -> str:
    """A value for a message: repr, cut short (a name may be a string of a million chars)."""
    text = repr(value) if isinstance(value, str) else f"<{type(value).__name__}>"
    return text if len(text) <= 40 else text[:37] + "..."


def real(low: float, high: float = LARGEST, *, above: bool = False, below: bool = False) -> Rule:
    """A finite number in [low, high]; `above` excludes low, `below` excludes high."""
    interval = f"{'(' if above else '['}{low:g}, {high:g}{')' if below else ']'}"

    def rule(field: str, value: Any) -> float:
        if not isinstance(value, int | float) or isinstance(value, bool):
            raise InvalidInput(field, "must be a number")
        try:
            x = float(value)
        except OverflowError:  # an int of hundreds of digits
            x = math.inf
        if not math.isfinite(x):
            raise InvalidInput(field, f"must be a finite number in {interval}")
        if x < low or x > high or (above and x == low) or (below and x == high):
            raise InvalidInput(field, f"must be in {interval}")
        return x

    return rule


def whole(low: int, high: int) -> Rule:
    """A whole number (an int, not a float or a bool) in [low, high]."""

    def rule(field: str, value: Any) -> int:
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(field, f"must be a whole number from {low} to {high:,}")
        return int(value)

    return rule


def flag(field: str, value: Any) -> bool:
    """True or false, not 0, 1 or "true"."""
    if not isinstance(value, bool):
        raise InvalidInput(field, "must be true or false")
    return value


def checked(
    spec: Any,
    prefix: str,
    kinds: dict[str, tuple[dict[str, Any], tuple[str, ...]]],
    rules: dict[str, Rule],
) -> dict[str, Any]:
    """The full options of `spec`: kinds maps each name to (its defaults, its required
    options), rules each option to its rule; fields are named `prefix.option`."""
    if not isinstance(spec, dict):
        raise InvalidInput(prefix, 'expected an object such as {"name": ...}')
    known = ", ".join(kinds)
    name = spec.get("name")
    if name is None:
        raise InvalidInput(f"{prefix}.name", f"required ({known})")
    if not isinstance(name, str) or name not in kinds:
        raise InvalidInput(f"{prefix}.name", f"unknown {prefix} {shown(name)} ({known})")
    defaults, required = kinds[name]
    takes = (*required, *defaults)
    unknown = [k for k in spec if k != "name" and k not in takes]
    if unknown:
        field = f"{prefix}.{unknown[0]}" if isinstance(unknown[0], str) else prefix
        what = ", ".join(shown(k) for k in unknown[:5]) + (", ..." if len(unknown) > 5 else "")
        raise InvalidInput(
            field[:80], f"unknown option {what} ({name} takes {', '.join(takes) or 'none'})"
        )
    options: dict[str, Any] = {"name": name}
    for key in required:
        if key not in spec:
            raise InvalidInput(f"{prefix}.{key}", "required")
        options[key] = rules[key](f"{prefix}.{key}", spec[key])
    for key, default in defaults.items():
        options[key] = rules[key](f"{prefix}.{key}", spec[key]) if key in spec else default
    return options
