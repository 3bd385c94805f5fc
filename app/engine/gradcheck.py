"""A gradient check: every ∂E/∂w and ∂E/∂b of the next iteration's batch estimated by
central finite differences, beside backpropagation's, with the relative error of each.

    numeric    n = (E(p + h) − E(p − h)) / 2h, for each parameter p, the others as they are
    error      |a − n| / max(|a|, |n|, tiny), a backpropagation's ∂E/∂p, tiny = TINY · |E|

E is the batch's E_total (the mean over its samples), the batch the one `trace` picks, and
a the gradient its iteration's update uses (with classic_slip, the slipped one: the check
shows where it is no ∂E/∂w). One h for every parameter, ∛ε of float64
(6.06e-6): the step that balances the central difference's truncation error (∝ h²)
against the rounding of the two losses (about ε·|E|/h); torch.autograd.gradcheck's 1e-6
leaves several times more rounding. The error is relative, but a gradient smaller than
tiny is measured against tiny: the difference resolves a gradient only to about
ε·|E|/h ≈ 4e-11·|E|, so below 1e-4·|E| a relative error of 1e-6 would be rounding, not a
wrong gradient (the classic network's smallest, ∂E/∂w1 = 4.4e-4, is 1.5e-3·E).

Each perturbed loss is a forward pass. Moving w_ji of weights[l] by ±h changes nothing
before layer l+1 and, there, only net_j, by ±h·out_i (a bias: by ±h). So the pass starts
from there, with every perturbation of the layer at once, as copies of the batch stacked as
rows (a bounded number of rows at a time); `work` counts what a check costs, and `check`
refuses more than MAX_WORK (about a second on the build machine).
"""

from dataclasses import dataclass

import numpy as np

from app.engine.activation import ACTIVATIONS
from app.engine.backprop import Array, forward
from app.engine.data import batch_rows
from app.engine.errors import InvalidInput
from app.engine.iterate import trace
from app.engine.loss import LOSSES
from app.engine.network import Network, bias_name, weight_name
from app.engine.state import State

H = float(np.finfo(np.float64).eps ** (1 / 3))
TINY = 1e-4  # × |E|: the smallest gradient whose error is relative to itself
# Neuron evaluations (a row of a layer: its nets and their activation) a check may ask:
# about 1.2 s with sigmoid, the slowest activation, on the build machine (2 cores); the
# largest network (7 layers of 16 × 16 weights) takes up to 164 samples.
MAX_WORK = 40_000_000
ROWS = 16_384  # rows of one stacked pass: large enough to amortise numpy's calls


@dataclass(frozen=True)
class GradCheck:
    weight_grads: list[Array]  # backpropagation's ∂E/∂w, the batch's (as the update uses)
    bias_grads: list[Array]  # its ∂E/∂b
    numeric_weight_grads: list[Array]  # (E(w + h) − E(w − h)) / 2h, shape of weights
    numeric_bias_grads: list[Array]  # shape of biases
    weight_errors: list[Array]  # |a − n| / max(|a|, |n|, tiny), shape of weights
    bias_errors: list[Array]  # shape of biases
    max_error: float  # the largest of them all
    max_error_at: str  # the parameter it is at: w5, b2_1
    h: float  # the step
    tiny: float  # TINY · |E|
    loss: float  # E, the batch's
    batch: Array  # the batch's sample indices in the training set
    epoch: int


def work(network: Network, rows: int) -> int:
    """Neuron evaluations of a check on a batch of `rows` samples: each of the 2·(m+1)·n
    perturbations of layer l runs the batch through the layers after it."""
    layers = network.layers
    return sum(
        2 * (m + 1) * n * rows * sum(layers[l + 1 :])
        for l, (m, n) in enumerate(zip(layers, layers[1:]))
    )


def bounded(state: State, rows: int | None = None) -> int:
    """The work of a check of the state's next batch (of `rows` samples, or as its
    settings make it); InvalidInput if it is more than one request may ask."""
    if rows is None:
        rows = batch_rows(len(state.data.train[0]), state.training.batch_size)
    network = state.network
    if work(network, rows) > MAX_WORK:
        most = MAX_WORK // work(network, 1)
        raise InvalidInput(
            "batch_size",
            f"a gradient check of this network takes at most {most} samples per batch "
            f"(its batch has {rows}): the work of one request is bounded",
        )
    return work(network, rows)


