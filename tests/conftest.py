import os

import pytest
from fastapi.testclient import TestClient

from app.main import create_app


@pytest.fixture
def client():
    with TestClient(create_app()) as c:
        yield c


@pytest.fixture
def classic(client) -> str:
    """The id of a new classic network."""
    r = client.post("/api/networks", json={"preset": "classic"})
    assert r.status_code == 201
    return r.json()["id"]


def required(name: str) -> bool:
    """Whether CI demands this optional part (torch, the browser) instead of a skip."""
    return os.environ.get(f"BACKPROP_LAB_REQUIRE_{name.upper()}") == "1"
