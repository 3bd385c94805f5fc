"""The optimisers step by step against torch.optim, their terms, and their options' checks."""

import math

import numpy as np
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from app.engine import InvalidInput
from app.engine.optim import OPTIMIZERS, check
from tests.oracle import needs_torch, torch
from tests.strategies import json_values

# Two weight matrices and two bias vectors, as a 2-3-2 network has, a 3-d and a 0-d array.
SHAPES = [(3, 2), (2, 3), (3,), (2,), (2, 1, 3), ()]
STEPS = 60

# Every option of every optimiser, alone and in the combinations that interact.
CASES = [
    ("sgd", {}),
    ("sgd", {"weight_decay": 0.05}),
    ("sgd", {"momentum": 0.9}),
    ("sgd", {"momentum": 0.9, "dampening": 0.3}),
    ("sgd", {"momentum": 0.9, "nesterov": True}),
    ("sgd", {"momentum": 0.5, "dampening": 0.1, "weight_decay": 0.05}),
    ("sgd", {"momentum": 0.9, "nesterov": True, "weight_decay": 0.01}),
    ("rmsprop", {}),
    ("rmsprop", {"alpha": 0.9, "eps": 1e-6}),
    ("rmsprop", {"weight_decay": 0.01}),
    ("rmsprop", {"centered": True}),
    ("rmsprop", {"centered": True, "alpha": 0.3}),  # lerp's other form: weight 0.7 ≥ 0.5
    ("rmsprop", {"momentum": 0.9}),
    ("rmsprop", {"centered": True, "momentum": 0.8, "weight_decay": 0.01}),
    ("adagrad", {}),
    ("adagrad", {"lr_decay": 0.05}),
    ("adagrad", {"initial_accumulator_value": 0.1, "eps": 1e-6}),
    ("adagrad", {"weight_decay": 0.01, "lr_decay": 0.01, "initial_accumulator_value": 0.5}),
    ("adam", {}),
    ("adam", {"betas": [0.8, 0.99], "eps": 1e-6}),
    ("adam", {"betas": [0.3, 0.5]}),  # lerp's other form: weight 0.7 ≥ 0.5
    ("adam", {"betas": [0.0, 0.0]}),
    ("adam", {"weight_decay": 0.01}),
    ("adam", {"amsgrad": True}),
    ("adam", {"amsgrad": True, "weight_decay": 0.1}),
    ("adamw", {}),
    ("adamw", {"weight_decay": 0.0}),
    ("adamw", {"weight_decay": 0.1, "amsgrad": True}),
    ("adamw", {"betas": [0.5, 0.9], "weight_decay": 0.3}),
]

TORCH = {
    "sgd": "SGD",
    "rmsprop": "RMSprop",
    "adagrad": "Adagrad",
    "adam": "Adam",
    "adamw": "AdamW",
}

# The relative error allowed against torch, entry by entry. Not 0: torch's CPU kernels fuse
# w + s·g into one rounding (an FMA), numpy rounds s·g first, so a number may differ from
# torch's in its last bit, and the recursions carry that on (to ~1e-15 of the numbers' size).
RTOL = 1e-12
EPS = np.finfo(np.float64).eps


def assert_close(ours, theirs, what: str = "", rtol: float = RTOL, atol=None) -> None:
    """|ours − theirs| ≤ rtol·|theirs| entry by entry, or ≤ atol for an entry that
    cancellation brought near 0 (a parameter crossing 0, an average of gradients of both
    signs): by default 64 ulps of the array's largest entry, the size of its numbers."""
    theirs = np.asarray(theirs)
    if atol is None:
        atol = ulps(theirs)
    error = np.abs(ours - theirs)
    assert (error <= atol + rtol * np.abs(theirs)).all(), f"{what}: error {error.max():.3g}"


def ulps(*arrays) -> float:
    """64 ulps of the largest entry of the arrays."""
    return 64 * EPS * max(np.abs(a).max(initial=0.0) for a in arrays)


def frozen(arrays):
    """Read-only copies: a step that wrote to its arguments would raise."""
    out = tuple(np.array(a) for a in arrays)
    for a in out:
        a.flags.writeable = False
    return out


