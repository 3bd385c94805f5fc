"""Per-client rate limits on creating, training and editing, on the API and on the page."""

import json
import os
import re
import time

import pytest
from fastapi.testclient import TestClient

from app import ratelimit
from app.main import create_app
from app.refusal import Refused
from app.view import ids
from tests.conftest import app_client, owner_of
from tests.test_pages import HX, Page

TRAIN = {"json": {"iterations": 1}}


def one_window() -> None:
    """Wait, if need be, for a new minute: the sliding window's count weighs the minute
    before by what is left of it, so a test that crosses a minute's end may find an
    earlier hit counted a little under one (rounded down: not a refusal). A test takes
    a few seconds: begun 15 s before a minute's end or later, it waits for the next."""
    left = 60 - time.time() % 60
    if left < 15:
        time.sleep(left + 0.05)


@pytest.fixture
def limited(monkeypatch):
    """An app whose every limit is 2 a minute."""
    for action in ratelimit.ACTIONS.values():
        monkeypatch.setenv(action.env, "2/minute")
    one_window()
    with app_client(create_app()) as client:
        yield client


def _page_train(c, id: str):
    """The page's Train (a live training of one iteration), answered once it has ended."""
    r = c.post(f"/n/{id}/train", data={"count": "1", "unit": "iterations"}, headers=HX)
    deadline = time.monotonic() + 30
    while r.status_code == 200 and time.monotonic() < deadline:
        if c.get(f"/api/networks/{id}/run").json()["status"] != "running":
            break
        time.sleep(0.02)
    return r


def _network(client) -> str:
    return client.post("/api/networks", json={"preset": "classic"}).json()["id"]


def _refused(r, what: str) -> None:
    assert r.status_code == 429, r.text
    wait = int(r.headers["Retry-After"])
    assert 1 <= wait <= 60
    assert f"rate: too many {what} from this client; try again in {wait} s" in r.text


def test_creating_networks_is_limited_on_the_api_and_the_page(limited):
    id = _network(limited)
    assert limited.post("/new", follow_redirects=False).status_code == 303  # the second
    _refused(limited.post("/api/networks", json={"preset": "classic"}), "new networks")
    for path in ("/new", f"/n/{id}/fork", f"/n/{id}/new"):
        _refused(limited.post(path, data={"layers": "2-2-2"}, headers=HX), "new networks")
    share = limited.get(f"/n/{id}/share", follow_redirects=False).headers["location"]
    _refused(limited.post(share), "new networks")
    scenario = limited.get(f"/api/networks/{id}/scenario").content
    _refused(limited.post("/load", files={"scenario": ("s.json", scenario)}), "new networks")
    assert limited.get("/").status_code == 200  # the start page makes none: not counted


@pytest.mark.parametrize(
    ("what", "request_"),
    [
        ("trainings", lambda c, id: c.post(f"/api/networks/{id}/train", **TRAIN)),
        ("trainings", lambda c, id: _page_train(c, id)),
        ("edits", lambda c, id: c.patch(f"/api/networks/{id}", json={"weights": {"w5": 0.3}})),
        ("edits", lambda c, id: c.post(f"/n/{id}/edit", data={"w5": "0.3"}, headers=HX)),
    ],
)
def test_training_and_editing_are_limited(limited, what, request_):
    id = _network(limited)
    for _ in range(2):
        assert request_(limited, id).status_code == 200
    before = limited.get(f"/api/networks/{id}").json()
    _refused(request_(limited, id), what)
    assert limited.get(f"/api/networks/{id}").json() == before  # refused: nothing changed


def test_the_api_and_the_page_share_one_count(limited):
    id = _network(limited)
    assert limited.post(f"/api/networks/{id}/train", **TRAIN).status_code == 200
    assert _page_train(limited, id).status_code == 200
    _refused(limited.post(f"/api/networks/{id}/train", **TRAIN), "trainings")


