"""The weight initialisers: today's draw kept, torch.nn.init's bounds and deviations, checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InvalidInput, State
from app.engine.init import (
    DEFAULT,
    GAINS,
    INITIALISERS,
    check,
    draw_biases,
    draw_weights,
    gain,
)
from app.engine.state import CLASSIC
from tests.oracle import needs_torch, torch
from tests.strategies import json_values

# A sample and no parameters: the network draws them from its seed.
UNDRAWN = {k: v for k, v in CLASSIC.items() if k not in ("weights", "biases")}


def draw(spec, layers, seed):
    rng = np.random.default_rng(seed)
    return draw_weights(spec, layers, rng), draw_biases(spec, layers, rng)


def todays_draw(layers, rng):
    """The lab's draw before initialisers: every weight, then every bias, in ±0.5."""
    weights = [rng.uniform(-0.5, 0.5, (n, m)) for m, n in zip(layers, layers[1:])]
    return weights, [rng.uniform(-0.5, 0.5, n) for n in layers[1:]]


@pytest.mark.parametrize("spec", [None, DEFAULT, {"name": "uniform"}])
@pytest.mark.parametrize("layers", [(2, 2, 2), (3, 5, 1), (16, 16, 16, 4)])
def test_uniform_is_todays_draw(spec, layers):
    for seed in (0, 1, 7, 12345):
        weights, biases = draw(spec, layers, seed)
        old_weights, old_biases = todays_draw(layers, np.random.default_rng(seed))
        for ours, theirs in zip(weights + biases, old_weights + old_biases):
            np.testing.assert_array_equal(ours, theirs)
        state = State.from_data(
            UNDRAWN
            | {"layers": list(layers), "activations": ["sigmoid"] * (len(layers) - 1)}
            | {"inputs": [0.0] * layers[0], "targets": [0.0] * layers[-1], "seed": seed}
            | ({} if spec is None else {"init": spec})
        )
        for ours, theirs in zip(weights + biases, state.network.weights + state.network.biases):
            np.testing.assert_array_equal(ours, theirs)


def test_biases_alone_are_todays_draw():
    """Given the weights, a network draws its biases first from its seed."""
    state = State.from_data(UNDRAWN | {"weights": CLASSIC["weights"], "seed": 5})
    rng = np.random.default_rng(5)
    old = [rng.uniform(-0.5, 0.5, n) for n in state.network.layers[1:]]
    for ours, theirs in zip(old, state.network.biases):
        np.testing.assert_array_equal(ours, theirs)


def test_a_state_draws_with_its_initialiser_and_keeps_it():
    spec = {"name": "xavier_normal", "gain": 2.0}
    state = State.from_data(UNDRAWN | {"init": spec, "seed": 3})
    weights, biases = draw(spec, state.network.layers, 3)
    for ours, theirs in zip(weights + biases, state.network.weights + state.network.biases):
        np.testing.assert_array_equal(ours, theirs)
    assert state.to_data()["init"] == {"name": "xavier_normal", "gain": 2.0}
    assert all(not b.any() for b in state.network.biases)  # xavier: zero biases
    with pytest.raises(InvalidInput, match=r"^init\.gain: "):
        State.from_data(UNDRAWN | {"init": {"name": "xavier_normal", "gain": -1}})


@pytest.mark.parametrize("name", list(INITIALISERS))
def test_same_seed_same_draw(name):
    layers = (3, 16, 16, 2)
    w1, b1 = draw({"name": name}, layers, 42)
    w2, b2 = draw({"name": name}, layers, 42)
    w3, _ = draw({"name": name}, layers, 43)
    for a, b in zip(w1 + b1, w2 + b2):
        np.testing.assert_array_equal(a, b)
    assert [w.shape for w in w1] == [(16, 3), (16, 16), (2, 16)]
    assert [b.shape for b in b1] == [(16,), (16,), (2,)]
    assert all(a.dtype == np.float64 for a in w1 + b1)
    assert (name == "zeros") == all((a == b).all() for a, b in zip(w1, w3))


@pytest.mark.parametrize("name", ["zeros", "normal", "xavier_uniform", "kaiming_normal"])
def test_zero_initialisers_draw_nothing(name):
    rng = np.random.default_rng(3)
    before = rng.bit_generator.state
    biases = draw_biases({"name": name}, (4, 3, 2), rng)
    if name == "zeros":
        assert all((w == 0).all() for w in draw_weights({"name": name}, (4, 3, 2), rng))
    assert rng.bit_generator.state == before
    assert all((b == 0).all() for b in biases)


