"""Gradients checked by finite differences and against PyTorch autograd, on random networks
of every activation and every loss they pair with."""

import numpy as np
import pytest

from app.engine import ACTIVATIONS, LOSSES, InvalidInput, State, forward, trace
from tests.oracle import F, needs_torch, torch

ELEMENTWISE = [name for name, a in ACTIVATIONS.items() if not a.output_only]
# Every (output activation, loss) the engine takes: the squared errors on any output, the
# cross-entropies on the activation they are defined on.
PAIRS = [
    (out, loss.name)
    for loss in LOSSES.values()
    for out in ACTIVATIONS
    if loss.activation in (None, out)
]


def random_targets(rng, n: int, loss: str, rows: int | None = None) -> np.ndarray:
    shape = (n,) if rows is None else (rows, n)
    if loss == "cross_entropy":  # a distribution over the outputs
        return rng.dirichlet(np.ones(n), size=rows) if rows else rng.dirichlet(np.ones(n))
    return rng.uniform(0, 1, shape)


def random_network(
    seed: int, hidden: str | None = None, output: str | None = None, loss: str | None = None
) -> State:
    """A random architecture (0..6 hidden layers of 1..16), activations, inputs and targets:
    the hidden activations random or `hidden`, the output's and the loss a valid pair."""
    rng = np.random.default_rng(seed)
    layers = [int(n) for n in rng.integers(1, 17, size=rng.integers(2, 9))]
    if output is None or loss is None:
        output, loss = PAIRS[rng.integers(len(PAIRS))]
    if output == "softmax" and layers[-1] == 1:
        layers[-1] = 2  # a softmax of one output is the constant 1: nothing to learn
    activations = [hidden or ELEMENTWISE[rng.integers(len(ELEMENTWISE))] for _ in layers[2:]]
    return State.from_data(
        {
            "layers": layers,
            "activations": [*activations, output],
            "loss": loss,
            "weights": [rng.normal(0, 0.8, (n, m)) for m, n in zip(layers, layers[1:])],
            "biases": [rng.normal(0, 0.5, n) for n in layers[1:]],
            "inputs": rng.uniform(-1, 1, layers[0]),
            "targets": random_targets(rng, layers[-1], loss),
            "learning_rate": float(rng.uniform(0.01, 1)),
            "update_biases": bool(rng.integers(2)),
        }
    )


def sample_forward(state: State):
    d = state.data
    return forward(state.network, d.inputs[None], d.targets[None])


def far_from_kinks(state: State, h: float) -> bool:
    """ReLU has no derivative at 0: finite differences across it measure nothing useful."""
    return all(np.abs(n).min() > 1e3 * h for n in sample_forward(state).net)


def numerical_grads(state: State, h: float = 1e-6):
    def loss(weights, biases):
        return sample_forward(state.with_params(tuple(weights), tuple(biases))).loss

    net = state.network
    w_grads = []
    for l, w in enumerate(net.weights):
        g = np.zeros_like(w)
        for idx in np.ndindex(w.shape):
            plus, minus = [x.copy() for x in net.weights], [x.copy() for x in net.weights]
            plus[l][idx] += h
            minus[l][idx] -= h
            g[idx] = (loss(plus, net.biases) - loss(minus, net.biases)) / (2 * h)
        w_grads.append(g)
    b_grads = []
    for l, b in enumerate(net.biases):
        g = np.zeros_like(b)
        for j in range(b.size):
            plus, minus = [x.copy() for x in net.biases], [x.copy() for x in net.biases]
            plus[l][j] += h
            minus[l][j] -= h
            g[j] = (loss(net.weights, plus) - loss(net.weights, minus)) / (2 * h)
        b_grads.append(g)
    return w_grads, b_grads


@pytest.mark.parametrize(
    "hidden,output,loss",
    [(a, "sigmoid", "half_sse") for a in ELEMENTWISE] + [("tanh", o, l) for o, l in PAIRS],
)
@pytest.mark.parametrize("seed", range(3))
def test_finite_differences(hidden, output, loss, seed):
    h = 1e-6
    net = random_network(seed * 101 + len(hidden + output + loss), hidden, output, loss)
    while not far_from_kinks(net, h):
        seed += 1000
        net = random_network(seed, hidden, output, loss)
    b = trace(net).at(0).backward
    w_num, b_num = numerical_grads(net, h)
    scale = max(1.0, max(np.abs(g).max() for g in b.weight_grads))
    for analytic, numeric in zip(b.weight_grads + b.bias_grads, w_num + b_num):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7 * scale)


