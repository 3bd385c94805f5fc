"""The optimiser's state as columns of the table of weights: the step count t and each
entry torch keeps per parameter (Adam's m and v, momentum's buffer, …), headed by the
symbol the update's formula writes it with (formulas.py, optim.py's docstring).

The state is the network's now, as the API's `optimizer_state` gives it: in `update`, the
one the update has just made, beside w⁺; before it, the one the next update starts from.
"""

from dataclasses import dataclass

from app.engine import State
from app.view.numbers import fmt

# Per entry of optimizer_state (torch's names): its symbol.
SYMBOLS = {
    "step": "t",
    "exp_avg": "m",
    "exp_avg_sq": "v",
    "max_exp_avg_sq": "vₘₐₓ",
    "momentum_buffer": "b",
    "square_avg": "v",
    "grad_avg": "ḡ",
    "sum": "s",
}


@dataclass(frozen=True)
class Column:
    key: str  # torch's name: "step", "exp_avg", …
    symbol: str  # as the formulas write it: t, m, v, …
    title: str  # what it is, in words


@dataclass(frozen=True)
class Columns:
    """The optimiser's state for the table: its columns, and whether the viewer shows them."""

    columns: tuple[Column, ...]  # t first, then the entries in torch's order
    shown: bool


def columns(state: State, shown: bool, t: dict) -> Columns | None:
    """The state's columns; None for an optimiser that keeps nothing but its step (plain
    sgd), which has no state to show."""
    keys = [k for k in state.training.optimizer_state if k != "step"]
    if not keys:
        return None
    made = tuple(Column(k, SYMBOLS[k], t[f"state_{k}"]) for k in ("step", *keys))
    return Columns(made, shown)


def cells(state: State, kind: str, l: int, at: tuple[int, ...], precision: int) -> tuple[str, ...]:
    """One parameter's state (weights[l][at] or biases[l][at]), one cell per column: t, then
    each entry's number; empty for a bias the optimiser does not update."""
    training = state.training
    if kind == "biases" and not training.update_biases:
        return ("",) * len(training.optimizer_state)
    k = l if kind == "weights" else len(state.network.weights) + l  # weights, then biases
    entries = (v[k][at] for key, v in training.optimizer_state.items() if key != "step")
    return (str(training.step), *(fmt(x, precision) for x in entries))
