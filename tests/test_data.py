"""Data sets (tables and generators) and their mini-batches, the latter against torch's
DataLoader."""

import pickle

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InvalidInput
from app.engine.data import (
    DEFAULTS,
    GATES,
    GENERATORS,
    MAX_SAMPLES,
    TABLE,
    DataSet,
    batch,
    batches_per_epoch,
    check_batch_size,
    order,
)
from tests.oracle import DataLoader, TensorDataset, needs_torch, torch
from tests.strategies import json_values

TOYS = [g for g in GENERATORS if g not in GATES]
LAYERS = (2, 3, 1)


def make(data, layers=LAYERS) -> DataSet:
    return DataSet.from_data(data, layers)


def same(a: DataSet, b: DataSet) -> bool:
    return a.spec == b.spec and all(np.array_equal(getattr(a, k), getattr(b, k)) for k in TABLE)


def test_a_table():
    d = make({"inputs": [[0, 1], [1, 0], [2, 2]], "targets": [[1], [0], [0.5]]}, layers=(2, 4, 1))
    assert d.inputs.shape == (3, 2) and d.targets.shape == (3, 1)
    assert d.test_inputs.shape == (0, 2) and d.test_targets.shape == (0, 1)
    assert d.spec is None
    assert all(getattr(d, k).dtype == np.float64 for k in TABLE)
    with pytest.raises(ValueError):
        d.inputs[0, 0] = 5.0
    assert d.to_data() == {
        "inputs": [[0.0, 1.0], [1.0, 0.0], [2.0, 2.0]],
        "targets": [[1.0], [0.0], [0.5]],
        "test_inputs": [],
        "test_targets": [],
    }
    assert same(make(d.to_data()), d)


def test_a_table_with_test_rows():
    d = make(
        {
            "inputs": [[0.1, 0.2, 0.3]],
            "targets": [[1, 0]],
            "test_inputs": [[1, 2, 3], [4, 5, 6]],
            "test_targets": [[0, 1], [1, 1]],
        },
        layers=(3, 2),
    )
    assert d.test_inputs.shape == (2, 3) and d.test_targets.shape == (2, 2)
    assert same(make(d.to_data(), layers=(3, 2)), d)


@pytest.mark.parametrize("generator", list(GATES))
def test_gates_are_their_truth_tables(generator):
    d = make({"generator": generator})
    assert d.inputs.tolist() == [[0, 0], [0, 1], [1, 0], [1, 1]]
    truth = {"and": [0, 0, 0, 1], "or": [0, 1, 1, 1], "xor": [0, 1, 1, 0]}[generator]
    assert d.targets[:, 0].tolist() == truth
    assert d.spec == {"generator": generator, "seed": 0, "test_fraction": 0.0}
    assert len(d.test_inputs) == 0


def test_a_gate_split_keeps_every_corner_once():
    d = make({"generator": "xor", "test_fraction": 0.5, "seed": 3})
    assert len(d.inputs) == len(d.test_inputs) == 2
    rows = sorted(map(tuple, np.vstack([d.inputs, d.test_inputs]).tolist()))
    assert rows == [(0, 0), (0, 1), (1, 0), (1, 1)]
    for x, t in zip(np.vstack([d.inputs, d.test_inputs]), np.vstack([d.targets, d.test_targets])):
        assert t[0] == float(x[0] != x[1])


@pytest.mark.parametrize("generator", TOYS)
@pytest.mark.parametrize("noise", [0.0, 0.5, 1.0])
def test_toys(generator, noise):
    d = make({"generator": generator, "noise": noise, "seed": 1})
    assert d.spec == DEFAULTS | {"generator": generator, "noise": noise, "seed": 1}
    assert d.inputs.shape == (200, 2) and d.targets.shape == (200, 1)
    assert set(d.targets[:, 0].tolist()) == {0.0, 1.0}
    assert d.targets.mean() == 0.5  # the two classes in equal numbers
    assert np.isfinite(d.inputs).all()
    # About [-1, 1]: the gaussians' tails and noisy points stray a little.
    assert np.abs(d.inputs).max() <= (1.0 if noise == 0 and generator != "gaussians" else 1.5)
    assert np.quantile(np.abs(d.inputs), 0.9) <= 1.0
    # Shuffled: no long run of one class in a row.
    assert np.abs(np.diff(d.targets[:, 0])).sum() > 50


