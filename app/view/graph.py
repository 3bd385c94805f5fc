"""The graph as drawn: neurons, bias nodes and edges with their places, colours and titles,
and, over it, the edit fields of every input, target, weight and bias.

Numbers appear on a neuron once the phase has computed them: net and out after the
forward pass of its layer, E at the loss, δ after the backward pass of its layer. An
edge is coloured by ∂E/∂w once the backward pass has reached it (or always by w, if
so chosen), on one scale for the whole iteration so that colours do not shift as the
phases go by. The fields are their own layer (a second <svg> over the first, same
coordinates), redrawn only when the parameters change: a step leaves them alone.
"""

from dataclasses import dataclass

from app.engine import bias_name, weight_name
from app.view import ids, palette
from app.view.fields import Field, Fields
from app.view.layout import Geometry, Values, fits, layout, value_lines
from app.view.numbers import fmt
from app.view.stage import Stage

NEUTRAL = ""  # a pending edge is grey by its class (lab.css): no style of its own to parse


@dataclass(frozen=True)
class Value:
    id: str
    label: str
    text: str


@dataclass(frozen=True)
class Header:
    """A column's name above it, where its neurons show only their number."""

    text: str
    x: float
    y: float


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    label: str  # drawn in its disc: its name, or, where that does not fit, its number
    kind: str  # input, hidden, output or bias
    x: float
    y: float
    r: float
    values_x: float  # where the values' text is anchored (see values_anchor)
    values_y: float  # the top of the values' text
    values_anchor: str  # start, middle or end: where values_x is on the values' lines
    active: bool
    values: tuple[Value, ...]  # drawn by the neuron where the layout found room, else none
    title: str


@dataclass(frozen=True)
class Edge:
    id: str
    name: str  # the parameter: w5 or b1_1
    x1: float
    y1: float
    x2: float
    y2: float
    style: str
    sign: str
    active: bool
    selected: bool
    bias: bool
    title: str


@dataclass(frozen=True)
class Tick:
    text: str
    width: float
    x: float  # in the legend's own units (before its scale)
    y: float


@dataclass(frozen=True)
class Legend:
    title: str
    pending: bool  # nothing coloured yet
    ticks: tuple[Tick, ...]
    scale: float  # presentation's legend is larger, its ticks on a row of their own


@dataclass(frozen=True)
class Graph:
    phase: str  # the kind of phase: ready, forward, loss, backward or update
    width: int
    height: int
    font: float
    values_font: float
    detail: bool
    legend_y: float
    nodes: tuple[Node, ...]
    headers: tuple[Header, ...]
    edges: tuple[Edge, ...]
    legend: Legend
    description: str


@dataclass(frozen=True)
class Placed:
    field: Field
    x: float  # the left of its box
    y: float  # the top of its box
    width: float
    height: float
    kind: str  # input, target or edge
    updated: bool  # in update: its parameter has just changed


@dataclass(frozen=True)
class Leader:
    x1: float  # on the edge
    y1: float
    x2: float  # on its field's box
    y2: float


@dataclass(frozen=True)
class Overlay:
    width: int
    height: int
    font: float
    fields: tuple[Placed, ...]
    leaders: tuple[Leader, ...]  # from a field set apart from its edge to the edge


