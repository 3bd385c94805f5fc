"""The learning-rate schedules against torch.optim.lr_scheduler, and their options' checks."""

import math

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InvalidInput
from app.engine.schedule import MAX_ITERATION, MAX_MILESTONES, SCHEDULES, check
from tests.oracle import needs_torch, torch
from tests.strategies import json_values

ITERATIONS = 80

# Every option of every schedule; cosine over more than one period (it climbs back).
CASES = [
    ("constant", {}),
    ("step", {"step_size": 1}),
    ("step", {"step_size": 7}),
    ("step", {"step_size": 10, "gamma": 0.5}),
    ("multistep", {"milestones": [1]}),
    ("multistep", {"milestones": [5, 12, 30], "gamma": 0.3}),
    ("multistep", {"milestones": [2, 3, 4, 79, 80, 81]}),
    ("exponential", {"gamma": 0.95}),
    ("exponential", {"gamma": 1.02}),
    ("cosine", {"T_max": 1}),
    ("cosine", {"T_max": 10}),
    ("cosine", {"T_max": 17, "eta_min": 0.001}),
    ("cosine", {"T_max": 3, "eta_min": 0.7}),  # η_min above η₀: it climbs
    ("cosine", {"T_max": 60}),
    ("linear", {}),
    ("linear", {"start_factor": 0.1, "total_iters": 20}),
    ("linear", {"start_factor": 1.0, "end_factor": 0.1, "total_iters": 30}),
    ("linear", {"start_factor": 0.5, "end_factor": 0.0, "total_iters": 10}),
    ("linear", {"start_factor": 0.25, "total_iters": 1}),
]


def torch_scheduler(name: str, o: dict, optimizer):
    s = torch.optim.lr_scheduler
    kwargs = {k: v for k, v in o.items() if k != "name"}
    if name == "constant":
        return s.LambdaLR(optimizer, lambda epoch: 1.0)
    return {
        "step": s.StepLR,
        "multistep": s.MultiStepLR,
        "exponential": s.ExponentialLR,
        "cosine": s.CosineAnnealingLR,
        "linear": s.LinearLR,
    }[name](optimizer, **kwargs)


def torch_lrs(name: str, options: dict, base_lr: float) -> list[float]:
    """η before each iteration and after it, as the optimiser's group["lr"] holds it."""
    w = torch.zeros(1, dtype=torch.float64, requires_grad=True)
    optimizer = torch.optim.SGD([w], lr=base_lr)
    scheduler = torch_scheduler(name, options, optimizer)
    lrs = [optimizer.param_groups[0]["lr"]]
    for _ in range(ITERATIONS):
        w.grad = torch.ones(1, dtype=torch.float64)
        optimizer.step()
        scheduler.step()
        lrs.append(optimizer.param_groups[0]["lr"])
    return lrs


def our_lrs(name: str, options: dict, base_lr: float) -> list[float]:
    schedule = SCHEDULES[name]
    lrs = [schedule.initial(base_lr, options)]
    for last_epoch in range(1, ITERATIONS + 1):
        lrs.append(schedule.next(lrs[-1], base_lr, last_epoch, options))
    return lrs


