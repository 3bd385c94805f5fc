"""A network as stored: one versioned JSON document, and each entry of its history with
the state it restores.

The document carries a schema number, so that a later field (an optimiser's state, a
data set) is a migration of older documents, not a break: `decode` upgrades a document
through `MIGRATIONS` one schema at a time. A state is what one entry of the history
restores: the parameters now, the iteration, the phase and the parameters before the
last update. An entry (`Entry.raw`: seq, iteration, phase, action) is stored beside its
state, not in the document: the document is written whole at every change, and the 200
entries were 5.4 KB of its 7.4 (see `SCHEMA`).
"""

from collections.abc import Callable, Iterable
from dataclasses import replace
from typing import Any

import orjson

from app.engine import State
from app.session import Entry, History, Run, Session

SCHEMA = 3
# Schema 2 (issue 8): how a network is trained became part of its state. A schema-1
# network learnt by plain gradient descent, at one η, from its one sample, its weights
# drawn uniformly in ±0.5; its optimiser had no state (sgd without momentum keeps none).
TRAINED_AS_SCHEMA_1 = {
    "init": {"name": "uniform", "a": 0.5},
    "optimizer": {"name": "sgd"},
    "schedule": {"name": "constant"},
    "batch_size": None,
    "shuffle": False,
}


def _to_schema_2(doc: dict[str, Any]) -> dict[str, Any]:
    def trained(state: dict[str, Any] | None) -> dict[str, Any] | None:
        return None if state is None else TRAINED_AS_SCHEMA_1 | state

    s = doc["state"]
    return doc | {
        "initial": trained(doc["initial"]),
        "state": s | {"network": trained(s["network"]), "previous": trained(s["previous"])},
    }


# Schema 3: the history's entries are stored with their states, the document keeps its
# cursor alone. A document of an earlier schema still holds its entries: `decode` reads
# them from it (the backend stores them apart once the network changes, or when its own
# layout is brought up to date: app/store/sqlite.py, app/store/redis.py).
def _to_schema_3(doc: dict[str, Any]) -> dict[str, Any]:
    return doc


# MIGRATIONS[n] turns a schema-n document into a schema-(n+1) one. A history state (stored
# apart, without a schema number) is read with the fields' defaults, which are schema 1's.
MIGRATIONS: dict[int, Callable[[dict[str, Any]], dict[str, Any]]] = {
    1: _to_schema_2,
    2: _to_schema_3,
}


class Unreadable(ValueError):
    """A stored document this code cannot read (from a newer schema, or damaged)."""


def _state(session: Session) -> dict[str, Any]:
    return {
        "network": session.state.to_data(),
        "iteration": session.iteration,
        "phase": session.phase,
        "previous": None if session.previous is None else session.previous.to_data(),
    }


def restore(session: Session, data: dict[str, Any]) -> Session:
    """The session in the given state (the rest, its identity and history, kept)."""
    previous = data["previous"]
    return replace(
        session,
        state=State.from_data(data["network"]),
        iteration=data["iteration"],
        phase=data["phase"],
        previous=None if previous is None else State.from_data(previous),
    )


def encode_state(session: Session) -> bytes:
    return orjson.dumps(_state(session))


def decode_state(session: Session, raw: bytes) -> Session:
    return restore(session, orjson.loads(raw))


def encode(session: Session, state: bytes | None = None) -> bytes:
    """The document; `state`, if given, is `encode_state(session)` already made (a change
    makes it for its history entry: written into the document as it is, not again). The
    history's entries are not in it: each is stored with its state."""
    return orjson.dumps(
        {
            "schema": SCHEMA,
            "id": session.id,
            "code": session.code,
            "owner": session.owner,
            "initial": session.initial.to_data(),
            "state": _state(session) if state is None else orjson.Fragment(state),
            "history": {"cursor": session.history.cursor},
            # orjson writes the dataclass itself: dataclasses.asdict's deep copy of a
            # 500-point curve took 4 ms a write, this 40 µs.
            "run": session.run,
        }
    )


def _run(data: dict[str, Any] | None) -> Run | None:
    """A live training's record (absent from documents stored before there were any)."""
    if data is None:
        return None
    last = data["last"]
    points = tuple(tuple(p) for p in data["points"])
    return Run(**data | {"points": points, "last": None if last is None else tuple(last)})


def decode(raw: bytes, version: int, entries: Iterable[bytes] = ()) -> Session:
    """The session of a document and its history's entries as stored (`Entry.raw`, in any
    order; a document of schema 2 or earlier holds its own, and those are read)."""
    try:
        doc = orjson.loads(raw)
        schema = doc.get("schema")
        if not isinstance(schema, int) or schema > SCHEMA:
            raise Unreadable(f"document schema {schema!r}; this code reads up to {SCHEMA}")
        while schema < SCHEMA:
            doc = MIGRATIONS[schema](doc)
            schema = doc["schema"] = schema + 1
        initial = State.from_data(doc["initial"])
        h = doc["history"]
        session = Session(
            state=initial,
            initial=initial,
            id=doc["id"],
            code=doc["code"],
            owner=doc["owner"],
            version=version,
            history=_history(h["cursor"], h.get("entries") or [orjson.loads(e) for e in entries]),
            run=_run(doc.get("run")),
        )
        return restore(session, doc["state"])
    except Unreadable:
        raise
    except (KeyError, TypeError, ValueError) as e:
        raise Unreadable(f"damaged document: {e!r}") from None


def _history(cursor: int, entries: list[list[Any]]) -> History:
    kept = sorted((Entry(*e) for e in entries), key=lambda e: e.seq)
    if not kept or not kept[0].seq <= cursor <= kept[-1].seq:
        raise ValueError(f"history: cursor {cursor} outside its entries")
    return History(cursor, tuple(kept))
