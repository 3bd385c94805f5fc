"""The mind map's knobs on the page, in a real browser: softmax with cross-entropy and its
short δ, Adam's update written with its terms, the gradient check, the decision boundary
and the downloads; every figure the page shows equal to the API's."""

import re

from playwright.sync_api import Page, expect

from app.view import ids, numbers
from tests import reference as ref
from tests.e2e.test_page import all_local, by_id, open_lab, press, shown

CLASSIC_PHASES = ("forward:1", "forward:2", "loss", "backward:2")


def choose(page: Page, name: str, value: str) -> None:
    """Choose in one of the settings' lists, and wait until the page has its answer."""
    with page.expect_response(re.compile(r"/edit$")):
        by_id(page, ids.field(name, "table")).select_option(value)


def api(page: Page, server: str, path: str, method: str = "GET") -> dict:
    id = page.url.rsplit("/", 1)[-1]
    call = page.request.post if method == "POST" else page.request.get
    return call(f"{server}/api/networks/{id}{path}").json()


def test_softmax_with_cross_entropy_shows_delta_as_out_minus_target(page, server, requests_made):
    open_lab(page, server)
    choose(page, "activation_2", "softmax")
    choose(page, "loss", "cross_entropy")
    for phase in CLASSIC_PHASES:
        press(page, "ArrowRight", phase)
    formula = by_id(page, ids.delta("o1"))
    expect(formula.locator(".line").first).to_contain_text("target")
    lines = formula.locator(".line").all_text_contents()
    assert re.sub(r"\s", "", lines[0]) == "δo1=outo1−targeto1"
    deltas = api(page, server, "/backward", "POST")["deltas"]
    assert formula.get_attribute("data-result") == numbers.fmt(deltas[1][0], 9)
    assert all_local(requests_made, server)


def test_adam_s_update_of_w5_is_written_with_its_terms(page, server, requests_made):
    open_lab(page, server)
    choose(page, "optimizer", "adam")
    press(page, "Enter", "update")  # one whole iteration
    update = by_id(page, ids.explain_item("update", "w5"))
    text = re.sub(r"\s", "", " ".join(update.locator(".line").all_text_contents()))
    # The first step: m̂ = g, v̂ = g² (the bias corrections undo (1 − β)), Δw = η·m̂/(√v̂ + ε)
    g = ref.GRADS["w5"]
    assert f"m^={numbers.fmt(g, 9)}" in text and f"v^={numbers.fmt(g * g, 9)}" in text
    assert text.startswith("w5+=w5−Δw5=0.4−")
    w5 = api(page, server, "")["weights"][1][0][0]
    assert update.get_attribute("data-result") == numbers.fmt(w5, 9)
    assert shown(page, "current-lr") == "0.5"
    assert all_local(requests_made, server)


def test_the_gradient_check_and_the_boundary_are_drawn_by_the_server(page, server, requests_made):
    open_lab(page, server)
    page.click("#btn-gradcheck")
    expect(by_id(page, "gradcheck-max")).to_contain_text("Largest relative error")
    check = api(page, server, "/gradcheck", "POST")
    row = by_id(page, "gradcheck-w5")
    expect(row).to_contain_text(numbers.fmt(check["weight_grads"][1][0][0], 9))
    boundary = by_id(page, "boundary-map")
    expect(boundary).to_be_visible()
    assert boundary.evaluate("img => img.complete && img.naturalWidth") == 240
    for format in ("pytorch", "numpy", "json"):
        link = by_id(page, f"export-{format}")
        with page.expect_download() as download:
            link.click()
        assert download.value.suggested_filename.startswith("backprop-lab-")
    assert all_local(requests_made, server)