def test_the_page_shows_a_429_inline_in_the_lab(limited):
    id = _network(limited)
    for _ in range(2):
        limited.post(f"/n/{id}/next", headers=HX)
        limited.post(f"/n/{id}/edit", data={"w5": "0.3"}, headers=HX)
    r = limited.post(f"/n/{id}/edit", data={"w5": "0.4"}, headers=HX)
    _refused(r, "edits")
    assert "rate: too many edits" in Page(r.text).text(ids.MESSAGE)
    assert r.headers["Content-Security-Policy"].startswith("default-src 'self'")


def test_htmx_swaps_the_inline_refusals():
    """The page's htmx config swaps 409, 422, 429 and 503 answers (their inline message),
    as htmx reads it: the first rule whose code matches the status, as a regex."""
    with app_client(create_app()) as client:
        page = client.get(client.post("/new").url.path).text
    config = json.loads(re.search(r"name=\"htmx-config\" content='([^']*)'", page).group(1))

    def swaps(status: int) -> bool:
        rule = next(r for r in config["responseHandling"] if re.search(r["code"], str(status)))
        return rule["swap"]

    assert all(swaps(s) for s in (200, 409, 422, 429, 503))
    assert not any(swaps(s) for s in (204, 400, 404, 500))


def test_one_clients_limit_leaves_another_client_alone(limited):
    id = _network(limited)
    other = TestClient(limited.app, client=("192.0.2.7", 50000))  # the same app, running
    owner_of(other, limited.tokens)
    for _ in range(2):
        limited.post(f"/api/networks/{id}/train", **TRAIN)
    _refused(limited.post(f"/api/networks/{id}/train", **TRAIN), "trainings")
    assert other.post(f"/api/networks/{id}/train", **TRAIN).status_code == 200


def test_behind_a_trusted_proxy_the_client_is_the_first_forwarded_address(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_RATE_TRAIN", "1/minute")
    monkeypatch.setenv("BACKPROP_LAB_TRUST_PROXY", "1")
    one_window()
    with app_client(create_app()) as client:
        id = _network(client)

        def train(forwarded: str):
            headers = {"X-Forwarded-For": forwarded}
            return client.post(f"/api/networks/{id}/train", **TRAIN, headers=headers)

        assert train("198.51.100.1, 10.0.0.1").status_code == 200
        _refused(train("198.51.100.1, 10.0.0.2"), "trainings")
        assert train("198.51.100.2, 10.0.0.1").status_code == 200


def test_without_a_trusted_proxy_forwarded_addresses_are_ignored(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_RATE_TRAIN", "1/minute")
    one_window()
    with app_client(create_app()) as client:
        id = _network(client)
        headers = {"X-Forwarded-For": "198.51.100.1"}
        assert client.post(f"/api/networks/{id}/train", **TRAIN).status_code == 200
        r = client.post(f"/api/networks/{id}/train", **TRAIN, headers=headers)
        _refused(r, "trainings")


def test_the_storage_is_memory_unless_redis_url_is_set():
    assert ratelimit.storage_uri({}) == "async+memory://"
    assert ratelimit.storage_uri({"REDIS_URL": "redis://10.0.0.5:6379/2"}) == (
        "async+redis://10.0.0.5:6379/2"
    )


def test_a_rate_that_does_not_parse_names_its_variable():
    with pytest.raises(ValueError, match="BACKPROP_LAB_RATE_EDIT"):
        ratelimit.Limiter({"BACKPROP_LAB_RATE_EDIT": "lots"})


def test_on_redis_two_workers_share_one_count(redis_url):
    """With REDIS_URL, the counts are Redis's: two workers' limiters refuse together."""
    from starlette.requests import Request

    from tests.conftest import run_async

    env = {"REDIS_URL": redis_url, "BACKPROP_LAB_RATE_TRAIN": "3/minute"}
    scope = {"type": "http", "client": (f"198.51.100.{os.getpid() % 250}", 1), "headers": []}

    one_window()

    async def four_trainings() -> list[str]:
        workers = [ratelimit.Limiter(env), ratelimit.Limiter(env)]
        answers = []
        for k in range(4):
            try:
                await workers[k % 2].hit("train", Request(scope))
                answers.append("ok")
            except Refused as e:
                answers.append(str(e.status))
        return answers

    assert run_async(four_trainings()) == ["ok", "ok", "ok", "429"]
