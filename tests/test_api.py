"""The JSON API: its operations, and a clear 4xx for every kind of bad input."""

import pytest

from tests import reference as ref

WEIGHTS_BEFORE = [[[0.15, 0.2], [0.25, 0.3]], [[0.4, 0.45], [0.5, 0.55]]]


def problem(r, status=422) -> str:
    """The messages of an error answer, checking it is a 4xx of the expected kind."""
    assert r.status_code == status, r.text
    return " ".join(d["msg"] for d in r.json()["detail"])


def test_create_by_preset_with_overrides(client):
    r = client.post("/api/networks", json={"preset": "classic", "learning_rate": 0.1})
    assert r.status_code == 201
    s = r.json()
    assert s["learning_rate"] == 0.1
    assert s["weights"] == WEIGHTS_BEFORE
    assert (s["iteration"], s["phase"]) == (0, "ready")


def test_create_full_state_draws_missing_parameters_from_the_seed(client):
    body = {"layers": [3, 4, 2], "inputs": [1, 2, 3], "targets": [0, 1], "seed": 7}
    a = client.post("/api/networks", json=body).json()
    b = client.post("/api/networks", json=body).json()
    assert a["id"] != b["id"]
    assert a["weights"] == b["weights"]
    assert a["activations"] == ["sigmoid", "sigmoid"]
    flat = [x for m in a["weights"] for row in m for x in row] + [x for v in a["biases"] for x in v]
    assert len(flat) == 3 * 4 + 4 * 2 + 4 + 2
    assert all(-0.5 <= x <= 0.5 for x in flat)
    c = client.post("/api/networks", json=body | {"seed": 8}).json()
    assert c["weights"] != a["weights"]


def test_unseeded_networks_keep_the_seed_they_were_drawn_from(client):
    body = {"layers": [2, 3, 1], "inputs": [1, 2], "targets": [0]}
    a = client.post("/api/networks", json=body).json()
    b = client.post("/api/networks", json=body | {"seed": a["seed"]}).json()
    assert a["weights"] == b["weights"]


def test_get_and_delete(client, classic):
    assert client.get(f"/api/networks/{classic}").json()["id"] == classic
    assert client.delete(f"/api/networks/{classic}").status_code == 204
    assert "id" in problem(client.get(f"/api/networks/{classic}"), 404)


def test_patch_by_name_and_by_array(client, classic):
    s = client.patch(f"/api/networks/{classic}", json={"weights": {"w5": 0.3}}).json()
    assert s["weights"][1][0][0] == 0.3
    s = client.patch(f"/api/networks/{classic}", json={"biases": {"b2_1": 0.7, "b1_2": 0.1}}).json()
    assert s["biases"] == [[0.35, 0.1], [0.7, 0.6]]
    s = client.patch(f"/api/networks/{classic}", json={"weights": WEIGHTS_BEFORE}).json()
    assert s["weights"] == WEIGHTS_BEFORE
    f = client.post(f"/api/networks/{classic}/forward").json()
    assert f["net"][0] == pytest.approx([0.3775, 0.1 + 0.25 * 0.05 + 0.3 * 0.1])


def test_patch_keeps_the_phase_and_recomputes(client, classic):
    for _ in range(3):
        client.post(f"/api/networks/{classic}/phase/next")
    s = client.patch(f"/api/networks/{classic}", json={"inputs": [0.5, 0.5]}).json()
    assert s["phase"] == "loss"
    f = client.post(f"/api/networks/{classic}/forward").json()
    assert f["net"][0][0] == pytest.approx(0.15 * 0.5 + 0.2 * 0.5 + 0.35)


def test_patch_layers_draws_new_parameters(client, classic):
    s = client.patch(
        f"/api/networks/{classic}",
        json={"layers": [2, 3, 3, 2], "activations": ["tanh", "relu", "sigmoid"], "seed": 1},
    ).json()
    assert [len(w) for w in s["weights"]] == [3, 3, 2]
    assert s["phase"] == "ready"


