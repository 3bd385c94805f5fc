"""The edit fields: every weight, bias, input, target and η, on the graph and in the table.

A field's form name is what the edit route reads (see app/forms.py): w5, b1_1, i1,
target_o1, learning_rate. A rejected entry is shown back as typed, with its message,
so that nothing typed is lost.
"""

from dataclasses import dataclass

import numpy as np

from app.engine import State, parse_param_name
from app.view import ids
from app.view.layout import DIGITS
from app.view.numbers import fmt_input

Array = np.ndarray

FITS = DIGITS + 4  # the characters a field is made for: −0.0380982365


@dataclass(frozen=True)
class Invalid:
    """A field whose text is not (yet) the value's: refused with a message, or as typed."""

    name: str  # the form name of the field
    text: str  # what was typed
    message: str | None  # why it was refused; None for an entry accepted as typed
    where: str | None = None  # the one field typed into (graph or table); None: both


@dataclass(frozen=True)
class Field:
    id: str
    name: str
    label: str  # the accessible name
    value: str
    error: str | None = None
    # A smaller type for a number longer than the field is made for (−0.00380982365), so
    # that all of it shows; None for the others, and for a number as typed (the browser
    # draws that as it was typed: a field whose style differs is to be redrawn).
    fit: str | None = None

    @property
    def error_id(self) -> str:
        return ids.field_error(self.name)


@dataclass(frozen=True)
class Choice:
    """A list to choose from: an activation, the loss, an initialiser, a generator."""

    name: str  # the form name: activation_1
    label: str
    value: str
    options: tuple[str, ...]
    id: str
    error: str | None = None  # why the last choice was refused
    texts: tuple[str, ...] | None = None  # each option in words; None: as named

    @property
    def error_id(self) -> str:
        return ids.field_error(self.name)


def _fit(value: str) -> str | None:
    n = len(value)
    return f"{0.97 * FITS / n:.2f}em" if n > FITS else None  # 3 %: a digit is wider than a sign


class Fields:
    def __init__(
        self,
        state: State,
        precision: int,
        invalid: Invalid | None,
        t: dict,
        sample: tuple[Array, Array],
    ):
        self.network, self.training = state.network, state.training
        self.inputs, self.targets = sample  # of the sample on show
        self.precision, self.invalid, self.t = precision, invalid, t

    def _make(self, name: str, label: str, number: float, where: str) -> Field:
        invalid = self.invalid
        if invalid and invalid.name == name and invalid.where in (None, where):
            return Field(ids.field(name, where), name, label, invalid.text, invalid.message)
        value = fmt_input(number, self.precision)
        return Field(ids.field(name, where), name, label, value, fit=_fit(value))

    def param(self, name: str, where: str = "graph") -> Field:
        kind, l, j, i = parse_param_name(self.network.layers, name)
        value = self.network.weights[l][j, i] if kind == "weights" else self.network.biases[l][j]
        return self._make(name, name, value, where)

    def input(self, j: int, where: str = "graph") -> Field:
        name = ids.neuron_name(self.network.layers, 0, j)
        return self._make(name, name, self.inputs[j], where)

    def target(self, j: int, where: str = "graph") -> Field:
        o = ids.neuron_name(self.network.layers, self.network.depth, j)
        label = f"{self.t['target']} {o}"
        return self._make(f"target_{o}", label, self.targets[j], where)

    def choice(
        self,
        name: str,
        label: str,
        value: str,
        options: tuple[str, ...],
        texts: tuple[str, ...] | None = None,
    ) -> Choice:
        invalid = self.invalid
        error = invalid.message if invalid and invalid.name == name else None
        return Choice(name, label, value, options, ids.field(name, "table"), error, texts)

    def setting(self, name: str, value: float | str, label: str | None = None) -> Field:
        """A field of how the network is trained (an optimiser's or schedule's option, the
        batch size): a number, or as written (a list of milestones, an empty batch size)."""
        label = label or name.split(".", 1)[-1]
        if isinstance(value, str):
            invalid = self.invalid
            if invalid and invalid.name == name:
                return Field(ids.field(name, "table"), name, label, invalid.text, invalid.message)
            return Field(ids.field(name, "table"), name, label, value)
        return self._make(name, label, value, "table")

    def learning_rate(self) -> Field:
        return self._make("learning_rate", "η", self.training.learning_rate, "table")
