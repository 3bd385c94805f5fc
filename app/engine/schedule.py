"""Learning-rate schedules: η from one iteration to the next, as torch.optim.lr_scheduler.

A schedule is a pair: `initial` is η before the first iteration (η₀, the network's
learning rate, after torch's constructor, which already applies LinearLR's start factor),
and `next` is η after the scheduler's step that follows an iteration's update, from the η
before it. That is torch's recursive form, its `get_lr` from group["lr"], not its closed
form, with the same float operations in the same order, so the sequences agree bit for bit.

Notation: η the current learning rate, η₀ the base (initial) one, e the scheduler's
`last_epoch` after the step (1 after the first iteration), γ gamma.

    constant     η⁺ = η
    step         η⁺ = γ·η when e is a multiple of step_size, else η
    multistep    η⁺ = γ·η when e is one of the milestones, else η
    exponential  η⁺ = γ·η
    cosine       η⁺ = η_min + (η − η_min)·(1 + cos(π·e/T_max)) / (1 + cos(π·(e − 1)/T_max)),
                 or η + (η₀ − η_min)·(1 − cos(π/T_max))/2 where that quotient is 0/0;
                 η₀ down to η_min at e = T_max, then back up (period 2·T_max)
    linear       η = η₀·start at first, the factor going linearly to end over T = total_iters:
                 η⁺ = η·(1 + (end − start)/(T·start + (e − 1)·(end − start))) for e ≤ T,
                 η⁺ = η after (start, end: start_factor, end_factor)
"""

import math
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from app.engine.errors import InvalidInput
from app.engine.options import checked, real, whole

Options = dict[str, Any]  # as check() returns them

# Iteration counts (step_size, T_max, total_iters, milestones): up to a billion.
MAX_ITERATION = 10**9
MAX_MILESTONES = 100


@dataclass(frozen=True)
class Schedule:
    name: str
    required: tuple[str, ...]  # the options without a default, which a spec must give
    defaults: dict[str, Any]  # torch's default for every other option
    initial: Callable[[float, Options], float]  # initial(base_lr, options): η before iteration 1
    # next(lr, base_lr, last_epoch, options): η after the step that makes last_epoch its value
    next: Callable[[float, float, int, Options], float]


def _base(base_lr: float, o: Options) -> float:
    return base_lr


def _constant(lr: float, base_lr: float, e: int, o: Options) -> float:
    return lr


def _step(lr: float, base_lr: float, e: int, o: Options) -> float:
    if e == 0 or e % o["step_size"] != 0:
        return lr
    return lr * o["gamma"]


def _multistep(lr: float, base_lr: float, e: int, o: Options) -> float:
    # torch multiplies by γ^(times e is a milestone), 1 with milestones strictly increasing.
    return lr * o["gamma"] if e in o["milestones"] else lr


def _exponential(lr: float, base_lr: float, e: int, o: Options) -> float:
    return lr * o["gamma"]


def _cosine(lr: float, base_lr: float, e: int, o: Options) -> float:
    t_max, eta_min = o["T_max"], o["eta_min"]
    if (e - 1 - t_max) % (2 * t_max) == 0:  # from the bottom of the curve: the quotient is 0/0
        return lr + (base_lr - eta_min) * (1 - math.cos(math.pi / t_max)) / 2
    ratio = (1 + math.cos(math.pi * e / t_max)) / (1 + math.cos(math.pi * (e - 1) / t_max))
    return ratio * (lr - eta_min) + eta_min


def _linear_initial(base_lr: float, o: Options) -> float:
    return base_lr * o["start_factor"]


def _linear(lr: float, base_lr: float, e: int, o: Options) -> float:
    start, end, total = o["start_factor"], o["end_factor"], o["total_iters"]
    if e == 0:
        return lr * start
    if e > total:
        return lr
    return lr * (1.0 + (end - start) / (total * start + (e - 1) * (end - start)))


SCHEDULES: dict[str, Schedule] = {
    s.name: s
    for s in (
        Schedule("constant", (), {}, _base, _constant),
        Schedule("step", ("step_size",), {"gamma": 0.1}, _base, _step),
        Schedule("multistep", ("milestones",), {"gamma": 0.1}, _base, _multistep),
        Schedule("exponential", ("gamma",), {}, _base, _exponential),
        Schedule("cosine", ("T_max",), {"eta_min": 0.0}, _base, _cosine),
        Schedule(
            "linear",
            (),
            {"start_factor": 1.0 / 3, "end_factor": 1.0, "total_iters": 5},
            _linear_initial,
            _linear,
        ),
    )
}


def _milestones(field: str, value: Any) -> tuple[int, ...]:
    if not isinstance(value, list | tuple) or not 1 <= len(value) <= MAX_MILESTONES:
        raise InvalidInput(field, f"expected 1 to {MAX_MILESTONES} iterations, increasing")
    one = whole(1, MAX_ITERATION)
    milestones = tuple(one(field, m) for m in value)
    if any(a >= b for a, b in zip(milestones, milestones[1:])):
        raise InvalidInput(field, "must be strictly increasing")
    return milestones


# Every option's rule: torch's ranges where it checks them (LinearLR's factors), and more.
RULES = {
    "step_size": whole(1, MAX_ITERATION),
    "gamma": real(0.0, above=True),
    "milestones": _milestones,
    "T_max": whole(1, MAX_ITERATION),
    "eta_min": real(0.0),
    "start_factor": real(0.0, 1.0, above=True),
    "end_factor": real(0.0, 1.0),
    "total_iters": whole(1, MAX_ITERATION),
}


def check(spec: Any) -> Options:
    """The full options of a schedule spec, such as {"name": "step", "step_size": 30}: its
    name and every option, defaults filled in; InvalidInput names `schedule.<option>`."""
    kinds = {name: (s.defaults, s.required) for name, s in SCHEDULES.items()}
    return checked(spec, "schedule", kinds, RULES)
