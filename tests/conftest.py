import os
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager

import pytest
from fastapi.testclient import TestClient

from app import settings
from app.main import create_app
from app.pages import OWNER_COOKIE

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
