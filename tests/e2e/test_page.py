"""The page in a real browser: keys, edits, clicks, presentation, and nothing off-host.

Each number is read from the page as shown and compared with the tutorial's figure
(shared/REFERENCE.md, in tests/reference.py) rounded to the 9 digits shown.
"""

import re
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page, expect

from app import session as ops
from app.engine import weight_name
from app.view import ids, numbers
from tests import reference as ref

PHASES = ("ready", "forward:1", "forward:2", "loss", "backward:2", "backward:1", "update")


def nine(x: float) -> str:
    return numbers.fmt(x, 9)


def by_id(page: Page, id: str):
    return page.locator(f'[id="{id}"]')


def open_lab(page: Page, server: str) -> None:
    """A new classic network from the start page, owned by this browser."""
    page.goto(server + "/")
    page.click("#btn-start")
    expect(page).to_have_url(re.compile(r"/n/[\w-]+$"))
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-phase", "ready")
    # The scripts are deferred: a key pressed before keys.js has run does nothing.
    page.wait_for_load_state("load")


def press(page: Page, key: str, phase: str) -> None:
    page.keyboard.press(key)
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-phase", phase)


def shown(page: Page, id: str) -> str:
    return by_id(page, id).text_content().strip()


def all_local(urls: list[str], server: str) -> bool:
    port = urlsplit(server).port
    return all(
        url.startswith("data:")
        or (urlsplit(url).hostname == "127.0.0.1" and urlsplit(url).port == port)
        for url in urls
    )


# The formula lines in a box whose content is wider than the line (cut, or to be scrolled).
OVERFLOWING = """box => [...document.querySelectorAll(box + ' .formula .line')]
    .filter(line => line.scrollWidth > line.clientWidth + 1).map(line => line.textContent)"""


def test_the_keyboard_walks_one_iteration_with_the_tutorials_numbers(page, server, requests_made):
    open_lab(page, server)
    expect(by_id(page, ids.value("out", "h1"))).to_have_count(0)

    press(page, "ArrowRight", "forward:1")
    expect(by_id(page, ids.value("out", "h1"))).to_have_text(nine(ref.OUT[1][0]))
    # The weights the phase works on are highlighted in the table (w1 … w4 into layer 1).
    background = "e => getComputedStyle(e).backgroundColor"
    assert by_id(page, ids.grad_row("w1")).evaluate(background) != "rgba(0, 0, 0, 0)"
    assert by_id(page, ids.grad_row("w5")).evaluate(background) == "rgba(0, 0, 0, 0)"
    expect(by_id(page, ids.value("out", "o1"))).to_have_count(0)
    press(page, "ArrowRight", "forward:2")
    expect(by_id(page, ids.value("out", "o1"))).to_have_text(nine(ref.OUT[2][0]))
    press(page, "Space", "loss")
    expect(by_id(page, ids.E_TOTAL)).to_have_text(nine(ref.E_TOTAL))
    expect(by_id(page, ids.delta("o1"))).not_to_have_attribute("data-result", re.compile("."))
    press(page, "ArrowRight", "backward:2")
    press(page, "ArrowRight", "backward:1")

    # All four δ, as drawn on the graph, as the δ panel's result and as its last line.
    for layer, names in ((0, ("h1", "h2")), (1, ("o1", "o2"))):
        for k, name in enumerate(names):
            delta = nine(ref.DELTAS[layer][k])
            assert shown(page, ids.value("delta", name)) == delta
            assert by_id(page, ids.delta(name)).get_attribute("data-result") == delta
            last_line = by_id(page, ids.delta(name)).locator(".line").last.text_content()
            assert re.sub(r"\s", "", last_line).endswith(delta)
    for name, grad in ref.GRADS.items():
        expect(by_id(page, ids.grad_row(name)).locator(".grad")).to_have_text(nine(grad))
    # Every formula beside the graph fits its box (long ones wrap): none is cut at its edge.
    assert page.evaluate(OVERFLOWING, "#" + ids.EXPLAIN) == []

    press(page, "ArrowRight", "update")
    for name, new in ref.UPDATED.items():
        expect(by_id(page, ids.grad_row(name)).locator(".new")).to_have_text(nine(new))
    expect(by_id(page, ids.E_AFTER)).to_have_text(nine(ref.E_AFTER_1))

    press(page, "ArrowLeft", "backward:1")
    press(page, "Enter", "update")  # a whole iteration, from the parameters now
    press(page, "r", "ready")
    assert all_local(requests_made, server), requests_made


def test_quick_presses_are_all_applied_in_order(page, server, requests_made):
    open_lab(page, server)
    for _ in range(5):
        page.keyboard.press("ArrowRight")
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-phase", "backward:1")
    assert all_local(requests_made, server)


