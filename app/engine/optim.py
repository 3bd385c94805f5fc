"""Optimisers: torch.optim's update rules, one step at a time, with every term named.

Each optimiser is a pair, as an activation is: `init` makes its state before the first
step, `step` the next parameters and state from the gradients, and names the terms of the
update (`terms`) so that a page can show one weight's update with its numbers. Names,
defaults and rules are torch.optim's (2.13), and so are the floating-point operations and
their order (its `_single_tensor_*` code), so the numbers agree with PyTorch's, to the last
bit or nearly: torch's CPU kernels fuse w + s·g into one rounding (an FMA), numpy does not.

Notation: w a parameter (a weight or a bias), g = ∂E/∂w its gradient, η the learning rate,
t the step, counted from 1, λ the weight decay; products, squares, roots and quotients
are element by element.

    sgd       g ← g + λ·w;  b ← g at t = 1, else μ·b + (1 − dampening)·g
              w⁺ = w − η·b, or w⁺ = w − η·(g + μ·b) with nesterov
              (μ = 0 and λ = 0: plain gradient descent, w⁺ = w − η·∂E/∂w exactly)
    rmsprop   g ← g + λ·w;  v ← α·v + (1 − α)·g²;  avg = √v + ε
              (centered: ḡ ← α·ḡ + (1 − α)·g and avg = √(v − ḡ²) + ε)
              w⁺ = w − η·g/avg, or with μ > 0: b ← μ·b + g/avg (b from 0), w⁺ = w − η·b
    adagrad   g ← g + λ·w;  s ← s + g²;  clr = η / (1 + (t − 1)·lr_decay)
              w⁺ = w − clr·g/(√s + ε)
    adam      g ← g + λ·w;  m ← β₁·m + (1 − β₁)·g;  v ← β₂·v + (1 − β₂)·g²
              m̂ = m/(1 − β₁ᵗ);  v̂ = v/(1 − β₂ᵗ) (amsgrad: of v_max ← max(v_max, v))
              w⁺ = w − η·m̂/(√v̂ + ε)
    adamw     adam with the decay decoupled from g: w⁺ = w·(1 − η·λ) − η·m̂/(√v̂ + ε)

params and grads are tuples of float64 arrays of any shapes (weights, then biases); the
state holds torch's names, "step" (0 before the first step) and a tuple of arrays in the
params' shapes per entry. The functions never modify their arguments.
"""

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import numpy as np

from app.engine.errors import InvalidInput
from app.engine.options import LARGEST, checked, flag, real

Array = np.ndarray
Params = tuple[Array, ...]
State = dict[str, Any]  # "step": int, and per entry a tuple of arrays, one per parameter
Terms = dict[str, Any]  # per term a tuple of arrays, one per parameter, or one float
Options = dict[str, Any]  # as check() returns them


@dataclass(frozen=True)
class Optimizer:
    name: str
    defaults: dict[str, Any]  # torch's default for every option but lr
    init: Callable[[Params, Options], State]  # init(params, options): the state before step 1
    # step(params, grads, state, lr, options) → (new params, new state, terms)
    step: Callable[[Params, Params, State, float, Options], tuple[Params, State, Terms]]


def _lerp(start: Array, end: Array, weight: float) -> Array:
    """torch.lerp, start + weight·(end − start), computed from the nearer end as torch does."""
    if abs(weight) < 0.5:
        return start + weight * (end - start)
    return end - (end - start) * (1 - weight)


# One parameter's update, as in the loop body of torch's _single_tensor_* functions: from
# w, g, this parameter's state entries s, η, the options and the step t (from 1), the new
# w, the new s and the terms.
One = Callable[[Array, Array, dict[str, Array], float, Options, int], tuple[Array, dict, dict]]


def _sgd(w, g, s, lr, o, t):
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    terms = {"grad": g.copy()}  # g, with the weight decay
    state = {}
    d = g
    if o["momentum"] != 0:
        # The buffer starts as the gradient itself, not as (1 − dampening)·g.
        b = g.copy() if t == 1 else s["momentum_buffer"] * o["momentum"] + (1 - o["dampening"]) * g
        state["momentum_buffer"] = terms["momentum_buffer"] = b  # b, the running direction
        d = g + o["momentum"] * b if o["nesterov"] else b
    terms["update"] = lr * d  # η·b, η·(g + μ·b) with nesterov, or η·g
    return w - terms["update"], state, terms


