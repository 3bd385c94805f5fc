"""Edge colours and widths: a colour-blind-safe diverging palette and a log scale.

The sign picks the hue (Okabe–Ito blue for negative, orange for positive: told apart
with any common colour-vision deficiency); the magnitude, relative to the largest,
picks the width and how far the hue is mixed from grey. Gradients of one iteration
span several decades (∂E/∂w5 ≈ 0.08, ∂E/∂w1 ≈ 0.0004), so the scale is logarithmic
over DECADES decades: a linear one would draw the first layer's edges all alike.
The hues are CSS variables, so that each theme sets its own.
"""

import math
from dataclasses import dataclass

DECADES = 3
MIN_WIDTH, MAX_WIDTH = 1.5, 9.0
MIN_MIX, MAX_MIX = 35, 100  # percent of the hue mixed into the neutral grey


@dataclass(frozen=True)
class Stroke:
    style: str  # the CSS for the edge's stroke and width
    sign: str  # "positive", "negative" or "zero"
    strength: float  # 0 … 1 on the log scale


def strength(magnitude: float, largest: float) -> float:
    """|x| / max|x| on a log scale: 1 for the largest, 0 at DECADES decades below or less."""
    if largest <= 0 or magnitude <= 0:
        return 0.0
    return max(0.0, 1.0 + math.log10(magnitude / largest) / DECADES)


def stroke(x: float, largest: float) -> Stroke:
    s = strength(abs(x), largest)
    sign = "zero" if x == 0 else "positive" if x > 0 else "negative"
    width = MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * s
    if sign == "zero":
        return Stroke(f"stroke:var(--neutral);stroke-width:{MIN_WIDTH}", sign, 0.0)
    hue = "var(--pos)" if sign == "positive" else "var(--neg)"
    mix = round(MIN_MIX + (MAX_MIX - MIN_MIX) * s)
    colour = f"color-mix(in srgb,{hue} {mix}%,var(--neutral))"
    return Stroke(f"stroke:{colour};stroke-width:{width:.2f}", sign, s)


@dataclass(frozen=True)
class Tick:
    magnitude: float  # the |x| this sample stands for
    width: float


def ticks(largest: float) -> list[Tick]:
    """Sample widths for the legend: the largest, then one per decade below it."""
    if largest <= 0:
        return []
    out = []
    for k in range(DECADES + 1):
        m = largest / 10**k
        out.append(Tick(m, MIN_WIDTH + (MAX_WIDTH - MIN_WIDTH) * strength(m, largest)))
    return out
