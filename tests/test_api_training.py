"""The mind map's knobs through the HTTP API, as a newcomer with curl would turn them:
activations and losses, optimisers and schedules, data sets and batches; and every bad
value of them refused with a 422 naming the field, nothing changed."""

import numpy as np
import pytest

from tests.oracle import F, needs_torch, torch
from tests.test_api import problem

SPIRAL = {
    "layers": [2, 8, 8, 1],
    "activations": ["tanh", "tanh", "sigmoid"],
    "loss": "bce",
    "seed": 4,
    "data": {"generator": "spiral", "samples": 200, "noise": 0.1, "seed": 1},
    "optimizer": {"name": "adam"},
    "schedule": {"name": "cosine", "T_max": 200},
    "learning_rate": 0.03,
    "batch_size": 10,
    "shuffle": True,
    "update_biases": True,
}


def torch_backward(state: dict, activations) -> dict:
    """∂E/∂w, δ and the loss of the classic network's one sample, in torch autograd."""
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in state["weights"]]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in state["biases"]]
    out = torch.tensor(state["inputs"], dtype=torch.float64)
    nets = []
    for w, b, f in zip(ws, bs, activations):
        net = w @ out + b
        net.retain_grad()
        nets.append(net)
        out = f(net)
    target = torch.tensor(state["targets"], dtype=torch.float64)
    if state["loss"] == "cross_entropy":
        loss = F.cross_entropy(nets[-1][None], target[None])
    else:
        loss = (0.5 * (target - out) ** 2).sum()
    loss.backward()
    return {
        "loss": loss.item(),
        "deltas": [n.grad.tolist() for n in nets],
        "weight_grads": [w.grad.tolist() for w in ws],
    }


def same(ours, theirs):
    np.testing.assert_allclose(np.array(ours), np.array(theirs), rtol=1e-12, atol=1e-15)


@needs_torch
def test_the_classic_network_switched_to_tanh_answers_deltas_torch_confirms(client, classic):
    r = client.patch(f"/api/networks/{classic}", json={"activations": ["tanh", "tanh"]})
    assert r.status_code == 200
    b = client.post(f"/api/networks/{classic}/backward").json()
    theirs = torch_backward(r.json(), [torch.tanh, torch.tanh])
    same(b["deltas"], theirs["deltas"])
    same(b["weight_grads"], theirs["weight_grads"])


@needs_torch
def test_softmax_with_cross_entropy_answers_out_minus_target(client, classic):
    change = {"activations": ["sigmoid", "softmax"], "loss": "cross_entropy"}
    r = client.patch(f"/api/networks/{classic}", json=change)
    assert r.status_code == 200
    f = client.post(f"/api/networks/{classic}/forward").json()
    b = client.post(f"/api/networks/{classic}/backward").json()
    out, target = np.array(f["out"][-1]), np.array(r.json()["targets"])
    same(b["deltas"][-1], out - target)  # δ_o = out_o − target_o
    theirs = torch_backward(r.json(), [torch.sigmoid, lambda x: torch.softmax(x, -1)])
    same(f["loss"], theirs["loss"])
    same(b["deltas"], theirs["deltas"])
    same(b["weight_grads"], theirs["weight_grads"])


def test_a_spiral_trains_with_adam_and_a_cosine_schedule_in_batches_of_ten(client):
    r = client.post("/api/networks", json=SPIRAL)
    assert r.status_code == 201, r.text
    s = r.json()
    assert len(s["data"]["inputs"]) == 200 and s["inputs"] is None
    assert s["optimizer"] == {
        "name": "adam",
        "betas": [0.9, 0.999],
        "eps": 1e-08,
        "weight_decay": 0.0,
        "amsgrad": False,
    }
    assert s["optimizer_state"]["step"] == 0 and s["current_learning_rate"] == 0.03
    f = client.post(f"/api/networks/{s['id']}/forward", params={"sample": 3}).json()
    assert len(f["batch"]) == 10 and f["epoch"] == 0 and f["sample"] == 3
    step = client.post(f"/api/networks/{s['id']}/step").json()
    assert set(step["terms"]) >= {"grad", "exp_avg", "exp_avg_sq", "m_hat", "v_hat", "update"}
    assert step["learning_rate"] == 0.03 and step["current_learning_rate"] < 0.03
    w = np.array(step["weights"][0])
    update = np.array(step["terms"]["update"]["weights"][0])
    before = np.array(s["weights"][0])
    np.testing.assert_allclose(w, before - update, rtol=0, atol=1e-15)
    t = client.post(f"/api/networks/{s['id']}/train", json={"epochs": 3}).json()
    assert t["iteration"] == 1 + 60 and len(t["losses"]) == 60 == len(t["learning_rates"])
    assert t["losses"][-1] < t["losses"][0]
    assert t["optimizer_state"]["step"] == 61
    assert t["learning_rates"][0] == step["current_learning_rate"]


