"""Weight initialisers: how the weights and biases not given are first drawn.

weights[l] has the shape (layers[l+1], layers[l]) = (fan_out, fan_in), as torch's
nn.Linear weight, and each initialiser uses torch.nn.init's bound or standard deviation
for it; the draw itself is numpy's, from a Generator the caller makes from the network's
seed (np.random.default_rng(seed)). `uniform` with a = 0.5 is the draw the lab has always
made (every weight, then every bias, in ±0.5), so a seed keeps its network.

A spec is plain data, {"name": …, option: value, …}; `check` completes it with the
defaults, and the draws take it checked or not.
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.errors import InvalidInput

Array = np.ndarray
Rng = np.random.Generator
Shape = tuple[int, int]  # (fan_out, fan_in): the shape of weights[l]
Spec = dict[str, Any]

DEFAULT: Spec = {"name": "uniform", "a": 0.5}
# Beyond this an option is no initialisation but an overflow (numpy's uniform refuses a
# range wider than the largest float).
MAX_SCALE = 1e6

# torch.nn.init.calculate_gain: the factor that keeps the variance of out about that of net.
GAINS: dict[str, Callable[[float], float]] = {
    "linear": lambda a: 1.0,
    "sigmoid": lambda a: 1.0,
    "tanh": lambda a: 5.0 / 3,
    "relu": lambda a: math.sqrt(2.0),
    "leaky_relu": lambda a: math.sqrt(2.0 / (1 + a * a)),  # a: the negative slope
}


def gain(nonlinearity: str, a: float = 0.0) -> float:
    """The recommended gain for an activation (a: leaky_relu's negative slope)."""
    return GAINS[nonlinearity](a)


def _fan(shape: Shape, mode: str) -> int:
    fan_out, fan_in = shape
    return fan_in if mode == "fan_in" else fan_out


def _kaiming_std(spec: Spec, shape: Shape) -> float:
    return gain(spec["nonlinearity"], spec["a"]) / math.sqrt(_fan(shape, spec["mode"]))


def _xavier_std(spec: Spec, shape: Shape) -> float:
    fan_out, fan_in = shape
    return spec["gain"] * math.sqrt(2.0 / (fan_in + fan_out))


def _torch_bound(shape: Shape) -> float:
    # kaiming_uniform with a = √5: gain √(2/6), bound √3 · gain/√fan_in = 1/√fan_in.
    return 1 / math.sqrt(_fan(shape, "fan_in"))


def _uniform(rng: Rng, bound: float, size: int | Shape) -> Array:
    return rng.uniform(-bound, bound, size)


def _zeros(spec: Spec, shape: Shape, rng: Rng) -> Array:
    return np.zeros(shape)


@dataclass(frozen=True)
class Initialiser:
    name: str
    options: dict[str, Any]  # its options and their defaults
    w: Callable[[Spec, Shape, Rng], Array]  # draws weights[l] of the given shape
    b: Callable[[Spec, Shape, Rng], Array] | None = None  # draws biases[l]; None: zeros


INITIALISERS: dict[str, Initialiser] = {
    i.name: i
    for i in (
        # U(−a, a), biases too: today's draw.
        Initialiser(
            "uniform",
            {"a": 0.5},
            lambda s, shape, rng: _uniform(rng, s["a"], shape),
            lambda s, shape, rng: _uniform(rng, s["a"], shape[0]),
        ),
        # N(mean, std²), as torch.nn.init.normal_.
        Initialiser(
            "normal",
            {"mean": 0.0, "std": 1.0},
            lambda s, shape, rng: rng.normal(s["mean"], s["std"], shape),
        ),
        # Glorot: U(±gain·√(6/(fan_in + fan_out))) and N(0, gain²·2/(fan_in + fan_out)).
        Initialiser(
            "xavier_uniform",
            {"gain": 1.0},
            lambda s, shape, rng: _uniform(rng, math.sqrt(3) * _xavier_std(s, shape), shape),
        ),
        Initialiser(
            "xavier_normal",
            {"gain": 1.0},
            lambda s, shape, rng: rng.normal(0.0, _xavier_std(s, shape), shape),
        ),
        # He: std = gain/√fan, the uniform bound √3 · std.
        Initialiser(
            "kaiming_uniform",
            {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
            lambda s, shape, rng: _uniform(rng, math.sqrt(3) * _kaiming_std(s, shape), shape),
        ),
        Initialiser(
            "kaiming_normal",
            {"a": 0.0, "mode": "fan_in", "nonlinearity": "leaky_relu"},
            lambda s, shape, rng: rng.normal(0.0, _kaiming_std(s, shape), shape),
        ),
        # What nn.Linear.reset_parameters does: weights and biases U(±1/√fan_in).
        Initialiser(
            "torch_default",
            {},
            lambda s, shape, rng: _uniform(rng, _torch_bound(shape), shape),
            lambda s, shape, rng: _uniform(rng, _torch_bound(shape), shape[0]),
        ),
        Initialiser("zeros", {}, _zeros),
    )
}

# The options' values: numbers in a range, or one of some words.
_NUMBERS = {
    "a": (0.0, MAX_SCALE),  # uniform's bound; kaiming's negative slope (torch's name for both)
    "mean": (-MAX_SCALE, MAX_SCALE),
    "std": (0.0, MAX_SCALE),
    "gain": (0.0, MAX_SCALE),
}
WORDS = {"mode": ("fan_in", "fan_out"), "nonlinearity": tuple(GAINS)}


def check(spec: Any) -> Spec:
    """The spec with its defaults (None: uniform in ±0.5), or InvalidInput naming init.<key>."""
    if spec is None:
        return dict(DEFAULT)
    if not isinstance(spec, dict):
        raise InvalidInput("init", 'expected an object such as {"name": "uniform", "a": 0.5}')
    known = ", ".join(INITIALISERS)
    if "name" not in spec:
        raise InvalidInput("init.name", f"required ({known})")
    name = spec["name"]
    if not isinstance(name, str) or name not in INITIALISERS:
        raise InvalidInput("init.name", f"unknown initialiser {_show(name)} ({known})")
    options = INITIALISERS[name].options
    for key in spec:
        if key != "name" and key not in options:
            has = f"its options are {', '.join(options)}" if options else "it has no options"
            raise InvalidInput(f"init.{key}", f"not an option of {name} ({has})")
    full: Spec = {"name": name}
    for key, default in options.items():
        value = spec.get(key, default)
        if key in WORDS:
            if not isinstance(value, str) or value not in WORDS[key]:
                words = ", ".join(WORDS[key])
                raise InvalidInput(f"init.{key}", f"unknown {key} {_show(value)} ({words})")
        else:
            low, high = _NUMBERS[key]
            if not isinstance(value, int | float) or isinstance(value, bool):
                raise InvalidInput(f"init.{key}", "must be a number")
            if not low <= value <= high:  # NaN too; ±inf and huge ints are out of range
                raise InvalidInput(f"init.{key}", f"must be a finite number in [{low:g}, {high:g}]")
            value = float(value)
        full[key] = value
    return full


def draw_weights(spec: Any, layers: tuple[int, ...], rng: Rng) -> list[Array]:
    """Every weights[l], drawn in layer order from rng."""
    spec = check(spec)
    init = INITIALISERS[spec["name"]]
    return [init.w(spec, (n, m), rng) for m, n in zip(layers, layers[1:])]


def draw_biases(spec: Any, layers: tuple[int, ...], rng: Rng) -> list[Array]:
    """Every biases[l], drawn in layer order from rng (zeros, drawing nothing, unless the
    initialiser draws biases)."""
    spec = check(spec)
    init = INITIALISERS[spec["name"]]
    if init.b is None:
        return [np.zeros(n) for n in layers[1:]]
    return [init.b(spec, (n, m), rng) for m, n in zip(layers, layers[1:])]


def _show(value: Any) -> str:
    """A value for a message: its repr, cut short (a name may be a megabyte of JSON)."""
    r = repr(value)
    return r if len(r) <= 40 else r[:37] + "..."
