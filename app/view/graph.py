"""The graph as drawn: neurons, bias nodes and edges with their places, colours and titles.

Numbers appear on a neuron once the phase has computed them: net and out after the
forward pass of its layer, E at the loss, δ after the backward pass of its layer. An
edge is coloured by ∂E/∂w once the backward pass has reached it (or always by w, if
so chosen), on one scale for the whole iteration so that colours do not shift as the
phases go by.
"""

from dataclasses import dataclass

from app.engine import bias_name, weight_name
from app.view import ids, palette
from app.view.fields import Field, Fields
from app.view.layout import BIAS_LABEL_AT, LABEL_AT, layout
from app.view.numbers import fmt
from app.view.stage import Stage

NEUTRAL = "stroke:var(--neutral);stroke-width:2"


@dataclass(frozen=True)
class Value:
    id: str
    label: str
    text: str


@dataclass(frozen=True)
class Node:
    id: str
    name: str
    kind: str  # input, hidden, output or bias
    x: float
    y: float
    r: float
    values_x: float  # where the values' text is anchored (see values_anchor)
    values_anchor: str  # hidden: to the lower left (clear of the edge labels on the right)
    active: bool
    values: tuple[Value, ...]
    title: str
    field: Field | None = None  # an input's value or an output's target


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
    updated: bool  # in update: its parameter has just changed
    title: str
    label: Field | None  # the edit field drawn on the edge
    label_x: float
    label_y: float


@dataclass(frozen=True)
class Tick:
    text: str
    width: float


@dataclass(frozen=True)
class Legend:
    title: str
    pending: bool  # nothing coloured yet
    ticks: tuple[Tick, ...]


@dataclass(frozen=True)
class Graph:
    phase: str  # the kind of phase: ready, forward, loss, backward or update
    width: int
    height: int
    font: float
    detail: bool
    legend_y: float
    nodes: tuple[Node, ...]
    edges: tuple[Edge, ...]
    legend: Legend
    description: str


def build(stage: Stage, fields: Fields, colour: str, selected: str, t: dict) -> Graph:
    net, tr = stage.network, stage.trace
    layers, depth, p = net.layers, net.depth, stage.precision
    g = layout(layers)
    f, b = tr.forward, tr.backward

    def v(quantity: str, name: str, label: str, x: float) -> Value:
        return Value(ids.value(quantity, name), label, fmt(x, p))

    nodes: list[Node] = []
    for l, n in enumerate(layers):
        kind = "input" if l == 0 else "output" if l == depth else "hidden"
        for j in range(n):
            name = ids.neuron_name(layers, l, j)
            x, y = g.neurons[(l, j)]
            values: list[Value] = []
            field = None
            if l == 0:
                field = fields.input(j, x - g.radius - 8, y)
            else:
                if stage.forward(l):
                    values += [
                        v("net", name, "net", f.net[l - 1][j]),
                        v("out", name, "out", f.out[l][j]),
                    ]
                if l == depth and stage.loss:
                    values.append(v("E", name, "E", f.losses[j]))
                if stage.backward(l):
                    values.append(v("delta", name, "δ", b.deltas[l - 1][j]))
                if l == depth:
                    field = fields.target(j, x + g.radius + 8, y)
            title = name + "".join(f"\n{val.label} = {val.text}" for val in values)
            anchor = "end" if kind == "hidden" else "start"
            vx = x + 0.5 * g.radius if kind == "hidden" else x - 0.5 * g.radius
            nodes.append(
                Node(
                    ids.neuron(name),
                    name,
                    kind,
                    x,
                    y,
                    g.radius,
                    vx,
                    anchor,
                    stage.active_layer(l),
                    tuple(values),
                    title,
                    field,
                )
            )
    for l in range(depth):
        x, y = g.bias_nodes[l]
        name = ids.bias_node_name(l)
        nodes.append(
            Node(
                ids.bias_node(l),
                name,
                "bias",
                x,
                y,
                g.bias_radius,
                x,
                "start",
                False,
                (),
                f"{name} = 1",
            )
        )

    grads = [*b.weight_grads, *b.bias_grads] if colour == "grad" else [*net.weights, *net.biases]
    largest = max(float(abs(a).max()) for a in grads)

    def paint(l: int, value: float) -> tuple[str, str]:
        if colour == "grad" and not stage.backward(l + 1):
            return NEUTRAL, "pending"
        s = palette.stroke(value, largest)
        return s.style, s.sign

    shown = stage.shown
    edges: list[Edge] = []
    for l in range(depth):
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            to = ids.neuron_name(layers, l + 1, j)
            for i in range(layers[l]):
                name = weight_name(layers, l, j, i)
                w, grad, new = shown.weights[l][j, i], b.weight_grads[l][j, i], tr.weights[l][j, i]
                lines = [f"{name}: {ids.neuron_name(layers, l, i)} → {to}", f"w = {fmt(w, p)}"]
                if stage.backward(l + 1):
                    lines.append(f"∂E/∂w = {fmt(grad, p)}")
                if stage.updated:
                    lines.append(f"w⁺ = {fmt(new, p)}")
                start = g.neurons[(l, i)]
                lx, ly = g.along(start, end, LABEL_AT)
                style, sign = paint(l, grad if colour == "grad" else w)
                edges.append(
                    Edge(
                        id=ids.edge(name),
                        name=name,
                        x1=start[0],
                        y1=start[1],
                        x2=end[0],
                        y2=end[1],
                        style=style,
                        sign=sign,
                        active=stage.active_edges(l),
                        selected=name == selected,
                        bias=False,
                        updated=stage.updated,
                        title="\n".join(lines),
                        label=fields.param(name, lx, ly) if g.labelled[l] else None,
                        label_x=lx,
                        label_y=ly,
                    )
                )
            name = bias_name(l, j)
            bias, grad = shown.biases[l][j], b.bias_grads[l][j]
            lines = [f"{name}: {ids.bias_node_name(l)} → {to}", f"b = {fmt(bias, p)}"]
            if stage.backward(l + 1):
                lines.append(f"∂E/∂b = {fmt(grad, p)}")
            if stage.updated and shown.update_biases:
                lines.append(f"b⁺ = {fmt(tr.biases[l][j], p)}")
            start = g.bias_nodes[l]
            lx, ly = g.along(start, end, BIAS_LABEL_AT)
            style, sign = paint(l, grad if colour == "grad" else bias)
            edges.append(
                Edge(
                    id=ids.edge(name),
                    name=name,
                    x1=start[0],
                    y1=start[1],
                    x2=end[0],
                    y2=end[1],
                    style=style,
                    sign=sign,
                    active=stage.active_edges(l),
                    selected=name == selected,
                    bias=True,
                    updated=stage.updated and shown.update_biases,
                    title="\n".join(lines),
                    label=fields.param(name, lx, ly) if g.labelled[l] else None,
                    label_x=lx,
                    label_y=ly,
                )
            )

    pending = colour == "grad" and not stage.backward(depth)
    ticks = (
        ()
        if pending
        else tuple(Tick(fmt(tk.magnitude, 3), tk.width) for tk in palette.ticks(largest))
    )
    legend = Legend(t["legend_grad"] if colour == "grad" else t["legend_weight"], pending, ticks)
    description = t["graph_desc"].format(colour=legend.title)
    return Graph(
        stage.phase.split(":")[0],
        g.width,
        g.height,
        g.font,
        g.detail,
        g.legend_y,
        tuple(nodes),
        tuple(edges),
        legend,
        description,
    )
