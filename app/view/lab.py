"""The whole lab as drawn, from a session: status, graph, explanation, δ panel, weight
table, chain rule and edit table. The one place between the engine and the templates.
"""

import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from functools import partial

from app.engine import ACTIVATIONS, LOSSES, bias_name, parse_param_name, weight_name
from app.engine.data import batches_per_epoch
from app.engine.optim import OPTIMIZERS
from app.engine.phase import phases
from app.engine.schedule import SCHEDULES
from app.session import Session, traced
from app.view import boundary, ids, knobs, optimizer, slip
from app.view.curve import Curve, curve
from app.view.fields import Choice, Field, Fields, Invalid
from app.view.formulas import Formula, Iteration
from app.view.graph import Graph, Overlay, overlay
from app.view.graph import build as build_graph
from app.view.numbers import PRECISIONS, fmt
from app.view.prefs import Prefs
from app.view.stage import Stage
from app.view.text import HTML_LANG, TEXT


@dataclass(frozen=True)
class Status:
    iteration: int  # the iteration on show, from 1
    phase: str  # its name, as in the API
    label: str  # in words
    e_total: str | None  # once computed
    e_after: str | None  # in update: E_total of the updated network
    spoken: str  # all of it in one line, for screen readers
    # With the classic slip on, in update: E_total after the correct iteration, beside it
    e_after_correct: str | None = None


@dataclass(frozen=True)
class Step:
    phase: str
    label: str  # short, for the row of phases
    title: str  # in full
    current: bool
    done: bool


MAX_LISTED = 16  # longer lists of gradients or updates are cut, the rest are in the table
# The explanation writes out this many neurons of a layer (net and out, or δ); the rest are
# computed the same way, and their numbers are in the graph's tooltips and the δ panel. A
# side panel of 16 neurons' formulas is read by nobody, and laying out its MathML took half
# of a 2-16-16-16-2 step's time in the browser.
MAX_NEURONS = 4


def _first_neurons(n: int, t: dict, more: str) -> tuple[int, str | None]:
    """How many of a layer's n neurons are written out, and the line (text key `more`)
    that says how many more there are."""
    shown = min(n, MAX_NEURONS)
    return shown, t[more].format(n=n - shown) if n > shown else None


@dataclass(frozen=True)
class Section:
    title: str
    formulas: tuple[Formula, ...]
    layer: int | None = None  # for the δ panel: the layer (the page highlights it in its phase)
    pending: str | None = None  # why its numbers are not shown yet
    more: str | None = None  # how many more there are, in the table


def _listed(title: str, formulas: list[Callable[[], Formula]], t: dict) -> Section:
    """The first MAX_LISTED of the formulas (each made only if shown), and how many more."""
    shown = tuple(f() for f in formulas[:MAX_LISTED])
    more = len(formulas) - MAX_LISTED
    return Section(title, shown, more=t["more"].format(n=more) if more > 0 else None)


@dataclass(frozen=True)
class Explanation:
    title: str
    text: str
    sections: tuple[Section, ...]


@dataclass(frozen=True)
class Row:
    id: str
    name: str
    path: str
    w: str
    delta: str | None
    out: str | None
    grad: str | None
    new: str | None  # w⁺ in update; "fixed" for biases not updated
    layer: int  # the layer it feeds (the page highlights it in forward:k and backward:k)
    state: tuple[str, ...] = ()  # the optimiser's state, if shown: one per column


MAX_TABLE_ROWS = 100  # a larger network's table of weights is folded unless asked for


@dataclass(frozen=True)
class Fold:
    """A large network's table of weights and full δ panel, shown only when asked for: its
    thousands of cells, and hundreds of formulas, would make every step slow to swap in and
    lay out (folded, the δ panel writes MAX_NEURONS of each layer)."""

    count: int  # its rows, one a parameter
    shown: bool


@dataclass(frozen=True)
class Chain:
    selected: str
    options: tuple[str, ...]
    formula: Formula
    pending: str | None
    # With a batch of several samples, once computed: the update's ∂E/∂p (the batch's
    # mean) and the shown sample's share of it (its own ∂E/∂p over the batch size).
    batch_mean: str | None = None
    share: str | None = None


