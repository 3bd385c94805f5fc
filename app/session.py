"""A network being taught: its parameters, where the class is in the iteration, its history.

Every operation is a pure function from a Session to a new Session (and what to show),
so the store can apply it atomically: an operation that raises changes nothing.
"""

import threading
import weakref
from collections import OrderedDict
from dataclasses import dataclass, replace
from functools import cached_property
from typing import Any

import numpy as np
import orjson

from app.engine import (
    PRESETS,
    InvalidInput,
    State,
    Trace,
    TrainResult,
    init,
    iterate,
    parse_param_name,
    trace,
)
from app.engine.data import batch_rows, batches_per_epoch
from app.engine.iterate import loss as set_loss
from app.engine.phase import phases
from app.engine.state import NAMES
from app.refusal import Refused

MAX_ITERATIONS = 100_000
MAX_LOSS_POINTS = 1000
# The work one training may ask, iterations × work(network): about 2 s on the build machine
# (2 cores) whatever the network's shape (benchmarks/flood.py measures it).
LAYER_WORK = 1000
WORK_PER_SECOND = 40_000_000
MAX_WORK = 2 * WORK_PER_SECOND


@dataclass(frozen=True)
class Entry:
    """One change in a network's history: the state it left, and what made it."""

    seq: int  # counts the changes since the network was created, from 1 (its creation)
    iteration: int
    phase: str
    action: str  # create, edit, next, prev, step, train, reset

    @cached_property
    def raw(self) -> bytes:
        """As the store keeps it, beside its state."""
        return orjson.dumps([self.seq, self.iteration, self.phase, self.action])

    @property
    def on_show(self) -> int:
        """The iteration on show in this state, from 1 (as the page's status counts)."""
        return self.iteration if self.phase == "update" else self.iteration + 1


@dataclass(frozen=True)
class History:
    cursor: int = 1  # the seq of the state on show; entries after it can be redone
    entries: tuple[Entry, ...] = ()

    @property
    def can_undo(self) -> bool:
        return bool(self.entries) and self.cursor > self.entries[0].seq

    @property
    def can_redo(self) -> bool:
        return bool(self.entries) and self.cursor < self.entries[-1].seq

    def last_of(self, iteration: int) -> int | None:
        """The seq of the last entry showing that iteration, if any."""
        seqs = [e.seq for e in self.entries if e.on_show == iteration]
        return seqs[-1] if seqs else None

    def then(self, cursor: int, start: int, stop: int, entry: Entry | None = None) -> "History":
        """entries[start:stop] (and `entry` after them), the cursor at `cursor`."""
        kept = self.entries[start:stop]
        return History(cursor, (*kept, entry) if entry else kept)


@dataclass(frozen=True)
class Session:
    state: State  # the state now (after the update, in phase "update")
    initial: State  # as created, for reset
    id: str = ""
    iteration: int = 0  # updates applied so far
    phase: str = "ready"
    previous: State | None = None  # before the last update, while it can be stepped back
    # Kept by the store: the join code, the document's version (one more each change),
    # the owner token's hash, and the history of changes.
    code: str = ""
    version: int = 0
    owner: str = ""
    history: History = History()
    run: "Run | None" = None  # the latest live training, while it runs and after

    @property
    def shown(self) -> State:
        """The state whose iteration is on show: before the update while in "update"."""
        return self.previous if self.phase == "update" and self.previous else self.state

    def trace(self, sample: int = 0) -> Trace:
        """The iteration on show, of one sample of its batch (the last, if there are fewer)."""
        t = traced(self.shown)
        return t.at(min(sample, len(t.batch) - 1))  # type: ignore[arg-type]

    def to_data(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "code": self.code,
            "version": self.version,
            "iteration": self.iteration,
            "phase": self.phase,
            **self.state.to_data(),
        }


