"""Where each neuron, bias node, number and edit field sits in the graph's SVG coordinates.

Columns from the inputs (left) to the outputs (right); the neurons of a column centred
on one another; in detail, each layer's bias node below, between the column it belongs
to and the one it feeds. Room is left on the left for the input fields and on the right
for the targets. Small networks are drawn in detail (numbers by each neuron, an edit
field beside each edge); larger ones only by name (or, where a name does not fit its
disc, by its number under the column's name), with the values in each element's title.

Presentation mode has its own sizes (`PRESENT`): the graph is shown larger there and
read from the back of a room, so its text and its edit fields grow with it.

Nothing placed covers an edge's colour: the numbers by each neuron and the fields sit
clear of every edge's visible stroke (CLEAR), of the neurons and of one another, each
field beside its edge with a short leader to it (see `_place`). A neuron's numbers with
no clear place are left out (they are in its title); where a layer pair's fields cannot
all sit clear, the picture is drawn wider (up to MAX_WIDTH), and beyond that the most
crowded layer pair keeps its fields in the table only (see `layout`).
"""

import math
from dataclasses import dataclass, field, replace
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
    values_above: bool = False  # room kept above the top neurons for their numbers
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


PAGE = Sizes(max_spacing=230, bias_drop=160)
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
    bias_drop=180,  # the lower hidden neurons' numbers
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
    anchor: str  # "start" (they run right from x), "middle" (centred on x) or "end" (end at x)
    above: bool  # above the neuron: fewer numbers start lower, next to it

    def top(self, shown: int, lines: int, font: float) -> float:
        """The top of the first of `shown` numbers, of at most `lines`."""
        return self.y + (lines - shown) * VALUE_LINE * font if self.above else self.y


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    radius: float
    font: float  # base font size in SVG units (undetailed: a two-digit number in its disc)
    sizes: Sizes
    detail: bool
    neurons: dict[tuple[int, int], tuple[float, float]]  # (l, j) → centre
    # (l, j) → the numbers by neuron j of layer l; a neuron whose numbers cannot sit clear
    # of the edges and of the other numbers has none (they are in its title).
    values: dict[tuple[int, int], Values]
    bias_nodes: dict[int, tuple[float, float]]  # l → centre of the node feeding layer l+1
    bias_radius: float
    legend_y: float
    labelled: tuple[bool, ...]  # per layer pair: edges carry edit fields
    inputs: tuple[Box, ...]  # the fields of the inputs, left of their neurons
    targets: tuple[Box, ...]  # the fields of the targets, right of their neurons
    fields: dict[str, Box]  # a weight's or a bias's field, by its name, beside its edge
    # from the point of its edge a field labels to the field, where it is not right there
    leaders: dict[str, tuple[float, float, float, float]] = field(default_factory=dict)


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
        clear = []  # the pictures whose fields all sit clear, however many numbers do
        for widen in WIDER:
            g = _layout(layers, present, widen, tuple(labelled))
            if g.width > MAX_WIDTH:
                break
            g, covered = _place(g, layers)
            if covered == 0:
                clear.append(g)
                if len(g.values) == len(_numbered(layers)):
                    break
        if clear:
            return max(clear, key=lambda g: len(g.values))  # the first of the most complete
        # The pair with the most edges keeps its fields in the table only (of two alike,
        # the first: the one the backward pass reaches last).
        pairs = [(m * n, -k) for k, (m, n) in enumerate(zip(layers, layers[1:])) if labelled[k]]
        labelled[-max(pairs)[1]] = False
    return _place(_layout(layers, present, 1.0, tuple(labelled)), layers)[0]


