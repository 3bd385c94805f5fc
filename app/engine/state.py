"""A network's whole state, in three parts: what the network is (`Network`), what it learns
from (`Data`) and how it is trained (`Training`).

One table, `FIELDS`, names every field of the state with its part, JSON type, default,
check and one-line doc: it drives reading the state from plain data (`State.from_data`,
the one place it is checked), writing it back (`State.to_data`), the list of field names
and the API's schema docs. A field is added here, once.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np

from app.engine import init, optim, schedule
from app.engine.activation import ACTIVATIONS
from app.engine.data import DataSet, check_batch_size
from app.engine.errors import InvalidInput
from app.engine.loss import LOSSES
from app.engine.network import LIMITS, Array, Network, checked_layers, frozen

REQUIRED = object()  # the default of a field that must be given
DATA_KINDS = ("sample", "table", "generated")  # what a network learns from (Data.kind)


@dataclass(frozen=True)
class Data:
    """The one training sample (the tutorial's), or a data set."""

    inputs: Array | None  # shape (layers[0],): the one sample's, without a data set
    targets: Array | None  # shape (layers[-1],)
    data: DataSet | None  # the samples to learn from, if more than one

    @property
    def train(self) -> tuple[Array, Array]:
        """The training samples' inputs and targets, one sample a row."""
        if self.data is None:
            return self.inputs[None], self.targets[None]  # type: ignore[index]
        return self.data.inputs, self.data.targets

    @property
    def test(self) -> tuple[Array, Array] | None:
        d = self.data
        return None if d is None or not len(d.test_inputs) else (d.test_inputs, d.test_targets)

    @property
    def kind(self) -> str:
        """ "sample" (the one), "table" (samples given row by row) or "generated"."""
        if self.data is None:
            return "sample"
        return "table" if self.data.spec is None else "generated"


@dataclass(frozen=True)
class Training:
    learning_rate: float  # η, in w⁺ = w − η · ∂E/∂w (the base rate of a schedule)
    update_biases: bool  # whether the update changes the biases too
    classic_slip: bool  # hidden δ through the next layer's w⁺, as the tutorial's code did
    seed: int | None  # what the parameters not given were drawn from
    init: dict[str, Any]  # how they were drawn: an initialiser and its options
    optimizer: dict[str, Any]  # the update rule and its options (torch.optim's)
    optimizer_state: dict[str, Any]  # "step" and, per entry, one array per parameter
    schedule: dict[str, Any]  # how η changes from one iteration to the next
    current_learning_rate: float  # the η of the next iteration
    batch_size: int | None  # samples per iteration; None: the whole training set
    shuffle: bool  # a new order of the samples each epoch (from the seed)

    @property
    def step(self) -> int:
        """Iterations since training (the optimiser and the schedule) started afresh."""
        return self.optimizer_state["step"]

    def params(self, network: Network) -> tuple[Array, ...]:
        """What the optimiser updates: the weights, and the biases if update_biases."""
        return network.weights + (network.biases if self.update_biases else ())


@dataclass(frozen=True)
class State:
    network: Network
    data: Data
    training: Training

    @classmethod
    def from_data(cls, data: dict[str, Any]) -> "State":
        """Check plain data (lists and numbers), field by field, and build a state from it.

        Missing weights or biases are drawn by `init` from `seed` (itself drawn if
        missing, and kept, so that the same state can be made again).
        """
        layers = checked_layers(data.get("layers"))
        data = _drawn(data, layers)
        parts: dict[str, dict[str, Any]] = {"network": {}, "data": {}, "training": {}}
        for f in FIELDS:
            value = data.get(f.name)
            if value is None:
                if f.default is REQUIRED:
                    raise InvalidInput(f.name, "required")
                value = f.default
            parts[f.part][f.name] = f.check(value, layers)
        network, sample = Network(**parts["network"]), Data(**parts["data"])
        _pairs(network, sample)
        training = _started(network, parts["training"])
        return cls(network, sample, training)

    def to_data(self) -> dict[str, Any]:
        """The state as plain data, the inverse of `from_data` (a new dict each time; the
        lists in it are shared: read them, do not change them)."""
        return dict(self._data)

    @cached_property
    def _data(self) -> dict[str, Any]:
        # Made once per state: a state never changes, and a change of a network writes
        # out its new state, the one before it and the initial one.
        data = {f.name: _plain(getattr(getattr(self, f.part), f.name)) for f in FIELDS}
        data["optimizer_state"] = _state_data(self.training, self.network)
        return data

    def with_params(self, weights: tuple[Array, ...], biases: tuple[Array, ...]) -> "State":
        """The same state with other parameters (already checked, e.g. by an update)."""
        return State(self.network.with_params(weights, biases), self.data, self.training)


def _drawn(data: dict[str, Any], layers: tuple[int, ...]) -> dict[str, Any]:
    """The data with the weights and biases not given drawn from its seed."""
    weights, biases, seed = data.get("weights"), data.get("biases"), data.get("seed")
    if weights is not None and biases is not None:
        return data
    if seed is None:
        seed = int(np.random.default_rng().integers(2**31))
    rng = np.random.default_rng(_seed(seed, layers))
    spec = init.check(data.get("init"))
    if weights is None:
        weights = init.draw_weights(spec, layers, rng)
    if biases is None:
        biases = init.draw_biases(spec, layers, rng)
    return data | {"weights": weights, "biases": biases, "seed": seed}


def _started(network: Network, fields: dict[str, Any]) -> Training:
    """How it is trained, with what depends on the rest made or checked: the optimiser's
    state (fresh, or the one given, in the shapes of the parameters it updates) and the η
    of the next iteration (the schedule's first, unless given)."""
    fresh = Training(**fields | {"optimizer_state": {"step": 0}, "current_learning_rate": 0.0})
    opt = optim.OPTIMIZERS[fresh.optimizer["name"]]
    made = opt.init(fresh.params(network), fresh.optimizer)
    given = fields["optimizer_state"]
    state = made if given is None else _given_state(given, made, fresh, network)
    lr = fields["current_learning_rate"]
    if lr is None:
        lr = schedule.SCHEDULES[fresh.schedule["name"]].initial(fresh.learning_rate, fresh.schedule)
    return replace(fresh, optimizer_state=state, current_learning_rate=_rate(lr))


def _given_state(
    given: Any, made: dict[str, Any], training: Training, network: Network
) -> dict[str, Any]:
    """The optimiser's state as given ({"step", entry: {"weights", "biases"}}), checked
    against the one its options make."""
    field = "optimizer_state"
    if not isinstance(given, dict) or set(given) != set(made):
        want = ", ".join(made)
        raise InvalidInput(field, f"expected the entries {want} (of {training.optimizer['name']})")
    step = given["step"]
    if not isinstance(step, int) or isinstance(step, bool) or not 0 <= step <= 10**9:
        raise InvalidInput(f"{field}.step", "must be a whole number from 0 to 10**9")
    state: dict[str, Any] = {"step": step}
    for key in made:
        if key == "step":
            continue
        entry = given[key]
        if not isinstance(entry, dict) or set(entry) != {"weights", "biases"}:
            raise InvalidInput(f"{field}.{key}", 'expected {"weights": …, "biases": …}')
        arrays = list(_weights(entry["weights"], network.layers))
        if training.update_biases:
            arrays += _biases(entry["biases"], network.layers)
        elif entry["biases"] is not None:
            raise InvalidInput(f"{field}.{key}.biases", "null: the biases are not updated")
        state[key] = tuple(arrays)
    return state


def _state_data(training: Training, network: Network) -> dict[str, Any]:
    n = len(network.weights)
    data: dict[str, Any] = {"step": training.step}
    for key, arrays in training.optimizer_state.items():
        if key != "step":
            biases = [a.tolist() for a in arrays[n:]] if training.update_biases else None
            data[key] = {"weights": [a.tolist() for a in arrays[:n]], "biases": biases}
    return data


def _rate(value: Any, field: str = "current_learning_rate") -> float:
    """An η: a finite number in [0, max_learning_rate]."""
    if not isinstance(value, int | float) or isinstance(value, bool) or not math.isfinite(value):
        raise InvalidInput(field, "must be a finite number")
    if not 0 <= value <= LIMITS["max_learning_rate"]:
        raise InvalidInput(field, f"must be in [0, {LIMITS['max_learning_rate']:g}]")
    return float(value)


def _pairs(network: Network, data: Data) -> None:
    """Refuse what each field allows alone but not with the others: softmax on a hidden
    layer or on a single output, a loss without the output activation it is defined on,
    targets it cannot take; one sample and a data set at once."""
    if data.data is None and (data.inputs is None or data.targets is None):
        raise InvalidInput("inputs" if data.inputs is None else "targets", "required")
    if data.data is not None and (data.inputs is not None or data.targets is not None):
        raise InvalidInput(
            "inputs" if data.inputs is not None else "targets",
            "give one sample (inputs and targets) or a data set (data), not both",
        )
    for k, name in enumerate(network.activations[:-1]):
        if ACTIVATIONS[name].output_only:
            raise InvalidInput(
                f"activations[{k}]",
                f"{name} couples the outputs of its layer: on the output layer only",
            )
    if ACTIVATIONS[network.activations[-1]].output_only and network.layers[-1] < 2:
        raise InvalidInput(
            f"activations[{network.depth - 1}]",
            f"{network.activations[-1]} of a single output is always 1 (its δ is 0): "
            "give the output layer at least 2 neurons",
        )
    loss = LOSSES[network.loss]
    if loss.activation and network.activations[-1] != loss.activation:
        raise InvalidInput(
            "loss",
            f"{loss.name} is defined on {loss.activation} outputs: the output layer's "
            f"activation is {network.activations[-1]}",
        )
    targets = data.train[1] if data.test is None else np.concatenate([data.train[1], data.test[1]])
    if loss.name == "bce" and not ((targets >= 0) & (targets <= 1)).all():
        raise InvalidInput("targets", "bce takes targets from 0 to 1 (probabilities)")
    if loss.name == "cross_entropy" and not (
        (targets >= 0).all()
        and abs(float(targets.sum(axis=-1).max()) - 1) <= 1e-9
        and abs(float(targets.sum(axis=-1).min()) - 1) <= 1e-9
    ):
        raise InvalidInput(
            "targets", "cross_entropy takes a distribution: targets ≥ 0 that sum to 1"
        )


def _plain(value: Any) -> Any:
    if isinstance(value, tuple):  # of arrays (weights, biases), or of names and sizes
        return [a.tolist() if isinstance(a, np.ndarray) else a for a in value]
    if isinstance(value, np.ndarray):
        return value.tolist()
    if isinstance(value, DataSet):
        return value.to_data()
    return value


# The checks: each takes the value given (or the default) and the layers.


def _activations(value: Any, layers: tuple[int, ...]) -> tuple[str, ...]:
    depth = len(layers) - 1
    if isinstance(value, list | tuple) and not value:  # the default: sigmoid everywhere
        value = ["sigmoid"] * depth
    if not isinstance(value, list | tuple) or len(value) != depth:
        raise InvalidInput("activations", f"expected {depth} (one per non-input layer)")
    for k, name in enumerate(value):
        if not isinstance(name, str) or name not in ACTIVATIONS:
            known = ", ".join(ACTIVATIONS)
            raise InvalidInput(f"activations[{k}]", f"unknown activation {name!r} ({known})")
    return tuple(value)


def _loss(value: Any, layers: tuple[int, ...]) -> str:
    if not isinstance(value, str) or value not in LOSSES:
        raise InvalidInput("loss", f"unknown loss {value!r} ({', '.join(LOSSES)})")
    return value


def _weights(value: Any, layers: tuple[int, ...]) -> tuple[Array, ...]:
    depth = len(layers) - 1
    if not isinstance(value, list | tuple) or len(value) != depth:
        raise InvalidInput("weights", f"expected {depth} matrices (one per layer pair)")
    return tuple(
        frozen(w, f"weights[{l}]", (n, m))
        for l, (w, m, n) in enumerate(zip(value, layers, layers[1:]))
    )


def _biases(value: Any, layers: tuple[int, ...]) -> tuple[Array, ...]:
    depth = len(layers) - 1
    if not isinstance(value, list | tuple) or len(value) != depth:
        raise InvalidInput("biases", f"expected {depth} vectors (one per non-input layer)")
    return tuple(frozen(b, f"biases[{l}]", (n,)) for l, (b, n) in enumerate(zip(value, layers[1:])))


def _learning_rate(value: Any, layers: tuple[int, ...]) -> float:
    return _rate(value, "learning_rate")


def _flag(name: str) -> Callable[[Any, tuple[int, ...]], bool]:
    def check(value: Any, layers: tuple[int, ...]) -> bool:
        if not isinstance(value, bool):
            raise InvalidInput(name, "must be true or false")
        return value

    return check


def _seed(value: Any, layers: tuple[int, ...]) -> int | None:
    if value is None:
        return None
    if not isinstance(value, int) or isinstance(value, bool) or not 0 <= value < 2**53:
        raise InvalidInput("seed", "must be a whole number from 0 to 2**53 - 1")
    return value


@dataclass(frozen=True)
class Field:
    name: str
    part: str  # "network", "data" or "training": where it lives in the state
    type: str  # its JSON type, for the docs
    default: Any  # REQUIRED if it must be given
    check: Callable[[Any, tuple[int, ...]], Any]  # the value as kept, or InvalidInput
    doc: str


FIELDS = (
    Field("layers", "network", "integer[]", REQUIRED, lambda v, layers: layers,
          "Neurons per layer, input first, e.g. [2, 2, 2]."),
    Field("activations", "network", "string[]", (), _activations,
          "One per non-input layer: " + ", ".join(ACTIVATIONS) + "."),
    Field("loss", "network", "string", "half_sse", _loss,
          "The loss of one sample: " + ", ".join(LOSSES) + "."),
    Field("weights", "network", "number[][][]", REQUIRED, _weights,
          "weights[l][j][i]: from neuron i of layer l to neuron j of layer l+1."),
    Field("biases", "network", "number[][]", REQUIRED, _biases,
          "biases[l][j]: into neuron j of layer l+1 (named b{l+1}_{j+1})."),
    Field("inputs", "data", "number[]", None,
          lambda v, layers: None if v is None else frozen(v, "inputs", (layers[0],)),
          "The one training sample's inputs, one per input neuron (without data)."),
    Field("targets", "data", "number[]", None,
          lambda v, layers: None if v is None else frozen(v, "targets", (layers[-1],)),
          "The one training sample's targets, one per output neuron (without data)."),
    Field("data", "data", "object", None,
          lambda v, layers: None if v is None else DataSet.from_data(v, layers),
          "Instead of one sample, a data set: a table {\"inputs\": [[…], …], \"targets\": "
          "[[…], …]} or generated {\"generator\": and, or, xor, circle, xor_quadrants, "
          "gaussians or spiral, \"samples\", \"noise\", \"seed\", \"test_fraction\"}."),
    Field("learning_rate", "training", "number", 0.5, _learning_rate,
          "η, the step size of the update w⁺ = w − η · ∂E/∂w."),
    Field("update_biases", "training", "boolean", False, _flag("update_biases"),
          "Whether the update changes the biases too (the tutorial's keeps them)."),
    Field("classic_slip", "training", "boolean", False, _flag("classic_slip"),
          "The slip of the code behind the tutorial's printed figures: each layer's δ taken "
          "through the next layer's weights as already updated (w⁺, by the optimiser's own "
          "rule, layer by layer from the output down) instead of w. false: the derivation's."),
    Field("seed", "training", "integer", None, _seed,
          "Seeds the draw of the weights and biases that are not given (a changed seed, "
          "or init, draws them afresh)."),
    Field("init", "training", "object", None, lambda v, layers: init.check(v),
          "How weights and biases not given are drawn: {\"name\": \"uniform\", \"a\": 0.5} "
          "(the default), normal, xavier_uniform, xavier_normal, kaiming_uniform, "
          "kaiming_normal, torch_default or zeros, with torch.nn.init's options."),
    Field("optimizer", "training", "object", None,
          lambda v, layers: optim.check(v or {"name": "sgd"}),
          "The update rule, torch.optim's, with its options: {\"name\": \"sgd\"} (the "
          "default: with momentum 0, the tutorial's w⁺ = w − η · ∂E/∂w), rmsprop, adagrad, "
          "adam or adamw."),
    Field("optimizer_state", "training", "object", None, lambda v, layers: v,
          "The optimiser's state, torch's names: step, and per entry (momentum_buffer, "
          "square_avg, grad_avg, sum, exp_avg, exp_avg_sq, max_exp_avg_sq) "
          "{\"weights\", \"biases\"} in their shapes. Made fresh if not given."),
    Field("schedule", "training", "object", None,
          lambda v, layers: schedule.check(v or {"name": "constant"}),
          "How η changes after each iteration, torch.optim.lr_scheduler's: {\"name\": "
          "\"constant\"} (the default), step, multistep, exponential, cosine or linear."),
    Field("current_learning_rate", "training", "number", None, lambda v, layers: v,
          "The η of the next iteration, as the schedule has taken it."),
    Field("batch_size", "training", "integer", None, lambda v, layers: check_batch_size(v),
          "Samples per iteration (one optimiser step); null: the whole training set."),
    Field("shuffle", "training", "boolean", False, _flag("shuffle"),
          "A new order of the training samples each epoch, drawn from the seed."),

)  # fmt: skip
NAMES = tuple(f.name for f in FIELDS)
DOCS = {f.name: f.doc for f in FIELDS}

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
