"""One training iteration: the forward pass, the backward pass and the update.

Every quantity of the tutorial's derivation is kept, named as there, so that it can be
shown. All gradients are taken with the parameters from before the update.
"""

from dataclasses import dataclass

import numpy as np

from app.engine.activation import ACTIVATIONS
from app.engine.loss import LOSSES
from app.engine.network import Network

Array = np.ndarray


@dataclass(frozen=True)
class Forward:
    net: list[Array]  # per non-input layer: Σ w·out + b
    out: list[Array]  # per layer, input layer first: f(net)
    losses: Array  # per output neuron: E_o
    loss: float  # E_total


@dataclass(frozen=True)
class Backward:
    dE_dout: list[Array]  # per non-input layer: ∂E/∂out
    dE_dout_terms: list[Array]  # shape of weights: [l][j][i] = δ_j · w_ji, the path through j
    dout_dnet: list[Array]  # per non-input layer: ∂out/∂net = f'(net)
    deltas: list[Array]  # per non-input layer: δ = ∂E/∂net
    weight_grads: list[Array]  # shape of weights: ∂E/∂w_ji = δ_j · out_i
    bias_grads: list[Array]  # shape of biases: ∂E/∂b_j = δ_j


@dataclass(frozen=True)
class Trace:
    """Everything one iteration computes: the forward and backward pass and the update."""

    forward: Forward
    backward: Backward
    weights: list[Array]  # w⁺ = w − η · ∂E/∂w
    biases: list[Array]  # b⁺ = b − η · ∂E/∂b if update_biases, else b

    @property
    def finite(self) -> bool:
        """Whether every number is finite (JSON has no NaN, and the update must be usable)."""
        f, b = self.forward, self.backward
        parts = (
            f.losses,
            *f.net,
            *f.out,
            *b.dE_dout,
            *b.dE_dout_terms,
            *b.deltas,
            *self.weights,
            *self.biases,
        )
        # One check over one array: far cheaper than one per array on these small sizes.
        return bool(np.isfinite(np.concatenate([p.ravel() for p in parts])).all())


def forward(network: Network) -> Forward:
    net: list[Array] = []
    out: list[Array] = [network.inputs]
    for w, b, name in zip(network.weights, network.biases, network.activations):
        net.append(w @ out[-1] + b)
        out.append(ACTIVATIONS[name].f(net[-1]))
    losses = LOSSES[network.loss].loss(network.targets, out[-1])
    return Forward(net, out, losses, float(losses.sum()))


def backward(network: Network, fwd: Forward) -> Backward:
    depth = network.depth
    dE_dout: list[Array] = [None] * depth  # type: ignore[list-item]
    terms: list[Array] = [None] * depth  # type: ignore[list-item]
    dout_dnet: list[Array] = [None] * depth  # type: ignore[list-item]
    deltas: list[Array] = [None] * depth  # type: ignore[list-item]
    dE_dout[-1] = LOSSES[network.loss].dloss(network.targets, fwd.out[-1])
    for l in reversed(range(depth)):
        if l < depth - 1:
            # ∂E/∂out_i = Σ_j δ_j · w_ji: every path from neuron i to the loss, summed.
            dE_dout[l] = terms[l + 1].sum(axis=0)
        dout_dnet[l] = ACTIVATIONS[network.activations[l]].df(fwd.net[l], fwd.out[l + 1])
        deltas[l] = dE_dout[l] * dout_dnet[l]
        terms[l] = deltas[l][:, None] * network.weights[l]
    weight_grads = [d[:, None] * o for d, o in zip(deltas, fwd.out)]  # δ_j · out_i
    return Backward(dE_dout, terms, dout_dnet, deltas, weight_grads, list(deltas))


def update(network: Network, bwd: Backward) -> tuple[list[Array], list[Array]]:
    """Plain gradient descent: w⁺ = w − η · ∂E/∂w (biases too, if update_biases)."""
    lr = network.learning_rate
    weights = [w - lr * g for w, g in zip(network.weights, bwd.weight_grads)]
    if network.update_biases:
        biases = [b - lr * g for b, g in zip(network.biases, bwd.bias_grads)]
    else:
        biases = list(network.biases)
    return weights, biases


def trace(network: Network) -> Trace:
    """One whole iteration of `network`, with every intermediate quantity."""
    with np.errstate(all="ignore"):  # overflow shows up as Trace.finite, not a warning
        fwd = forward(network)
        bwd = backward(network, fwd)
        weights, biases = update(network, bwd)
    return Trace(fwd, bwd, weights, biases)


@dataclass(frozen=True)
class TrainResult:
    network: Network  # the last network whose numbers were all finite
    losses: list[float]  # E_total after each completed iteration
    diverged_at: int | None  # the iteration whose numbers stopped being finite, if any


def train(network: Network, iterations: int) -> TrainResult:
    """Run iterations; stop before the first one whose numbers are not all finite."""
    losses: list[float] = []
    t = trace(network)
    for k in range(1, iterations + 1):
        if not t.finite:
            return TrainResult(network, losses, diverged_at=k)
        candidate = network.with_params(tuple(t.weights), tuple(t.biases))
        after = trace(candidate)
        if not after.finite:
            return TrainResult(network, losses, diverged_at=k)
        network, t = candidate, after
        losses.append(t.forward.loss)
    return TrainResult(network, losses, diverged_at=None)