def _numbered(layers: tuple[int, ...]) -> list[tuple[int, int]]:
    """The neurons that show numbers: all but the inputs."""
    return [(l, j) for l in range(1, len(layers)) for j in range(layers[l])]


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
    # Presentation puts the top hidden neurons' numbers above them: all of the picture moves
    # down to make room for them.
    hidden = [neurons[(l, 0)][1] for l in range(1, depth)]
    tall = (4 * VALUE_LINE + 0.35) * sizes.values  # an output's four numbers
    need = radius + 8 + tall if detail and sizes.values_above else 0
    down = max(0.0, need - min(hidden, default=need))
    if down:
        neurons = {key: (x, y + down) for key, (x, y) in neurons.items()}
    bias_y = down + sizes.top + spacing * widest + (sizes.bias_drop if detail else 30)
    # In detail, each bias node between the column it belongs to and the one it feeds (as
    # in the tutorial's figure): its edges rise steeply, leaving room under the neurons.
    shift = BIAS_SHIFT if detail else 0.0
    bias_nodes = {l: (xs[l] + shift * (xs[l + 1] - xs[l]), bias_y) for l in range(depth)}
    legend_y = bias_y + sizes.legend_gap
    return Geometry(
        width=width,
        height=round(legend_y + sizes.legend_height),
        radius=radius,
        font=sizes.font if detail else min(18.0, radius * 1.1),
        sizes=sizes,
        detail=detail,
        neurons=neurons,
        values={},
        bias_nodes=bias_nodes,
        bias_radius=radius * 0.7,
        legend_y=legend_y,
        labelled=labelled,
        inputs=(),
        targets=(),
        fields={},
    )


NAME_EM_WIDE = 0.68  # the widest of a bold name's characters, in em


def fits(name: str, font: float, radius: float) -> bool:
    """Whether a name in bold at `font` fits inside a disc of `radius`."""
    return len(name) * NAME_EM_WIDE * font <= 2 * radius - 4


def value_lines(layers, l: int) -> int:
    """How many numbers a neuron shows at most: net, out, (E,) δ."""
    return 0 if l == 0 else 4 if l == len(layers) - 1 else 3


def values_box(g: Geometry, layers, key, v: Values | None = None) -> Box:
    """The room kept for the numbers by a neuron, at their longest (placed at `v`, by
    default where they are); none for an input, or a neuron whose numbers are folded."""
    v, n = v or g.values.get(key), value_lines(layers, key[0])
    if not n or v is None:
        return (0.0, 0.0, 0.0, 0.0)
    wide = g.sizes.values * 0.64 * (DIGITS + 7)  # "net −0.0380982365"
    tall = g.sizes.values * (n * VALUE_LINE + 0.35)
    x0 = {"start": v.x, "middle": v.x - wide / 2, "end": v.x - wide}[v.anchor]
    return (x0, v.y, x0 + wide, v.y + tall)


# Everything placed is kept this far from each edge's centre line: half the widest stroke
# (palette.MAX_WIDTH) and half the selected edge's halo (.hit, 16 units), so that no
# field or number covers any part of an edge's colour.
CLEAR = 8.0
BIAS_SHIFT = 0.7
# Where along its edge a field may sit (as a fraction from the sending end), nearest the
# preferred place first; how much further from the edge than it need be, nearest first.
ALONG = tuple(sorted((k * 0.03 for k in range(-15, 20)), key=abs))
FARTHER = (0.0, 6.0, 16.0, 30.0, 50.0)
ALONG_, FARTHER_ = np.array(ALONG), np.array(FARTHER)
LEADER = 3.0  # a field farther than this from its edge is joined to it by a leader


def _segments(g: Geometry, layers: tuple[int, ...]) -> np.ndarray:
    """Every edge's visible part, as rows of x, y, dx, dy, t0, t1 (the part from t0 to t1
    of start + t·(dx, dy) lies outside the two discs it joins)."""
    rows = []
    for l in range(len(layers) - 1):
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            starts = [(g.neurons[(l, i)], g.radius) for i in range(layers[l])]
            for start, r in [*starts, (g.bias_nodes[l], g.bias_radius)]:
                dx, dy = end[0] - start[0], end[1] - start[1]
                length = math.hypot(dx, dy)
                rows.append((*start, dx, dy, r / length, 1 - g.radius / length))
    return np.array(rows)


