"""The view: what is drawn from a session, checked against the tutorial's figures.

Numbers on the page are the engine's float64 values shown to 9 significant digits, so
each is compared with the reference figure rounded the same way.
"""

import html
import math
import re

import pytest

from app import session as ops
from app.engine import bias_name, weight_name
from app.view import Invalid, Prefs, build, ids, layout, mathml, numbers, palette, prefs, text
from app.view.formulas import MAX_TERMS
from app.view.lab import MAX_NEURONS, REGIONS, Fold, to_redraw
from tests import reference as ref


def nine(x: float) -> str:
    """A reference figure as the page shows it by default."""
    return numbers.fmt(x, 9)


def at(phase: str, data: dict | None = None) -> ops.Session:
    s = ops.create(data or {"preset": "classic"})
    while s.phase != phase:
        s = ops.next_phase(s)
    return s


def lab(phase: str, **kw):
    return build(at(phase), Prefs(**kw), "en")


def deltas(view) -> dict[str, str | None]:
    return {f.id: f.result for section in view.deltas for f in section.formulas}


def graph_values(view) -> dict[str, str]:
    return {v.id: v.text for n in view.graph.nodes for v in n.values}


def plain(mathml: str) -> str:
    """The text of MathML: δo1=−(targeto1−outo1)·… (subscripts run on)."""
    return html.unescape(re.sub(r"<[^>]+>", "", str(mathml)))


# Numbers


@pytest.mark.parametrize(
    "x, shown",
    [
        (0.751365069552, "0.751365070"),  # trailing zero kept: nine digits shown
        (0.3775, "0.3775"),  # a short decimal stays short
        (0.15 * 0.05 + 0.2 * 0.1 + 0.35, "0.3775"),  # … also when float64 is an ulp off
        (-0.038098236517, "−0.0380982365"),  # U+2212, not a hyphen
        (3.5101878e-05, "3.5101878×10⁻⁵"),
        (0.000438567734, "0.000438567734"),
        (0.0, "0"),
    ],
)
def test_numbers_are_shown_to_nine_significant_digits(x, shown):
    assert numbers.fmt(x) == shown


def test_precision_switch_changes_the_digits():
    assert numbers.fmt(0.751365069552, 4) == "0.7514"
    assert numbers.fmt(0.751365069552, 12) == "0.751365069552"


def test_edit_fields_read_back_what_they_show():
    for x in (0.751365069552, -0.038098236517, 3.5101878e-05, 1e20):
        shown = numbers.fmt_input(x)
        assert numbers.parse(shown) == float(shown) == pytest.approx(x, rel=1e-8)


@pytest.mark.parametrize("typed, value", [("−0.5", -0.5), (" 0,25 ", 0.25), ("3e-2", 0.03)])
def test_parse_accepts_what_people_type(typed, value):
    assert numbers.parse(typed) == value


@pytest.mark.parametrize("typed", ["", "abc", "nan", "inf", "-inf", "1e400", "0x10"])
def test_parse_refuses_what_is_not_a_finite_number(typed):
    with pytest.raises(ValueError):
        numbers.parse(typed)


def test_negative_numbers_in_mathml_carry_a_real_minus():
    assert numbers.mathml(-0.5) == "<mrow><mo>−</mo><mn>0.5</mn></mrow>"


# Names, ids, words


def test_neurons_are_named_as_in_the_tutorial():
    names = [ids.neuron_name((2, 2, 2), l, j) for l in range(3) for j in range(2)]
    assert names == ["i1", "i2", "h1", "h2", "o1", "o2"]


def test_deeper_networks_name_each_hidden_layer():
    layers = (2, 3, 3, 1)
    assert [ids.neuron_name(layers, 1, j) for j in range(3)] == ["h1_1", "h1_2", "h1_3"]
    assert ids.neuron_name(layers, 2, 0) == "h2_1"
    assert ids.neuron_name(layers, 3, 0) == "o1"
    assert ids.tex_name("h2_1") == "h_{2,1}"
    assert ids.tex_name("b1_2") == "b_{1,2}"
    assert ids.tex_name("w5") == "w_{5}"


def test_both_languages_have_every_word():
    assert set(text.TEXT["en"]) == set(text.TEXT["zh"])
    for lang in text.LANGS:
        assert all(isinstance(v, str) and v for v in text.TEXT[lang].values())


@pytest.mark.parametrize(
    "header, lang",
    [
        ("zh-CN,zh;q=0.9,en;q=0.8", "zh"),
        ("en-GB,en;q=0.9,zh-CN;q=0.5", "en"),
        ("fr-FR,zh-Hans;q=0.7", "zh"),
        ("de-DE", "en"),
        ("", "en"),
        (None, "en"),
        ("zh;q=abc, en", "en"),
    ],
)
def test_language_follows_the_browser(header, lang):
    assert text.pick(header) == lang


def test_preferences_round_trip_through_cookies_and_ignore_bad_values():
    values = {"precision": "6", "colour": "weight", "lang": "zh", "selected": "w1", "table": "on"}
    chosen = prefs.read(values)
    assert chosen == Prefs(precision=6, colour="weight", lang="zh", selected="w1", table="on")
    assert prefs.from_cookies(prefs.to_cookies(chosen)) == chosen
    bad = {"precision": "7", "colour": "red", "theme": "<script>", "selected": "x; y"}
    assert prefs.read(bad, chosen) == chosen


