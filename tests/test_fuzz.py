"""Whatever JSON arrives, the API answers 2xx or 4xx, never 5xx, and a refusal changes nothing;
whatever form arrives at the page's routes, the same."""

import pytest
from fastapi.testclient import TestClient
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from app import ratelimit
from app.engine.state import NAMES
from app.main import create_app
from app.settings import load
from tests.conftest import SAME_ORIGIN, owner_of

numbers = st.one_of(
    st.integers(-(10**20), 10**20),
    st.floats(allow_nan=False, allow_infinity=False),
    st.sampled_from([0, 1, -1, 0.5, 1e308, -1e308, 5e-324]),
)
scalars = st.one_of(st.none(), st.booleans(), numbers, st.text(max_size=5))
json_values = st.recursive(
    scalars,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4), st.dictionaries(st.text(max_size=4), inner, max_size=3)
    ),
    max_leaves=20,
)
FIELDS = [*NAMES, "preset"]
OPTIMIZER_OPTIONS = ("momentum", "dampening", "nesterov", "betas", "eps", "weight_decay")
OPTIMIZER_OPTIONS += ("amsgrad", "alpha", "centered", "lr_decay", "initial_accumulator_value")
field_values = {
    "layers": st.lists(st.integers(-2, 20), max_size=9),
    "weights": st.one_of(
        st.dictionaries(
            st.sampled_from(["w1", "w5", "w8", "w9", "b1_1", "x"]), numbers, max_size=3
        ),
        st.lists(st.lists(st.lists(numbers, max_size=3), max_size=3), max_size=3),
    ),
    "biases": st.one_of(
        st.dictionaries(st.sampled_from(["b1_1", "b2_2", "b3_1", "w1"]), numbers, max_size=3),
        st.lists(st.lists(numbers, max_size=3), max_size=3),
    ),
    "inputs": st.lists(numbers, max_size=3),
    "targets": st.lists(numbers, max_size=3),
    "learning_rate": numbers,
    "activations": st.lists(
        st.sampled_from(["sigmoid", "tanh", "relu", "leaky_relu", "linear", "softmax", "x"]),
        max_size=4,
    ),
    "loss": st.sampled_from(["half_sse", "mse", "bce", "cross_entropy", "x"]),
    "optimizer": st.fixed_dictionaries(
        {"name": st.sampled_from(["sgd", "rmsprop", "adagrad", "adam", "adamw", "x"])},
        optional={
            k: st.one_of(numbers, st.booleans(), st.lists(numbers, max_size=3))
            for k in OPTIMIZER_OPTIONS
        },
    ),
    "schedule": st.fixed_dictionaries(
        {"name": st.sampled_from(["constant", "step", "multistep", "exponential", "x"])},
        optional={
            k: st.one_of(numbers, st.lists(numbers, max_size=3))
            for k in ("step_size", "gamma", "milestones", "T_max", "eta_min", "total_iters")
        },
    ),
    "init": st.fixed_dictionaries(
        {"name": st.sampled_from(["uniform", "normal", "xavier_uniform", "kaiming_normal", "x"])},
        optional={k: numbers for k in ("a", "std", "mean", "gain")},
    ),
    "data": st.one_of(
        st.fixed_dictionaries(
            {"generator": st.sampled_from(["xor", "spiral", "circle", "x"])},
            optional={k: numbers for k in ("samples", "noise", "seed", "test_fraction")},
        ),
        st.fixed_dictionaries(
            {"inputs": st.lists(st.lists(numbers, max_size=3), max_size=3)},
            optional={"targets": st.lists(st.lists(numbers, max_size=3), max_size=3)},
        ),
    ),
    "batch_size": numbers,
    "shuffle": st.one_of(st.booleans(), numbers),
}
bodies = st.fixed_dictionaries(
    {},
    optional={f: st.one_of(field_values.get(f, json_values), json_values) for f in FIELDS},
)


@pytest.fixture(scope="module")
def client(tmp_path_factory):
    """One app for all the examples (its own SQLite file, no rate limits in the way),
    owning what it creates."""
    config = load({}, db=str(tmp_path_factory.mktemp("fuzz") / "lab.db"))
    with TestClient(create_app(config), headers=SAME_ORIGIN) as c:
        unlimited = {action.env: "1000000/minute" for action in ratelimit.ACTIONS.values()}
        c.app.state.limiter = ratelimit.Limiter(unlimited)
        yield owner_of(c)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies)
def test_create_never_fails_with_5xx(client, body):
    r = client.post("/api/networks", json=body)
    assert r.status_code in (201, 422), r.text
    if r.status_code == 201:
        id = r.json()["id"]
        for path in ("forward", "backward", "phase/next"):
            assert client.post(f"/api/networks/{id}/{path}").status_code == 200


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(body=bodies, action=st.sampled_from(["step", "train", "phase/next", "phase/prev"]))
def test_patch_then_act_never_fails_with_5xx(client, body, action):
    id = client.post("/api/networks", json={"preset": "classic"}).json()["id"]
    body.pop("preset", None)
    before = client.get(f"/api/networks/{id}").json()
    r = client.patch(f"/api/networks/{id}", json=body)
    assert r.status_code in (200, 422), r.text
    if r.status_code == 422:
        assert client.get(f"/api/networks/{id}").json() == before
    r = client.post(f"/api/networks/{id}/{action}", json={"iterations": 50})
    assert r.status_code in (200, 422), r.text


# The page's forms: names the page sends and others, values typed, huge and strange.
FORM_NAMES = ["w1", "w5", "w99", "b1_1", "b2_2", "b9_9", "i1", "i3", "target_o1", "target_o2"]
FORM_NAMES += ["learning_rate", "update_biases", "activation_1", "activation_2", "iterations"]
FORM_NAMES += ["layers", "activation", "precision", "selected", "table", "lang", "present"]
FORM_NAMES += ["theme", "colour", "_refused"]
form_names = st.one_of(
    st.sampled_from(FORM_NAMES),
    st.text(max_size=12),
    st.builds(
        lambda p, n: p + "9" * n,
        st.sampled_from(["w", "b", "i", "activation_"]),
        st.integers(1, 5000),
    ),
)
form_values = st.one_of(
    st.text(max_size=12),
    st.sampled_from(["0.3", "-1e-2", "1e400", "nan", "true", "relu", "2-3-2", "on", "9", ""]),
    st.builds(lambda n: "9" * n, st.integers(1, 6000)),
    st.builds(lambda n: "2-" * n + "2", st.integers(1, 3000)),
    st.builds(lambda n: "2-" + "9" * n + "-2", st.integers(1, 40)),
)
forms_sent = st.dictionaries(form_names, form_values, max_size=4)


@settings(
    max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture]
)
@given(
    form=forms_sent,
    action=st.sampled_from(["edit", "train", "new", "prefs", "next", "step", "reset"]),
    htmx=st.booleans(),
)
def test_no_form_fails_with_5xx(client, form, action, htmx):
    id = client.post("/api/networks", json={"preset": "classic"}).json()["id"]
    before = client.get(f"/api/networks/{id}").json()
    headers = {"HX-Request": "true"} if htmx else {}
    r = client.post(f"/n/{id}/{action}", data=form, headers=headers, follow_redirects=False)
    assert r.status_code in (200, 204, 303, 422), r.text[:500]
    if r.status_code == 422:
        assert client.get(f"/api/networks/{id}").json() == before
