"""The loss curve of a live training: E_total of the training set (and of the test set, if
the data has one) against the iteration, drawn on the server as SVG, on a linear or a
log scale. Inline in the page, so the page's CSS colours it (both themes)."""

import math
from collections.abc import Sequence
from dataclasses import dataclass

from app.session import Point
from app.view.numbers import fmt

WIDTH, HEIGHT = 420, 200  # the viewBox; the page scales it to its box
LEFT, RIGHT, TOP, BOTTOM = 64, 12, 12, 28  # room for the axes' labels
TICKS = 4  # on the loss axis


@dataclass(frozen=True)
class Curve:
    train: str  # the polylines' points, in viewBox units
    test: str | None
    y_ticks: tuple[tuple[float, str], ...]  # (y, label)
    x_ticks: tuple[tuple[float, str], ...]  # (x, label)
    log: bool
    width: int = WIDTH
    height: int = HEIGHT
    left: int = LEFT
    right: int = WIDTH - RIGHT
    top: int = TOP
    bottom: int = HEIGHT - BOTTOM


def curve(points: Sequence[Point], log: bool, end: int | None = None) -> Curve:
    """The curve of these points (iteration, E_train, E_test or None), at least one, on an
    axis of iterations up to `end` (where the training will end; else the last point)."""
    xs = [p[0] for p in points]
    series = [p[1] for p in points], [p[2] for p in points]
    values = [v for s in series for v in s if v is not None and math.isfinite(v)]
    floor = min((v for v in values if v > 0), default=1.0)

    def y_of(v: float) -> float:
        return math.log10(max(v, floor)) if log else v

    ys = [y_of(v) for v in values] or [0.0]
    lo, hi = min(ys), max(ys)
    if not log:
        lo = min(lo, 0.0)  # a linear loss axis starts at 0
    if hi - lo < 1e-12:
        lo, hi = lo - 0.5, hi + 0.5
    x0, x1 = xs[0], max(xs[-1], end or 0, xs[0] + 1)

    def at(x: int, v: float) -> str:
        px = LEFT + (x - x0) / (x1 - x0) * (WIDTH - RIGHT - LEFT)
        py = TOP + (hi - y_of(v)) / (hi - lo) * (HEIGHT - BOTTOM - TOP)
        return f"{px:.1f},{py:.1f}"

    def line(s: Sequence[float | None]) -> str:
        return " ".join(at(x, v) for x, v in zip(xs, s, strict=True) if v is not None)

    test = line(series[1]) if any(v is not None for v in series[1]) else None
    y_ticks = []
    for k in range(TICKS):
        level = lo + (hi - lo) * k / (TICKS - 1)
        label = fmt(10**level, 3) if log else fmt(level, 3)
        py = TOP + (hi - level) / (hi - lo) * (HEIGHT - BOTTOM - TOP)
        y_ticks.append((round(py, 1), label))
    x_ticks = ((float(LEFT), str(x0)), (float(WIDTH - RIGHT), str(x1)))
    return Curve(line(series[0]), test, tuple(y_ticks), x_ticks, log)