# Colours and layout


def test_palette_sign_picks_the_hue_and_magnitude_the_width():
    big, small = palette.stroke(0.08, 0.08), palette.stroke(-0.0004, 0.08)
    assert big.sign == "positive" and "var(--pos)" in big.style
    assert small.sign == "negative" and "var(--neg)" in small.style
    assert big.strength == 1.0 and 0 < small.strength < big.strength
    assert f"stroke-width:{palette.MAX_WIDTH:.2f}" in big.style
    assert palette.stroke(0.0, 0.08).sign == "zero"
    assert palette.strength(1e-9, 1.0) == 0.0  # beyond the scale: the thinnest


def test_legend_ticks_go_down_a_decade_each():
    ticks = palette.ticks(0.1)
    assert [t.magnitude for t in ticks] == pytest.approx([0.1, 0.01, 0.001, 0.0001])
    assert [t.width for t in ticks] == sorted((t.width for t in ticks), reverse=True)


@pytest.mark.parametrize("present", [False, True])
@pytest.mark.parametrize("layers", [(2, 2, 2), (2, 16, 16, 16, 2), (1, 1), (16, 3, 16)])
def test_layout_keeps_neurons_apart_and_inside_the_picture(layers, present):
    g = layout.layout(layers, present)
    points = list(g.neurons.values()) + list(g.bias_nodes.values())
    for x, y in points:
        assert g.radius <= x <= g.width - g.radius and g.radius <= y <= g.height - g.radius
    for a in points:
        for b in points:
            if a != b:
                assert (a[0] - b[0]) ** 2 + (a[1] - b[1]) ** 2 >= (2 * g.radius) ** 2


def test_every_parameter_of_the_classic_network_has_a_field_on_the_graph():
    names = {p.field.name for p in lab("ready").overlay.fields}
    assert names == {
        "i1",
        "i2",
        "target_o1",
        "target_o2",
        *ref.GRADS,
        "b1_1",
        "b1_2",
        "b2_1",
        "b2_2",
    }


ARCHITECTURES = [(2, 2, 2), (2, 3, 2), (3, 3, 2), (2, 4, 2), (2, 2, 2, 2), (2, 2, 2, 2, 2), (1, 1)]


def apart(a, b) -> bool:
    return a[2] <= b[0] + 0.5 or b[2] <= a[0] + 0.5 or a[3] <= b[1] + 0.5 or b[3] <= a[1] + 0.5


@pytest.mark.parametrize("present", ["off", "on"])
@pytest.mark.parametrize("layers", ARCHITECTURES)
def test_the_fields_on_the_graph_lie_inside_it_apart_and_clear_of_the_neurons(layers, present):
    data = {"layers": list(layers), "inputs": [0.1] * layers[0], "targets": [0.5] * layers[-1]}
    view = build(at("update", data), Prefs(present=present), "en")
    boxes = [(p.x, p.y, p.x + p.width, p.y + p.height) for p in view.overlay.fields]
    for x1, y1, x2, y2 in boxes:
        assert 0 <= x1 <= x2 <= view.overlay.width
        assert 0 <= y1 <= y2 <= view.overlay.height
    for k, a in enumerate(boxes):
        for b in boxes[k + 1 :]:
            assert apart(a, b), (a, b)
    g = layout.layout(layers, present == "on")
    for n in view.graph.nodes:
        for x1, y1, x2, y2 in boxes:
            nearest = (min(max(n.x, x1), x2), min(max(n.y, y1), y2))
            assert (nearest[0] - n.x) ** 2 + (nearest[1] - n.y) ** 2 >= n.r**2 - 1e-9, n.name
    for key in g.neurons:  # and clear of the numbers by each neuron, at their longest
        numbers_box = layout.values_box(g, layers, key)
        assert all(apart(numbers_box, box) for box in boxes), key


@pytest.mark.parametrize("present", ["off", "on"])
@pytest.mark.parametrize("layers", [(2, 2, 2), (2, 3, 2), (2, 2, 2, 2), (1, 1)])
def test_a_small_networks_every_number_has_a_field_on_the_graph(layers, present):
    # Presenting, 2-3-2 is too tall and wide for all its fields in large type (one bias
    # field is in the table).
    if present == "on" and layers not in [(2, 2, 2), (2, 2, 2, 2), (1, 1)]:
        return
    data = {"layers": list(layers), "inputs": [0.1] * layers[0], "targets": [0.5] * layers[-1]}
    s = at("ready", data)
    on_graph = {p.field.name for p in build(s, Prefs(present=present), "en").overlay.fields}
    inputs = {ids.neuron_name(layers, 0, j) for j in range(layers[0])}
    targets = {f"target_{ids.neuron_name(layers, len(layers) - 1, j)}" for j in range(layers[-1])}
    assert on_graph == {*s.state.network.param_names(), *inputs, *targets}, layers


