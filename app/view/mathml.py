r"""Formulas as MathML, from LaTeX with slots for the numbers and the names.

`render(r"\mathrm{out}_{o1} = @0", [x], precision)` converts the LaTeX once (cached:
the same shapes recur at every step) and then puts each number in its slot. Slots
hold negative numbers in parentheses, as one writes them after an operator, unless
given as `Bare(x)` (a result standing alone after "=").

Names go in slots too: `named("o_{1}")` marks a neuron's or parameter's name, so that
δ_h1 … δ_h16 are one conversion with the name put in afterwards, not sixteen.

Numbers and operators with nothing else (= 0.0553994247 · 0.241300709 = …) are text in
the math font, not MathML: they look the same, and the browser lays out text faster
(a step shows hundreds of these lines on a large network). Such a line may wrap before
a "+" or a "−", or an "=" outside brackets.
"""

import re
import xml.etree.ElementTree as ET
from dataclasses import dataclass
from functools import lru_cache

from latex2mathml.converter import convert
from markupsafe import Markup

from app.view import numbers

_SLOT = re.compile(r"@(\d+)")
_SENTINEL = 9_870_000  # number slot k is converted as the number 9870000 + k, then replaced
_NAME_SENTINEL = 9_860_000  # name slot k is converted as the number 9860000 + k
_MN_SENTINEL = re.compile(r"<mn>98([67])(\d{4})</mn>")
_NAME = re.compile(r"\\name\{((?:[^{}]|\{[^{}]*\})*)\}")  # \name{h_{1,2}}
# latex2mathml writes \mathrm{out} as one <mi> per letter; one <mi>out</mi> reads better
# to a screen reader and is a third of the size.
_LETTERS = re.compile(r'(?:<mi mathvariant="normal">[A-Za-z]</mi>){2,}')
_LETTER = re.compile(r'<mi mathvariant="normal">([A-Za-z])</mi>')


def named(tex: str) -> str:
    """A name (LaTeX, at most one level of braces: h_{1,2}) marked as a slot."""
    return rf"\name{{{tex}}}"


@dataclass(frozen=True)
class Bare:
    """A number written without parentheses even if negative."""

    x: float


MATHML = "http://www.w3.org/1998/Math/MathML"
ET.register_namespace("", MATHML)
_ROWS = (f"{{{MATHML}}}math", f"{{{MATHML}}}mrow")  # elements whose children form a row


@lru_cache(maxsize=16384)
def _template(latex: str, display: str) -> str:
    source = _SLOT.sub(lambda m: str(_SENTINEL + int(m.group(1))), latex)
    out = convert(source, display=display)
    out = _LETTERS.sub(lambda m: f"<mi>{''.join(_LETTER.findall(m.group(0)))}</mi>", out)
    return _slim(out)


def _slim(mathml: str) -> str:
    """The same formula with fewer elements: an <mrow> of one element is that element,
    and an <mrow> in a row is part of that row. A page holds hundreds of formulas,
    and the browser lays out every element of each at every step."""
    root = ET.fromstring(mathml)

    def visit(parent: ET.Element) -> None:
        children: list[ET.Element] = []
        for child in parent:
            visit(child)
            row = child.tag == f"{{{MATHML}}}mrow" and not child.attrib and not child.text
            if row and (len(child) == 1 or parent.tag in _ROWS):
                children.extend(child)
            else:
                children.append(child)
        parent[:] = children

    visit(root)
    return ET.tostring(root, encoding="unicode", short_empty_elements=False)


_DIGITS = re.compile(r"\d+")


@lru_cache(maxsize=4096)
def _name(tex: str) -> str:
    """A name's MathML: one element, to stand where its slot's sentinel stood. The digits
    are slots too, so that h_{1,2} … h_{3,16} are one conversion."""
    digits = _DIGITS.findall(tex)
    slots = iter(range(len(digits)))
    shape = _name_shape(_DIGITS.sub(lambda m: f"@{next(slots)}", tex))
    return _MN_SENTINEL.sub(lambda m: f"<mn>{digits[int(m.group(2))]}</mn>", shape)


@lru_cache(maxsize=64)
def _name_shape(tex: str) -> str:
    inner = _template(tex, "inline")
    inner = inner[inner.index(">") + 1 : -len("</math>")]
    return inner if len(ET.fromstring(f"<m>{inner}</m>")) == 1 else f"<mrow>{inner}</mrow>"


def _slot(value: float | Bare, precision: int) -> str:
    if isinstance(value, Bare):
        return numbers.mathml(value.x, precision)
    text = numbers.mathml(value, precision)
    if value < 0:
        return f'<mrow><mo stretchy="false">(</mo>{text}<mo stretchy="false">)</mo></mrow>'
    return text