def run(name: str, spec: dict, seed: int):
    """Yield (step, ours, torch's) for every step: params, state and terms, theirs as numpy."""
    rng = np.random.default_rng(seed)
    options = check({"name": name, **spec})
    opt = OPTIMIZERS[name]
    params = frozen(rng.normal(0, 1, s) for s in SHAPES)
    tparams = [torch.tensor(p, dtype=torch.float64, requires_grad=True) for p in params]
    kwargs = {k: v for k, v in options.items() if k != "name"}
    # foreach=False: the single-tensor code whose operations optim.py follows (CPU's default).
    topt = getattr(torch.optim, TORCH[name])(tparams, lr=0.01, foreach=False, **kwargs)
    state = opt.init(params, options)
    for t in range(1, STEPS + 1):
        lr = 0.05 * (1 + 0.5 * math.sin(t))  # a new η every step, as a schedule gives
        scales = 10.0 ** rng.uniform(-3, 1, len(SHAPES))  # gradients of many sizes
        grads = frozen(rng.normal(0, s, shape) for s, shape in zip(scales, SHAPES))
        before = [p.detach().clone() for p in tparams]
        for p, g in zip(tparams, grads):
            p.grad = torch.tensor(g, dtype=torch.float64)
        topt.param_groups[0]["lr"] = lr
        topt.step()
        state = frozen_state(state)
        new_params, new_state, terms = opt.step(params, grads, state, lr, options)
        theirs = {
            "params": [p.detach().numpy() for p in tparams],
            "change": [(b - p.detach()).numpy() for b, p in zip(before, tparams)],
            "state": [{k: v.numpy() for k, v in topt.state[p].items()} for p in tparams],
        }
        yield t, (params, grads, lr, options), (new_params, new_state, terms), theirs
        params, state = new_params, new_state


def frozen_state(state):
    return {k: v if k == "step" else frozen(v) for k, v in state.items()}


