"""Activations: each a function f(net) with its derivative ∂out/∂net.

The derivative takes both net and out, so that each can use the cheaper or more exact
form (sigmoid's out(1 − out), tanh's 1 − out²). Element-wise activations only; softmax,
whose Jacobian couples the outputs, will need its own δ rule together with its loss.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[[Array], Array]  # out = f(net)
    df: Callable[[Array, Array], Array]  # ∂out/∂net, given net and out


def _sigmoid(net: Array) -> Array:
    # 1/(1 + e^−net) as e^−log(1 + e^−net): logaddexp never overflows, so net = ±1000
    # gives 0 and 1 without a warning, in three array operations instead of seven.
    return np.exp(-np.logaddexp(0.0, -net))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, lambda net, out: out * (1.0 - out)),
        Activation("tanh", np.tanh, lambda net, out: 1.0 - out * out),
        Activation("relu", lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0) * 1.0),
        Activation("linear", lambda net: net.copy(), lambda net, out: np.ones_like(net)),
    )
}