TORCH_ACTIVATIONS = {
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "relu": lambda x: torch.relu(x),
    "leaky_relu": lambda x: F.leaky_relu(x),  # negative_slope 0.01
    "linear": lambda x: x,
    "softmax": lambda x: torch.softmax(x, dim=-1),
}
# The batch's loss from its outputs, its output layer's nets and its targets (a row each).
TORCH_LOSSES = {
    "half_sse": lambda out, net, target: (0.5 * (target - out) ** 2).sum(dim=-1).mean(),
    "mse": lambda out, net, target: F.mse_loss(out, target),
    "bce": lambda out, net, target: F.binary_cross_entropy_with_logits(net, target),
    "cross_entropy": lambda out, net, target: F.cross_entropy(net, target),
}
assert set(TORCH_ACTIVATIONS) == set(ACTIVATIONS) and set(TORCH_LOSSES) == set(LOSSES)


def torch_iteration(state: State, inputs: np.ndarray, targets: np.ndarray):
    """The same iteration of a batch in PyTorch autograd: every intermediate, the batch's
    gradients and w⁺ (torch's SGD)."""
    net, training = state.network, state.training
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    out = torch.tensor(inputs, dtype=torch.float64)
    nets, outs = [], []
    for w, b, name in zip(ws, bs, net.activations):
        n = out @ w.T + b
        n.retain_grad()
        out = TORCH_ACTIVATIONS[name](n)
        out.retain_grad()
        nets.append(n)
        outs.append(out)
    target = torch.tensor(targets, dtype=torch.float64)
    loss = TORCH_LOSSES[net.loss](out, nets[-1], target)
    loss.backward()
    opt = torch.optim.SGD(ws + (bs if training.update_biases else []), lr=training.learning_rate)
    grads = [w.grad.clone() for w in ws], [b.grad.clone() for b in bs]
    opt.step()
    return loss, nets, outs, grads, ws, bs


