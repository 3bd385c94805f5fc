"""What the page's forms send, read into the session operations' arguments.

An edit field sends one value under its form name (w5, b1_1, i1, target_o1,
learning_rate, update_biases, activation_1, layers, init, seed, data, data.noise,
data.inputs.3.1, data.add_row); `changes` turns it into the changes that
`session.patch` takes, the same as a PATCH of the JSON API. Anything unreadable raises
InvalidInput naming the field, as the engine does. `read` takes a form only within the
request bounds (fields, their names and sizes), before anything looks at it.
"""

import re
from collections.abc import Mapping
from typing import Any

from fastapi import Request
from starlette.datastructures import FormData
from starlette.exceptions import HTTPException

from app.bounds import REQUEST_LIMITS, short
from app.engine import ACTIVATIONS, LIMITS, PRESETS, InvalidInput, State
from app.engine.data import MAX_SAMPLES, TABLE
from app.engine.data import options as generator_options
from app.engine.state import DATA_KINDS
from app.view import ids, numbers
from app.view.fields import Invalid

REFUSED = f"_{ids.REFUSED}"  # sent with an edit while the page shows a refused entry

_PARAM = re.compile(r"^(?:w\d+|b\d+_\d+)$")
_INPUT = re.compile(r"^i(\d{1,9})$")
_TARGET = re.compile(r"^target_o(\d{1,9})$")
_ACTIVATION = re.compile(r"^activation_(\d{1,9})$")
_OPTION = re.compile(r"^(optimizer|schedule|init)\.([a-z_A-Z]{1,32})(?:\.([01]))?$")
# A cell of a table of samples: data.inputs.<sample>.<input>, data.targets.<sample>.<output>,
# both from 1 (as i1 and o1 are).
_CELL = re.compile(r"^data\.(inputs|targets)\.(\d{1,4})\.(\d{1,2})$")
_GENERATOR = re.compile(r"^data\.(generator|samples|noise|test_fraction|seed)$")
FIRST_GENERATOR = "circle"  # a generated set chosen on the page starts as this
# A schedule chosen on the page starts with these where torch has no default (its
# step_size, milestones, gamma, T_max): a first value to change, not a refusal.
SCHEDULE_STARTS = {
    "step": {"step_size": 10},
    "multistep": {"milestones": [10, 20]},
    "exponential": {"gamma": 0.95},
    "cosine": {"T_max": 100},
}
_NUMBER_CHARS = REQUEST_LIMITS["number_chars"]


async def read(request: Request) -> FormData:
    """The request's form, refused (naming "form") beyond the request bounds."""
    try:
        form = await request.form(
            max_fields=REQUEST_LIMITS["form_fields"],
            max_part_size=REQUEST_LIMITS["form_field_bytes"],
        )
    except HTTPException as e:  # Starlette's 400 for too many fields or too large a one
        if e.status_code != 400:
            raise
        raise InvalidInput("form", str(e.detail)) from None
    for name in form:
        if len(name) > REQUEST_LIMITS["name_chars"]:
            limit = REQUEST_LIMITS["name_chars"]
            raise InvalidInput("form", f"a field's name is longer than {limit} characters")
    return form


def number(name: str, text: str) -> float:
    if len(text) > _NUMBER_CHARS:
        raise InvalidInput(name, f"longer than {_NUMBER_CHARS} characters")
    try:
        return numbers.parse(text)
    except ValueError:
        raise InvalidInput(name, f"{text.strip() or 'nothing'!r} is not a number") from None


def iterations(text: object, field: str = "iterations") -> int:
    """The train form's count (its range is checked by the session operation)."""
    if not isinstance(text, str):
        raise InvalidInput(field, "must be a whole number")
    return _whole(field, text)


