"""Owners and followers: only the owner changes a network; anyone may read, follow, fork."""

import pytest

from tests.test_pages import HX, Page

CHANGES = [
    ("patch", "", {"learning_rate": 0.1}),
    ("post", "/step", None),
    ("post", "/train", {"iterations": 5}),
    ("post", "/run", {"iterations": 5}),
    ("post", "/run/stop", None),
    ("post", "/phase/next", None),
    ("post", "/phase/prev", None),
    ("post", "/reset", None),
    ("post", "/undo", None),
    ("post", "/redo", None),
    ("post", "/history/1", None),
    ("delete", "", None),
]


@pytest.mark.parametrize(("method", "path", "body"), CHANGES)
def test_only_the_owner_changes_a_network(client, stranger, classic, method, path, body):
    before = client.get(f"/api/networks/{classic}").json()
    url = f"/api/networks/{classic}{path}"
    for headers in ({}, {"Authorization": "Bearer not-the-token"}, {"Authorization": "Basic x"}):
        r = stranger.request(method, url, json=body, headers=headers)
        assert r.status_code == 403, r.text
        assert r.json()["detail"][0]["msg"].startswith("authorization: only the owner")
    assert client.get(f"/api/networks/{classic}").json() == before


def test_the_openapi_document_names_the_owner_scheme_on_every_change_and_only_there(client):
    """The routes that change a network read the token from the request themselves (not
    a FastAPI dependency): their operations still name the scheme, and the document
    defines it."""
    doc = client.get("/openapi.json").json()
    assert doc["components"]["securitySchemes"]["OwnerToken"] == {
        "type": "http",
        "scheme": "bearer",
        "description": "The `owner_token` of the 201 answer that created the network.",
    }
    secured = {
        (method, path)
        for path, operations in doc["paths"].items()
        for method, operation in operations.items()
        if operation.get("security") == [{"OwnerToken": []}]
    }
    changes = {(m, "/api/networks/{id}" + p.replace("/1", "/{seq}")) for m, p, _ in CHANGES}
    assert secured == changes


def test_the_token_is_given_once_and_reading_needs_none(client, stranger, classic):
    state = stranger.get(f"/api/networks/{classic}").json()
    assert "owner_token" not in state and len(state["code"]) == 6
    assert stranger.post(f"/api/networks/{classic}/forward").status_code == 200
    assert stranger.get(f"/api/networks/{classic}/history").status_code == 200


def test_undo_redo_and_jump_through_the_api(client, classic):
    base = f"/api/networks/{classic}"
    client.post(base + "/phase/next")
    client.patch(base, json={"weights": {"w5": 0.3}})
    history = client.get(base + "/history").json()
    assert [e["action"] for e in history["entries"]] == ["create", "next", "edit"]
    assert history["cursor"] == 3
    undone = client.post(base + "/undo").json()
    assert undone["weights"][1][0][0] == 0.4 and undone["phase"] == "forward:1"
    assert client.post(base + "/redo").json()["weights"][1][0][0] == 0.3
    assert client.post(base + "/history/1").json()["phase"] == "ready"
    r = client.post(base + "/history/99")
    assert r.status_code == 422 and r.json()["detail"][0]["msg"].startswith("history:")


def page_of(client, path: str) -> Page:
    r = client.get(path)
    assert r.status_code == 200
    return Page(r.text)


@pytest.fixture
def owned(client) -> str:
    """A network started on the page by `client`, its path."""
    return client.post("/new", follow_redirects=False).headers["location"]


def test_a_follower_sees_a_read_only_lab(client, stranger, owned):
    mine, theirs = page_of(client, owned), page_of(stranger, owned)
    assert {"btn-next", "btn-undo", "join-code"} <= set(mine.ids)
    assert "btn-next" not in theirs.ids and "btn-undo" not in theirs.ids
    assert "btn-fork" in theirs.ids
    assert not any(i.startswith("f-") for i in theirs.ids)  # no edit field
    assert theirs.attr("follow", "sse-connect") == owned + "/events"


def test_a_forged_post_from_a_follower_is_refused(client, stranger, owned):
    before = page_of(client, owned).attr("status", "data-version")
    for action in ("next", "step", "reset", "undo", "train", "stop"):
        data = {"count": "5", "unit": "iterations"}
        r = stranger.post(f"{owned}/{action}", data=data, headers=HX)
        assert r.status_code == 403
        assert "only its owner can change it" in Page(r.text).text("message")
    assert page_of(client, owned).attr("status", "data-version") == before


