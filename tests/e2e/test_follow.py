"""A class following its teacher: the owner in one browser context, a follower in another.

The follower opens the follow link (or types the join code on the start page) and sees,
live, each step the owner makes; its page has no control that changes the network, a
forged request from it is refused, its display preferences are its own, and it can fork
a copy that it then owns.
"""

import re

from playwright.sync_api import Page, expect

from app import session as ops
from app.view import ids, numbers
from tests import reference as ref
from tests.e2e.test_page import by_id, nine, open_lab, press

# Every control that changes the network, on the owner's page; none is on a follower's.
CHANGES = ("btn-prev", "btn-next", "btn-step", "btn-train", "btn-reset", "btn-undo", "btn-redo")
# The page's POST routes that change the network, with a form each would send.
FORGED = {
    "next": {},
    "prev": {},
    "step": {},
    "reset": {},
    "undo": {},
    "redo": {},
    "train": {"count": "10", "unit": "iterations"},
    "stop": {},
    "edit": {"w5": "9"},
}


def status(page: Page):
    return by_id(page, ids.STATUS)


def network_id(page: Page) -> str:
    return re.search(r"/n/([\w-]+)$", page.url).group(1)


def follow(owner: Page, follower: Page, server: str) -> None:
    """The follower opens the owner's follow link; the owner sees one follower."""
    follower.goto(server + owner.locator("#follow-link").get_attribute("href"))
    expect(follower).to_have_url(owner.url)
    expect(status(follower)).to_have_attribute(
        "data-version", status(owner).get_attribute("data-version")
    )
    expect(owner.locator("#followers")).to_have_text("1")


def in_step(owner: Page, follower: Page) -> None:
    """The follower shows the version, phase and iteration the owner shows."""
    for name in ("data-version", "data-phase", "data-iteration"):
        expect(status(follower)).to_have_attribute(name, status(owner).get_attribute(name))


def redrawn(page: Page, change) -> None:
    """Make a change of display preference and wait until the page is drawn anew (so that
    the next click lands on the new page, not on the old one as it is swapped out)."""
    page.evaluate(f"document.getElementById('{ids.PAGE}').dataset.before = 'yes'")
    change()
    expect(by_id(page, ids.PAGE)).not_to_have_attribute("data-before", "yes")


def read_only(page: Page) -> None:
    """No step control, no edit field, no field of any kind but the display preferences."""
    for control in CHANGES:
        expect(page.locator(f"#{control}")).to_have_count(0)
    expect(by_id(page, ids.field("w5", "graph"))).to_have_count(0)
    expect(by_id(page, ids.field("w5", "table"))).to_have_count(0)
    expect(by_id(page, ids.PARAMS)).to_have_count(0)
    expect(
        page.locator(f"#{ids.PAGE} input:not([type=hidden]), #{ids.PAGE} textarea")
    ).to_have_count(0)
    expect(page.locator("#btn-fork")).to_be_visible()


def test_a_follower_sees_each_step_live_and_has_no_control_that_changes_it(page, follower, server):
    open_lab(page, server)
    follow(page, follower, server)
    read_only(follower)

    press(page, "ArrowRight", "forward:1")
    in_step(page, follower)
    expect(by_id(follower, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))
    for phase in ("forward:2", "loss", "backward:2", "backward:1"):
        press(page, "ArrowRight", phase)
        in_step(page, follower)
    expect(by_id(follower, ids.E_TOTAL)).to_have_text(nine(ref.E_TOTAL))
    expect(by_id(follower, ids.value("delta", "h1"))).to_have_text(nine(ref.DELTAS[0][0]))
    for name, grad in ref.GRADS.items():
        expect(by_id(follower, ids.grad_row(name)).locator(".grad")).to_have_text(nine(grad))

    # The owner edits w5: the follower's forward and backward numbers follow.
    w5 = by_id(page, ids.field("w5", "graph"))
    w5.fill("0.3")
    w5.press("Tab")
    expect(by_id(page, ids.grad_row("w5")).locator("td").nth(1)).to_have_text(nine(0.3))
    in_step(page, follower)
    edited = ops.patch(ops.create({"preset": "classic"}), {"weights": {"w5": 0.3}}).trace()
    expect(by_id(follower, ids.grad_row("w5")).locator("td").nth(1)).to_have_text(nine(0.3))
    expect(by_id(follower, ids.value("out", "o1"))).to_have_text(nine(edited.forward.out[2][0]))
    expect(by_id(follower, ids.value("delta", "o1"))).to_have_text(
        nine(edited.backward.deltas[1][0])
    )

    # A training, its undo, and a reset.
    page.locator(f"#{ids.ITERATIONS}").fill("1000")
    page.locator("#btn-train").click()
    expect(status(page)).to_have_attribute("data-iteration", "1001")
    in_step(page, follower)
    expect(status(follower)).to_have_attribute("data-phase", "ready")
    page.keyboard.press("Control+z")
    expect(status(page)).to_have_attribute("data-iteration", "1")
    expect(status(page)).to_have_attribute("data-phase", "backward:1")
    in_step(page, follower)
    expect(by_id(follower, ids.value("out", "o1"))).to_have_text(nine(edited.forward.out[2][0]))
    press(page, "r", "ready")
    in_step(page, follower)
    expect(by_id(follower, ids.grad_row("w5")).locator("td").nth(1)).to_have_text(nine(0.4))
    read_only(follower)
    expect(page.locator("#followers")).to_have_text("1")


def test_the_join_code_typed_on_the_start_page_opens_the_read_only_view(page, follower, server):
    open_lab(page, server)
    code = page.locator("#join-code").text_content().strip()
    follower.goto(server + "/")
    follower.locator("#join-code").fill(f" {code.lower()} ")  # any case, spaces ignored
    follower.locator("#btn-join").click()
    expect(follower).to_have_url(page.url)
    read_only(follower)
    expect(page.locator("#followers")).to_have_text("1")
    press(page, "ArrowRight", "forward:1")
    in_step(page, follower)
    expect(by_id(follower, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))


