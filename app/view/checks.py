"""The gradient check as the page shows it: each parameter's backpropagated gradient
beside its finite-difference estimate and their relative error, formatted."""

from dataclasses import dataclass

import numpy as np

from app.engine.gradcheck import GradCheck
from app.engine.network import Network
from app.view.numbers import fmt

MAX_ROWS = 40  # a larger network shows its parameters with the largest errors


@dataclass(frozen=True)
class Row:
    name: str  # w5, b2_1
    backprop: str
    numeric: str
    error: str
    worst: bool  # the largest error of them all


@dataclass(frozen=True)
class Check:
    rows: tuple[Row, ...]
    shown_all: bool  # False: only the MAX_ROWS largest errors, largest first
    max_error: str
    max_error_at: str
    h: str


def rows(network: Network, c: GradCheck, precision: int) -> Check:
    names = network.param_names()
    flat = [np.concatenate([a.ravel() for a in part]) for part in _parts(c)]
    backprop, numeric, errors = flat
    order = range(len(names))
    shown_all = len(names) <= MAX_ROWS
    if not shown_all:
        order = sorted(order, key=lambda k: -errors[k])[:MAX_ROWS]
    made = tuple(
        Row(
            names[k],
            fmt(backprop[k], precision),
            fmt(numeric[k], precision),
            fmt(errors[k], 2),
            names[k] == c.max_error_at,
        )
        for k in order
    )
    return Check(made, shown_all, fmt(c.max_error, 2), c.max_error_at, fmt(c.h, 3))


def _parts(c: GradCheck):
    return (
        [*c.weight_grads, *c.bias_grads],
        [*c.numeric_weight_grads, *c.numeric_bias_grads],
        [*c.weight_errors, *c.bias_errors],
    )