@pytest.mark.parametrize("present", [False, True])
def test_every_neuron_of_the_classic_network_shows_its_numbers(present):
    g = layout.layout((2, 2, 2), present)
    assert set(g.values) == {(1, 0), (1, 1), (2, 0), (2, 1)}


def _crosses(box, start, end, clear: float) -> bool:
    """Whether the segment from start to end passes within `clear` of the box (sampled)."""
    x0, y0, x1, y1 = box
    for k in range(201):
        x = start[0] + (end[0] - start[0]) * k / 200
        y = start[1] + (end[1] - start[1]) * k / 200
        if x0 - clear < x < x1 + clear and y0 - clear < y < y1 + clear:
            return True
    return False


def _covered(layers, present) -> list:
    """The edges another edge's field or a neuron's numbers comes within CLEAR of."""
    g = layout.layout(layers, present)
    boxes = {**g.fields, **{key: layout.values_box(g, layers, key) for key in g.values}}
    found = []
    for l in range(len(layers) - 1):
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            starts = [
                (weight_name(layers, l, j, i), g.neurons[(l, i)], g.radius)
                for i in range(layers[l])
            ]
            for name, start, r in [*starts, (bias_name(l, j), g.bias_nodes[l], g.bias_radius)]:
                # The visible part: outside the two discs.
                length = math.dist(start, end)
                a = [start[k] + (end[k] - start[k]) * r / length for k in (0, 1)]
                b = [end[k] - (end[k] - start[k]) * g.radius / length for k in (0, 1)]
                found += [
                    (key, name)
                    for key, box in boxes.items()
                    if key != name and _crosses(box, a, b, layout.CLEAR - 0.5)
                ]
    return found


def test_on_the_full_page_no_field_and_no_number_of_the_classic_network_covers_an_edge():
    assert _covered((2, 2, 2), False) == []
    # Presenting, and on larger networks, fields may lie over another edge (reported by
    # tests/e2e/test_graph.py); the numbers by the neurons never do.
    for layers in ARCHITECTURES:
        for present in (False, True):
            assert [c for c in _covered(layers, present) if isinstance(c[0], tuple)] == []


@pytest.mark.parametrize(
    "layers",
    [(2, 2, 2), (2, 3, 3, 2), (3, 3, 3, 3), (5,) * 8, (4,) * 8, (16,) * 8, (2, 16, 16, 16, 2)],
)
@pytest.mark.parametrize("present", [False, True])
def test_placing_the_fields_and_numbers_weighs_a_bounded_number_of_places(layers, present):
    # No search to stall a first render: a fixed few places per field and per neuron, each
    # weighed once (timed against the classic network in benchmarks/graph.py).
    g = layout.layout(layers, present)
    params = sum((m + 1) * n for m, n in zip(layers, layers[1:]))
    count = layout.evaluated(g, layers)
    assert count <= layout.FIELD_PLACES * params + layout.NUMBER_PLACES * sum(layers[1:])
    assert layout.FIELD_PLACES <= 32 and layout.NUMBER_PLACES <= 8


def test_a_picture_is_made_wider_for_its_fields_but_not_too_wide_to_read():
    assert layout.layout((2, 2, 2)).width <= 1.2 * layout.WIDTH
    assert layout.layout((2, 2, 2), True).width <= 1.2 * layout.WIDTH  # 18 px at 1280×720
    for layers in ARCHITECTURES:
        for present in (False, True):
            assert layout.layout(layers, present).width <= layout.MAX_WIDTH


def test_presentation_draws_the_graph_in_larger_type():
    page, present = lab("ready").graph, lab("ready", present="on").graph
    assert present.font > page.font and present.values_font > page.values_font
    assert lab("ready", present="on").overlay.font > lab("ready").overlay.font


def test_only_small_networks_get_values_and_fields_on_the_graph():
    assert layout.layout((2, 2, 2)).detail
    assert not layout.layout((2, 16, 16, 16, 2)).detail


# Reveal by phase


def test_ready_shows_no_computed_number():
    view = lab("ready")
    assert graph_values(view) == {}
    assert set(deltas(view).values()) == {None}
    assert view.status.e_total is None
    assert all(r.grad is None and r.new is None for r in view.rows)
    assert view.chain.formula.result is None and view.chain.pending


def test_forward_reveals_layer_by_layer():
    view = lab("forward:1")
    values = graph_values(view)
    assert values[ids.value("net", "h1")] == "0.3775"
    assert values[ids.value("out", "h1")] == nine(ref.OUT[1][0])
    assert ids.value("out", "o1") not in values
    values = graph_values(lab("forward:2"))
    assert values[ids.value("out", "o1")] == nine(ref.OUT[2][0])
    assert values[ids.value("net", "o2")] == nine(ref.NET[1][1])
    assert ids.value("E", "o1") not in values


def test_loss_reveals_the_errors_and_e_total():
    view = lab("loss")
    assert graph_values(view)[ids.value("E", "o1")] == nine(ref.LOSSES[0])
    assert view.status.e_total == nine(ref.E_TOTAL)
    results = {f.id: f.result for s in view.explanation.sections for f in s.formulas}
    assert results[ids.explain_item("loss", "total")] == nine(ref.E_TOTAL)
    assert set(deltas(view).values()) == {None}


