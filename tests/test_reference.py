"""Every figure of REFERENCE.md, through the engine and through the HTTP API."""

import numpy as np
import pytest

from app.engine import State, forward, iterate, trace, train
from app.engine.state import CLASSIC
from tests import reference as ref

close = pytest.approx


def approx(expected):
    return close(expected, abs=ref.TOL, rel=0)


@pytest.fixture(params=[{}, {"classic_slip": False}], ids=["default", "classic_slip=false"])
def classic_net(request) -> State:
    return State.from_data(CLASSIC | request.param)


@pytest.fixture
def slipped_net() -> State:
    return State.from_data(CLASSIC | {"classic_slip": True})


def loss(state: State) -> float:
    return trace(state).forward.loss


def test_numbering_rule_maps_names_to_the_reference_matrices(classic_net):
    values = {"w1": 0.15, "w2": 0.20, "w3": 0.25, "w4": 0.30}
    values |= {"w5": 0.40, "w6": 0.45, "w7": 0.50, "w8": 0.55}
    for name, (l, j, i) in ref.INDEX.items():
        assert classic_net.network.weights[l][j, i] == values[name]


def test_forward_pass(classic_net):
    f = trace(classic_net).at(0).forward
    assert [n.tolist() for n in f.net] == [approx(x) for x in ref.NET]
    assert [o.tolist() for o in f.out] == [approx(x) for x in ref.OUT]
    assert f.losses.tolist() == approx(ref.LOSSES)
    assert f.loss == approx(ref.E_TOTAL)


def test_backward_pass(classic_net):
    b = trace(classic_net).at(0).backward
    assert [x.tolist() for x in b.dE_dout] == [approx(x) for x in ref.DE_DOUT]
    assert b.dE_dout_terms[1][:, 0].tolist() == approx(ref.DE_DOUT_H1_TERMS)
    assert [x.tolist() for x in b.dout_dnet] == [approx(x) for x in ref.DOUT_DNET]
    assert [x.tolist() for x in b.deltas] == [approx(x) for x in ref.DELTAS]
    for name, (l, j, i) in ref.INDEX.items():
        assert b.weight_grads[l][j, i] == approx(ref.GRADS[name]), name
    assert [x.tolist() for x in b.bias_grads] == [approx(x) for x in ref.DELTAS]


def test_update_uses_the_weights_from_before_it(classic_net):
    t = trace(classic_net)
    for name, (l, j, i) in ref.INDEX.items():
        assert t.weights[l][j, i] == approx(ref.UPDATED[name]), name
    assert [b.tolist() for b in t.biases] == [[0.35, 0.35], [0.6, 0.6]]  # biases fixed
    after = classic_net.with_params(tuple(t.weights), tuple(t.biases))
    assert loss(after) == approx(ref.E_AFTER_1)


def test_the_tutorials_slip_is_the_hidden_deltas_with_updated_output_weights(classic_net):
    # Reproduce the known slip to show it is what the tutorial's 0.291027924 comes from.
    t = trace(classic_net).at(0)
    b, f = t.backward, t.forward
    hidden_delta = (t.weights[1].T @ b.deltas[1]) * b.dout_dnet[0]
    w_first = classic_net.network.weights[0] - 0.5 * np.outer(hidden_delta, f.out[0])
    slipped = classic_net.with_params((w_first, t.weights[1]), classic_net.network.biases)
    assert round(loss(slipped), 9) == ref.E_AFTER_1_TUTORIAL_SLIP
    assert abs(loss(slipped) - ref.E_AFTER_1) > 1e-7


def test_classic_slip_takes_the_hidden_deltas_through_the_updated_output_weights(slipped_net):
    t = trace(slipped_net)
    b, (d_o1, d_o2), w = t.at(0).backward, ref.DELTAS[1], ref.UPDATED
    assert b.deltas[1].tolist() == approx(ref.DELTAS[1])  # the output layer's are the same
    # ∂E/∂out_h through w5⁺..w8⁺: h1 by its paths through o1 and o2, then h2
    assert b.dE_dout_terms[1][:, 0].tolist() == approx([d_o1 * w["w5"], d_o2 * w["w7"]])
    dE_dout_h = [d_o1 * w["w5"] + d_o2 * w["w7"], d_o1 * w["w6"] + d_o2 * w["w8"]]
    assert b.dE_dout[0].tolist() == approx(dE_dout_h)
    assert b.dout_dnet[0].tolist() == approx(ref.DOUT_DNET[0])
    delta_h = [g * d for g, d in zip(dE_dout_h, ref.DOUT_DNET[0])]
    assert b.deltas[0].tolist() == approx(delta_h)
    assert all(abs(s - r) > 1e-3 for s, r in zip(delta_h, ref.DELTAS[0]))  # they differ
    for name, (l, j, i) in ref.INDEX.items():
        before = CLASSIC["weights"][l][j][i]
        expected = w[name] if l == 1 else before - 0.5 * delta_h[j] * ref.OUT[0][i]
        assert t.weights[l][j, i] == approx(expected), name
    after, _ = iterate(slipped_net, t)
    assert round(loss(after), 9) == ref.E_AFTER_1_TUTORIAL_SLIP


