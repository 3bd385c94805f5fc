"""What the page's forms send, read into session operations' arguments."""

import pytest

from app import forms
from app import session as ops
from app.engine import InvalidInput
from app.view import ids

CLASSIC = ops.create({"preset": "classic"}).state


@pytest.mark.parametrize(
    "form, changes",
    [
        ({"w5": "0.3"}, {"weights": {"w5": 0.3}}),
        ({"b2_1": "−1e-2"}, {"biases": {"b2_1": -0.01}}),
        ({"i2": "0,2"}, {"inputs": [0.05, 0.2]}),
        ({"target_o1": "0.5"}, {"targets": [0.5, 0.99]}),
        ({"learning_rate": " 2 "}, {"learning_rate": 2.0}),
        ({"update_biases": "true"}, {"update_biases": True}),
        ({"activation_1": "relu"}, {"activations": ["relu", "sigmoid"]}),
    ],
)
def test_each_field_becomes_a_patch(form, changes):
    assert forms.changes(CLASSIC, form) == (next(iter(form)), changes)


@pytest.mark.parametrize(
    "form",
    [{}, {"w5": "1", "w6": "2"}, {"w5": "x"}, {"i0": "1"}, {"i3": "1"}, {"update_biases": "1"}],
)
def test_unreadable_edits_name_their_field(form):
    with pytest.raises(InvalidInput) as e:
        forms.changes(CLASSIC, form)
    assert e.value.field in (*form, "form")


def test_new_network_sizes():
    assert forms.new_network({"layers": "2-2-2"}) == {"preset": "classic"}
    data = forms.new_network({"layers": "3 x 4, 1", "activation": "tanh"})
    assert data["layers"] == [3, 4, 1] and data["activations"] == ["tanh", "tanh"]
    assert data["inputs"] == [0.05, 0.1, 0.05] and data["targets"] == [0.01]
    ops.create(data)  # a network the engine accepts
    for bad in ({"layers": "two"}, {"layers": "2-2", "activation": "softmax"}):
        with pytest.raises(InvalidInput):
            forms.new_network(bad)


def test_iterations_are_a_whole_number():
    assert forms.iterations(" 1000 ") == 1000
    for bad in (None, "", "1.5", "-1", "١٢"):
        with pytest.raises(InvalidInput):
            forms.iterations(bad)


def test_typed_is_known_only_from_the_field_typed_into():
    graph = ids.field("w5", "graph")
    assert forms.typed({"w5": "0.3"}, graph, refused=False).where == "graph"
    assert forms.typed({"w5": "0.3"}, graph, refused=True) is None
    assert forms.typed({"w5": "0.3"}, "somewhere-else", refused=False) is None


# The settings: architecture, initialiser, data


def test_layers_edits_fit_the_one_sample_to_the_new_shape():
    assert forms.changes(CLASSIC, {"layers": "2-3-2"}) == (
        "layers",
        {"layers": [2, 3, 2], "inputs": [0.05, 0.1], "targets": [0.01, 0.99]},
    )
    _, wider = forms.changes(CLASSIC, {"layers": "3-2-3"})
    assert wider["inputs"] == [0.05, 0.1, 0.0] and wider["targets"] == [0.01, 0.99, 0.0]
    _, narrower = forms.changes(CLASSIC, {"layers": "1-2"})
    assert narrower == {"layers": [1, 2], "inputs": [0.05], "targets": [0.01, 0.99]}
    ops.patch(ops.create({"preset": "classic"}), wider)  # a state the engine accepts


def test_layers_edits_fit_every_row_of_a_table():
    s = ops.create({"preset": "classic"}).state
    _, table = forms.changes(s, {"data": "table"})
    table_state = ops.patch(ops.create({"preset": "classic"}), table).state
    _, reshaped = forms.changes(table_state, {"layers": "3-2-1"})
    assert reshaped["data"]["inputs"] == [[0.05, 0.1, 0.0]]
    assert reshaped["data"]["targets"] == [[0.01]]


@pytest.mark.parametrize(
    "text, field",
    [
        ("two", "layers"),
        ("2", "layers"),
        ("2-2-2-2-2-2-2-2-2", "layers"),  # 7 hidden layers
        ("2-17-2", "layers"),  # layers[1], named as the field sent
        ("2-0-2", "layers"),
        ("2-" + "9" * 5000, "layers"),  # bounded before int() reads it
    ],
)
def test_bad_layers_name_the_field(text, field):
    with pytest.raises(InvalidInput) as e:
        forms.changes(CLASSIC, {"layers": text})
    assert e.value.field == field