def test_backward_reveals_output_deltas_before_hidden_ones():
    d = deltas(lab("backward:2"))
    assert d[ids.delta("o1")] == nine(ref.DELTAS[1][0]) == "0.138498562"
    assert d[ids.delta("o2")] == nine(ref.DELTAS[1][1])
    assert d[ids.delta("h1")] is None
    d = deltas(lab("backward:1"))
    assert d[ids.delta("h1")] == nine(ref.DELTAS[0][0])
    assert d[ids.delta("h2")] == nine(ref.DELTAS[0][1])


def test_after_five_steps_all_eight_gradients_match_the_tutorial():
    rows = {r.name: r for r in lab("backward:1").rows}
    for name, grad in ref.GRADS.items():
        assert rows[name].grad == nine(grad)
        assert rows[name].new is None  # w⁺ waits for the update


def test_update_shows_w_plus_and_the_new_e_total():
    view = lab("update")
    rows = {r.name: r for r in view.rows}
    for name, new in ref.UPDATED.items():
        assert rows[name].new == nine(new)
    assert rows["b1_1"].new == "fixed"
    assert view.status.e_total == nine(ref.E_TOTAL)
    assert view.status.e_after == nine(ref.E_AFTER_1)
    assert view.status.iteration == 1
    # The edit fields hold the parameters now: w⁺.
    assert view.params.weights[4].value == numbers.fmt_input(ref.UPDATED["w5"])


# Formulas


def formula(view, fid):
    found = [f for s in (*view.deltas, *view.explanation.sections) for f in s.formulas]
    found.append(view.chain.formula)
    return next(f for f in found if f.id == fid)


def test_output_delta_is_written_as_the_tutorial_writes_it():
    f = formula(lab("backward:2"), ids.delta("o1"))
    symbols, numbers_, result = (plain(line.math) for line in f.lines)
    assert "target" in symbols and "out" in symbols
    assert "0.01" in numbers_ and numbers_.count("0.751365070") == 3
    assert nine(ref.DE_DOUT[1][0]) in result and nine(ref.DOUT_DNET[1][0]) in result
    assert result.endswith("0.138498562")


def test_hidden_delta_sums_both_paths():
    f = formula(lab("backward:1"), ids.delta("h1"))
    lines = [plain(line.math) for line in f.lines]
    assert "w" in lines[0]  # (δ_o1·w5 + δ_o2·w7)
    assert nine(ref.DELTAS[1][0]) in lines[1] and "(−0.0380982365)" in lines[1]
    assert f.lines[2].continued and nine(ref.OUT[1][0]) in lines[2]
    # the two paths' terms δ_o·w, then their sum ∂E/∂out_h1
    assert nine(ref.DE_DOUT_H1_TERMS[0]) in lines[3]
    assert nine(ref.DE_DOUT_H1_TERMS[1]) in lines[3]
    assert nine(ref.DE_DOUT[0][0]) in lines[4] and lines[4].endswith(nine(ref.DELTAS[0][0]))


@pytest.mark.parametrize(
    "activation, derivative",
    [
        ("sigmoid", "outo1(1−outo1)"),
        ("tanh", "1−outo12"),  # 1 − out², the square a superscript
        ("relu", "[neto1>0]"),
        ("linear", "·1"),
    ],
)
def test_the_derivative_in_delta_depends_on_the_activation(activation, derivative):
    data = {"preset": "classic", "activations": ["sigmoid", activation]}
    f = formula(build(at("backward:2", data), Prefs(), "en"), ids.delta("o1"))
    assert plain(f.lines[0].math).endswith(derivative)


def test_sums_of_many_terms_are_written_with_sigma():
    assert MAX_TERMS < 6
    data = {"layers": [2, 3, 6], "inputs": [0.05, 0.1], "targets": [0.5] * 6, "seed": 3}
    view = build(at("backward:1", data), Prefs(), "en")
    f = formula(view, ids.delta("h1"))
    assert "∑k=16" in plain(f.lines[0].math)
    assert f.result == numbers.fmt(view_trace(data, "backward:1").backward.deltas[0][0])
    data = {"layers": [6, 2, 2], "inputs": [0.1] * 6, "targets": [0.01, 0.99], "seed": 3}
    view = build(at("forward:1", data), Prefs(), "en")
    net = formula(view, ids.explain_item("net", "h1"))
    assert "∑k=16" in plain(net.lines[0].math)
    assert net.result == numbers.fmt(view_trace(data, "forward:1").forward.net[0][0])


def view_trace(data, phase):
    return at(phase, data).trace()


def test_chain_rule_for_w5_multiplies_the_three_factors():
    f = lab("backward:2").chain.formula
    values = plain(f.lines[1].math)
    for factor in (ref.DE_DOUT[1][0], ref.DOUT_DNET[1][0], ref.OUT[1][0], ref.GRADS["w5"]):
        assert nine(factor) in values
    assert f.result == nine(ref.GRADS["w5"])