def test_a_test_part_of_the_data_gives_test_losses(client):
    body = SPIRAL | {"data": {"generator": "xor_quadrants", "samples": 100, "test_fraction": 0.3}}
    id = client.post("/api/networks", json=body).json()["id"]
    t = client.post(f"/api/networks/{id}/train", json={"iterations": 7}).json()
    assert len(t["test_losses"]) == len(t["losses"]) == 7
    assert len(t["data"]["test_inputs"]) == 30 and len(t["data"]["inputs"]) == 70


def test_one_sample_and_a_data_set_are_one_or_the_other(client, classic):
    r = client.patch(f"/api/networks/{classic}", json={"data": {"generator": "xor"}})
    assert r.status_code == 422 and "layers" in problem(r)  # xor has one output
    r = client.patch(
        f"/api/networks/{classic}",
        json={"data": {"inputs": [[0, 1], [1, 0]], "targets": [[0, 1], [1, 0]]}},
    )
    assert r.status_code == 200 and r.json()["inputs"] is None
    assert r.json()["data"]["inputs"] == [[0.0, 1.0], [1.0, 0.0]]
    r = client.patch(f"/api/networks/{classic}", json={"inputs": [0.5, 0.5]})
    assert problem(r).startswith("inputs: give one sample")
    r = client.patch(
        f"/api/networks/{classic}", json={"data": None, "inputs": [0.5, 0.5], "targets": [0, 1]}
    )
    assert r.status_code == 200 and r.json()["data"] is None and r.json()["inputs"] == [0.5, 0.5]


def test_changing_how_it_is_trained_starts_the_optimiser_afresh(client):
    id = client.post("/api/networks", json=SPIRAL).json()["id"]
    client.post(f"/api/networks/{id}/train", json={"iterations": 3})
    kept = client.patch(f"/api/networks/{id}", json={"weights": {"w1": 0.1}}).json()
    assert kept["optimizer_state"]["step"] == 3  # an edit of a weight keeps it
    fresh = client.patch(f"/api/networks/{id}", json={"learning_rate": 0.01}).json()
    assert fresh["optimizer_state"]["step"] == 0 and fresh["current_learning_rate"] == 0.01
    assert not np.any(fresh["optimizer_state"]["exp_avg"]["weights"][0])


BAD = [
    ({"optimizer": {"name": "lbfgs"}}, "optimizer.name"),
    ({"optimizer": {"name": "adam", "betas": [0.9, 1.0]}}, "optimizer.betas"),
    ({"optimizer": {"name": "adam", "eps": 0}}, "optimizer.eps"),
    ({"optimizer": {"name": "sgd", "momentum": -0.1}}, "optimizer.momentum"),
    ({"optimizer": {"name": "sgd", "nesterov": True}}, "optimizer.nesterov"),
    ({"optimizer": {"name": "sgd", "momentum": 0.9, "nesterov": True, "dampening": 0.1}},
     "optimizer.nesterov"),
    ({"optimizer": {"name": "sgd", "speed": 2}}, "optimizer.speed"),
    ({"schedule": {"name": "step", "step_size": 3, "gamma": 0}}, "schedule.gamma"),
    ({"schedule": {"name": "cosine", "T_max": 0}}, "schedule.T_max"),
    ({"schedule": {"name": "step"}}, "schedule.step_size"),
    ({"schedule": {"name": "multistep", "milestones": [5, 3]}}, "schedule.milestones"),
    ({"batch_size": 0}, "batch_size"),
    ({"init": {"name": "normal", "std": -1}}, "init.std"),
    ({"init": {"name": "glorot"}}, "init.name"),
    ({"data": {"inputs": [[0.1, 0.2, 0.3]], "targets": [[0, 1]]}}, "data.inputs"),
    ({"layers": [2, 3, 1], "data": {"generator": "spiral", "samples": 1001}}, "data.samples"),
    ({"data": {"generator": "moons"}}, "data.generator"),
    ({"optimizer_state": {"step": -1}}, "optimizer_state.step"),
    ({"optimizer_state": {"step": 1, "exp_avg": {"weights": [], "biases": None}}},
     "optimizer_state"),
    ({"current_learning_rate": -1}, "current_learning_rate"),
]  # fmt: skip


