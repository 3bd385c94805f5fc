"""The data a network learns from, and its mini-batches.

A data set is a table of samples, one a row: `inputs` (layers[0] columns) and `targets`
(layers[-1] columns) to train on, and as many test rows, possibly none, to measure on. It is
given as a table, or made by a generator from a seed: the logic gates, or one of the 2-D
toys of tensorflow/playground (a ring, the quadrants, two blobs, two spirals), with targets
0 and 1 and inputs in about [-1, 1].

Batches are those of torch's DataLoader(data, batch_size, shuffle, drop_last=False): each
epoch goes through the training rows in order, or in an order drawn from (seed, epoch), and
its last batch is smaller when batch_size does not divide n.
"""

import math
import sys
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.errors import InvalidInput

Array = np.ndarray
Rng = np.random.Generator

MAX_SAMPLES = 1000  # training and test rows together
MAX_TEST_FRACTION = 0.9
MAX_SEED = 2**63 - 1
_LARGEST = sys.float_info.max
TABLE = ("inputs", "targets", "test_inputs", "test_targets")


@dataclass(frozen=True)
class DataSet:
    inputs: Array  # (n, layers[0]): the training samples' inputs, one sample a row
    targets: Array  # (n, layers[-1]): their targets
    test_inputs: Array  # (n_test, layers[0]), n_test possibly 0: samples kept for testing
    test_targets: Array  # (n_test, layers[-1])
    spec: dict[str, Any] | None = None  # the generator and its options; None for a table

    @classmethod
    def from_data(cls, data: Any, layers: tuple[int, ...]) -> "DataSet":
        """Check plain data and make the data set, or InvalidInput naming the field.

        `data` is a table {inputs, targets[, test_inputs, test_targets]} or a generator
        spec {generator, samples, noise, seed, test_fraction}; a spec with its table (as
        `to_data` writes it) keeps the table, so that stored data stays what it was.
        """
        if not isinstance(data, dict):
            raise InvalidInput(
                "data", 'expected a table {"inputs", "targets"} or a generator {"generator", …}'
            )
        spec = _spec(data, layers) if "generator" in data else None
        if spec is None:
            for key in data:
                if key not in TABLE:
                    known = ", ".join(TABLE)
                    raise InvalidInput(f"data.{key}", f"unknown key (a table has {known})")
        elif not any(k in data for k in TABLE):
            return _generate(spec)
        return _table(data, layers, spec)

    def to_data(self) -> dict[str, Any]:
        """The data set as plain data, the inverse of `from_data`."""
        table = {k: getattr(self, k).tolist() for k in TABLE}
        return table if self.spec is None else dict(self.spec) | table

    def __setstate__(self, state: dict[str, Any]) -> None:
        # A copy made by pickle stays read-only: numpy does not keep the flag.
        for value in state.values():
            if isinstance(value, np.ndarray):
                value.flags.writeable = False
        self.__dict__.update(state)


def _table(data: dict[str, Any], layers: tuple[int, ...], spec: dict | None) -> DataSet:
    for key in ("inputs", "targets"):
        if data.get(key) is None:
            raise InvalidInput(f"data.{key}", "required (a list of rows, one per sample)")
    inputs = _rows(data["inputs"], "data.inputs", layers[0])
    targets = _rows(data["targets"], "data.targets", layers[-1])
    if len(inputs) == 0:
        raise InvalidInput("data.inputs", "expected at least one sample")
    test_x, test_t = data.get("test_inputs"), data.get("test_targets")
    if test_t is None and test_x is not None:
        raise InvalidInput("data.test_targets", "required with data.test_inputs")
    if test_x is None and test_t is not None:
        raise InvalidInput("data.test_inputs", "required with data.test_targets")
    test_inputs = _rows([] if test_x is None else test_x, "data.test_inputs", layers[0])
    test_targets = _rows([] if test_t is None else test_t, "data.test_targets", layers[-1])
    for x, t, name in ((inputs, targets, "targets"), (test_inputs, test_targets, "test_targets")):
        if len(t) != len(x):
            rows = name.replace("targets", "inputs")
            raise InvalidInput(
                f"data.{name}", f"expected {len(x)} rows (one per row of data.{rows}), got {len(t)}"
            )
    if len(inputs) + len(test_inputs) > MAX_SAMPLES:
        raise InvalidInput(
            "data.test_inputs",
            f"at most {MAX_SAMPLES} samples in all, training and test "
            f"({len(inputs)} + {len(test_inputs)})",
        )
    return _data_set(inputs, targets, test_inputs, test_targets, spec)


