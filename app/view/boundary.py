"""The decision boundary of a network with two inputs: its first output over a grid of the
input plane, as a heat map under the training (filled) and test (hollow) samples; drawn on
the server as SVG, from one batched forward pass over the grid."""

import hashlib
from xml.sax.saxutils import escape

import numpy as np

from app.engine import State, forward

# The edges' Okabe–Ito hues, written out: an SVG drawn as an image sees no page CSS.
POSITIVE, NEGATIVE = "#E69F00", "#0072B2"
CELLS = 24  # per side: 576 squares
SIZE = 240  # px


def key(state: State, heat: bool = True) -> str | None:
    """What the picture depends on, short (for its URL: a new one once the parameters or
    the data change; without the heat map, the data only); None for a network without two
    inputs."""
    if state.network.layers[0] != 2:
        return None
    parts = [*state.network.weights, *state.network.biases] if heat else []
    parts += [*state.data.train, *(state.data.test or ())]
    return hashlib.blake2b(b"".join(a.tobytes() for a in parts), digest_size=6).hexdigest()


def svg(state: State, label: str, heat: bool = True) -> str:
    """The picture; without the heat map, the samples alone (the data editor's scatter)."""
    inputs, targets = state.data.train
    test = state.data.test
    points = inputs if test is None else np.concatenate([inputs, test[0]])
    lo = np.minimum(points.min(axis=0), -1.0)
    hi = np.maximum(points.max(axis=0), 1.0)
    pad = (hi - lo) * 0.05
    lo, hi = lo - pad, hi + pad
    rects = _heat(state, lo, hi) if heat else []

    def at(p: np.ndarray) -> tuple[float, float]:
        return (
            (p[0] - lo[0]) / (hi[0] - lo[0]) * SIZE,
            (hi[1] - p[1]) / (hi[1] - lo[1]) * SIZE,
        )

    dots = []
    sets = [(inputs, targets, True)] + ([] if test is None else [(*test, False)])
    for samples, wanted, filled in sets:  # training samples filled, test samples hollow
        for p, t in zip(samples, wanted[:, 0]):
            cx, cy = at(p)
            colour = POSITIVE if t >= 0.5 else NEGATIVE
            fill, stroke, width = (colour, "#000", 0.6) if filled else ("#fff", colour, 1.5)
            dots.append(
                f'<circle cx="{cx:.1f}" cy="{cy:.1f}" r="3" fill="{fill}" '
                f'stroke="{stroke}" stroke-width="{width}"/>'
            )
    return (
        f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {SIZE} {SIZE}" width="{SIZE}" '
        f'height="{SIZE}" role="img" aria-label="{escape(label)}">'
        + "".join(rects)
        + "".join(dots)
        + "</svg>"
    )


def _heat(state: State, lo: np.ndarray, hi: np.ndarray) -> list[str]:
    """The first output over a grid of the plane from lo to hi, one square a point."""
    ticks = [np.linspace(lo[d], hi[d], CELLS) for d in (0, 1)]
    x, y = np.meshgrid(ticks[0], ticks[1][::-1])  # the top row is the largest x2
    grid = np.stack([x.ravel(), y.ravel()], axis=1)
    outputs = state.network.layers[-1]
    with np.errstate(all="ignore"):
        out = forward(state.network, grid, np.zeros((len(grid), outputs))).out[-1][:, 0]
    low, high = (0.0, 1.0) if out.min() >= 0 and out.max() <= 1 else (out.min(), out.max())
    with np.errstate(all="ignore"):
        level = np.nan_to_num(np.clip((out - low) / ((high - low) or 1.0), 0, 1), nan=0.5)
    cell = SIZE / CELLS
    rects = []
    for k, v in enumerate(level):
        r, c = divmod(k, CELLS)
        colour = POSITIVE if v >= 0.5 else NEGATIVE
        opacity = abs(v - 0.5) * 1.6
        rects.append(
            f'<rect x="{c * cell:.1f}" y="{r * cell:.1f}" width="{cell + 0.2:.1f}" '
            f'height="{cell + 0.2:.1f}" fill="{colour}" fill-opacity="{opacity:.2f}"/>'
        )
    return rects