def _rmsprop(w, g, s, lr, o, t):
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    alpha = o["alpha"]
    v = s["square_avg"] * alpha + (1 - alpha) * g * g
    terms = {
        "grad": g.copy(),  # g, with the weight decay
        "square_avg": v,  # v, the average squared gradient
    }
    state = {"square_avg": v}
    if o["centered"]:
        g_avg = _lerp(s["grad_avg"], g, 1 - alpha)
        state["grad_avg"] = terms["grad_avg"] = g_avg  # ḡ, the average gradient
        avg = np.sqrt(v - g_avg * g_avg) + o["eps"]
    else:
        avg = np.sqrt(v) + o["eps"]
    terms["avg"] = avg  # the denominator, √v + ε (centered: √(v − ḡ²) + ε)
    if o["momentum"] > 0:
        b = s["momentum_buffer"] * o["momentum"] + g / avg
        state["momentum_buffer"] = terms["momentum_buffer"] = b  # b = μ·b + g/avg, from 0
        terms["update"] = lr * b  # η·b
    else:
        terms["update"] = lr * g / avg  # η·g/avg
    return w - terms["update"], state, terms


def _adagrad(w, g, s, lr, o, t):
    if o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    clr = lr / (1 + (t - 1) * o["lr_decay"])
    total = s["sum"] + g * g
    std = np.sqrt(total) + o["eps"]
    terms = {
        "grad": g.copy(),  # g, with the weight decay
        "sum": total,  # s, the sum of the squared gradients (from initial_accumulator_value)
        "std": std,  # the denominator, √s + ε
        "clr": clr,  # the learning rate of this step, η / (1 + (t − 1)·lr_decay)
        "update": clr * g / std,  # clr·g/std
    }
    return w - terms["update"], {"sum": total}, terms


def _adam(w, g, s, lr, o, t, decoupled=False):
    beta1, beta2 = o["betas"]
    before = w
    decay = decoupled and o["weight_decay"] != 0
    if decay:
        w = w * (1 - lr * o["weight_decay"])
    elif o["weight_decay"] != 0:
        g = g + o["weight_decay"] * w
    m = _lerp(s["exp_avg"], g, 1 - beta1)
    v = s["exp_avg_sq"] * beta2 + (1 - beta2) * g * g
    state = {"exp_avg": m, "exp_avg_sq": v}
    if o["amsgrad"]:
        state["max_exp_avg_sq"] = np.maximum(s["max_exp_avg_sq"], v)
    v_max = state["max_exp_avg_sq"] if o["amsgrad"] else v
    bias_correction1 = 1 - beta1**t
    bias_correction2 = 1 - beta2**t
    step_size = lr / bias_correction1
    denom = np.sqrt(v_max) / bias_correction2**0.5 + o["eps"]
    step = step_size * m / denom
    # AdamW subtracts two things, its update is their total w − w⁺; and w⁺ is taken again as
    # w − update, the same number whenever w⁺ is within a factor 2 of w (Sterbenz), so that
    # w⁺ = w − update always holds, as for the other optimisers.
    update = before - (w - step) if decay else step
    terms = {
        "grad": g.copy(),  # g, with the weight decay unless decoupled (AdamW)
        "exp_avg": m,  # m, the average gradient
        "exp_avg_sq": v,  # v, the average squared gradient
        "m_hat": m / bias_correction1,  # m̂ = m/(1 − β₁ᵗ)
        "v_hat": v_max / bias_correction2,  # v̂ = v/(1 − β₂ᵗ) (amsgrad: of max_exp_avg_sq)
        "denom": denom,  # √v/√(1 − β₂ᵗ) + ε, that is √v̂ + ε
        "step_size": step_size,  # η/(1 − β₁ᵗ): step_size·m/denom = η·m̂/(√v̂ + ε)
        "update": update,  # step_size·m/denom, and with AdamW's decay w − w⁺
    }
    if o["amsgrad"]:
        terms["max_exp_avg_sq"] = state["max_exp_avg_sq"]  # v_max, the largest v so far
    if decay:
        terms["decay"] = before - w  # AdamW's decoupled decay, w − w·(1 − η·λ) = η·λ·w
    return before - update, state, terms


def _adamw(w, g, s, lr, o, t):
    return _adam(w, g, s, lr, o, t, decoupled=True)


# The terms that are one number for every parameter, kept once.
SCALAR_TERMS = ("clr", "step_size")


