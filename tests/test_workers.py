"""Two uvicorn workers on one Redis, as a real deployment runs: no update made through
either is lost, and a follower connected to one worker sees what is done through the other.

The workers share the listening socket, so a client cannot choose one; instead each
connection's worker is found from the outside (which worker process holds the server's
end of that TCP connection, from /proc), and connections are opened until both workers
hold enough of them. Nothing is added to the app for this.
"""

import os
import re
import subprocess
import sys
import threading
import time
from collections import Counter
from contextlib import ExitStack
from pathlib import Path

import httpx
import orjson
import pytest

from app.session import create, next_phase
from tests.server import free_port, stop

ROOT = Path(__file__).resolve().parent.parent
THREADS_PER_WORKER = 4
NEXTS_PER_THREAD = 25  # 8 threads × 25 = 200 changes, beyond a whole iteration's 6 several times
STREAMS_PER_WORKER = 3
STEPS = 8

pytestmark = pytest.mark.skipif(not Path("/proc/net/tcp").exists(), reason="needs Linux /proc")


class Server:
    def __init__(self, url: str, port: int, pid: int):
        self.url, self.port, self.pid = url, port, pid


@pytest.fixture(scope="module")
def server(redis_url, tmp_path_factory):
    """`uvicorn app.main:app --workers 2` on the test Redis (a database of its own)."""
    port = free_port()
    env = os.environ | {
        "REDIS_URL": redis_url.rsplit("/", 1)[0] + "/1",
        "BACKPROP_LAB_HISTORY": "1000",  # room for every change of the test in the history
    }
    args = [sys.executable, "-m", "uvicorn", "app.main:app", "--workers", "2"]
    args += ["--host", "127.0.0.1", "--port", str(port), "--timeout-keep-alive", "120"]
    args += ["--timeout-graceful-shutdown", "5"]
    log = tmp_path_factory.mktemp("workers") / "uvicorn.log"
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    try:
        url = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 60
        while True:
            if proc.poll() is not None:
                pytest.fail(f"uvicorn exited: {log.read_text()}")
            try:
                if httpx.get(f"{url}/readyz", timeout=5).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"uvicorn did not answer within 60 s: {log.read_text()}")
            time.sleep(0.1)
        yield Server(url, port, proc.pid)
    finally:
        stop(proc, 30)


def worker_of(server: Server, response: httpx.Response) -> int | None:
    """The pid of the worker process holding the server's end of this response's connection."""
    sock = response.extensions["network_stream"].get_extra_info("socket")
    inode = _server_inode(server.port, sock.getsockname()[1])
    if inode is None:
        return None
    target = f"socket:[{inode}]"
    for pid in _children(server.pid):
        try:
            fds = os.listdir(f"/proc/{pid}/fd")
        except OSError:
            continue
        for fd in fds:
            try:
                if os.readlink(f"/proc/{pid}/fd/{fd}") == target:
                    return pid
            except OSError:
                continue
    return None


def _server_inode(server_port: int, client_port: int) -> str | None:
    for table in ("/proc/net/tcp", "/proc/net/tcp6"):
        with open(table) as f:
            next(f)
            for line in f:
                fields = line.split()
                local, remote, inode = fields[1], fields[2], fields[9]
                if (
                    int(local.rsplit(":", 1)[1], 16) == server_port
                    and int(remote.rsplit(":", 1)[1], 16) == client_port
                    and inode != "0"
                ):
                    return inode
    return None


def _children(pid: int) -> list[int]:
    found = []
    for entry in os.listdir("/proc"):
        if entry.isdigit():
            try:
                with open(f"/proc/{entry}/stat") as f:
                    stat = f.read()
            except OSError:
                continue
            if int(stat.rsplit(")", 1)[1].split()[1]) == pid:  # the field after the state
                found.append(int(entry))
    return found


