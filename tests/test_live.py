"""A live training through the API: started, followed, edited, stopped, undone, and cut
by a restart; its chunks train exactly as one training does."""

import asyncio
import time

import pytest

from app import session as ops
from app.main import create_app
from tests.conftest import app_client, run_async
from tests.test_api_training import SPIRAL


def run(client, id: str) -> dict:
    r = client.get(f"/api/networks/{id}/run")
    assert r.status_code == 200, r.text
    return r.json()


def until(client, id: str, check, timeout: float = 60.0) -> dict:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        r = run(client, id)
        if check(r):
            return r
        time.sleep(0.05)
    raise AssertionError(f"not reached: {run(client, id)}")


def ended(client, id: str) -> dict:
    return until(client, id, lambda r: r["status"] != "running")


def network(client, body: dict) -> str:
    r = client.post("/api/networks", json=body)
    assert r.status_code == 201, r.text
    return r.json()["id"]


def test_a_live_run_of_epochs_trains_as_one_training_does(client):
    body = SPIRAL | {"data": SPIRAL["data"] | {"test_fraction": 0.2}}
    live, whole = network(client, body), network(client, body)
    r = client.post(f"/api/networks/{live}/run", json={"epochs": 3})
    assert r.status_code == 202, r.text
    assert r.json()["status"] == "running" and r.json()["iterations"] == 3 * 16  # 160 ÷ 10
    done = ended(client, live)
    assert (done["status"], done["done"], done["unit"], done["count"]) == ("done", 48, "epochs", 3)
    t = client.post(f"/api/networks/{whole}/train", json={"epochs": 3}).json()
    got = client.get(f"/api/networks/{live}").json()
    assert got["weights"] == t["weights"] and got["optimizer_state"] == t["optimizer_state"]
    assert got["iteration"] == 48 and done["losses"][-1] == t["losses"][-1]
    assert done["test_losses"][-1] == t["test_losses"][-1] and done["test_losses"][0] > 0
    assert done["loss_iterations"][0] == 0 and done["loss_iterations"][-1] == 48
    assert done["learning_rate"] == t["learning_rates"][-1]
    entries = client.get(f"/api/networks/{live}/history").json()["entries"]
    assert [e["action"] for e in entries] == ["create", "train"]


def test_one_run_at_a_time_and_only_by_the_owner(client, stranger, classic):
    assert client.get(f"/api/networks/{classic}/run").status_code == 404
    assert (
        client.post(f"/api/networks/{classic}/run", json={"iterations": 100000}).status_code == 202
    )
    again = client.post(f"/api/networks/{classic}/run", json={"iterations": 5})
    assert again.status_code == 409 and "already running" in again.text
    trained = client.post(f"/api/networks/{classic}/train", json={"iterations": 5})
    assert trained.status_code == 409  # refused at once, not after training in vain
    assert trained.json()["detail"][0]["loc"] == ["run"] and "stop it" in trained.text
    assert stranger.post(f"/api/networks/{classic}/run/stop").status_code == 403
    assert stranger.post(f"/api/networks/{classic}/run", json={"iterations": 5}).status_code == 403
    assert run(client, classic)["status"] == "running"
    stopped = client.post(f"/api/networks/{classic}/run/stop")
    assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
    done = ended(client, classic)["done"]
    time.sleep(0.5)  # the chunk in flight is not stored
    assert client.get(f"/api/networks/{classic}").json()["iteration"] == done < 100000


@pytest.mark.parametrize(
    "body,field",
    [({"iterations": 0}, "iterations"), ({"iterations": 100001}, "iterations"), ({}, "body")],
)
def test_a_bad_count_is_refused_naming_the_field(client, classic, body, field):
    r = client.post(f"/api/networks/{classic}/run", json=body)
    assert r.status_code == 422 and field in r.text
    assert client.get(f"/api/networks/{classic}/run").status_code == 404


def test_a_run_too_long_for_the_network_is_refused(client):
    big = network(
        client, {"layers": [2, 16, 16, 16, 1], "data": SPIRAL["data"] | {"samples": 1000}}
    )
    r = client.post(f"/api/networks/{big}/run", json={"iterations": 100000})
    assert r.status_code == 422 and "iterations: at most" in r.text