# Large draws against torch.nn.init. weights[l] is (fan_out, fan_in) = (300, 200), not square,
# so that a fan_in taken for a fan_out shows.
SHAPE = (300, 200)
CASES = [
    ({"name": "uniform", "a": 0.3}, lambda t: torch.nn.init.uniform_(t, -0.3, 0.3)),
    ({"name": "normal"}, lambda t: torch.nn.init.normal_(t)),
    ({"name": "normal", "mean": 0.5, "std": 0.2}, lambda t: torch.nn.init.normal_(t, 0.5, 0.2)),
    ({"name": "xavier_uniform"}, lambda t: torch.nn.init.xavier_uniform_(t)),
    ({"name": "xavier_uniform", "gain": 2.0}, lambda t: torch.nn.init.xavier_uniform_(t, 2.0)),
    ({"name": "xavier_normal", "gain": 0.5}, lambda t: torch.nn.init.xavier_normal_(t, 0.5)),
    ({"name": "kaiming_uniform"}, lambda t: torch.nn.init.kaiming_uniform_(t)),
    (
        {"name": "kaiming_uniform", "a": 0.2, "mode": "fan_out"},
        lambda t: torch.nn.init.kaiming_uniform_(t, a=0.2, mode="fan_out"),
    ),
    (
        {"name": "kaiming_uniform", "nonlinearity": "tanh"},
        lambda t: torch.nn.init.kaiming_uniform_(t, nonlinearity="tanh"),
    ),
    (
        {"name": "kaiming_normal", "nonlinearity": "relu", "mode": "fan_out"},
        lambda t: torch.nn.init.kaiming_normal_(t, mode="fan_out", nonlinearity="relu"),
    ),
    (
        {"name": "kaiming_normal", "a": 1.0},
        lambda t: torch.nn.init.kaiming_normal_(t, a=1.0),
    ),
    (
        {"name": "torch_default"},
        lambda t: torch.nn.init.kaiming_uniform_(t, a=math.sqrt(5)),
    ),
]


def torch_draw(fill, shape) -> np.ndarray:
    torch.manual_seed(0)
    return fill(torch.empty(shape, dtype=torch.float64)).numpy()


def formula(spec, shape) -> tuple[str, float]:
    """("uniform", bound) or ("normal", std), from torch's own fans and gains."""
    fan_in, fan_out = torch.nn.init._calculate_fan_in_and_fan_out(torch.empty(shape))
    name = spec["name"]
    if name == "uniform":
        return "uniform", spec["a"]
    if name == "normal":
        return "normal", spec["std"]
    if name.startswith("xavier"):
        std = spec["gain"] * math.sqrt(2 / (fan_in + fan_out))
        return ("uniform", math.sqrt(3) * std) if name == "xavier_uniform" else ("normal", std)
    if name == "torch_default":
        spec = {"a": math.sqrt(5), "mode": "fan_in", "nonlinearity": "leaky_relu"}
    fan = fan_in if spec["mode"] == "fan_in" else fan_out
    std = torch.nn.init.calculate_gain(spec["nonlinearity"], spec["a"]) / math.sqrt(fan)
    return ("uniform", math.sqrt(3) * std) if name.endswith("uniform") else ("normal", std)


def assert_drawn_like(ours: np.ndarray, theirs: np.ndarray, kind: str, scale: float, mean=0.0):
    """Both draws uniform in ±scale, or normal with std scale, to sampling error."""
    n = ours.size
    if kind == "uniform":
        for x in (ours, theirs):
            assert -scale <= x.min() < -scale * (1 - 20 / n)
            assert scale * (1 - 20 / n) < x.max() <= scale
    for x in (ours, theirs):
        # The std of an estimated std is about std/√(2n) (a uniform's is smaller).
        assert x.std() == pytest.approx(
            scale / math.sqrt(3) if kind == "uniform" else scale, rel=5 / math.sqrt(2 * n)
        )
        assert x.mean() == pytest.approx(mean, abs=5 * scale / math.sqrt(n))


@needs_torch
@pytest.mark.parametrize(("spec", "fill"), CASES, ids=[str(spec) for spec, _ in CASES])
def test_large_draw_against_torch(spec, fill):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    spec = check(spec)
    ours = INITIALISERS[spec["name"]].w(spec, SHAPE, np.random.default_rng(0))
    assert ours.shape == SHAPE
    kind, scale = formula(spec, SHAPE)
    assert_drawn_like(ours, torch_draw(fill, SHAPE), kind, scale, spec.get("mean", 0.0))


FILLS = {
    "kaiming_uniform": lambda t, g: torch.nn.init.kaiming_uniform_(t, generator=g),
    "xavier_normal": lambda t, g: torch.nn.init.xavier_normal_(t, generator=g),
    "torch_default": lambda t, g: torch.nn.init.kaiming_uniform_(t, math.sqrt(5), generator=g),
}