def test_phase_cursor_walks_one_iteration_and_back(client, classic):
    url = f"/api/networks/{classic}/phase"
    seen = [client.post(f"{url}/next").json() for _ in range(7)]
    assert [s["phase"] for s in seen] == [
        "forward:1",
        "forward:2",
        "loss",
        "backward:2",
        "backward:1",
        "update",
        "forward:1",
    ]
    assert [s["iteration"] for s in seen] == [0, 0, 0, 0, 0, 1, 1]
    assert seen[4]["weights"] == WEIGHTS_BEFORE
    assert seen[5]["weights"][1][0][0] == pytest.approx(ref.UPDATED["w5"], abs=ref.TOL)
    back = [client.post(f"{url}/prev").json() for _ in range(8)]
    assert [s["phase"] for s in back] == [
        "update",
        "backward:1",
        "backward:2",
        "loss",
        "forward:2",
        "forward:1",
        "ready",
        "ready",
    ]
    assert back[0]["iteration"] == 1
    assert back[1]["iteration"] == 0
    assert back[1]["weights"] == WEIGHTS_BEFORE  # stepping back over the update undoes it


def test_reset_returns_to_the_created_state(client, classic):
    created = client.get(f"/api/networks/{classic}").json()
    client.post(f"/api/networks/{classic}/train", json={"iterations": 5})
    client.patch(f"/api/networks/{classic}", json={"learning_rate": 2.0})
    reset = client.post(f"/api/networks/{classic}/reset").json()
    assert reset.pop("version") == 4 and created.pop("version") == 1  # a change, like any
    assert reset == created


def test_gradcheck_sets_finite_differences_beside_backpropagation(client, classic):
    before = client.get(f"/api/networks/{classic}").json()
    c = client.post(f"/api/networks/{classic}/gradcheck").json()
    assert (c["id"], c["iteration"], c["phase"], c["batch"], c["epoch"]) == (
        classic,
        0,
        "ready",
        [0],
        0,
    )
    assert c["loss"] == pytest.approx(ref.E_TOTAL, abs=ref.TOL)
    for name, (l, j, i) in ref.INDEX.items():
        assert c["weight_grads"][l][j][i] == pytest.approx(ref.GRADS[name], abs=ref.TOL)
        assert c["numeric_weight_grads"][l][j][i] == pytest.approx(ref.GRADS[name], abs=1e-10)
    assert c["bias_grads"] == [pytest.approx(d, abs=ref.TOL) for d in ref.DELTAS]
    assert c["numeric_bias_grads"] == [pytest.approx(d, abs=1e-10) for d in ref.DELTAS]
    errors = [e for m in c["weight_errors"] for row in m for e in row]
    errors += [e for v in c["bias_errors"] for e in v]
    assert len(errors) == 12 and c["max_error"] == max(errors) < 1e-6
    assert c["max_error_at"] in [f"w{k}" for k in range(1, 9)] + ["b1_1", "b1_2", "b2_1", "b2_2"]
    assert c["h"] == pytest.approx(6.055e-6, rel=1e-3)
    assert c["tiny"] == pytest.approx(1e-4 * ref.E_TOTAL)
    assert client.get(f"/api/networks/{classic}").json() == before  # read-only
    # The largest network on a batch of 1000 samples: more work than one request may ask.
    spiral = {"generator": "spiral", "samples": 1000}
    big = {"layers": [2, *[16] * 6, 1], "data": spiral, "seed": 1}
    id = client.post("/api/networks", json=big).json()["id"]
    msg = problem(client.post(f"/api/networks/{id}/gradcheck"))
    assert msg.startswith("batch_size: ") and "at most 280 samples" in msg


def test_openapi_documents_the_state_shape(client):
    spec = client.get("/openapi.json").json()
    state = spec["components"]["schemas"]["State"]["properties"]
    for field in ("layers", "weights", "biases", "inputs", "targets", "learning_rate", "phase"):
        assert field in state
    assert "weights[l][j][i]" in state["weights"]["description"]