def test_toys_have_their_shapes():
    """Without noise each toy separates its classes the way it says."""
    circle = make({"generator": "circle"})
    r = np.hypot(*circle.inputs.T)
    inside = circle.targets[:, 0] == 1
    assert r[inside].max() <= 0.5 < 0.7 <= r[~inside].min()
    quadrants = make({"generator": "xor_quadrants"})
    x, y = quadrants.inputs.T
    assert ((x * y > 0) == (quadrants.targets[:, 0] == 1)).all()
    assert np.abs(quadrants.inputs).min() >= 0.05
    blobs = make({"generator": "gaussians"})
    assert ((blobs.inputs.sum(axis=1) > 0) == (blobs.targets[:, 0] == 1)).all()
    spiral = make({"generator": "spiral"})
    assert np.hypot(*spiral.inputs.T).max() == pytest.approx(1.0, abs=0.01)
    # Point-symmetric arms: each class-1 point is a class-0 point turned by half a turn.
    ones = spiral.inputs[spiral.targets[:, 0] == 1]
    zeros = spiral.inputs[spiral.targets[:, 0] == 0]
    assert np.abs(np.sort(ones, axis=0) + np.sort(zeros, axis=0)[::-1]).max() < 1e-12


@pytest.mark.parametrize("generator", GENERATORS)
def test_the_same_seed_makes_the_same_data(generator):
    spec = {"generator": generator, "seed": 11, "test_fraction": 0.5}
    if generator not in GATES:
        spec |= {"noise": 0.3}
    assert same(make(spec), make(dict(spec)))
    other = make(spec | {"seed": 12})
    assert not same(make(spec), other)


@pytest.mark.parametrize("generator", GENERATORS)
def test_a_stored_data_set_is_read_back_as_it_was(generator):
    spec = {"generator": generator, "test_fraction": 0.3}
    d = make(spec)
    data = d.to_data()
    assert set(data) == set(TABLE) | set(d.spec)
    assert same(make(data), d)
    # The table it carries is kept (the numbers of a stored data set stay what they were).
    data["inputs"][0] = [9.0, 9.0]
    assert make(data).inputs[0].tolist() == [9.0, 9.0]


@pytest.mark.parametrize(
    ("samples", "fraction", "n_test"),
    [(200, 0.0, 0), (200, 0.25, 50), (10, 0.3, 3), (10, 0.29, 2), (1, 0.9, 0), (1000, 0.9, 900)],
)
def test_split_sizes(samples, fraction, n_test):
    d = make({"generator": "circle", "samples": samples, "test_fraction": fraction})
    assert (len(d.inputs), len(d.test_inputs)) == (samples - n_test, n_test)
    assert len(d.targets) == len(d.inputs) and len(d.test_targets) == n_test
    # The split is a partition of one set of generated samples.
    whole = make({"generator": "circle", "samples": samples})
    rows = np.vstack([d.inputs, d.test_inputs])
    assert sorted(map(tuple, rows.tolist())) == sorted(map(tuple, whole.inputs.tolist()))


def test_gate_split_sizes():
    sizes = [len(make({"generator": "and", "test_fraction": f}).test_inputs) for f in (0.25, 0.9)]
    assert sizes == [1, 3]


