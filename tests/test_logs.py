"""The access log: one JSON line per request, without secrets, and one log only."""

import json
import time
from collections.abc import Callable

import httpx
import pytest
from fastapi.testclient import TestClient

from app import logs, settings
from app.logs import AccessLog
from app.main import create_app
from tests.server import serving

FIELDS = {"time", "method", "path", "status", "duration_ms", "client", "request_id"}
SECRET = "s3cr3t-in-the-query"


def access_lines(text: str) -> list[dict]:
    """The access lines among a server's output (the other lines are the server's own)."""
    lines = []
    for raw in text.splitlines():
        try:
            line = json.loads(raw)
        except ValueError:
            continue
        if isinstance(line, dict) and "request_id" in line:
            lines.append(line)
    return lines


def test_a_request_is_one_json_line_with_its_fields_and_no_secret(client, classic, capsys):
    capsys.readouterr()
    token = client.post("/api/networks", json={"preset": "classic"}).json()["owner_token"]
    capsys.readouterr()
    r = client.patch(
        f"/api/networks/{classic}?token={SECRET}",
        json={"weights": {"w5": 0.3}},
        headers={"Cookie": "bl_owner=cookie-secret"},
    )
    assert r.status_code == 200
    sent = r.request.headers["authorization"]
    err = capsys.readouterr().err
    assert err.count("\n") == 1, err
    line = json.loads(err)
    assert set(line) == FIELDS
    assert line["method"] == "PATCH"
    assert line["path"] == f"/api/networks/{classic}"
    assert line["status"] == 200
    assert isinstance(line["duration_ms"], float) and 0 <= line["duration_ms"] < 10_000
    assert line["client"] == "testclient"
    assert line["request_id"] == r.headers["x-request-id"]
    assert line["time"].endswith("+00:00")
    for secret in (SECRET, token, sent.split()[-1], "cookie-secret", "Bearer", "bl_owner"):
        assert secret not in err


def test_every_answer_is_logged_with_its_status(client, capsys):
    capsys.readouterr()
    client.get("/api/networks/nope")
    client.get("/no/such/page")
    client.post("/api/networks", content=b"{", headers={"content-type": "application/json"})
    lines = [json.loads(raw) for raw in capsys.readouterr().err.splitlines()]
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("GET", "/api/networks/nope", 404),
        ("GET", "/no/such/page", 404),
        ("POST", "/api/networks", 422),
    ]
    assert len({x["request_id"] for x in lines}) == 3


def test_a_plain_request_id_is_kept_and_any_other_replaced(client, capsys):
    capsys.readouterr()
    kept = client.get("/healthz", headers={"X-Request-ID": "class-7.step:12"})
    assert kept.headers["x-request-id"] == "class-7.step:12"
    forged = '", "status": 200, "x": "'
    for bad in (forged, "a" * 65, "two words"):
        r = client.get("/healthz", headers={"X-Request-ID": bad})
        assert len(r.headers["x-request-id"]) == 32 and r.headers["x-request-id"] != bad
    lines = [json.loads(raw) for raw in capsys.readouterr().err.splitlines()]
    assert lines[0]["request_id"] == "class-7.step:12"
    assert len(lines) == 4 and all(set(x) == FIELDS for x in lines)


def test_an_app_that_raises_is_logged_as_500(capsys):
    logs.configure("info")

    async def broken(scope, receive, send):
        raise RuntimeError("boom")

    with pytest.raises(RuntimeError):  # (no lifespan: this app has none)
        TestClient(AccessLog(broken)).get("/x?token=" + SECRET)
    err = capsys.readouterr().err
    line = json.loads(err)
    assert (line["method"], line["path"], line["status"]) == ("GET", "/x", 500)
    assert SECRET not in err


def test_the_log_level_is_a_setting(config, capsys):
    quiet = settings.load({"BACKPROP_LAB_LOG_LEVEL": "WARNING"}, db=config.db)
    assert quiet.log_level == "warning"
    try:
        with TestClient(create_app(quiet)) as c:
            capsys.readouterr()
            assert c.get("/healthz").status_code == 200
        assert capsys.readouterr().err == ""
    finally:
        logs.configure(settings.Settings().log_level)
    with pytest.raises(SystemExit, match="BACKPROP_LAB_LOG_LEVEL"):
        settings.load({"BACKPROP_LAB_LOG_LEVEL": "loud"})


@pytest.fixture
def served(tmp_path):
    """The app under uvicorn started as `make run` starts it; (url, what it has written)."""
    with serving({"BACKPROP_LAB_DB": str(tmp_path / "lab.db")}) as server:
        yield server.url, server.output


def _wait_for(out: Callable[[], str], count: int, seconds: float = 10) -> list[dict]:
    """The access lines after the start's probes, once there are `count` (or time is up)."""
    deadline = time.monotonic() + seconds
    while True:
        lines = [x for x in access_lines(out()) if x["path"] != "/healthz"]
        if len(lines) >= count or time.monotonic() > deadline:
            return lines
        time.sleep(0.05)


def test_a_served_request_is_logged_once_and_a_stream_when_it_ends(served):
    url, out = served
    created = httpx.post(url + "/api/networks", json={"preset": "classic"})
    id, token = created.json()["id"], created.json()["owner_token"]
    auth = {"Authorization": f"Bearer {token}"}
    assert httpx.post(f"{url}/api/networks/{id}/step?key={SECRET}", headers=auth).is_success
    opened = time.monotonic()
    with httpx.stream("GET", f"{url}/api/networks/{id}/events", timeout=5) as events:
        assert events.headers["content-type"].startswith("text/event-stream")
        received = events.iter_lines()  # kept: a generator let go closes the stream
        assert next(received) == "event: change"
        assert len(_wait_for(out, 3, seconds=0.3)) == 2  # a stream still open is not logged
    open_for = (time.monotonic() - opened) * 1000

    lines = _wait_for(out, 3)
    text = out()
    assert [(x["method"], x["path"], x["status"]) for x in lines] == [
        ("POST", "/api/networks", 201),
        ("POST", f"/api/networks/{id}/step", 200),
        ("GET", f"/api/networks/{id}/events", 200),
    ]
    assert all(set(x) >= FIELDS for x in lines) and lines[0]["client"] == "127.0.0.1"
    stream = lines[2]
    assert stream["stream"] is True and 300 <= stream["duration_ms"] <= open_for + 1000
    assert SECRET not in text and token not in text
    assert '" 200' not in text and "HTTP/1.1" not in text  # the server's own access log is off
