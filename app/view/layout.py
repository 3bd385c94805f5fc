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
    values_above: bool = False  # the upper hidden neurons' values above them, clear of fields
    bias_drop: float = 85  # from the lowest neuron down to the bias nodes
    bias_label_at: float = 0.3  # bias-edge fields near their bias node, below the others
    legend: float = 1  # the legend's scale; above 1, its ticks get a row of their own
    legend_gap: float = 60  # from the bias nodes down to the legend
    legend_height: float = 50


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
    values_above=True,
    bias_drop=235,  # the lower hidden neurons' values, then the bias fields
    bias_label_at=0.2,
    legend=1.55,
    legend_gap=45,
    legend_height=105,
)


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