def spread(server: Server, per_worker: int, connect) -> dict[int, list]:
    """Connections (made by `connect`, which returns one and its response) until each of
    the two workers holds `per_worker` of them: {worker pid: [connection, ...]}."""
    by_worker: dict[int, list] = {}
    extra = []
    for _ in range(400):
        conn, response = connect()
        pid = worker_of(server, response)
        if pid is not None and len(by_worker.setdefault(pid, [])) < per_worker:
            by_worker[pid].append(conn)
        else:
            extra.append(conn)
        full = [p for p, conns in by_worker.items() if len(conns) == per_worker]
        if len(full) == 2:
            return by_worker | {0: extra}  # the extra ones stay open too (pid 0: either)
        time.sleep(0.01)  # lets the other worker win an accept now and then
    pytest.fail(f"connections did not spread over two workers: {Counter(by_worker)}")


def test_two_workers_lose_no_update_and_followers_see_both(server):
    with ExitStack() as stack:
        created = httpx.post(f"{server.url}/api/networks", json={"preset": "classic"}).json()
        id, token = created["id"], created["owner_token"]
        auth = {"Authorization": f"Bearer {token}"}
        api = f"/api/networks/{id}"

        def client() -> tuple[httpx.Client, httpx.Response]:
            c = stack.enter_context(
                httpx.Client(
                    base_url=server.url,
                    headers=auth,
                    timeout=30,
                    limits=httpx.Limits(max_connections=1),
                )
            )
            return c, c.get("/healthz")

        writers = spread(server, THREADS_PER_WORKER, client)
        workers = sorted(p for p in writers if p)

        # Concurrent changes through both workers: each next is a read-modify-write of the
        # stored network, so a lost update would show in the version, the history or the
        # parameters (200 nexts are 33 whole iterations applied one after another).
        served: Counter = Counter()
        failures: list[str] = []

        def work(c: httpx.Client, pid: int) -> None:
            for _ in range(NEXTS_PER_THREAD):
                r = c.post(f"{api}/phase/next")
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text}")
                    return
                served[worker_of(server, r) or pid] += 1

        threads = [
            threading.Thread(target=work, args=(c, pid)) for pid in workers for c in writers[pid]
        ]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert failures == []
        total = len(threads) * NEXTS_PER_THREAD
        assert set(served) == set(workers) and sum(served.values()) == total

        expected = create({"preset": "classic"})
        for _ in range(total):
            expected = next_phase(expected)
        for c in (writers[workers[0]][0], writers[workers[1]][0]):  # read through each worker
            state = c.get(api).json()
            assert state["version"] == 1 + total
            assert (state["iteration"], state["phase"]) == (expected.iteration, expected.phase)
            assert state["weights"] == expected.to_data()["weights"]
            history = c.get(f"{api}/history").json()
            assert [e["seq"] for e in history["entries"]] == list(range(1, total + 2))
            assert [e["action"] for e in history["entries"]] == ["create"] + ["next"] * total

        # Followers on both workers; each step through one worker or the other reaches all.
        final = state

        def stream() -> tuple[object, httpx.Response]:
            c = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
            response = stack.enter_context(c.stream("GET", f"{api}/events"))
            events = sse(response)
            assert next(events) == ("change", {**_change(final), "action": "open"})
            return events, response

        streams = [
            s for conns in spread(server, STREAMS_PER_WORKER, stream).values() for s in conns
        ]
        for events in streams:  # every follower, on either worker, is counted
            assert _until(
                events, lambda e: e == ("followers", {"id": id, "followers": len(streams)})
            )
        for c in (writers[workers[0]][0], writers[workers[1]][0]):  # the owner's page says so
            page = c.get(f"/n/{id}", headers={"Cookie": f"bl_owner={token}"}).text
            assert re.search(r'id="followers">(\d+)<', page)[1] == str(len(streams))

        versions = []
        for i in range(STEPS):
            r = writers[workers[i % 2]][0].post(f"{api}/phase/next")
            assert r.status_code == 200
            versions.append(r.json()["version"])
            for events in streams:
                seen = _until(events, lambda e: e[0] == "change")
                assert seen[1]["version"] == versions[-1]
                assert seen[1] == {**_change(r.json()), "action": "next"}
        assert versions == list(range(total + 2, total + 2 + STEPS))


