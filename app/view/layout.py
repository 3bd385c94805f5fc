"""Where each neuron, bias node and edge label sits in the graph's SVG coordinates.

Columns from the inputs (left) to the outputs (right); the neurons of a column centred
on one another; each layer's bias node under its column, as in the tutorial's figure.
Room is left on the left for the input fields and on the right for the targets. Small
networks are drawn in detail (values by each neuron, an edit field on each edge);
larger ones only by name, with the values in each element's title.

Presentation mode has its own sizes (`PRESENT`): the graph is shown larger there and
read from the back of a room, so its text, its edit fields (wide enough for a weight's
nine digits) and the room between neurons grow with it.

The numbers by each neuron and the edit fields are placed here too, so that none covers
another: each field on its edge, as near the sending end as it can sit clear of the
neurons, of their numbers and of the fields placed before it (see `_place`). Where they
cannot all sit clear, the picture is drawn wider (up to MAX_WIDTH), and beyond that the
most crowded layer pair keeps its fields in the table only (see `layout`).
"""

import math
from dataclasses import dataclass, replace
from functools import lru_cache

import numpy as np

from app.engine import bias_name, weight_name

WIDTH = 1000
MIN_SPACING, COLUMN_HEIGHT = 36, 640
DETAIL_SPACING = 110  # below this, neurons are drawn by name only
MAX_LABELLED_EDGES = 24  # per layer pair, above this edges carry no edit field
LABEL_AT = 0.37  # edge labels sit this far along their edge, from the sending neuron


@dataclass(frozen=True)
class Sizes:
    """Text, fields and room of a detailed graph, in SVG units: the full page's by default."""

    font: float = 20  # neuron names
    values: float = 17  # the numbers by each neuron
    field_font: float = 16  # the edit fields' text
    edge_field: float = 156  # width of a weight's field: its name and its value
    side_field: float = 132  # width of an input's or a target's field
    field_height: float = 30
    top: float = 30  # above the first neurons
    left: float = 130  # room for the input fields
    right: float = 170  # room for the target fields
    max_spacing: float = 190  # the most room between two neurons of a column
    min_spacing: float = DETAIL_SPACING  # the least, when drawn in detail (taller if need be)
    values_above: bool = False  # the upper hidden neurons' values above them, clear of fields
    bias_drop: float = 85  # from the lowest neuron down to the bias nodes
    bias_label_at: float = 0.3  # bias-edge fields near their bias node, below the others
    legend: float = 1  # the legend's scale; above 1, its ticks get a row of their own
    legend_gap: float = 60  # from the bias nodes down to the legend
    legend_height: float = 50
    name_font: float = 16  # the name beside a weight's field


# Widths of text, in em, as drawn in the widest common sans-serif (DejaVu Sans): a digit
# is 0.636 em, a point 0.318 em, a hyphen-minus narrower than a digit, a bold name's
# letter at most 0.8 em. A field is sized for a weight shown with nine significant digits
# (13 characters at most but for rare leading zeros, −0.0380982365, 0.00196290026); a
# longer number is drawn smaller (Field.fit).
DIGITS = 9
NUMBER_EM = 0.636 * (DIGITS + 3) + 0.318 + 0.3  # twelve digits, a point, the padding
GAP_EM = 0.15  # between a field's name and its number
BORDER = 4  # the number's box, left and right, in SVG units
NAME_EM = 0.8
PAD = 4  # between a field and a neuron
VALUE_LINE = 1.15  # the numbers by a neuron: one line per value, 1.15 em apart


PAGE = Sizes()
# At 1280×720 the graph is drawn at about 0.74 px a unit: names, numbers and fields of
# 25 units are 18 px, and a weight's field holds its name and nine digits.
PRESENT = Sizes(
    font=25,
    values=25,
    field_font=25,
    edge_field=244,
    side_field=175,
    field_height=42,
    top=20,
    left=150,
    right=215,
    max_spacing=210,
    min_spacing=200,  # a wide column's fields and numbers in large type: a taller picture
    values_above=True,
    bias_drop=235,  # the lower hidden neurons' values, then the bias fields
    bias_label_at=0.2,
    legend=1.55,
    legend_gap=45,
    legend_height=105,
    name_font=17.5,
)


def field_width(sizes: Sizes, name: str) -> float:
    """A weight's or bias's field on its edge: its name, then its number."""
    number = sizes.field_font * (GAP_EM + NUMBER_EM) + BORDER
    return sizes.name_font * NAME_EM * len(name) + number


Box = tuple[float, float, float, float]  # left, top, right, bottom