@needs_torch
@pytest.mark.parametrize("name", list(FILLS))
def test_each_layer_has_its_own_fans(name):
    """Through draw_weights, a small network drawn from many seeds, beside as many torch
    draws of each layer's shape: each layer's fans are its own."""
    layers = (2, 16, 16, 1)
    draws = [draw_weights({"name": name}, layers, np.random.default_rng(s)) for s in range(400)]
    g = torch.Generator().manual_seed(0)
    for l, (m, n) in enumerate(zip(layers, layers[1:])):
        ours = np.stack([d[l] for d in draws])
        theirs = np.stack(
            [FILLS[name](torch.empty(n, m, dtype=torch.float64), g).numpy() for _ in draws]
        )
        kind, scale = formula(check({"name": name}), (n, m))
        assert_drawn_like(ours, theirs, kind, scale)


@needs_torch
def test_torch_default_biases_are_nn_linear_s():
    fan_out, fan_in = 300, 200
    torch.manual_seed(0)
    linear = torch.nn.Linear(fan_in, fan_out * 10, dtype=torch.float64)
    fan, _ = torch.nn.init._calculate_fan_in_and_fan_out(linear.weight)
    bound = 1 / math.sqrt(fan)
    rng = np.random.default_rng(0)
    ours = np.concatenate(
        [draw_biases({"name": "torch_default"}, (fan_in, fan_out), rng)[0] for _ in range(10)]
    )
    assert_drawn_like(ours, linear.bias.detach().numpy(), "uniform", bound)


@needs_torch
@pytest.mark.parametrize("nonlinearity", list(GAINS))
@pytest.mark.parametrize("a", [0, 0.01, 0.2, 1.0, math.sqrt(5)])
def test_gains_are_torch_s(nonlinearity, a):
    assert gain(nonlinearity, a) == pytest.approx(torch.nn.init.calculate_gain(nonlinearity, a))


def test_defaults():
    assert check(None) == {"name": "uniform", "a": 0.5}
    assert check({"name": "kaiming_uniform"}) == {
        "name": "kaiming_uniform",
        "a": 0.0,
        "mode": "fan_in",
        "nonlinearity": "leaky_relu",
    }
    assert check({"name": "normal", "std": 2}) == {"name": "normal", "mean": 0.0, "std": 2.0}
    assert check({"name": "zeros"}) == {"name": "zeros"}
    for name in INITIALISERS:
        full = check({"name": name})
        assert check(full) == full


@pytest.mark.parametrize(
    ("spec", "field", "words"),
    [
        ([], "init", "object"),
        ("uniform", "init", "object"),
        ({}, "init.name", "required"),
        ({"name": "he"}, "init.name", "xavier_uniform"),
        ({"name": ["uniform"]}, "init.name", "unknown"),
        ({"name": None}, "init.name", "unknown"),
        ({"name": "uniform", "std": 1}, "init.std", "not an option of uniform"),
        ({"name": "zeros", "a": 1}, "init.a", "no options"),
        ({"name": "uniform", "a": "0.5"}, "init.a", "number"),
        ({"name": "uniform", "a": True}, "init.a", "number"),
        ({"name": "uniform", "a": None}, "init.a", "number"),
        ({"name": "uniform", "a": -0.5}, "init.a", "[0, "),
        ({"name": "uniform", "a": float("nan")}, "init.a", "finite"),
        ({"name": "normal", "std": float("inf")}, "init.std", "finite"),
        ({"name": "normal", "mean": -float("inf")}, "init.mean", "finite"),
        ({"name": "normal", "std": -1}, "init.std", "[0, "),
        ({"name": "normal", "mean": 10**400}, "init.mean", "finite"),
        ({"name": "xavier_normal", "gain": -1.0}, "init.gain", "[0, "),
        ({"name": "xavier_normal", "gain": False}, "init.gain", "number"),
        ({"name": "kaiming_normal", "mode": "fan_avg"}, "init.mode", "fan_in, fan_out"),
        ({"name": "kaiming_normal", "mode": 1}, "init.mode", "unknown mode"),
        ({"name": "kaiming_uniform", "nonlinearity": "selu"}, "init.nonlinearity", "leaky_relu"),
        ({"name": "kaiming_uniform", "nonlinearity": {}}, "init.nonlinearity", "unknown"),
        ({"name": "kaiming_uniform", "a": -0.1}, "init.a", "[0, "),
    ],
)
def test_bad_specs_are_refused(spec, field, words):
    with pytest.raises(InvalidInput) as e:
        check(spec)
    assert e.value.field == field
    assert words in e.value.message


_json = json_values(10**20, -(10**20), max_leaves=10)
options = st.sampled_from(["name", "a", "mean", "std", "gain", "mode", "nonlinearity", "x"])


@settings(max_examples=300, deadline=None)
@given(
    st.one_of(
        _json,
        st.dictionaries(
            options,
            st.one_of(_json, st.sampled_from([*INITIALISERS, "fan_out", "relu", 0.1])),
            max_size=4,
        ),
    )
)
def test_any_json_is_checked_or_refused(spec):
    try:
        full = check(spec)
    except InvalidInput as e:
        assert e.field == "init" or e.field.startswith("init.")
        return
    weights, biases = draw(full, (2, 3, 1), 0)
    assert all(np.isfinite(a).all() for a in weights + biases)