def changes(state: State, form: Mapping[str, str]) -> tuple[str, dict[str, Any]]:
    """(the field's name, the patch) for a form with one edit field in it."""
    network = state.network
    names = list(form)
    if len(names) != 1:
        raise InvalidInput("form", "send one field at a time")
    name = names[0]
    text = form[name]
    if _PARAM.match(name):
        key = "weights" if name[0] == "w" else "biases"
        return name, {key: {name: number(name, text)}}
    if (_INPUT.match(name) or _TARGET.match(name)) and state.data.kind != "sample":
        raise InvalidInput(name, "the network learns from a data set: edit its samples there")
    if m := _INPUT.match(name):
        return name, {"inputs": _replace(state.data.inputs, name, int(m.group(1)), text)}
    if m := _TARGET.match(name):
        return name, {"targets": _replace(state.data.targets, name, int(m.group(1)), text)}
    if name == "layers":
        try:
            layers = sizes(text)
        except InvalidInput as e:  # layers[1]: named as the one field the page sent
            message = e.message if e.field == name else f"{e.field} {e.message}"
            raise InvalidInput(name, message) from None
        return name, _reshaped(state, layers)
    if name == "init":
        return name, {"init": {"name": text}}
    if name == "seed":
        return name, {"seed": _whole(name, text)}
    if name == "data":
        return name, _data(state, text)
    if name.startswith("data."):
        return name, {"data": _data_edit(state, name, text)}
    if name == "learning_rate":
        return name, {"learning_rate": number(name, text)}
    if name == "update_biases":
        if text not in ("true", "false"):
            raise InvalidInput(name, "must be true or false")
        return name, {"update_biases": text == "true"}
    if name == "loss":
        return name, {"loss": text}
    if name in ("optimizer", "schedule"):
        return name, {
            name: {"name": text} | (SCHEDULE_STARTS.get(text, {}) if name == "schedule" else {})
        }
    if m := _OPTION.match(name):
        return name, {m.group(1): _option(state, name, m, text)}
    if name == "batch_size":
        return name, {"batch_size": None if not text.strip() else _whole(name, text)}
    if name in ("shuffle", "classic_slip"):
        if text not in ("true", "false"):
            raise InvalidInput(name, "must be true or false")
        return name, {name: text == "true"}
    if m := _ACTIVATION.match(name):
        k = int(m.group(1)) - 1
        if not 0 <= k < network.depth:
            raise InvalidInput(name, "no such layer")
        if text not in ACTIVATIONS:
            raise InvalidInput(name, f"unknown activation ({', '.join(ACTIVATIONS)})")
        activations = list(network.activations)
        activations[k] = text
        return name, {"activations": activations}
    raise InvalidInput(name, "no such field")


def _option(state: State, name: str, m: re.Match, text: str) -> dict[str, Any]:
    """The optimiser's or schedule's spec with one option as typed: read as the kind of
    value it has now (a number, true or false, a pair's k-th, a list of whole numbers)."""
    part, key, k = m.group(1), m.group(2), m.group(3)
    spec = dict(getattr(state.training, part))
    if key not in spec or key == "name":
        raise InvalidInput(name, "no such option")
    now = spec[key]
    if isinstance(now, str):  # a word (an initialiser's mode): checked by the engine
        spec[key] = text
    elif isinstance(now, bool):
        if text not in ("true", "false"):
            raise InvalidInput(name, "must be true or false")
        spec[key] = text == "true"
    elif isinstance(now, tuple | list) and k is not None:
        pair = list(now)
        pair[int(k)] = number(name, text)
        spec[key] = pair
    elif isinstance(now, tuple | list):  # milestones: whole numbers, by commas
        items = [t for t in re.split(r"[\s,;]+", text.strip()) if t][
            : REQUEST_LIMITS["option_items"] + 1
        ]
        spec[key] = [_whole(name, t) for t in items]
    elif isinstance(now, int):
        spec[key] = _whole(name, text)
    else:
        spec[key] = number(name, text)
    return spec


def _whole(name: str, text: str) -> int:
    """A whole number typed in a field, its digits bounded before int() reads them."""
    text = text.strip()
    if len(text) > _NUMBER_CHARS:
        raise InvalidInput(name, f"longer than {_NUMBER_CHARS} characters")
    if not text.isascii() or not text.isdigit():
        raise InvalidInput(name, "must be a whole number")
    return int(text)


def typed(fields: Mapping[str, str], trigger: str, refused: bool) -> Invalid | None:
    """The field an edit was typed into, reading as typed (so that it need not be redrawn
    if that is how the new value is written): known from htmx's HX-Trigger, the id of
    the field; None if not known, or if a refused entry is on show (to be cleared)."""
    if len(fields) != 1 or refused:
        return None
    ((name, text),) = fields.items()
    where = {ids.field(name, w): w for w in ("graph", "table")}
    return Invalid(name, text, None, where[trigger]) if trigger in where else None


def _replace(values, name: str, k: int, text: str) -> list[float]:
    if not 1 <= k <= len(values):
        raise InvalidInput(name, "no such neuron")
    out = values.tolist()
    out[k - 1] = number(name, text)
    return out


def sizes(text: str) -> list[int]:
    """Layer sizes written as 2-2-2 (or 2 2 2, 2x2x2), each checked as text first: a size
    is used before the engine sees it."""
    text = text.strip()
    parts = [n for n in re.split(r"[\s,;x×-]+", text[: _NUMBER_CHARS + 1]) if n]
    if len(text) > _NUMBER_CHARS or not all(n.isascii() and n.isdigit() for n in parts):
        raise InvalidInput("layers", f"{short(text)!r}: write the layer sizes as 2-2-2")
    if not 2 <= len(parts) <= LIMITS["max_hidden_layers"] + 2:
        raise InvalidInput("layers", f"from 2 to {LIMITS['max_hidden_layers'] + 2} layers")
    for k, n in enumerate(parts):
        if len(n) > 2 or not 1 <= int(n) <= LIMITS["max_neurons"]:
            raise InvalidInput(f"layers[{k}]", f"must be from 1 to {LIMITS['max_neurons']}")
    return [int(n) for n in parts]