def test_editing_w5_updates_out_o1_and_delta_o1_in_place(page, server, requests_made):
    open_lab(page, server)
    for phase in PHASES[1:5]:
        press(page, "ArrowRight", phase)
    assert shown(page, ids.value("out", "o1")) == nine(ref.OUT[2][0])

    w5 = by_id(page, ids.field("w5", "graph"))
    w5.click()
    # No shortcut fires while typing in a field.
    sent = len(requests_made)
    for key in ("ArrowRight", "ArrowLeft", "r", "p", "Space"):
        w5.press(key)
    page.wait_for_timeout(300)
    assert len(requests_made) == sent
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-phase", "backward:2")

    w5.fill("0.3")
    w5.press("Tab")
    edited = ops.patch(ops.create({"preset": "classic"}), {"weights": {"w5": 0.3}}).trace()
    expect(by_id(page, ids.value("out", "o1"))).to_have_text(nine(edited.forward.out[2][0]))
    expect(by_id(page, ids.value("delta", "o1"))).to_have_text(nine(edited.backward.deltas[1][0]))
    assert nine(edited.forward.out[2][0]) != nine(ref.OUT[2][0])
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-phase", "backward:2")
    expect(by_id(page, ids.field("w5", "table"))).to_have_value("0.3")
    expect(by_id(page, ids.field("w6", "graph"))).to_be_focused()  # focus kept across the swap

    # A bad entry: an inline message, the text kept, nothing recomputed.
    w5 = by_id(page, ids.field("w5", "graph"))
    w5.fill("0.3x")
    w5.press("Tab")
    expect(by_id(page, ids.MESSAGE)).to_contain_text("w5")
    expect(by_id(page, ids.field("w5", "graph"))).to_have_value("0.3x")
    expect(by_id(page, ids.field("w5", "graph"))).to_have_attribute("aria-invalid", "true")
    expect(by_id(page, ids.value("out", "o1"))).to_have_text(nine(edited.forward.out[2][0]))
    assert all_local(requests_made, server)


def test_an_edge_shows_its_chain_rule_by_mouse_and_by_keyboard(page, server, requests_made):
    open_lab(page, server)
    for phase in PHASES[1:5]:
        press(page, "ArrowRight", phase)

    # Click w6 (h2 → o1) at 70 % of its length, past the fields and the crossing with w7.
    line = by_id(page, ids.edge("w6")).locator("line.wire")
    x1, y1, x2, y2 = (float(line.get_attribute(a)) for a in ("x1", "y1", "x2", "y2"))
    box = by_id(page, ids.GRAPH).bounding_box()
    width = float(by_id(page, ids.GRAPH).get_attribute("viewBox").split()[2])
    scale = box["width"] / width
    page.mouse.click(
        box["x"] + (x1 + 0.7 * (x2 - x1)) * scale, box["y"] + (y1 + 0.7 * (y2 - y1)) * scale
    )
    expect(page.locator("#chain-select")).to_have_value("w6")
    expect(by_id(page, ids.CHAIN + "-formula")).to_have_attribute(
        "data-result", nine(ref.GRADS["w6"])
    )

    # The keyboard: Tab to an edge (it is focusable), Enter chooses it.
    edge = by_id(page, ids.edge("w1"))
    edge.focus()
    page.keyboard.press("Enter")
    expect(page.locator("#chain-select")).to_have_value("w1")
    expect(by_id(page, ids.edge("w1"))).to_be_focused()
    expect(by_id(page, ids.CHAIN)).to_contain_text("layer 1")  # not computed yet
    press(page, "ArrowRight", "backward:1")
    expect(by_id(page, ids.CHAIN + "-formula")).to_have_attribute(
        "data-result", nine(ref.GRADS["w1"])
    )
    assert all_local(requests_made, server)


# The rendered size in px of a neuron's name, a number by a neuron and a weight's field:
# the font size in SVG units times the graph's scale (the smaller of width's and height's:
# the picture is fitted whole into its box).
RENDERED_SIZES = """() => {
    const px = e => {
        const svg = e.closest('svg'), box = svg.getBoundingClientRect(), view = svg.viewBox.baseVal;
        const scale = Math.min(box.width / view.width, box.height / view.height);
        return parseFloat(getComputedStyle(e).fontSize) * scale;
    };
    return {
        name: px(document.querySelector('#graph .node.hidden .name')),
        value: px(document.querySelector('#graph .node.hidden .values')),
        field: px(document.querySelector('#graph-fields .field-box.edge input')),
        legend: px(document.querySelector('#graph .legend text:last-child'))
            * document.querySelector('#graph .legend').transform.baseVal[1].matrix.a,
    };
}"""


