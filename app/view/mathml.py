r"""Formulas as MathML, from LaTeX with numbered slots for the numbers.

`render(r"\mathrm{out}_{o1} = @0", [x], precision)` converts the LaTeX once (cached:
the same shapes recur at every step) and then puts each number in its slot. Slots
hold negative numbers in parentheses, as one writes them after an operator, unless
given as `Bare(x)` (a result standing alone after "=").
"""

import re
from dataclasses import dataclass
from functools import lru_cache

from latex2mathml.converter import convert
from markupsafe import Markup

from app.view import numbers

_SLOT = re.compile(r"@(\d+)")
_SENTINEL = 9_870_000  # slot k is converted as the number 9870000 + k, then replaced
_MN_SENTINEL = re.compile(r"<mn>987(\d{4})</mn>")
# latex2mathml writes \mathrm{out} as one <mi> per letter; one <mi>out</mi> reads better
# to a screen reader and is a third of the size.
_LETTERS = re.compile(r'(?:<mi mathvariant="normal">[A-Za-z]</mi>){2,}')
_LETTER = re.compile(r'<mi mathvariant="normal">([A-Za-z])</mi>')


@dataclass(frozen=True)
class Bare:
    """A number written without parentheses even if negative."""

    x: float


@lru_cache(maxsize=16384)
def _template(latex: str, display: str) -> str:
    source = _SLOT.sub(lambda m: str(_SENTINEL + int(m.group(1))), latex)
    out = convert(source, display=display)
    return _LETTERS.sub(lambda m: f"<mi>{''.join(_LETTER.findall(m.group(0)))}</mi>", out)


def _slot(value: float | Bare, precision: int) -> str:
    if isinstance(value, Bare):
        return numbers.mathml(value.x, precision)
    text = numbers.mathml(value, precision)
    if value < 0:
        return f'<mrow><mo stretchy="false">(</mo>{text}<mo stretchy="false">)</mo></mrow>'
    return text


def render(
    latex: str,
    values: tuple[float | Bare, ...] | list[float | Bare] = (),
    precision: int = numbers.DEFAULT_PRECISION,
    display: str = "inline",
) -> Markup:
    """MathML for `latex`, with values[k] in slot @k."""
    template = _template(latex, display)
    slots = [_slot(v, precision) for v in values]
    return Markup(_MN_SENTINEL.sub(lambda m: slots[int(m.group(1))], template))


def shift(latex: str, by: int) -> str:
    """The same LaTeX with slot @k renumbered @(k+by), to follow other slots."""
    return _SLOT.sub(lambda m: f"@{int(m.group(1)) + by}", latex)