def _crossed(boxes: np.ndarray, segments: np.ndarray) -> np.ndarray:
    """How many edges cross each box (within CLEAR of it): the visible part of each
    segment clipped to the box grown by CLEAR (Liang–Barsky)."""
    b = boxes[:, None, :]
    x, y, dx, dy, t0, t1 = (segments[None, :, k] for k in range(6))
    lo, hi = np.broadcast_to(t0, (len(boxes), len(segments))), t1 + 0 * b[..., 0]
    lo, hi = lo.copy(), hi.copy()
    for p, q in (
        (-dx, x - (b[..., 0] - CLEAR)),
        (dx, b[..., 2] + CLEAR - x),
        (-dy, y - (b[..., 1] - CLEAR)),
        (dy, b[..., 3] + CLEAR - y),
    ):
        p = np.broadcast_to(p, lo.shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        lo = np.where(p < 0, np.maximum(lo, r), lo)
        hi = np.where(p > 0, np.minimum(hi, r), hi)
        hi = np.where((p == 0) & (q < 0), -1.0, hi)
    return (lo <= hi).sum(axis=1)


def _overlap(boxes: np.ndarray, taken: list[Box]) -> np.ndarray:
    """How much of each box lies over the boxes taken (touching is not covering)."""
    if not taken:
        return np.zeros(len(boxes))
    other = np.asarray(taken)
    wide = np.minimum(boxes[:, None, 2], other[None, :, 2]) - np.maximum(
        boxes[:, None, 0], other[None, :, 0]
    )
    tall = np.minimum(boxes[:, None, 3], other[None, :, 3]) - np.maximum(
        boxes[:, None, 1], other[None, :, 1]
    )
    return np.where((wide > 0.5) & (tall > 0.5), wide * tall, 0.0).sum(axis=1)


def _inside(boxes: np.ndarray, bounds: Box) -> np.ndarray:
    return (
        (boxes[:, 0] >= bounds[0])
        & (boxes[:, 1] >= bounds[1])
        & (boxes[:, 2] <= bounds[2])
        & (boxes[:, 3] <= bounds[3])
    )


@dataclass
class _Item:
    """Something to place (a neuron's numbers or a field) and where it may go, best first,
    with what each place would cover: edges (fixed), and what has been placed so far."""

    key: object
    boxes: np.ndarray
    cost: np.ndarray  # an edge crossed counts as much as a whole field; outside, infinite

    def clear(self) -> np.ndarray:
        return np.flatnonzero(self.cost == 0)


def _place(g: Geometry, layers: tuple[int, ...]) -> tuple[Geometry, float]:
    """The geometry with the numbers by the neurons and the fields placed clear of the
    edges and of one another where they can be, and how much the fields cover (a
    neuron's numbers that cannot sit clear are left out: they are in its title).

    The most constrained first (the fewest clear places left), each at its first clear
    place: a greedy packing that, unlike placing them in a fixed order, rarely takes the
    only place another needed."""
    if not g.detail:  # names only: no numbers, no fields on the graph
        return g, 0.0
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
    segments = _segments(g, layers)
    bounds = (0.0, 0.0, float(g.width), g.legend_y - 10)

    items: list[_Item] = []
    spots: dict[object, list] = {}  # a neuron's Values, or a field's feet on its edge

    def add(key, boxes: np.ndarray, places: list) -> None:
        cost = _overlap(boxes, taken) + 1e4 * _crossed(boxes, segments)
        items.append(_Item(key, boxes, np.where(_inside(boxes, bounds), cost, math.inf)))
        spots[key] = places

    for key in _numbered(layers):
        places = _value_spots(g, layers, key)
        add(key, np.array([values_box(g, layers, key, v) for v in places]), places)
    for l in range(len(layers) - 1):
        if not g.labelled[l]:
            continue
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            edges = [
                (weight_name(layers, l, j, i), g.neurons[(l, i)], LABEL_AT)
                for i in range(layers[l])
            ]
            edges.append((bias_name(l, j), g.bias_nodes[l], s.bias_label_at))
            for name, start, at in edges:
                boxes, feet = _field_spots(g, name, start, end, at)
                add(name, boxes, feet)

    values: dict[tuple[int, int], Values] = {}
    fields: dict[str, Box] = {}
    leaders: dict[str, tuple[float, float, float, float]] = {}
    covered = 0.0
    while items:
        item = min(items, key=lambda item: len(item.clear()))  # the first of the fewest
        items.remove(item)
        clear = item.clear()
        numbers = isinstance(item.key, tuple)
        if len(clear):
            k = int(clear[0])
        elif numbers:
            continue  # no room: not drawn
        else:
            k = int(np.argmin(item.cost))
            covered += float(item.cost[k])
        box = tuple(item.boxes[k].tolist())
        for other in items:
            other.cost += _overlap(other.boxes, [box])
        if numbers:
            values[item.key] = spots[item.key][k]
            continue
        fields[item.key] = box
        foot = spots[item.key][k]
        near = (min(max(foot[0], box[0]), box[2]), min(max(foot[1], box[1]), box[3]))
        if math.dist(foot, near) > LEADER:
            leaders[item.key] = (*foot, *near)
    placed = replace(g, values=values, inputs=tuple(inputs), targets=tuple(targets))
    return replace(placed, fields=fields, leaders=leaders), covered


def _value_spots(g: Geometry, layers, key) -> list[Values]:
    """Where a neuron's numbers may go, best first: below or above it, centred, then
    shifted aside; then beside it; each a little farther off in turn."""
    (x, y), r = g.neurons[key], g.radius
    x0, y0, x1, y1 = values_box(g, layers, key, Values(0, 0, "middle", False))
    wide, tall = x1 - x0, y1 - y0
    output = key[0] == len(layers) - 1
    spots = []
    for gap in (4.0, 14.0, 28.0, 50.0, 80.0):
        for shift in (0.0, 0.1, -0.1, 0.2, -0.2, 0.3, -0.3, 0.4, -0.4, 0.5, -0.5):
            dx = shift * wide
            below = Values(x + dx, y + r + gap, "middle", False)
            above = Values(x + dx, y - r - gap - tall, "middle", True)
            spots += [below, above] if output or key[1] >= layers[key[0]] / 2 else [above, below]
        for dy in (-0.5, 0.0, -1.0):
            spots.append(Values(x + r + gap + 4, y + r * 0.3 + dy * tall, "start", False))
            spots.append(Values(x - r - gap - 4, y + r * 0.3 + dy * tall, "end", False))
    return spots


def _field_spots(g: Geometry, name: str, start, end, at: float):
    """Where a field may go beside its edge, best first: next to the edge (just clear of
    its stroke, on either side) at each place along it in turn, then farther off. With
    each box, the point of the edge it labels."""
    h, w = g.sizes.field_height, field_width(g.sizes, name)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length  # a normal (pointing up on a rising edge)
    reach = (w * abs(nx) + h * abs(ny)) / 2 + CLEAR  # from the box's centre to the edge
    t = np.unique(np.clip(at + ALONG_, 0.06, 0.94))
    t, side, farther = (a.ravel() for a in np.meshgrid(t, (-1.0, 1.0), FARTHER_, indexing="ij"))
    order = np.lexsort((side, np.abs(t - at), farther))  # nearest the edge, then along
    t, side, farther = t[order], side[order], farther[order]
    fx, fy = start[0] + t * dx, start[1] + t * dy
    cx = fx + side * nx * (reach + farther)
    cy = fy + side * ny * (reach + farther)
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    return boxes, list(zip(fx.tolist(), fy.tolist()))
