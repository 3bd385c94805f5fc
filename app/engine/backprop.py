"""One pass of backpropagation over a batch: the forward pass and the backward pass, as in
Nielsen's `backprop(x, y)` with the samples as the rows of a matrix. (The update is the
optimiser's, app/engine/optim.py; an iteration puts them together, app/engine/iterate.py.)

Every quantity of the tutorial's derivation is kept, named as there and per sample (one
row each), so that it can be shown; `at(k)` is sample k's own. The batch's loss is the
mean over its samples, so its gradients are the mean of theirs. All gradients are taken
with the parameters from before the update.
"""

from collections.abc import Callable
from dataclasses import dataclass, field, replace
from functools import cached_property
from typing import Any

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
    loss: float  # E_total (of a batch: the mean over its samples)

    def at(self, k: int) -> "Forward":
        """Sample k's forward pass, each array one row of the batch's."""
        losses = self.losses[k]
        return Forward(
            [n[k] for n in self.net], [o[k] for o in self.out], losses, float(losses.sum())
        )


@dataclass(frozen=True)
class Backward:
    dE_dout: list[Array]  # per non-input layer: ∂E/∂out
    dout_dnet: list[Array]  # per non-input layer: ∂out/∂net = f'(net)
    deltas: list[Array]  # per non-input layer: δ = ∂E/∂net
    weights: tuple[Array, ...]  # what the paths back went through: w_ji of δ_j · w_ji
    outs: list[Array]  # per layer, input layer first: the out_i of ∂E/∂w_ji = δ_j · out_i
    # The output δ came from the loss and activation together (e.g. out − target), not
    # through ∂E/∂out, which may then be infinite (out rounded to 0 or 1) and unused.
    fused: bool = False

    # Per sample (one sample's, after `at`), made when first asked for (a batch needs only
    # δ), then kept: a large network's page reads them edge by edge.
    @cached_property
    def dE_dout_terms(self) -> list[Array]:
        """Shape of weights: [l][j][i] = δ_j · w_ji, the path from neuron i through j."""
        return [d[..., :, None] * w for d, w in zip(self.deltas, self.weights)]

    @cached_property
    def weight_grads(self) -> list[Array]:
        """Shape of weights: ∂E/∂w_ji = δ_j · out_i."""
        return [d[..., :, None] * o[..., None, :] for d, o in zip(self.deltas, self.outs)]

    @property
    def bias_grads(self) -> list[Array]:
        """Shape of biases: ∂E/∂b_j = δ_j."""
        return self.deltas

    def at(self, k: int) -> "Backward":
        """Sample k's backward pass (its own loss's derivatives)."""
        rows = (self.dE_dout, self.dout_dnet, self.deltas)
        dE_dout, dout_dnet, deltas = ([a[k] for a in part] for part in rows)
        return Backward(
            dE_dout, dout_dnet, deltas, self.weights, [o[k] for o in self.outs], self.fused
        )


@dataclass(frozen=True)
class Trace:
    """Everything one iteration computes: the forward and backward pass and the update."""

    forward: Forward
    backward: Backward
    weight_grads: list[Array]  # the batch's: the mean of its samples' ∂E/∂w
    bias_grads: list[Array]  # the batch's ∂E/∂b
    weights: list[Array]  # w⁺, by the optimiser (sgd: w − η · ∂E/∂w)
    biases: list[Array]  # b⁺ if update_biases, else b
    optimizer_state: dict[str, Any] = field(default_factory=dict)  # after the update
    terms: dict[str, Any] = field(default_factory=dict)  # each term of the update, named
    batch: Array | None = None  # the batch's sample indices in the training set
    epoch: int = 0  # the epoch the batch belongs to, from 0
    learning_rate: float = 0.0  # the η of this update
    sample: int | None = None  # after `at(k)`: k, the sample of the batch shown

    def at(self, k: int) -> "Trace":
        """Sample k's forward and backward pass, beside the batch's gradients and update."""
        return replace(self, forward=self.forward.at(k), backward=self.backward.at(k), sample=k)

    @cached_property
    def finite(self) -> bool:
        """Whether every number is finite (JSON has no NaN, and the update must be usable)."""
        f, b = self.forward, self.backward
        # Every path δ_j · w_ji and every δ_j · out_i is finite if their sums are: an
        # infinite product would make its sum infinite or NaN.
        parts = (
            f.losses,
            *f.net,
            *f.out,
            *(b.dE_dout[:-1] if b.fused else b.dE_dout),
            *b.deltas,
            *self.weight_grads,
            *self.weights,
            *self.biases,
            *(a for k, v in self.optimizer_state.items() if k != "step" for a in v),
        )
        # One check over one array: far cheaper than one per array on these small sizes.
        return bool(np.isfinite(np.concatenate([p.ravel() for p in parts])).all())