@dataclass(frozen=True)
class Values:
    """Where the numbers by a neuron go: x is their anchor (start or end), y their top."""

    x: float
    y: float  # the top of all of them (net, out, E, δ)
    anchor: str  # "start" (they run right from x) or "end" (they end at x)
    above: bool  # above the neuron: fewer numbers start lower, next to it

    def top(self, shown: int, lines: int, font: float) -> float:
        """The top of the first of `shown` numbers, of at most `lines`."""
        return self.y + (lines - shown) * VALUE_LINE * font if self.above else self.y


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    radius: float
    font: float  # base font size in SVG units
    sizes: Sizes
    detail: bool
    neurons: dict[tuple[int, int], tuple[float, float]]  # (l, j) → centre
    values: dict[tuple[int, int], Values]  # (l, j) → the numbers by neuron j of layer l
    bias_nodes: dict[int, tuple[float, float]]  # l → centre of the node feeding layer l+1
    bias_radius: float
    legend_y: float
    labelled: tuple[bool, ...]  # per layer pair: edges carry edit fields
    inputs: tuple[Box, ...]  # the fields of the inputs, left of their neurons
    targets: tuple[Box, ...]  # the fields of the targets, right of their neurons
    fields: dict[str, Box]  # a weight's or a bias's field, by its name, on its edge


# A picture whose fields cannot all sit clear is drawn wider, by these factors in turn
# (at most MAX_WIDTH: any wider and its type is too small to read); if that is not
# enough, the layer pair with the most edges keeps its fields in the table only, and so
# on until the rest sit clear.
WIDER = (1.0, 1.2, 1.4)
MAX_WIDTH = 1.4 * WIDTH


@lru_cache(maxsize=256)
def layout(layers: tuple[int, ...], present: bool = False) -> Geometry:
    g = _layout(layers, present, 1.0, None)
    labelled = list(g.labelled)
    while any(labelled):
        for widen in WIDER:
            g = _layout(layers, present, widen, tuple(labelled))
            if g.width > MAX_WIDTH:
                break
            g, covered = _place(g, layers)
            if covered == 0:
                return g
        pairs = [(m * n, k) for k, (m, n) in enumerate(zip(layers, layers[1:])) if labelled[k]]
        labelled[max(pairs)[1]] = False
    return _layout(layers, present, 1.0, tuple(labelled))


def _layout(
    layers: tuple[int, ...], present: bool, widen: float, labelled: tuple[bool, ...] | None
) -> Geometry:
    """The picture with its columns `widen` times as far apart as they need be, fields on
    the edges of the `labelled` layer pairs (by default, of each that has few enough)."""
    depth = len(layers) - 1
    widest = max(layers)
    sizes = PRESENT if present else PAGE
    spacing = max(MIN_SPACING, min(sizes.max_spacing, COLUMN_HEIGHT / widest))
    detail = spacing >= DETAIL_SPACING
    if detail:
        spacing = max(spacing, sizes.min_spacing)
    radius = min(32.0, spacing * 0.36)
    # Without fields on the graph, no room is kept for them at the sides.
    left, right = (sizes.left, sizes.right) if detail else (60, 60)
    if labelled is None:
        labelled = tuple(detail and m * n <= MAX_LABELLED_EDGES for m, n in zip(layers, layers[1:]))
    # Columns evenly apart, but wider apart where a pair's fields need the room.
    even = (WIDTH - left - right) / depth
    longest = weight_name(layers, depth - 1, layers[-1] - 1, layers[-2] - 1)
    room = field_width(sizes, longest) + 2 * (radius + PAD)
    columns = [max(even, room) * widen if fields else even for fields in labelled]
    xs = [left + sum(columns[:l]) for l in range(depth + 1)]
    width = round(xs[-1] + right)
    neurons = {}
    for l, n in enumerate(layers):
        for j in range(n):
            y = sizes.top + spacing * ((widest - n) / 2 + j + 0.5)
            neurons[(l, j)] = (xs[l], y)
    values = {key: _values(key, layers, sizes, radius, neurons[key]) for key in neurons}
    # Numbers above the top neurons: all of the picture moves down to make room for them.
    # (The first line's glyphs start a third of an em below the top of its line.)
    down = max(0.0, 4 - min((v.y + 0.35 * sizes.values for v in values.values()), default=4))
    if down:
        neurons = {key: (x, y + down) for key, (x, y) in neurons.items()}
        values = {key: replace(v, y=v.y + down) for key, v in values.items()}
    bias_y = down + sizes.top + spacing * widest + (sizes.bias_drop if detail else 30)
    bias_nodes = {l: (xs[l], bias_y) for l in range(depth)}
    legend_y = bias_y + sizes.legend_gap
    return Geometry(
        width=width,
        height=round(legend_y + sizes.legend_height),
        radius=radius,
        font=sizes.font if detail else max(8.0, min(14.0, radius * 0.75)),
        sizes=sizes,
        detail=detail,
        neurons=neurons,
        values=values,
        bias_nodes=bias_nodes,
        bias_radius=radius * 0.7,
        legend_y=legend_y,
        labelled=labelled,
        inputs=(),
        targets=(),
        fields={},
    )


def _values(key, layers, sizes: Sizes, radius: float, centre) -> Values:
    """A hidden neuron's numbers to its lower left (clear of the fields on its outgoing
    edges); in presentation, the upper half's above the neuron. An output's to its lower
    right."""
    (l, j), (x, y) = key, centre
    if 0 < l < len(layers) - 1:
        if sizes.values_above and j < layers[l] / 2:
            top = y - radius - 8 - value_lines(layers, l) * VALUE_LINE * sizes.values
            return Values(x + 0.5 * radius, top, "end", True)
        return Values(x + 0.5 * radius, y + radius + 4, "end", False)
    return Values(x - 0.5 * radius, y + radius + 4, "start", False)


