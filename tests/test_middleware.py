"""What every request and answer passes through: the body limit, the security headers
and the Origin check of form posts."""

import asyncio
from concurrent.futures import ThreadPoolExecutor

import pytest
from fastapi.testclient import TestClient

from app.main import create_app
from app.middleware import CSP, BodyLimit
from tests.conftest import SAME_ORIGIN

MIB = 1 << 20
TOO_LARGE = {
    "detail": [{"loc": ["body"], "msg": "body: larger than 1048576 bytes", "type": "too_large"}]
}
JSON = {"content-type": "application/json"}


# The body limit


def test_a_body_over_the_limit_is_413_by_its_length(client):
    r = client.post("/api/networks", content=b" " * (MIB + 1), headers=JSON)
    assert r.status_code == 413 and r.json() == TOO_LARGE


def test_a_body_at_the_limit_is_taken(client):
    body = b'{"preset": "classic"}'
    r = client.post("/api/networks", content=body.ljust(MIB), headers=JSON)
    assert r.status_code == 201


@pytest.mark.parametrize(
    "path, content_type",
    [("/api/networks", "application/json"), ("/n/x/edit", "application/x-www-form-urlencoded")],
)
def test_a_streamed_body_is_counted_as_it_arrives(client, path, content_type):
    def chunks():  # no Content-Length: sent chunked
        for _ in range(40):
            yield b" " * 65536

    r = client.post(path, content=chunks(), headers={"content-type": content_type})
    assert r.status_code == 413 and r.json() == TOO_LARGE


def _asgi(app, scope_headers: list, chunks):
    """Run app on one POST, its body from chunks; (status, body, chunks read)."""
    sent: list[dict] = []
    read = 0

    async def receive():
        nonlocal read
        read += 1
        return {"type": "http.request", "body": next(chunks), "more_body": True}

    async def send(message):
        sent.append(message)

    scope = {"type": "http", "method": "POST", "path": "/", "headers": scope_headers}
    with ThreadPoolExecutor(1) as pool:  # its own loop: a browser test's may be running here
        pool.submit(asyncio.run, app(scope, receive, send)).result()
    return sent[0]["status"], b"".join(m.get("body", b"") for m in sent[1:]), read


async def _reads_everything(scope, receive, send):
    while (await receive()).get("more_body"):
        pass
    raise AssertionError("the whole body was read")


def _endless():
    while True:
        yield b"x" * 1000


def test_the_limit_answers_before_the_app_reads_a_body():
    limited = BodyLimit(_reads_everything, limit=10_000)
    status, body, read = _asgi(limited, [(b"content-length", b"20000")], _endless())
    assert (status, read) == (413, 0)
    assert b"larger than 10000 bytes" in body


def test_an_endless_stream_stops_at_the_limit():
    limited = BodyLimit(_reads_everything, limit=10_000)
    status, _, read = _asgi(limited, [], _endless())
    assert (status, read) == (413, 11)


def test_the_limit_is_set_by_the_environment(monkeypatch):
    monkeypatch.setenv("BACKPROP_LAB_MAX_BODY", "100")
    with TestClient(create_app()) as c:
        r = c.post("/api/networks", json={"preset": "classic", "seed": 1, "inputs": [0.5] * 20})
        assert r.status_code == 413 and "larger than 100 bytes" in r.text
        assert c.post("/api/networks", json={"preset": "classic"}).status_code == 201
    monkeypatch.setenv("BACKPROP_LAB_MAX_BODY", "1 MB")
    with pytest.raises(SystemExit, match="BACKPROP_LAB_MAX_BODY"):
        create_app()


# Security headers


def _boom():
    raise RuntimeError("a bug")


@pytest.fixture
def anything():
    """A client of an app with one route that fails, answering its 500 as a server would."""
    app = create_app()
    app.add_api_route("/boom", _boom)
    with TestClient(app, headers=SAME_ORIGIN, raise_server_exceptions=False) as c:
        yield c


