"""Losses: each the loss of one sample, per output neuron, with its derivative ∂E/∂out.

A sample's loss E is the sum of its per-output parts E_o (for a loss that is a mean over
the outputs, each part carries its 1/n); a batch's is the mean over its samples. Where a
loss and the output's activation cancel into a short δ (binary cross-entropy on sigmoid,
cross-entropy on softmax: δ_o = out_o − target_o, over n for the mean), that pair's δ is
`fused` here: exact where out has rounded to 0 or 1 and ∂E/∂out would be infinite. Both
are computed from net, as torch's `binary_cross_entropy_with_logits` and `cross_entropy`
do, so that a saturated output gives a finite loss.

Arrays have one row per sample: target, out and net of the output layer.
"""

from collections.abc import Callable
from dataclasses import dataclass, field

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    name: str
    loss: Callable[[Array, Array, Array], Array]  # E_o, given target, out and net
    dloss: Callable[[Array, Array], Array]  # ∂E/∂out_o, given target and out
    # activation name → δ of the output layer given target, out and net
    fused: dict[str, Callable[[Array, Array, Array], Array]] = field(default_factory=dict)
    activation: str | None = None  # the output activation it requires, if any


def _n(a: Array) -> int:
    return a.shape[-1]


def _bce(target: Array, out: Array, net: Array) -> Array:
    # −(t·log σ(net) + (1 − t)·log(1 − σ(net))) = max(net, 0) − net·t + log(1 + e^−|net|)
    return (np.maximum(net, 0.0) - net * target + np.log1p(np.exp(-np.abs(net)))) / _n(net)


def _dbce(target: Array, out: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return (out - target) / (out * (1.0 - out)) / _n(out)


def _log_softmax(net: Array) -> Array:
    shifted = net - net.max(axis=-1, keepdims=True)
    return shifted - np.log(np.exp(shifted).sum(axis=-1, keepdims=True))


def _cross_entropy(target: Array, out: Array, net: Array) -> Array:
    return -target * _log_softmax(net)


def _dcross_entropy(target: Array, out: Array) -> Array:
    with np.errstate(divide="ignore", invalid="ignore"):
        return np.where(target == 0, 0.0, -target / out)


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in (
        # The tutorial's E = Σ_o ½ (target − out)².
        Loss(
            "half_sse",
            lambda target, out, net: 0.5 * (target - out) ** 2,
            lambda target, out: -(target - out),
        ),
        # torch's mse_loss: the mean over the outputs of (target − out)².
        Loss(
            "mse",
            lambda target, out, net: (target - out) ** 2 / _n(out),
            lambda target, out: -2.0 * (target - out) / _n(out),
        ),
        # Binary cross-entropy, the mean over the outputs, on sigmoid outputs.
        Loss(
            "bce",
            _bce,
            _dbce,
            fused={"sigmoid": lambda target, out, net: (out - target) / _n(out)},
            activation="sigmoid",
        ),
        # −Σ_o target_o · log out_o on softmax outputs (targets a distribution), as torch's
        # cross_entropy with probability targets.
        Loss(
            "cross_entropy",
            _cross_entropy,
            _dcross_entropy,
            fused={
                "softmax": lambda target, out, net: (
                    out * target.sum(axis=-1, keepdims=True) - target
                )
            },
            activation="softmax",
        ),
    )
}
