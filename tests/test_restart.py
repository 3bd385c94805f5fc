"""Networks outlive the server: after SIGKILL in the middle of a training, and after SIGTERM.

The app runs under uvicorn as a subprocess on a free port with its SQLite file in tmp; it
is killed, then started again on the same file. What was committed is there, the owner's
token still changes it, and its history still undoes.
"""

import os
import signal
import socket
import subprocess
import sys
import threading
import time
from pathlib import Path

import httpx
import pytest

from app import session as ops

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TRAINING = 100_000  # the most one request may ask for: seconds of work on the server
EDITED = {"weights": {"w5": 0.3}}


class Server:
    """The app under uvicorn on 127.0.0.1 and a free port, on the SQLite file `db`."""

    def __init__(self, db: Path):
        with socket.socket() as s:
            s.bind((HOST, 0))
            port = s.getsockname()[1]
        self.url = f"http://{HOST}:{port}"
        self.process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST, "--port", str(port)],
            cwd=ROOT,
            env={**os.environ, "BACKPROP_LAB_DB": str(db)},
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 20
        while True:
            try:
                if httpx.get(self.url + "/healthz", timeout=1).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if self.process.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(self.stop(signal.SIGKILL))
            time.sleep(0.05)

    def stop(self, how: signal.Signals) -> str:
        """Send the signal, wait for the process to end; what it wrote to stderr."""
        if self.process.poll() is None:
            self.process.send_signal(how)
        try:
            self.process.wait(timeout=20)
        finally:
            if self.process.poll() is None:
                self.process.kill()
                self.process.wait()
        return self.process.stderr.read().decode()


@pytest.fixture
def servers(tmp_path):
    """Start servers on one database file; each is stopped at the end if still running."""
    started: list[Server] = []

    def start() -> Server:
        started.append(Server(tmp_path / "lab.db"))
        return started[-1]

    yield start
    for server in started:
        server.stop(signal.SIGKILL)


def owner(server: Server, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=server.url + "/api", headers={"Authorization": f"Bearer {token}"}, timeout=30
    )


def prepared(server: Server) -> tuple[str, str, dict]:
    """A classic network stepped to `loss` and with w5 edited: its id, token and state."""
    r = httpx.post(server.url + "/api/networks", json={"preset": "classic"})
    assert r.status_code == 201
    id, token = r.json()["id"], r.json()["owner_token"]
    with owner(server, token) as api:
        for _ in range(3):
            assert api.post(f"/networks/{id}/phase/next").status_code == 200
        assert api.patch(f"/networks/{id}", json=EDITED).status_code == 200
        state = api.get(f"/networks/{id}").json()
    assert state["phase"] == "loss"
    assert state["weights"][1][0][0] == 0.3
    return id, token, state


def classic_edited() -> ops.Session:
    """The same network as `prepared` makes, computed here."""
    s = ops.create({"preset": "classic"})
    for _ in range(3):
        s = ops.next_phase(s)
    return ops.patch(s, EDITED)


def parameters(state: dict) -> dict:
    """What a network is and where its class is: the state without its version."""
    return {k: v for k, v in state.items() if k != "version"}


def test_sigkill_mid_training_leaves_the_last_complete_state_and_the_owner_keeps_it(servers):
    first = servers()
    id, token, before = prepared(first)

    answer: dict = {}

    def train() -> None:
        try:
            with owner(first, token) as api:
                r = api.post(f"/networks/{id}/train", json={"iterations": TRAINING})
                answer["state"] = r.json()
        except httpx.TransportError as e:  # the server was killed under it
            answer["error"] = e

    training = threading.Thread(target=train)
    training.start()
    time.sleep(1.0)  # well into a training of several seconds (if not, it has completed)
    first.stop(signal.SIGKILL)
    assert first.process.returncode == -signal.SIGKILL
    training.join(timeout=30)
    assert not training.is_alive()

    second = servers()
    r = httpx.get(f"{second.url}/api/networks/{id}")
    assert r.status_code == 200  # the document reads
    after = r.json()
    # One of the complete states: from before the training, or after all of it.
    if after["version"] == before["version"]:
        assert after == before
    else:
        assert after["version"] == before["version"] + 1
        trained, _ = ops.run(classic_edited(), TRAINING)
        expected = trained.to_data()
        assert parameters(after) == parameters(expected | {"id": id, "code": before["code"]})
    # It computes, and the owner's token still changes it; nobody else's does.
    assert httpx.post(f"{second.url}/api/networks/{id}/forward").status_code == 200
    assert httpx.patch(f"{second.url}/api/networks/{id}", json=EDITED).status_code == 403
    with owner(second, token) as api:
        r = api.patch(f"/networks/{id}", json={"weights": {"w6": 0.5}})
        assert r.status_code == 200
        assert r.json()["weights"][1][0][1] == 0.5
        # Undo goes back to the state that survived, then through the history before it.
        r = api.post(f"/networks/{id}/undo")
        assert r.status_code == 200
        assert parameters(r.json()) == parameters(after)
        if after["version"] == before["version"]:
            r = api.post(f"/networks/{id}/undo")  # before the edit of w5, at `loss`
            assert r.status_code == 200
            assert r.json()["phase"] == "loss"
            assert r.json()["weights"][1][0][0] == 0.4


def test_a_network_survives_a_clean_restart(servers):
    first = servers()
    id, token, before = prepared(first)
    # uvicorn shuts down (the app's lifespan closes the store), then ends by the signal.
    assert "Application shutdown complete" in first.stop(signal.SIGTERM)

    second = servers()
    r = httpx.get(f"{second.url}/api/networks/{id}")
    assert r.status_code == 200
    assert r.json() == before
    with owner(second, token) as api:
        assert api.post(f"/networks/{id}/phase/next").json()["phase"] == "backward:2"
        assert parameters(api.post(f"/networks/{id}/undo").json()) == parameters(before)
        undone = api.post(f"/networks/{id}/undo").json()  # the edit of w5, made before
        assert undone["weights"][1][0][0] == 0.4
        assert undone["phase"] == "loss"