def test_ten_thousand_iterations_with_classic_slip_give_the_tutorial_s_figures(slipped_net):
    result = train(slipped_net, 10_000)
    assert round(result.losses[0], 9) == ref.E_AFTER_1_TUTORIAL_SLIP
    assert round(result.losses[-1], 9) == ref.E_AFTER_10000_TUTORIAL_SLIP
    out = trace(result.state).at(0).forward.out[-1]
    assert [round(o, 9) for o in out.tolist()] == ref.OUT_AFTER_10000_TUTORIAL_SLIP


def test_bias_updates_when_switched_on():
    net = State.from_data(CLASSIC | {"update_biases": True})
    t = trace(net)
    assert [b.tolist() for b in t.biases] == [
        approx([0.35 - 0.5 * d for d in ref.DELTAS[0]]),
        approx([0.60 - 0.5 * d for d in ref.DELTAS[1]]),
    ]
    assert loss(net.with_params(tuple(t.weights), tuple(t.biases))) == approx(
        ref.E_AFTER_1_WITH_BIASES
    )


def test_ten_thousand_iterations(classic_net):
    result = train(classic_net, 10_000)
    assert result.diverged_at is None
    assert len(result.losses) == 10_000
    assert result.losses[0] == approx(ref.E_AFTER_1)
    assert result.losses[-1] == close(ref.E_AFTER_10000, rel=1e-7)
    out = trace(result.state).at(0).forward.out[-1]
    assert out.tolist() == close(ref.OUT_AFTER_10000, abs=1e-8)


def test_a_batch_of_the_same_sample_twice_has_the_samples_figures(classic_net):
    d = classic_net.data
    inputs, targets = np.stack([d.inputs, d.inputs]), np.stack([d.targets, d.targets])
    f = forward(classic_net.network, inputs, targets)
    assert f.loss == approx(ref.E_TOTAL) and f.at(1).loss == approx(ref.E_TOTAL)
    assert [o.tolist() for o in f.at(1).out] == [approx(x) for x in ref.OUT]


# Through the HTTP API: the same figures, as a newcomer with curl would read them.


def test_api_forward(client, classic):
    f = client.post(f"/api/networks/{classic}/forward").json()
    assert f["net"] == [approx(x) for x in ref.NET]
    assert f["out"] == [approx(x) for x in ref.OUT]
    assert f["losses"] == approx(ref.LOSSES)
    assert f["loss"] == approx(ref.E_TOTAL)


def test_api_backward_changes_nothing(client, classic):
    before = client.get(f"/api/networks/{classic}").json()
    b = client.post(f"/api/networks/{classic}/backward").json()
    assert b["dE_dout"] == [approx(x) for x in ref.DE_DOUT]
    assert b["dout_dnet"] == [approx(x) for x in ref.DOUT_DNET]
    assert b["deltas"] == [approx(x) for x in ref.DELTAS]
    assert b["bias_grads"] == [approx(x) for x in ref.DELTAS]
    for name, (l, j, i) in ref.INDEX.items():
        assert b["weight_grads"][l][j][i] == approx(ref.GRADS[name]), name
    assert client.get(f"/api/networks/{classic}").json() == before


def test_api_step(client, classic):
    s = client.post(f"/api/networks/{classic}/step").json()
    assert s["iteration"] == 1
    assert s["phase"] == "update"
    assert s["deltas"] == [approx(x) for x in ref.DELTAS]
    assert s["loss_before"] == approx(ref.E_TOTAL)
    assert s["loss_after"] == approx(ref.E_AFTER_1)
    for name, (l, j, i) in ref.INDEX.items():
        assert s["weights"][l][j][i] == approx(ref.UPDATED[name]), name
    state = client.get(f"/api/networks/{classic}").json()
    assert state["weights"] == s["weights"]


def test_api_bias_updates(client):
    r = client.post("/api/networks", json={"preset": "classic", "update_biases": True})
    s = client.post(f"/api/networks/{r.json()['id']}/step").json()
    assert s["loss_after"] == approx(ref.E_AFTER_1_WITH_BIASES)


def test_api_classic_slip(client):
    r = client.post("/api/networks", json={"preset": "classic", "classic_slip": True})
    id = r.json()["id"]
    assert r.json()["classic_slip"] is True
    s = client.post(f"/api/networks/{id}/step").json()
    assert s["loss_before"] == approx(ref.E_TOTAL)
    assert round(s["loss_after"], 9) == ref.E_AFTER_1_TUTORIAL_SLIP
    assert s["deltas"][1] == approx(ref.DELTAS[1]) and s["deltas"][0] != approx(ref.DELTAS[0])
    assert client.post(f"/api/networks/{id}/forward").json()["loss"] == s["loss_after"]


def test_api_train_ten_thousand(client, classic):
    r = client.post(f"/api/networks/{classic}/train", json={"iterations": 10_000})
    assert r.status_code == 200
    t = r.json()
    assert t["iteration"] == 10_000
    assert t["diverged_at"] is None
    assert len(t["losses"]) == 1000
    assert t["loss_iterations"][0] == 1
    assert t["loss_iterations"][-1] == 10_000
    assert t["losses"][0] == approx(ref.E_AFTER_1)
    assert t["losses"][-1] == close(ref.E_AFTER_10000, rel=1e-7)
    f = client.post(f"/api/networks/{classic}/forward").json()
    assert f["out"][-1] == close(ref.OUT_AFTER_10000, abs=1e-8)
    assert f["loss"] == t["losses"][-1]
