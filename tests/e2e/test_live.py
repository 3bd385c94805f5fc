"""A live training in a real browser: the owner trains a 2-8-8-1 network on the spiral
with Adam, a cosine schedule and mini-batches; the loss curve and the decision boundary
move while it runs, here and on a follower's screen; Stop stops it on both."""

import re

from playwright.sync_api import Page, expect

from app.view import ids, numbers
from tests.e2e.test_knobs import api, choose
from tests.e2e.test_page import all_local, by_id, open_lab
from tests.e2e.test_settings import click, shape
from tests.test_api_training import SPIRAL

LIVE = SPIRAL | {"data": SPIRAL["data"] | {"test_fraction": 0.2}}


def owned_spiral(page: Page, server: str) -> str:
    """A 2-8-8-1 spiral network made through the API, opened as its owner by its own link."""
    made = page.request.post(f"{server}/api/networks", data=LIVE).json()
    page.goto(f"{server}/n/{made['id']}/own?token={made['owner_token']}")
    expect(page).to_have_url(re.compile(rf"/n/{made['id']}$"))
    page.wait_for_load_state("load")
    return made["id"]


def changes(page: Page, selector: str, attribute: str, before: str | None) -> str:
    """Wait until the element's attribute differs from `before`; its new value."""
    locator = page.locator(selector)
    if before is not None:
        expect(locator).not_to_have_attribute(attribute, before, timeout=15_000)
    return locator.get_attribute(attribute)


def test_a_live_training_moves_the_curve_and_the_boundary_and_stop_stops_it(
    page, follower, server, requests_made
):
    id = owned_spiral(page, server)
    follower.goto(f"{server}/n/{id}")
    expect(page.locator("#followers")).to_have_text("1")
    # The follower's stream brings each chunk's regions and picture: its page asks for
    # nothing but, once the training has ended, the picture its whole lab names.
    asked = []
    follower.on("request", lambda r: "/events" not in r.url and asked.append(r.url))
    page.locator("#iterations").fill("100000")
    expect(page.locator("#train-unit")).to_have_value("iterations")
    page.locator("#btn-train").click()
    for viewer in (page, follower):
        expect(viewer.locator("#run-status")).to_have_attribute("data-status", "running")

    # Several chunks: the curve grows, the boundary is drawn again, on both screens.
    curve, boundary = None, None
    for _ in range(3):
        curve = changes(page, "#curve-train", "points", curve)
        boundary = changes(page, "#boundary-map", "src", boundary)
    seen = changes(follower, "#curve-train", "points", None)
    changes(follower, "#curve-train", "points", seen)
    picture = changes(follower, "#boundary-map", "src", None)  # the picture itself, redrawn
    assert picture.startswith("data:image/svg+xml,")
    changes(follower, "#boundary-map", "src", picture)
    follower.wait_for_function(  # a picture the browser reads (the data: URL well made)
        "(img => img.complete && img.naturalWidth === 240)(document.getElementById('boundary-map'))"
    )
    expect(follower.locator("#curve-test")).to_have_count(1)  # the test set's curve too
    expect(follower.locator("#btn-stop")).to_have_count(0)  # a follower cannot stop it

    # The page keeps working meanwhile: a display preference is answered.
    page.locator("#opt-scale").click()
    expect(page.locator("#loss-curve")).to_have_attribute("data-log", "true")

    page.locator("#btn-stop").click()
    for viewer in (page, follower):
        expect(viewer.locator("#run-status")).to_have_attribute("data-status", "stopped")
    done = int(page.locator("#run-status").get_attribute("data-done"))
    run = page.request.get(f"{server}/api/networks/{id}/run").json()
    assert run["status"] == "stopped" and run["done"] == done > 0
    state = page.request.get(f"{server}/api/networks/{id}").json()
    assert state["iteration"] == done
    for viewer in (page, follower):
        expect(viewer.locator("#status")).to_have_attribute("data-iteration", str(done + 1))
    expect(page.locator("#btn-train")).to_be_visible()
    assert all_local(requests_made, server)
    assert len(asked) <= 1 and all("/boundary.svg?" in url for url in asked), asked
    assert follower.locator("#boundary-map").get_attribute("src").startswith(f"/n/{id}/")


def test_a_new_user_builds_2_8_8_1_on_the_spiral_and_trains_it_live_from_the_page(page, server):
    """The issue's "done when", from the page alone: the classic network made a 2-8-8-1
    one on the spiral, trained with Adam and a cosine schedule in mini-batches."""
    open_lab(page, server)
    click(page, ids.architecture("remove_neuron", 2))  # one output: what a generator makes
    for _ in range(6):
        click(page, ids.architecture("add_neuron", 1))
    click(page, ids.architecture("add_layer"))  # as wide as the last hidden layer
    shape(page, server, [2, 8, 8, 1])
    choose(page, "data", "generated")
    choose(page, "data.generator", "spiral")
    choose(page, "optimizer", "adam")
    choose(page, "schedule", "cosine")
    for name, value in (("batch_size", "10"), ("learning_rate", "0.03")):  # Adam's η, not 0.5
        field = by_id(page, ids.field(name, "table"))
        with page.expect_response(re.compile(r"/edit$")):
            field.fill(value)
            field.press("Tab")
    state = api(page, server, "")
    assert (state["optimizer"]["name"], state["schedule"]["name"]) == ("adam", "cosine")
    assert state["batch_size"] == 10 and len(state["data"]["inputs"]) == 200
    assert state["learning_rate"] == 0.03

    page.locator("#train-unit").select_option("epochs")
    page.locator("#iterations").fill("5")
    page.locator("#btn-train").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "done", timeout=30_000)
    run = page.request.get(f"{server}/api/networks/{state['id']}/run").json()
    assert run["unit"] == "epochs" and run["done"] == 5 * 20  # 200 samples in batches of 10
    assert run["losses"][-1] < run["losses"][0]
    expect(page.locator("#run-e-train")).to_have_text(numbers.fmt(run["losses"][-1], 9))
    expect(page.locator("#boundary-map")).to_be_visible()


def test_presenting_a_live_training_shows_its_curve_in_the_explanation_s_place(page, server):
    owned_spiral(page, server)
    page.locator("#iterations").fill("100000")
    page.locator("#btn-train").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "running")
    page.keyboard.press("p")
    page.locator(".page.present").wait_for()
    expect(page.locator("#loss-curve")).to_be_visible()
    expect(by_id(page, ids.EXPLAIN)).to_be_hidden()
    # The axis labels readable from the back of the room (18 px type). Read in one go: the
    # region is swapped at every chunk, and a node read across a swap measures nothing.
    page.wait_for_function(
        "() => { const t = document.querySelector('#loss-curve .tick');"
        " return t !== null && t.getBoundingClientRect().height >= 15; }",
        timeout=10_000,
    )
    page.keyboard.press("p")  # out of presentation, to stop it
    page.locator(".page:not(.present)").wait_for()
    page.locator("#btn-stop").click()
    expect(page.locator("#run-status")).to_have_attribute("data-status", "stopped")
    page.keyboard.press("p")
    page.locator(".page.present").wait_for()
    expect(by_id(page, ids.EXPLAIN)).to_be_visible()  # ended: the explanation is back
    expect(page.locator("#loss-curve")).to_be_hidden()
