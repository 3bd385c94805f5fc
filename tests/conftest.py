import asyncio
import itertools
import os
import shutil
import socket
import subprocess
import tempfile
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app import settings
from app.main import create_app
from app.pages import OWNER_COOKIE
from tests.server import free_port, stop

# What a browser sends with every form post from the page (see app.middleware.OriginCheck).
SAME_ORIGIN = {"Origin": "http://testserver"}

# An app made without settings of its own (create_app()), and every server a test starts,
# keep their networks here, never in the checkout's backprop-lab.db.
os.environ["BACKPROP_LAB_DB"] = os.path.join(tempfile.mkdtemp(prefix="backprop-lab-"), "lab.db")


@contextmanager
def app_client(app, **options) -> Iterator[TestClient]:
    """A browser-like client of `app` (same-origin posts) that owns what it creates."""
    with TestClient(app, headers=SAME_ORIGIN, **options) as c:
        yield owner_of(c)


@pytest.fixture
def config(tmp_path) -> settings.Settings:
    """The app's settings for a test: its own SQLite file."""
    return settings.load({}, db=str(tmp_path / "lab.db"))


@pytest.fixture
def client(config):
    """A client of the app that owns the networks it creates through the API, on the API
    and on the page, as a user who keeps each `owner_token` would (tests of ownership use
    `stranger`)."""
    with TestClient(create_app(config), headers=SAME_ORIGIN) as c:
        owner_of(c)
        yield c


def owner_of(client: TestClient, tokens: dict[str, str] | None = None) -> TestClient:
    """The client, made the owner of the networks it creates (or of those `tokens` has)."""
    tokens = {} if tokens is None else tokens
    client.tokens = tokens  # type: ignore[attr-defined]

    def remember(response):
        if response.request.url.path == "/api/networks" and response.status_code == 201:
            response.read()
            body = response.json()
            tokens[body["id"]] = body["owner_token"]

    def send(request):
        parts = request.url.path.split("/")
        if len(parts) > 3 and parts[2] == "networks" and parts[3] in tokens:
            request.headers.setdefault("Authorization", f"Bearer {tokens[parts[3]]}")
        if len(parts) > 2 and parts[1] == "n" and parts[2] in tokens:  # the page's cookie
            cookie = request.headers.get("Cookie")
            owner = f"{OWNER_COOKIE}={tokens[parts[2]]}"
            request.headers["Cookie"] = f"{cookie}; {owner}" if cookie else owner

    client.event_hooks = {"request": [send], "response": [remember]}
    return client


@pytest.fixture
def stranger(client):
    """Another client of the same app: it owns nothing."""
    with TestClient(client.app, headers=SAME_ORIGIN) as c:
        yield c


@pytest.fixture
def classic(client) -> str:
    """The id of a new classic network (owned by `client`)."""
    r = client.post("/api/networks", json={"preset": "classic"})
    assert r.status_code == 201
    return r.json()["id"]


def required(name: str) -> bool:
    """Whether CI demands this optional part (torch, the browser) instead of a skip."""
    return os.environ.get(f"BACKPROP_LAB_REQUIRE_{name.upper()}") == "1"


def run_async(coroutine):
    """asyncio.run on a thread of its own: once the browser tests have run, Playwright keeps
    an event loop running in the main thread for the rest of the session."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


@pytest.fixture(scope="session")
def redis_url(tmp_path_factory):
    """A redis-server of the test run's own on 127.0.0.1 (nothing persisted), its URL;
    without redis-server the tests that need it skip, except in CI."""
    server = shutil.which("redis-server")
    if server is None:
        why = "redis-server is not installed (apt-get install redis-server)"
        if required("redis"):
            pytest.fail(why)
        pytest.skip(why)
    port = free_port()
    log = tmp_path_factory.mktemp("redis") / "redis.log"
    args = [server, "--port", str(port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no"]
    with open(log, "wb") as out:
        proc = subprocess.Popen(args, stdout=out, stderr=subprocess.STDOUT)
    try:
        _wait_for_port(port, proc, log)
        yield f"redis://127.0.0.1:{port}/0"
    finally:
        stop(proc)


def _wait_for_port(port: int, proc: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            pytest.fail(f"redis-server exited: {log.read_text()}")
        try:
            socket.create_connection(("127.0.0.1", port), timeout=1).close()
            return
        except OSError:
            time.sleep(0.05)
    pytest.fail(f"redis-server did not listen on port {port} within 30 s")


_prefixes = itertools.count()


@pytest.fixture
def redis_stores(redis_url):
    """A maker of stores on the test Redis; each test has keys of its own (a prefix)."""
    from app.store import Store
    from app.store.redis import open_redis

    prefix = f"test{os.getpid()}-{next(_prefixes)}:"

    def make(**options) -> Store:
        return Store(*open_redis(redis_url, prefix=prefix), **options)

    return make


def pytest_collection_modifyitems(items) -> None:
    """The browser tests last: from the first of them to the end of the session,
    Playwright's sync API keeps an event loop running in the main thread, where
    `asyncio.run` then fails (as the store's follow tests call it)."""
    items.sort(key=lambda item: "e2e" in item.path.relative_to(item.config.rootpath).parts)