class Traces:
    """The traces the operations computed, for what comes after them in the same request
    (the page draws the iteration a step has just computed): a few, the latest, each by
    its state's identity (a state never changes). Not in the store's cache of sessions,
    so that memory holds no more than these few whatever the number of networks."""

    def __init__(self, size: int = 8):
        self._size = size
        self._recent: OrderedDict[int, tuple[weakref.ref, Trace]] = OrderedDict()
        self._guard = threading.Lock()

    def __call__(self, state: State) -> Trace:
        with self._guard:
            found = self._recent.get(id(state))
            if found and found[0]() is state:
                self._recent.move_to_end(id(state))
                return found[1]
        return self.keep(state, trace(state))

    def keep(self, state: State, t: Trace) -> Trace:
        with self._guard:
            self._recent[id(state)] = (weakref.ref(state), t)
            self._recent.move_to_end(id(state))
            while len(self._recent) > self._size:
                self._recent.popitem(last=False)
        return t


traced = Traces()  # the iteration of a state: computed once, while it is recent


def create(data: dict[str, Any]) -> Session:
    """A session from a preset and/or a full state (the fields given override the preset's)."""
    preset = data.get("preset")
    base: dict[str, Any] = {}
    if preset is not None:
        if preset not in PRESETS:
            raise InvalidInput("preset", f"unknown preset {preset!r} ({', '.join(PRESETS)})")
        base = dict(PRESETS[preset])
        if "layers" in data and data["layers"] != base["layers"]:
            base = {k: v for k, v in base.items() if k not in ("weights", "biases", "activations")}
    fields = {k: v for k, v in data.items() if k in NAMES and v is not None}
    state = _checked(State.from_data(base | fields), "weights")
    return Session(state=state, initial=state)


# Changing how it is trained starts the optimiser and the schedule afresh (torch: a new
# optimizer and scheduler); an edit of a weight, an input or a target keeps them.
RESTARTS = ("learning_rate", "update_biases", "optimizer", "schedule", "data", "batch_size")
RESTARTS += ("shuffle", "classic_slip", "layers", "init", "seed")
# A change of these draws the weights and biases afresh (those not given with it).
REDRAW = ("init", "seed")


def patch(session: Session, changes: dict[str, Any]) -> Session:
    """Edit any subset of the state; weights and biases also as a map by name ({"w5": 0.3}).
    `"data": null` goes back from a data set to one sample (inputs and targets)."""
    unset = {k for k in ("data", "batch_size") if k in changes and changes[k] is None}
    changes = {k: v for k, v in changes.items() if v is not None}
    by_name = {k: changes.pop(k) for k in ("weights", "biases") if isinstance(changes.get(k), dict)}
    data = session.state.to_data()
    for key in unset:
        data[key] = None
    if "data" in changes:  # a data set instead of the one sample
        data["inputs"] = data["targets"] = None
    old = {k: data.get(k) for k in RESTARTS}
    if any(k in changes and _differs(k, changes[k], old[k]) for k in RESTARTS) or unset:
        data["optimizer_state"] = data["current_learning_rate"] = None
    reshaped = "layers" in changes and tuple(changes["layers"]) != session.state.network.layers
    if reshaped:
        # New shape: parameters not given are drawn afresh, activations kept where they fit.
        for key in ("weights", "biases", "seed"):
            data.pop(key)
        if "activations" not in changes and isinstance(changes["layers"], list | tuple):
            data["activations"] = _refitted(data["activations"], len(changes["layers"]) - 1)
    redrawn = not reshaped and any(k in changes and _differs(k, changes[k], old[k]) for k in REDRAW)
    if redrawn:  # another initialiser or seed: a new draw of the parameters not given
        data.pop("weights")
        data.pop("biases")
    data.update(changes)
    if by_name:
        if reshaped or redrawn:
            data = State.from_data(data).to_data()  # draw the new shape's parameters first
        for key, values in by_name.items():
            data = _set_by_name(data, tuple(data["layers"]), key, values)
    state = _checked(State.from_data(data), next(iter(changes | by_name), "weights"))
    if reshaped or session.phase == "update":
        # A new shape, or the iteration on show no longer matches: start the next one afresh.
        return replace(session, state=state, phase="ready", previous=None)
    return replace(session, state=state)


