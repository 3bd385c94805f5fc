"""Scenarios: a network's whole state saved as a file or packed into a share link."""

import pytest

from app import scenario
from app import session as ops
from app.engine import PRESETS
from tests.test_pages import Page


def test_a_share_link_carries_the_whole_state_exactly():
    s = ops.create({"preset": "deep"})
    path = scenario.link(s)
    assert path and len(path) < 2000
    assert scenario.unpack(path.removeprefix("/s/")) == s.state.to_data()


@pytest.mark.parametrize(
    ("text", "field"),
    [
        ("not base64!", "scenario"),
        ("eNo", "scenario"),
        ("x" * 20_000, "scenario"),
        (scenario.pack({"layers": [2, 99]}), "scenario.layers.1"),
        (scenario.pack({"nonsense": 1}), "scenario.nonsense"),
        (scenario.pack([1, 2]), "scenario"),
    ],
)
def test_a_bad_share_link_is_refused_naming_the_field(text, field):
    with pytest.raises(ValueError) as e:
        scenario.unpack(text)
    assert str(e.value).startswith(field + ":")


def test_a_zip_bomb_is_refused_before_it_is_unpacked():
    import base64
    import zlib

    bomb = base64.urlsafe_b64encode(zlib.compress(b"[" + b" " * (5 << 20) + b"]", 9)).decode()
    with pytest.raises(ValueError, match="unpacks to more than"):
        scenario.unpack(bomb.rstrip("="))


def test_opening_a_share_link_makes_a_network_of_ones_own(client, stranger):
    owned = client.post("/new", follow_redirects=False).headers["location"]
    id = owned.split("/")[-1]
    client.patch(f"/api/networks/{id}", json={"weights": {"w5": 0.3}})  # not the owner: 403
    client.post(f"{owned}/edit", data={"w5": "0.3"}, headers={"HX-Request": "true"})
    link = client.get(f"{owned}/share", follow_redirects=False).headers["location"]
    preview = stranger.get(link)
    assert preview.status_code == 200 and Page(preview.text).text("shared-layers") == "2-2-2"
    r = stranger.post(link, follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] != owned
    copy = stranger.get("/api/networks/" + r.headers["location"].split("/")[-1]).json()
    assert copy["weights"][1][0][0] == 0.3 and copy["iteration"] == 0
    assert stranger.post(r.headers["location"] + "/next", headers={"HX-Request": "true"}).is_success


def test_a_scenario_file_is_what_the_api_creates_from(client, classic):
    client.patch(f"/api/networks/{classic}", json={"learning_rate": 0.25})
    r = client.get(f"/api/networks/{classic}/scenario")
    assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
    again = client.post(
        "/api/networks", content=r.content, headers={"content-type": "application/json"}
    ).json()
    assert again["learning_rate"] == 0.25 and again["id"] != classic
    loaded = client.post("/load", files={"scenario": ("s.json", r.content, "application/json")})
    assert loaded.status_code == 200 and "btn-next" in Page(loaded.text).ids


def test_a_bad_scenario_file_is_refused_on_the_start_page(client):
    r = client.post("/load", files={"scenario": ("s.json", b"{nope", "application/json")})
    assert r.status_code == 422 and Page(r.text).text("home-error").startswith("scenario:")


@pytest.mark.parametrize("name", list(PRESETS))
def test_every_built_in_scenario_starts_from_the_start_page(client, name):
    assert f"btn-start-{name}" in Page(client.get("/").text).ids or name == "classic"
    r = client.post("/new", data={"preset": name}, follow_redirects=False)
    assert r.status_code == 303
    state = client.get("/api/networks/" + r.headers["location"].split("/")[-1]).json()
    assert state["layers"] == ops.create({"preset": name}).state.to_data()["layers"]