def build(stage: Stage, colour: str, selected: str, t: dict, present: bool = False) -> Graph:
    net, tr = stage.shown.network, stage.trace
    layers, depth, p = net.layers, net.depth, stage.precision
    g = layout(layers, present)
    f, b = tr.forward, tr.backward

    def v(quantity: str, name: str, label: str, x: float) -> Value:
        return Value(ids.value(quantity, name), label, fmt(x, p))

    nodes: list[Node] = []
    headers: list[Header] = []
    for l, n in enumerate(layers):
        first = ids.neuron_name(layers, l, 0)  # i1, h1, h2_1, o1
        column = first.split("_")[0] if "_" in first else first[0]
        folded = not fits(ids.neuron_name(layers, l, n - 1), g.font, g.radius)
        if folded:  # its name above the column, each neuron's number in its disc
            x, y = g.neurons[(l, 0)]
            headers.append(Header(column, x, y - g.radius - 0.7 * g.font))
        kind = "input" if l == 0 else "output" if l == depth else "hidden"
        for j in range(n):
            name = ids.neuron_name(layers, l, j)
            x, y = g.neurons[(l, j)]
            values: list[Value] = []
            if l > 0 and stage.forward(l):
                values += [
                    v("net", name, "net", f.net[l - 1][j]),
                    v("out", name, "out", f.out[l][j]),
                ]
            if l == depth and stage.loss:
                values.append(v("E", name, "E", f.losses[j]))
            if l > 0 and stage.backward(l):
                values.append(v("delta", name, "δ", b.deltas[l - 1][j]))
            title = name + "".join(f"\n{val.label} = {val.text}" for val in values)
            at = g.values.get((l, j))
            if at is None:  # no room by the neuron: its numbers are in its title only
                at, values = Values(x, y, "start", False), []
            active = stage.active_layer(l)
            nodes.append(
                Node(
                    ids.neuron(name),
                    name,
                    str(j + 1) if folded else name,
                    kind,
                    round(x, 2),
                    round(y, 2),
                    round(g.radius, 2),
                    round(at.x, 2),
                    round(at.top(len(values), value_lines(layers, l), g.sizes.values), 2),
                    at.anchor,
                    active,
                    tuple(values),
                    title,
                )
            )
    for l in range(depth):
        x, y = g.bias_nodes[l]
        name = ids.bias_node_name(l)
        r = g.bias_radius
        label = name if fits(name, g.font, r) else "b"
        nodes.append(
            Node(
                ids.bias_node(l),
                name,
                label,
                "bias",
                *(round(c, 2) for c in (x, y, r, x, y)),
                "start",
                False,
                (),
                name,
            )
        )

    grads = [*b.weight_grads, *b.bias_grads] if colour == "grad" else [*net.weights, *net.biases]
    largest = max(float(abs(a).max()) for a in grads)

    def edge(name: str, l: int, start, end, lines: list[str], value: float, grad: float) -> Edge:
        if stage.backward(l + 1):
            lines.append(f"∂E/∂{name[0]} = {fmt(grad, p)}")
        if colour == "grad" and not stage.backward(l + 1):
            style, sign = NEUTRAL, "pending"
        else:
            s = palette.stroke(grad if colour == "grad" else value, largest)
            style, sign = s.style, s.sign
        active, chosen, bias = stage.active_edges(l), name == selected, name[0] == "b"
        x1, y1, x2, y2 = (round(c, 2) for c in (*start, *end))
        return Edge(
            ids.edge(name),
            name,
            x1,
            y1,
            x2,
            y2,
            style,
            sign,
            active,
            chosen,
            bias,
            "\n".join(lines),
        )

    shown = stage.shown.network
    edges: list[Edge] = []
    for l in range(depth):
        for j in range(layers[l + 1]):
            end, to = g.neurons[(l + 1, j)], ids.neuron_name(layers, l + 1, j)
            for i in range(layers[l]):
                name, w = weight_name(layers, l, j, i), shown.weights[l][j, i]
                lines = [f"{name}: {ids.neuron_name(layers, l, i)} → {to}", f"w = {fmt(w, p)}"]
                edges.append(
                    edge(name, l, g.neurons[(l, i)], end, lines, w, b.weight_grads[l][j, i])
                )
            name, bias = bias_name(l, j), shown.biases[l][j]
            lines = [f"{name}: {ids.bias_node_name(l)} → {to}", f"b = {fmt(bias, p)}"]
            edges.append(edge(name, l, g.bias_nodes[l], end, lines, bias, b.bias_grads[l][j]))

    pending = colour == "grad" and not stage.backward(depth)
    ticks = palette.ticks(largest) if not pending else []
    # Ticks after the two swatches, or, when the legend is scaled up, on the next row.
    x0, y, step = (290, 24, 150) if g.sizes.legend == 1 else (0, 54, 150)
    legend = Legend(
        t["legend_grad"] if colour == "grad" else t["legend_weight"],
        pending,
        tuple(Tick(fmt(tk.magnitude, 3), tk.width, x0 + k * step, y) for k, tk in enumerate(ticks)),
        g.sizes.legend,
    )
    description = t["graph_desc"].format(colour=legend.title)
    return Graph(
        stage.phase.split(":")[0],
        g.width,
        g.height,
        g.font,
        g.sizes.values,
        g.detail,
        g.legend_y,
        tuple(nodes),
        tuple(headers),
        tuple(edges),
        legend,
        description,
    )


def overlay(stage: Stage, fields: Fields, present: bool = False) -> Overlay:
    """The edit fields on the graph, where the layout put them: each input left of its
    neuron, each target right of its neuron, each weight and bias beside its edge."""
    net = stage.current.network
    layers, depth = net.layers, net.depth
    g: Geometry = layout(layers, present)
    placed: list[Placed] = []

    def place(field: Field, box, kind: str, updated: bool = False) -> None:
        x0, y0, x1, y1 = box
        placed.append(Placed(field, x0, y0, x1 - x0, y1 - y0, kind, updated))

    for j, box in enumerate(g.inputs):
        place(fields.input(j), box, "input")
    for j, box in enumerate(g.targets):
        place(fields.target(j), box, "target")
    for l in range(depth):
        for j in range(layers[l + 1]):
            for i in range(layers[l]):
                name = weight_name(layers, l, j, i)
                if name in g.fields:
                    place(fields.param(name), g.fields[name], "edge", stage.updated)
            name = bias_name(l, j)
            if name in g.fields:
                place(
                    fields.param(name),
                    g.fields[name],
                    "edge",
                    stage.updated and stage.current.training.update_biases,
                )
    leaders = tuple(Leader(*g.leaders[p.field.name]) for p in placed if p.field.name in g.leaders)
    return Overlay(g.width, g.height, g.sizes.field_font, tuple(placed), leaders)