def test_chain_rule_for_w1_waits_for_its_layer_and_shows_both_paths():
    view = lab("backward:2", selected="w1")
    assert view.chain.selected == "w1" and view.chain.formula.result is None
    assert "layer 1" in view.chain.pending
    f = lab("backward:1", selected="w1").chain.formula
    assert f.result == nine(ref.GRADS["w1"])
    paths = plain(f.lines[2].math)
    assert nine(ref.DE_DOUT[0][0]) in paths and nine(ref.DELTAS[1][1]) in paths
    assert plain(f.lines[-1].math).endswith("0.05")  # ∂net_h1/∂w1 = i1


def test_unknown_selection_falls_back_to_the_first_output_weight():
    assert lab("ready", selected="w99").chain.selected == "w5"


# The graph


def test_edges_are_grey_until_the_backward_pass_reaches_them():
    edges = {e.name: e for e in lab("backward:2").graph.edges}
    assert edges["w5"].sign == "positive" and edges["w7"].sign == "negative"
    assert edges["w1"].sign == "pending" and edges["w1"].style == ""  # grey by its class
    assert "∂E/∂w = 0.0821670406" in edges["w5"].title
    assert "∂E/∂w" not in edges["w1"].title


def test_edges_can_be_coloured_by_weight_instead():
    view = lab("ready", colour="weight")
    assert {e.sign for e in view.graph.edges} == {"positive"}  # all classic weights > 0
    assert not view.graph.legend.pending and view.graph.legend.ticks


def test_active_phase_highlights_its_layer():
    view = lab("forward:1")
    active = {n.name for n in view.graph.nodes if n.active}
    assert active == {"h1", "h2"}
    assert {e.name for e in view.graph.edges if e.active} == {
        "w1",
        "w2",
        "w3",
        "w4",
        "b1_1",
        "b1_2",
    }


def test_every_edge_title_names_its_weight_and_value():
    for e in lab("ready").graph.edges:
        assert e.title.startswith(e.name + ":")
        assert ("w = " if e.name[0] == "w" else "b = ") in e.title


def test_a_refused_entry_is_shown_back_as_typed():
    view = build(at("ready"), Prefs(), "en", invalid=Invalid("w5", "0.4x", "not a number"))
    on_graph = next(p.field for p in view.overlay.fields if p.field.name == "w5")
    in_table = next(f for f in view.params.weights if f.name == "w5")
    for f in (on_graph, in_table):
        assert f.value == "0.4x" and f.error == "not a number"
    assert next(f for f in view.params.weights if f.name == "w6").error is None


def test_element_ids_are_unique():
    view = lab("update")
    found = [n.id for n in view.graph.nodes] + [e.id for e in view.graph.edges]
    found += [v.id for n in view.graph.nodes for v in n.values]
    found += [p.field.id for p in view.overlay.fields]
    found += [f.id for s in view.deltas for f in s.formulas] + [r.id for r in view.rows]
    assert len(found) == len(set(found))


def test_a_deep_network_is_drawn_with_names_only():
    data = {"layers": [2, 16, 16, 16, 2], "inputs": [0.05, 0.1], "targets": [0.01, 0.99]}
    view = build(at("update", data | {"seed": 1}), Prefs(), "zh")
    assert not view.graph.detail
    assert len(view.graph.edges) == 2 * 16 + 16 * 16 * 2 + 16 * 2 + 16 * 3 + 2
    names = {n.name for n in view.graph.nodes}
    assert {"h1_1", "h3_16", "o2", "b4"} <= names
    assert view.overlay.fields == ()
    assert view.status.label == "更新权重"
    assert weight_name((2, 16, 16, 16, 2), 3, 1, 15) in view.chain.options


def test_regions_to_redraw():
    ready, forward = at("ready"), at("forward:1")
    always = ["status", "graph", "explain"]
    assert to_redraw(None, ready, Prefs(), "en") == list(REGIONS)
    assert to_redraw(ready, forward, Prefs(), "en") == [*always, "weights"]  # out of h1, h2
    assert to_redraw(forward, at("forward:2"), Prefs(), "en") == always
    assert to_redraw(at("loss"), at("backward:2"), Prefs(), "en") == [
        *always,
        "deltas",
        "chain",  # ∂E/∂w5, the default choice, is computed at backward:2
        "weights",
    ]
    edited = ops.patch(forward, {"weights": {"w5": 0.3}})
    assert "params" in to_redraw(forward, edited, Prefs(), "en")
    assert to_redraw(ready, forward, Prefs(present="on"), "en") == always
    assert "fields" in to_redraw(None, ready, Prefs(present="on"), "en")
    assert to_redraw(forward, edited, Prefs(present="on"), "en") == [
        *always[:2],
        "fields",
        "explain",
    ]


def test_a_large_networks_table_of_weights_is_folded_unless_asked_for():
    data = {"layers": [2, 16, 16, 16, 2], "inputs": [0.05, 0.1], "targets": [0.01, 0.99]}
    loss, backward = at("loss", data), at("backward:4", data)
    folded = build(backward, Prefs(), "en")
    assert folded.fold == Fold(2 * 16 + 16 * 16 * 2 + 16 * 2 + 16 * 3 + 2, shown=False)
    assert folded.rows == ()
    assert "weights" not in to_redraw(loss, backward, Prefs(), "en")  # steps leave it out
    shown = build(backward, Prefs(table="on"), "en")
    assert shown.fold.shown and len(shown.rows) == shown.fold.count
    assert "weights" in to_redraw(loss, backward, Prefs(table="on"), "en")
    classic = lab("backward:2", table="off")  # a small network's table is always there
    assert classic.fold is None and len(classic.rows) == 12


