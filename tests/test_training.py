"""Training on its own pool: the bound on one request's work, the queue, a network changed
meanwhile, shutdown, and light work answering through a flood of trainings."""

import asyncio
import signal
import subprocess
import time
from concurrent.futures import ThreadPoolExecutor, as_completed
from pathlib import Path

import httpx
import pytest

from app import session as ops
from app.engine import State, train
from app.engine.state import CLASSIC
from app.main import create_app
from app.refusal import Refused
from app.training import Settings, Trainer
from tests.conftest import app_client
from tests.server import serving
from tests.test_api import problem

BIG = {"layers": [16] * 8, "inputs": [0.1] * 16, "targets": [0.5] * 16, "seed": 1}
CLASSIC_NET = State.from_data(CLASSIC)
MOST_CLASSIC = ops.MAX_WORK // ops.work(CLASSIC_NET)


def _run(main):
    """asyncio.run(main()) on a thread of its own (the browser tests leave a loop running)."""
    with ThreadPoolExecutor(1) as thread:
        return thread.submit(lambda: asyncio.run(main())).result()


def test_one_training_may_ask_for_only_so_much_work(client):
    id = client.post("/api/networks", json=BIG).json()["id"]
    most = ops.MAX_WORK // ops.work(State.from_data(BIG))
    assert most < ops.MAX_ITERATIONS
    msg = problem(client.post(f"/api/networks/{id}/train", json={"iterations": most + 1}))
    assert msg.startswith("iterations: ") and f"at most {most} " in msg
    assert client.get(f"/api/networks/{id}").json()["iteration"] == 0
    r = client.post(f"/api/networks/{id}/train", json={"iterations": 3})
    assert r.status_code == 200 and r.json()["iteration"] == 3


def test_the_page_says_how_many_iterations_this_network_may_train(client):
    # A live training may ask about two minutes of work: a set of 1000 samples reaches that.
    data = {"generator": "spiral", "samples": 1000, "noise": 0.1, "seed": 1}
    id = client.post("/api/networks", json={"layers": [2, 16, 16, 16, 1], "data": data}).json()[
        "id"
    ]
    form = {"count": "100000", "unit": "iterations"}
    r = client.post(f"/n/{id}/train", data=form, headers={"HX-Request": "true"})
    assert r.status_code == 422 and "iterations: at most" in r.text


def test_the_work_of_an_iteration_counts_layers_as_well_as_parameters():
    deep = State.from_data({"layers": [1] * 8, "inputs": [0], "targets": [0], "seed": 1})
    wide = State.from_data({"layers": [16, 16], "inputs": [0] * 16, "targets": [0] * 16})
    assert ops.work(deep) > ops.work(wide)  # 7 layers of numpy calls outweigh 272 parameters


def test_a_trained_network_stays_read_only():
    async def once():
        trainer = Trainer(Settings())
        try:
            return await trainer.train(CLASSIC_NET, 2)
        finally:
            trainer.close()

    result = _run(once)
    assert result.state.to_data() == train(CLASSIC_NET, 2).state.to_data()
    assert not any(w.flags.writeable for w in result.state.network.weights)


def test_a_network_changed_while_training_is_not_overwritten(client, classic):
    store, real = client.app.state.store, client.app.state.trainer

    class StepMeanwhile:  # someone steps the network while it trains
        async def train(self, network, iterations):
            store.update(classic, lambda s: (ops.step(s)[0], None), "step")
            return train(network, iterations)

    client.app.state.trainer = StepMeanwhile()
    try:
        r = client.post(f"/api/networks/{classic}/train", json={"iterations": 5})
    finally:
        client.app.state.trainer = real
    assert problem(r, 409) == "network: changed while training; train again"
    state = client.get(f"/api/networks/{classic}").json()
    assert (state["iteration"], state["phase"]) == (1, "update")  # the step, kept


def test_beyond_the_queue_a_training_is_refused_with_503():
    async def two():
        trainer = Trainer(Settings(workers=1, queue=1))
        try:
            first = asyncio.ensure_future(trainer.train(CLASSIC_NET, 1000))
            await asyncio.sleep(0)  # the first is in the pool now
            with pytest.raises(Refused) as refused:
                await trainer.train(CLASSIC_NET, 1)
            return refused.value, await first
        finally:
            trainer.close()

    refused, first = _run(two)
    assert refused.status == 503 and refused.headers["Retry-After"].isdigit()
    assert str(refused) == (
        f"iterations: the server is busy training; try again in {refused.retry_after} s"
    )
    assert len(first.losses) == 1000


def test_the_api_answers_503_with_retry_after_when_busy(monkeypatch, classic):
    monkeypatch.setenv("BACKPROP_LAB_TRAIN_QUEUE", "1")
    with app_client(create_app()) as client:
        ids = [client.post("/api/networks", json={"preset": "classic"}).json()["id"] for _ in "ab"]
        with ThreadPoolExecutor(2) as pool:
            answers = list(
                pool.map(
                    lambda id: client.post(f"/api/networks/{id}/train", json={"iterations": 3000}),
                    ids,
                )
            )
    assert sorted(r.status_code for r in answers) == [200, 503]
    busy = next(r for r in answers if r.status_code == 503)
    assert int(busy.headers["Retry-After"]) >= 1
    assert problem(busy, 503).startswith("iterations: the server is busy training; try again in")


