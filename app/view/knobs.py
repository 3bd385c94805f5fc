"""The settings of what the network is and what it learns from, as the page edits them:
the architecture (a neuron or a hidden layer more or less), the initialiser and its
draw, and the data (the one sample, a table of samples, a generated set).

Each button carries the one edit it posts (app/forms.py reads it), or None at a limit of
the engine's (a button drawn disabled).
"""

from dataclasses import dataclass

import numpy as np

from app.engine import LIMITS, State
from app.engine import init as initialisers
from app.engine.data import GENERATORS, MAX_SAMPLES
from app.engine.data import options as generator_options
from app.engine.state import DATA_KINDS
from app.view import ids
from app.view.fields import Choice, Field, Fields

Array = np.ndarray

MAX_ROWS_SHOWN = 16  # a table's first samples as fields; the rest in the file and the API
MAX_SEED = 2**53  # the state's seeds are below it


@dataclass(frozen=True)
class Button:
    id: str
    text: str
    label: str  # the accessible name, naming what it changes
    vals: dict[str, str] | None  # the edit it posts; None: not possible (disabled)


@dataclass(frozen=True)
class Layer:
    title: str  # Input layer, Hidden layer 1, Output layer
    size: int
    buttons: tuple[Button, ...]  # a neuron less, a neuron more (and the layer removed)


@dataclass(frozen=True)
class Architecture:
    layers: str  # as the layers field writes them: 2-2-2
    rows: tuple[Layer, ...]
    add_layer: Button  # a hidden layer before the output layer
    error: str | None  # why the last edit of the layers was refused

    @property
    def error_id(self) -> str:
        return ids.field_error("layers")


@dataclass(frozen=True)
class Initialiser:
    init: Choice
    options: tuple[Field | Choice, ...]  # torch.nn.init's, their defaults shown
    seed: Field
    draw_again: Button  # the same initialiser, the next seed


@dataclass(frozen=True)
class Sample:
    """A row of the table of samples."""

    id: str
    title: str
    inputs: tuple[Field, ...]
    targets: tuple[Field, ...]
    remove: Button


@dataclass(frozen=True)
class DataEditor:
    kind: Choice  # sample, table or generated
    generator: Choice | None  # with a generated set
    options: tuple[Field, ...]  # its count, noise, test split and seed
    rows: tuple[Sample, ...]  # with a table: its first training samples
    more: str | None  # how many more samples it has than are shown
    add_row: Button | None
    counts: str | None  # with a data set: its training and test samples
    scatter: str | None  # with two inputs and a data set: the scatter's key (its URL)


def _join(layers: list[int] | tuple[int, ...]) -> str:
    return "-".join(map(str, layers))


def architecture(state: State, t: dict, error: str | None) -> Architecture:
    layers, last = list(state.network.layers), len(state.network.layers) - 1
    most, hidden = LIMITS["max_neurons"], len(layers) - 2

    def edit(new: list[int], allowed: bool) -> dict[str, str] | None:
        return {"layers": _join(new)} if allowed else None

    rows = []
    for l, n in enumerate(layers):
        title = (
            t["input_layer"]
            if l == 0
            else t["output_layer"]
            if l == last
            else t["hidden_layer"].format(n=l)
        )
        fewer, more = layers.copy(), layers.copy()
        fewer[l], more[l] = n - 1, n + 1
        buttons = [
            Button(
                ids.architecture("remove_neuron", l),
                t["remove_neuron"],
                t["remove_neuron_label"].format(layer=title),
                edit(fewer, n > 1),
            ),
            Button(
                ids.architecture("add_neuron", l),
                t["add_neuron"],
                t["add_neuron_label"].format(layer=title),
                edit(more, n < most),
            ),
        ]
        if 0 < l < last:
            buttons.append(
                Button(
                    ids.architecture("remove_layer", l),
                    t["remove_layer"],
                    t["remove_layer_label"].format(layer=title),
                    edit(layers[:l] + layers[l + 1 :], True),
                )
            )
        rows.append(Layer(title, n, tuple(buttons)))
    size = layers[-2] if hidden else 2  # a new hidden layer as wide as the last one
    add = Button(
        ids.architecture("add_layer"),
        t["add_layer"],
        t["add_layer_label"],
        edit([*layers[:-1], size, layers[-1]], hidden < LIMITS["max_hidden_layers"]),
    )
    return Architecture(_join(layers), tuple(rows), add, error)


