"""A class at once: many students stepping and editing their own networks, over HTTP.

Starts the app under uvicorn (one worker) on 127.0.0.1, creates one classic network per
student, then drives each endpoint with `wrk` (Debian package `wrk`) from `--clients`
connections, each request on a random student's network. Prints each endpoint's
throughput and median latency with their ratio to a no-op endpoint (`GET /healthz`)
measured the same way in the same run. wrk shares the machine's cores with the server.

    .venv/bin/python -m benchmarks.api [--clients 30] [--seconds 5]
"""

import argparse
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

CALLS = {
    "GET /healthz (no-op)": ("GET", "/healthz", ""),
    "GET state": ("GET", "/api/networks/{id}", ""),
    "POST forward": ("POST", "/api/networks/{id}/forward", ""),
    "POST phase/next": ("POST", "/api/networks/{id}/phase/next", ""),
    "POST step": ("POST", "/api/networks/{id}/step", ""),
    "PATCH w5": ("PATCH", "/api/networks/{id}", '{"weights": {"w5": 0.3}}'),
}

LUA = """
local ids = {%s}
local tokens = {%s}
local method, body = "%s", '%s'
request = function()
  local k = math.random(#ids)
  local path = string.gsub("%s", "{id}", ids[k])
  local headers = {["Content-Type"] = "application/json",
                   ["Authorization"] = "Bearer " .. tokens[k]}
  return wrk.format(method, path, headers, body ~= "" and body or nil)
end
done = function(summary, latency, requests)
  io.write(string.format("RESULT %%d %%d %%f\\n", summary.requests, summary.errors.status,
                         latency:percentile(50) / 1000))
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def post(url: str, body: dict) -> dict:
    req = urllib.request.Request(
        url, json.dumps(body).encode(), {"content-type": "application/json"}, method="POST"
    )
    with urllib.request.urlopen(req) as r:
        return json.load(r)


def main() -> None:
    p = argparse.ArgumentParser()
    p.add_argument("--clients", type=int, default=30)
    p.add_argument("--seconds", type=int, default=5)
    args = p.parse_args()
    if not shutil.which("wrk"):
        sys.exit("benchmarks.api needs wrk: apt-get install wrk")
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    db = tempfile.TemporaryDirectory()
    server = subprocess.Popen(
        [
            sys.executable,
            "-m",
            "uvicorn",
            "app.main:app",
            "--no-access-log",  # as served: the app's own access log only
            "--host",
            "127.0.0.1",
            "--port",
            str(port),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
        # The rate limits are for a class's clients; this one client is a load generator.
        env={
            **os.environ,
            "BACKPROP_LAB_DB": str(Path(db.name) / "lab.db"),
            "BACKPROP_LAB_RATE_EDIT": "100000000/minute",
        },
    )
    try:
        for _ in range(100):
            try:
                urllib.request.urlopen(f"{base}/healthz")
                break
            except OSError:
                time.sleep(0.1)
        made = [post(f"{base}/api/networks", {"preset": "classic"}) for _ in range(args.clients)]
        ids = [m["id"] for m in made]
        tokens = ",".join(f'"{m["owner_token"]}"' for m in made)
        print(f"{args.clients} connections, {args.seconds} s per call, one uvicorn worker")
        print(f"{'call':<22}{'req/s':>8}{'median ms':>11}{'× no-op req/s':>15}")
        baseline = None
        with tempfile.TemporaryDirectory() as tmp:
            for name, (method, path, body) in CALLS.items():
                script = Path(tmp) / "call.lua"
                quoted = ",".join(f'"{i}"' for i in ids)
                script.write_text(LUA % (quoted, tokens, method, body, path))
                out = subprocess.run(
                    ["wrk", "-t2", f"-c{args.clients}", f"-d{args.seconds}s", "-s", script, base],
                    capture_output=True,
                    text=True,
                    check=True,
                ).stdout
                requests, errors, median_ms = re.search(
                    r"RESULT (\d+) (\d+) ([\d.]+)", out
                ).groups()
                assert int(errors) == 0, f"{name}: {errors} non-2xx answers"
                rps = int(requests) / args.seconds
                baseline = baseline or rps
                print(f"{name:<22}{rps:>8.0f}{float(median_ms):>11.2f}{rps / baseline:>14.2f}×")
    finally:
        server.terminate()
        server.wait()
        db.cleanup()


if __name__ == "__main__":
    main()