def same(ours, theirs):
    """Equal to 1e-12 of the largest number of the array (w⁺ = w − η·g rounds at w's
    scale, so a small entry beside large ones carries their rounding)."""
    theirs = theirs.detach().numpy()
    scale = max(1.0, float(np.abs(theirs).max(initial=0)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-12, atol=1e-12 * scale)


@needs_torch
@pytest.mark.parametrize("output,loss", PAIRS)
@pytest.mark.parametrize("seed", range(4))
def test_against_pytorch_autograd(output, loss, seed):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    state = random_network(seed * 31 + len(output) * 7 + len(loss), None, output, loss)
    t = trace(state).at(0)
    d = state.data
    e, nets, outs, (w_grads, b_grads), ws, bs = torch_iteration(
        state, d.inputs[None], d.targets[None]
    )
    same(t.forward.loss, e)
    for l in range(state.network.depth):
        same(t.forward.net[l], nets[l][0])
        same(t.forward.out[l + 1], outs[l][0])
        if outs[l].grad is not None:  # a loss from the logits takes no path through out
            same(t.backward.dE_dout[l], outs[l].grad[0])
        same(t.backward.deltas[l], nets[l].grad[0])
        same(t.backward.weight_grads[l], w_grads[l])
        same(t.backward.bias_grads[l], b_grads[l])
        same(t.weights[l], ws[l])
        same(t.biases[l], bs[l])


@needs_torch
@pytest.mark.parametrize("output,loss", PAIRS)
def test_a_batch_s_loss_and_gradients_are_the_mean_of_its_samples_as_torch(output, loss):
    state = random_network(len(output) * 13 + len(loss), None, output, loss)
    rng = np.random.default_rng(5)
    layers = state.network.layers
    inputs = rng.uniform(-1, 1, (5, layers[0]))
    targets = random_targets(rng, layers[-1], loss, rows=5)
    table = {"inputs": inputs.tolist(), "targets": targets.tolist()}
    batched = State.from_data(
        state.to_data() | {"inputs": None, "targets": None, "data": table, "update_biases": True}
    )
    t = trace(batched)
    assert t.batch.tolist() == [0, 1, 2, 3, 4]  # a batch of the whole table, in order
    e, nets, outs, (w_grads, b_grads), ws, bs = torch_iteration(batched, inputs, targets)
    same(t.forward.loss, e)
    for l in range(state.network.depth):
        same(t.forward.out[l + 1], outs[l])
        same(t.weight_grads[l], w_grads[l])
        same(t.bias_grads[l], b_grads[l])
        same(t.weights[l], ws[l])
        same(t.biases[l], bs[l])
        # Each sample's δ is its own loss's: the batch's, times the batch size.
        same(t.backward.deltas[l], nets[l].grad * 5)


@pytest.mark.parametrize("name", list(ACTIVATIONS))
def test_activations_are_stable_at_extreme_nets(name):
    act = ACTIVATIONS[name]
    net = np.array([-1000.0, -40.0, 0.0, 40.0, 1000.0])
    # Overflow, 0/0 or 1/0 would raise; underflow to 0 is exact enough and numpy is quiet on it.
    with np.errstate(over="raise", divide="raise", invalid="raise"):
        out = act.f(net)
        der = act.df(net, out)
    assert np.isfinite(out).all() and np.isfinite(der).all()
    if name == "sigmoid":
        assert out.tolist() == [0.0, pytest.approx(4.248354255291589e-18), 0.5, 1.0, 1.0]
    if name == "tanh":
        assert out.tolist() == [-1.0, -1.0, 0.0, 1.0, 1.0]
    if name == "softmax":
        assert out.tolist() == [0.0, 0.0, 0.0, pytest.approx(0.0), 1.0]


def test_relu_s_derivative_at_exactly_zero_is_zero_as_torch():
    for name, slope in (("relu", 0.0), ("leaky_relu", 0.01)):
        act = ACTIVATIONS[name]
        net = np.array([-2.0, 0.0, 3.0])
        assert act.df(net, act.f(net)).tolist() == [slope, slope, 1.0]


@pytest.mark.parametrize("output,loss", [("sigmoid", "bce"), ("softmax", "cross_entropy")])
def test_a_saturated_output_keeps_the_cross_entropy_s_delta_finite(output, loss):
    state = State.from_data(
        {
            "layers": [1, 2],
            "activations": [output],
            "loss": loss,
            "weights": [[[1000.0], [-1000.0]]],
            "biases": [[0.0, 0.0]],
            "inputs": [1.0],
            "targets": [0.0, 1.0] if loss == "cross_entropy" else [1.0, 0.0],
        }
    )
    t = trace(state)
    assert t.finite and t.backward.fused
    # out ≈ (1, 0) against targets (0, 1): δ = out − target (over the 2 outputs for bce)
    expected = [1.0, -1.0] if loss == "cross_entropy" else [0.0, 0.0]
    assert t.at(0).backward.deltas[0].tolist() == expected
    # −log out_2 = net_1 − net_2 = 2000 for cross-entropy; bce: (0 + 1000·1 − 1000·1) / 2 = 0
    assert t.forward.loss == pytest.approx(2000.0 if loss == "cross_entropy" else 0.0, abs=1e-9)


def test_a_network_driven_to_net_1000_stays_finite():
    net = State.from_data(
        {
            "layers": [1, 2, 1],
            "activations": ["sigmoid", "tanh"],
            "weights": [[[1000.0], [-1000.0]], [[1.0, 1.0]]],
            "biases": [[0.0, 0.0], [0.0]],
            "inputs": [1.0],
            "targets": [0.5],
        }
    )
    t = trace(net)
    assert t.finite
    assert t.at(0).forward.out[1].tolist() == [1.0, 0.0]


CLASSIC = {
    "layers": [2, 2, 2],
    "inputs": [0.05, 0.1],
    "targets": [0.01, 0.99],
    "seed": 1,
}


@pytest.mark.parametrize(
    "change,field",
    [
        ({"activations": ["softmax", "sigmoid"]}, "activations[0]"),
        ({"loss": "cross_entropy"}, "loss"),
        ({"activations": ["sigmoid", "softmax"], "loss": "bce"}, "loss"),
        ({"loss": "bce", "targets": [1.5, 0.0]}, "targets"),
        (
            {"activations": ["sigmoid", "softmax"], "loss": "cross_entropy", "targets": [0.5, 0.6]},
            "targets",
        ),
        (
            {
                "activations": ["sigmoid", "softmax"],
                "loss": "cross_entropy",
                "targets": [1.2, -0.2],
            },
            "targets",
        ),
        ({"loss": "hinge"}, "loss"),
        ({"activations": ["sigmoid", "swish"]}, "activations[1]"),
    ],
)
def test_invalid_pairings_name_the_field(change, field):
    with pytest.raises(InvalidInput) as refused:
        State.from_data(CLASSIC | change)
    assert refused.value.field == field


def test_softmax_with_a_squared_error_goes_through_its_jacobian():
    state = State.from_data(CLASSIC | {"activations": ["sigmoid", "softmax"], "loss": "mse"})
    t = trace(state).at(0)
    out, g = t.forward.out[-1], t.backward.dE_dout[-1]
    jacobian = np.diag(out) - np.outer(out, out)
    np.testing.assert_allclose(t.backward.deltas[-1], jacobian @ g, rtol=1e-14)
    assert not t.backward.fused
