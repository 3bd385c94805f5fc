"""What a follower's page costs the server when it asks for something: the lab (after a
reconnection, or in the owner's other tabs: a follower's stream brings each change's lab
itself), and a decision boundary's picture (every chunk of a live training).

Against the app under uvicorn on 127.0.0.1 (benchmarks/page.py's `serve`): one client
asks, one request at a time on one keep-alive connection, for the lab of a network it
does not own (`GET /n/{id}` with HX-Request, as static/follow.js does), drawn once for
that version and then answered from the cache, with and without gzip; for the picture of
a 2-8-8-1 network on the spiral of 200 (`GET /n/{id}/boundary.svg`, drawn once); then the
no-op `GET /healthz`. Reports the server's CPU time per request (from /proc), the wall
time, the bytes sent, and each request's ratio to the no-op. Multiply by the followers and
the chunks a second for the share of a core a class takes (benchmarks/classroom.py
--pages measures the steps' whole).

    .venv/bin/python -m benchmarks.follow [--requests 500]
"""

import argparse
import http.client
import subprocess
import time
import urllib.parse

from benchmarks.classroom import cpu_seconds
from benchmarks.knobs import SPIRAL, created
from benchmarks.page import serve


def measure(connection, pid: int, path: str, headers: dict, n: int) -> tuple[float, float, int]:
    """(server CPU ms, wall ms) per request, and the answer's bytes, over n requests."""
    size = 0
    for _ in range(20):  # warm: the lab drawn, the caches filled
        connection.request("GET", path, headers=headers)
        size = len(connection.getresponse().read())
    cpu, wall = cpu_seconds(pid), time.perf_counter()
    for _ in range(n):
        connection.request("GET", path, headers=headers)
        connection.getresponse().read()
    cpu, wall = cpu_seconds(pid) - cpu, time.perf_counter() - wall
    return cpu / n * 1000, wall / n * 1000, size


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=500, help="of each kind")
    n = parser.parse_args().requests
    with serve() as url:
        id, _ = created(url, {"preset": "classic"})
        spiral, _ = created(url, SPIRAL)
        where = urllib.parse.urlparse(url)
        pattern = f"uvicorn app.main:app .*--port {where.port}"
        pid = int(subprocess.check_output(["pgrep", "-f", pattern]).split()[0])
        connection = http.client.HTTPConnection(where.hostname, where.port)
        lab = {"HX-Request": "true"}
        rows = {
            "follower's lab, gzip": measure(
                connection, pid, f"/n/{id}", lab | {"Accept-Encoding": "gzip"}, n
            ),
            "follower's lab, identity": measure(
                connection, pid, f"/n/{id}", lab | {"Accept-Encoding": "identity"}, n
            ),
            "decision boundary's picture, gzip": measure(
                connection, pid, f"/n/{spiral}/boundary.svg", {"Accept-Encoding": "gzip"}, n
            ),
            "no-op (GET /healthz)": measure(connection, pid, "/healthz", {}, n),
        }
    peer = rows["no-op (GET /healthz)"][0]
    print(f"One client, one request at a time, {n} of each (server CPU from /proc)")
    print("| request | server CPU | × no-op | wall | bytes |")
    print("| --- | --- | --- | --- | --- |")
    for name, (cpu, wall, size) in rows.items():
        print(f"| {name} | {cpu:.2f} ms | {cpu / peer:.2f} | {wall:.2f} ms | {size} |")


if __name__ == "__main__":
    main()