@pytest.mark.parametrize("change,field", BAD, ids=[f for _, f in BAD])
def test_bad_training_settings_name_the_field_and_change_nothing(client, change, field):
    s = client.post("/api/networks", json={"preset": "classic"}).json()
    r = client.patch(f"/api/networks/{s['id']}", json=change)
    assert r.status_code == 422, r.text
    assert problem(r).startswith(field), r.json()
    after = client.get(f"/api/networks/{s['id']}").json()
    assert after == {k: v for k, v in s.items() if k != "owner_token"}  # nothing half-applied
    r = client.post("/api/networks", json={"preset": "classic"} | change)
    assert r.status_code == 422, r.text


def test_train_takes_iterations_or_epochs_not_both(client, classic):
    for body in ({}, {"iterations": 2, "epochs": 1}):
        r = client.post(f"/api/networks/{classic}/train", json=body)
        assert r.status_code == 422, r.text
    r = client.post(f"/api/networks/{classic}/train", json={"epochs": 4})
    assert r.status_code == 200 and r.json()["iteration"] == 4  # one sample: one batch


def test_a_sample_outside_the_batch_is_refused(client, classic):
    r = client.post(f"/api/networks/{classic}/forward", params={"sample": 1})
    assert problem(r) == "sample: an index into the batch: from 0 to 0"


def test_undo_restores_the_optimiser_s_state_and_the_schedule_s_rate(client):
    id = client.post("/api/networks", json=SPIRAL).json()["id"]
    before = client.post(f"/api/networks/{id}/train", json={"iterations": 4}).json()
    client.post(f"/api/networks/{id}/train", json={"iterations": 3})
    undone = client.post(f"/api/networks/{id}/undo").json()
    for key in ("optimizer_state", "current_learning_rate", "weights"):
        assert undone[key] == before[key], key
    assert undone["optimizer_state"]["step"] == 4


def test_an_output_rounded_to_1_under_bce_has_a_null_dE_dout_and_an_exact_delta(client):
    # w5..w8 so large that both outputs' net is past 37: σ(net) rounds to exactly 1.0,
    # and ∂E/∂out = (out − target) / (out · (1 − out)) is infinite. JSON has no infinity.
    weights = [[[0.15, 0.20], [0.25, 0.30]], [[60.0, 60.0], [60.0, 60.0]]]
    r = client.post("/api/networks", json={"preset": "classic", "loss": "bce", "weights": weights})
    assert r.status_code == 201, r.text
    id = r.json()["id"]
    b = client.post(f"/api/networks/{id}/backward")
    assert b.status_code == 200, b.text
    out = client.post(f"/api/networks/{id}/forward").json()["out"][-1]
    assert out == [1.0, 1.0]
    assert b.json()["dE_dout"][-1] == [None, None]
    # δ fused with the sigmoid, exact: (out − target) / n, as torch's with_logits.
    assert b.json()["deltas"][-1] == pytest.approx([(1.0 - 0.01) / 2, (1.0 - 0.99) / 2])
    schema = client.get("/openapi.json").json()["components"]["schemas"]["BackwardResult"]
    items = schema["properties"]["dE_dout"]["items"]["items"]
    assert {"type": "null"} in items["anyOf"] and "null where" in schema["properties"]["dE_dout"][
        "description"
    ]