def value_lines(layers, l: int) -> int:
    """How many numbers a neuron shows at most: net, out, (E,) δ."""
    return 0 if l == 0 else 4 if l == len(layers) - 1 else 3


def values_box(g: Geometry, layers, key) -> Box:
    v, n = g.values[key], value_lines(layers, key[0])
    if not n:
        return (v.x, v.y, v.x, v.y)
    wide = g.sizes.values * 0.64 * (DIGITS + 7)  # "net −0.0380982365"
    tall = g.sizes.values * (n * VALUE_LINE + 0.35)
    x0 = v.x if v.anchor == "start" else v.x - wide
    return (x0, v.y, x0 + wide, v.y + tall)


# Where along its edge a field may sit (as a fraction from the sending end), best first;
# then, if none is clear, the same shifted up or down by part of a field's height.
ALONG = tuple(sorted((k * 0.03 for k in range(-5, 16)), key=abs))
SHIFT = (0.0, -0.3, 0.3, -0.6, 0.6, -0.9, 0.9, -1.2, 1.2, -1.5, 1.5, -1.8, 1.8)
ALONG_, SHIFT_ = np.array(ALONG), np.array(SHIFT)


def _place(g: Geometry, layers: tuple[int, ...]) -> tuple[Geometry, float]:
    """The geometry with its fields placed, and how much of anything they cover."""
    s, r, h = g.sizes, g.radius, g.sizes.field_height
    inputs, targets = [], []
    for j in range(layers[0]):
        x, y = g.neurons[(0, j)]
        right = x - r - 8
        inputs.append((max(0.0, right - s.side_field), y - h / 2, right, y + h / 2))
    for j in range(layers[-1]):
        x, y = g.neurons[(len(layers) - 1, j)]
        targets.append((x + r + 8, y - h / 2, min(x + r + 8 + s.side_field, g.width), y + h / 2))
    taken: list[Box] = [*inputs, *targets]
    for x, y in g.neurons.values():
        taken.append((x - r - PAD, y - r - PAD, x + r + PAD, y + r + PAD))
    for x, y in g.bias_nodes.values():
        b = g.bias_radius + PAD
        taken.append((x - b, y - b, x + b, y + b))
    taken += [values_box(g, layers, key) for key in g.neurons]
    bounds = (0.0, 0.0, float(g.width), g.legend_y - 10)
    fields: dict[str, Box] = {}
    covered = 0.0
    for l in range(len(layers) - 1):
        if not g.labelled[l]:
            continue
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            edges = [
                (weight_name(layers, l, j, i), g.neurons[(l, i)], r, LABEL_AT)
                for i in range(layers[l])
            ]
            edges.append((bias_name(l, j), g.bias_nodes[l], g.bias_radius, s.bias_label_at))
            for name, start, start_r, at in edges:
                box, covers = _best(g, name, start, start_r, end, at, taken, bounds)
                fields[name], covered = box, covered + covers
                taken.append(box)
    return replace(g, inputs=tuple(inputs), targets=tuple(targets), fields=fields), covered


def _best(
    g: Geometry, name: str, start, start_r: float, end, at: float, taken, bounds
) -> tuple[Box, float]:
    """The first place for a field along its edge (in the order of SHIFT, then ALONG) that
    covers nothing already placed; if there is none, the one that covers least."""
    h, w = g.sizes.field_height, field_width(g.sizes, name)
    t = np.clip(at + ALONG_, 0.05, 0.95)
    x = start[0] + t * (end[0] - start[0])
    y = start[1] + t * (end[1] - start[1])
    x0 = np.broadcast_to(np.maximum(x - w / 2, start[0] + start_r + PAD), (len(SHIFT), len(t)))
    y0 = (y - h / 2)[None, :] + SHIFT_[:, None] * h
    boxes = np.stack([x0, y0, x0 + w, y0 + h], axis=-1).reshape(-1, 4)
    inside = (
        (boxes[:, 0] >= bounds[0])
        & (boxes[:, 1] >= bounds[1])
        & (boxes[:, 2] <= bounds[2])
        & (boxes[:, 3] <= bounds[3])
    )
    if not inside.any():  # nowhere inside the picture: where the edge is
        return tuple(boxes[0].tolist()), math.inf
    boxes = boxes[inside]
    other = np.asarray(taken)
    wide = np.minimum(boxes[:, None, 2], other[None, :, 2]) - np.maximum(
        boxes[:, None, 0], other[None, :, 0]
    )
    tall = np.minimum(boxes[:, None, 3], other[None, :, 3]) - np.maximum(
        boxes[:, None, 1], other[None, :, 1]
    )
    # Touching is not covering.
    covered = np.where((wide > 0.5) & (tall > 0.5), wide * tall, 0.0).sum(axis=1)
    k = int(np.argmin(covered))  # the first of the least covered
    return tuple(boxes[k].tolist()), float(covered[k])
