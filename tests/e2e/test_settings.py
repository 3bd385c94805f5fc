"""The settings of what the network is and learns from, in a real browser: the architecture
editor, the initialiser and its draw, and the data (a generated set with its scatter, a
table of samples); what the page shows agrees with the API's state."""

import re

from playwright.sync_api import Page, expect

from app.view import ids, numbers
from tests.e2e.test_knobs import api, choose
from tests.e2e.test_page import by_id, open_lab

NEURONS = f'#{ids.GRAPH} g[id^="n-"]:not([id^="n-b"])'  # the graph's neurons, not its bias nodes


def click(page: Page, id: str, status: int = 200) -> None:
    """Press a settings button, and wait until the page has its answer."""
    with page.expect_response(re.compile(r"/edit$")) as answer:
        by_id(page, id).click()
    assert answer.value.status == status


def shape(page: Page, server: str, layers: list[int]) -> None:
    """The page and the API both have this shape."""
    expect(by_id(page, ids.architecture("layers"))).to_have_text("-".join(map(str, layers)))
    expect(page.locator(NEURONS)).to_have_count(sum(layers))
    assert api(page, server, "")["layers"] == layers


def test_the_architecture_editor_adds_and_removes_a_layer_and_a_neuron(page, server):
    open_lab(page, server)
    shape(page, server, [2, 2, 2])
    click(page, ids.architecture("add_layer"))
    shape(page, server, [2, 2, 2, 2])
    click(page, ids.architecture("add_neuron", 2))  # the second hidden layer
    shape(page, server, [2, 2, 3, 2])
    assert by_id(page, ids.delta("h2_3")).count() == 1  # its δ in the δ panel
    click(page, ids.architecture("remove_neuron", 2))
    shape(page, server, [2, 2, 2, 2])
    click(page, ids.architecture("remove_layer", 1))
    shape(page, server, [2, 2, 2])
    click(page, ids.architecture("remove_neuron", 1))
    click(page, ids.architecture("remove_neuron", 0))
    shape(page, server, [1, 1, 2])  # one neuron is the least: no button for fewer
    expect(by_id(page, ids.architecture("remove_neuron", 1))).to_be_disabled()
    expect(by_id(page, ids.architecture("remove_neuron", 0))).to_be_disabled()
    assert api(page, server, "")["inputs"] == [0.05]  # the sample cut to fit


def test_a_refused_shape_is_named_inline(page, server):
    open_lab(page, server)
    choose(page, "activation_2", "softmax")
    click(page, ids.architecture("remove_neuron", 2), status=422)  # softmax of one output
    expect(by_id(page, ids.field_error("layers"))).to_contain_text("at least 2 neurons")
    expect(by_id(page, ids.MESSAGE)).to_contain_text("layers:")
    shape(page, server, [2, 2, 2])


def test_another_initialiser_and_draw_again_give_new_weights(page, server):
    open_lab(page, server)
    w5 = by_id(page, ids.field("w5", "table"))
    expect(w5).to_have_value("0.4")
    choose(page, "init", "xavier_uniform")
    first = api(page, server, "")
    assert first["init"]["name"] == "xavier_uniform" and first["weights"][1][0][0] != 0.4
    expect(w5).to_have_value(numbers.fmt_input(first["weights"][1][0][0]))
    seed = first["seed"]
    click(page, ids.DRAW_AGAIN)
    again = api(page, server, "")
    assert again["seed"] == seed + 1 and again["init"]["name"] == "xavier_uniform"
    assert again["weights"] != first["weights"]
    expect(w5).to_have_value(numbers.fmt_input(again["weights"][1][0][0]))
    expect(by_id(page, ids.field("seed", "table"))).to_have_value(str(seed + 1))


def test_a_generated_set_chosen_on_the_page_shows_its_scatter_and_batch_size(page, server):
    open_lab(page, server)
    expect(by_id(page, ids.SCATTER)).to_have_count(0)
    choose_refused = by_id(page, ids.field("data", "table"))
    with page.expect_response(re.compile(r"/edit$")) as answer:
        choose_refused.select_option("generated")  # 2-2-2: two outputs, a generator makes one
    assert answer.value.status == 422
    expect(by_id(page, ids.field_error("data"))).to_contain_text("2 inputs and 1 target")
    click(page, ids.architecture("remove_neuron", 2))
    choose(page, "data", "generated")
    scatter = by_id(page, ids.SCATTER)
    expect(scatter).to_be_visible()
    expect(by_id(page, ids.field("batch_size", "table"))).to_be_visible()
    expect(by_id(page, ids.DATA_COUNTS)).to_contain_text("200 training samples")
    choose(page, "data.generator", "spiral")
    samples = by_id(page, ids.field("data.samples", "table"))
    with page.expect_response(re.compile(r"/edit$")):
        samples.fill("40")
        samples.press("Tab")  # a change event
    expect(by_id(page, ids.DATA_COUNTS)).to_contain_text("40 training samples")
    state = api(page, server, "")
    assert state["data"]["generator"] == "spiral" and len(state["data"]["inputs"]) == 40
    scatter = by_id(page, ids.SCATTER)
    expect(scatter).to_be_visible()
    page.wait_for_function(f"() => document.getElementById('{ids.SCATTER}').complete")
    assert scatter.evaluate("img => img.naturalWidth") == 240
    picture = page.request.get(server + scatter.get_attribute("src")).text()
    assert picture.count("<circle") == 40 and "<rect" not in picture  # the samples alone


def test_a_table_of_samples_is_edited_row_by_row(page, server):
    open_lab(page, server)
    choose(page, "data", "table")
    expect(by_id(page, ids.data_row(1))).to_be_visible()
    expect(by_id(page, ids.data_row_remove(1))).to_be_disabled()  # the last one stays
    click(page, ids.field("data.add_row", "table"))
    expect(by_id(page, ids.data_row(2))).to_be_visible()
    cell = by_id(page, ids.field("data.inputs.2.1", "table"))
    with page.expect_response(re.compile(r"/edit$")):
        cell.fill("0.7")
        cell.press("Tab")
    assert api(page, server, "")["data"]["inputs"] == [[0.05, 0.1], [0.7, 0.1]]
    click(page, ids.data_row_remove(1))
    expect(by_id(page, ids.data_row(2))).to_have_count(0)
    assert api(page, server, "")["data"]["inputs"] == [[0.7, 0.1]]
    expect(by_id(page, ids.field("batch_size", "table"))).to_be_visible()
