"""A network's state: its shape, parameters, one training sample and its settings.

`Network` is immutable (its arrays are read-only): an edit makes a new one, so a change
that fails validation leaves nothing half-applied. `Network.from_data` is the one
place plain data becomes a network, and the one place it is checked.
"""

import math
import re
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from app.engine.activation import ACTIVATIONS
from app.engine.errors import InvalidInput
from app.engine.loss import LOSSES

Array = np.ndarray

LIMITS = {
    "max_hidden_layers": 6,
    "max_neurons": 16,
    "max_learning_rate": 1e6,
    "init_range": 0.5,  # weights and biases not given are drawn uniformly in ±0.5
}


def _frozen(values: Any, field_name: str, shape: tuple[int, ...]) -> Array:
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
    inputs: Array  # shape (layers[0],)
    targets: Array  # shape (layers[-1],)
    learning_rate: float
    update_biases: bool
    seed: int | None = field(default=None)

    @property
    def depth(self) -> int:
        """L, the number of non-input layers."""
        return len(self.layers) - 1

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "Network":
        """Check plain data (lists and numbers) and build a network from it.

        Missing weights or biases are drawn uniformly in ±0.5 from `seed` (itself drawn
        if missing, and kept, so that the same state can be made again).
        """
        layers = _layers(data.get("layers"))
        depth = len(layers) - 1
        activations = data.get("activations") or ["sigmoid"] * depth
        if len(activations) != depth:
            raise InvalidInput("activations", f"expected {depth} (one per non-input layer)")
        for k, name in enumerate(activations):
            if name not in ACTIVATIONS:
                known = ", ".join(ACTIVATIONS)
                raise InvalidInput(f"activations[{k}]", f"unknown activation {name!r} ({known})")
        loss = data.get("loss", "half_sse")
        if loss not in LOSSES:
            raise InvalidInput("loss", f"unknown loss {loss!r} ({', '.join(LOSSES)})")
        seed = data.get("seed")
        if seed is None and (data.get("weights") is None or data.get("biases") is None):
            seed = int(np.random.default_rng().integers(2**31))
        rng = np.random.default_rng(seed)
        r = LIMITS["init_range"]
        weights = data.get("weights")
        if weights is None:
            weights = [rng.uniform(-r, r, (n, m)) for m, n in zip(layers, layers[1:])]
        biases = data.get("biases")
        if biases is None:
            biases = [rng.uniform(-r, r, n) for n in layers[1:]]
        if not isinstance(weights, list | tuple) or len(weights) != depth:
            raise InvalidInput("weights", f"expected {depth} matrices (one per layer pair)")
        if not isinstance(biases, list | tuple) or len(biases) != depth:
            raise InvalidInput("biases", f"expected {depth} vectors (one per non-input layer)")
        lr = data.get("learning_rate", 0.5)
        if not isinstance(lr, int | float) or isinstance(lr, bool) or not math.isfinite(lr):
            raise InvalidInput("learning_rate", "must be a finite number")
        if not 0 <= lr <= LIMITS["max_learning_rate"]:
            raise InvalidInput("learning_rate", f"must be in [0, {LIMITS['max_learning_rate']:g}]")
        update_biases = data.get("update_biases", False)
        if not isinstance(update_biases, bool):
            raise InvalidInput("update_biases", "must be true or false")
        if "inputs" not in data or data["inputs"] is None:
            raise InvalidInput("inputs", "required")
        if "targets" not in data or data["targets"] is None:
            raise InvalidInput("targets", "required")
        return cls(
            layers=layers,
            activations=tuple(activations),
            loss=loss,
            weights=tuple(
                _frozen(w, f"weights[{l}]", (n, m))
                for l, (w, m, n) in enumerate(zip(weights, layers, layers[1:]))
            ),
            biases=tuple(
                _frozen(b, f"biases[{l}]", (n,)) for l, (b, n) in enumerate(zip(biases, layers[1:]))
            ),
            inputs=_frozen(data["inputs"], "inputs", (layers[0],)),
            targets=_frozen(data["targets"], "targets", (layers[-1],)),
            learning_rate=float(lr),
            update_biases=update_biases,
            seed=seed,
        )

    def to_data(self) -> dict[str, Any]:
        """The state as plain data, the inverse of `from_data`."""
        return {
            "layers": list(self.layers),
            "activations": list(self.activations),
            "loss": self.loss,
            "weights": [w.tolist() for w in self.weights],
            "biases": [b.tolist() for b in self.biases],
            "inputs": self.inputs.tolist(),
            "targets": self.targets.tolist(),
            "learning_rate": self.learning_rate,
            "update_biases": self.update_biases,
            "seed": self.seed,
        }

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
        return replace(self, weights=tuple(weights), biases=tuple(biases))

    def param_names(self) -> list[str]:
        """w1, w2, … then b1_1, b1_2, …, in numbering order."""
        n_weights = sum(w.size for w in self.weights)
        biases = [bias_name(l, j) for l, b in enumerate(self.biases) for j in range(b.size)]
        return [f"w{k}" for k in range(1, n_weights + 1)] + biases


def _layers(value: Any) -> tuple[int, ...]:
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


CLASSIC = {
    "layers": [2, 2, 2],
    "activations": ["sigmoid", "sigmoid"],
    "loss": "half_sse",
    "weights": [[[0.15, 0.20], [0.25, 0.30]], [[0.40, 0.45], [0.50, 0.55]]],
    "biases": [[0.35, 0.35], [0.60, 0.60]],
    "inputs": [0.05, 0.10],
    "targets": [0.01, 0.99],
    "learning_rate": 0.5,
    "update_biases": False,
}

# The tutorial's sample, loss and η, which the other built-in scenarios keep.
SAMPLE = {k: CLASSIC[k] for k in ("loss", "inputs", "targets", "learning_rate")}
# Built-in scenarios beside the tutorial's: what a teacher shows next.
PRESETS: dict[str, dict[str, Any]] = {
    "classic": CLASSIC,
    # The same network with tanh in the hidden layer: other ∂out/∂net, other δ_h.
    "classic_tanh": CLASSIC | {"activations": ["tanh", "sigmoid"]},
    # Large weights saturate the sigmoids: out ≈ 0 or 1, so ∂out/∂net ≈ 0 and the gradients
    # vanish (the reason for careful initialisation).
    "saturated": CLASSIC | {"weights": [[[1.5, 2.0], [2.5, 3.0]], [[4.0, 4.5], [5.0, 5.5]]]},
    # Two hidden layers of three: the chain rule through a deeper network.
    "deep": SAMPLE
    | {"layers": [2, 3, 3, 2], "activations": ["sigmoid"] * 3, "update_biases": False, "seed": 7},
    # ReLU hidden neurons, a linear output: a neuron whose net is negative passes no
    # gradient back (δ = 0), one whose net is positive passes it unchanged.
    "relu": SAMPLE
    | {"layers": [2, 3, 2], "activations": ["relu", "linear"], "update_biases": True, "seed": 3},
}
