"""Bounds on what a request may send, each checked before the value is used.

The network's own bounds (layers, neurons, learning rate) are the engine's `LIMITS`;
these are the web layer's: how large a body, how deep its JSON, how long a number or a
name, how many form fields. Every refusal names its field first, like the engine's.
"""

import json
import re

import numpy as np
from fastapi import Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.routing import APIRoute

from app.direct import direct
from app.engine import LIMITS

_MAX_WEIGHTS = (LIMITS["max_hidden_layers"] + 1) * LIMITS["max_neurons"] ** 2
_MAX_BIASES = (LIMITS["max_hidden_layers"] + 1) * LIMITS["max_neurons"]

REQUEST_LIMITS = {
    "body_bytes": 1 << 20,  # the default of BACKPROP_LAB_MAX_BODY
    "json_depth": 32,  # a state is 4 deep ({"weights": [[[…]]]})
    "number_chars": 1000,  # far above a float's 17 digits, far below int()'s 4300
    "name_chars": 40,  # a parameter's or a form field's name (w1792, target_o16)
    "id_chars": 64,  # as much of an unknown id as an error message repeats
    "weights_by_name": _MAX_WEIGHTS,  # keys of {"weights": {"w5": 0.3}}
    "biases_by_name": _MAX_BIASES,
    "options": 16,  # keys of an initialiser's, optimiser's or schedule's {"name": …, …}
    "option_items": 100,  # numbers in one option's list (a schedule's milestones)
    "form_fields": 32,
    "form_field_bytes": 4096,
}


def short(text: str, limit: int = REQUEST_LIMITS["id_chars"]) -> str:
    """At most `limit` characters of text, for repeating what was sent in a message."""
    return text if len(text) <= limit else text[: limit - 1] + "…"


# A JSON string, escapes included (the unrolled loop: linear, no backtracking).
_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"')
_LONG_NUMBER = re.compile(rb"[-+0-9.eE]{%d,}" % (REQUEST_LIMITS["number_chars"] + 1))
_NESTING = np.zeros(256, dtype=np.int8)
_NESTING[list(b"[{")] = 1
_NESTING[list(b"]}")] = -1


def json_problem(body: bytes) -> str | None:
    """What makes a JSON body unsafe to parse (too deep, a number too long, not text), or
    None. Scanned before parsing, outside strings, so that parsing cannot recurse or
    convert without bound; malformed JSON is left to the parser's own message."""
    bare = _STRING.sub(b'""', body)
    if _LONG_NUMBER.search(bare):
        return f"a number longer than {REQUEST_LIMITS['number_chars']} characters"
    levels = np.cumsum(_NESTING[np.frombuffer(bare, dtype=np.uint8)], dtype=np.int64)
    if levels.size and levels.max() > REQUEST_LIMITS["json_depth"]:
        return f"nested deeper than {REQUEST_LIMITS['json_depth']} levels"
    try:
        json.loads(body)
    except json.JSONDecodeError:
        return None
    except (ValueError, RecursionError) as e:  # not UTF-8, say
        return f"not readable as JSON ({short(str(e))})"
    return None


def _is_json(content_type: str | None) -> bool:
    media = (content_type or "application/json").split(";")[0].strip().lower()
    return media == "application/json" or (
        media.startswith("application/") and media.endswith("+json")
    )


class BoundedJSONRoute(APIRoute):
    """A route whose JSON body is checked by `json_problem` before FastAPI parses it (and
    whose endpoint, if it takes only the request and text path parameters, is called
    directly: app/direct.py)."""

    def get_route_handler(self):
        handle = direct(self) or super().get_route_handler()

        async def bounded(request: Request) -> Response:
            if self.body_field and _is_json(request.headers.get("content-type")):
                problem = json_problem(await request.body())
                if problem:
                    raise RequestValidationError(
                        [{"type": "too_complex", "loc": ("body",), "msg": problem}]
                    )
            return await handle(request)

        return bounded