def _change(state: dict) -> dict:
    return {k: state[k] for k in ("id", "version", "iteration", "phase")} | {"run": None}


def sse(response: httpx.Response):
    """(event, data) of each server-sent event, as they come."""
    kind, data = "message", []
    for line in response.iter_lines():
        if line == "":
            if data:
                yield kind, orjson.loads("\n".join(data))
            kind, data = "message", []
        elif line.startswith("event:"):
            kind = line[6:].strip()
        elif line.startswith("data:"):
            data.append(line[5:].lstrip())


def _until(events, wanted):
    """The first event that is wanted (reading on; the client's timeout bounds the wait)."""
    for e in events:
        if wanted(e):
            return e
    raise AssertionError("the stream ended")


def test_a_live_training_run_by_one_worker_is_followed_and_stopped_through_the_other(server):
    with ExitStack() as stack:

        def connect():
            c = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
            return c, c.get("/healthz")

        workers = spread(server, 1, connect)
        (a, (one,)), (b, (other,)) = [(p, cs) for p, cs in workers.items() if p][:2]
        made = one.post("/api/networks", json={"preset": "classic"}).json()
        api, auth = (
            f"/api/networks/{made['id']}",
            {"Authorization": f"Bearer {made['owner_token']}"},
        )
        events = sse(stack.enter_context(other.stream("GET", f"{api}/events")))
        assert next(events)[1]["action"] == "open"
        started = one.post(f"{api}/run", json={"iterations": 100000}, headers=auth)
        assert started.status_code == 202  # runs on worker `a`
        chunks = 0
        while chunks < 2:  # the other worker's follower sees its chunks
            kind, data = next(events)
            chunks += kind == "change" and data["action"] == "train" and data["run"] == "running"
        stopped = other.post(f"{api}/run/stop", headers=auth)  # through worker `b`
        assert stopped.status_code == 200 and stopped.json()["status"] == "stopped"
        time.sleep(1.0)  # the chunk in flight on `a` is not stored
        done = one.get(f"{api}/run").json()["done"]
        assert 0 < done == one.get(api).json()["iteration"] == other.get(api).json()["iteration"]
        assert a != b


def test_a_followers_page_on_one_worker_is_brought_the_lab_of_a_step_made_through_the_other(
    server,
):
    with ExitStack() as stack:

        def connect():
            c = stack.enter_context(httpx.Client(base_url=server.url, timeout=30))
            return c, c.get("/healthz")

        workers = spread(server, 1, connect)
        (_, (one,)), (_, (other,)) = [(p, cs) for p, cs in workers.items() if p][:2]
        made = one.post("/api/networks", json={"preset": "classic"}).json()
        id, auth = made["id"], {"Authorization": f"Bearer {made['owner_token']}"}
        plain = {"Accept-Encoding": "identity"}
        page = stack.enter_context(other.stream("GET", f"/n/{id}/events?lang=zh", headers=plain))
        lines = page.iter_lines()
        assert next(lines) == "event: change" and '"action":"open"' in next(lines)
        assert one.post(f"/api/networks/{id}/phase/next", headers=auth).status_code == 200
        while next(lines) != "event: lab":  # drawn by the follower's worker, from Redis
            pass
        head = orjson.loads(next(lines).removeprefix("data: "))
        assert head == {"version": 2, "swap": "lab", "view": "lang=zh"}
        body = ""
        while (line := next(lines)) != "":
            body += line.removeprefix("data: ") + "\n"
        assert 'data-phase="forward:1"' in body and "前向" in body