def test_init_seed_and_init_options():
    assert forms.changes(CLASSIC, {"init": "xavier_normal"})[1] == {
        "init": {"name": "xavier_normal"}
    }
    assert forms.changes(CLASSIC, {"seed": " 12 "})[1] == {"seed": 12}
    assert forms.changes(CLASSIC, {"init.a": "0.1"})[1] == {"init": {"name": "uniform", "a": 0.1}}
    kaiming = ops.patch(ops.create({"preset": "classic"}), {"init": {"name": "kaiming_normal"}})
    assert forms.changes(kaiming.state, {"init.mode": "fan_out"})[1]["init"]["mode"] == "fan_out"
    for bad in ({"seed": "-1"}, {"seed": "1" * 2000}, {"init.std": "1"}):
        with pytest.raises(InvalidInput) as e:
            forms.changes(CLASSIC, bad)
        assert e.value.field == next(iter(bad))


def test_the_choice_of_data():
    _, table = forms.changes(CLASSIC, {"data": "table"})
    assert table == {"data": {"inputs": [[0.05, 0.1]], "targets": [[0.01, 0.99]]}}
    assert forms.changes(CLASSIC, {"data": "generated"})[1] == {"data": {"generator": "circle"}}
    assert forms.changes(CLASSIC, {"data": "sample"})[1] == {}  # as it is
    xor = ops.create({"layers": [2, 2, 1], "data": {"generator": "xor", "test_fraction": 0.25}})
    back = forms.changes(xor.state, {"data": "sample"})[1]
    assert back["data"] is None and back["batch_size"] is None
    assert back["inputs"] == xor.state.data.train[0][0].tolist()
    as_table = forms.changes(xor.state, {"data": "table"})[1]["data"]
    assert set(as_table) == {"inputs", "targets", "test_inputs", "test_targets"}
    assert len(as_table["inputs"]) == 3 and len(as_table["test_inputs"]) == 1  # test rows kept
    with pytest.raises(InvalidInput) as e:
        forms.changes(CLASSIC, {"data": "lots"})
    assert e.value.field == "data"


def test_a_generated_set_s_options():
    spiral = ops.create({"layers": [2, 4, 1], "data": {"generator": "spiral", "samples": 50}})
    s = spiral.state
    assert forms.changes(s, {"data.noise": "0.5"})[1]["data"] == {
        "generator": "spiral", "samples": 50, "noise": 0.5, "seed": 0, "test_fraction": 0.0,
    }  # fmt: skip
    assert forms.changes(s, {"data.samples": "120"})[1]["data"]["samples"] == 120
    gate = forms.changes(s, {"data.generator": "xor"})[1]["data"]
    assert gate == {"generator": "xor", "seed": 0, "test_fraction": 0.0}  # a gate: 4 samples
    xor = ops.patch(spiral, {"data": gate}).state
    for bad, field in (
        ({"data.samples": "10"}, "data.samples"),  # a gate has no count
        ({"data.samples": "1.5"}, "data.samples"),
        ({"data.noise": "x"}, "data.noise"),
        ({"data.inputs.1.1": "0"}, "data.inputs.1.1"),  # not a table
    ):
        with pytest.raises(InvalidInput) as e:
            forms.changes(xor, bad)
        assert e.value.field == field
    with pytest.raises(InvalidInput) as e:
        forms.changes(CLASSIC, {"data.noise": "0.1"})  # one sample: no generator
    assert e.value.field == "data.noise"


def test_a_table_s_cells_and_rows():
    s = ops.patch(
        ops.create({"preset": "classic"}), {"data": {"inputs": [[1, 2]], "targets": [[0, 1]]}}
    )
    table = s.state
    assert forms.changes(table, {"data.inputs.1.2": "5"})[1]["data"]["inputs"] == [[1.0, 5.0]]
    assert forms.changes(table, {"data.targets.1.1": "0.5"})[1]["data"]["targets"] == [[0.5, 1.0]]
    added = forms.changes(table, {"data.add_row": "1"})[1]["data"]
    assert added["inputs"] == [[1.0, 2.0], [1.0, 2.0]] and added["targets"] == [[0, 1], [0, 1]]
    two = ops.patch(s, {"data": added}).state
    assert forms.changes(two, {"data.remove_row": "2"})[1]["data"]["inputs"] == [[1.0, 2.0]]
    for bad, field in (
        ({"data.remove_row": "1"}, "data.remove_row"),  # the last sample stays
        ({"data.inputs.2.1": "0"}, "data.inputs.2.1"),
        ({"data.inputs.1.3": "0"}, "data.inputs.1.3"),
        ({"data.inputs.1.1": "x"}, "data.inputs.1.1"),
        ({"data.inputs.99999.1": "0"}, "data.inputs.99999.1"),  # not a cell's name at all
        ({"i1": "0.3"}, "i1"),  # a data set has no one sample to edit
        ({"target_o1": "0.3"}, "target_o1"),
    ):
        with pytest.raises(InvalidInput) as e:
            forms.changes(table, bad)
        assert e.value.field == field, bad