def _rows(value: Any, field: str, width: int) -> Array:
    """A (rows, width) float64 array from a list of rows of finite numbers."""
    if isinstance(value, np.ndarray):
        value = value.tolist()
    if not isinstance(value, list | tuple):
        raise InvalidInput(field, f"expected a list of rows of {width} numbers")
    if len(value) > MAX_SAMPLES:
        raise InvalidInput(field, f"at most {MAX_SAMPLES} samples, got {len(value)}")
    for k, row in enumerate(value):
        if not isinstance(row, list | tuple) or len(row) != width:
            raise InvalidInput(f"{field}[{k}]", f"expected a row of {width} numbers")
        for i, x in enumerate(row):
            if not _is_number(x) or not abs(x) <= _LARGEST:  # NaN, ±inf, 10**400 are not
                raise InvalidInput(f"{field}[{k}][{i}]", "must be a finite number")
    return np.array(value, dtype=np.float64).reshape(len(value), width)


def _is_number(x: Any) -> bool:
    return isinstance(x, int | float) and not isinstance(x, bool)


def _data_set(
    inputs: Array, targets: Array, test_inputs: Array, test_targets: Array, spec: dict | None
) -> DataSet:
    for a in (inputs, targets, test_inputs, test_targets):
        a.flags.writeable = False
    return DataSet(inputs, targets, test_inputs, test_targets, spec)


# Generators. A gate is its truth table, in order. A toy makes (inputs (n, 2), targets
# (n, 1)) from (samples, noise, rng): the two classes in equal numbers (one more of class 0
# when n is odd), class by class (they are shuffled after, from the same rng). noise in
# [0, 1] moves each point (at 1, by up to 0.3 in each input, or 0.15 along a spiral, whose
# arms are closer) and keeps its class, so that the classes come to overlap while the
# inputs stay in about [-1.3, 1.3].

# The gates: the four corners of {0,1}² in truth-table order, and each gate's column.
_CORNERS = np.array([[0, 0], [0, 1], [1, 0], [1, 1]], dtype=np.float64)
GATES = {"and": (0, 0, 0, 1), "or": (0, 1, 1, 1), "xor": (0, 1, 1, 0)}