@needs_torch
@pytest.mark.parametrize(("name", "spec"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_against_torch_optim(name, spec):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    for t, (params, grads, lr, options), (new_params, state, terms), theirs in run(name, spec, 7):
        assert state["step"] == t
        # The size of the numbers, for entries near 0: that of all parameters (a 0-d one has
        # nothing else to go by), of all of a state entry.
        size = {"params": ulps(*theirs["params"])}
        size |= {key: ulps(*(s[key] for s in theirs["state"])) for key in theirs["state"][0]}
        for k in range(len(SHAPES)):
            at = f"{name} {spec} step {t} param {k}"
            assert_close(new_params[k], theirs["params"][k], f"params, {at}", atol=size["params"])
            # The update is what was subtracted, bit for bit, and torch's w − w⁺.
            assert np.array_equal(new_params[k], params[k] - terms["update"][k]), at
            # torch's w − w⁺, a difference of two numbers of w's size, is known to an ulp of w.
            ulp = 2 * EPS * np.maximum(np.abs(params[k]), np.abs(new_params[k]))
            assert_close(terms["update"][k], theirs["change"][k], f"update, {at}", atol=ulp)
            tstate = theirs["state"][k]
            assert set(state) - {"step"} == set(tstate) - {"step"}, at
            if "step" in tstate:  # torch's SGD keeps no step
                assert tstate["step"] == t
            for key in set(tstate) - {"step"}:
                assert_close(state[key][k], tstate[key], f"state {key}, {at}", atol=size[key])
                if key in terms:  # a term that is a state entry is the new entry
                    assert np.array_equal(terms[key][k], state[key][k]), at
        check_terms(name, options, params, grads, lr, t, terms)


def check_terms(name, o, params, grads, lr, t, terms):
    """Each term is what its comment says: the update rebuilt from them, in the maths' form."""
    for k, (w, g) in enumerate(zip(params, grads)):
        coupled = o["weight_decay"] * w if name != "adamw" else 0.0
        assert_close(terms["grad"][k], g + coupled, rtol=1e-15)
        u = terms["update"][k]
        if name == "sgd":
            d = g + coupled
            if o["momentum"] != 0:
                b = terms["momentum_buffer"][k]
                d = d + o["momentum"] * b if o["nesterov"] else b
            assert_close(u, lr * d, rtol=1e-14)
        elif name == "rmsprop":
            v = terms["square_avg"][k]
            if o["centered"]:
                v = v - terms["grad_avg"][k] ** 2
            assert_close(terms["avg"][k], np.sqrt(v) + o["eps"], rtol=1e-14)
            if o["momentum"] > 0:
                assert_close(u, lr * terms["momentum_buffer"][k], rtol=1e-14)
            else:
                assert_close(u, lr * terms["grad"][k] / terms["avg"][k], rtol=1e-14)
        elif name == "adagrad":
            assert terms["clr"] == lr / (1 + (t - 1) * o["lr_decay"])
            assert_close(terms["std"][k], np.sqrt(terms["sum"][k]) + o["eps"])
            assert_close(u, terms["clr"] * terms["grad"][k] / terms["std"][k])
        else:
            beta1, beta2 = o["betas"]
            m_hat, v_hat = terms["m_hat"][k], terms["v_hat"][k]
            assert_close(m_hat, terms["exp_avg"][k] / (1 - beta1**t), rtol=1e-15)
            v_max = terms["max_exp_avg_sq"][k] if o["amsgrad"] else terms["exp_avg_sq"][k]
            assert_close(v_hat, v_max / (1 - beta2**t), rtol=1e-15)
            assert terms["step_size"] == lr / (1 - beta1**t)
            adam = lr * m_hat / (np.sqrt(v_hat) + o["eps"])
            if name == "adam":
                assert_close(u, adam, rtol=1e-13)
                continue
            # AdamW: w − w·(1 − η·λ) and w − w⁺ are differences, known to an ulp of w.
            ulp = 4 * EPS * np.abs(w)
            decay = lr * o["weight_decay"] * w
            if o["weight_decay"] != 0:
                assert_close(terms["decay"][k], decay, rtol=1e-13, atol=ulp)
            assert_close(u, decay + adam, rtol=1e-13, atol=ulp)


def test_plain_gradient_descent_is_w_minus_lr_g_exactly():
    rng = np.random.default_rng(1)
    params = frozen(rng.normal(0, 1, s) for s in SHAPES)
    grads = frozen(rng.normal(0, 1, s) for s in SHAPES)
    options = check({"name": "sgd"})
    sgd = OPTIMIZERS["sgd"]
    new, state, terms = sgd.step(params, grads, sgd.init(params, options), 0.37, options)
    assert state == {"step": 1}
    assert set(terms) == {"grad", "update"}
    for w, g, w_new in zip(params, grads, new):
        assert np.array_equal(w_new, w - 0.37 * g)


def test_the_momentum_buffer_starts_as_the_gradient():
    rng = np.random.default_rng(2)
    params = frozen(rng.normal(0, 1, s) for s in SHAPES)
    grads = frozen(rng.normal(0, 1, s) for s in SHAPES)
    options = check({"name": "sgd", "momentum": 0.9, "dampening": 0.5})
    sgd = OPTIMIZERS["sgd"]
    _, state, _ = sgd.step(params, grads, sgd.init(params, options), 0.1, options)
    for b, g in zip(state["momentum_buffer"], grads):
        assert np.array_equal(b, g) and b is not g


@pytest.mark.parametrize(("name", "spec"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_step_makes_new_arrays(name, spec):
    """Pure: the arguments are read-only (a write would raise), and nothing returned is
    a view of them, so the caller may keep both."""
    rng = np.random.default_rng(3)
    options = check({"name": name, **spec})
    opt = OPTIMIZERS[name]
    params = frozen(rng.normal(0, 1, s) for s in SHAPES)
    state = opt.init(params, options)
    for _ in range(2):
        grads = frozen(rng.normal(0, 1, s) for s in SHAPES)
        state = frozen_state(state)
        new_params, new_state, terms = opt.step(params, grads, state, 0.1, options)
        given = [*params, *grads, *(a for k, v in state.items() if k != "step" for a in v)]
        made = [*new_params, *(a for k, v in new_state.items() if k != "step" for a in v)]
        made += [a for v in terms.values() if isinstance(v, tuple) for a in v]
        assert not any(np.shares_memory(a, b) for a in made for b in given)
        assert all(a.dtype == np.float64 for a in made)
        assert all(isinstance(v, float) for v in terms.values() if not isinstance(v, tuple))
        params, state = new_params, new_state


TERMS = {
    "sgd": {"grad", "update"},
    "rmsprop": {"grad", "square_avg", "avg", "update"},
    "adagrad": {"grad", "sum", "std", "clr", "update"},
    "adam": {"grad", "exp_avg", "exp_avg_sq", "m_hat", "v_hat", "denom", "step_size", "update"},
}
TERMS["adamw"] = TERMS["adam"]


@pytest.mark.parametrize(("name", "spec"), CASES, ids=[f"{n}-{s}" for n, s in CASES])
def test_terms_are_named_for_the_options(name, spec):
    options = check({"name": name, **spec})
    opt = OPTIMIZERS[name]
    params = (np.ones((2, 2)), np.ones(2))
    _, state, terms = opt.step(params, params, opt.init(params, options), 0.1, options)
    expected = set(TERMS[name])
    if options.get("momentum"):
        expected.add("momentum_buffer")
    if options.get("centered"):
        expected.add("grad_avg")
    if options.get("amsgrad"):
        expected.add("max_exp_avg_sq")
    if name == "adamw" and options["weight_decay"] != 0:
        expected.add("decay")
    assert set(terms) == expected
    assert set(state) - {"step"} <= set(terms)  # every state entry is shown too


@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_state_has_only_the_entries_the_options_use(name):
    params = (np.zeros((2, 2)), np.zeros(2))
    plain = OPTIMIZERS[name].init(params, check({"name": name}))
    expected = {
        "sgd": {"step"},
        "rmsprop": {"step", "square_avg"},
        "adagrad": {"step", "sum"},
        "adam": {"step", "exp_avg", "exp_avg_sq"},
        "adamw": {"step", "exp_avg", "exp_avg_sq"},
    }
    assert set(plain) == expected[name]
    assert plain["step"] == 0
    for key, arrays in plain.items():
        if key != "step":
            assert [a.shape for a in arrays] == [(2, 2), (2,)]
            assert all(a.dtype == np.float64 for a in arrays)


# ------------------------------------------------------------------------------------------
# check()


@needs_torch
@pytest.mark.parametrize("name", list(OPTIMIZERS))
def test_defaults_are_torchs(name):
    assert torch is not None, "BACKPROP_LAB_REQUIRE_TORCH is set but torch is not installed"
    p = torch.zeros(1, requires_grad=True)
    theirs = getattr(torch.optim, TORCH[name])([p]).defaults
    ours = OPTIMIZERS[name].defaults
    assert "lr" not in ours
    assert {k: theirs[k] for k in ours} == ours
    assert check({"name": name}) == {"name": name, **ours}


def test_check_fills_in_defaults_and_keeps_what_it_is_given():
    options = check({"name": "adam", "betas": [0.8, 0.99], "weight_decay": 1})
    assert options == {
        "name": "adam",
        "betas": (0.8, 0.99),
        "eps": 1e-8,
        "weight_decay": 1.0,
        "amsgrad": False,
    }
    assert type(options["weight_decay"]) is float
    assert check(options) == options  # what it returns, it accepts again
    assert check({"name": "sgd", "momentum": 0.9, "nesterov": True})["nesterov"] is True


HUGE = 10**400  # no float can hold it
# (spec, the field named): every kind of wrong value.
BAD = [
    ("adam", "optimizer"),
    (["adam"], "optimizer"),
    (None, "optimizer"),
    ({}, "optimizer.name"),
    ({"betas": [0.9, 0.999]}, "optimizer.name"),
    ({"name": "nadam"}, "optimizer.name"),
    ({"name": "Adam"}, "optimizer.name"),
    ({"name": "x" * 10**6}, "optimizer.name"),
    ({"name": ["adam"]}, "optimizer.name"),
    ({"name": {"adam": 1}}, "optimizer.name"),
    ({"name": 3}, "optimizer.name"),
    ({"name": True}, "optimizer.name"),
    ({"name": "sgd", "lr": 0.1}, "optimizer.lr"),
    ({"name": "sgd", "betas": [0.9, 0.99]}, "optimizer.betas"),
    ({"name": "adam", "momentum": 0.9}, "optimizer.momentum"),
    ({"name": "adam", "maximize": True}, "optimizer.maximize"),
    ({"name": "adam", "foreach": False}, "optimizer.foreach"),
    ({"name": "sgd", 5: 1}, "optimizer"),
    ({"name": "sgd", None: 1}, "optimizer"),
    ({"name": "sgd", "momentum": -0.1}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": math.nan}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": math.inf}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": -math.inf}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": "0.9"}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": True}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": None}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": [0.9]}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": [[0.9]]}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": {"value": 0.9}}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": HUGE}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": -HUGE}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": 2e6}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": np.int64(1)}, "optimizer.momentum"),
    ({"name": "sgd", "momentum": "9" * 10**6}, "optimizer.momentum"),
    ({"name": "sgd", "dampening": -1}, "optimizer.dampening"),
    ({"name": "sgd", "weight_decay": -1e-3}, "optimizer.weight_decay"),
    ({"name": "adamw", "weight_decay": math.nan}, "optimizer.weight_decay"),
    ({"name": "sgd", "nesterov": 1}, "optimizer.nesterov"),
    ({"name": "sgd", "nesterov": "true"}, "optimizer.nesterov"),
    ({"name": "sgd", "nesterov": None}, "optimizer.nesterov"),
    ({"name": "sgd", "nesterov": True}, "optimizer.nesterov"),  # momentum 0
    ({"name": "sgd", "nesterov": True, "momentum": 0.9, "dampening": 0.1}, "optimizer.nesterov"),
    ({"name": "rmsprop", "alpha": 1.5}, "optimizer.alpha"),
    ({"name": "rmsprop", "alpha": -0.1}, "optimizer.alpha"),
    ({"name": "rmsprop", "eps": 0}, "optimizer.eps"),
    ({"name": "rmsprop", "eps": -1e-8}, "optimizer.eps"),
    ({"name": "adam", "eps": math.inf}, "optimizer.eps"),
    ({"name": "rmsprop", "centered": "yes"}, "optimizer.centered"),
    ({"name": "rmsprop", "momentum": -1}, "optimizer.momentum"),
    ({"name": "adagrad", "lr_decay": -1}, "optimizer.lr_decay"),
    ({"name": "adagrad", "initial_accumulator_value": -0.1}, "optimizer.initial_accumulator_value"),
    ({"name": "adagrad", "eps": False}, "optimizer.eps"),
    ({"name": "adam", "betas": [0.9]}, "optimizer.betas"),
    ({"name": "adam", "betas": [0.9, 0.999, 0.5]}, "optimizer.betas"),
    ({"name": "adam", "betas": [0.9, 1.0]}, "optimizer.betas"),
    ({"name": "adam", "betas": [1.0, 0.9]}, "optimizer.betas"),
    ({"name": "adam", "betas": [-0.1, 0.9]}, "optimizer.betas"),
    ({"name": "adam", "betas": [math.nan, 0.9]}, "optimizer.betas"),
    ({"name": "adam", "betas": [True, 0.9]}, "optimizer.betas"),
    ({"name": "adam", "betas": [0.9, HUGE]}, "optimizer.betas"),
    ({"name": "adam", "betas": [[0.9], [0.999]]}, "optimizer.betas"),
    ({"name": "adam", "betas": "0.9,0.999"}, "optimizer.betas"),
    ({"name": "adam", "betas": 0.9}, "optimizer.betas"),
    ({"name": "adam", "betas": {"0": 0.9, "1": 0.999}}, "optimizer.betas"),
    ({"name": "adam", "betas": [0.9] * 10**6}, "optimizer.betas"),
    ({"name": "adam", "amsgrad": 0}, "optimizer.amsgrad"),
]


