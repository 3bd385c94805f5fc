"""The page and its fragments, through the HTTP client: what each route answers.

Values are read from the HTML by element id (ids built by app.view.ids), the same
way the browser tests read them.
"""

import re
import time
from concurrent.futures import ThreadPoolExecutor
from html.parser import HTMLParser

import pytest

from app import drawings, pages, render
from app import session as ops
from app.engine import train
from app.pages import HTMX, NETWORK_COOKIE
from app.view import ids, numbers
from tests import reference as ref

HX = {"HX-Request": "true"}


class Page(HTMLParser):
    """Elements by id: their tag, attributes and text."""

    def __init__(self, html: str):
        super().__init__(convert_charrefs=True)
        self.elements: dict[str, dict] = {}
        self.ids: list[str] = []
        self.urls: list[str] = []
        self._open: list[dict] = []
        self.feed(html)

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        for name in ("src", "href", "action", "hx-post", "hx-get"):
            if a.get(name):
                self.urls.append(a[name])
        element = {"tag": tag, "attrs": a, "text": ""}
        if "id" in a:
            self.ids.append(a["id"])
            self.elements[a["id"]] = element
        if tag not in ("input", "meta", "link", "br", "line", "circle", "img"):
            self._open.append(element)

    def handle_endtag(self, tag):
        while self._open:
            if self._open.pop()["tag"] == tag:
                break

    def handle_data(self, data):
        for element in self._open:
            element["text"] += data

    def text(self, id: str) -> str:
        return " ".join(self.elements[id]["text"].split())

    def attr(self, id: str, name: str) -> str | None:
        return self.elements[id]["attrs"].get(name)


def nine(x: float) -> str:
    return numbers.fmt(x, 9)


@pytest.fixture
def lab(client) -> str:
    """The path of a classic network's page, started from the start page: the client is
    its owner (by the cookie the answer sets)."""
    r = client.post("/new", follow_redirects=False)
    assert r.status_code == 303
    return r.headers["location"]


def post(client, path: str, data: dict | None = None, status: int = 200) -> Page:
    r = client.post(path, data=data or {}, headers=HX)
    assert r.status_code == status, r.text[:500]
    return Page(r.text)


def cells(html: str, row: str) -> list[str]:
    """The text of each cell of a table's row, by the row's id."""
    found = re.search(rf'<tr id="{re.escape(row)}"[^>]*>(.*?)</tr>', html, re.S)
    assert found, row
    cells = re.findall(r"<t[dh][^>]*>(.*?)</t[dh]>", found.group(1), re.S)
    return [" ".join(re.sub(r"<[^>]+>", "", c).split()) for c in cells]


def state(client, lab: str) -> dict:
    return client.get("/api/networks/" + lab.split("/")[-1]).json()


# Getting there


def test_root_is_the_way_in_and_makes_no_network(client):
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 200
    page = Page(r.text)
    assert page.attr("btn-start", "id") and page.attr("join-code", "name") == "code"
    assert "default-src 'self'" in r.headers["content-security-policy"]
    assert NETWORK_COOKIE not in client.cookies


def test_starting_opens_a_classic_network_owned_and_remembered(client):
    r = client.post("/new", follow_redirects=False)
    assert r.status_code == 303
    path = r.headers["location"]
    assert re.fullmatch(r"/n/[\w-]+", path)
    assert client.cookies[NETWORK_COOKIE] == path.split("/")[-1]
    assert client.get("/", follow_redirects=False).headers["location"] == path
    network = state(client, path)
    assert network["weights"] == ops.create({"preset": "classic"}).state.to_data()["weights"]
    assert "btn-next" in Page(client.get(path).text).ids


def test_a_forgotten_network_leads_to_the_way_in(client):
    client.cookies.set(NETWORK_COOKIE, "no-such-network")
    r = client.get("/", follow_redirects=False)
    assert r.status_code == 200 and "btn-start" in Page(r.text).ids


def test_the_full_page_loads_htmx_from_the_app_itself(client, lab):
    r = client.get(lab)
    assert r.status_code == 200 and r.text.startswith("<!doctype html>")
    page = Page(r.text)
    assert {"/vendor/htmx.min.js", "/static/keys.js", "/static/swap.js"} <= set(page.urls)
    assert "default-src 'self'" in r.headers["content-security-policy"]
    # Everything the page points at is on this server (or inline: data:, #fragment).
    assert all(re.match(r"(/|#|data:)", url) for url in page.urls), page.urls
    assert not re.search(r"\b(src|href|action)=\"(https?:)?//", r.text)
    # Every form and htmx request of the page goes to the page's own routes, not the API.
    posts = re.findall(r'(?:action|hx-post)="([^"]+)"', r.text)
    assert posts and all(
        re.fullmatch(
            lab + r"/(next|prev|step|reset|train|edit|prefs|new|undo|redo|gradcheck|history/\d+)", u
        )
        or u == "/load"  # a state file opens as a new network, as on the start page
        for u in posts
    )


def test_htmx_is_served_from_node_modules(client):
    if not HTMX.exists():
        pytest.skip("node_modules not installed: run `npm ci`")
    r = client.get("/vendor/htmx.min.js", headers={"Accept-Encoding": "identity"})
    assert r.status_code == 200 and r.content == HTMX.read_bytes()
    assert r.headers["content-type"].startswith("text/javascript")
    r = client.get("/vendor/htmx.min.js", headers={"Accept-Encoding": "gzip"})
    assert r.headers.get("content-encoding") == "gzip" and r.content == HTMX.read_bytes()


def test_static_files_are_served(client):
    assert "--neg" in client.get("/static/lab.css").text
    assert "aria-keyshortcuts" in client.get("/static/keys.js").text
    assert "htmx:oobBeforeSwap" in client.get("/static/swap.js").text


def test_same_url_serves_the_fragment_to_htmx(client, lab):
    r = client.get(lab, headers=HX)
    assert r.status_code == 200
    assert r.text.lstrip().startswith(f'<main id="{ids.LAB}"') and "<html" not in r.text
    assert "HX-Request" in r.headers["vary"]
    r = client.get(lab, headers=HX | {"HX-Target": ids.PAGE})
    assert r.text.lstrip().startswith(f'<div id="{ids.PAGE}"')