def test_presentation_mode_fits_1280x720_at_every_phase(page, server, requests_made, artifacts):
    assert page.viewport_size == {"width": 1280, "height": 720}
    open_lab(page, server)
    press_to_present = page.locator(".page.present")
    page.keyboard.press("p")
    expect(press_to_present).to_have_count(1)
    for hidden in (ids.DELTAS, ids.PARAMS, ids.WEIGHTS, ids.CHAIN, "btn-train"):
        expect(by_id(page, hidden)).to_be_hidden()
    for phase in PHASES:
        if phase != "ready":
            press(page, "ArrowRight", phase)
        fits = page.evaluate(
            """() => {
                const e = document.getElementById('explain');
                const g = document.getElementById('graph').getBoundingClientRect();
                return {
                    page: document.documentElement.scrollHeight <= innerHeight
                        && document.documentElement.scrollWidth <= innerWidth,
                    explain: e.scrollHeight <= e.clientHeight + 1
                        && e.getBoundingClientRect().bottom <= innerHeight,
                    graph: g.bottom <= innerHeight && g.right <= innerWidth,
                };
            }"""
        )
        assert fits == {"page": True, "explain": True, "graph": True}, phase
        if phase == "backward:1":
            page.wait_for_timeout(400)  # htmx's settle and the edges' fade
            page.screenshot(path=artifacts / "presentation-1280x720.png")
            assert page.evaluate(OVERFLOWING, "#" + ids.EXPLAIN) == []
            sizes = page.evaluate(RENDERED_SIZES)
            assert min(sizes.values()) >= 18, sizes  # read from the back of a classroom
    # After the update, every weight's field shows all nine digits, inside its box.
    cut = page.evaluate(
        """() => { const cut = """
        + CUT
        + """; return [...document.querySelectorAll('#graph-fields foreignObject')]
            .map(box => [box, box.querySelector('input')])
            .filter(([box, i]) => cut(i)
                || i.getBoundingClientRect().right > box.getBoundingClientRect().right + 0.5)
            .map(([box, i]) => i.id); }"""
    )
    assert cut == []
    size = page.locator("#explain .formula").first.evaluate(
        "e => parseFloat(getComputedStyle(e).fontSize)"
    )
    assert size >= 16
    page.keyboard.press("p")
    expect(press_to_present).to_have_count(0)
    assert (artifacts / "presentation-1280x720.png").stat().st_size > 10_000
    assert all_local(requests_made, server)


def test_contrast_theme_and_chinese(page, server, requests_made):
    open_lab(page, server)
    page.locator("#opt-theme").click()
    expect(by_id(page, ids.PAGE)).to_have_class(re.compile(r"\btheme-contrast\b"))
    page.locator("#opt-lang").click()
    expect(by_id(page, ids.PAGE)).to_have_attribute("lang", "zh-Hans")
    expect(page.locator("#btn-next")).to_contain_text("下一步")
    press(page, "ArrowRight", "forward:1")
    expect(by_id(page, ids.STATUS)).to_contain_text("前向传播")
    background = by_id(page, ids.PAGE).evaluate("e => getComputedStyle(e).backgroundColor")
    assert background == "rgb(0, 0, 0)"
    assert all_local(requests_made, server)


def test_focus_is_visible_and_every_control_is_named(page, server):
    open_lab(page, server)
    page.keyboard.press("Tab")
    focused = page.locator(":focus")
    expect(focused).to_have_id("btn-prev")
    style = focused.evaluate(
        "e => [getComputedStyle(e).outlineStyle, getComputedStyle(e).outlineWidth]"
    )
    assert style == ["solid", "3px"]
    for role in ("button", "textbox", "combobox", "switch"):
        for element in page.get_by_role(role).all():
            name = element.evaluate(
                "e => e.getAttribute('aria-label') || e.labels?.[0]?.textContent || e.textContent"
            )
            assert name and name.strip(), element


def test_train_then_reset(page, server):
    open_lab(page, server)
    page.locator("#iterations").fill("1000")
    page.locator("#btn-train").click()
    expect(page.locator("#run-status")).to_contain_text("Trained 1000 iterations")
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-iteration", "1001")
    page.locator("#btn-reset").click()
    expect(by_id(page, ids.STATUS)).to_have_attribute("data-iteration", "1")