def test_a_lab_can_be_drawn_in_part():
    view = build(at("loss"), Prefs(), "en", regions=["status", "graph"])
    assert view.status and view.graph and view.deltas is None and view.params is None


def test_plain_lines_of_numbers_are_text_in_the_math_font():
    line = formula(lab("backward:2"), ids.delta("o1")).lines[1].math
    assert "<math" not in line and re.fullmatch(r'(<span class="mtext">[^<]*</span> ?)+', line)
    spaced = plain(line).replace("\u205f", " ")  # MathML's spacing: medium math spaces
    assert spaced == "= −(0.01 − 0.751365070) · 0.751365070(1 − 0.751365070)"


@pytest.mark.parametrize("name", ["o_{1}", "h1", "h_{3,16}", "i_{2}", "w_{128}", "b_{1,1}"])
def test_a_name_in_a_slot_is_drawn_as_if_written_in_place(name):
    def shape(m):  # an <mrow> in a row changes nothing drawn
        return re.sub(r"</?mrow>", "", str(m))

    for latex in (r"\delta_{X} = @0", r"\mathrm{out}_{X}^{2}", r"X \cdot @0"):
        slotted = mathml.render(latex.replace("X", mathml.named(name)), (0.5,))
        direct = mathml.render(latex.replace("X", name), (0.5,))
        assert shape(slotted) == shape(direct), latex


def test_a_layers_formulas_are_one_conversion_however_wide():
    def conversions(width: int) -> int:
        s = ops.create({"layers": [2, width, width, 2], "inputs": [1, 0], "targets": [0, 1]})
        for cached in (mathml._template, mathml._name, mathml._name_shape):
            cached.cache_clear()
        for _ in ops.phases(s.state.network.depth):
            build(s, Prefs(), "en")
            s = ops.next_phase(s)
        return mathml._template.cache_info().misses

    assert conversions(16) == conversions(6)  # both beyond MAX_TERMS: sums written with Σ
    data = {"layers": [2, 16, 16, 2], "inputs": [1, 0], "targets": [0, 1]}
    view = build(at("backward:1", data), Prefs(table="on"), "en")  # every δ, as asked for
    for name, shown in (("h1_1", "δh1,1="), ("h1_16", "δh1,16="), ("h2_16", "δh2,16=")):
        assert plain(formula(view, ids.delta(name)).lines[0].math).startswith(shown)
    # Folded (a large network's default), each layer's first few, and how many more.
    folded = build(at("backward:1", data), Prefs(), "en").deltas
    assert [len(s.formulas) for s in folded] == [2, MAX_NEURONS, MAX_NEURONS]
    assert [s.more for s in folded] == [None] + [text.TEXT["en"]["more_deltas"].format(n=12)] * 2
    explained = build(at("backward:2", data), Prefs(), "en").explanation.sections[0]
    assert len(explained.formulas) == MAX_NEURONS and "12 more" in explained.more


def test_a_number_longer_than_its_field_is_drawn_smaller_and_redrawn_once_typed():
    before = at("ready")
    after = ops.patch(before, {"weights": {"w1": -0.00380982365}})
    shown = {p.field.name: p.field for p in build(after, Prefs(), "en").overlay.fields}
    assert shown["w1"].value == "-0.00380982365" and shown["w1"].fit == "0.90em"
    assert shown["w5"].fit is None  # 0.4
    # Typed as the page would write it, but drawn by the browser at full size: redrawn.
    typed = Invalid("w1", "-0.00380982365", None, "graph")
    assert "fields" in to_redraw(before, after, Prefs(), "en", typed)
    typed = Invalid("w5", "0.3", None, "graph")  # short: it reads as it would be written
    assert "fields" not in to_redraw(
        before, ops.patch(before, {"weights": {"w5": 0.3}}), Prefs(), "en", typed
    )


def test_the_formula_tables_have_the_engines_names():
    from app.engine import ACTIVATIONS, LOSSES
    from app.view import formulas

    assert set(formulas.ACTIVATION) == set(formulas.DACTIVATION) == set(ACTIVATIONS)
    assert set(formulas.LOSS) == set(formulas.DLOSS) == set(LOSSES)
    for loss, activation in formulas.FUSED_DELTA:
        assert activation in LOSSES[loss].fused


PAIRS = [("sigmoid", "half_sse"), ("tanh", "mse"), ("leaky_relu", "half_sse")]
PAIRS += [("softmax", "mse"), ("sigmoid", "bce"), ("softmax", "cross_entropy")]


