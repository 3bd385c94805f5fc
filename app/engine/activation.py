"""Activations: each a function f(net) with its derivative ∂out/∂net beside it.

The derivative takes both net and out, so that each can use the cheaper or more exact
form (sigmoid's out(1 − out), tanh's 1 − out²). An element-wise activation's δ is
∂E/∂out · ∂out/∂net. Softmax couples the outputs of its layer (each out_k depends on
every net_j), so it brings its own δ rule, the sum over its Jacobian:

    δ_j = Σ_k ∂E/∂out_k · ∂out_k/∂net_j = Σ_k ∂E/∂out_k · out_k (1[j=k] − out_j)
        = out_j (∂E/∂out_j − Σ_k ∂E/∂out_k · out_k)

and its `df` is the Jacobian's diagonal, out_j (1 − out_j). Arrays have one row per
sample; softmax runs along each row.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray
LEAKY_SLOPE = 0.01  # torch's negative_slope default


@dataclass(frozen=True)
class Activation:
    name: str
    f: Callable[[Array], Array]  # out = f(net)
    df: Callable[[Array, Array], Array]  # ∂out/∂net, given net and out
    # δ = ∂E/∂net given ∂E/∂out, net and out; None: ∂E/∂out · ∂out/∂net
    delta: Callable[[Array, Array, Array], Array] | None = None
    output_only: bool = False  # allowed on the output layer only


def _sigmoid(net: Array) -> Array:
    # 1/(1 + e^−net) as e^−log(1 + e^−net): logaddexp never overflows, so net = ±1000
    # gives 0 and 1 without a warning, in three array operations instead of seven.
    return np.exp(-np.logaddexp(0.0, -net))


def _softmax(net: Array) -> Array:
    # e^net / Σ e^net, with the largest net taken out first: no overflow at net = 1000.
    e = np.exp(net - net.max(axis=-1, keepdims=True))
    return e / e.sum(axis=-1, keepdims=True)


def _softmax_delta(dE_dout: Array, net: Array, out: Array) -> Array:
    return out * (dE_dout - (dE_dout * out).sum(axis=-1, keepdims=True))


ACTIVATIONS: dict[str, Activation] = {
    a.name: a
    for a in (
        Activation("sigmoid", _sigmoid, lambda net, out: out * (1.0 - out)),
        Activation("tanh", np.tanh, lambda net, out: 1.0 - out * out),
        # ReLU's derivative at exactly 0 is 0, as torch takes it.
        Activation("relu", lambda net: np.maximum(net, 0.0), lambda net, out: (net > 0) * 1.0),
        Activation(
            "leaky_relu",
            lambda net: np.where(net > 0, net, LEAKY_SLOPE * net),
            lambda net, out: np.where(net > 0, 1.0, LEAKY_SLOPE),
        ),
        Activation("linear", lambda net: net.copy(), lambda net, out: np.ones_like(net)),
        Activation(
            "softmax",
            _softmax,
            lambda net, out: out * (1.0 - out),
            delta=_softmax_delta,
            output_only=True,
        ),
    )
}
