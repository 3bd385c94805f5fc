"""Light work through a flood of trainings: /healthz and a step, idle and while trainings pour in.

Starts the app under uvicorn (one worker, the default training pool) on 127.0.0.1, then
measures the latency of `GET /healthz` and `POST …/step` (one request at a time, on one
keep-alive connection each) while idle, and again while `--trainers` clients each send
trainings of 10,000 classic iterations back to back on their own networks, each again
after Retry-After when refused (rate limits raised for the run, so the pool's queue is
what refuses). Prints p50 and p99 of both,
and their ratio during the flood to idle in the same run, with what the trainings were
answered; then how long the largest training allowed takes, on the smallest network, the
classic one and the largest (the budget `session.MAX_WORK` is meant to be about 2 s),
served and in this process (the machine's speed now, for comparison).

    .venv/bin/python -m benchmarks.flood [--trainers 50] [--requests 300]
"""

import argparse
import os
import socket
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from pathlib import Path

import httpx
import numpy as np

from app import session as ops
from app.engine import train

ROOT = Path(__file__).resolve().parents[1]
SHAPES = {
    "1-1": {"layers": [1, 1], "inputs": [0.5], "targets": [0.2]},
    "2-2-2 classic": {"preset": "classic"},
    "16×8 layers": {"layers": [16] * 8, "inputs": [0.1] * 16, "targets": [0.5] * 16},
}


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


TOKENS: dict[str, str] = {}  # each network's owner token


def create(client: httpx.Client, body: dict) -> str:
    r = client.post("/api/networks", json=body)
    r.raise_for_status()
    TOKENS[r.json()["id"]] = r.json()["owner_token"]
    return r.json()["id"]


def owner(id: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {TOKENS[id]}"}


def latencies(base: str, step_id: str, n: int) -> dict[str, np.ndarray]:
    """n requests of each kind, alternating, one at a time: seconds each."""
    times: dict[str, list[float]] = {"GET /healthz": [], "POST step": []}
    with httpx.Client(base_url=base, timeout=30) as client:
        for _ in range(n):
            for name, (method, path) in {
                "GET /healthz": ("GET", "/healthz"),
                "POST step": ("POST", f"/api/networks/{step_id}/step"),
            }.items():
                t = time.perf_counter()
                headers = owner(step_id) if method == "POST" else {}
                client.request(method, path, headers=headers).raise_for_status()
                times[name].append(time.perf_counter() - t)
    return {k: np.array(v) for k, v in times.items()}


def flood(base: str, ids: list[str], stop: threading.Event, answers: Counter) -> None:
    def trainer(id: str) -> None:
        with httpx.Client(base_url=base, timeout=120) as client:
            while not stop.is_set():
                body = {"iterations": 10_000}
                r = client.post(f"/api/networks/{id}/train", json=body, headers=owner(id))
                answers[r.status_code] += 1
                if r.status_code == 503:  # as asked: again after Retry-After seconds
                    stop.wait(float(r.headers["Retry-After"]))

    threads = [threading.Thread(target=trainer, args=(id,)) for id in ids]
    for t in threads:
        t.start()
    return threads


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--trainers", type=int, default=50)
    p.add_argument("--requests", type=int, default=300)
    args = p.parse_args()
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    data = tempfile.TemporaryDirectory()
    env = os.environ | {
        "BACKPROP_LAB_RATE_TRAIN": "1000000/minute",
        "BACKPROP_LAB_DB": str(Path(data.name) / "lab.db"),
        "BACKPROP_LAB_LOG_LEVEL": "warning",
    }
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--port",
            str(port),
            "--log-level",
            "warning",
            "--no-access-log",
        ],
        cwd=ROOT,
        env=env,
    )
    try:
        with httpx.Client(base_url=base, timeout=30) as client:
            for _ in range(100):
                try:
                    client.get("/healthz")
                    break
                except httpx.TransportError:
                    time.sleep(0.1)
            step_id = create(client, {"preset": "classic"})
            ids = [create(client, {"preset": "classic"}) for _ in range(args.trainers)]
            one = {"iterations": 1}  # starts the pool
            client.post(f"/api/networks/{ids[0]}/train", json=one, headers=owner(ids[0]))

            idle = latencies(base, step_id, args.requests)
            stop, answers = threading.Event(), Counter()
            threads = flood(base, ids, stop, answers)
            time.sleep(1)  # the queue fills
            busy = latencies(base, step_id, args.requests)
            stop.set()
            for t in threads:
                t.join()

            print(f"{args.trainers} clients training back to back; {args.requests} of each call")
            print(
                f"{'call':<14} {'idle p50':>9} {'p99':>9} {'flood p50':>10} {'p99':>9}"
                f" {'× p50':>6} {'× p99':>6}"
            )
            for name in idle:
                a, b = np.percentile(idle[name], [50, 99]), np.percentile(busy[name], [50, 99])
                print(
                    f"{name:<14} {a[0] * 1e3:7.2f}ms {a[1] * 1e3:7.2f}ms {b[0] * 1e3:8.2f}ms"
                    f" {b[1] * 1e3:7.2f}ms {b[0] / a[0]:6.2f} {b[1] / a[1]:6.2f}"
                )
            print("trainings answered:", dict(sorted(answers.items())))

            print("\nthe largest training allowed, one at a time: over HTTP, and the engine here")
            for name, body in SHAPES.items():
                state = ops.create(body).state
                most = min(ops.MAX_ITERATIONS, ops.MAX_WORK // ops.work(state))
                id = create(client, body)
                t = time.perf_counter()
                r = client.post(
                    f"/api/networks/{id}/train",
                    json={"iterations": most},
                    headers=owner(id),
                    timeout=120,
                )
                r.raise_for_status()
                served = time.perf_counter() - t
                t = time.perf_counter()
                train(state, most)
                here = time.perf_counter() - t
                print(f"  {name:<14} {most:>6} iterations: {served:5.2f} s, engine {here:5.2f} s")
    finally:
        server.terminate()
        server.wait(timeout=20)
        data.cleanup()


if __name__ == "__main__":
    main()
