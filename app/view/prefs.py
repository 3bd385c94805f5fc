"""How one person looks at the page: digits, edge colouring, theme, language, presentation,
the chosen parameter, whether a large network's table of weights is shown and whether it
shows the optimiser's state.

One table of preferences drives reading them (from cookies, and from the form that
changes them) and writing them back as cookies. They are the browser's, not the
network's: the network itself is the store's.
"""

import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, fields, replace
from urllib.parse import urlencode

from app.engine.data import MAX_SAMPLES
from app.view.numbers import DEFAULT_PRECISION, PRECISIONS
from app.view.text import LANGS

COOKIE_PREFIX = "bl_"
_PARAM = re.compile(r"^(?:w\d{1,4}|b\d{1,2}_\d{1,2})$")


def _choice(*allowed: str) -> Callable[[str], str]:
    def parse(text: str) -> str:
        if text not in allowed:
            raise ValueError(text)
        return text

    return parse


def _precision(text: str) -> int:
    if int(text) not in PRECISIONS:
        raise ValueError(text)
    return int(text)


def _sample(text: str) -> int:
    if not text.isascii() or not text.isdigit() or len(text) > 4 or int(text) >= MAX_SAMPLES:
        raise ValueError(text)
    return int(text)


def _param(text: str) -> str:
    if not _PARAM.match(text):
        raise ValueError(text)
    return text


@dataclass(frozen=True)
class Prefs:
    precision: int = DEFAULT_PRECISION
    colour: str = "grad"  # edges coloured by ∂E/∂w ("grad") or by w ("weight")
    theme: str = "light"  # or "contrast"
    present: str = "off"  # presentation mode: "on" or "off"
    lang: str = ""  # "" until chosen: then Accept-Language decides
    selected: str = ""  # the parameter whose chain rule is shown; "" for the default
    table: str = "off"  # a large network's table of weights: "on" shown, "off" folded
    sample: int = 0  # the sample of a batch whose figures are shown, from 0
    scale: str = "linear"  # the loss curve's axis: "linear" or "log"
    state: str = "off"  # the optimiser's state as columns of the table of weights: "on", "off"


PARSE: dict[str, Callable[[str], object]] = {
    "precision": _precision,
    "colour": _choice("grad", "weight"),
    "theme": _choice("light", "contrast"),
    "present": _choice("on", "off"),
    "lang": _choice(*LANGS),
    "selected": _param,
    "table": _choice("on", "off"),
    "sample": _sample,
    "scale": _choice("linear", "log"),
    "state": _choice("on", "off"),
}
assert set(PARSE) == {f.name for f in fields(Prefs)}


def read(values: Mapping[str, str], base: Prefs = Prefs(), prefix: str = "") -> Prefs:
    """Prefs from `values` (cookies with the prefix, or a form); unknown or bad values ignored."""
    changes = {}
    for name, parse in PARSE.items():
        text = values.get(prefix + name)
        if text is None:
            continue
        try:
            changes[name] = parse(text)
        except ValueError:
            continue
    return replace(base, **changes)


def from_cookies(cookies: Mapping[str, str]) -> Prefs:
    return read(cookies, prefix=COOKIE_PREFIX)


def to_query(prefs: Prefs) -> str:
    """The prefs that differ from the defaults, as a URL's query (read back by `read`)."""
    default = Prefs()
    names = [f.name for f in fields(Prefs) if getattr(prefs, f.name) != getattr(default, f.name)]
    return urlencode({name: str(getattr(prefs, name)) for name in names})


def to_cookies(prefs: Prefs) -> dict[str, str]:
    """The cookies to set for prefs that differ from the defaults (others are deleted)."""
    return {COOKIE_PREFIX + f.name: str(getattr(prefs, f.name)) for f in fields(Prefs)}