@pytest.mark.parametrize("output,loss", PAIRS)
def test_every_activation_and_loss_is_drawn_with_the_engines_numbers(output, loss):
    data = {
        "preset": "classic",
        "activations": ["leaky_relu", output],
        "loss": loss,
        "targets": [0.25, 0.75],
    }
    s = at("update", data)
    view = build(s, Prefs(), "en")
    t = s.trace()
    shown = deltas(view)
    for k, name in enumerate(("o1", "o2")):
        assert shown[ids.delta(name)] == numbers.fmt(t.backward.deltas[1][k])
    w5 = view.chain.formula
    assert w5.result == numbers.fmt(t.backward.weight_grads[1][0, 0])
    first = plain(formula(view, ids.delta("o1")).lines[0].math)
    if (output, loss) in (("softmax", "cross_entropy"), ("sigmoid", "bce")):
        why = plain(formula(view, ids.delta("o1")).lines[1].math)
        assert why.startswith("∵")  # the chain rule whose factors cancel, written out
    if (output, loss) in (("softmax", "cross_entropy"),):
        assert first == "δo1=outo1−targeto1"
    if (output, loss) == ("sigmoid", "bce"):
        assert first == "δo1=12(outo1−targeto1)"
    if (output, loss) == ("softmax", "mse"):
        assert "∑k" in first


def test_with_the_classic_slip_the_hidden_delta_is_written_with_the_updated_weights():
    data = {"preset": "classic", "classic_slip": True}
    view = build(at("backward:1", data), Prefs(), "en")
    numbers_line = plain(formula(view, ids.delta("h1")).lines[1].math)
    assert nine(ref.UPDATED["w5"]) in numbers_line and nine(0.40) not in numbers_line


@pytest.mark.parametrize(
    "optimizer,terms",
    [
        ({"name": "adam"}, ("m_hat", "v_hat")),
        ({"name": "sgd", "momentum": 0.9}, ("momentum_buffer",)),
        ({"name": "rmsprop"}, ("grad", "avg")),
        ({"name": "adagrad"}, ("grad", "std")),
    ],
)
def test_the_update_is_written_by_the_optimisers_rule_with_its_terms(optimizer, terms):
    s = at("update", {"preset": "classic", "optimizer": optimizer})
    t = s.trace()
    f = formula(build(s, Prefs(), "en"), ids.explain_item("update", "w5"))
    first, rule = (re.sub(r"\s", "", plain(line.math)) for line in f.lines)
    update = t.terms["update"][1][0, 0]
    assert first == f"w5+=w5−Δw5=0.4−{numbers.fmt(update)}={numbers.fmt(t.weights[1][0, 0])}"
    for name in terms:
        assert numbers.fmt(t.terms[name][1][0, 0]) in rule, name
    assert rule.endswith(numbers.fmt(update))


def test_plain_gradient_descent_keeps_the_tutorials_update():
    f = formula(build(at("update"), Prefs(), "en"), ids.explain_item("update", "w5"))
    shown = re.sub(r"\s", "", plain(f.lines[0].math))
    assert shown == f"w5+=0.4−0.5·{nine(ref.GRADS['w5'])}={nine(ref.UPDATED['w5'])}"


# The optimiser's state in the table of weights


def state_cells(view) -> dict[str, tuple[str, ...]]:
    return {r.name: r.state for r in view.rows}


@pytest.mark.parametrize("update_biases", [False, True])
def test_the_table_shows_adams_state_after_a_step_as_the_api_gives_it(update_biases):
    created = ops.create({"preset": "classic", "optimizer": {"name": "adam"}})
    s, _ = ops.step(ops.patch(created, {"update_biases": update_biases}))
    api = s.to_data()["optimizer_state"]
    assert api["step"] == 1
    view = build(s, Prefs(state="on"), "en")
    columns = view.state_columns
    assert columns.shown and [c.symbol for c in columns.columns] == ["t", "m", "v"]
    assert [c.key for c in columns.columns] == ["step", "exp_avg", "exp_avg_sq"]
    cells = state_cells(view)
    layers = (2, 2, 2)
    for l, j, i in ((0, 0, 0), (0, 1, 1), (1, 0, 0), (1, 1, 0)):
        m, v = api["exp_avg"]["weights"][l][j][i], api["exp_avg_sq"]["weights"][l][j][i]
        assert cells[weight_name(layers, l, j, i)] == ("1", nine(m), nine(v))
    # The first step: m = (1 − β₁)·g, v = (1 − β₂)·g², of w5's gradient in the tutorial.
    g = ref.GRADS["w5"]
    assert cells["w5"][1:] == (nine(0.1 * g), nine(0.001 * g * g))
    for l, j in ((0, 0), (1, 1)):
        name = f"b{l + 1}_{j + 1}"
        if update_biases:
            m, v = api["exp_avg"]["biases"][l][j], api["exp_avg_sq"]["biases"][l][j]
            assert cells[name] == ("1", nine(m), nine(v))
        else:  # the biases are not in the optimiser
            assert api["exp_avg"]["biases"] is None and cells[name] == ("", "", "")
    # The precision is the page's.
    four = state_cells(build(s, Prefs(state="on", precision=4), "en"))
    assert four["w5"][1] == numbers.fmt(api["exp_avg"]["weights"][1][0][0], 4)