@dataclass(frozen=True)
class Settings:
    """How the network is trained, as the page edits it."""

    loss: Choice
    optimizer: Choice
    optimizer_options: tuple[Field | Choice, ...]  # torch's names, its defaults shown
    schedule: Choice
    schedule_options: tuple[Field | Choice, ...]
    batch_size: Field | None  # with a data set only
    shuffle: bool | None
    current_learning_rate: str  # the η of the next iteration
    classic_slip: bool  # the tutorial's slip, to set beside the correct iteration


@dataclass(frozen=True)
class Params:
    inputs: tuple[Field, ...]
    targets: tuple[Field, ...]
    learning_rate: Field
    update_biases: bool
    activations: tuple[Choice, ...]
    weights: tuple[Field, ...]
    biases: tuple[Field, ...]
    settings: Settings
    architecture: knobs.Architecture
    init: knobs.Initialiser
    data: knobs.DataEditor


@dataclass(frozen=True)
class Mark:
    """An iteration on the timeline of the network's history: jumping to it restores the
    last state that history holds of it."""

    id: str
    iteration: int  # as the status counts it (the iteration on show)
    label: str
    current: bool


@dataclass(frozen=True)
class Ran:
    """A live training's progress and loss curve."""

    status: str  # running, done, stopped, diverged, failed
    said: str  # the status in words
    progress: str  # iteration n of N, the epoch
    done: int
    total: int
    e_train: str  # E_total of the training set now
    e_test: str | None
    eta: str | None  # the η of the latest iteration
    curve: Curve
    curve_alt: str


@dataclass(frozen=True)
class Live:
    """The live training's controls: the form that starts one, or its Stop."""

    units: tuple[str, ...]  # what a training may count: iterations, and epochs of a data set
    count: int  # the count last asked for, in `unit`
    unit: str
    running: bool


@dataclass(frozen=True)
class Lab:
    id: str
    lang: str
    html_lang: str
    t: dict
    prefs: Prefs
    precisions: tuple[int, ...]
    # Each region's parts; None for a region not drawn (see `build`'s regions).
    status: Status | None
    steps: tuple[Step, ...] | None
    graph: Graph | None
    overlay: Overlay | None  # the edit fields over the graph
    explanation: Explanation | None
    deltas: tuple[Section, ...] | None
    rows: tuple[Row, ...] | None  # () while the table is folded
    fold: Fold | None  # None for a network small enough to always show its table
    state_columns: optimizer.Columns | None  # the optimiser's state, if it keeps any
    slip: slip.Slip | None  # with the classic slip on: its figures beside the correct ones
    chain: Chain | None
    timeline: tuple[Mark, ...] | None  # oldest first
    params: Params | None
    boundary: str | None  # the decision boundary's key (two inputs only): its picture's URL
    live: Live | None  # the live training's controls
    first: bool  # trained on a data set, or trained live: the boundary panel comes first
    run: Ran | None  # its progress and loss curve (None before any)
    eta: str | None  # η as shown
    message: str | None
    error: bool  # the message says what was refused
    invalid: Invalid | None  # the field that was refused, and what was typed into it
    owner: bool  # the viewer owns the network (else a read-only view that follows it)
    code: str  # the join code
    version: int  # of the network on show: a follow event with a later one redraws the lab
    batch: int  # samples in the batch on show
    sample: int  # the one whose figures are shown, from 0


def phase_label(phase: str, depth: int, t: dict) -> str:
    kind, _, k = phase.partition(":")
    if not k:
        return t[f"ph_{kind}"]
    layer = int(k)
    return t[f"ph_{kind}"].format(k=layer, kind=t["output"] if layer == depth else t["hidden"])