def test_the_cap_counts_training_and_test_rows():
    row = [[0.0, 0.0]]
    make({"inputs": row * 600, "targets": [[0]] * 600, "test_inputs": row * 400,
          "test_targets": [[0]] * 400})  # fmt: skip
    with pytest.raises(InvalidInput) as e:
        make({"inputs": row * 600, "targets": [[0]] * 600, "test_inputs": row * 401,
              "test_targets": [[0]] * 401})  # fmt: skip
    assert e.value.field == "data.test_inputs" and str(MAX_SAMPLES) in e.value.message
    with pytest.raises(InvalidInput) as e:
        make({"inputs": row * 1001, "targets": [[0]] * 1001})
    assert e.value.field == "data.inputs"
    assert len(make({"generator": "spiral", "samples": MAX_SAMPLES}).inputs) == MAX_SAMPLES


@pytest.mark.parametrize(
    ("data", "layers", "field", "words"),
    [
        ([], LAYERS, "data", "table"),
        ("xor", LAYERS, "data", "generator"),
        ({}, LAYERS, "data.inputs", "required"),
        ({"inputs": [[0, 0]]}, LAYERS, "data.targets", "required"),
        ({"inputs": [], "targets": []}, LAYERS, "data.inputs", "at least one"),
        ({"inputs": [[0, 0]], "targets": [[0]], "x": 1}, LAYERS, "data.x", "unknown key"),
        ({"inputs": {"a": 1}, "targets": [[0]]}, LAYERS, "data.inputs", "list of rows"),
        ({"inputs": [[0, 0], [1]], "targets": [[0], [1]]}, LAYERS, "data.inputs[1]", "2 numbers"),
        ({"inputs": [[0, 0], 1], "targets": [[0], [1]]}, LAYERS, "data.inputs[1]", "2 numbers"),
        ({"inputs": [[0, "1"]], "targets": [[0]]}, LAYERS, "data.inputs[0][1]", "finite"),
        ({"inputs": [[0, True]], "targets": [[0]]}, LAYERS, "data.inputs[0][1]", "finite"),
        ({"inputs": [[0, 1e999]], "targets": [[0]]}, LAYERS, "data.inputs[0][1]", "finite"),
        ({"inputs": [[0, 10**400]], "targets": [[0]]}, LAYERS, "data.inputs[0][1]", "finite"),
        (
            {"inputs": [[0, 0]] * 4, "targets": [[0], [1], [0], [float("nan")]]},
            LAYERS,
            "data.targets[3][0]",
            "finite",
        ),
        ({"inputs": [[0, 0]] * 2, "targets": [[0]]}, LAYERS, "data.targets", "expected 2 rows"),
        ({"inputs": [[0, 0, 0]], "targets": [[0]]}, LAYERS, "data.inputs[0]", "2 numbers"),
        ({"inputs": [[0, 0]], "targets": [[0, 1]]}, LAYERS, "data.targets[0]", "1 numbers"),
        (
            {"inputs": [[0, 0]], "targets": [[0]], "test_inputs": [[0, 0]]},
            LAYERS,
            "data.test_targets",
            "required with data.test_inputs",
        ),
        (
            {"inputs": [[0, 0]], "targets": [[0]], "test_targets": [[0]]},
            LAYERS,
            "data.test_inputs",
            "required with data.test_targets",
        ),
        (
            {"inputs": [[0, 0]], "targets": [[0]], "test_inputs": 0, "test_targets": 0},
            LAYERS,
            "data.test_inputs",
            "list of rows",
        ),
        (
            {"inputs": [[0, 0]], "targets": [[0]], "test_inputs": [], "test_targets": [[1]]},
            LAYERS,
            "data.test_targets",
            "expected 0 rows",
        ),
        ({"generator": "moons"}, LAYERS, "data.generator", "spiral"),
        ({"generator": None}, LAYERS, "data.generator", "unknown"),
        ({"generator": ["xor"]}, LAYERS, "data.generator", "unknown"),
        ({"generator": "xor"}, (3, 1), "data.generator", "2 inputs and 1 target"),
        ({"generator": "circle"}, (2, 2, 2), "data.generator", "layers [2, 2, 2]"),
        ({"generator": "xor", "samples": 4}, LAYERS, "data.samples", "exactly its 4 samples"),
        ({"generator": "and", "noise": 0}, LAYERS, "data.noise", "no noise"),
        ({"generator": "circle", "colour": 1}, LAYERS, "data.colour", "not an option of circle"),
        ({"generator": "circle", "samples": 0}, LAYERS, "data.samples", "from 1 to 1000"),
        ({"generator": "circle", "samples": 1001}, LAYERS, "data.samples", "from 1 to 1000"),
        ({"generator": "circle", "samples": 20.0}, LAYERS, "data.samples", "whole number"),
        ({"generator": "circle", "samples": True}, LAYERS, "data.samples", "whole number"),
        ({"generator": "circle", "noise": -0.1}, LAYERS, "data.noise", "[0, 1]"),
        ({"generator": "circle", "noise": 1.5}, LAYERS, "data.noise", "[0, 1]"),
        ({"generator": "circle", "noise": float("nan")}, LAYERS, "data.noise", "[0, 1]"),
        ({"generator": "circle", "noise": "0.1"}, LAYERS, "data.noise", "[0, 1]"),
        ({"generator": "circle", "seed": -1}, LAYERS, "data.seed", "whole number from 0"),
        ({"generator": "circle", "seed": 2**64}, LAYERS, "data.seed", "whole number from 0"),
        ({"generator": "circle", "seed": 1.5}, LAYERS, "data.seed", "whole number"),
        ({"generator": "xor", "seed": None}, LAYERS, "data.seed", "whole number"),
        ({"generator": "xor", "test_fraction": 0.95}, LAYERS, "data.test_fraction", "[0, 0.9]"),
        ({"generator": "xor", "test_fraction": False}, LAYERS, "data.test_fraction", "[0, 0.9]"),
        (
            {"generator": "xor", "inputs": [[0, 0]], "targets": [[0]], "test_inputs": [[0, 0]]},
            LAYERS,
            "data.test_targets",
            "required",
        ),
        ({"generator": "xor", "targets": [[0]]}, LAYERS, "data.inputs", "required"),
    ],
)
def test_bad_data_is_refused(data, layers, field, words):
    with pytest.raises(InvalidInput) as e:
        DataSet.from_data(data, layers)
    assert e.value.field == field
    assert words in e.value.message