# A line of numbers and operators only (= −(0.01 − 0.751365070) · 0.751365070(1 − …))
# is written as text (see the module's docstring): a few elements instead of twenty.
_PLAIN = re.compile(r"(?:@\d+|\\cdot|[-+=()\[\]>,]|\d+(?:\.\d+)?|\s+)+")
_TOKEN = re.compile(r"@(\d+)|(\\cdot)|([-+=>,])|([()\[\]])|(\d+(?:\.\d+)?)|\s+")
_SPACE = "\u205f"  # medium mathematical space, as MathML puts around a binary operator


BREAK = None  # in a line's parts: where it may wrap (before "+", "−", or "=" outside brackets)


@lru_cache(maxsize=16384)
def _plain_parts(latex: str) -> tuple[str | int | None, ...]:
    """A line of numbers and operators as text, spaced as MathML would, with the slot
    numbers (ints) in place of their numbers and BREAK where it may wrap."""
    out: list[str | int | None] = []
    operand = False  # whether the last token ends an operand (so a − after it is binary)
    depth = 0
    for m in _TOKEN.finditer(latex):
        slot, cdot, op, bracket, digits = m.groups()
        if slot is not None:
            out.append(int(slot))
            operand = True
        elif cdot or op:
            symbol = "·" if cdot else {"-": numbers.MINUS, ">": "&gt;"}.get(op, op)
            if op == "-" and not operand:
                out.append(symbol)  # a sign, not a subtraction
            elif op == ",":
                out.append(", ")
            else:
                if out and (op in ("+", "-") or (op == "=" and depth == 0)):
                    out.append(BREAK)
                out.append(f"{_SPACE}{symbol}{_SPACE}" if out else f"{symbol}{_SPACE}")
            operand = False
        elif bracket:
            out.append(bracket)
            operand = bracket in ")]"
            depth += 1 if bracket in "([" else -1
        elif digits:
            out.append(digits)
            operand = True
    return tuple(out)


def _plain(latex: str, values, precision: int) -> list[str]:
    """The line's text, in the pieces between which it may wrap."""

    def number(v: float | Bare) -> str:
        x = v.x if isinstance(v, Bare) else v
        text = numbers.fmt(x, precision)
        return f"({text})" if x < 0 and not isinstance(v, Bare) else text

    pieces, piece = [], []
    for p in _plain_parts(latex):
        if p is BREAK:
            pieces.append("".join(piece))
            piece = []
        else:
            piece.append(number(values[p]) if isinstance(p, int) else p)
    pieces.append("".join(piece))
    return [p.strip(_SPACE) for p in pieces]  # the space between pieces is the line's own


@lru_cache(maxsize=16384)
def _numeric_tail(latex: str) -> int | None:
    """Where the numbers of a line start: its first "=" outside braces after which there
    are only numbers and operators (… = δ_o1 · out_h1 = @0 · @1 = @2 → at "= @0")."""
    depth = 0
    for k, ch in enumerate(latex):
        depth += {"{": 1, "}": -1}.get(ch, 0)
        if ch == "=" and depth == 0 and k > 0 and _PLAIN.fullmatch(latex[k:]):
            return k
    return None


def render(
    latex: str,
    values: tuple[float | Bare, ...] | list[float | Bare] = (),
    precision: int = numbers.DEFAULT_PRECISION,
    display: str = "inline",
) -> Markup:
    """MathML for `latex`, with values[k] in slot @k and each named() name in its slot;
    its numbers at the end, after an "=", and a line of numbers alone, as text."""
    names: list[str] = []
    if r"\name{" in latex:

        def take(m: re.Match) -> str:
            names.append(m.group(1))
            return f"{{{_NAME_SENTINEL + len(names) - 1}}}"

        latex = _NAME.sub(take, latex)
    if _PLAIN.fullmatch(latex):
        return Markup(" ").join(_texts(_plain(latex, values, precision)))
    tail = _numeric_tail(latex)
    head = latex if tail is None else latex[:tail]
    template = _template(head, display)
    slots = [_slot(v, precision) for v in values]

    def fill(m: re.Match) -> str:
        k = int(m.group(2))
        return slots[k] if m.group(1) == "7" else _name(names[k])

    out = _MN_SENTINEL.sub(fill, template)
    if tail is None:
        return Markup(out)
    first, *rest = _plain(latex[tail:], values, precision)
    out = out.removesuffix("</math>") + f"<mtext>{_SPACE}{first}</mtext></math>"
    return Markup(" ").join([Markup(out), *_texts(rest)])


def _texts(pieces: list[str]) -> list[Markup]:
    """Each piece of a line of numbers as text in the math font: the line may wrap
    between them. Text, not MathML: the browser lays out hundreds of these per step."""
    return [Markup(f'<span class="mtext">{p}</span>') for p in pieces]


def shift(latex: str, by: int) -> str:
    """The same LaTeX with slot @k renumbered @(k+by), to follow other slots."""
    return _SLOT.sub(lambda m: f"@{int(m.group(1)) + by}", latex)
