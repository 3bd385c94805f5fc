"""What a network is: its layers, activations, loss, weights and biases.

`Network` is immutable (its arrays are read-only): an edit makes a new one, so a change
that fails validation leaves nothing half-applied. What it learns from and how it is
trained are the other two parts of its state (app/engine/state.py), which also reads and
checks plain data, field by field.
"""

import re
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.errors import InvalidInput

Array = np.ndarray

LIMITS = {
    "max_hidden_layers": 6,
    "max_neurons": 16,
    "max_learning_rate": 1e6,
}


def frozen(values: Any, field_name: str, shape: tuple[int, ...]) -> Array:
    """A read-only float64 array of the given shape, or InvalidInput naming the field."""
    try:
        a = np.array(values, dtype=np.float64)
    except (TypeError, ValueError):
        raise InvalidInput(field_name, f"expected numbers in the shape {list(shape)}") from None
    if a.shape != shape:
        got = list(a.shape) if a.dtype != object else "ragged"
        raise InvalidInput(field_name, f"expected shape {list(shape)}, got {got}")
    if not np.isfinite(a).all():
        raise InvalidInput(field_name, "must be finite numbers (no NaN or infinity)")
    a.flags.writeable = False
    return a


@dataclass(frozen=True)
class Network:
    layers: tuple[int, ...]  # neurons per layer, input first
    activations: tuple[str, ...]  # one per non-input layer
    loss: str
    weights: tuple[Array, ...]  # weights[l] has shape (layers[l+1], layers[l])
    biases: tuple[Array, ...]  # biases[l] has shape (layers[l+1],)

    @property
    def depth(self) -> int:
        """L, the number of non-input layers."""
        return len(self.layers) - 1

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A copy made by pickle (say, a training's result from another process) stays
        # read-only: numpy does not keep the flag.
        for value in state.values():
            for a in value if isinstance(value, tuple) else (value,):
                if isinstance(a, np.ndarray):
                    a.flags.writeable = False
        self.__dict__.update(state)

    def with_params(self, weights: tuple[Array, ...], biases: tuple[Array, ...]) -> "Network":
        """The same network with other parameters (already checked, e.g. by an update)."""
        for a in (*weights, *biases):
            a.flags.writeable = False
        # Not dataclasses.replace: this is made once an iteration, and replace is slow.
        return Network(self.layers, self.activations, self.loss, tuple(weights), tuple(biases))

    def param_names(self) -> list[str]:
        """w1, w2, … then b1_1, b1_2, …, in numbering order."""
        n_weights = sum(w.size for w in self.weights)
        biases = [bias_name(l, j) for l, b in enumerate(self.biases) for j in range(b.size)]
        return [f"w{k}" for k in range(1, n_weights + 1)] + biases


def checked_layers(value: Any) -> tuple[int, ...]:
    if (
        not isinstance(value, list | tuple)
        or not 2 <= len(value) <= LIMITS["max_hidden_layers"] + 2
    ):
        raise InvalidInput(
            "layers",
            f"expected 2 to {LIMITS['max_hidden_layers'] + 2} layer sizes (input, up to "
            f"{LIMITS['max_hidden_layers']} hidden, output)",
        )
    for k, n in enumerate(value):
        if not isinstance(n, int) or isinstance(n, bool) or not 1 <= n <= LIMITS["max_neurons"]:
            raise InvalidInput(
                f"layers[{k}]", f"must be a whole number from 1 to {LIMITS['max_neurons']}"
            )
    return tuple(value)


# Names. Weights are numbered layer by layer, and inside a layer row-major by
# (receiving neuron j, sending neuron i): the tutorial's w1..w8. Biases are b{l}_{j},
# the bias into neuron j of layer l (both from 1), i.e. biases[l-1][j-1].


def weight_name(layers: tuple[int, ...], l: int, j: int, i: int) -> str:
    before = sum(m * n for m, n in zip(layers[:l], layers[1 : l + 1]))
    return f"w{before + j * layers[l] + i + 1}"


def bias_name(l: int, j: int) -> str:
    """The name of biases[l][j]."""
    return f"b{l + 1}_{j + 1}"


# Numbers of at most 9 digits: a name of thousands of digits is no parameter, not an int().
_NAME = re.compile(r"^(?:w(\d{1,9})|b(\d{1,9})_(\d{1,9}))$")


def parse_param_name(layers: tuple[int, ...], name: str) -> tuple[str, int, int, int]:
    """("weights", l, j, i) for a weight name, ("biases", l, j, 0) for a bias name."""
    m = _NAME.match(name)
    if m and m.group(1):
        k = int(m.group(1)) - 1
        for l, (m_, n) in enumerate(zip(layers, layers[1:])):
            if 0 <= k < m_ * n:
                return ("weights", l, k // m_, k % m_)
            k -= m_ * n
    elif m:
        l, j = int(m.group(2)) - 1, int(m.group(3)) - 1
        if 0 <= l < len(layers) - 1 and 0 <= j < layers[l + 1]:
            return ("biases", l, j, 0)
    n_weights = sum(m_ * n for m_, n in zip(layers, layers[1:]))
    raise InvalidInput(
        name, f"no such parameter (weights are w1..w{n_weights}, biases b<layer>_<neuron>)"
    )