# Bad input: a clear 4xx that names the field, and nothing half-applied.


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"layers": [2, 17, 2], "inputs": [0, 0], "targets": [0, 0]}, "layers[1]"),
        ({"layers": [2, 0], "inputs": [0, 0], "targets": []}, "layers[1]"),
        ({"layers": [2] * 9, "inputs": [0, 0], "targets": [0, 0]}, "layers"),
        ({"layers": [2, 2], "inputs": [0, 0], "targets": [0, 0], "activations": ["x"]}, "activ"),
        ({"layers": [2, 2], "inputs": [0, 0], "targets": [0, 0], "loss": "hinge"}, "loss"),
        ({"preset": "xor"}, "preset"),
        ({"layers": [2, 2], "inputs": [0], "targets": [0, 0]}, "inputs"),
        ({"layers": [2, 2], "targets": [0, 0]}, "inputs"),
        ({"layers": [2, 2], "inputs": ["a", 0], "targets": [0, 0]}, "inputs[0]"),
        ({"layers": [2, 2], "inputs": [True, 0], "targets": [0, 0]}, "inputs[0]"),
        ({"preset": "classic", "weights": [[[1, 2]], [[1, 2]]]}, "weights[0]"),
        ({"preset": "classic", "biases": [[1, 2]]}, "biases"),
        ({"preset": "classic", "learning_rate": -1}, "learning_rate"),
        ({"preset": "classic", "learning_rate": 1e7}, "learning_rate"),
        ({"preset": "classic", "colour": "red"}, "colour"),
        ({}, "layers"),
    ],
)
def test_bad_creation(client, body, field):
    assert field in problem(client.post("/api/networks", json=body))


@pytest.mark.parametrize("literal", [b"NaN", b"Infinity", b"-Infinity", b"1e400"])
def test_non_finite_numbers(client, classic, literal):
    body = b'{"learning_rate": ' + literal + b"}"
    r = client.patch(
        f"/api/networks/{classic}", content=body, headers={"content-type": "application/json"}
    )
    assert "learning_rate" in problem(r)
    body = b'{"weights": {"w1": ' + literal + b"}}"
    r = client.patch(
        f"/api/networks/{classic}", content=body, headers={"content-type": "application/json"}
    )
    assert "w1" in problem(r)


def test_malformed_json(client, classic):
    r = client.patch(
        f"/api/networks/{classic}", content=b"{", headers={"content-type": "application/json"}
    )
    assert r.status_code == 422


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"weights": {"w9": 1.0}}, "weights.w9"),
        ({"weights": {"b1_1": 1.0}}, "weights.b1_1"),
        ({"biases": {"b3_1": 1.0}}, "biases.b3_1"),
        ({"weights": {"w1": "heavy"}}, "w1"),
        ({"inputs": [1, 2, 3]}, "inputs"),
        ({"targets": [[0.1], [0.2]]}, "targets"),
        ({"activations": ["sigmoid"]}, "activations"),
        ({"learning_rate": 0.1, "weights": [[[1]]]}, "weights"),
        ({"learning_rate": 0.1, "biases": {"b9_9": 1}}, "biases.b9_9"),
        ({"update_biases": "yes"}, "update_biases"),
        ({"id": "other"}, "id"),
    ],
)
def test_bad_patch_changes_nothing(client, classic, body, field):
    before = client.get(f"/api/networks/{classic}").json()
    assert field in problem(client.patch(f"/api/networks/{classic}", json=body))
    assert client.get(f"/api/networks/{classic}").json() == before


@pytest.mark.parametrize("iterations", [0, 100_001, -5, 1.5, "10", None, True])
def test_bad_iteration_counts(client, classic, iterations):
    r = client.post(f"/api/networks/{classic}/train", json={"iterations": iterations})
    assert "iterations" in problem(r)
    assert client.get(f"/api/networks/{classic}").json()["iteration"] == 0


