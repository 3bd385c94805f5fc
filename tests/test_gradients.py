"""Gradients checked by finite differences and against PyTorch autograd, on random networks."""

import numpy as np
import pytest

from app.engine import ACTIVATIONS, State, forward, trace
from tests.conftest import required


def random_network(seed: int, activation: str | None = None) -> State:
    """A random architecture (0..6 hidden layers of 1..16), activations, inputs and targets."""
    rng = np.random.default_rng(seed)
    layers = [int(n) for n in rng.integers(1, 17, size=rng.integers(2, 9))]
    names = list(ACTIVATIONS)
    activations = [activation or names[rng.integers(len(names))] for _ in layers[1:]]
    return State.from_data(
        {
            "layers": layers,
            "activations": activations,
            "weights": [rng.normal(0, 0.8, (n, m)) for m, n in zip(layers, layers[1:])],
            "biases": [rng.normal(0, 0.5, n) for n in layers[1:]],
            "inputs": rng.uniform(-1, 1, layers[0]),
            "targets": rng.uniform(0, 1, layers[-1]),
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


@pytest.mark.parametrize("activation", list(ACTIVATIONS))
@pytest.mark.parametrize("seed", range(6))
def test_finite_differences(activation, seed):
    h = 1e-6
    net = random_network(seed * 101 + len(activation), activation)
    while not far_from_kinks(net, h):
        seed += 1000
        net = random_network(seed, activation)
    b = trace(net).at(0).backward
    w_num, b_num = numerical_grads(net, h)
    scale = max(1.0, max(np.abs(g).max() for g in b.weight_grads))
    for analytic, numeric in zip(b.weight_grads + b.bias_grads, w_num + b_num):
        np.testing.assert_allclose(analytic, numeric, rtol=1e-5, atol=1e-7 * scale)


try:
    import torch
except ImportError:  # the oracle is optional outside CI, which demands it
    torch = None

needs_torch = pytest.mark.skipif(
    torch is None and not required("torch"),
    reason="PyTorch is the test-only oracle: pip install torch==2.13.0 (make test does)",
)

TORCH_ACTIVATIONS = {
    "sigmoid": lambda x: torch.sigmoid(x),
    "tanh": lambda x: torch.tanh(x),
    "relu": lambda x: torch.relu(x),
    "linear": lambda x: x,
}


def torch_iteration(state: State):
    """The same iteration in PyTorch autograd: every intermediate, gradients and w⁺."""
    net, data, training = state.network, state.data, state.training
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    out = torch.tensor(data.inputs, dtype=torch.float64)
    nets, outs = [], []
    for w, b, name in zip(ws, bs, net.activations):
        n = w @ out + b
        n.retain_grad()
        out = TORCH_ACTIVATIONS[name](n)
        out.retain_grad()
        nets.append(n)
        outs.append(out)
    target = torch.tensor(data.targets, dtype=torch.float64)
    loss = (0.5 * (target - out) ** 2).sum()
    loss.backward()
    opt = torch.optim.SGD(ws + (bs if training.update_biases else []), lr=training.learning_rate)
    grads = [w.grad.clone() for w in ws], [b.grad.clone() for b in bs]
    opt.step()
    return loss, nets, outs, grads, ws, bs


@needs_torch
@pytest.mark.parametrize("seed", range(40))
def test_against_pytorch_autograd(seed):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    net = random_network(seed)
    t = trace(net).at(0)
    loss, nets, outs, (w_grads, b_grads), ws, bs = torch_iteration(net)

    def same(ours, theirs):
        np.testing.assert_allclose(ours, theirs.detach().numpy(), rtol=1e-12, atol=1e-14)

    same(t.forward.loss, loss)
    for l in range(net.network.depth):
        same(t.forward.net[l], nets[l])
        same(t.forward.out[l + 1], outs[l])
        same(t.backward.dE_dout[l], outs[l].grad)
        same(t.backward.deltas[l], nets[l].grad)
        same(t.backward.weight_grads[l], w_grads[l])
        same(t.backward.bias_grads[l], b_grads[l])
        same(t.weights[l], ws[l])
        same(t.biases[l], bs[l])


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
