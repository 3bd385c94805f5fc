"""The SQLite backend's own behaviour beyond the store's contract (tests/test_store.py):
the writes made at once on one event loop share one commit, and each stands alone; a file
of an earlier layout is brought to the newest one, its networks and history kept."""

import asyncio
import sqlite3

import orjson
import pytest

from app.session import create, next_phase, patch
from app.store import Store
from app.store.events import LocalBus
from app.store.sqlite import SQLiteBackend
from tests.conftest import run_async


@pytest.fixture
def backend(tmp_path):
    made = SQLiteBackend(tmp_path / "store.db")
    commits = []
    tx = made._tx

    def counted():
        commits.append(1)
        return tx()

    made._tx = counted
    made.commits = commits
    yield made
    made.close()


def test_changes_made_at_once_on_one_event_loop_share_a_commit(backend):
    store = Store(backend, LocalBus())
    ids = [store.add(create({"preset": "classic"}))[0].id for _ in range(10)]
    backend.commits.clear()

    async def all_at_once():
        step = lambda s: (next_phase(s), None)  # noqa: E731
        return await asyncio.gather(*(store.aupdate(id, step, "next") for id in ids))

    changed = run_async(all_at_once())
    # One commit, or a few: two ids may share a lock of the store's (striped), and the
    # second's change then waits for the first's commit. Alone, each was a commit.
    assert len(backend.commits) <= 3
    assert [s.version for s, _ in changed] == [2] * 10
    fresh = Store(SQLiteBackend(backend.path), LocalBus())  # nothing cached: as stored
    assert (
        [fresh.get(id).phase for id in ids] == [s.phase for s, _ in changed] == ["forward:1"] * 10
    )
    fresh.close()


def test_each_write_of_a_shared_commit_is_compared_and_fails_alone(backend):
    store = Store(backend, LocalBus())
    ids = [store.add(create({"preset": "classic"}))[0].id for _ in range(3)]
    docs = {id: backend.read(id)[1] for id in ids}

    async def together():
        grouped = backend.aio()
        return await asyncio.gather(
            grouped.write(ids[0], 1, docs[ids[0]], (2, b"{}", b'[2,1,"ready","next"]'), (), 60.0),
            grouped.write(
                ids[1], 7, docs[ids[1]], (2, b"{}", b'[2,1,"ready","next"]'), (), 60.0
            ),  # a stale version
            grouped.write(
                ids[2], 1, docs[ids[2]], (2, object(), b'[2,1,"ready","next"]'), (), 60.0
            ),  # cannot be stored
            return_exceptions=True,
        )

    written, stale, failed = run_async(together())
    assert written is True and stale is False and isinstance(failed, Exception)
    assert [backend.version(id) for id in ids] == [2, 1, 1]  # the failed one rolled back whole
    assert backend.state(ids[0], 2) == b"{}" and backend.state(ids[2], 2) is None


# The networks table as every earlier layout had it (unchanged since the sixth session).
NETWORKS = """
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    expires REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX networks_expires ON networks (expires);
"""
# The first layout, as the sixth to eighth sessions' servers wrote it (no user_version).
FIRST_LAYOUT = (
    NETWORKS
    + """
CREATE TABLE states (
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
"""
)
# Layout 1, as the ninth session's servers wrote it.
SECOND_LAYOUT = (
    NETWORKS
    + """
CREATE TABLE states (id TEXT NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL);
CREATE UNIQUE INDEX states_seq ON states (id, seq);
PRAGMA user_version = 1;
"""
)
# Layout 2, as the tenth session's servers wrote it (documents of schema 3).
THIRD_LAYOUT = (
    NETWORKS
    + """
CREATE TABLE states (id TEXT NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL, entry BLOB);
CREATE UNIQUE INDEX states_seq ON states (id, seq);
PRAGMA user_version = 2;
"""
)


def _old_file(tmp_path, layout: str):
    """A file of an earlier layout holding two networks stepped five times: written by
    today's code, then moved into that layout's tables, each document as that layout's
    servers wrote it (before layout 2, schema 2: its history's entries in it). The
    networks, and each one's phases in turn."""
    made = SQLiteBackend(tmp_path / "made.db")
    store = Store(made, LocalBus())
    networks = {}
    for _ in range(2):
        s, _ = store.add(create({"preset": "classic"}))
        phases = [s.phase]
        for _ in range(5):
            phases.append(store.update(s.id, lambda x: (next_phase(x), None), "next")[0].phase)
        networks[s.id] = phases
    made.close()
    path = tmp_path / "old.db"
    old = sqlite3.connect(path)
    old.executescript(layout)
    old.execute("ATTACH ? AS made", (str(tmp_path / "made.db"),))
    for id, version, expires, code, raw in old.execute(
        "SELECT id, version, expires, code, doc FROM made.networks"
    ).fetchall():
        if layout != THIRD_LAYOUT:
            doc = orjson.loads(raw)
            entries = old.execute(
                "SELECT entry FROM made.states WHERE id = ? ORDER BY seq", (id,)
            ).fetchall()
            doc["schema"] = 2
            doc["history"]["entries"] = [orjson.loads(e) for (e,) in entries]
            raw = orjson.dumps(doc)
        old.execute(
            "INSERT INTO networks VALUES (?, ?, ?, ?, ?)", (id, code, version, expires, raw)
        )
    if layout == THIRD_LAYOUT:
        old.execute("INSERT INTO states SELECT id, seq, state, entry FROM made.states")
    else:
        old.execute("INSERT INTO states SELECT id, seq, state FROM made.states")
    old.commit()
    old.close()
    return path, networks