def test_an_edit_meanwhile_is_trained_on(client, classic):
    client.post(f"/api/networks/{classic}/run", json={"iterations": 100000})
    until(client, classic, lambda r: r["done"] > 0)
    edit = client.patch(f"/api/networks/{classic}", json={"learning_rate": 0.125})
    assert edit.status_code == 200
    at = edit.json()["iteration"]
    r = until(client, classic, lambda r: r["done"] > at and r["learning_rate"] == 0.125)
    assert r["status"] == "running"
    client.post(f"/api/networks/{classic}/run/stop")
    actions = [
        e["action"] for e in client.get(f"/api/networks/{classic}/history").json()["entries"]
    ]
    assert actions == ["create", "train", "edit", "train"]


@pytest.mark.parametrize("how", ["undo", "reset"])
def test_an_undo_or_a_reset_meanwhile_ends_it(client, classic, how):
    client.post(f"/api/networks/{classic}/run", json={"iterations": 100000})
    until(client, classic, lambda r: r["done"] > 0)
    assert client.post(f"/api/networks/{classic}/{how}").status_code == 200
    assert ended(client, classic)["status"] == "stopped"
    time.sleep(0.5)
    assert client.get(f"/api/networks/{classic}").json()["iteration"] == 0


def test_a_server_stopping_mid_run_writes_that_it_stopped(config):
    with app_client(create_app(config)) as c:
        id = network(c, {"preset": "classic"})
        c.post(f"/api/networks/{id}/run", json={"iterations": 100000})
        until(c, id, lambda r: r["done"] > 0)
    with app_client(create_app(config)) as c:  # the restart
        r = run(c, id)
        assert r["status"] == "stopped" and 0 < r["done"] < 100000
        assert c.get(f"/api/networks/{id}").json()["iteration"] == r["done"]


def test_a_run_whose_server_vanished_is_shown_as_failed():
    s = ops.live(ops.create({"preset": "classic"}), "iterations", 10, 1000.0, "r")
    assert s.run.to_data(1000.0 + ops.STALE - 1)["status"] == "running"
    assert s.run.to_data(1000.0 + ops.STALE + 1)["status"] == "failed"
    assert not s.run.running(1000.0 + ops.STALE + 1)  # a new run may start


def test_the_loss_curve_stays_bounded_and_evenly_spaced():
    from app.engine import train

    s = ops.live(ops.create({"preset": "classic"}), "iterations", 5000, 0.0, "r")
    for _ in range(5):
        s = ops.ran(s, train(s.state, 1000), 0.0)
    curve = s.run.curve()
    points = s.run.points
    steps = {b[0] - a[0] for a, b in zip(points, points[1:], strict=False)}
    assert len(curve) <= ops.LIVE_POINTS + 2 and steps == {s.run.stride}
    assert curve[0][0] == 0 and curve[-1][0] == 5000 and s.run.status == "done"


def test_closing_mid_chunk_ends_the_run_as_stopped_within_seconds(tmp_path):
    """The server stopping while a chunk is in the pool: the wait for it is cancelled, and
    the run's record says it stopped (a restart shows it so)."""
    from app import training
    from app.store import Store
    from app.store.events import LocalBus
    from app.store.sqlite import SQLiteBackend

    async def scenario() -> tuple[str, float]:
        store = Store(SQLiteBackend(tmp_path / "lab.db"), LocalBus())
        trainer = training.Trainer(training.Settings())
        runs = training.Runs(trainer, store)
        try:
            s, token = store.add(ops.create({"preset": "classic"}))
            await runs.start(s.id, "iterations", 100000, token)
            while not trainer._pending or store.get(s.id).run.done == 0:  # a chunk in flight
                await asyncio.sleep(0.01)
            t0 = time.monotonic()
            await runs.close()
            took = time.monotonic() - t0
            return store.get(s.id).run.status, took
        finally:
            trainer.close()
            store.close()

    status, took = run_async(scenario())
    assert status == "stopped" and took < 2.5