def _refitted(activations: list[str], depth: int) -> list[str]:
    """The activations for `depth` layers: the output's kept, the hidden layers' in order
    (the last hidden one repeated for new layers; sigmoid if there was none)."""
    if depth < 1:
        return []
    hidden = list(activations[:-1]) or ["sigmoid"]
    return [*(hidden + [hidden[-1]] * depth)[: depth - 1], activations[-1]]


def _differs(key: str, new: Any, old: Any) -> bool:
    """Whether a changed init or seed differs from the state's (an init as completed by
    its defaults: {"name": "uniform"} is the same as {"name": "uniform", "a": 0.5})."""
    if key == "init":
        try:
            new = init.check(new)
        except InvalidInput:
            return True  # refused by the state's own check, naming the field
    return new != old


def _set_by_name(data: dict, layers: tuple[int, ...], key: str, values: dict) -> dict:
    data = dict(data)
    arrays = [np.array(a, dtype=np.float64) for a in data[key]]
    for name, value in values.items():
        try:
            kind, l, j, i = parse_param_name(layers, name)
        except InvalidInput as e:
            raise InvalidInput(f"{key}.{name}", e.message) from None
        if kind != key:
            raise InvalidInput(f"{key}.{name}", f"{name} is not one of the {key}")
        if isinstance(value, bool) or not isinstance(value, int | float) or not np.isfinite(value):
            raise InvalidInput(f"{key}.{name}", "must be a finite number")
        if kind == "weights":
            arrays[l][j, i] = value
        else:
            arrays[l][j] = value
    data[key] = [a.tolist() for a in arrays]
    return data


def _checked(state: State, field: str) -> State:
    """The state, if its iteration's numbers are all finite (JSON has no NaN)."""
    if not traced(state).finite:
        raise InvalidInput(field, "these values overflow: the iteration's numbers are not finite")
    return state


def step(session: Session) -> tuple[Session, tuple[Trace, Trace]]:
    """One whole iteration from the parameters now; the phase ends on "update".

    Returns the new session with the iteration's trace and the trace after it.
    """
    t = traced(session.state)
    following = iterate(session.state, t)
    if following is None:
        raise InvalidInput("learning_rate", "the update overflows: its numbers are not finite")
    after, t_after = following
    traced.keep(after, t_after)
    stepped = replace(
        session,
        state=after,
        previous=session.state,
        iteration=session.iteration + 1,
        phase="update",
    )
    return stepped, (t, t_after)


def next_phase(session: Session) -> Session:
    order = phases(session.state.network.depth)
    if session.phase == "update":
        return replace(session, phase=order[1])
    following = order[order.index(session.phase) + 1]
    if following == "update":
        return step(session)[0]
    return replace(session, phase=following)


def prev_phase(session: Session) -> Session:
    order = phases(session.state.network.depth)
    if session.phase == "update":
        return replace(
            session,
            state=session.previous or session.state,
            previous=None,
            iteration=session.iteration - 1,
            phase=order[-2],
        )
    if session.phase == order[1] and session.previous is not None:
        return replace(session, phase="update")
    return replace(session, phase=order[max(order.index(session.phase) - 1, 0)])


@dataclass(frozen=True)
class Training:
    losses: list[float]  # E_total after each iteration, thinned to ≤ MAX_LOSS_POINTS
    loss_iterations: list[int]  # the iteration each of `losses` was taken after
    diverged_at: int | None
    test_losses: list[float] = ()  # type: ignore[assignment]  # of the test set, if any
    learning_rates: list[float] = ()  # type: ignore[assignment]  # the η of each iteration


def checked_iterations(state: State, iterations: object, field: str = "iterations") -> int:
    """The count, if one training of `state` may run that many iterations (or epochs, with
    field "epochs": as many iterations as their batches)."""
    if isinstance(iterations, bool) or not isinstance(iterations, int):
        raise InvalidInput(field, "must be a whole number")
    per = 1
    if field == "epochs":
        t = state.training
        per = batches_per_epoch(len(state.data.train[0]), t.batch_size)
    if not 1 <= iterations * per <= MAX_ITERATIONS:
        raise InvalidInput(field, f"must be from 1 to {MAX_ITERATIONS // per}")
    most = MAX_WORK // work(state) // per
    if iterations > most:
        raise InvalidInput(
            field, f"at most {most} for this network (the work one training may ask)"
        )
    return iterations * per


