"""The state's one table of fields (app/engine/state.py) and what it drives."""

import orjson
import pytest

from app.engine import FIELDS, PRESETS, InvalidInput, State
from app.engine.state import NAMES, REQUIRED
from app.schemas import CreateNetwork, PatchNetwork, Scenario


def test_the_table_drives_writing_and_reading_the_state_both_ways():
    for preset in PRESETS.values():
        state = State.from_data(preset)
        data = state.to_data()
        assert tuple(data) == NAMES
        assert State.from_data(data).to_data() == data


@pytest.mark.parametrize(
    "data",
    [
        {"generator": "spiral", "samples": 20, "test_fraction": 0.25},
        {"inputs": [[0, 1]], "targets": [[1]]},
    ],
)
def test_a_data_set_is_written_as_plain_data(data):
    state = State.from_data({"layers": [2, 3, 1], "data": data, "seed": 1})
    written = state.to_data()
    assert orjson.loads(orjson.dumps(written)) == written  # JSON, as the store keeps it
    assert State.from_data(written).to_data() == written


def test_every_field_lives_in_one_part_of_the_state():
    state = State.from_data(PRESETS["classic"])
    for f in FIELDS:
        assert hasattr(getattr(state, f.part), f.name), f.name
    assert {f.part for f in FIELDS} == {"network", "data", "training"}


def test_the_api_s_schemas_list_the_table_s_fields_with_its_docs():
    for model in (CreateNetwork, PatchNetwork):
        assert set(model.model_fields) - {"preset"} == set(NAMES), model
    assert tuple(Scenario.model_fields) == NAMES
    for f in FIELDS:
        assert Scenario.model_fields[f.name].description == f.doc, f.name
        assert CreateNetwork.model_fields[f.name].description.startswith(f.doc), f.name


@pytest.mark.parametrize("f", FIELDS, ids=lambda f: f.name)
def test_a_field_left_out_takes_its_default_or_is_refused(f):
    data = dict(PRESETS["classic"])
    data.pop(f.name, None)
    if f.name in ("weights", "biases"):  # drawn from the seed instead, which is kept
        assert State.from_data(data).training.seed is not None
    elif f.default is REQUIRED or f.name in ("inputs", "targets"):  # one sample, or data
        with pytest.raises(InvalidInput, match=f"^{f.name}: "):
            State.from_data(data)
    elif f.name == "optimizer_state":  # made fresh by the optimiser (sgd: a step count)
        assert State.from_data(data).training.optimizer_state == {"step": 0}
    elif f.name == "current_learning_rate":  # the schedule's first η (constant: η itself)
        assert State.from_data(data).training.current_learning_rate == data["learning_rate"]
    else:
        state = State.from_data(data)
        kept = getattr(getattr(state, f.part), f.name)
        assert kept == f.check(f.default, state.network.layers)