@needs_torch
@pytest.mark.parametrize("base_lr", [0.1, 0.5, 1.0])
@pytest.mark.parametrize(("name", "spec"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_against_torch_lr_scheduler(name, spec, base_lr):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    options = check({"name": name, **spec})
    # The same Python float operations in the same order: equal, bit for bit.
    assert our_lrs(name, options, base_lr) == torch_lrs(name, options, base_lr)


def test_the_schedules_shapes():
    """What each does, in numbers (the torch test shows it is torch's; this, that it is sane)."""
    lrs = our_lrs("step", check({"name": "step", "step_size": 3, "gamma": 0.5}), 1.0)
    assert lrs[:8] == [1.0, 1.0, 1.0, 0.5, 0.5, 0.5, 0.25, 0.25]
    lrs = our_lrs("multistep", check({"name": "multistep", "milestones": [2, 4]}), 1.0)
    assert lrs[:6] == pytest.approx([1.0, 1.0, 0.1, 0.1, 0.01, 0.01])
    lrs = our_lrs("linear", check({"name": "linear", "start_factor": 0.5, "total_iters": 2}), 1.0)
    assert lrs[:5] == pytest.approx([0.5, 0.75, 1.0, 1.0, 1.0])
    cosine = check({"name": "cosine", "T_max": 10, "eta_min": 0.1})
    lrs = our_lrs("cosine", cosine, 1.0)
    closed = [0.1 + 0.9 * (1 + math.cos(math.pi * e / 10)) / 2 for e in range(len(lrs))]
    assert lrs == pytest.approx(closed, rel=1e-12)
    assert lrs[10] == pytest.approx(0.1) and lrs[20] == pytest.approx(1.0)
    assert our_lrs("constant", check({"name": "constant"}), 0.3) == [0.3] * (ITERATIONS + 1)


@pytest.mark.parametrize("name", list(SCHEDULES))
def test_check_fills_in_defaults(name):
    given = {
        "step": {"step_size": 30},
        "multistep": {"milestones": [30, 80]},
        "exponential": {"gamma": 0.9},
        "cosine": {"T_max": 50},
    }.get(name, {})
    options = check({"name": name, **given})
    schedule = SCHEDULES[name]
    assert list(options) == ["name", *schedule.required, *schedule.defaults]
    assert check(options) == options  # what it returns, it accepts again


def test_check_keeps_types():
    assert check({"name": "multistep", "milestones": [3, 5]}) == {
        "name": "multistep",
        "milestones": (3, 5),
        "gamma": 0.1,
    }
    options = check({"name": "exponential", "gamma": 1})
    assert options["gamma"] == 1.0 and type(options["gamma"]) is float
    assert check({"name": "linear"}) == {
        "name": "linear",
        "start_factor": 1.0 / 3,
        "end_factor": 1.0,
        "total_iters": 5,
    }


HUGE = 10**400  # no float can hold it
# (spec, the field named): every kind of wrong value.
BAD = [
    ("step", "schedule"),
    ([], "schedule"),
    ({}, "schedule.name"),
    ({"name": "cyclic"}, "schedule.name"),
    ({"name": "StepLR"}, "schedule.name"),
    ({"name": "s" * 10**6}, "schedule.name"),
    ({"name": ["step"]}, "schedule.name"),
    ({"name": 1}, "schedule.name"),
    ({"name": "constant", "gamma": 0.1}, "schedule.gamma"),
    ({"name": "constant", "factor": 0.5}, "schedule.factor"),
    ({"name": "step", "step_size": 3, "last_epoch": 5}, "schedule.last_epoch"),
    ({"name": "step", (1, 2): 3}, "schedule"),
    ({"name": "step"}, "schedule.step_size"),
    ({"name": "step", "gamma": 0.5}, "schedule.step_size"),
    ({"name": "step", "step_size": 0}, "schedule.step_size"),
    ({"name": "step", "step_size": -3}, "schedule.step_size"),
    ({"name": "step", "step_size": 2.0}, "schedule.step_size"),
    ({"name": "step", "step_size": 2.5}, "schedule.step_size"),
    ({"name": "step", "step_size": True}, "schedule.step_size"),
    ({"name": "step", "step_size": "10"}, "schedule.step_size"),
    ({"name": "step", "step_size": "1" * 10**6}, "schedule.step_size"),
    ({"name": "step", "step_size": [10]}, "schedule.step_size"),
    ({"name": "step", "step_size": None}, "schedule.step_size"),
    ({"name": "step", "step_size": HUGE}, "schedule.step_size"),
    ({"name": "step", "step_size": MAX_ITERATION + 1}, "schedule.step_size"),
    ({"name": "step", "step_size": math.nan}, "schedule.step_size"),
    ({"name": "step", "step_size": 5, "gamma": 0}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": -0.1}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": math.nan}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": math.inf}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": HUGE}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": True}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": "0.1"}, "schedule.gamma"),
    ({"name": "step", "step_size": 5, "gamma": [[0.1]]}, "schedule.gamma"),
    ({"name": "exponential"}, "schedule.gamma"),
    ({"name": "exponential", "gamma": 0.0}, "schedule.gamma"),
    ({"name": "multistep"}, "schedule.milestones"),
    ({"name": "multistep", "milestones": []}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [0, 3]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [3, 3]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [5, 2]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [1.5]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [True, 2]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [[1], [2]]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [HUGE]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": "1,2"}, "schedule.milestones"),
    ({"name": "multistep", "milestones": 5}, "schedule.milestones"),
    ({"name": "multistep", "milestones": {1: 2}}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [*range(1, MAX_MILESTONES + 2)]}, "schedule.milestones"),
    ({"name": "multistep", "milestones": list(range(1, 10**6))}, "schedule.milestones"),
    ({"name": "multistep", "milestones": [2], "gamma": -1}, "schedule.gamma"),
    ({"name": "cosine"}, "schedule.T_max"),
    ({"name": "cosine", "T_max": 0}, "schedule.T_max"),
    ({"name": "cosine", "T_max": 10.0}, "schedule.T_max"),
    ({"name": "cosine", "t_max": 10}, "schedule.t_max"),
    ({"name": "cosine", "T_max": 10, "eta_min": -0.1}, "schedule.eta_min"),
    ({"name": "cosine", "T_max": 10, "eta_min": math.inf}, "schedule.eta_min"),
    ({"name": "cosine", "T_max": 10, "eta_min": None}, "schedule.eta_min"),
    ({"name": "linear", "start_factor": 0}, "schedule.start_factor"),
    ({"name": "linear", "start_factor": 1.5}, "schedule.start_factor"),
    ({"name": "linear", "start_factor": -0.5}, "schedule.start_factor"),
    ({"name": "linear", "end_factor": 1.1}, "schedule.end_factor"),
    ({"name": "linear", "end_factor": -0.1}, "schedule.end_factor"),
    ({"name": "linear", "end_factor": math.nan}, "schedule.end_factor"),
    ({"name": "linear", "total_iters": 0}, "schedule.total_iters"),
    ({"name": "linear", "total_iters": False}, "schedule.total_iters"),
]