def _reshaped(state: State, layers: list[int]) -> dict[str, Any]:
    """A new shape, with the samples made to fit it: each sample's inputs and targets cut
    to the new numbers of inputs and outputs, or padded with 0 (a target of 0 for a new
    output keeps a distribution one). A generated set is left as it was made: the engine
    refuses a shape its generator does not make."""
    d, m, n = state.data, layers[0], layers[-1]
    changes: dict[str, Any] = {"layers": layers}
    if d.kind == "sample":
        changes |= {"inputs": _fit(d.inputs.tolist(), m), "targets": _fit(d.targets.tolist(), n)}
    elif d.kind == "table":
        table = d.data.to_data()  # type: ignore[union-attr]
        widths = {"inputs": m, "targets": n, "test_inputs": m, "test_targets": n}
        changes["data"] = {k: [_fit(row, widths[k]) for row in table[k]] for k in widths}
    return changes


def _fit(values: list[float], width: int) -> list[float]:
    return values[:width] + [0.0] * (width - len(values))


def _data(state: State, kind: str) -> dict[str, Any]:
    """What the network learns from, chosen: the one sample (the set's first), a table
    (the one sample's, or the set's rows), or a generated set (FIRST_GENERATOR's)."""
    d = state.data
    if kind not in DATA_KINDS:
        raise InvalidInput("data", f"one of {', '.join(DATA_KINDS)}")
    if kind == d.kind:
        return {}
    inputs, targets = d.train
    if kind == "sample":
        return {
            "data": None,
            "batch_size": None,
            "inputs": inputs[0].tolist(),
            "targets": targets[0].tolist(),
        }
    if kind == "table":  # the test rows of a generated set kept as the table's
        if d.data is None:
            return {"data": {"inputs": inputs.tolist(), "targets": targets.tolist()}}
        return {"data": {k: v for k, v in d.data.to_data().items() if k in TABLE}}
    return {"data": {"generator": FIRST_GENERATOR}}


def _data_edit(state: State, name: str, text: str) -> dict[str, Any]:
    """The data set with one of its fields as typed: a generator's option, or a table's
    cell, a row added (a copy of the last) or a row removed."""
    d = state.data.data
    table = d.to_data() if d is not None else {}
    if m := _GENERATOR.match(name):
        if d is None or d.spec is None:
            raise InvalidInput(name, "choose a generated set first")
        key, spec = m.group(1), dict(d.spec)
        if key == "generator":
            return {"generator": text} | {k: spec[k] for k in generator_options(text) if k in spec}
        if key not in generator_options(spec["generator"]):
            raise InvalidInput(name, f"not an option of {spec['generator']}")
        value = _whole(name, text) if key in ("samples", "seed") else number(name, text)
        return spec | {key: value}
    if d is None or d.spec is not None:
        raise InvalidInput(name, "choose a table of samples first")
    rows = len(table["inputs"])
    if name == "data.add_row":
        if rows + len(table["test_inputs"]) >= MAX_SAMPLES:
            raise InvalidInput(name, f"at most {MAX_SAMPLES} samples")
        return table | {k: [*table[k], table[k][-1]] for k in ("inputs", "targets")}
    if name == "data.remove_row":
        k = _whole(name, text)
        if not 1 <= k <= rows:
            raise InvalidInput(name, "no such sample")
        if rows == 1:
            raise InvalidInput(name, "a table keeps at least one sample")
        return table | {key: table[key][: k - 1] + table[key][k:] for key in ("inputs", "targets")}
    if m := _CELL.match(name):
        key, k, i = m.group(1), int(m.group(2)), int(m.group(3))
        if not 1 <= k <= rows or not 1 <= i <= len(table[key][0]):
            raise InvalidInput(name, "no such sample" if not 1 <= k <= rows else "no such neuron")
        column = [list(row) for row in table[key]]
        column[k - 1][i - 1] = number(name, text)
        return table | {key: column}
    raise InvalidInput(name, "no such field")


def new_network(form: Mapping[str, str]) -> dict[str, Any]:
    """The `session.create` data for the new-network form: layers as "2-2-2" and one
    activation. The classic sizes give the classic network; others random parameters,
    the classic inputs and targets repeated to fit."""
    layers = sizes(form.get("layers", "2-2-2"))
    activation = form.get("activation", "sigmoid")
    every_layer = [name for name, a in ACTIVATIONS.items() if not a.output_only]
    if activation not in every_layer:  # the form's one activation is every layer's
        raise InvalidInput("activation", f"unknown activation ({', '.join(every_layer)})")
    classic = PRESETS["classic"]
    if layers == classic["layers"] and activation == "sigmoid":
        return {"preset": "classic"}
    inputs, targets = classic["inputs"], classic["targets"]
    return {
        "layers": layers,
        "activations": [activation] * (len(layers) - 1),
        "inputs": [inputs[k % len(inputs)] for k in range(layers[0])],
        "targets": [targets[k % len(targets)] for k in range(layers[-1])],
        "learning_rate": classic["learning_rate"],
    }