def _classes(n: int) -> Array:
    """n targets, 0 then 1, as a column."""
    return (np.arange(n) >= n - n // 2).astype(np.float64)[:, None]


def _circle(n: int, noise: float, rng: Rng) -> tuple[Array, Array]:
    # Class 1 inside radius 0.5, class 0 in the ring from 0.7 to 1: a gap between them.
    t = _classes(n)
    r = np.where(t[:, 0] == 1, rng.uniform(0, 0.5, n), rng.uniform(0.7, 1.0, n))
    angle = rng.uniform(0, 2 * np.pi, n)
    x = np.column_stack([r * np.cos(angle), r * np.sin(angle)])
    return x + rng.uniform(-0.3, 0.3, (n, 2)) * noise, t


def _xor_quadrants(n: int, noise: float, rng: Rng) -> tuple[Array, Array]:
    # Class 1 where x·y > 0; every point at least 0.05 away from the axes.
    t = _classes(n)
    magnitude = rng.uniform(0.05, 1.0, (n, 2))
    sign_x = rng.choice([-1.0, 1.0], n)
    sign_y = np.where(t[:, 0] == 1, sign_x, -sign_x)
    x = magnitude * np.column_stack([sign_x, sign_y])
    return x + rng.uniform(-0.3, 0.3, (n, 2)) * noise, t


def _gaussians(n: int, noise: float, rng: Rng) -> tuple[Array, Array]:
    # Class 1 around (0.4, 0.4), class 0 around (−0.4, −0.4); noise widens both.
    t = _classes(n)
    centre = np.where(t == 1, 0.4, -0.4)
    std = 0.1 + 0.25 * noise
    return centre + rng.normal(0.0, std, (n, 2)), t


def _spiral(n: int, noise: float, rng: Rng) -> tuple[Array, Array]:
    # Two arms of 1.75 turns out to radius 1, half a turn apart, points evenly along them.
    t = _classes(n)
    n0 = n - n // 2
    k = np.concatenate([np.arange(n0) / n0, np.arange(n // 2) / max(n // 2, 1)])
    r = 0.05 + 0.95 * k
    angle = 1.75 * 2 * np.pi * k + np.pi * t[:, 0]
    x = np.column_stack([r * np.sin(angle), r * np.cos(angle)])
    return x + rng.uniform(-0.15, 0.15, (n, 2)) * noise, t


_TOYS: dict[str, Callable[[int, float, Rng], tuple[Array, Array]]] = {
    "circle": _circle,
    "xor_quadrants": _xor_quadrants,
    "gaussians": _gaussians,
    "spiral": _spiral,
}
GENERATORS = (*GATES, *_TOYS)
DEFAULTS = {"samples": 200, "noise": 0.0, "seed": 0, "test_fraction": 0.0}


def options(generator: str) -> tuple[str, ...]:
    """The spec's keys besides `generator`: a gate has exactly its 4 samples and no noise."""
    return ("seed", "test_fraction") if generator in GATES else tuple(DEFAULTS)


def _spec(data: dict[str, Any], layers: tuple[int, ...]) -> dict[str, Any]:
    name = data["generator"]
    if not isinstance(name, str) or name not in GENERATORS:
        r = repr(name)
        shown = r if len(r) <= 40 else r[:37] + "..."
        raise InvalidInput("data.generator", f"unknown generator {shown} ({', '.join(GENERATORS)})")
    if (layers[0], layers[-1]) != (2, 1):
        raise InvalidInput(
            "data.generator",
            f"{name} makes 2 inputs and 1 target; the network has {layers[0]} inputs and "
            f"{layers[-1]} outputs (layers {list(layers)})",
        )
    keys = options(name)
    for key in data:
        if key != "generator" and key not in keys and key not in TABLE:
            why = " (a gate has exactly its 4 samples, no noise)" if name in GATES else ""
            raise InvalidInput(
                f"data.{key}", f"not an option of {name}{why}: its options are {', '.join(keys)}"
            )
    spec: dict[str, Any] = {"generator": name}
    for key in keys:
        spec[key] = _option(key, data.get(key, DEFAULTS[key]))
    return spec


def _option(key: str, value: Any) -> int | float:
    field = f"data.{key}"
    if key in ("samples", "seed"):
        low, high = (1, MAX_SAMPLES) if key == "samples" else (0, MAX_SEED)
        if not isinstance(value, int) or isinstance(value, bool) or not low <= value <= high:
            raise InvalidInput(field, f"must be a whole number from {low} to {high}")
        return value
    high = 1.0 if key == "noise" else MAX_TEST_FRACTION
    if not _is_number(value) or not 0 <= value <= high:  # NaN is not in range
        raise InvalidInput(field, f"must be a number in [0, {high:g}]")
    return float(value)


def _generate(spec: dict[str, Any]) -> DataSet:
    rng = np.random.default_rng(spec["seed"])
    name = spec["generator"]
    if name in GATES:
        inputs, targets = _CORNERS.copy(), np.array(GATES[name], dtype=np.float64)[:, None]
    else:
        inputs, targets = _TOYS[name](spec["samples"], spec["noise"], rng)
        shuffled = rng.permutation(len(inputs))
        inputs, targets = inputs[shuffled], targets[shuffled]
    # The test rows: floor(fraction · n) of them (so at least one row is left to train on),
    # drawn from the seed; both parts keep the order of the rows.
    n = len(inputs)
    test = np.zeros(n, dtype=bool)
    test[rng.permutation(n)[: math.floor(spec["test_fraction"] * n + 1e-9)]] = True
    return _data_set(inputs[~test], targets[~test], inputs[test], targets[test], dict(spec))


# Batches.


def check_batch_size(batch_size: Any) -> int | None:
    """A whole number from 1 (more than n: one batch of n), or None: the whole training set."""
    if batch_size is not None and (
        not isinstance(batch_size, int)
        or isinstance(batch_size, bool)
        or not 1 <= batch_size <= MAX_SAMPLES
    ):
        raise InvalidInput(
            "batch_size", f"must be a whole number from 1 to {MAX_SAMPLES}, or null (all samples)"
        )
    return batch_size


def batch_rows(n: int, batch_size: int | None) -> int:
    """Samples in a full batch of n: batch_size, or all n (None, or more than n)."""
    return min(batch_size or n, n)


def batches_per_epoch(n: int, batch_size: int | None) -> int:
    """How many batches go through n samples: ⌈n / batch_size⌉."""
    batch_size = check_batch_size(batch_size)
    return -(-n // batch_rows(n, batch_size)) if n else 0


def order(n: int, shuffle: bool, seed: int, epoch: int) -> Array:
    """The sample indices in the order of this epoch: 0..n−1, or a permutation drawn from
    (seed, epoch) so that any epoch's order can be made again."""
    if not shuffle:
        return np.arange(n)
    return np.random.default_rng([seed, epoch]).permutation(n)


def batch(
    n: int, batch_size: int | None, shuffle: bool, seed: int, iteration: int
) -> tuple[int, Array]:
    """(epoch, indices) of the samples of iteration k (from 0): batch k % per_epoch of
    epoch k // per_epoch."""
    per_epoch = batches_per_epoch(n, batch_size)
    if per_epoch == 0:
        raise InvalidInput("data.inputs", "no training samples to make a batch of")
    if not isinstance(iteration, int) or isinstance(iteration, bool) or iteration < 0:
        raise InvalidInput("iteration", "must be a whole number from 0")
    epoch, k = divmod(iteration, per_epoch)
    size = batch_rows(n, batch_size)
    return epoch, order(n, shuffle, seed, epoch)[k * size : (k + 1) * size]