def check(state: State) -> GradCheck:
    """The gradient check of the state's next iteration; InvalidInput if its batch is too
    large for this network (its work above MAX_WORK)."""
    t = trace(state)
    network = state.network
    bounded(state, len(t.batch))  # type: ignore[arg-type]
    inputs, targets = state.data.train
    numeric_w, numeric_b = numeric_grads(network, inputs[t.batch], targets[t.batch], H)
    if not all(np.isfinite(g).all() for g in numeric_w + numeric_b):
        raise InvalidInput("weights", "the perturbed losses overflow: no finite estimate")
    tiny = TINY * abs(t.forward.loss)
    weight_errors = [error(a, n, tiny) for a, n in zip(t.weight_grads, numeric_w)]
    bias_errors = [error(a, n, tiny) for a, n in zip(t.bias_grads, numeric_b)]
    max_error, max_at = _largest(network, weight_errors, bias_errors)
    return GradCheck(
        t.weight_grads,
        t.bias_grads,
        numeric_w,
        numeric_b,
        weight_errors,
        bias_errors,
        max_error,
        max_at,
        H,
        tiny,
        t.forward.loss,
        t.batch,  # type: ignore[arg-type]
        t.epoch,
    )


def error(analytic: Array, numeric: Array, tiny: float) -> Array:
    """|a − n| / max(|a|, |n|, tiny), entry by entry; 0 where a and n are both exactly 0
    (and so is tiny: E = 0)."""
    scale = np.maximum(np.maximum(np.abs(analytic), np.abs(numeric)), tiny)
    difference = np.abs(analytic - numeric)
    return np.divide(difference, scale, out=np.zeros_like(difference), where=scale > 0)


def numeric_grads(
    network: Network, inputs: Array, targets: Array, h: float
) -> tuple[list[Array], list[Array]]:
    """(E(p + h) − E(p − h)) / 2h for every weight and bias, E the batch's mean loss."""
    with np.errstate(all="ignore"):  # a loss that overflows shows as a non-finite estimate
        fwd = forward(network, inputs, targets)
        weight_grads, bias_grads = [], []
        for l, (m, n) in enumerate(zip(network.layers, network.layers[1:])):
            # What w_ji and b_j multiply in net_j: out_i of layer l, and 1.
            x = np.concatenate([fwd.out[l], np.ones((len(inputs), 1))], axis=1)
            # Parameter q of the layer: j = q // (m+1), i = q % (m+1) (i = m: the bias);
            # copies 0..Q−1 move it by +h, copies Q..2Q−1 by −h.
            q = np.arange(n * (m + 1))
            j, i = np.tile(q // (m + 1), 2), np.tile(q % (m + 1), 2)
            step = np.repeat([h, -h], len(q))
            losses = np.concatenate(
                [
                    _losses(network, l, fwd.net[l], x, targets, j[c], i[c], step[c])
                    for c in _chunks(len(j), len(inputs))
                ]
            )
            g = ((losses[: len(q)] - losses[len(q) :]) / (2 * h)).reshape(n, m + 1)
            weight_grads.append(np.ascontiguousarray(g[:, :m]))  # contiguous: for orjson
            bias_grads.append(np.ascontiguousarray(g[:, m]))
        return weight_grads, bias_grads


def _chunks(copies: int, rows: int) -> list[slice]:
    size = max(1, ROWS // rows)
    return [slice(k, k + size) for k in range(0, copies, size)]


def _losses(
    network: Network, l: int, net: Array, x: Array, targets: Array, j: Array, i: Array, step: Array
) -> Array:
    """E of the batch for each copy c, its net_j[c] of layer l+1 moved by step[c]·x[:, i[c]],
    run through the layers from l+1 on."""
    copies, rows = len(j), len(net)
    moved = np.tile(net, (copies, 1, 1))  # (copies, rows, neurons)
    moved[np.arange(copies), :, j] += step[:, None] * x[:, i].T
    net = moved.reshape(copies * rows, -1)
    out = ACTIVATIONS[network.activations[l]].f(net)
    for w, b, name in zip(
        network.weights[l + 1 :], network.biases[l + 1 :], network.activations[l + 1 :]
    ):
        net = out @ w.T
        net += b
        out = ACTIVATIONS[name].f(net)
    shape = (copies, rows, -1)
    e = LOSSES[network.loss].loss(targets, out.reshape(shape), net.reshape(shape))
    return e.reshape(copies, -1).sum(axis=1) / rows


def _largest(
    network: Network, weight_errors: list[Array], bias_errors: list[Array]
) -> tuple[float, str]:
    """The largest error and the name of its parameter (the first, among equals)."""
    best, at = -1.0, ""
    for l, e in enumerate(weight_errors):
        j, i = np.unravel_index(int(np.argmax(e)), e.shape)
        if e[j, i] > best:
            best, at = float(e[j, i]), weight_name(network.layers, l, int(j), int(i))
    for l, e in enumerate(bias_errors):
        j = int(np.argmax(e))
        if e[j] > best:
            best, at = float(e[j]), bias_name(l, j)
    return best, at