def work(state: State) -> int:
    """What one iteration of `state` costs, in units of about 0.02 µs on the build machine.

    numpy's overhead per call makes each layer cost about as much as LAYER_WORK parameters
    (benchmarks/flood.py measures it), so a small network is not nearly free.
    """
    network, data, t = state.network, state.data, state.training
    parameters = sum(w.size for w in network.weights) + sum(b.size for b in network.biases)
    n = len(data.train[0])
    rows = batch_rows(n, t.batch_size)  # the batch's, forward and backward
    if data.data is not None and t.batch_size is not None:  # and the loss of the whole set
        rows += n
    if data.test is not None:
        rows += len(data.test[0])
    return (parameters + sum(network.layers)) * rows + LAYER_WORK * len(network.layers)


def trained(session: Session, result: TrainResult) -> tuple[Session, Training]:
    """The session after a training of its network (the engine's result), and its losses."""
    done = len(result.losses)
    keep = range(done)
    if done > MAX_LOSS_POINTS:  # evenly thinned, first and last kept (steps > 1: no repeats)
        keep = np.linspace(0, done - 1, MAX_LOSS_POINTS).round().astype(int).tolist()
    after = replace(
        session,
        state=result.state,
        iteration=session.iteration + done,
        phase="ready",
        previous=None,
    )
    diverged_at = None if result.diverged_at is None else session.iteration + result.diverged_at
    return after, Training(
        [result.losses[k] for k in keep],
        [session.iteration + 1 + k for k in keep],
        diverged_at,
        [result.test_losses[k] for k in keep] if result.test_losses else [],
        [result.learning_rates[k] for k in keep],
    )


def reset(session: Session) -> Session:
    run = stopped(session.run)
    return replace(
        session, state=session.initial, iteration=0, phase="ready", previous=None, run=run
    )


def fork(session: Session) -> Session:
    """A private copy of the network as it is now, at the same point of the same iteration
    (its own history and owner are the store's to give)."""
    return Session(
        state=session.state,
        initial=session.initial,
        iteration=session.iteration,
        phase=session.phase,
        previous=session.previous,
    )


# A live training: many iterations run a chunk at a time (each about CHUNK_SECONDS of work),
# each chunk stored as it ends, so that the page and its followers watch it, and a stop or
# an edit takes effect within a chunk. Its record is part of the network's document (not
# of a history state): any worker can draw it, stop it, or see that it stopped.
CHUNK_SECONDS = 0.15
MAX_RUN_SECONDS = 120  # of work one live training may ask
LIVE_POINTS = 500  # of its loss curve, evenly spaced (the stride doubles as it grows)
STALE = 15.0  # s without a chunk while running: the server that ran it has stopped
UNITS = ("iterations", "epochs")
Point = tuple[int, float, float | None]  # (iteration, E_total of the training set, of the test)


@dataclass(frozen=True)
class Run:
    id: str
    unit: str  # as asked: "iterations" or "epochs"
    count: int  # as asked, in its unit
    total: int  # iterations
    start: int  # the network's iteration when it started
    beat: float  # when it started, then when its latest chunk was stored
    start_loss: float  # E_total of the training set before it
    start_test_loss: float | None = None  # and of the test set, if any
    done: int = 0  # iterations so far
    # running; done; stopped (by its owner, a reset, an undo or a jump, or the server
    # stopping); diverged; failed (its server stopped without a word: no chunk for STALE s)
    status: str = "running"
    stride: int = 1
    points: tuple[Point, ...] = ()  # every stride-th iteration's losses
    last: Point | None = None  # the latest iteration's
    learning_rate: float | None = None  # the η of its latest iteration
    diverged_at: int | None = None

    def running(self, now: float) -> bool:
        return self.status == "running" and now - self.beat < STALE

    def curve(self) -> tuple[Point, ...]:
        """The loss curve: from before the run, every stride-th iteration, and the latest."""
        first: Point = (self.start, self.start_loss, self.start_test_loss)
        tail = (
            (self.last,) if self.last and (not self.points or self.points[-1] != self.last) else ()
        )
        return (first, *self.points, *tail)

    def to_data(self, now: float) -> dict[str, Any]:
        curve = self.curve()
        return {
            "id": self.id,
            "status": self.status if self.status != "running" or self.running(now) else "failed",
            "unit": self.unit,
            "count": self.count,
            "iterations": self.total,
            "done": self.done,
            "start": self.start,
            "learning_rate": self.learning_rate,
            "diverged_at": self.diverged_at,
            "loss_iterations": [p[0] for p in curve],
            "losses": [p[1] for p in curve],
            "test_losses": [p[2] for p in curve] if self.start_test_loss is not None else [],
        }


