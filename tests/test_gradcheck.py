"""The gradient check (app/engine/gradcheck.py): its finite differences agree with
backpropagation on random networks of every activation and loss pairing, on the tutorial's
figures, on the batch the next iteration takes; its work is bounded."""

import numpy as np
import pytest

from app.engine import InvalidInput, State, iterate, trace
from app.engine import gradcheck as gc
from app.engine.state import CLASSIC
from tests import reference as ref
from tests.test_gradients import (
    ELEMENTWISE,
    PAIRS,
    far_from_kinks,
    numerical_grads,
    random_network,
)


def checked_network(seed: int, hidden=None, output=None, loss=None) -> State:
    """A random network no ReLU kink is near: nets at least 0.1 from 0, far beyond what a
    step of h moves them."""
    net = random_network(seed, hidden, output, loss)
    while not far_from_kinks(net, 1e-4):
        seed += 1000
        net = random_network(seed, hidden, output, loss)
    return net


@pytest.mark.parametrize(
    "hidden,output,loss",
    [(a, "sigmoid", "half_sse") for a in ELEMENTWISE] + [("tanh", o, l) for o, l in PAIRS],
)
@pytest.mark.parametrize("seed", range(3))
def test_backpropagation_agrees_to_1e_6(hidden, output, loss, seed):
    net = checked_network(seed * 101 + len(hidden + output + loss), hidden, output, loss)
    c = gc.check(net)
    assert c.max_error <= 1e-6, (c.max_error, c.max_error_at)
    t = trace(net)
    assert all(np.array_equal(a, b) for a, b in zip(c.weight_grads, t.weight_grads))
    assert all(np.array_equal(a, b) for a, b in zip(c.bias_grads, t.bias_grads))


def batched(seed: int, output: str, loss: str) -> State:
    """A random network on a data set of 9 samples in shuffled batches of 4, after one
    iteration (its next batch the second of the first epoch), no ReLU kink near its nets."""
    while True:
        net = random_network(seed, "tanh", output, loss)
        rng = np.random.default_rng(seed)
        table = {
            "inputs": rng.uniform(-1, 1, (9, net.network.layers[0])).tolist(),
            "targets": [net.data.targets.tolist()] * 9,  # targets the loss takes
        }
        data = net.to_data() | {"inputs": None, "targets": None, "data": table}
        state = State.from_data(data | {"batch_size": 4, "shuffle": True})
        state, t = iterate(state, trace(state))
        if all(np.abs(n).min() > 0.1 for n in t.forward.net):
            return state
        seed += 1000


@pytest.mark.parametrize("output,loss", PAIRS)
def test_on_the_batch_the_next_iteration_takes(output, loss):
    state = batched(len(output) * 17 + len(loss), output, loss)
    c, t = gc.check(state), trace(state)
    assert c.batch.tolist() == t.batch.tolist() and len(c.batch) == 4 and c.epoch == 0
    assert c.loss == t.forward.loss
    assert c.max_error <= 1e-6, (c.max_error, c.max_error_at)


def test_the_stacked_passes_are_the_forward_pass_of_each_perturbed_parameter():
    # Moving net_j by h·out_i, as the check does, is moving w_ji by h.
    net = checked_network(4)
    d = net.data
    stacked = gc.numeric_grads(net.network, d.inputs[None], d.targets[None], gc.H)
    one_by_one = numerical_grads(net, gc.H)
    for ours, theirs in zip(stacked[0] + stacked[1], one_by_one[0] + one_by_one[1]):
        np.testing.assert_allclose(ours, theirs, rtol=1e-6, atol=1e-9)


def test_the_tutorial_s_gradients():
    c = gc.check(State.from_data(CLASSIC))
    for name, (l, j, i) in ref.INDEX.items():
        assert c.numeric_weight_grads[l][j, i] == pytest.approx(ref.GRADS[name], abs=1e-10)
    assert [b.tolist() for b in c.numeric_bias_grads] == [
        pytest.approx(d, abs=1e-10) for d in ref.DELTAS
    ]
    assert c.max_error < 1e-8
    assert c.max_error_at in [f"w{k}" for k in range(1, 9)] + ["b1_1", "b1_2", "b2_1", "b2_2"]
    assert c.h == gc.H == pytest.approx(6.055e-6, rel=1e-3)
    assert c.loss == pytest.approx(ref.E_TOTAL, abs=ref.TOL) and c.tiny == gc.TINY * c.loss
    assert c.batch.tolist() == [0] and c.epoch == 0


def test_it_shows_the_classic_slip_in_the_hidden_layer():
    c = gc.check(State.from_data(CLASSIC | {"classic_slip": True}))
    # w1 and w2 are off by the same 0.1683773 (to 8 digits): which of the two is the
    # largest is up to the finite differences' last bits, which differ between CPUs.
    assert c.max_error > 0.1 and c.max_error_at in ("w1", "w2")
    assert c.max_error == c.weight_errors[0].max()
    assert (c.weight_errors[0] > 0.1).all()  # w1..w4: through w5⁺..w8⁺, not ∂E/∂w
    assert (c.weight_errors[1] < 1e-8).all()  # w5..w8: the output δ is the derivation's


def test_the_largest_error_is_named_by_its_parameter():
    network = State.from_data(CLASSIC).network
    errors = [np.zeros((2, 2)), np.array([[0.0, 0.0], [0.0, 0.3]])], [np.zeros(2), np.zeros(2)]
    assert gc._largest(network, *errors) == (0.3, "w8")
    errors[1][1][0] = 0.5
    assert gc._largest(network, *errors) == (0.5, "b2_1")


def test_the_error_is_relative_with_a_floor():
    a, n = np.array([2.0, 1e-9, 0.0, 0.0]), np.array([1.0, 2e-9, 0.0, 1e-12])
    assert gc.error(a, n, 1e-6).tolist() == [0.5, pytest.approx(1e-3), 0.0, pytest.approx(1e-6)]
    assert gc.error(a, n, 0.0).tolist() == [0.5, 0.5, 0.0, 1.0]  # E = 0: no floor, no 0/0


LARGEST = {"layers": [16] * 8, "activations": ["tanh"] * 7, "seed": 2}


def largest(samples: int) -> State:
    rng = np.random.default_rng(1)
    table = {
        "inputs": rng.uniform(-1, 1, (samples, 16)),
        "targets": rng.uniform(0, 1, (samples, 16)),
    }
    return State.from_data(LARGEST | {"data": {k: v.tolist() for k, v in table.items()}})


def test_the_work_is_bounded():
    most = gc.MAX_WORK // gc.work(largest(1).network, 1)
    assert most == 164
    with pytest.raises(InvalidInput, match=f"^batch_size: .* at most {most} samples") as refused:
        gc.check(largest(1000))  # the whole set of 1000 samples as one batch
    assert "1000" in refused.value.message
    c = gc.check(largest(most))
    assert len(c.batch) == most and np.isfinite(c.max_error)
