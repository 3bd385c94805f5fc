"""Session operations: what `patch` draws afresh and what it keeps."""

import pytest

from app import session as ops
from app.engine import InvalidInput


def classic() -> ops.Session:
    return ops.create({"preset": "classic"})


def test_another_initialiser_draws_new_weights_from_the_same_seed():
    s = ops.patch(classic(), {"seed": 4})
    drawn = ops.patch(s, {"init": {"name": "xavier_normal"}})
    assert drawn.state.training.init == {"name": "xavier_normal", "gain": 1.0}
    assert drawn.state.training.seed == 4
    assert drawn.state.to_data()["weights"] != s.state.to_data()["weights"]
    again = ops.patch(
        ops.patch(s, {"init": {"name": "uniform"}}), {"init": {"name": "xavier_normal"}}
    )
    assert again.state.to_data()["weights"] == drawn.state.to_data()["weights"]  # the seed's draw
    assert drawn.state.to_data()["biases"] == [[0.0, 0.0], [0.0, 0.0]]  # xavier: zero biases


def test_a_new_seed_draws_new_weights_the_same_initialiser_does_not():
    s = classic()
    weights = s.state.to_data()["weights"]
    assert (
        ops.patch(s, {"init": {"name": "uniform", "a": 0.5}}).state.to_data()["weights"] == weights
    )
    seeded = ops.patch(s, {"seed": 1})
    assert seeded.state.to_data()["weights"] != weights
    assert (
        ops.patch(seeded, {"seed": 1}).state.to_data()["weights"]
        == seeded.state.to_data()["weights"]
    )
    given = ops.patch(s, {"seed": 2, "weights": {"w5": 0.3}})  # a weight given with it is kept
    assert given.state.network.weights[1][0, 0] == 0.3
    assert given.state.network.weights[0][0, 0] != weights[0][0][0]


def test_a_redraw_starts_the_optimiser_afresh():
    s = ops.patch(classic(), {"optimizer": {"name": "adam"}})
    s, _ = ops.step(s)
    assert s.state.training.step == 1
    assert ops.patch(s, {"seed": 9}).state.training.step == 0


def test_a_new_shape_keeps_the_hidden_activations_in_order_and_the_output_s():
    s = ops.create({"preset": "deep", "activations": ["relu", "tanh", "softmax"]})
    fewer = ops.patch(s, {"layers": [2, 3, 2]})
    assert fewer.state.network.activations == ("relu", "softmax")
    more = ops.patch(s, {"layers": [2, 3, 3, 4, 2]})
    assert more.state.network.activations == ("relu", "tanh", "tanh", "softmax")
    none = ops.patch(ops.patch(s, {"layers": [2, 2]}), {"layers": [2, 4, 2]})
    assert none.state.network.activations == ("sigmoid", "softmax")  # never softmax hidden


def test_softmax_of_a_single_output_is_refused():
    s = ops.patch(classic(), {"activations": ["sigmoid", "softmax"]})
    with pytest.raises(InvalidInput) as e:
        ops.patch(s, {"layers": [2, 2, 1], "targets": [1.0]})
    assert e.value.field == "activations[1]" and "at least 2 neurons" in e.value.message


def test_a_history_cut_from_another_keeps_the_entries_of_the_slice_and_the_new_one():
    import orjson

    actions = ["create", "next", "step", "train", "edit", "reset", "undo"]
    entries = tuple(
        ops.Entry(seq, seq * 7 % 12, ["ready", "forward:1", "update"][seq % 3], actions[seq % 7])
        for seq in range(1, 9)
    )
    new = ops.Entry(9, 123456, "backward:2", "next")
    assert orjson.loads(new.raw) == [9, 123456, "backward:2", "next"]  # as the store keeps it
    for start in range(-2, 11):
        for stop in range(-2, 11):
            for entry in (new, None):
                cut = ops.History(8, entries).then(5, start, stop, entry)
                expected = (*entries[start:stop], *([entry] if entry else []))
                assert cut.entries == expected and cut.cursor == 5