def build(
    session: Session,
    prefs: Prefs,
    lang: str,
    message: str | None = None,
    invalid: Invalid | None = None,
    error: bool = False,
    regions: Iterable[str] | None = None,
    owner: bool = True,
) -> Lab:
    """The lab for a session: all its regions, or only those named (see REGIONS); a
    follower's has no edit fields."""
    wanted = set(REGIONS if regions is None else regions) - (set() if owner else OWNERS_ONLY)
    t = TEXT[lang]
    stage = Stage.of(session, prefs.precision, prefs.sample)
    it = Iteration(stage.shown, stage.trace, prefs.precision)
    fields = Fields(stage.current, prefs.precision, invalid, t, stage.sample)
    selected = _selected(stage, prefs.selected)
    present = prefs.present == "on"
    count = len(stage.shown.network.param_names())
    fold = Fold(count, prefs.table == "on") if count > MAX_TABLE_ROWS else None
    columns = optimizer.columns(stage.current, prefs.state == "on", t)
    with_state = columns is not None and columns.shown
    slipped = stage.shown.training.classic_slip
    correct = slip.Correct(stage.shown) if slipped else None

    # While a training runs the iteration on show is never computed: its edges show the
    # weights as they change.
    colour = prefs.colour
    if session.run and session.phase == "ready" and session.run.running(time.time()):
        colour = "weight"

    def draw(region: str, part):
        return part() if region in wanted else None

    return Lab(
        id=session.id,
        lang=lang,
        html_lang=HTML_LANG[lang],
        t=t,
        prefs=prefs,
        precisions=PRECISIONS,
        status=draw("status", lambda: _status(session, stage, t, correct)),
        steps=draw("status", lambda: _steps(stage, t)),
        graph=draw("graph", lambda: build_graph(stage, colour, selected, t, present)),
        overlay=draw("fields", lambda: overlay(stage, fields, present)),
        explanation=draw("explain", lambda: _explanation(stage, it, t)),
        deltas=draw("deltas", lambda: _deltas(stage, it, t, fold is not None and not fold.shown)),
        rows=draw("weights", lambda: _rows(stage, with_state) if not fold or fold.shown else ()),
        fold=fold,
        state_columns=draw("weights", lambda: columns),
        slip=draw("deltas", lambda: slip.compare(stage, correct) if correct else None),
        chain=draw("chain", lambda: _chain(stage, it, selected, t)),
        timeline=draw("history", lambda: _timeline(session, t)),
        params=draw("params", lambda: _params(stage, fields, t)),
        boundary=draw("boundary", lambda: boundary.key(stage.current)),
        live=draw("live", lambda: _live(session)),
        first=session.run is not None or session.state.data.data is not None,
        run=draw("run", lambda: _run(session, prefs, t)),
        eta=draw("weights", lambda: fmt(stage.shown.training.learning_rate, prefs.precision)),
        message=message,
        error=error,
        invalid=invalid,
        owner=owner,
        code=session.code,
        version=session.version,
        batch=len(stage.trace.batch),  # type: ignore[arg-type]
        sample=stage.trace.sample or 0,
    )


def _live(session: Session, now: float | None = None) -> Live:
    """The live training's controls, from the network's run record."""
    data = session.state.data
    units = ("iterations", "epochs") if data.data is not None else ("iterations",)
    run = session.run
    if run is None:
        return Live(units, 1000, "iterations", False)
    unit = run.unit if run.unit in units else "iterations"
    return Live(units, run.count, unit, run.running(time.time() if now is None else now))