def test_the_state_is_the_networks_now_in_every_phase_and_off_unless_asked_for():
    s = ops.create({"preset": "classic", "optimizer": {"name": "sgd", "momentum": 0.9}})
    s, _ = ops.step(s)
    s = ops.next_phase(s)  # forward:1 of iteration 2: the state the next update starts from
    view = build(s, Prefs(state="on"), "en")
    assert [c.symbol for c in view.state_columns.columns] == ["t", "b"]
    buffer = s.to_data()["optimizer_state"]["momentum_buffer"]["weights"][1][0][0]
    assert state_cells(view)["w5"] == ("1", nine(buffer))
    assert buffer == pytest.approx(ref.GRADS["w5"], rel=1e-9)  # b starts as g
    off = build(s, Prefs(), "en")
    assert not off.state_columns.shown and all(r.state == () for r in off.rows)
    # Plain gradient descent keeps no state: no columns, whatever the preference.
    plain_sgd = build(at("update"), Prefs(state="on"), "en")
    assert plain_sgd.state_columns is None and all(r.state == () for r in plain_sgd.rows)


def test_the_state_columns_follow_the_folding_of_a_large_networks_table():
    data = {"layers": [2, 16, 16, 16, 2], "inputs": [0.05, 0.1], "targets": [0.01, 0.99]}
    data |= {"optimizer": {"name": "rmsprop", "centered": True}}
    s, _ = ops.step(ops.create(data | {"seed": 1}))
    folded = build(s, Prefs(state="on"), "en")
    assert folded.rows == () and folded.state_columns.shown  # nothing made while folded
    view = build(s, Prefs(state="on", table="on"), "en")
    assert [c.symbol for c in view.state_columns.columns] == ["t", "v", "ḡ"]
    assert len(view.rows) == view.fold.count and all(len(r.state) == 3 for r in view.rows)
    api = s.to_data()["optimizer_state"]
    name = weight_name((2, 16, 16, 16, 2), 2, 3, 5)
    row = next(r for r in view.rows if r.name == name)
    entries = (api["square_avg"]["weights"][2][3][5], api["grad_avg"]["weights"][2][3][5])
    assert row.state == ("1", *(nine(x) for x in entries))


def test_both_languages_name_every_state_entry():
    from app.view.optimizer import SYMBOLS

    for lang in text.LANGS:
        for key in SYMBOLS:
            assert text.TEXT[lang][f"state_{key}"].startswith(SYMBOLS[key])


# The classic slip beside the correct iteration


def slipped_delta_h(j: int) -> float:
    """The tutorial's slip, from REFERENCE.md's figures: δ_h through w5⁺..w8⁺."""
    w_plus = ref.UPDATED["w5"], ref.UPDATED["w6"], ref.UPDATED["w7"], ref.UPDATED["w8"]
    d_o1, d_o2 = ref.DELTAS[1]
    return (d_o1 * w_plus[j] + d_o2 * w_plus[2 + j]) * ref.DOUT_DNET[0][j]


def test_the_slip_sets_each_hidden_delta_beside_the_correct_one():
    data = {"preset": "classic", "classic_slip": True}
    for phase in ("ready", "loss", "backward:2"):  # no δ_h computed yet
        rows = build(at(phase, data), Prefs(), "en").slip.deltas
        assert [r.id for r in rows] == [ids.slip("delta", "h1"), ids.slip("delta", "h2")]
        assert all(r.slipped is r.correct is r.difference is None for r in rows)
    view = build(at("backward:1", data), Prefs(), "en")
    for j, r in enumerate(view.slip.deltas):
        assert (r.symbol, r.sub) == ("δ", f"h{j + 1}")
        assert r.correct == nine(ref.DELTAS[0][j])  # 0.00877135469, 0.00995425471
        assert r.slipped == nine(slipped_delta_h(j))
        assert r.difference == nine(slipped_delta_h(j) - ref.DELTAS[0][j])
    assert view.slip.e_after.slipped is None  # until the update
    # The δ panel's own formula for δ_h1 is the slipped one.
    assert deltas(view)[ids.delta("h1")] == view.slip.deltas[0].slipped
    after = build(at("update", data), Prefs(), "en")
    e = after.slip.e_after
    assert e.slipped == nine(ref.E_AFTER_1_TUTORIAL_SLIP) == after.status.e_after
    assert e.correct == nine(ref.E_AFTER_1) == after.status.e_after_correct
    assert after.slip.deltas == view.slip.deltas
    assert build(at("update"), Prefs(), "en").slip is None  # off: nothing beside


def test_the_slip_lists_every_hidden_delta_it_changes_at_any_depth():
    data = {"preset": "deep", "classic_slip": True, "learning_rate": 2.0}
    s = at("backward:1", data)
    rows = build(s, Prefs(), "en").slip.deltas
    names = [r.sub for r in rows]
    assert names == ["h2_1", "h2_2", "h2_3", "h1_1", "h1_2", "h1_3"]  # from the output back
    fair = ops.create({k: v for k, v in data.items() if k != "classic_slip"})
    right, slipped = fair.trace().backward.deltas, s.trace().backward.deltas
    for r in rows:
        l, j = int(r.sub[1]) - 1, int(r.sub[-1]) - 1
        assert r.correct == nine(right[l][j]) and r.slipped == nine(slipped[l][j])
        assert r.slipped != r.correct
    assert "deltas" in to_redraw(at("backward:2", data), s, Prefs(), "en")