@pytest.mark.parametrize(("spec", "field"), BAD, ids=[f"{f}-{k}" for k, (_, f) in enumerate(BAD)])
def test_check_refuses_naming_the_field(spec, field):
    with pytest.raises(InvalidInput) as e:
        check(spec)
    assert e.value.field == field
    assert len(str(e.value)) < 300  # a huge value is never echoed in full


def test_an_unknown_option_is_named_and_the_known_ones_listed():
    with pytest.raises(InvalidInput) as e:
        check({"name": "sgd", "momentun": 0.9})
    assert e.value.field == "optimizer.momentun"
    assert "momentum, dampening, nesterov, weight_decay" in e.value.message
    with pytest.raises(InvalidInput) as e:
        check({"name": "sgd", "y" * 10**6: 1})
    assert e.value.field.startswith("optimizer.yyy") and len(e.value.field) <= 80
    with pytest.raises(InvalidInput) as e:
        check({"name": "nadam"})
    assert "sgd, rmsprop, adagrad, adam, adamw" in e.value.message


# Any plain data (JSON's and a few Python values) as an option gives options or InvalidInput.
_json = json_values(HUGE, -HUGE, 1e308, 0.5, 0.0)
_keys = st.sampled_from(sorted({k for o in OPTIMIZERS.values() for k in o.defaults} | {"lr"}))


@settings(max_examples=100, deadline=None)
@given(st.sampled_from([*OPTIMIZERS, "nope"]), st.dictionaries(_keys, _json, max_size=4))
def test_check_never_fails_otherwise(name, options):
    try:
        checked = check({"name": name, **options})
    except InvalidInput as e:
        assert e.field.startswith("optimizer.")
        return
    assert checked["name"] == name and set(checked) == {"name", *OPTIMIZERS[name].defaults}