_json = json_values(*GENERATORS, 10**400, 0.5, 4, max_leaves=12)
numbers = st.one_of(st.floats(), st.integers(-(10**20), 10**20), st.sampled_from([10**400, True]))
rows = st.lists(st.lists(numbers, min_size=1, max_size=3), max_size=4)
keys = st.sampled_from([*TABLE, *DEFAULTS, "generator", "x"])
# Near misses of a valid spec or table, so that the data sets made are checked too.
specs = st.fixed_dictionaries(
    {"generator": st.sampled_from(GENERATORS)},
    optional={
        "samples": st.one_of(st.integers(-1, MAX_SAMPLES + 1), _json),
        "noise": st.one_of(st.floats(-0.1, 1.1), _json),
        "seed": st.one_of(st.integers(-1, 2**64), _json),
        "test_fraction": st.one_of(st.floats(-0.1, 1.0), _json),
    },
)
tables = st.fixed_dictionaries(
    {"inputs": rows, "targets": rows}, optional={"test_inputs": rows, "test_targets": rows}
)


@settings(max_examples=200, deadline=None)
@given(
    st.one_of(
        _json,
        st.dictionaries(keys, st.one_of(rows, _json), max_size=5),
        specs,
        tables,
    )
)
def test_any_json_is_a_data_set_or_refused(data):
    try:
        d = DataSet.from_data(data, LAYERS)
    except InvalidInput as e:
        assert e.field == "data" or e.field.startswith("data.")
        return
    assert d.inputs.shape[1] == 2 and d.targets.shape == (len(d.inputs), 1)
    assert same(DataSet.from_data(d.to_data(), LAYERS), d)


# Batches.


