"""The mind map's knobs on the page, in a real browser: softmax with cross-entropy and its
short δ, Adam's update written with its terms and its state in the table of weights, the
gradient check, the classic slip beside the correct iteration, the decision boundary
and the downloads; every figure the page shows equal to the API's."""

import json
import re
import subprocess
import sys

from playwright.sync_api import Page, expect

from app.view import ids, numbers
from tests import reference as ref
from tests.e2e.test_page import all_local, by_id, nine, open_lab, press, shown
from tests.test_export import needs_torch

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


def test_adam_s_state_is_shown_in_the_table_of_weights(page, server, requests_made):
    open_lab(page, server)
    expect(page.locator("#opt-state")).to_have_count(0)  # plain sgd keeps no state
    choose(page, "optimizer", "adam")
    press(page, "Enter", "update")
    switch = page.locator("#opt-state")
    expect(switch).to_have_text("Show the optimiser's state (t, m, v)")
    switch.click()
    expect(page.locator("#opt-state")).to_have_attribute("aria-pressed", "true")
    table = by_id(page, ids.WEIGHTS)
    expect(table.locator("thead th.state")).to_have_text(["t", "m", "v"])
    state = api(page, server, "")["optimizer_state"]
    assert state["step"] == 1
    for name, (l, j, i) in ref.INDEX.items():
        m, v = state["exp_avg"]["weights"][l][j][i], state["exp_avg_sq"]["weights"][l][j][i]
        cells = by_id(page, ids.grad_row(name)).locator("td.state")
        expect(cells).to_have_text(["1", numbers.fmt(m, 9), numbers.fmt(v, 9)])
    # The next step's answer redraws the table with the state it leaves.
    page.locator("body").click(position={"x": 5, "y": 5})
    press(page, "Enter", "update")
    w5 = by_id(page, ids.grad_row("w5")).locator("td.state")
    expect(w5.first).to_have_text("2")
    m = api(page, server, "")["optimizer_state"]["exp_avg"]["weights"][1][0][0]
    expect(w5.nth(1)).to_have_text(numbers.fmt(m, 9))
    assert all_local(requests_made, server)


def test_the_slip_is_set_beside_the_correct_iteration(page, server, requests_made):
    open_lab(page, server)
    with page.expect_response(re.compile(r"/edit$")):
        by_id(page, ids.field("classic_slip", "table")).click()
    page.locator("body").click(position={"x": 5, "y": 5})
    for phase in (*CLASSIC_PHASES, "backward:1"):
        press(page, "ArrowRight", phase)
    slip = by_id(page, ids.SLIP)
    expect(slip).to_be_visible()
    for j, name in enumerate(("h1", "h2")):
        # REFERENCE.md's δ_o through the updated w5⁺..w8⁺, and the correct δ_h through w.
        w_plus = [ref.UPDATED[f"w{k}"] for k in (5 + j, 7 + j)]
        through = (ref.DELTAS[1][0] * w_plus[0] + ref.DELTAS[1][1] * w_plus[1]) * ref.DOUT_DNET[0][
            j
        ]
        row = by_id(page, ids.slip("delta", name))
        expect(row.locator("td")).to_have_text(
            [nine(through), nine(ref.DELTAS[0][j]), nine(through - ref.DELTAS[0][j])]
        )
        assert by_id(page, ids.delta(name)).get_attribute("data-result") == nine(through)
    e = by_id(page, ids.slip("e", "after")).locator("td")
    expect(e).to_have_text(["", "", ""])  # not before the update
    press(page, "ArrowRight", "update")
    expect(e).to_have_text(["0.291027924", "0.291027774", "1.50211843×10⁻⁷"])
    assert shown(page, ids.E_AFTER) == "0.291027924"
    expect(by_id(page, "e-after-correct")).to_contain_text("0.291027774")
    assert all_local(requests_made, server)


@needs_torch
def test_the_downloaded_pytorch_script_prints_the_page_s_numbers(page, server, tmp_path):
    """Frameworks' PyTorch script, downloaded from the page and run: its ∂E/∂w and w⁺ are
    the ones the page's table shows, digit for digit."""
    open_lab(page, server)
    for phase in (*CLASSIC_PHASES, "backward:1"):
        press(page, "ArrowRight", phase)
    with page.expect_download() as download:  # the next iteration: the one on show
        by_id(page, "export-pytorch").click()
    press(page, "ArrowRight", "update")  # the table shows its ∂E/∂w and w⁺
    script = tmp_path / "iteration.py"
    download.value.save_as(script)
    printed = subprocess.run(
        [sys.executable, str(script), "--json"], capture_output=True, text=True, timeout=120
    )
    assert printed.returncode == 0, printed.stderr
    got = json.loads(printed.stdout)
    for name, (l, j, i) in (("w1", (0, 0, 0)), ("w5", (1, 0, 0)), ("w8", (1, 1, 1))):
        row = by_id(page, ids.grad_row(name)).locator("td")
        assert shown_cell(row, 4) == numbers.fmt(got["weight_grads"][l][j][i], 9)
        assert shown_cell(row, 6) == numbers.fmt(got["weights"][l][j][i], 9)


def shown_cell(cells, k: int) -> str:
    return cells.nth(k).text_content().strip()