@pytest.mark.parametrize("layers", ["2-16-16-16-2"])
def test_a_large_network_can_be_stepped(page, server, layers):
    open_lab(page, server)
    page.locator("#new-layers").fill(layers)
    page.locator("#btn-new").click()
    expect(page.locator("#new-layers")).to_have_value("2-2-2")  # a new page
    expect(by_id(page, ids.neuron("h3_16"))).to_have_count(1)
    press(page, "ArrowRight", "forward:1")
    for phase in ("forward:2", "forward:3", "forward:4", "loss", "backward:4"):
        press(page, "ArrowRight", phase)
    # Each swapped region once, filled (swap.js empties the old one before htmx swaps it).
    for region in (ids.GRAPH, ids.EXPLAIN, ids.DELTAS, ids.WEIGHTS):
        expect(by_id(page, region)).to_have_count(1)
    expect(by_id(page, ids.delta("o1")).locator(".line")).not_to_have_count(1)
    expect(by_id(page, ids.GRAPH).locator(".edge")).to_have_count(626)
    # The table of its 626 parameters is folded until asked for, then follows the steps.
    expect(by_id(page, ids.grad_row("w1"))).to_have_count(0)
    page.locator("#opt-table").click()
    expect(page.locator("#opt-table")).to_have_attribute("aria-expanded", "true")
    expect(by_id(page, ids.WEIGHTS).locator("tbody tr")).to_have_count(626)
    page.locator("body").click(position={"x": 5, "y": 5})
    press(page, "ArrowRight", "backward:3")
    grad = by_id(page, ids.grad_row(weight_name((2, 16, 16, 16, 2), 2, 0, 0))).locator(".grad")
    expect(grad).not_to_have_text("")


# What covers what on the graph: a field over another field or over a neuron's name or
# numbers, and a field too narrow for its number.
# Whether an input's number is wider than the room inside it: its text measured in its
# font against its width less its padding. (Not scrollWidth > clientWidth: Chromium 150
# rounds a box of fractional width up in one and down in the other, a cut of 1 px where
# the number has 20 px to spare.)
CUT = """input => {
    const s = getComputedStyle(input);
    const ctx = document.createElement('canvas').getContext('2d');
    ctx.font = `${s.fontStyle} ${s.fontWeight} ${s.fontSize} ${s.fontFamily}`;
    const room = input.clientWidth - parseFloat(s.paddingLeft) - parseFloat(s.paddingRight);
    return ctx.measureText(input.value).width > room + 0.5;
}"""


CLASHES = (
    """() => {
    const clash = [];
    const rect = e => e.getBoundingClientRect();
    const meets = (a, b) => a.left < b.right - 0.5 && b.left < a.right - 0.5
        && a.top < b.bottom - 0.5 && b.top < a.bottom - 0.5;
    const fields = [...document.querySelectorAll('#graph-fields foreignObject')];
    const texts = [...document.querySelectorAll('#graph .node text')];
    const cut = """
    + CUT
    + """;
    fields.forEach((f, k) => {
        const name = f.querySelector('input').name, input = f.querySelector('input');
        if (cut(input)) clash.push(`${name} cut: ${input.value}`);
        for (const g of fields.slice(k + 1))
            if (meets(rect(f), rect(g))) clash.push(name + ' / ' + g.querySelector('input').name);
        for (const t of texts)
            if (meets(rect(f), rect(t))) clash.push(name + ' / ' + t.closest('g').id);
    });
    return clash;
}"""
)


@pytest.mark.parametrize("layers", ["2-3-2", "2-2-2-2"])
@pytest.mark.parametrize("present", [False, True])
def test_other_small_networks_are_drawn_with_nothing_covered(page, server, layers, present):
    open_lab(page, server)
    page.locator("#new-layers").fill(layers)
    page.locator("#btn-new").click()
    expect(page.locator("#new-layers")).to_have_value("2-2-2")  # a new page
    if present:
        page.keyboard.press("p")
        expect(page.locator(".page.present")).to_have_count(1)
    w1 = by_id(page, ids.field("w1", "graph"))
    w1.fill("-0.00380982365")  # longer than most: drawn in smaller type, all of it shown
    with page.expect_response(lambda r: r.url.endswith("/edit") and r.ok):
        w1.press("Tab")
    page.locator("body").click(position={"x": 5, "y": 700})
    depth = len(layers.split("-")) - 1
    for phase in [f"forward:{k}" for k in range(1, depth + 1)] + ["loss"]:
        press(page, "ArrowRight", phase)
    for k in range(depth, 0, -1):
        press(page, "ArrowRight", f"backward:{k}")  # every number by every neuron shown
    expect(page.locator("#graph-fields foreignObject")).not_to_have_count(0)
    assert page.evaluate(CLASHES) == []
    assert page.evaluate(OVERFLOWING, "#" + ids.EXPLAIN) == []
