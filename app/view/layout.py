"""Where each neuron, bias node, number and edit field sits in the graph's SVG coordinates.

Columns from the inputs (left) to the outputs (right); the neurons of a column centred
on one another; in detail, each layer's bias node below, between the column it belongs
to and the one it feeds. Room is left on the left for the input fields (presenting, they
sit above the inputs) and on the right for the targets. Small networks are drawn in
detail (numbers by each neuron, an edit field beside each edge); larger ones only by name
(or, where a name does not fit its disc, by its number under the column's name), with the
values in each element's title.

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


@dataclass(frozen=True)
class Sizes:
    """Text, fields and room of a detailed graph, in SVG units: the full page's by default."""

    font: float = 20  # neuron names
    values: float = 17  # the numbers by each neuron
    field_font: float = 16  # the edit fields' text
    edge_field: float = 156  # width of a weight's field: its name and its value
    side_field: float = 132  # width of an input's or a target's field
    inputs_above: bool = False  # each input's field above its neuron, not left of it
    input_field: float = 110  # the width of an input's field above its neuron
    field_height: float = 30
    top: float = 30  # above the first neurons
    left: float = 130  # room for the input fields
    right: float = 170  # room for the target fields
    max_spacing: float = 190  # the most room between two neurons of a column
    min_spacing: float = DETAIL_SPACING  # the least, when drawn in detail (taller if need be)
    bias_drop: float = 85  # from the lowest neuron down to the bias nodes
    bias_shift: float = 0.7  # how far each bias node lies from its column to the next one
    legend: float = 1  # the legend's scale; above 1, its ticks get a row of their own
    legend_gap: float = 60  # from the bias nodes down to the legend
    legend_height: float = 50
    name_font: float = 16  # the name beside a weight's field
    column_room: float = 1.0  # columns with fields between them: this many fields apart


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
# At 1280×720 the graph (three fifths of the width, lab.css) is drawn at about 0.74 px a
# unit: names, numbers and fields of 25 units are 18.5 px, and a weight's field holds its
# name and nine digits. For that the classic network's picture is 1000 units wide: the
# inputs' fields sit above the inputs, the columns just far enough apart for a hidden
# neuron's numbers between the bias edges, which rise steeply (bias_shift).
PRESENT = Sizes(
    font=25,
    values=25,
    field_font=25,
    edge_field=244,
    side_field=175,
    inputs_above=True,
    input_field=110,  # 4.4 em (lab.css)
    field_height=42,
    top=20,
    left=90,  # half an input's field; a field's room left of where the inputs' edges cross
    right=250,  # the target fields, and the lowest output's numbers below it to the right
    max_spacing=250,
    column_room=1.025,
    min_spacing=250,  # a wide column's fields and numbers in large type: a taller picture
    bias_drop=220,  # the lower neurons' numbers, then the bias fields
    bias_shift=0.75,  # the bias edges steep: room for a hidden neuron's numbers below it
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


# The most a picture is drawn wide (any wider and its type is too small to read): beyond
# it, the layer pair with the most edges keeps its fields in the table only, and so on.
MAX_WIDTH = 1.4 * WIDTH


@lru_cache(maxsize=256)
def layout(layers: tuple[int, ...], present: bool = False) -> Geometry:
    """The picture of a network of these layers: where everything goes (see the module's
    docstring). Closed-form but for a greedy choice among a few places per field and per
    neuron's numbers (`_place`): a few milliseconds for any shape."""
    return _place(_layout(layers, present), layers)


def _numbered(layers: tuple[int, ...]) -> list[tuple[int, int]]:
    """The neurons that show numbers: all but the inputs."""
    return [(l, j) for l in range(1, len(layers)) for j in range(layers[l])]


def _layout(layers: tuple[int, ...], present: bool) -> Geometry:
    """The neurons and bias nodes, with columns far enough apart for the fields of each
    layer pair that has them (those with few enough edges, while the picture stays
    narrower than MAX_WIDTH)."""
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
    pairs = list(zip(layers, layers[1:]))
    labelled = [detail and m * n <= MAX_LABELLED_EDGES for m, n in pairs]
    even = (WIDTH - left - right) / depth
    longest = weight_name(layers, depth - 1, layers[-1] - 1, layers[-2] - 1)
    # A pair with fields: room for two of them side by side between the two columns'
    # discs (one near each end of an edge), more where the columns are tall (steep edges).
    room = sizes.column_room * (field_width(sizes, longest) + 2 * (radius + PAD))

    def columns() -> list[float]:
        wide = [room * (m + n) / 4 if on else 0.0 for on, (m, n) in zip(labelled, pairs)]
        return [max(even, w) for w in wide]

    while left + sum(columns()) + right > MAX_WIDTH:
        k = max((m * n, k) for k, (m, n) in enumerate(pairs) if labelled[k])[1]
        labelled[k] = False
    gaps = columns()
    xs = [left + sum(gaps[:l]) for l in range(depth + 1)]
    width = round(xs[-1] + right)
    # In detail, room above the top neurons for their numbers (an output's four lines);
    # otherwise, half a spacing.
    tall = (4 * VALUE_LINE + 0.35) * sizes.values
    top = sizes.top + (radius + NUMBERS_GAP + tall if detail else spacing / 2)
    neurons = {}
    for l, n in enumerate(layers):
        for j in range(n):
            y = top + spacing * ((widest - n) / 2 + j)
            neurons[(l, j)] = (xs[l], y)
    bias_y = top + spacing * (widest - 1) + (sizes.bias_drop if detail else spacing / 2 + 30)
    # In detail, each bias node between the column it belongs to and the one it feeds (as
    # in the tutorial's figure): its edges rise steeply, leaving room under the neurons.
    shift = sizes.bias_shift if detail else 0.0
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
        labelled=tuple(labelled),
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
NUMBERS_GAP = 20.0  # between a neuron's disc and its numbers: above, clear of a field over an edge
LEADER = 3.0  # a field farther than this from its edge is joined to it by a leader
# Where a field may go, best first: at each of these fractions along its edge (from the
# sending end), on either side of it, just clear of its stroke or a little farther; last,
# on its edge (it then covers its own edge there, never another's).
ALONG = (0.5, 0.35, 0.65, 0.22, 0.78, 0.12, 0.88)
FARTHER = (0.0, 0.7)  # in fields' heights
SIDES = (1.0, -1.0)  # 1: the side of the normal (−dy, dx), above a rising edge
FIELD_PLACES = len(ALONG) * len(SIDES) * len(FARTHER) + 1
# A neuron's numbers: above or below it (centred, then shifted aside), then beside it.
NUMBER_PLACES = 8
# What a place costs: crossing another edge (and per part of its visible length covered),
# covering its own, overlapping anything placed (per unit of area), leaving any edge with
# more than HIDDEN of its length under fields; a place's rank breaks ties.
CROSSED, ALONG_COST, OWN, OVER, SHADE = 1e4, 4e4, 5e3, 1e6, 1e5
HIDDEN = 0.4
STROKE = 3.0  # half an edge's usual stroke


def _segments(g: Geometry, layers: tuple[int, ...]) -> tuple[np.ndarray, list[str]]:
    """Every edge's visible part, as rows of x, y, dx, dy, t0, t1 (the part from t0 to t1
    of start + t·(dx, dy) lies outside the two discs it joins), and its parameter's name."""
    rows, names = [], []
    for l in range(len(layers) - 1):
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            starts = [
                (weight_name(layers, l, j, i), g.neurons[(l, i)], g.radius)
                for i in range(layers[l])
            ]
            starts.append((bias_name(l, j), g.bias_nodes[l], g.bias_radius))
            for name, start, r in starts:
                dx, dy = end[0] - start[0], end[1] - start[1]
                length = math.hypot(dx, dy)
                rows.append((*start, dx, dy, r / length, 1 - g.radius / length))
                names.append(name)
    return np.array(rows), names


def _covered(boxes: np.ndarray, segments: np.ndarray, clear: float = CLEAR) -> np.ndarray:
    """How much of each edge's visible part each box covers (comes within `clear` of),
    boxes × edges, as a fraction of that part; -1 where it does not come near it: the
    visible part clipped to the box grown by `clear` (Liang–Barsky)."""
    b = boxes[:, None, :]
    x, y, dx, dy, t0, t1 = (segments[None, :, k] for k in range(6))
    shape = (len(boxes), len(segments))
    lo, hi = np.broadcast_to(t0, shape).copy(), np.broadcast_to(t1, shape).copy()
    for p, q in (
        (-dx, x - (b[..., 0] - clear)),
        (dx, b[..., 2] + clear - x),
        (-dy, y - (b[..., 1] - clear)),
        (dy, b[..., 3] + clear - y),
    ):
        p = np.broadcast_to(p, shape)
        with np.errstate(divide="ignore", invalid="ignore"):
            r = q / p
        lo = np.where(p < 0, np.maximum(lo, r), lo)
        hi = np.where(p > 0, np.minimum(hi, r), hi)
        hi = np.where((p == 0) & (q < 0), -1.0, hi)
    return np.where(lo <= hi, (hi - lo) / (t1 - t0), -1.0)


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


def _place(g: Geometry, layers: tuple[int, ...]) -> Geometry:
    """The geometry with the numbers by the neurons and the fields placed: each at the
    first of its few places (`_value_spots`, `_field_spots`) that crosses no edge and
    covers nothing placed before it, or else at the one that costs least (see CROSSED);
    never over anything placed (a field with no such place is in the table only, a
    neuron's numbers in its title only, as they are where no place is clear of the edges).

    The numbers first (they have fewest places), then the fields, those with the fewest
    places clear of the edges first; each place is weighed once against the edges and
    once against what is placed, so the work is FIELD_PLACES per field and NUMBER_PLACES
    per neuron (see `evaluated`)."""
    if not g.detail:  # names only: no numbers, no fields on the graph
        return g
    s, r, h = g.sizes, g.radius, g.sizes.field_height
    inputs, targets = [], []
    for j in range(layers[0]):
        x, y = g.neurons[(0, j)]
        if s.inputs_above:
            # Its right end just past the neuron's centre, not centred on it: the room
            # right of it is the first weight's, whose field sits above its edge.
            w = s.input_field
            left = max(0.0, x + 0.6 * r - w)
            inputs.append((left, y - r - 8 - h, left + w, y - r - 8))
            continue
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
    segments, names = _segments(g, layers)
    own_edge = {name: k for k, name in enumerate(names)}
    bounds = (0.0, 0.0, float(g.width), g.legend_y - 10)

    def cost(boxes: np.ndarray, own: int | None = None) -> tuple[np.ndarray, np.ndarray]:
        """What each place costs against the edges and the bounds (the fixed part), and
        how much of each edge it covers (places × edges)."""
        covered = _covered(boxes, segments)
        crossed, share = covered >= 0, np.maximum(covered, 0.0)
        mine = np.zeros(len(boxes))
        if own is not None:
            # Its own edge: how much of its stroke it really covers (a field just clear of
            # its edge touches the CLEAR margin along it, which hides nothing).
            real = np.maximum(_covered(boxes, segments[own : own + 1], STROKE)[:, 0], 0.0)
            mine, crossed[:, own], share[:, own] = (real > 0) * OWN, False, real
        c = CROSSED * crossed.sum(axis=1) + ALONG_COST * share.sum(axis=1) + mine
        c = c + np.arange(len(boxes)) * 1e-3
        return np.where(_inside(boxes, bounds), c, math.inf), share

    hidden = np.zeros(len(names))  # how much of each edge lies under the fields placed

    def choose(boxes: np.ndarray, fixed: np.ndarray, share=None) -> int | None:
        """The place that costs least, if it overlaps nothing placed."""
        over = _overlap(boxes, taken)
        shade = 0.0 if share is None else ((hidden + share) > HIDDEN).sum(axis=1) * SHADE
        k = int(np.argmin(fixed + OVER * over + shade))
        return None if over[k] > 0 or fixed[k] == math.inf else k

    values: dict[tuple[int, int], Values] = {}
    for key in _numbered(layers):
        spots = _value_spots(g, layers, key)
        boxes = np.array([values_box(g, layers, key, v) for v in spots])
        fixed, _ = cost(boxes)
        k = choose(boxes, fixed)
        if k is None or fixed[k] >= CROSSED:  # no place clear of the edges: in its title only
            continue
        values[key] = spots[k]
        taken.append(tuple(boxes[k].tolist()))

    items = []
    for l in range(len(layers) - 1):
        if not g.labelled[l]:
            continue
        for j in range(layers[l + 1]):
            end = g.neurons[(l + 1, j)]
            edges = [(weight_name(layers, l, j, i), g.neurons[(l, i)]) for i in range(layers[l])]
            edges.append((bias_name(l, j), g.bias_nodes[l]))
            for name, start in edges:
                boxes, feet = _field_spots(g, name, start, end)
                fixed, share = cost(boxes, own_edge[name])
                items.append((int((fixed < 1).sum()), len(items), name, boxes, feet, fixed, share))
    fields: dict[str, Box] = {}
    leaders: dict[str, tuple[float, float, float, float]] = {}
    for _, _, name, boxes, feet, fixed, share in sorted(items, key=lambda item: item[:2]):
        k = choose(boxes, fixed, share)
        if k is None:  # no place clear of what is placed: in the table only
            continue
        hidden += share[k]
        box = tuple(boxes[k].tolist())
        fields[name] = box
        taken.append(box)
        foot = feet[k]
        near = (min(max(foot[0], box[0]), box[2]), min(max(foot[1], box[1]), box[3]))
        if math.dist(foot, near) > LEADER:
            leaders[name] = (*foot, *near)
    placed = replace(g, values=values, inputs=tuple(inputs), targets=tuple(targets))
    return replace(placed, fields=fields, leaders=leaders)


def evaluated(g: Geometry, layers: tuple[int, ...]) -> int:
    """How many places `_place` weighs for this picture: bounded by its construction."""
    fields = sum((m + 1) * n for on, m, n in zip(g.labelled, layers, layers[1:]) if on and g.detail)
    return FIELD_PLACES * fields + NUMBER_PLACES * len(_numbered(layers)) * g.detail


def _value_spots(g: Geometry, layers, key) -> list[Values]:
    """Where a neuron's numbers may go, best first (NUMBER_PLACES of them): above it for
    the top half of a column, else below, centred, then shifted to either side; then the
    other way; then beside it, to the right and to the left."""
    (x, y), r = g.neurons[key], g.radius
    x0, y0, x1, y1 = values_box(g, layers, key, Values(0, 0, "middle", False))
    wide, tall = x1 - x0, y1 - y0
    shift = wide / 2 - r / 4  # the box's edge a little past the neuron's centre
    # Above, centred first (nothing comes from above a column's top neuron); below, to the
    # right first (the bias edges rise to a column from its lower left).
    high = y - r - NUMBERS_GAP - tall
    above = [Values(x + dx, high, "middle", True) for dx in (0, shift, -shift)]
    below = [Values(x + dx, y + r + NUMBERS_GAP, "middle", False) for dx in (shift, 0, -shift)]
    upper = key[1] < layers[key[0]] / 2
    aside = [
        Values(x + r + NUMBERS_GAP, y - tall / 2, "start", False),
        Values(x - r - NUMBERS_GAP, y - tall / 2, "end", False),
    ]
    return ([*above, *below[:1]] if upper else [*below, *above[:1]]) + aside


def _field_spots(g: Geometry, name: str, start, end):
    """Where a field may go beside its edge, best first (FIELD_PLACES of them): at each
    fraction along it (ALONG), on either side, just clear of its stroke, then a little
    farther; last, centred on it. With each box, the point of the edge it labels."""
    h, w = g.sizes.field_height, field_width(g.sizes, name)
    dx, dy = end[0] - start[0], end[1] - start[1]
    length = math.hypot(dx, dy)
    nx, ny = -dy / length, dx / length
    reach = (w * abs(nx) + h * abs(ny)) / 2 + CLEAR  # from the box's centre to the edge
    t, side, farther = (
        a.ravel() for a in np.meshgrid(np.array(ALONG), SIDES, FARTHER, indexing="ij")
    )
    t, side, off = np.append(t, ALONG[0]), np.append(side, 0.0), np.append(farther, 0.0)
    fx, fy = start[0] + t * dx, start[1] + t * dy
    cx = fx + side * nx * (reach + off * h)
    cy = fy + side * ny * (reach + off * h)
    boxes = np.stack([cx - w / 2, cy - h / 2, cx + w / 2, cy + h / 2], axis=-1)
    return boxes, list(zip(fx.tolist(), fy.tolist()))