def test_a_forged_change_from_the_followers_browser_is_refused_and_changes_nothing(
    page, follower, server
):
    open_lab(page, server)
    press(page, "ArrowRight", "forward:1")
    follow(page, follower, server)
    id = network_id(page)
    before = follower.request.get(f"{server}/api/networks/{id}").json()

    for action, form in FORGED.items():  # the page's own forms, with the follower's cookies
        r = follower.request.post(
            f"{server}/n/{id}/{action}", headers={"Origin": server}, form=form
        )
        assert r.status == 403, action
    for method, path in (("POST", "step"), ("POST", "phase/next"), ("POST", "undo"), ("PATCH", "")):
        r = follower.request.fetch(
            f"{server}/api/networks/{id}/{path}".rstrip("/"),
            method=method,
            data={"weights": {"w5": 9}},
        )
        assert r.status == 403, path
    assert follower.request.delete(f"{server}/api/networks/{id}").status == 403

    for key in ("ArrowRight", "Enter", "r", "Control+z"):  # the owner's keys do nothing here
        follower.keyboard.press(key)

    assert follower.request.get(f"{server}/api/networks/{id}").json() == before
    expect(status(follower)).to_have_attribute("data-version", str(before["version"]))
    press(page, "ArrowRight", "forward:2")  # the owner's next step is the only one since
    expect(status(page)).to_have_attribute("data-version", str(before["version"] + 1))
    in_step(page, follower)


def test_a_followers_display_preferences_apply_to_it_alone(page, follower, server):
    open_lab(page, server)
    follow(page, follower, server)
    redrawn(follower, lambda: follower.locator("#opt-precision").select_option("4"))
    expect(follower.locator("#opt-precision")).to_have_value("4")
    redrawn(follower, lambda: follower.locator("#opt-lang").click())
    expect(by_id(follower, ids.PAGE)).to_have_attribute("lang", "zh-Hans")
    read_only(follower)

    press(page, "ArrowRight", "forward:1")
    in_step(page, follower)
    expect(by_id(follower, ids.value("out", "h1"))).to_have_text(numbers.fmt(ref.OUT[1][0], 4))
    expect(by_id(follower, ids.PAGE)).to_have_attribute("lang", "zh-Hans")
    expect(by_id(page, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))
    expect(by_id(page, ids.PAGE)).to_have_attribute("lang", "en")
    page.reload()  # nor are they the network's: the owner's page, drawn afresh, keeps its own
    expect(by_id(page, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))
    expect(by_id(page, ids.PAGE)).to_have_attribute("lang", "en")
    expect(page.locator("#opt-precision")).to_have_value("9")


def test_a_follower_forks_a_copy_and_owns_it(page, follower, server):
    open_lab(page, server)
    press(page, "ArrowRight", "forward:1")
    follow(page, follower, server)
    original = network_id(page)
    version = status(page).get_attribute("data-version")

    follower.locator("#btn-fork").click()
    expect(follower).not_to_have_url(page.url)
    follower.wait_for_load_state()  # a new page: its keys work once its scripts have run
    expect(follower.locator("#btn-next")).to_be_visible()
    expect(status(follower)).to_have_attribute("data-phase", "forward:1")  # where it was
    assert network_id(follower) != original
    press(follower, "ArrowRight", "forward:2")
    expect(by_id(follower, ids.value("out", "o1"))).to_have_text(nine(ref.OUT[2][0]))
    w5 = by_id(follower, ids.field("w5", "graph"))
    w5.fill("0.3")
    w5.press("Tab")
    expect(by_id(follower, ids.grad_row("w5")).locator("td").nth(1)).to_have_text(nine(0.3))

    # The original is untouched, and its owner still owns it.
    expect(status(page)).to_have_attribute("data-version", version)
    expect(status(page)).to_have_attribute("data-phase", "forward:1")
    assert follower.request.get(f"{server}/api/networks/{original}").json()["version"] == int(
        version
    )
    press(page, "ArrowRight", "forward:2")


def test_each_change_reaches_a_follower_in_its_stream_drawn_with_its_own_preferences(
    page, follower, server
):
    """The follower's stream brings the lab of each change, gzip'd and drawn with the
    follower's preferences, those a change redraws in part (the chain rule's parameter) as
    well as those that redraw the page (digits): its page asks the server for nothing."""
    open_lab(page, server)
    follow(page, follower, server)
    with follower.expect_response(lambda r: "/events?precision=4" in r.url):
        redrawn(follower, lambda: follower.locator("#opt-precision").select_option("4"))
    with follower.expect_response(lambda r: "selected=" in r.url) as opened:
        follower.locator("#chain-select").select_option("w1")  # only graph and chain redrawn
    # Its new stream draws with the new preferences, and is compressed.
    assert opened.value.url.endswith("/events?precision=4&selected=w1")
    assert opened.value.headers.get("content-encoding") == "gzip"
    expect(follower.locator("#follow")).to_have_attribute("data-view", "precision=4&selected=w1")
    asked = []
    follower.on("request", lambda r: "/events" not in r.url and asked.append(r.url))

    for phase in ("forward:1", "forward:2", "loss", "backward:2"):
        press(page, "ArrowRight", phase)
        in_step(page, follower)
    expect(by_id(follower, ids.value("out", "h1"))).to_have_text(numbers.fmt(ref.OUT[1][0], 4))
    expect(follower.locator("#chain-select")).to_have_value("w1")
    expect(by_id(page, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))
    assert asked == []
