"""The classic slip beside the correct iteration: each hidden δ that the slip changes, and
E_total after the update, both ways.

Both columns are the engine's: the iteration on show (with `classic_slip`, each hidden δ
taken through the next layer's w⁺) and the same state's iteration without the slip (δ
through w, as the tutorial's derivation says). A number appears once its phase has
computed it, as everywhere on the page.
"""

from dataclasses import dataclass, replace
from functools import cached_property

import numpy as np

from app.engine import State, Trace
from app.engine.iterate import updated
from app.session import traced
from app.view import ids
from app.view.numbers import fmt
from app.view.stage import Stage


@dataclass(frozen=True)
class Row:
    id: str
    symbol: str  # δ, or E
    sub: str  # the neuron, or "total"
    slipped: str | None  # with the slip; None until the phase has computed it
    correct: str | None  # without it
    difference: str | None  # slipped − correct


@dataclass(frozen=True)
class Slip:
    deltas: tuple[Row, ...]  # the hidden δ that differ, layer by layer from the output back
    e_after: Row  # E_total after the update


class Correct:
    """The state's iteration done correctly, computed once and only if asked for."""

    def __init__(self, state: State):
        self.state = replace(state, training=replace(state.training, classic_slip=False))

    @cached_property
    def trace(self) -> Trace:
        """Of the whole batch; `at(sample)` for the sample on show."""
        return traced(self.state)

    @cached_property
    def loss_after(self) -> float:
        """E_total after the correct update (NaN if the schedule's next η is refused)."""
        after = updated(self.state, self.trace)
        return traced(after).forward.loss if after is not None else float("nan")


def compare(stage: Stage, correct: Correct) -> Slip:
    """The slip's figures beside the correct ones, for a stage whose state has the slip."""
    p, depth = stage.precision, stage.depth
    slipped = stage.trace.backward.deltas
    right = correct.trace.at(stage.trace.sample or 0).backward.deltas
    layers = stage.shown.network.layers

    def row(id: str, symbol: str, sub: str, a: float, b: float, shown: bool) -> Row:
        if not shown:
            return Row(id, symbol, sub, None, None, None)
        return Row(id, symbol, sub, fmt(a, p), fmt(b, p), fmt(a - b, p))

    deltas = []
    for l in reversed(range(depth - 1)):  # the output layer's δ is the same either way
        shown = stage.backward(l + 1)
        for j in np.flatnonzero(slipped[l] != right[l]):
            name = ids.neuron_name(layers, l + 1, int(j))
            a, b = slipped[l][j], right[l][j]
            deltas.append(row(ids.slip("delta", name), "δ", name, a, b, shown))
    if stage.updated:
        after = traced(stage.current).forward.loss
        e_after = row(ids.slip("e", "after"), "E", "total", after, correct.loss_after, True)
    else:
        e_after = row(ids.slip("e", "after"), "E", "total", 0.0, 0.0, False)
    return Slip(tuple(deltas), e_after)
