"""The classic slip at any depth and with any optimiser (classic_slip, backprop.backward's
`update`, iterate.slipped): going backwards, each layer's δ is taken through the next
layer's weights as the update leaves them; off, nothing changes."""

import numpy as np
import pytest

from app import session as ops
from app.engine import PRESETS, State, forward, iterate, trace

OPTIMIZERS = [
    {"name": "sgd"},
    {"name": "sgd", "momentum": 0.9, "weight_decay": 0.01, "nesterov": True},
    {"name": "rmsprop", "momentum": 0.5, "centered": True},
    {"name": "adagrad", "lr_decay": 0.1},
    {"name": "adam", "amsgrad": True},
    {"name": "adamw"},
]


def deep(slip: bool, **fields) -> State:
    """The deep preset (2-3-3-2 sigmoid), its biases updated too."""
    return State.from_data(PRESETS["deep"] | {"classic_slip": slip, "update_biases": True} | fields)


def test_at_any_depth_sgd_updates_layer_by_layer_from_the_output_down():
    state = deep(True, learning_rate=2.0)  # a large η: the slip shows in every digit
    network, lr = state.network, 2.0
    d = state.data
    f = forward(network, d.inputs[None], d.targets[None])
    out = [o[0] for o in f.out]
    w = list(network.weights)
    deltas = [None] * network.depth
    delta = (out[-1] - d.targets) * out[-1] * (1 - out[-1])  # ½(t − out)², sigmoid
    for l in reversed(range(network.depth)):
        if l < network.depth - 1:
            delta = (w[l + 1].T @ deltas[l + 1]) * out[l + 1] * (1 - out[l + 1])  # w⁺ above
        deltas[l] = delta
        w[l] = w[l] - lr * np.outer(delta, out[l])  # updated before the layer below
    t = trace(state)
    for l in range(network.depth):
        np.testing.assert_allclose(t.at(0).backward.deltas[l], deltas[l], rtol=1e-13)
        np.testing.assert_allclose(t.weights[l], w[l], rtol=1e-13)
        np.testing.assert_allclose(t.biases[l], network.biases[l] - lr * deltas[l], rtol=1e-13)
    correct = trace(deep(False, learning_rate=2.0))
    assert np.array_equal(correct.backward.deltas[-1], t.backward.deltas[-1])
    for l in range(network.depth - 1):  # every hidden layer's δ differs
        assert not np.allclose(correct.backward.deltas[l], t.backward.deltas[l], rtol=1e-6)


def batched(slip: bool, optimizer: dict) -> State:
    """The deep network on 6 samples in batches of 3, its optimiser's state after two
    iterations (so each entry holds something)."""
    rng = np.random.default_rng(4)
    table = {
        "inputs": rng.uniform(-1, 1, (6, 2)).tolist(),
        "targets": rng.uniform(0, 1, (6, 2)).tolist(),
    }
    data = {"data": table, "inputs": None, "targets": None, "batch_size": 3}
    state = deep(slip, optimizer=optimizer, learning_rate=0.1, **data)
    for _ in range(2):
        state, _ = iterate(state, trace(state))
    return state


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(map(str, o.values())))
def test_with_any_optimiser_each_delta_goes_through_the_step_s_own_w_plus(optimizer):
    state = batched(True, optimizer)
    t = trace(state)
    b = t.backward
    for l in range(state.network.depth):
        # The w⁺ the slip took δ through is, to the bit, the one the whole step made.
        assert np.array_equal(b.dE_dout_terms[l], b.deltas[l][:, :, None] * t.weights[l])
        if l < state.network.depth - 1:
            # (a matrix product: the sum of the paths, rounded in its own order)
            paths = b.dE_dout_terms[l + 1].sum(axis=1)
            np.testing.assert_allclose(b.dE_dout[l], paths, rtol=1e-13, atol=1e-18)
            out = t.forward.out[l + 1]
            np.testing.assert_allclose(
                b.deltas[l], (b.deltas[l + 1] @ t.weights[l + 1]) * out * (1 - out), rtol=1e-12
            )
    # Off, the same state takes every δ through the weights from before the update.
    off = State.from_data(state.to_data() | {"classic_slip": False})
    b_off = trace(off).backward
    for l in range(off.network.depth):
        assert np.array_equal(
            b_off.dE_dout_terms[l], b_off.deltas[l][:, :, None] * off.network.weights[l]
        )
    assert np.array_equal(b_off.deltas[-1], b.deltas[-1])
    assert not np.allclose(b_off.deltas[0], b.deltas[0], rtol=1e-9)


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(map(str, o.values())))
def test_off_it_changes_nothing(optimizer):
    # The default and classic_slip false are one state, and one trace.
    state = batched(False, optimizer)
    data = state.to_data()
    assert data["classic_slip"] is False
    data.pop("classic_slip")
    default = State.from_data(data)
    assert default.to_data() == state.to_data()
    a, b = trace(default), trace(state)
    for x, y in zip(
        a.backward.deltas + a.weights + a.biases, b.backward.deltas + b.weights + b.biases
    ):
        assert np.array_equal(x, y)


def test_switching_it_starts_the_optimiser_afresh():
    s, _ = ops.step(ops.create({"preset": "deep", "optimizer": {"name": "adam"}}))
    assert s.state.training.step == 1
    switched = ops.patch(s, {"classic_slip": True})
    assert switched.state.training.classic_slip and switched.state.training.step == 0
    switched, _ = ops.step(switched)
    assert ops.patch(switched, {"classic_slip": True}).state.training.step == 1  # no switch
