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