def forward(network: Network, inputs: Array, targets: Array) -> Forward:
    """The forward pass of a batch: inputs and targets have one row per sample."""
    net: list[Array] = []
    out: list[Array] = [inputs]
    for w, b, name in zip(network.weights, network.biases, network.activations):
        net.append(out[-1] @ w.T + b)
        out.append(ACTIVATIONS[name].f(net[-1]))
    losses = LOSSES[network.loss].loss(targets, out[-1], net[-1])
    return Forward(net, out, losses, float(losses.sum()) / len(losses))


# The classic slip's update: from l and the batch's ∂E/∂w of weights[l], weights[l] as
# updated (w⁺), which δ then goes back through.
Update = Callable[[int, Array], Array]


def backward(
    network: Network, fwd: Forward, targets: Array, update: Update | None = None
) -> Backward:
    """The backward pass of a batch, from the output layer down.

    With `update`, the tutorial's slip: each layer's weights are updated as soon as their
    gradient is known, and the layer below takes its δ through them, w⁺ instead of w, as
    the code behind the tutorial's printed figures did (its derivation uses w)."""
    depth = network.depth
    dE_dout: list[Array] = [None] * depth  # type: ignore[list-item]
    dout_dnet: list[Array] = [None] * depth  # type: ignore[list-item]
    deltas: list[Array] = [None] * depth  # type: ignore[list-item]
    loss = LOSSES[network.loss]
    dE_dout[-1] = loss.dloss(targets, fwd.out[-1])
    fused = loss.fused.get(network.activations[-1])
    paths = list(network.weights)  # the w_ji each δ_j goes back through
    for l in reversed(range(depth)):
        if l < depth - 1:
            # ∂E/∂out_i = Σ_j δ_j · w_ji: every path from neuron i to the loss, summed.
            dE_dout[l] = deltas[l + 1] @ paths[l + 1]
        act, net, out = ACTIVATIONS[network.activations[l]], fwd.net[l], fwd.out[l + 1]
        dout_dnet[l] = act.df(net, out)
        if l == depth - 1 and fused:
            deltas[l] = fused(targets, out, net)
        elif act.delta:
            deltas[l] = act.delta(dE_dout[l], net, out)
        else:
            deltas[l] = dE_dout[l] * dout_dnet[l]
        if update is not None:
            paths[l] = update(l, _weight_grad(deltas[l], fwd.out[l]))
    return Backward(dE_dout, dout_dnet, deltas, tuple(paths), fwd.out, bool(fused))


def passes(
    network: Network, inputs: Array, targets: Array, update: Update | None = None
) -> tuple[Forward, Backward, list[Array], list[Array]]:
    """The forward and backward pass of a batch and its mean gradients (∂E/∂w, ∂E/∂b)."""
    with np.errstate(all="ignore"):  # overflow shows up as Trace.finite, not a warning
        fwd = forward(network, inputs, targets)
        bwd = backward(network, fwd, targets, update)
        weight_grads = [_weight_grad(d, o) for d, o in zip(bwd.deltas, fwd.out)]
        n = len(inputs)
        bias_grads = (
            [d[0] for d in bwd.deltas] if n == 1 else [d.sum(axis=0) / n for d in bwd.deltas]
        )
        return fwd, bwd, weight_grads, bias_grads


def _weight_grad(deltas: Array, outs: Array) -> Array:
    """The batch's mean of δ_j · out_i over its samples, one matrix product (one sample:
    its own products, each exact)."""
    n = len(deltas)
    return deltas.T @ outs if n == 1 else deltas.T @ outs / n