def test_closing_the_trainer_answers_what_waits_with_503():
    async def closed_midway():
        trainer = Trainer(Settings(workers=1, queue=4))
        running = [asyncio.ensure_future(trainer.train(CLASSIC_NET, MOST_CLASSIC)) for _ in "ab"]
        await asyncio.sleep(0.5)  # the first one is running, the second waits
        trainer.close()
        return await asyncio.gather(*running, return_exceptions=True)

    for outcome in _run(closed_midway):
        assert isinstance(outcome, Refused) and outcome.status == 503, outcome
        assert str(outcome).startswith("iterations: the server is shutting down")


TOKENS: dict[str, str] = {}  # each network's owner token, from its creation


def _owner(id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[id]}"}


def _train(url: str, id: str, iterations: int) -> int | str:
    try:
        body = {"iterations": iterations}
        r = httpx.post(f"{url}/api/networks/{id}/train", json=body, headers=_owner(id), timeout=60)
    except httpx.TransportError as e:  # the connection closed without an answer
        return type(e).__name__
    return r.status_code


def _create(url: str) -> str:
    r = httpx.post(f"{url}/api/networks", json={"preset": "classic"}, timeout=5)
    assert r.status_code == 201, r.text
    TOKENS[r.json()["id"]] = r.json()["owner_token"]
    return r.json()["id"]


def test_light_work_answers_through_a_flood_of_trainings():
    with serving({"BACKPROP_LAB_TRAIN_WORKERS": "1"}) as server:
        url = server.url
        ids = [_create(url) for _ in range(51)]
        stepped = ids.pop()
        with ThreadPoolExecutor(len(ids)) as pool:
            flood = [pool.submit(_train, url, id, 10_000) for id in ids]
            # Liveness, not speed: a 5 s timeout, while the trainings run and wait.
            assert httpx.get(f"{url}/healthz", timeout=5).status_code == 200
            assert httpx.get(f"{url}/n/{stepped}", timeout=5).status_code == 200
            step = httpx.post(
                f"{url}/api/networks/{stepped}/step", headers=_owner(stepped), timeout=5
            )
            assert step.status_code == 200
            busy = [f.done() for f in flood].count(False)
            answers = [f.result() for f in flood]
        assert busy > 0, "the trainings were over before the light requests"
        assert set(answers) <= {200, 503, 429}, answers
        assert 200 in answers and 503 in answers, answers
        assert "Traceback" not in server.output()


def test_sigterm_stops_the_server_within_seconds_even_mid_training():
    queue = 16  # trainings of about 2 s each: half a minute's work
    with serving({"BACKPROP_LAB_TRAIN_QUEUE": str(queue)}) as server:
        ids = [_create(server.url) for _ in range(queue + 4)]
        with ThreadPoolExecutor(len(ids)) as pool:
            trainings = [pool.submit(_train, server.url, id, MOST_CLASSIC) for id in ids]
            # The first answer is a refusal (each training takes seconds): the queue is full.
            done = as_completed(trainings)
            assert next(done).result() == 503
            # Stopped once every request has reached it: the four beyond the queue refused (or
            # a training done, seconds later). Sooner, a request still in the listen backlog
            # would be cut by the kernel, which says nothing of the server.
            refused = 1
            while refused < len(ids) - queue and next(done).result() == 503:
                refused += 1
            server.process.send_signal(signal.SIGTERM)
            try:
                server.process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                pytest.fail(f"still running 15 s after SIGTERM:\n{server.output()}")
            answers = [f.result() for f in trainings]
        # Each training the server took answers, the ones it was running or had queued too.
        assert set(answers) <= {200, 503}, answers
        # uvicorn ends by raising the signal again, once the app has shut down.
        assert "Application shutdown complete" in server.output()


def _workers(server: int) -> list[int]:
    """The training processes the server started (Linux: read from /proc)."""
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            ppid = int(stat.read_text().rsplit(")", 1)[1].split()[1])
            command = (stat.parent / "cmdline").read_bytes()
        except (OSError, ValueError):
            continue  # ended meanwhile
        if ppid == server and b"spawn_main" in command:
            found.append(int(stat.parent.name))
    return found


def test_no_training_process_outlives_a_server_killed_with_sigkill():
    with serving() as server:
        assert _train(server.url, _create(server.url), 1) == 200
        workers = _workers(server.process.pid)
        assert workers
        server.process.kill()
        server.process.wait()
        deadline = time.monotonic() + 10
        while any(Path(f"/proc/{pid}").exists() for pid in workers):
            if time.monotonic() > deadline:
                pytest.fail(f"training processes {workers} still running 10 s after SIGKILL")
            time.sleep(0.1)


def test_a_worker_killed_is_replaced_and_the_next_training_runs():
    """A training worker killed (out of memory, an operator): the pool is started afresh
    rather than answering every later training with an error."""
    import os

    async def scenario() -> int:
        trainer = Trainer(Settings())
        try:
            await trainer.train(CLASSIC_NET, 1)
            for p in list(trainer._pool._processes.values()):
                os.kill(p.pid, signal.SIGKILL)
            time.sleep(0.5)  # the pool's manager sees it broken
            return len((await trainer.train(CLASSIC_NET, 3)).losses)
        finally:
            trainer.close()

    assert asyncio.run(scenario()) == 3
