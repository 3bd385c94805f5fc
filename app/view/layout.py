"""Where each neuron, bias node and edge label sits in the graph's SVG coordinates.

Columns from the inputs (left) to the outputs (right); the neurons of a column centred
on one another; each layer's bias node under its column, as in the tutorial's figure.
Room is left on the left for the input fields and on the right for the targets. Small
networks are drawn in detail (values by each neuron, an edit field on each edge);
larger ones only by name, with the values in each element's title.

Presentation mode has its own sizes (`PRESENT`): the graph is shown larger there and
read from the back of a room, so its text, its edit fields (wide enough for a weight's
nine digits) and the room between neurons grow with it.
"""

from dataclasses import dataclass

WIDTH = 1000
LEFT, RIGHT, TOP = 130, 170, 30
MAX_SPACING, MIN_SPACING, COLUMN_HEIGHT = 190, 36, 640
DETAIL_SPACING = 110  # below this, neurons are drawn by name only
MAX_LABELLED_EDGES = 24  # per layer pair, above this edges carry no edit field
LABEL_AT = 0.37  # edge labels sit this far along their edge, from the sending neuron
BIAS_LABEL_AT = 0.3  # bias-edge labels near their bias node, below the others


@dataclass(frozen=True)
class Sizes:
    """Text and field sizes of a detailed graph, in SVG units."""

    font: float  # neuron names
    values: float  # the numbers by each neuron
    field_font: float  # the edit fields' text
    edge_field: float  # width of a weight's field: its name and nine digits
    side_field: float  # width of an input's or a target's field
    field_height: float
    max_spacing: float  # the most room between two neurons of a column
    left: float  # room for the input fields
    right: float  # room for the target fields
    bias_drop: float  # from the lowest neuron down to the bias nodes
    bias_label_at: float  # how far along its edge a bias's field sits
    values_above: bool  # the first hidden neurons' values go above them, clear of the fields
    top: float  # above the first neurons
    legend: float  # the legend's scale; above 1, its ticks get a row of their own
    legend_gap: float  # from the bias nodes down to the legend
    legend_height: float


PAGE = Sizes(
    20, 17, 16, 156, 132, 30, MAX_SPACING, LEFT, RIGHT, 85, BIAS_LABEL_AT, False, TOP, 1, 60, 50
)
PRESENT = Sizes(25, 25, 25, 244, 175, 42, 210, 150, 215, 235, 0.2, True, 20, 1.55, 45, 105)


@dataclass(frozen=True)
class Geometry:
    width: int
    height: int
    radius: float
    font: float  # base font size in SVG units
    sizes: Sizes
    detail: bool
    neurons: dict[tuple[int, int], tuple[float, float]]  # (l, j) → centre
    bias_nodes: dict[int, tuple[float, float]]  # l → centre of the node feeding layer l+1
    bias_radius: float
    legend_y: float
    labelled: tuple[bool, ...]  # per layer pair: edges carry edit fields

    def along(self, a: tuple[float, float], b: tuple[float, float], t: float):
        return (a[0] + t * (b[0] - a[0]), a[1] + t * (b[1] - a[1]))


def layout(layers: tuple[int, ...], present: bool = False) -> Geometry:
    depth = len(layers) - 1
    widest = max(layers)
    sizes = PRESENT if present else PAGE
    spacing = max(MIN_SPACING, min(sizes.max_spacing, COLUMN_HEIGHT / widest))
    detail = spacing >= DETAIL_SPACING
    radius = min(32.0, spacing * 0.36)
    # Without fields on the graph, no room is kept for them at the sides.
    left, right = (sizes.left, sizes.right) if detail else (60, 60)
    column = (WIDTH - left - right) / depth
    neurons = {}
    for l, n in enumerate(layers):
        for j in range(n):
            y = sizes.top + spacing * ((widest - n) / 2 + j + 0.5)
            neurons[(l, j)] = (left + l * column, y)
    bias_y = sizes.top + spacing * widest + (sizes.bias_drop if detail else 30)
    bias_nodes = {l: (left + l * column, bias_y) for l in range(depth)}
    legend_y = bias_y + sizes.legend_gap
    return Geometry(
        width=WIDTH,
        height=round(legend_y + sizes.legend_height),
        radius=radius,
        font=sizes.font if detail else max(8.0, min(14.0, radius * 0.75)),
        sizes=sizes,
        detail=detail,
        neurons=neurons,
        bias_nodes=bias_nodes,
        bias_radius=radius * 0.7,
        legend_y=legend_y,
        labelled=tuple(detail and m * n <= MAX_LABELLED_EDGES for m, n in zip(layers, layers[1:])),
    )