@pytest.mark.parametrize(
    ("method", "path"),
    [
        ("get", ""),
        ("patch", ""),
        ("delete", ""),
        ("post", "/forward"),
        ("post", "/backward"),
        ("post", "/gradcheck"),
        ("post", "/step"),
        ("post", "/train"),
        ("post", "/phase/next"),
        ("post", "/phase/prev"),
        ("post", "/reset"),
        ("get", "/events"),
    ],
)
def test_unknown_ids(client, method, path):
    kwargs = {"json": {"iterations": 1}} if path == "/train" else {}
    if method == "patch":
        kwargs = {"json": {"learning_rate": 0.1}}
    r = client.request(method, f"/api/networks/no-such-id{path}", **kwargs)
    assert "no-such-id" in problem(r, 404)


LINEAR = {
    "layers": [2, 3, 1],
    "activations": ["linear", "linear"],
    "inputs": [1.0, 2.0],
    "targets": [3.0],
    "seed": 1,
}


def test_training_that_overflows_stops_at_the_last_finite_state(client):
    id = client.post("/api/networks", json=LINEAR | {"learning_rate": 1e6}).json()["id"]
    r = client.post(f"/api/networks/{id}/train", json={"iterations": 1000})
    assert r.status_code == 200
    t = r.json()
    assert t["diverged_at"] is not None
    assert t["iteration"] == t["diverged_at"] - 1 == len(t["losses"])
    state = client.get(f"/api/networks/{id}").json()
    assert state["iteration"] == t["iteration"]
    assert client.post(f"/api/networks/{id}/forward").status_code == 200
    # Stepping on from there would overflow: refused, nothing changed.
    assert "learning_rate" in problem(client.post(f"/api/networks/{id}/step"))
    for _ in range(len(state["layers"]) * 2):
        client.post(f"/api/networks/{id}/phase/next")
    after = client.get(f"/api/networks/{id}").json()
    assert after | {"phase": "ready", "version": state["version"]} == state


def test_edits_that_overflow_are_refused(client):
    id = client.post("/api/networks", json=LINEAR).json()["id"]
    before = client.get(f"/api/networks/{id}").json()
    r = client.patch(f"/api/networks/{id}", json={"weights": {"w7": 1e300}})
    assert "weights" in problem(r)
    assert client.get(f"/api/networks/{id}").json() == before


def test_an_error_names_the_exact_place_once(client, classic):
    r = client.patch(f"/api/networks/{classic}", json={"weights": {"w5": "x"}})
    assert r.json()["detail"] == [
        {
            "loc": ["body", "weights", "w5"],
            "msg": "weights.w5: Input should be a valid number",
            "type": "float_type",
        }
    ]
    r = client.patch(f"/api/networks/{classic}", json={"weights": [[[1, "a"]]]})
    assert [d["msg"] for d in r.json()["detail"]] == [
        "weights[0][0][1]: Input should be a valid number"
    ]


def test_whole_numbers_may_be_written_as_floats(client, classic):
    # JSON Schema's integers include 10.0; 1.5 and true are still refused.
    r = client.post(f"/api/networks/{classic}/train", json={"iterations": 10.0})
    assert r.status_code == 200 and r.json()["iteration"] == 10
    body = {"layers": [2.0, 3, 1], "seed": 3.0, "inputs": [0, 1], "targets": [1]}
    r = client.post("/api/networks", json=body)
    assert r.status_code == 201 and r.json()["layers"] == [2, 3, 1] and r.json()["seed"] == 3


def test_the_documented_ranges_are_json_schemas_own(client):
    schemas = client.get("/openapi.json").json()["components"]["schemas"]
    for model, count in (("TrainIterations", "iterations"), ("TrainEpochs", "epochs")):
        counted = schemas[model]["properties"][count]
        assert (counted["minimum"], counted["maximum"]) == (1, 100_000)
    seed = schemas["CreateNetwork"]["properties"]["seed"]["anyOf"][0]
    assert seed["maximum"] == 2**53 - 1  # read back exactly by any JSON client
    r = client.post("/api/networks", json={"preset": "classic", "seed": 2**53})
    assert r.status_code == 422