@pytest.mark.parametrize(
    "method, path, status, html",
    [
        ("GET", "/", 200, True),  # (after its redirect) the page
        ("GET", "/n/no-such-network", 404, True),  # the "gone" page
        ("GET", "/no/such/page", 404, False),  # Starlette's 404
        ("PUT", "/api/networks", 405, False),
        ("GET", "/api/networks/x", 404, False),
        ("GET", "/static/lab.css", 200, False),
        ("GET", "/vendor/htmx.min.js", 200, False),
        ("GET", "/boom", 500, False),
        ("POST", "/n/x/next", 403, False),  # no Origin
    ],
)
def test_every_answer_carries_the_security_headers(anything, method, path, status, html):
    headers = {"Origin": ""} if status == 403 else {}
    r = anything.request(method, path, headers=headers)
    assert r.status_code == status
    assert r.headers["X-Content-Type-Options"] == "nosniff"
    assert r.headers["Referrer-Policy"] == "same-origin"
    assert r.headers["content-type"].startswith("text/html") == html
    if html:
        assert r.headers["Content-Security-Policy"] == CSP


def test_the_413_carries_them_too(client):
    r = client.post("/api/networks", content=b" " * (MIB + 1), headers=JSON)
    assert r.status_code == 413 and r.headers["X-Content-Type-Options"] == "nosniff"


def test_the_page_keeps_its_own_caching_headers(client, classic):
    r = client.get(f"/n/{classic}")
    assert r.headers["Cache-Control"] == "no-store"
    assert "HX-Request" in r.headers["Vary"]
    assert r.headers["Content-Security-Policy"] == CSP
    assert "'unsafe-inline'" not in CSP.split("script-src")[1].split(";")[0]


# The Origin check


@pytest.mark.parametrize(
    "headers",
    [
        {"Origin": "http://evil.example"},
        {"Origin": "http://testserver:8080"},  # another port is another site
        {"Origin": "null"},  # a sandboxed or privacy-stripped page
        {"Origin": ""},  # none at all
        {"Origin": "", "Referer": "http://evil.example/page"},
    ],
)
@pytest.mark.parametrize("action", ["next", "edit", "train", "prefs", "new"])
def test_a_form_post_from_elsewhere_is_refused(client, classic, headers, action):
    before = client.get(f"/api/networks/{classic}").json()
    r = client.post(
        f"/n/{classic}/{action}", data={"w5": "0.3", "iterations": "5"}, headers=headers
    )
    assert r.status_code == 403
    assert r.text.startswith("origin: ")
    assert client.get(f"/api/networks/{classic}").json() == before


@pytest.mark.parametrize(
    "headers",
    [
        SAME_ORIGIN,
        {"Origin": "", "Referer": "http://testserver/n/x"},  # no Origin: the Referer's
        {"Origin": "https://testserver"},  # behind a proxy that ends TLS
    ],
)
def test_a_form_post_from_the_page_itself_is_taken(client, classic, headers):
    r = client.post(f"/n/{classic}/next", headers=headers, follow_redirects=False)
    assert r.status_code == 303


def test_a_form_content_type_sent_to_the_api_from_elsewhere_is_refused(client, classic):
    cross = {"Origin": "http://evil.example"}
    for content_type in ("text/plain", "application/x-www-form-urlencoded"):
        headers = cross | {"content-type": content_type}
        r = client.post(f"/api/networks/{classic}/step", content=b"x", headers=headers)
        assert r.status_code == 403
    assert client.get(f"/api/networks/{classic}").json()["iteration"] == 0


def test_json_calls_to_the_api_need_no_origin(client, classic):
    r = client.post(f"/api/networks/{classic}/step", json={}, headers={"Origin": ""})
    assert r.status_code == 200


# Compression


def test_pages_and_answers_are_compressed_for_a_browser_that_takes_gzip(client, classic):
    r = client.get(f"/n/{classic}", headers={"Accept-Encoding": "gzip, deflate, br"})
    assert r.headers["Content-Encoding"] == "gzip" and "Accept-Encoding" in r.headers["Vary"]
    assert int(r.headers["Content-Length"]) * 3 < len(r.content)  # the client unpacked it
    plain = client.get(f"/n/{classic}", headers={"Accept-Encoding": "identity"})
    assert "Content-Encoding" not in plain.headers and plain.text == r.text
    step = client.post(
        f"/n/{classic}/next", headers={"Accept-Encoding": "gzip", "HX-Request": "true"}
    )
    assert step.status_code == 200 and step.headers["Content-Encoding"] == "gzip"
    assert 'id="graph"' in step.text


def test_what_is_served_compressed_already_is_not_compressed_twice(client):
    r = client.get("/vendor/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert (
        r.headers["Content-Encoding"] == "gzip" and r.headers["Content-Encoding"].count("gzip") == 1
    )
    assert not r.content.startswith(b"\x1f\x8b") and b"htmx" in r.content[:2000]