@pytest.mark.parametrize(("spec", "field"), BAD, ids=[f"{f}-{k}" for k, (_, f) in enumerate(BAD)])
def test_check_refuses_naming_the_field(spec, field):
    with pytest.raises(InvalidInput) as e:
        check(spec)
    assert e.value.field == field
    assert len(str(e.value)) < 300  # a huge value is never echoed in full


def test_a_missing_required_option_and_an_unknown_one_are_named():
    with pytest.raises(InvalidInput) as e:
        check({"name": "cosine", "eta_min": 0.1})
    assert (e.value.field, e.value.message) == ("schedule.T_max", "required")
    with pytest.raises(InvalidInput) as e:
        check({"name": "step", "stepsize": 3})
    assert e.value.field == "schedule.stepsize"
    assert "step takes step_size, gamma" in e.value.message
    with pytest.raises(InvalidInput) as e:
        check({"name": "plateau"})
    assert "constant, step, multistep, exponential, cosine, linear" in e.value.message


_json = json_values(HUGE, -HUGE, MAX_ITERATION, 1e308, 0.5, 1, 3)
_keys = st.sampled_from(
    sorted({k for s in SCHEDULES.values() for k in (*s.required, *s.defaults)} | {"factor"})
)


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*SCHEDULES, "nope"]), st.dictionaries(_keys, _json, max_size=4))
def test_check_never_fails_otherwise(name, options):
    try:
        checked = check({"name": name, **options})
    except InvalidInput as e:
        assert e.field.startswith("schedule.")
        return
    schedule = SCHEDULES[name]
    assert set(checked) == {"name", *schedule.required, *schedule.defaults}