def options(
    fields: Fields, part: str, spec: dict, words: dict | None = None
) -> tuple[Field | Choice, ...]:
    """The fields of a spec's options ({"name": …, option: value}), by torch's names: a
    number's field, a choice of true or false, or of the words an option takes."""
    made: list[Field | Choice] = []
    for key, value in spec.items():
        name = f"{part}.{key}"
        if key == "name":
            continue
        if isinstance(value, bool):
            made.append(fields.choice(name, name, "true" if value else "false", ("false", "true")))
        elif isinstance(value, str):
            made.append(fields.choice(name, key, value, tuple((words or {}).get(key, (value,)))))
        elif key == "betas":
            made += [fields.setting(f"{name}.{k}", b) for k, b in enumerate(value)]
        elif isinstance(value, tuple | list):
            made.append(fields.setting(name, ", ".join(map(str, value))))
        else:
            made.append(fields.setting(name, value))
    return tuple(made)


def initialiser(state: State, fields: Fields, t: dict) -> Initialiser:
    training = state.training
    spec, seed = training.init, training.seed
    following = ((seed or 0) + 1) % MAX_SEED
    return Initialiser(
        init=fields.choice("init", t["init"], spec["name"], tuple(initialisers.INITIALISERS)),
        options=options(fields, "init", spec, initialisers.WORDS),
        seed=fields.setting("seed", "" if seed is None else str(seed), t["seed"]),
        draw_again=Button(
            ids.DRAW_AGAIN, t["draw_again"], t["draw_again_label"], {"seed": str(following)}
        ),
    )


def data(state: State, fields: Fields, t: dict, scatter: str | None) -> DataEditor:
    d, layers = state.data, state.network.layers
    kind = fields.choice(
        "data", t["data"], d.kind, DATA_KINDS, tuple(t[f"data_{k}"] for k in DATA_KINDS)
    )
    generator, option_fields, rows, more, add, counts = None, (), (), None, None, None
    if d.data is not None:
        train, test = len(d.data.inputs), len(d.data.test_inputs)
        counts = t["data_counts"].format(train=train, test=test)
    if d.kind == "generated":
        spec = d.data.spec  # type: ignore[union-attr]
        generator = fields.choice(
            "data.generator", t["data.generator"], spec["generator"], GENERATORS
        )
        option_fields = tuple(
            fields.setting(f"data.{key}", spec[key], t[f"data.{key}"])
            for key in generator_options(spec["generator"])
        )
    if d.kind == "table":
        inputs, targets = d.train
        shown = min(len(inputs), MAX_ROWS_SHOWN)
        rows = tuple(
            _sample(k, inputs[k], targets[k], layers, len(inputs), fields, t) for k in range(shown)
        )
        more = t["rows_more"].format(n=len(inputs) - shown) if len(inputs) > shown else None
        full = len(inputs) + len(d.data.test_inputs) >= MAX_SAMPLES  # type: ignore[union-attr]
        add = Button(
            ids.field("data.add_row", "table"),
            t["add_row"],
            t["add_row_label"],
            None if full else {"data.add_row": "1"},
        )
    shown_scatter = scatter if d.data is not None else None  # the one sample: no scatter
    return DataEditor(kind, generator, option_fields, rows, more, add, counts, shown_scatter)


def _sample(
    k: int, x: Array, target: Array, layers: tuple[int, ...], count: int, fields: Fields, t: dict
) -> Sample:
    """Row k (from 0) of a table of `count` training samples: its cells and remove button."""
    n = k + 1
    title = t["sample_n"].format(n=n)

    def cell(key: str, i: int, value: float) -> Field:
        neuron = ids.neuron_name(layers, 0 if key == "inputs" else len(layers) - 1, i)
        shown = neuron if key == "inputs" else f"{t['target']} {neuron}"
        label = t["cell_label"].format(n=n, name=shown)
        return fields.setting(f"data.{key}.{n}.{i + 1}", float(value), label)

    return Sample(
        ids.data_row(n),
        title,
        tuple(cell("inputs", i, v) for i, v in enumerate(x)),
        tuple(cell("targets", j, v) for j, v in enumerate(target)),
        Button(
            ids.data_row_remove(n),
            t["remove_row"],
            t["remove_row_label"].format(n=n),
            {"data.remove_row": str(n)} if count > 1 else None,
        ),
    )