def test_svg_is_swapped_only_as_whole_svg_roots(client, lab):
    html = client.get(lab, headers=HX).text
    assert html.count("<svg") == 2  # the graph, and the layer of fields over it
    assert f'<svg id="{ids.GRAPH}"' in html and f'<svg id="{ids.GRAPH_FIELDS}"' in html
    for action, data in (("next", {}), ("edit", {"w5": "0.3"}), ("edit", {"w5": "x"})):
        answer = client.post(f"{lab}/{action}", data=data, headers=HX).text
        swapped = re.findall(r"<(\w+)[^>]*hx-swap-oob", answer)
        assert set(swapped) <= {"section", "svg", "p"}, swapped
        assert f'<svg id="{ids.GRAPH}"' in answer


def test_every_id_on_the_page_is_unique(client, lab):
    for _ in range(6):
        page = post(client, lab + "/next")
        assert len(page.ids) == len(set(page.ids))
    page = Page(client.get(lab).text)
    assert len(page.ids) == len(set(page.ids))


def test_every_control_has_an_accessible_name(client, lab):
    page = Page(client.get(lab).text)
    labelled = {page.attr(i, "for") for i in page.ids if page.elements[i]["tag"] == "label"}
    labels = re.findall(r'<label for="([^"]+)"', client.get(lab).text)
    for id, element in page.elements.items():
        if element["tag"] in ("input", "select") and page.attr(id, "type") != "hidden":
            assert page.attr(id, "aria-label") or id in labels or id in labelled, id
        if element["tag"] == "button":
            assert page.text(id) or page.attr(id, "aria-label"), id
        if page.attr(id, "role") == "button":  # an SVG edge: named by its <title>
            assert page.text(id).startswith(id.removeprefix("e-") + ":"), id
            assert page.attr(id, "tabindex") == "0", id


# Stepping


def test_five_steps_reveal_every_delta_and_gradient_then_the_sixth_updates(client, lab):
    page = Page(client.get(lab, headers=HX).text)
    assert page.attr(ids.delta("o1"), "data-result") is None
    for phase in ("forward:1", "forward:2", "loss", "backward:2", "backward:1"):
        page = post(client, lab + "/next")
        assert page.attr(ids.STATUS, "data-phase") == phase
    for k, name in enumerate(("h1", "h2")):
        assert page.attr(ids.delta(name), "data-result") == nine(ref.DELTAS[0][k])
    for k, name in enumerate(("o1", "o2")):
        assert page.attr(ids.delta(name), "data-result") == nine(ref.DELTAS[1][k])
    for name, grad in ref.GRADS.items():
        assert nine(grad) in page.text(ids.grad_row(name))
    assert page.text(ids.E_TOTAL) == nine(ref.E_TOTAL)
    page = post(client, lab + "/next")
    assert page.attr(ids.STATUS, "data-phase") == "update"
    for name, new in ref.UPDATED.items():
        assert page.text(ids.grad_row(name)).endswith(nine(new))
    assert page.text(ids.E_AFTER) == nine(ref.E_AFTER_1)


def regions(page: Page) -> set[str]:
    return {i for i in page.ids if page.attr(i, "hx-swap-oob") == "true"}


def test_a_step_answers_with_the_regions_it_changed(client, lab):
    page = post(client, lab + "/next")  # forward:1: no δ yet, no chain rule yet
    assert regions(page) == {ids.STATUS, ids.GRAPH, ids.EXPLAIN, ids.WEIGHTS}
    assert page.attr(ids.ANNOUNCE, "hx-swap-oob") == "innerHTML"
    assert "Forward pass · layer 1" in page.text(ids.ANNOUNCE)
    for _ in range(3):
        page = post(client, lab + "/next")  # backward:2 reveals δ_o and ∂E/∂w5
    assert {ids.DELTAS, ids.CHAIN} <= regions(page)
    post(client, f"{lab}/prefs", {"present": "on"})
    page = post(client, lab + "/next")  # presenting: only what presentation shows
    assert regions(page) == {ids.STATUS, ids.GRAPH, ids.EXPLAIN}


def test_a_step_resends_the_edit_fields_only_when_the_parameters_change(client, lab):
    table_w5 = ids.field("w5", "table")
    for _ in range(5):
        page = post(client, lab + "/next")
        assert table_w5 not in page.elements
    page = post(client, lab + "/next")  # the update: new weights
    assert page.attr(ids.PARAMS, "hx-swap-oob") == "true"
    assert page.attr(table_w5, "value") == numbers.fmt_input(ref.UPDATED["w5"])
    page = post(client, lab + "/edit", {"w6": "0.5"})
    assert page.attr(ids.field("w6", "table"), "value") == "0.5"
    full = Page(client.get(lab).text)
    assert full.attr(ids.PARAMS, "hx-swap-oob") is None and table_w5 in full.elements


def test_numbers_appear_only_once_computed(client, lab):
    page = post(client, lab + "/next")  # forward:1
    assert page.text(ids.value("out", "h1")) == nine(ref.OUT[1][0])
    assert ids.value("out", "o1") not in page.elements
    assert ids.E_TOTAL not in page.elements


def test_prev_steps_back_and_whole_iteration_applies_the_update(client, lab):
    post(client, lab + "/next")
    page = post(client, lab + "/prev")
    assert page.attr(ids.STATUS, "data-phase") == "ready"
    page = post(client, lab + "/step")
    assert page.attr(ids.STATUS, "data-phase") == "update"
    assert state(client, lab)["iteration"] == 1
    page = post(client, lab + "/reset")
    assert page.attr(ids.STATUS, "data-phase") == "ready" and state(client, lab)["iteration"] == 0


def test_without_javascript_a_step_redirects_back_to_the_page(client, lab):
    r = client.post(lab + "/next", follow_redirects=False)
    assert r.status_code == 303 and r.headers["location"] == lab
    assert state(client, lab)["phase"] == "forward:1"


