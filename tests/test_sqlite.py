"""The SQLite backend's own behaviour beyond the store's contract (tests/test_store.py):
the writes made at once on one event loop share one commit, and each stands alone; a file
of an earlier layout is brought to the newest one, its networks and history kept."""

import asyncio
import sqlite3

import pytest

from app.session import create, next_phase
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
            grouped.write(ids[0], 1, docs[ids[0]], (2, b"{}"), (), 60.0),
            grouped.write(ids[1], 7, docs[ids[1]], (2, b"{}"), (), 60.0),  # a stale version
            grouped.write(ids[2], 1, docs[ids[2]], (2, object()), (), 60.0),  # cannot be stored
            return_exceptions=True,
        )

    written, stale, failed = run_async(together())
    assert written is True and stale is False and isinstance(failed, Exception)
    assert [backend.version(id) for id in ids] == [2, 1, 1]  # the failed one rolled back whole
    assert backend.state(ids[0], 2) == b"{}" and backend.state(ids[2], 2) is None


# The first layout, as the sixth to eighth sessions' servers wrote it (no user_version).
FIRST_LAYOUT = """
CREATE TABLE networks (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    expires REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX networks_expires ON networks (expires);
CREATE TABLE states (
    id TEXT NOT NULL,
    seq INTEGER NOT NULL,
    state BLOB NOT NULL,
    PRIMARY KEY (id, seq)
) WITHOUT ROWID;
"""


def test_a_file_of_the_first_layout_keeps_its_networks_and_their_history(tmp_path):
    path = tmp_path / "old.db"
    # A network stepped five times, written by today's code, then moved into the first
    # layout's tables exactly as they were.
    made = SQLiteBackend(tmp_path / "made.db")
    store = Store(made, LocalBus())
    s, _ = store.add(create({"preset": "classic"}))
    phases = [s.phase]
    for _ in range(5):
        phases.append(store.update(s.id, lambda x: (next_phase(x), None), "next")[0].phase)
    made.close()
    old = sqlite3.connect(path)
    old.executescript(FIRST_LAYOUT)
    old.execute("ATTACH ? AS made", (str(tmp_path / "made.db"),))
    old.execute("INSERT INTO networks SELECT * FROM made.networks")
    old.execute("INSERT INTO states SELECT id, seq, state FROM made.states")
    old.commit()
    states = old.execute("SELECT id, seq, state FROM states ORDER BY seq").fetchall()
    assert len(states) == 6
    old.close()

    for _ in range(2):  # opened again: nothing more to do
        backend = SQLiteBackend(path)
        db = sqlite3.connect(path)
        assert db.execute("PRAGMA user_version").fetchone()[0] == 1
        (sql,) = db.execute("SELECT sql FROM sqlite_master WHERE name = 'states'").fetchone()
        assert "WITHOUT ROWID" not in sql.upper()
        assert db.execute("SELECT id, seq, state FROM states ORDER BY seq").fetchall() == states
        db.close()
        store = Store(backend, LocalBus())
        assert store.get(s.id).phase == phases[-1]
        assert store.travel(s.id, "undo").phase == phases[-2]  # from a moved state
        assert store.travel(s.id, "redo").phase == phases[-1]
        backend.close()