def live(session: Session, unit: object, count: object, now: float, id: str) -> Session:
    """The session with a live training of `count` iterations or epochs started (not yet
    run): refused while another one runs."""
    if unit not in UNITS:
        raise InvalidInput("unit", f"must be one of {', '.join(UNITS)}")
    if session.run and session.run.running(now):
        raise Refused("run", "a training is already running: stop it first", 409)
    if isinstance(count, bool) or not isinstance(count, int):
        raise InvalidInput(unit, "must be a whole number")  # type: ignore[arg-type]
    per = 1
    if unit == "epochs":
        per = batches_per_epoch(len(session.state.data.train[0]), session.state.training.batch_size)
    if not 1 <= count * per <= MAX_ITERATIONS:
        raise InvalidInput(unit, f"must be from 1 to {MAX_ITERATIONS // per}")  # type: ignore[arg-type]
    most = MAX_RUN_SECONDS * WORK_PER_SECOND // work(session.state) // per
    if count > most:
        why = f"at most {most} for this network (about {MAX_RUN_SECONDS} s of work)"
        raise InvalidInput(unit, why)  # type: ignore[arg-type]
    data = session.state.data
    start_loss = float(set_loss(session.state, data.train))
    start_test = None if data.test is None else float(set_loss(session.state, data.test))
    total = count * per
    run = Run(id, unit, count, total, session.iteration, now, start_loss, start_test)  # type: ignore[arg-type]
    return replace(session, run=run)


def chunk(session: Session) -> int:
    """How many iterations the run's next chunk takes: about CHUNK_SECONDS of work."""
    run = session.run
    assert run is not None
    most = max(1, int(CHUNK_SECONDS * WORK_PER_SECOND) // work(session.state))
    return min(run.total - run.done, most)


def ran(session: Session, result: TrainResult, now: float) -> Session:
    """The session after one chunk of its run (the engine's result)."""
    run = session.run
    assert run is not None
    after, _ = trained(session, result)
    done = run.done + len(result.losses)
    stride, points = run.stride, list(run.points)
    tests = result.test_losses or [None] * len(result.losses)
    for k, (e, e_test) in enumerate(zip(result.losses, tests, strict=True)):
        n = run.done + k + 1  # iterations into the run
        if n % stride == 0:
            points.append((run.start + n, e, e_test))
            if len(points) > LIVE_POINTS:  # every other one kept: twice the stride
                stride *= 2
                points = [p for p in points if (p[0] - run.start) % stride == 0]
    last = (run.start + done, result.losses[-1], tests[-1]) if result.losses else run.last
    status = "diverged" if result.diverged_at is not None else "running"
    if status == "running" and done >= run.total:
        status = "done"
    progressed = replace(
        run,
        done=done,
        status=status,
        beat=now,
        stride=stride,
        points=tuple(points),
        last=last,
        learning_rate=result.learning_rates[-1] if result.learning_rates else run.learning_rate,
        diverged_at=None
        if result.diverged_at is None
        else run.start + run.done + result.diverged_at,
    )
    return replace(after, run=progressed)


def stopped(run: Run | None, status: str = "stopped") -> Run | None:
    """The run, stopped (if it was running)."""
    return replace(run, status=status) if run and run.status == "running" else run


def stop(session: Session) -> Session:
    return replace(session, run=stopped(session.run))