@pytest.mark.parametrize(
    "layout", [FIRST_LAYOUT, SECOND_LAYOUT, THIRD_LAYOUT], ids=["first", "second", "third"]
)
def test_a_file_of_an_earlier_layout_keeps_its_networks_and_their_history(tmp_path, layout):
    path, networks = _old_file(tmp_path, layout)
    db = sqlite3.connect(path)
    states = db.execute("SELECT id, seq, state FROM states ORDER BY id, seq").fetchall()
    docs = dict(db.execute("SELECT id, doc FROM networks").fetchall())
    made = sqlite3.connect(tmp_path / "made.db")
    by_seq = "SELECT entry FROM states WHERE id = ? ORDER BY seq"
    entries = {id: [e for (e,) in made.execute(by_seq, (id,))] for id in docs}
    made.close()
    db.close()
    assert len(states) == 12
    for _ in range(2):  # opened again: nothing more to do
        backend = SQLiteBackend(path, history=4)  # a narrower store: the ring stays 6 wide
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 3
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'states'").fetchone()
        assert "WITHOUT ROWID" not in sql.upper()
        got = db.execute("SELECT id, seq, state FROM states ORDER BY id, seq").fetchall()
        assert got == states
        # Each state in its slot of a ring as wide as the widest history held.
        assert db.execute("SELECT size FROM ring").fetchall() == [(6,)] and backend.ring == 6
        slots = db.execute("SELECT seq, slot FROM states").fetchall()
        assert all(slot == seq % 6 for seq, slot in slots)
        # Each entry beside its state, as today's code writes it; the documents untouched
        # until the network changes.
        for id in docs:
            held = sorted(backend.read(id)[2], key=lambda e: orjson.loads(e)[0])
            assert held == entries[id] and len(held) == 6
        assert dict(db.execute("SELECT id, doc FROM networks").fetchall()) == docs
        db.close()
        backend.close()
    store = Store(SQLiteBackend(path), LocalBus())  # as wide as the store's 200: widened
    for id, phases in networks.items():
        s = store.get(id)
        assert s.phase == phases[-1] and [e.seq for e in s.history.entries] == [1, 2, 3, 4, 5, 6]
        assert store.travel(id, "undo").phase == phases[-2]  # from a moved state
        s = store.travel(id, "redo")
        assert s.phase == phases[-1]
        doc = orjson.loads(store.backend.read(id)[1])  # written anew: schema 3
        assert doc["schema"] == 3 and doc["history"] == {"cursor": 6}
    store.close()
    fresh = Store(SQLiteBackend(path), LocalBus())
    assert fresh.backend.ring == 200
    for id, phases in networks.items():
        s = fresh.get(id)
        assert [e.phase for e in s.history.entries] == phases and s.history.cursor == 6
        assert [fresh.travel(id, "undo").phase for _ in range(5)] == phases[-2::-1]
    fresh.close()


def _rows(backend, id):
    db = sqlite3.connect(backend.path)
    rows = db.execute("SELECT seq, slot FROM states WHERE id = ? ORDER BY seq", (id,)).fetchall()
    db.close()
    return rows


def test_a_change_whose_history_is_full_writes_its_state_over_the_oldest(tmp_path):
    backend = SQLiteBackend(tmp_path / "store.db", history=3)
    store = Store(backend, LocalBus(), history=3)
    s, _ = store.add(create({"preset": "classic"}))
    for _ in range(5):
        s, _ = store.update(s.id, lambda x: (next_phase(x), None), "next")
    assert _rows(backend, s.id) == [(4, 1), (5, 2), (6, 0)]
    db = sqlite3.connect(backend.path)
    rowids = db.execute("SELECT rowid FROM states WHERE id = ?", (s.id,)).fetchall()
    store.update(s.id, lambda x: (next_phase(x), None), "next")
    # The same three rows: the oldest's rewritten in place, its key (id, slot) kept.
    assert db.execute("SELECT rowid FROM states WHERE id = ?", (s.id,)).fetchall() == rowids
    assert _rows(backend, s.id) == [(5, 2), (6, 0), (7, 1)]
    db.close()
    store.travel(s.id, "undo")
    store.travel(s.id, "undo")
    s, _ = store.update(s.id, lambda x: (patch(x, {"learning_rate": 0.2}), None), "edit")
    assert _rows(backend, s.id) == [(5, 2), (6, 0)]  # the new 6 over the old; 7 dropped
    assert orjson.loads(backend.state(s.id, 6))["network"]["learning_rate"] == 0.2
    store.close()


def test_a_store_keeping_more_entries_than_the_ring_holds_widens_it_or_is_refused(tmp_path):
    path = tmp_path / "store.db"
    store = Store(SQLiteBackend(path, history=3), LocalBus(), history=3)
    s, _ = store.add(create({"preset": "classic"}))
    for _ in range(4):
        store.update(s.id, lambda x: (next_phase(x), None), "next")
    store.close()
    with pytest.raises(ValueError, match="holds 3 states of a network, not 5"):
        Store(SQLiteBackend(path, history=3), LocalBus(), history=5)
    wider = Store(SQLiteBackend(path, history=5), LocalBus(), history=5)
    assert _rows(wider.backend, s.id) == [(3, 3), (4, 4), (5, 0)]
    for _ in range(3):
        wider.update(s.id, lambda x: (next_phase(x), None), "next")
    assert [seq for seq, _ in _rows(wider.backend, s.id)] == [4, 5, 6, 7, 8]
    assert [wider.travel(s.id, "undo").history.cursor for _ in range(4)] == [7, 6, 5, 4]
    wider.close()