def _stepper(one: One):
    """step() over all parameters, from `one`'s update of a single parameter."""

    def step(params: Params, grads: Params, state: State, lr: float, options: Options):
        t = state["step"] + 1
        keys = [k for k in state if k != "step"]
        new_params, new_state, terms = [], {k: [] for k in keys}, {}
        with np.errstate(all="ignore"):  # overflow shows up as numbers that are not finite
            for i, (w, g) in enumerate(zip(params, grads, strict=True)):
                w_new, s, ts = one(w, g, {k: state[k][i] for k in keys}, lr, options, t)
                # asarray: numpy makes a 0-d array's results scalars; they stay arrays.
                new_params.append(np.asarray(w_new))
                for k in keys:
                    new_state[k].append(np.asarray(s[k]))
                for k, value in ts.items():
                    terms.setdefault(k, []).append(value)
        state = {"step": t} | {k: tuple(v) for k, v in new_state.items()}
        terms = {
            k: float(v[0]) if k in SCALAR_TERMS else tuple(np.asarray(a) for a in v)
            for k, v in terms.items()
        }
        return tuple(new_params), state, terms

    return step


def _zeros(params: Params) -> tuple[Array, ...]:
    return tuple(np.zeros_like(w, dtype=np.float64) for w in params)


def _sgd_init(params: Params, o: Options) -> State:
    # torch's buffer is None before the first step, which takes g itself; zeros stand in.
    return {"step": 0} | ({"momentum_buffer": _zeros(params)} if o["momentum"] != 0 else {})


def _rmsprop_init(params: Params, o: Options) -> State:
    state = {"step": 0, "square_avg": _zeros(params)}
    if o["momentum"] > 0:
        state["momentum_buffer"] = _zeros(params)
    if o["centered"]:
        state["grad_avg"] = _zeros(params)
    return state


def _adagrad_init(params: Params, o: Options) -> State:
    value = o["initial_accumulator_value"]
    return {"step": 0, "sum": tuple(np.full_like(w, value, dtype=np.float64) for w in params)}


def _adam_init(params: Params, o: Options) -> State:
    state = {"step": 0, "exp_avg": _zeros(params), "exp_avg_sq": _zeros(params)}
    if o["amsgrad"]:
        state["max_exp_avg_sq"] = _zeros(params)
    return state


_ADAM = {"betas": (0.9, 0.999), "eps": 1e-8, "weight_decay": 0.0, "amsgrad": False}

OPTIMIZERS: dict[str, Optimizer] = {
    o.name: o
    for o in (
        Optimizer(
            "sgd",
            {"momentum": 0.0, "dampening": 0.0, "nesterov": False, "weight_decay": 0.0},
            _sgd_init,
            _stepper(_sgd),
        ),
        Optimizer(
            "rmsprop",
            {"alpha": 0.99, "eps": 1e-8, "momentum": 0.0, "centered": False, "weight_decay": 0.0},
            _rmsprop_init,
            _stepper(_rmsprop),
        ),
        Optimizer(
            "adagrad",
            {"lr_decay": 0.0, "weight_decay": 0.0, "initial_accumulator_value": 0.0, "eps": 1e-10},
            _adagrad_init,
            _stepper(_adagrad),
        ),
        Optimizer("adam", _ADAM, _adam_init, _stepper(_adam)),
        Optimizer("adamw", _ADAM | {"weight_decay": 1e-2}, _adam_init, _stepper(_adamw)),
    )
}


def _betas(field: str, value: Any) -> tuple[float, float]:
    if not isinstance(value, list | tuple) or len(value) != 2:
        raise InvalidInput(field, "expected two numbers [β₁, β₂]")
    beta = real(0.0, 1.0, below=True)
    try:
        return beta(field, value[0]), beta(field, value[1])
    except InvalidInput as e:
        raise InvalidInput(field, f"β₁ and β₂ each {e.message}") from None


# Every option's rule: torch's ranges, and more (alpha at most 1, eps above 0, finite).
RULES = {
    "momentum": real(0.0),
    "dampening": real(0.0),
    "nesterov": flag,
    "weight_decay": real(0.0),
    "alpha": real(0.0, 1.0),
    "eps": real(0.0, LARGEST, above=True),
    "centered": flag,
    "lr_decay": real(0.0),
    "initial_accumulator_value": real(0.0),
    "betas": _betas,
    "amsgrad": flag,
}


def check(spec: Any) -> Options:
    """The full options of an optimiser spec, such as {"name": "adam", "betas": [0.9, 0.99]}:
    its name and every option, defaults filled in; InvalidInput names `optimizer.<option>`."""
    kinds = {name: (o.defaults, ()) for name, o in OPTIMIZERS.items()}
    options = checked(spec, "optimizer", kinds, RULES)
    if options.get("nesterov") and (options["momentum"] <= 0 or options["dampening"] != 0):
        raise InvalidInput("optimizer.nesterov", "needs momentum above 0 and dampening 0")
    return options
