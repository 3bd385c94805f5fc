"""What the page's forms send, read into the session operations' arguments.

An edit field sends one value under its form name (w5, b1_1, i1, target_o1,
learning_rate, update_biases, activation_1); `changes` turns it into the changes that
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
from app.view import ids, numbers
from app.view.fields import Invalid

REFUSED = f"_{ids.REFUSED}"  # sent with an edit while the page shows a refused entry

_PARAM = re.compile(r"^(?:w\d+|b\d+_\d+)$")
_INPUT = re.compile(r"^i(\d{1,9})$")
_TARGET = re.compile(r"^target_o(\d{1,9})$")
_ACTIVATION = re.compile(r"^activation_(\d{1,9})$")
_OPTION = re.compile(r"^(optimizer|schedule)\.([a-z_A-Z]{1,32})(?:\.([01]))?$")
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
    if m := _INPUT.match(name):
        return name, {"inputs": _replace(state.data.inputs, name, int(m.group(1)), text)}
    if m := _TARGET.match(name):
        return name, {"targets": _replace(state.data.targets, name, int(m.group(1)), text)}
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
    if isinstance(now, bool):
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


def new_network(form: Mapping[str, str]) -> dict[str, Any]:
    """The `session.create` data for the new-network form: layers as "2-2-2" and one
    activation. The classic sizes give the classic network; others random parameters,
    the classic inputs and targets repeated to fit."""
    text = form.get("layers", "2-2-2").strip()
    sizes = [n for n in re.split(r"[\s,;x×-]+", text) if n]
    if not all(n.isascii() and n.isdigit() for n in sizes):
        raise InvalidInput("layers", f"{short(text)!r}: write the layer sizes as 2-2-2")
    if not 2 <= len(sizes) <= LIMITS["max_hidden_layers"] + 2:
        raise InvalidInput("layers", f"from 2 to {LIMITS['max_hidden_layers'] + 2} layers")
    for k, n in enumerate(sizes):  # checked as text: a size is used before the engine sees it
        if len(n) > 2 or not 1 <= int(n) <= LIMITS["max_neurons"]:
            raise InvalidInput(f"layers[{k}]", f"must be from 1 to {LIMITS['max_neurons']}")
    layers = [int(n) for n in sizes]
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