def test_a_follower_forks_a_copy_of_its_own(client, stranger, owned):
    client.post(f"{owned}/next", headers=HX)
    r = stranger.post(f"{owned}/fork", follow_redirects=False)
    assert r.status_code == 303
    copy = r.headers["location"]
    assert copy != owned
    page = page_of(stranger, copy)
    assert "btn-next" in page.ids and page.attr("status", "data-phase") == "forward:1"
    assert stranger.post(f"{copy}/next", headers=HX).status_code == 200
    assert page_of(client, owned).attr("status", "data-phase") == "forward:1"


def test_a_join_code_opens_the_network(client, stranger, owned):
    code = page_of(client, owned).text("join-code")
    r = stranger.get("/join", params={"code": code.lower()}, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == owned
    r = stranger.get("/join", params={"code": "ZZZZZZ"})
    assert r.status_code == 404 and "ZZZZZZ" in Page(r.text).text("join-error")


def test_the_owner_sees_the_follow_link_as_a_qr_code(client, owned):
    r = client.get(owned)
    assert '<svg role="img" class="qr"' in r.text
    assert Page(r.text).attr("follow-link", "href") == owned


def test_the_timeline_jumps_back_to_an_earlier_iteration(client, owned):
    for _ in range(7 + 3):  # iteration 1 whole, then into iteration 2
        client.post(f"{owned}/next", headers=HX)
    page = page_of(client, owned)
    assert page.attr("history-2", "aria-current") == "step" and "history-1" in page.ids
    r = client.post(f"{owned}/history/1", headers=HX)
    assert r.status_code == 200
    page = page_of(client, owned)
    assert page.attr("status", "data-phase") == "update"  # iteration 1 as far as it went
    assert page.attr("status", "data-iteration") == "1"
    assert page.attr("history-1", "aria-current") == "step"
    r = client.post(f"{owned}/history/9", headers=HX)
    assert r.status_code == 422 and "no iteration 9" in Page(r.text).text("message")
    assert client.post(f"{owned}/redo", headers=HX).status_code == 200
    assert page_of(client, owned).attr("status", "data-phase") == "forward:1"


def test_undo_and_redo_on_the_page(client, owned):
    client.post(f"{owned}/edit", data={"w5": "0.3"}, headers=HX)
    id = owned.split("/")[-1]
    assert client.post(f"{owned}/undo", headers=HX).status_code == 200
    assert client.get(f"/api/networks/{id}").json()["weights"][1][0][0] == 0.4
    assert client.post(f"{owned}/redo", headers=HX).status_code == 200
    assert client.get(f"/api/networks/{id}").json()["weights"][1][0][0] == 0.3
    r = client.post(f"{owned}/redo", headers=HX)
    assert r.status_code == 422 and "nothing to redo" in Page(r.text).text("message")


def test_followers_lab_is_drawn_once_per_version_for_all_of_them(client, owned, monkeypatch):
    from fastapi.testclient import TestClient

    from app import render

    drawn = []
    real = render.html
    monkeypatch.setattr(render, "html", lambda *a, **k: drawn.append(a[1]) or real(*a, **k))
    followers = [TestClient(client.app) for _ in range(5)]
    bodies = {f.get(owned, headers=HX).text for f in followers}
    assert len(bodies) == 1 and drawn == ["lab.html"]
    client.post(f"{owned}/next", headers=HX)  # a new version: drawn again, once
    drawn.clear()
    assert len({f.get(owned, headers=HX).text for f in followers}) == 1
    assert drawn == ["lab.html"]


def test_the_owners_link_makes_another_browser_an_owner_too(client, stranger, owned):
    link = Page(client.get(owned).text).attr("own-link", "value")
    assert link and "token=" in link
    assert "own-link" not in Page(stranger.get(owned).text).ids  # only the owner sees it
    forged = stranger.get(owned + "/own", params={"token": "guess"}, follow_redirects=False)
    assert forged.status_code == 403
    r = stranger.get(link.replace("http://testserver", ""), follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == owned
    assert "btn-next" in Page(stranger.get(owned).text).ids
    assert stranger.post(f"{owned}/next", headers=HX).status_code == 200
