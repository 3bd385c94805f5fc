import os

import pytest
from fastapi.testclient import TestClient

from app.main import create_app

# What a browser sends with every form post from the page (see app.middleware.OriginCheck).
SAME_ORIGIN = {"Origin": "http://testserver"}


@pytest.fixture
def client():
    with TestClient(create_app(), headers=SAME_ORIGIN) as c:
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
