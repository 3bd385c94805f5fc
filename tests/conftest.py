import os

import pytest
from fastapi.testclient import TestClient

from app import settings
from app.main import create_app


@pytest.fixture
def config(tmp_path) -> settings.Settings:
    """The app's settings for a test: its own SQLite file."""
    return settings.load({}, db=str(tmp_path / "lab.db"))


@pytest.fixture
def client(config):
    """A client of the app that owns the networks it creates through the API, as an API
    user who keeps each `owner_token` would (tests of ownership use `stranger`)."""
    with TestClient(create_app(config)) as c:
        owner_of(c)
        yield c


def owner_of(client: TestClient) -> TestClient:
    tokens: dict[str, str] = {}

    def remember(response):
        if response.request.url.path == "/api/networks" and response.status_code == 201:
            response.read()
            body = response.json()
            tokens[body["id"]] = body["owner_token"]

    def send(request):
        parts = request.url.path.split("/")
        if len(parts) > 3 and parts[2] == "networks" and parts[3] in tokens:
            request.headers.setdefault("Authorization", f"Bearer {tokens[parts[3]]}")

    client.event_hooks = {"request": [send], "response": [remember]}
    return client


@pytest.fixture
def stranger(client):
    """Another client of the same app: it owns nothing."""
    with TestClient(client.app) as c:
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


def pytest_collection_modifyitems(items) -> None:
    """The browser tests last: from the first of them to the end of the session,
    Playwright's sync API keeps an event loop running in the main thread, where
    `asyncio.run` then fails (as the store's follow tests call it)."""
    items.sort(key=lambda item: "e2e" in item.path.relative_to(item.config.rootpath).parts)
