"""Element ids and the names shown for neurons: built here and nowhere else.

Templates, tests and the keyboard script refer to elements only through these
functions, so that an id cannot be spelled two ways.

Names: the input layer is i1, i2, …; the output layer o1, o2, …; a single hidden layer
h1, h2, …; with several hidden layers h1_1, h1_2, … (hidden layer 1, neuron 1, …).
The bias node that feeds layer l+1 is b{l+1}, as in the tutorial's figure (b1 feeds the
first hidden layer); its edges are the engine's bias names b{l+1}_{j+1}.
"""

# The regions of the page; each is one fragment template with this root id.
PAGE = "page"  # everything: controls and lab (swapped by preference changes)
CONTROLS = "controls"  # the step bar, never swapped by a step, so its requests can queue
LAB = "lab"  # what a step or an edit changes
STATUS = "status"
GRAPH = "graph"
GRAPH_FIELDS = "graph-fields"  # the edit fields, a layer over the graph
EXPLAIN = "explain"
DELTAS = "deltas"
SLIP = "slip"  # in the δ panel: the classic slip beside the correct iteration
CHAIN = "chain"
WEIGHTS = "weights"
HISTORY = "history"  # the timeline of the network's changes
PARAMS = "params"
MESSAGE = "message"
REFUSED = "refused"  # present while a refused entry is on show
ANNOUNCE = "announce"  # a live region outside the lab, so that each change is read out
ITERATIONS = "iterations"
LIVE = "live"  # the live training's controls
RUN = "run"  # its progress and loss curve
E_TOTAL = "e-total"
E_AFTER = "e-after"


def neuron_name(layers: tuple[int, ...], l: int, j: int) -> str:
    """The name of neuron j of layer l (layer 0 is the input layer)."""
    if l == 0:
        return f"i{j + 1}"
    if l == len(layers) - 1:
        return f"o{j + 1}"
    if len(layers) == 3:
        return f"h{j + 1}"
    return f"h{l}_{j + 1}"


def bias_node_name(l: int) -> str:
    """The bias node feeding layer l+1 (biases[l])."""
    return f"b{l + 1}"


def tex_name(name: str) -> str:
    """A neuron or parameter name as a LaTeX subscript: h1_2 → h_{1,2}, b1_1 → b_{1,1}."""
    letter, rest = name[0], name[1:]
    if "_" in rest:
        return f"{letter}_{{{rest.replace('_', ',')}}}"
    return f"{letter}_{{{rest}}}" if letter in "wb" else name


def neuron(name: str) -> str:
    return f"n-{name}"


def bias_node(l: int) -> str:
    return f"n-{bias_node_name(l)}"


def value(quantity: str, name: str) -> str:
    """A number drawn on the graph: quantity is net, out, delta or E."""
    return f"g-{quantity}-{name}"


def edge(param: str) -> str:
    return f"e-{param}"


def field(param: str, where: str) -> str:
    """The edit field of a parameter; where is "graph" (on the edge) or "table"."""
    return f"f-{where}-{param}"


def field_error(param: str) -> str:
    return f"err-{param}"


def delta(name: str) -> str:
    """The δ formula of a neuron in the δ panel."""
    return f"delta-{name}"


def grad_row(param: str) -> str:
    return f"grad-{param}"


def explain_item(kind: str, name: str) -> str:
    return f"x-{kind}-{name}"


def architecture(action: str, l: int | None = None) -> str:
    """A part of the architecture editor: the buttons add_neuron and remove_neuron of
    layer l (0 is the input layer), remove_layer of hidden layer l, add_layer; the
    outputs size (of layer l) and layers (all of them, as 2-2-2)."""
    return f"arch-{action}" if l is None else f"arch-{action}-{l}"


DRAW_AGAIN = "btn-draw-again"  # new weights from a new seed
SCATTER = "data-scatter"  # the samples of a network with two inputs, in the data editor
DATA_COUNTS = "data-counts"  # a data set's training and test samples


def data_row(k: int) -> str:
    """Sample k (from 1) of the table of samples."""
    return f"data-row-{k}"


def data_row_remove(k: int) -> str:
    return f"data-row-{k}-remove"


def slip(kind: str, name: str) -> str:
    """A row of the classic slip beside the correct iteration: kind is delta or e."""
    return f"slip-{kind}-{name}"


def timeline_mark(iteration: int) -> str:
    return f"history-{iteration}"
