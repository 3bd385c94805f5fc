"""The app under a real uvicorn on 127.0.0.1, for tests that need its processes and sockets."""

import os
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO

ROOT = Path(__file__).resolve().parents[1]
HOST = "127.0.0.1"
# As `make run` and the Dockerfile serve it.
GRACE = ("--timeout-graceful-shutdown", "3", "--no-access-log")


@dataclass
class Server:
    url: str
    process: subprocess.Popen
    log: IO[bytes]

    def output(self) -> str:
        self.log.seek(0)
        return self.log.read().decode(errors="replace")


def free_port() -> int:
    with socket.socket() as s:
        s.bind((HOST, 0))
        return s.getsockname()[1]


@contextmanager
def serving(env: dict[str, str] | None = None, args: tuple[str, ...] = GRACE) -> Iterator[Server]:
    """uvicorn on a free port, with `env` added to this environment; stopped by its own pid."""
    port = free_port()
    command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST]
    # The log goes to a file, not a pipe: a full pipe would block the server mid-test.
    with tempfile.TemporaryFile() as log:
        process = subprocess.Popen(
            [*command, "--port", str(port), *args],
            cwd=ROOT,
            env=os.environ | (env or {}),
            stdout=subprocess.DEVNULL,
            stderr=log,
        )
        yield from _running(Server(f"http://{HOST}:{port}", process, log))


def _running(server: Server) -> Iterator[Server]:
    process = server.process
    deadline = time.monotonic() + 20
    while True:
        try:
            with urllib.request.urlopen(server.url + "/healthz", timeout=1):
                break
        except OSError:
            if process.poll() is not None or time.monotonic() > deadline:
                process.kill()
                raise RuntimeError(server.output()) from None
            time.sleep(0.1)
    try:
        yield server
    finally:
        stop(process)


def stop(process: subprocess.Popen, seconds: float = 10) -> None:
    """Terminate a server the tests started, by its own pid; kill it if it lingers."""
    if process.poll() is None:
        process.terminate()
        try:
            process.wait(timeout=seconds)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


@contextmanager
def serve(data: Path, env: dict[str, str] | None = None) -> Iterator[str]:
    """The server's URL, once /healthz answers; its networks in a SQLite file in `data`."""
    with serving({"BACKPROP_LAB_DB": str(data / "lab.db"), **(env or {})}) as server:
        yield server.url