def ended(client, lab: str, timeout: float = 60.0) -> Page:
    """The regions the page fetches once its live training has ended (polled until then)."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        page = Page(client.get(lab + "/live", headers=HX).text)
        if page.attr("run-status", "data-status") != "running":
            return page
        time.sleep(0.1)
    raise AssertionError("the live training did not end")


def test_train_runs_live_and_reports_what_it_did(client, lab):
    started = post(client, lab + "/train", {"count": "10000", "unit": "iterations"})
    assert "btn-stop" in started.ids and "btn-train" not in started.ids
    page = ended(client, lab)
    assert page.attr("run-status", "data-status") == "done"
    said = page.text("run-status")
    assert "10000" in said and nine(ref.E_TOTAL) in said
    after = train(ops.create({"preset": "classic"}).state, 10000).losses[-1]
    assert after == pytest.approx(ref.E_AFTER_10000, rel=2e-8)  # the reference's 8 digits
    assert page.text("run-e-train") == nine(after)  # chunks train as one training does
    assert "btn-train" in page.ids and ids.PARAMS in page.ids  # ended: every region once
    assert state(client, lab)["iteration"] == 10000
    actions = [
        e["action"]
        for e in client.get("/api/networks/" + lab.split("/")[-1] + "/history").json()["entries"]
    ]
    assert actions == ["create", "train"]  # its chunks amend one entry: one undo undoes it


def test_stop_stops_the_live_training_and_keeps_what_it_did(client, lab):
    post(client, lab + "/train", {"count": "100000", "unit": "iterations"})
    while not state(client, lab)["iteration"]:
        time.sleep(0.05)
    post(client, lab + "/stop")
    page = ended(client, lab)
    assert page.attr("run-status", "data-status") == "stopped"
    done = int(page.attr("run-status", "data-done"))
    time.sleep(0.5)  # nothing more is stored after a stop
    assert 0 < done == state(client, lab)["iteration"] < 100000


@pytest.mark.parametrize("count", ["", "abc", "0", "-3", "1.5", "100001", "١٢"])
def test_train_refuses_a_bad_count_inline(client, lab, count):
    page = post(client, lab + "/train", {"count": count, "unit": "iterations"}, status=422)
    assert "iterations" in page.text(ids.MESSAGE)
    assert state(client, lab)["iteration"] == 0


def test_train_refuses_an_unknown_unit_inline(client, lab):
    page = post(client, lab + "/train", {"count": "3", "unit": "lightyears"}, status=422)
    assert "unit" in page.text(ids.MESSAGE)


# Editing


def test_editing_w5_recomputes_out_o1_and_delta_o1_keeping_the_phase(client, lab):
    for _ in range(4):
        post(client, lab + "/next")  # backward:2
    page = post(client, lab + "/edit", {"w5": "0.3"})
    assert page.attr(ids.STATUS, "data-phase") == "backward:2"
    network = ops.create(
        {"preset": "classic", "weights": [[[0.15, 0.2], [0.25, 0.3]], [[0.3, 0.45], [0.5, 0.55]]]}
    )
    t = network.trace()
    assert page.text(ids.value("out", "o1")) == nine(t.forward.out[2][0]) != nine(ref.OUT[2][0])
    assert page.attr(ids.delta("o1"), "data-result") == nine(t.backward.deltas[1][0])
    assert page.attr(ids.field("w5", "graph"), "value") == "0.3"
    assert state(client, lab)["weights"][1][0][0] == 0.3


@pytest.mark.parametrize(
    "field, typed, check",
    [
        ("b2_1", "0.7", lambda s: s["biases"][1][0] == 0.7),
        ("i2", "−0.2", lambda s: s["inputs"] == [0.05, -0.2]),
        ("target_o2", "0.5", lambda s: s["targets"] == [0.01, 0.5]),
        ("learning_rate", "0.1", lambda s: s["learning_rate"] == 0.1),
        ("update_biases", "true", lambda s: s["update_biases"] is True),
        ("activation_2", "tanh", lambda s: s["activations"] == ["sigmoid", "tanh"]),
    ],
)
def test_every_kind_of_field_can_be_edited(client, lab, field, typed, check):
    post(client, lab + "/edit", {field: typed})
    assert check(state(client, lab))


@pytest.mark.parametrize(
    "field, typed",
    [
        ("w5", "abc"),
        ("w5", ""),
        ("w5", "nan"),
        ("w5", "1e400"),
        ("w99", "1"),
        ("i3", "1"),
        ("target_o9", "1"),
        ("learning_rate", "-1"),
        ("update_biases", "maybe"),
        ("activation_1", "softmax"),
        ("activation_9", "tanh"),
        ("nonsense", "1"),
    ],
)
def test_a_bad_edit_is_refused_inline_and_changes_nothing(client, lab, field, typed):
    post(client, lab + "/next")
    before = state(client, lab)
    page = post(client, lab + "/edit", {field: typed}, status=422)
    assert page.attr(ids.MESSAGE, "role") == "alert"
    assert page.text(ids.MESSAGE).startswith(field)
    assert page.attr(ids.STATUS, "data-phase") == "forward:1"
    assert state(client, lab) == before
    table_field = ids.field(field, "table")
    if table_field in page.elements and page.elements[table_field]["tag"] == "input":
        assert page.attr(table_field, "value") == typed  # what was typed is kept
        assert page.attr(table_field, "aria-invalid") == "true"
        assert page.text(ids.field_error(field))


def test_an_edit_that_would_overflow_is_refused(client, lab):
    post(client, lab + "/edit", {"activation_2": "linear"})
    page = post(client, lab + "/edit", {"w5": "1e300"}, status=422)
    assert "overflow" in page.text(ids.MESSAGE)
    assert state(client, lab)["weights"][1][0][0] == 0.4


def edit_from(client, lab: str, field: str, text: str, extra: dict | None = None) -> Page:
    headers = HX | {"HX-Trigger": field}
    r = client.post(
        lab + "/edit", data={field.split("-", 2)[2]: text, **(extra or {})}, headers=headers
    )
    return Page(r.text)


def test_an_edit_redraws_the_fields_unless_they_already_read_as_typed(client, lab):
    graph_w5, table_w5 = ids.field("w5", "graph"), ids.field("w5", "table")
    page = edit_from(client, lab, graph_w5, "0.3")  # the graph's field reads "0.3" already
    assert ids.GRAPH_FIELDS not in regions(page) and ids.GRAPH in regions(page)
    assert page.attr(table_w5, "value") == "0.3"  # the table's did not: redrawn
    page = edit_from(client, lab, table_w5, "0.350")  # written 0.35: both redrawn
    assert {ids.GRAPH_FIELDS, ids.PARAMS} <= regions(page)
    assert page.attr(graph_w5, "value") == page.attr(table_w5, "value") == "0.35"
    page = edit_from(client, lab, graph_w5, "nope")  # refused: marked, and the page knows
    assert page.attr(ids.REFUSED, "value") == "w5"
    page = edit_from(client, lab, graph_w5, "0.25", {"_refused": "w5"})
    assert ids.GRAPH_FIELDS in regions(page) and ids.REFUSED not in page.elements
    assert page.attr(graph_w5, "aria-invalid") is None
    assert state(client, lab)["weights"][1][0][0] == 0.25


def test_two_fields_at_once_are_refused(client, lab):
    post(client, lab + "/edit", {"w5": "0.1", "w6": "0.2"}, status=422)


# Preferences


def test_language_follows_the_browser_then_the_switch(client, lab):
    r = client.get(lab, headers={"Accept-Language": "zh-CN,zh;q=0.9"})
    assert '<html lang="zh-Hans">' in r.text and "下一步" in r.text
    page = post(client, f"{lab}/prefs", {"lang": "en"})
    assert page.attr(ids.PAGE, "lang") == "en"
    r = client.get(lab, headers={"Accept-Language": "zh-CN"})
    assert '<html lang="en">' in r.text  # the switch, remembered in a cookie, wins


def test_presentation_and_contrast_are_switched_on_the_page_root(client, lab):
    page = post(client, f"{lab}/prefs", {"present": "on"})
    assert "present" in page.attr(ids.PAGE, "class").split()
    assert page.attr("opt-present", "aria-pressed") == "true"
    page = post(client, f"{lab}/prefs", {"theme": "contrast"})
    classes = page.attr(ids.PAGE, "class").split()
    assert "theme-contrast" in classes and "present" in classes


def test_choosing_a_weight_shows_its_chain_rule_and_redraws_only_that(client, lab):
    r = client.post(f"{lab}/prefs", data={"selected": "w1"}, headers=HX)
    assert r.status_code == 200 and r.headers["HX-Reswap"] == "none"
    page = Page(r.text)
    assert page.attr(ids.edge("w1"), "aria-current") == "true"
    assert "∂" in page.text(ids.CHAIN) and "w1" in page.text("chain-select")
    # the graph (which edge is chosen) and the chain rule, each swapped out of band, and the
    # follow stream's element, whose stream draws with the new preferences
    swapped = [i for i in page.ids if page.attr(i, "hx-swap-oob")]
    assert swapped == [ids.GRAPH, ids.CHAIN, ids.ANNOUNCE, "follow"]
    assert page.attr("follow", "sse-connect").endswith("/events?selected=w1")
    assert ids.PAGE not in page.ids and ids.DELTAS not in page.ids
    assert r.cookies.get("bl_selected") == "w1"


def test_any_other_preference_redraws_the_whole_page(client, lab):
    r = client.post(f"{lab}/prefs", data={"selected": "w2", "precision": "4"}, headers=HX)
    assert "HX-Reswap" not in r.headers
    page = Page(r.text)
    assert {ids.PAGE, ids.DELTAS, ids.CHAIN, ids.GRAPH} <= set(page.ids)


def test_precision_switch(client, lab):
    for _ in range(5):
        post(client, lab + "/next")
    page = post(client, f"{lab}/prefs", {"precision": "4"})
    assert page.attr(ids.delta("o1"), "data-result") == "0.1385"
    r = client.post(f"{lab}/prefs", data={"precision": "5"}, headers=HX)  # not offered
    assert r.status_code == 200 and ids.DELTAS not in Page(r.text).ids  # nothing redrawn
    page = Page(client.get(lab).text)
    assert page.attr(ids.delta("o1"), "data-result") == "0.1385"


# Networks that are not there, and new ones


def test_a_missing_network_is_a_404_page_or_a_redirect_for_htmx(client):
    r = client.get("/n/nope")
    assert r.status_code == 404 and 'href="/"' in r.text
    r = client.post("/n/nope/next", headers=HX)
    assert r.status_code == 404 and r.headers["HX-Redirect"] == "/"


def test_new_network_of_any_shape(client, lab):
    r = client.post(f"{lab}/new", data={"layers": "2-16-16-16-2", "activation": "tanh"}, headers=HX)
    assert r.status_code == 204
    path = r.headers["HX-Redirect"]
    created = state(client, path)
    assert created["layers"] == [2, 16, 16, 16, 2] and created["activations"] == ["tanh"] * 4
    assert client.get(path).status_code == 200
    for _ in range(2 * 4 + 2):  # ready → forward:1…4, loss, backward:4…1 → update
        post(client, path + "/next")
    assert state(client, path)["phase"] == "update"


def test_a_large_networks_steps_leave_out_its_folded_table(client, lab):
    path = client.post(f"{lab}/new", data={"layers": "2-16-16-16-2"}, headers=HX).headers[
        "HX-Redirect"
    ]
    page = Page(client.get(path).text)
    assert "large" in page.attr(ids.PAGE, "class").split()  # its panels drawn when in sight
    assert "large" not in Page(client.get(lab).text).attr(ids.PAGE, "class").split()
    assert page.attr("opt-table", "aria-expanded") == "false"
    assert ids.grad_row("w1") not in page.elements
    for _ in range(2 * 4 + 1):  # to backward:1: the table's columns would have changed
        page = post(client, path + "/next")
        assert ids.WEIGHTS not in regions(page)
    page = post(client, path + "/prefs", {"table": "on"})  # shown: the table redrawn
    assert page.attr("opt-table", "aria-expanded") == "true"
    assert page.text(ids.grad_row("w1")).startswith("w1")
    page = post(client, path + "/next")  # the update: w⁺ in the table
    assert ids.WEIGHTS in regions(page)


@pytest.mark.parametrize("layers", ["", "two", "2-0-2", "2-99-2", "2"])
def test_new_network_refuses_bad_sizes_inline(client, lab, layers):
    page = post(client, f"{lab}/new", {"layers": layers}, status=422)
    assert page.text(ids.MESSAGE).startswith("layers")


def test_a_network_that_learns_from_a_data_set_is_drawn_with_its_batch_s_first_sample(client):
    body = {
        "layers": [2, 3, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "seed": 2,
        "data": {"generator": "xor"},
        "optimizer": {"name": "adam"},
        "batch_size": 2,
        "shuffle": True,
    }
    made = client.post("/api/networks", json=body).json()
    page = client.get(f"/n/{made['id']}")
    assert page.status_code == 200, page.text
    forward = client.post(f"/api/networks/{made['id']}/forward").json()
    x = made["data"]["inputs"][forward["batch"][0]]
    drawn = Page(page.text)
    for j, name in enumerate(("i1", "i2")):
        assert drawn.attr(ids.field(name, "table"), "value") == numbers.fmt_input(x[j])
    for _ in range(6):  # every phase of the iteration, and the update
        assert (
            client.post(f"/n/{made['id']}/next", headers={"HX-Request": "true"}).status_code == 200
        )


def test_a_step_on_the_page_computes_each_iteration_once(client, monkeypatch):
    """The operations' traces are what the page draws: a phase step computes none, the
    update only the next iteration (to know it is finite), an edit the edited one."""
    import sys

    iterate = sys.modules["app.engine.iterate"]
    passes, counted = iterate.passes, []

    def counting(*args, **kwargs):
        counted.append(1)
        return passes(*args, **kwargs)

    monkeypatch.setattr(iterate, "passes", counting)
    lab = client.post("/api/networks", json={"preset": "classic", "seed": 1}).json()["id"]
    lab = f"/n/{lab}"
    client.get(lab)
    expected = [0, 0, 0, 0, 0, 1, 0]  # forward:1, forward:2, loss, backward:2, backward:1, update
    for want in expected:
        counted.clear()
        assert post(client, lab + "/next") is not None
        assert len(counted) == want
    counted.clear()
    post(client, lab + "/edit", {"w5": "0.3"})
    assert len(counted) == 1


@pytest.mark.parametrize("lang", ["en", "zh"])
def test_the_page_downloads_the_scripts_and_the_state(client, lab, lang):
    client.cookies.set("bl_lang", lang)
    page = Page(client.get(lab).text)
    id = lab.split("/")[-1]
    for format, starts in (("pytorch", "#!/usr/bin/env python3"), ("numpy", "#!"), ("json", "{")):
        href = page.attr(f"export-{format}", "href")
        assert href == f"/api/networks/{id}/export?format={format}"
        r = client.get(href)
        assert r.status_code == 200 and "attachment" in r.headers["content-disposition"]
        assert r.text.lstrip().startswith(starts), r.text[:80]
    assert ("Python 实现" if lang == "zh" else "Python implementation") in client.get(lab).text


def test_how_it_is_trained_is_edited_on_the_page(client, lab):
    page = Page(client.get(lab).text)
    assert page.attr(ids.field("optimizer", "table"), "name") == "optimizer"
    assert page.attr(ids.field("optimizer.momentum", "table"), "value") == "0"
    post(client, lab + "/edit", {"optimizer": "adam"})
    page = Page(client.get(lab).text)
    assert page.attr(ids.field("optimizer.betas.0", "table"), "value") == "0.9"  # torch's
    post(client, lab + "/edit", {"optimizer.betas.1": "0.99"})
    post(client, lab + "/edit", {"schedule": "cosine"})
    post(client, lab + "/edit", {"schedule.T_max": "20"})
    s = state(client, lab)
    assert s["optimizer"]["betas"] == [0.9, 0.99] and s["schedule"] == {
        "name": "cosine", "T_max": 20, "eta_min": 0.0,
    }  # fmt: skip
    refused = post(client, lab + "/edit", {"optimizer.eps": "0"}, status=422)
    assert refused.attr(ids.field_error("optimizer.eps"), "role") == "alert"
    assert state(client, lab)["optimizer"]["eps"] == 1e-8
    r = client.post(lab + "/edit", data={"loss": "cross_entropy"}, headers=HX)
    assert r.status_code == 422 and "loss: cross_entropy is defined on softmax" in r.text
    for _ in range(6):
        post(client, lab + "/next")
    page = Page(client.get(lab).text)
    assert page.text("current-lr") == numbers.fmt(state(client, lab)["current_learning_rate"])


def test_the_gradient_check_shows_each_gradient_beside_its_estimate(client, lab):
    page = Page(client.get(lab).text)
    assert page.attr("btn-gradcheck", "hx-post") == lab + "/gradcheck"
    assert "gradcheck-w5" not in page.elements  # nothing until asked for
    check = post(client, lab + "/gradcheck")
    assert check.text("gradcheck-w5").startswith("w5" + numbers.fmt(ref.GRADS["w5"]))
    for name in ("w1", "w8", "b1_1", "b2_2"):
        assert f"gradcheck-{name}" in check.elements
    api = client.post(f"/api/networks/{lab.split('/')[-1]}/gradcheck").json()
    assert check.text("gradcheck-max").startswith("Largest relative error:")
    assert api["max_error_at"] in check.text("gradcheck-max") and api["max_error"] < 1e-6
    slipped = client.post("/api/networks", json={"preset": "classic", "classic_slip": True})
    other = f"/n/{slipped.json()['id']}"
    client.get(other)
    # The slip shows in the hidden layer: w1 or w2, equal to 8 digits (tests/test_gradcheck.py).
    at = client.post(f"/api/networks/{slipped.json()['id']}/gradcheck").json()["max_error_at"]
    assert at in ("w1", "w2") and f"(at {at})" in post(client, other + "/gradcheck").text(
        "gradcheck-max"
    )


def test_the_classic_slip_is_set_beside_the_correct_iteration(client, lab):
    post(client, lab + "/edit", {"classic_slip": "true"})
    for _ in range(6):
        post(client, lab + "/next")
    html = client.get(lab).text
    full = Page(html)
    assert full.text(ids.E_AFTER) == "0.291027924"  # the tutorial's printed figure
    assert "0.291027774" in full.text("e-after-correct")  # the right one, beside it
    # In the δ panel: each hidden δ both ways, and E_total after the update both ways.
    for j, name in enumerate(("h1", "h2")):
        quantity, slipped, correct, difference = cells(html, ids.slip("delta", name))
        assert quantity == "δ" + name and correct == nine(ref.DELTAS[0][j])  # through w
        assert slipped == full.attr(ids.delta(name), "data-result") != correct  # through w⁺
        # REFERENCE.md's δ_o through w5⁺..w8⁺, times ∂out/∂net of h1 (h2)
        w_plus = [ref.UPDATED[f"w{k}"] for k in (5 + j, 7 + j)]
        through = (ref.DELTAS[1][0] * w_plus[0] + ref.DELTAS[1][1] * w_plus[1]) * ref.DOUT_DNET[0][
            j
        ]
        assert slipped == nine(through) and difference == nine(through - ref.DELTAS[0][j])
    after = cells(html, ids.slip("e", "after"))
    assert after == ["Etotal (after the update)", "0.291027924", "0.291027774", "1.50211843×10⁻⁷"]
    post(client, lab + "/edit", {"classic_slip": "false"})
    page = Page(client.get(lab).text)
    assert "e-after-correct" not in page.elements and ids.SLIP not in page.elements


def test_the_table_shows_the_optimisers_state_when_asked_for(client, lab):
    assert "opt-state" not in Page(client.get(lab).text).elements  # plain sgd keeps none
    post(client, lab + "/edit", {"optimizer": "adam"})
    post(client, lab + "/step")
    page = Page(client.get(lab).text)
    assert page.text("opt-state") == "Show the optimiser's state (t, m, v)"
    r = client.post(f"{lab}/prefs", data={"state": "on"}, headers=HX)
    assert r.status_code == 200 and r.headers["HX-Reswap"] == "none"
    page = Page(r.text)
    swapped = [i for i in page.ids if page.attr(i, "hx-swap-oob")]
    assert swapped == [ids.WEIGHTS, ids.ANNOUNCE, "follow"]  # and the stream, for the view
    assert page.attr("opt-state", "aria-pressed") == "true" and r.cookies.get("bl_state") == "on"
    assert re.findall(r'<th scope="col" class="state"[^>]*><abbr[^>]*>(\w)</abbr>', r.text) == [
        "t",
        "m",
        "v",
    ]
    api = state(client, lab)["optimizer_state"]
    for name, (l, j, i) in ref.INDEX.items():
        m, v = api["exp_avg"]["weights"][l][j][i], api["exp_avg_sq"]["weights"][l][j][i]
        assert cells(r.text, ids.grad_row(name))[-3:] == ["1", nine(m), nine(v)]
    assert cells(r.text, ids.grad_row("b1_1"))[-3:] == ["", "", ""]  # biases fixed
    zh = post(client, f"{lab}/prefs", {"lang": "zh"})
    assert zh.text("opt-state") == "隐藏优化器的状态"
    post(client, lab + "/edit", {"optimizer": "sgd"})  # no state: no columns, no switch
    html = client.get(lab).text
    assert "opt-state" not in Page(html).elements and len(cells(html, ids.grad_row("w5"))) == 8


def test_a_two_input_network_draws_its_decision_boundary_under_its_samples(client):
    body = {
        "layers": [2, 4, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "seed": 3,
        "data": {"generator": "circle", "samples": 50, "test_fraction": 0.2},
        "optimizer": {"name": "adam"},
        "learning_rate": 0.05,
    }
    id = client.post("/api/networks", json=body).json()["id"]
    lab = f"/n/{id}"
    src = Page(client.get(lab).text).attr("boundary-map", "src")
    assert src.startswith(f"/n/{id}/boundary.svg?v=")
    picture = client.get(src)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/svg+xml"
    assert picture.text.count("<rect") == 24 * 24
    assert picture.text.count("<circle") == 50  # 40 training samples, 10 test
    assert picture.text.count('fill="#fff"') == 10
    for _ in range(6):  # the update changes the parameters: a new picture
        answer = post(client, lab + "/next")
    assert answer.attr("boundary-map", "src") not in (None, src)
    classic = client.post("/api/networks", json={"preset": "classic"}).json()["id"]
    assert client.get(f"/n/{classic}/boundary.svg").status_code == 200  # two inputs too
    wide = client.post(
        "/api/networks",
        json={"preset": "deep", "layers": [3, 2, 1], "inputs": [0, 0, 0], "targets": [0]},
    ).json()
    assert client.get(f"/n/{wide['id']}/boundary.svg").status_code == 404
    assert "boundary-map" not in Page(client.get(f"/n/{wide['id']}").text).elements


def test_a_decision_boundary_asked_for_by_many_at_once_is_drawn_once(client, monkeypatch):
    """During a live training every follower's page asks for each chunk's new picture at
    once: the first request draws it, the others wait for that drawing."""
    id = client.post("/api/networks", json={"preset": "classic"}).json()["id"]
    drawn = []
    real = pages.boundary.svg

    def slow(*args):
        drawn.append(args[1:])
        time.sleep(0.3)  # long enough for every request to arrive while it draws
        return real(*args)

    monkeypatch.setattr(pages.boundary, "svg", slow)
    packed = []  # and compressed once, for all of them (its 68 KB were, for each viewer)
    compress = drawings.gzip.compress
    monkeypatch.setattr(
        drawings.gzip, "compress", lambda *a, **k: packed.append(1) or compress(*a, **k)
    )
    drawings._PICTURES.clear()  # drawn by an earlier test, maybe: the same parameters
    with ThreadPoolExecutor(6) as pool:
        answers = list(pool.map(lambda _: client.get(f"/n/{id}/boundary.svg"), range(6)))
    assert [a.status_code for a in answers] == [200] * 6
    assert len({a.text for a in answers}) == 1 and "<rect" in answers[0].text
    assert len(drawn) == 1 and len(packed) == 1
    assert {a.headers["content-encoding"] for a in answers} == {"gzip"}
    plain = client.get(f"/n/{id}/boundary.svg", headers={"Accept-Encoding": "identity"})
    assert "content-encoding" not in plain.headers and plain.text == answers[0].text


def test_a_batch_shows_the_chosen_sample_s_figures_and_its_share(client):
    body = {
        "layers": [2, 3, 1],
        "activations": ["tanh", "sigmoid"],
        "loss": "bce",
        "seed": 5,
        "data": {"generator": "gaussians", "samples": 20, "seed": 2},
        "batch_size": 4,
        "shuffle": True,
        "update_biases": True,
    }
    id = client.post("/api/networks", json=body).json()["id"]
    lab = f"/n/{id}"
    for _ in range(5):  # to backward:1: every δ and gradient computed
        post(client, lab + "/next")
    assert Page(client.get(lab).text).attr("opt-sample", "name") == "sample"
    r = client.post(lab + "/prefs", data={"sample": "2"}, headers=HX)
    assert r.status_code == 200
    page = Page(client.get(lab).text)
    api = client.post(f"/api/networks/{id}/backward", params={"sample": 2}).json()
    forward = client.post(f"/api/networks/{id}/forward", params={"sample": 2}).json()
    assert page.attr(ids.delta("h1"), "data-result") == numbers.fmt(api["deltas"][0][0])
    x = forward["out"][0]
    assert page.attr(ids.field("i1", "table"), "value") == numbers.fmt_input(x[0])
    batch = page.text("chain-batch")
    w = api["weight_grads"][1][0][0]
    assert numbers.fmt(w) in batch and "sample 3 of 4" in batch
    assert numbers.fmt(api["sample_weight_grads"][1][0][0] / 4) in batch


def test_a_json_state_saved_from_the_lab_opens_again_from_it(client, lab):
    page = Page(client.get(lab).text)
    assert page.attr("lab-load-file", "name") == "scenario"
    id = lab.split("/")[-1]
    post(client, lab + "/next")
    saved = client.get(f"/api/networks/{id}/export", params={"format": "json"})
    r = client.post(
        "/load",
        files={"scenario": ("state.json", saved.content, "application/json")},
        follow_redirects=False,
    )
    assert r.status_code == 303, r.text
    opened = r.headers["location"].rsplit("/", 1)[-1]
    assert opened != id
    again = client.get(f"/api/networks/{opened}").json()
    original = client.get(f"/api/networks/{id}").json()
    for key in ("weights", "biases", "optimizer", "optimizer_state", "schedule"):
        assert again[key] == original[key], key


# The network's settings: architecture, initialiser, data


def disabled(page: Page, id: str) -> bool:
    return "disabled" in page.elements[id]["attrs"]


def test_the_architecture_editor_posts_each_shape_through_the_edit_route(client, lab):
    page = Page(client.get(lab).text)
    add = ids.architecture("add_neuron", 1)
    assert page.attr(add, "hx-post") == lab + "/edit"
    assert page.attr(add, "hx-vals") == '{"layers": "2-3-2"}'
    assert page.attr(add, "aria-label") == "Add a neuron: Hidden layer 1"
    answer = post(client, lab + "/edit", {"layers": "2-3-2"})
    assert {ids.GRAPH, ids.PARAMS} <= regions(answer)
    assert answer.text(ids.architecture("layers")) == "2-3-2"
    s = state(client, lab)
    assert s["layers"] == [2, 3, 2] and [len(w) for w in s["weights"]] == [3, 2]
    assert s["inputs"] == [0.05, 0.1] and s["targets"] == [0.01, 0.99]  # the sample kept
    assert answer.attr(ids.architecture("remove_layer", 1), "hx-vals") == '{"layers": "2-2"}'
    assert answer.attr(ids.architecture("add_layer"), "hx-vals") == '{"layers": "2-3-3-2"}'


def test_the_architecture_editor_stops_at_the_engine_s_limits(client):
    widest = client.post(
        "/api/networks", json={"layers": [1, 16, 2], "inputs": [0], "targets": [0, 1]}
    )
    page = Page(client.get(f"/n/{widest.json()['id']}").text)
    assert disabled(page, ids.architecture("add_neuron", 1))  # 16 neurons
    assert disabled(page, ids.architecture("remove_neuron", 0))  # 1 neuron
    assert not disabled(page, ids.architecture("remove_neuron", 1))
    assert not disabled(page, ids.architecture("add_layer"))
    deepest = [2, *[2] * 6, 2]  # six hidden layers: no more
    made = client.post(
        "/api/networks", json={"layers": deepest, "inputs": [0, 0], "targets": [0, 1]}
    )
    page = Page(client.get(f"/n/{made.json()['id']}").text)
    assert disabled(page, ids.architecture("add_layer"))
    assert ids.architecture("remove_layer", 0) not in page.elements  # no input layer to remove
    assert ids.architecture("remove_layer", 7) not in page.elements  # nor the output layer


@pytest.mark.parametrize(
    "field, typed, named",
    [
        ("layers", "2-17-2", "layers"),
        ("layers", "2", "layers"),
        ("layers", "2-y-2", "layers"),
        ("layers", "2-" + "9" * 2000, "layers"),  # its digits bounded before int() reads them
        ("init", "nope", "init"),
        ("init.a", "-1", "init.a"),
        ("seed", "-1", "seed"),
        ("seed", str(2**53), "seed"),
        ("data", "generated", "data"),  # the classic network has two outputs
        ("data", "all", "data"),
        ("data.noise", "0.1", "data.noise"),  # no generated set
        ("data.add_row", "1", "data.add_row"),  # no table
        ("data.inputs.1.1", "0", "data.inputs.1.1"),
    ],
)
def test_a_refused_setting_is_named_inline_and_changes_nothing(client, lab, field, typed, named):
    before = state(client, lab)
    page = post(client, lab + "/edit", {field: typed}, status=422)
    assert page.attr(ids.MESSAGE, "role") == "alert"
    assert page.text(ids.MESSAGE).startswith(named + ":")
    if named in ("layers", "init", "seed", "data"):  # beside the control that sent it
        assert page.attr(ids.field_error(named), "role") == "alert"
    assert state(client, lab) == before


def test_a_shape_the_settings_do_not_allow_together_is_refused_inline(client, lab):
    post(client, lab + "/edit", {"activation_2": "softmax"})
    page = post(client, lab + "/edit", {"layers": "2-2-1"}, status=422)
    assert "at least 2 neurons" in page.text(ids.field_error("layers"))
    post(client, lab + "/edit", {"layers": "2-2-1"}, status=422)
    post(client, lab + "/edit", {"activation_2": "sigmoid"})
    post(client, lab + "/edit", {"data": "generated"}, status=422)  # 2-2-2: no generator fits
    post(client, lab + "/edit", {"layers": "2-2-1"})
    post(client, lab + "/edit", {"data": "generated"})
    page = post(client, lab + "/edit", {"layers": "3-2-1"}, status=422)  # circle has 2 inputs
    assert "circle makes 2 inputs and 1 target" in page.text(ids.field_error("layers"))
    assert state(client, lab)["layers"] == [2, 2, 1]
    page = post(client, lab + "/edit", {"layers": "2-4-1"})  # a hidden layer may change
    assert state(client, lab)["data"]["generator"] == "circle"


def test_another_initialiser_and_draw_again_draw_new_weights(client, lab):
    page = Page(client.get(lab).text)
    assert page.attr(ids.field("init", "table"), "name") == "init"
    assert page.attr(ids.DRAW_AGAIN, "hx-vals") == '{"seed": "1"}'  # the tutorial's: no seed
    answer = post(client, lab + "/edit", {"init": "kaiming_normal"})
    s = state(client, lab)
    assert s["init"]["name"] == "kaiming_normal" and s["weights"][1][0][0] != 0.4
    assert answer.attr(ids.field("w5", "table"), "value") == numbers.fmt_input(
        s["weights"][1][0][0]
    )
    assert answer.attr(ids.field("init.mode", "table"), "name") == "init.mode"  # its options
    seed = s["seed"]
    answer = post(client, lab + "/edit", {"seed": str(seed + 1)})  # what draw again sends
    again = state(client, lab)
    assert again["seed"] == seed + 1 and again["weights"] != s["weights"]
    assert answer.attr(ids.DRAW_AGAIN, "hx-vals") == f'{{"seed": "{seed + 2}"}}'
    post(client, lab + "/edit", {"init.mode": "fan_out"})
    assert state(client, lab)["init"]["mode"] == "fan_out"


def test_a_generated_set_is_chosen_and_drawn_as_a_scatter(client, lab):
    post(client, lab + "/edit", {"layers": "2-2-1"})
    page = post(client, lab + "/edit", {"data": "generated"})
    assert page.attr(ids.field("data.generator", "table"), "name") == "data.generator"
    assert page.attr(ids.field("batch_size", "table"), "name") == "batch_size"
    src = page.attr(ids.SCATTER, "src")
    assert src.startswith(f"/n/{lab.split('/')[-1]}/boundary.svg?v=") and src.endswith("&points=1")
    picture = client.get(src)
    assert picture.status_code == 200 and picture.headers["content-type"] == "image/svg+xml"
    assert picture.text.count("<circle") == 200 and "<rect" not in picture.text
    post(client, lab + "/edit", {"data.samples": "50"})
    post(client, lab + "/edit", {"data.test_fraction": "0.2"})
    page = post(client, lab + "/edit", {"data.noise": "0.5"})
    assert page.text(ids.DATA_COUNTS) == "40 training samples, 10 test samples"
    assert page.attr(ids.SCATTER, "src") != src  # other samples, another picture
    s = state(client, lab)["data"]
    assert (s["samples"], s["noise"], s["test_fraction"]) == (50, 0.5, 0.2)
    page = post(client, lab + "/edit", {"data.generator": "xor"})
    assert ids.field("data.samples", "table") not in page.elements  # a gate has its 4
    assert page.text(ids.DATA_COUNTS) == "4 training samples, 0 test samples"  # ⌊0.2 · 4⌋
    post(client, lab + "/edit", {"i1": "0.3"}, status=422)  # no one sample to edit
    page = post(client, lab + "/edit", {"data": "sample"})
    assert (
        ids.SCATTER not in page.elements and ids.field("batch_size", "table") not in page.elements
    )
    assert state(client, lab)["data"] is None


def test_a_table_of_samples_is_edited_on_the_page(client, lab):
    page = post(client, lab + "/edit", {"data": "table"})
    cell = ids.field("data.targets.1.2", "table")
    assert (
        page.attr(cell, "value") == "0.99"
        and page.attr(cell, "aria-label") == "Sample 1: target o2"
    )
    assert disabled(page, ids.data_row_remove(1))
    post(client, lab + "/edit", {"data.add_row": "1"})
    post(client, lab + "/edit", {"data.inputs.2.1": "0.5"})
    page = post(client, lab + "/edit", {"data.targets.2.1": "x"}, status=422)
    assert page.attr(ids.field("data.targets.2.1", "table"), "value") == "x"  # kept as typed
    assert page.text(ids.field_error("data.targets.2.1"))
    assert state(client, lab)["data"]["inputs"] == [[0.05, 0.1], [0.5, 0.1]]
    page = post(client, lab + "/edit", {"layers": "3-2-2"})  # every row fitted
    assert state(client, lab)["data"]["inputs"] == [[0.05, 0.1, 0.0], [0.5, 0.1, 0.0]]
    assert page.attr(ids.field("data.inputs.2.3", "table"), "value") == "0"
    full = Page(client.get(lab).text)
    assert len(full.ids) == len(set(full.ids))
    post(client, lab + "/edit", {"data.remove_row": "1"})
    assert state(client, lab)["data"]["inputs"] == [[0.5, 0.1, 0.0]]


def test_the_settings_speak_chinese_too(client, lab):
    client.cookies.set("bl_lang", "zh")
    page = Page(client.get(lab).text)
    assert (
        page.attr(ids.architecture("add_neuron", 1), "aria-label") == "添加一个神经元：第 1 隐含层"
    )
    assert page.text(ids.DRAW_AGAIN) == "重新抽取"
    assert "教程中的单个样本" in page.text(ids.field("data", "table"))


def test_a_followers_lab_is_drawn_once_per_version_and_compressed_once(
    client, stranger, classic, monkeypatch
):
    """After a change every follower's page asks at once: the lab is drawn for the first
    and answered from that drawing to the rest, gzip-compressed once for those that take
    it, and drawn anew for the next version."""
    drawn = []
    real = render.html
    monkeypatch.setattr(render, "html", lambda *a, **k: drawn.append(a[1]) or real(*a, **k))
    hx = {"HX-Request": "true"}
    packed = [stranger.get(f"/n/{classic}", headers=hx | {"Accept-Encoding": "gzip"}) for _ in "ab"]
    plain = stranger.get(f"/n/{classic}", headers=hx | {"Accept-Encoding": "identity"})
    assert drawn == ["lab.html"]
    assert [r.headers["Content-Encoding"] for r in packed] == ["gzip", "gzip"]
    assert "Content-Encoding" not in plain.headers
    assert packed[0].text == packed[1].text == plain.text and 'class="lab' in plain.text
    assert "Accept-Encoding" in packed[0].headers["Vary"]
    assert client.post(f"/api/networks/{classic}/phase/next").status_code == 200
    after = stranger.get(f"/n/{classic}", headers=hx)
    assert drawn == ["lab.html", "lab.html"] and 'data-phase="forward:1"' in after.text