def _run(session: Session, prefs: Prefs, t: dict, now: float | None = None) -> Ran | None:
    """The live training's progress and loss curve (None before any)."""
    state, p, run = session.state, prefs.precision, session.run
    if run is None:
        return None
    status = run.to_data(time.time() if now is None else now)["status"]
    progress = t["run_progress"].format(done=run.done, total=run.total)
    if state.data.data is not None:
        per = batches_per_epoch(len(state.data.train[0]), state.training.batch_size)
        progress += " · " + t["run_epoch"].format(n=(run.start + run.done) // per)
    points = run.curve()
    last = points[-1]
    said = t[f"run_{status}"].format(at=run.diverged_at)
    if status == "done":
        before, after = fmt(run.start_loss, p), fmt(last[1], p)
        said = t["trained"].format(done=run.done, before=before, after=after)
    return Ran(
        status,
        said,
        progress,
        run.done,
        run.total,
        fmt(last[1], p),
        None if last[2] is None else fmt(last[2], p),
        None if run.learning_rate is None else fmt(run.learning_rate, p),
        curve(points, prefs.scale == "log", run.start + run.total),
        t["curve_alt"].format(first=fmt(points[0][1], 4), last=fmt(last[1], 4)),
    )


def _status(session: Session, stage: Stage, t: dict, correct: slip.Correct | None) -> Status:
    p = stage.precision
    iteration = session.iteration if stage.updated else session.iteration + 1
    e_total = fmt(stage.trace.forward.loss, p) if stage.loss else None
    e_after = fmt(traced(stage.current).forward.loss, p) if stage.updated else None
    e_correct = fmt(correct.loss_after, p) if e_after and correct else None
    label = phase_label(stage.phase, stage.depth, t)
    spoken = f"{t['iteration_n'].format(n=iteration)} · {label}"
    if e_total:
        spoken += f" · E_total = {e_total}" + (f" → {e_after}" if e_after else "")
    return Status(iteration, stage.phase, label, e_total, e_after, spoken, e_correct)


def _timeline(session: Session, t: dict) -> tuple[Mark, ...]:
    """One mark per iteration the history holds, the one on show marked."""
    h = session.history
    now = next((e.on_show for e in h.entries if e.seq == h.cursor), None)
    return tuple(
        Mark(ids.timeline_mark(n), n, t["iteration_n"].format(n=n), n == now)
        for n in sorted({e.on_show for e in h.entries})
    )


def _steps(stage: Stage, t: dict) -> tuple[Step, ...]:
    order = phases(stage.depth)
    now = order.index(stage.phase)
    return tuple(
        Step(ph, _pill(ph, t), phase_label(ph, stage.depth, t), k == now, k < now)
        for k, ph in enumerate(order)
    )


def _pill(phase: str, t: dict) -> str:
    kind, _, k = phase.partition(":")
    return t[f"pill_{kind}"].format(k=k) if k else t[f"ph_{kind}"]


def _explanation(stage: Stage, it: Iteration, t: dict) -> Explanation:
    phase, layers, depth = stage.phase, stage.shown.network.layers, stage.depth
    title = phase_label(phase, depth, t)
    kind, _, k = phase.partition(":")
    shown, more = _first_neurons(layers[int(k)], t, "more_neurons") if k else (0, None)
    if kind == "forward":
        l = int(k) - 1
        formulas = [f for j in range(shown) for f in (it.net(l, j), it.out(l, j))]
        section = Section(title, tuple(formulas), more=more)
        return Explanation(title, t["ex_forward"].format(k=k), (section,))
    if kind == "loss":
        formulas = [it.loss(j) for j in range(layers[-1])] + [it.e_total()]
        return Explanation(title, t["ex_loss"], (Section(title, tuple(formulas)),))
    if kind == "backward":
        l = int(k) - 1
        deltas = tuple(
            it.delta(l, j, True, ids.explain_item("delta", it.name(l + 1, j))) for j in range(shown)
        )
        grads = [partial(it.grad, l, j, i) for j in range(layers[l + 1]) for i in range(layers[l])]
        if stage.shown.training.update_biases:
            grads += [partial(it.bias_grad, l, j) for j in range(layers[l + 1])]
        text = t["ex_backward_output" if int(k) == depth else "ex_backward_hidden"]
        return Explanation(
            title, text, (Section("δ", deltas, more=more), _listed("∂E/∂w", grads, t))
        )
    if kind == "update":
        formulas = [it.update_rule]
        formulas += [
            partial(it.update, l, j, i)
            for l in range(depth)
            for j in range(layers[l + 1])
            for i in range(layers[l])
        ]
        text = t["ex_update"]
        if stage.shown.training.update_biases:
            text += " " + t["ex_update_biases"]
            formulas += [
                partial(it.bias_update, l, j) for l in range(depth) for j in range(layers[l + 1])
            ]
        return Explanation(title, text, (_listed(title, formulas, t),))
    return Explanation(title, t["ex_ready"], ())


def _deltas(stage: Stage, it: Iteration, t: dict, folded: bool = False) -> tuple[Section, ...]:
    """Every non-input neuron's δ, layer by layer from the output back (the order computed);
    folded, the first MAX_NEURONS of each layer."""
    layers, depth = stage.shown.network.layers, stage.depth
    sections = []
    for layer in range(depth, 0, -1):
        revealed = stage.backward(layer)
        shown, more = (
            _first_neurons(layers[layer], t, "more_deltas") if folded else (layers[layer], None)
        )
        formulas = tuple(
            it.delta(layer - 1, j, revealed, ids.delta(it.name(layer, j))) for j in range(shown)
        )
        title = phase_label(f"backward:{layer}", depth, t)
        pending = None if revealed else t["deltas_pending"]
        sections.append(Section(title, formulas, layer, pending, more))
    return tuple(sections)


def _rows(stage: Stage, with_state: bool = False) -> tuple[Row, ...]:
    """The table of weights; with the optimiser's state (the network's now) if asked for."""
    net, tr, p = stage.shown.network, stage.trace, stage.precision
    f, b, layers = tr.forward, tr.backward, net.layers

    def state(kind: str, l: int, *at: int) -> tuple[str, ...]:
        return optimizer.cells(stage.current, kind, l, at, p) if with_state else ()

    rows = []
    for l in range(net.depth):
        shown = stage.backward(l + 1)
        for j in range(layers[l + 1]):
            to = ids.neuron_name(layers, l + 1, j)
            delta = fmt(b.deltas[l][j], p) if shown else None
            for i in range(layers[l]):
                name = weight_name(layers, l, j, i)
                rows.append(
                    Row(
                        ids.grad_row(name),
                        name,
                        f"{ids.neuron_name(layers, l, i)} → {to}",
                        fmt(net.weights[l][j, i], p),
                        delta,
                        fmt(f.out[l][i], p) if stage.forward(l) else None,
                        fmt(b.weight_grads[l][j, i], p) if shown else None,
                        fmt(tr.weights[l][j, i], p) if stage.updated else None,
                        l + 1,
                        state("weights", l, j, i),
                    )
                )
        for j in range(layers[l + 1]):
            name = bias_name(l, j)
            new = None
            if stage.updated:
                new = fmt(tr.biases[l][j], p) if stage.shown.training.update_biases else "fixed"
            rows.append(
                Row(
                    ids.grad_row(name),
                    name,
                    f"{ids.bias_node_name(l)} → {ids.neuron_name(layers, l + 1, j)}",
                    fmt(net.biases[l][j], p),
                    fmt(b.deltas[l][j], p) if shown else None,
                    "1",
                    fmt(b.bias_grads[l][j], p) if shown else None,
                    new,
                    l + 1,
                    state("biases", l, j),
                )
            )
    return tuple(rows)


def _selected(stage: Stage, wanted: str) -> str:
    """The parameter whose chain rule is shown: the one chosen, if this network has it;
    else the first weight into the output layer (w5 in the classic network)."""
    layers = stage.shown.network.layers
    if wanted:
        try:
            parse_param_name(layers, wanted)
            return wanted
        except ValueError:
            pass
    return weight_name(layers, len(layers) - 2, 0, 0)


def _chain(stage: Stage, it: Iteration, selected: str, t: dict) -> Chain:
    kind, l, j, i = parse_param_name(stage.shown.network.layers, selected)
    revealed = stage.backward(l + 1)
    formula = it.chain(kind, l, j, i, revealed)
    pending = None if revealed else t["chain_pending"].format(layer=l + 1)
    names = tuple(stage.shown.network.param_names())
    tr, n = stage.trace, len(stage.trace.batch)  # type: ignore[arg-type]
    if n == 1 or not revealed:
        return Chain(selected, names, formula, pending)
    if kind == "weights":
        mean, own = tr.weight_grads[l][j, i], tr.backward.weight_grads[l][j, i]
    else:
        mean, own = tr.bias_grads[l][j], tr.backward.bias_grads[l][j]
    p = stage.precision
    return Chain(selected, names, formula, pending, fmt(mean, p), fmt(own / n, p))


def _params(stage: Stage, fields: Fields, t: dict) -> Params:
    net = stage.current.network
    layers = net.layers
    return Params(
        inputs=tuple(fields.input(j, "table") for j in range(layers[0])),
        targets=tuple(fields.target(j, "table") for j in range(layers[-1])),
        learning_rate=fields.learning_rate(),
        update_biases=stage.current.training.update_biases,
        activations=tuple(
            Choice(
                f"activation_{k + 1}",
                t["layer_n"].format(n=k + 1),
                name,
                tuple(
                    a for a in ACTIVATIONS if k == net.depth - 1 or not ACTIVATIONS[a].output_only
                ),
                ids.field(f"activation_{k + 1}", "table"),
            )
            for k, name in enumerate(net.activations)
        ),
        weights=tuple(fields.param(n, "table") for n in net.param_names() if n[0] == "w"),
        biases=tuple(fields.param(n, "table") for n in net.param_names() if n[0] == "b"),
        settings=_settings(stage, fields, t),
        architecture=knobs.architecture(stage.current, t, _error(fields, "layers")),
        init=knobs.initialiser(stage.current, fields, t),
        data=knobs.data(stage.current, fields, t, boundary.key(stage.current, heat=False)),
    )


def _error(fields: Fields, name: str) -> str | None:
    """Why the last edit of the field was refused, if it was."""
    invalid = fields.invalid
    return invalid.message if invalid and invalid.name == name else None


def _settings(stage: Stage, fields: Fields, t: dict) -> Settings:
    training, data = stage.current.training, stage.current.data

    def choice(name: str, value: str, options: Iterable[str]) -> Choice:
        return fields.choice(name, t.get(name, name), value, tuple(options))

    batched = data.data is not None
    size = "" if training.batch_size is None else str(training.batch_size)
    return Settings(
        loss=choice("loss", stage.current.network.loss, LOSSES),
        optimizer=choice("optimizer", training.optimizer["name"], OPTIMIZERS),
        optimizer_options=knobs.options(fields, "optimizer", training.optimizer),
        schedule=choice("schedule", training.schedule["name"], SCHEDULES),
        schedule_options=knobs.options(fields, "schedule", training.schedule),
        batch_size=fields.setting("batch_size", size) if batched else None,
        shuffle=training.shuffle if batched else None,
        current_learning_rate=fmt(training.current_learning_rate, stage.precision),
        classic_slip=training.classic_slip,
    )


# The regions of the lab, each a template with one root id, and the parts of the view
# each one draws. A step or an edit sends only the regions whose parts changed.
REGIONS: dict[str, tuple[str, ...]] = {
    "status": ("status", "steps", "message", "error"),
    "graph": ("graph",),
    "fields": ("overlay", "invalid"),
    "explain": ("explanation",),
    "deltas": ("deltas", "slip"),
    "chain": ("chain",),
    "weights": ("rows", "eta", "fold", "state_columns"),
    "history": ("timeline",),
    "params": ("params", "invalid"),
    "boundary": ("boundary",),
    "live": ("live",),
    "run": ("run",),
}
SHOWN_IN_PRESENTATION = ("status", "graph", "fields", "explain", "run")
ALWAYS = ("status", "graph", "explain")  # what a step or an edit nearly always changes
OWNERS_ONLY = {"fields", "params", "history"}  # a follower's view changes nothing


def shown(prefs: Prefs, owner: bool = True) -> tuple[str, ...]:
    """The regions the page shows: in presentation mode, only some; to a follower, no
    edit fields."""
    on_show = SHOWN_IN_PRESENTATION if prefs.present == "on" else tuple(REGIONS)
    return on_show if owner else tuple(r for r in on_show if r not in OWNERS_ONLY)


def to_redraw(
    before: Session | None,
    after: Session,
    prefs: Prefs,
    lang: str,
    typed: Invalid | None = None,
    owner: bool = True,
) -> list[str]:
    """The regions to redraw to go from the lab of `before` to that of `after`: see
    `changes`."""
    return changes(before, after, prefs, lang, typed, owner=owner)[0]


def changes(
    before: Session | None,
    after: Session,
    prefs: Prefs,
    lang: str,
    typed: Invalid | None = None,
    message: str | None = None,
    invalid: Invalid | None = None,
    error: bool = False,
    owner: bool = True,
) -> tuple[list[str], Lab]:
    """The regions to redraw to go from the lab of `before` to that of `after` (all of
    them without a before), and the lab of `after` that draws them (each part built
    once): those a step or an edit nearly always changes, and of the others those whose
    parts changed. In presentation mode only those it shows (leaving it redraws the whole
    page). The status always, also because it clears the message of the answer before.

    After an edit, `typed` is the field as the person left it: its fields need no
    redrawing if they already read as the new value would be written."""
    on_show = shown(prefs, owner)
    if before is None:
        return list(on_show), build(after, prefs, lang, message, invalid, error, on_show, owner)
    rest = [r for r in on_show if r not in ALWAYS]
    if typed is None and before.state is after.state:  # a phase step: the same fields
        rest = [r for r in rest if r not in ("fields", "params")]
    if before.run is after.run and before.state.data is after.state.data:
        rest = [r for r in rest if r not in ("live", "run")]  # drawn from those alone
    candidates = [r for r in on_show if r in ALWAYS or r in rest]
    new = build(after, prefs, lang, message, invalid, error, candidates, owner)
    old = build(before, prefs, lang, invalid=typed, regions=rest, owner=owner)
    parts = {r: [a for a in REGIONS[r] if a != "invalid"] for r in rest}
    changed = [r for r in rest if any(getattr(old, a) != getattr(new, a) for a in parts[r])]
    return [r for r in on_show if r in ALWAYS or r in changed], new