def torch_batches(n: int, batch_size: int | None) -> list[list[int]]:
    """The index lists torch's DataLoader makes of samples 0..n−1, one epoch, in order."""
    loader = DataLoader(
        TensorDataset(torch.arange(n)), batch_size=batch_size or n, shuffle=False, drop_last=False
    )
    return [b.tolist() for (b,) in loader]


@needs_torch
@pytest.mark.parametrize("n", [1, 4, 7, 10, 200])
@pytest.mark.parametrize("batch_size", [None, 1, 2, 3, 4, 10, 64, 1000])
def test_batches_are_dataloader_s(n, batch_size):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    expected = torch_batches(n, batch_size)
    per_epoch = batches_per_epoch(n, batch_size)
    assert per_epoch == len(expected)
    for epoch in range(3):
        for k, indices in enumerate(expected):
            got_epoch, got = batch(n, batch_size, False, 0, epoch * per_epoch + k)
            assert got_epoch == epoch
            assert got.tolist() == indices


@pytest.mark.parametrize(("n", "batch_size"), [(10, 3), (10, 5), (7, 1), (200, 32), (5, None)])
def test_a_shuffled_epoch_has_every_sample_once(n, batch_size):
    per_epoch = batches_per_epoch(n, batch_size)
    epochs = {}
    for iteration in range(4 * per_epoch):
        epoch, indices = batch(n, batch_size, True, 7, iteration)
        epochs.setdefault(epoch, []).append(indices)
    assert sorted(epochs) == [0, 1, 2, 3]
    for epoch, batches in epochs.items():
        size = batch_size or n
        assert [len(b) for b in batches] == [size] * (per_epoch - 1) + [n - size * (per_epoch - 1)]
        joined = np.concatenate(batches)
        assert sorted(joined.tolist()) == list(range(n))
        assert joined.tolist() == order(n, True, 7, epoch).tolist()
    if n > 5:  # epochs are shuffled differently
        assert not np.array_equal(order(n, True, 7, 0), order(n, True, 7, 1))


def test_shuffled_orders_are_reproducible():
    assert order(50, True, 3, 2).tolist() == order(50, True, 3, 2).tolist()
    assert order(50, True, 3, 2).tolist() == np.random.default_rng([3, 2]).permutation(50).tolist()
    assert order(50, True, 3, 2).tolist() != order(50, True, 4, 2).tolist()
    assert order(50, False, 3, 2).tolist() == list(range(50))


def test_batch_sizes():
    assert [batches_per_epoch(10, b) for b in (None, 1, 3, 5, 10, 11, MAX_SAMPLES)] == [
        1,
        10,
        4,
        2,
        1,
        1,
        1,
    ]
    assert [len(batch(10, 3, False, 0, k)[1]) for k in range(5)] == [3, 3, 3, 1, 3]
    assert batch(10, MAX_SAMPLES, False, 0, 1)[0] == 1
    assert check_batch_size(None) is None and check_batch_size(4) == 4
    with pytest.raises(InvalidInput, match=r"^batch_size: "):  # bounded before it is used
        check_batch_size(10**30)


@pytest.mark.parametrize("batch_size", [0, -1, 2.0, "4", True, [4]])
def test_bad_batch_sizes_are_refused(batch_size):
    with pytest.raises(InvalidInput) as e:
        batches_per_epoch(10, batch_size)
    assert e.value.field == "batch_size"
    with pytest.raises(InvalidInput):
        batch(10, batch_size, False, 0, 0)


def test_bad_iterations_are_refused():
    for iteration in (-1, 1.0, None):
        with pytest.raises(InvalidInput) as e:
            batch(10, 3, False, 0, iteration)
        assert e.value.field == "iteration"


def test_a_pickled_data_set_stays_read_only():
    d = pickle.loads(pickle.dumps(make({"generator": "circle", "test_fraction": 0.5})))
    for k in TABLE:
        assert not getattr(d, k).flags.writeable
