"""The embedded store: networks in one SQLite file (WAL mode, one transaction per call;
the changes made at once on the event loop share one, each still all or nothing).

A write is `BEGIN IMMEDIATE` … `COMMIT`, so a server killed mid-request leaves the last
complete state; `synchronous=NORMAL` in WAL mode keeps every committed change through a
crash of the process (only a crash of the machine may lose the last few). The WAL is
copied back into the database (a checkpoint, which syncs the disk) by a thread of its own
every `CHECKPOINT` seconds, not by whichever write crosses SQLite's threshold: that write
waited for the disk, 5-30 ms here, one commit in forty. Each thread has
its own connection. Several processes may share the file (the version check is in the
same transaction as the write); follow events then reach only the process's own
followers, which is why several workers want Redis (app/store/redis.py).
"""

import asyncio
import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable
from pathlib import Path
from typing import NamedTuple

from app.store.grouped import Grouped

CHECKPOINT = 1.0  # seconds between checkpoints of the WAL

# The layout of the file, in SQLite's `user_version`: LAYOUTS[n] makes layout n+1 of n
# (0: a new file, or one from before layouts were numbered). Each runs in one transaction.
NETWORKS = """
CREATE TABLE IF NOT EXISTS networks (
    id TEXT PRIMARY KEY,
    code TEXT NOT NULL UNIQUE,
    version INTEGER NOT NULL,
    expires REAL NOT NULL,
    doc BLOB NOT NULL
);
CREATE INDEX IF NOT EXISTS networks_expires ON networks (expires);
"""
# The states of each network's history, as layout 1 made them (layout 2 adds each state's
# entry, layout 3 its slot in a ring and keys them by (id, slot) instead of (id, seq)). A
# rowid table, its key a separate index: the first layout kept them in a WITHOUT ROWID
# table keyed by (id, seq), which stores the rows in the key's B-tree, and rows of 1.4 KB,
# two to a page, split and merged pages on nearly every insert and delete (a step's server
# CPU 0.41-0.42 -> 0.37-0.38 ms flat out, benchmarks/classroom.py).
STATES = """
CREATE TABLE IF NOT EXISTS states (id TEXT NOT NULL, seq INTEGER NOT NULL, state BLOB NOT NULL);
CREATE UNIQUE INDEX IF NOT EXISTS states_seq ON states (id, seq);
"""


def _statements(script: str) -> list[str]:
    return [s.strip() for s in script.split(";") if s.strip()]


def _first(db: sqlite3.Connection) -> None:
    """Layout 1: the tables, the states moved out of a WITHOUT ROWID table if there was one."""
    row = db.execute("SELECT sql FROM sqlite_master WHERE type = 'table' AND name = 'states'")
    old = row.fetchone()
    moving = old is not None and "WITHOUT ROWID" in old[0].upper()
    if moving:
        db.execute("ALTER TABLE states RENAME TO states_without_rowid")
    for statement in _statements(NETWORKS + STATES):
        db.execute(statement)
    if moving:
        db.execute(
            "INSERT INTO states (id, seq, state) SELECT id, seq, state FROM states_without_rowid"
        )
        db.execute("DROP TABLE states_without_rowid")


def _entries(db: sqlite3.Connection) -> None:
    """Layout 2: each history entry in its state's row (from documents of schema 3 on, the
    document holds the cursor alone: a change wrote the 200 entries, 5.4 KB of a 7.4 KB
    document and two overflow pages, again each time). Copied out of each document that
    holds them; the document keeps them until it is next written, and they are read from
    it until then (`document.decode`)."""
    db.execute("ALTER TABLE states ADD COLUMN entry BLOB")
    # The entries listed first, then each state found by its key (joined directly, SQLite
    # read every document's 200 entries for each of its states: 35 s for 2,000 networks).
    db.execute(
        "WITH held (id, seq, entry) AS MATERIALIZED ("
        "  SELECT n.id, json_extract(e.value, '$[0]'), CAST(e.value AS BLOB)"
        "  FROM networks AS n, json_each(CAST(n.doc AS TEXT), '$.history.entries') AS e)"
        " UPDATE states SET entry = held.entry FROM held"
        " WHERE states.id = held.id AND states.seq = held.seq"
    )


def _ring(db: sqlite3.Connection) -> None:
    """Layout 3: each network's states in a ring of slots (`slot` = seq modulo the ring's
    size, kept in the table `ring`): a change whose history is full writes its state over
    the oldest's, in the same row under the same key. Keyed by (id, seq), the change moved
    the row's key in the index, and its commit wrote about four times the pages (a plain
    SQLite loop of 50 networks' changes, ten to a commit: 105-120 -> 23-30 µs a change).
    The ring starts as wide as the widest history held (at least 1); `_widen` makes it as
    wide as the store's."""
    db.execute("CREATE TABLE ring (size INTEGER NOT NULL)")
    (widest,) = db.execute(
        "SELECT max(1, coalesce(max(hi - lo + 1), 1))"
        " FROM (SELECT max(seq) AS hi, min(seq) AS lo FROM states GROUP BY id)"
    ).fetchone()
    db.execute("INSERT INTO ring (size) VALUES (?)", (widest,))
    db.execute("ALTER TABLE states ADD COLUMN slot INTEGER")
    db.execute("DROP INDEX states_seq")
    _slot(db, widest)


def _slot(db: sqlite3.Connection, size: int) -> None:
    """Each state in its slot of a ring of `size` (the seqs a network holds, at most that
    many in a row, fall in distinct slots)."""
    db.execute("DROP INDEX IF EXISTS states_slot")  # rows cross each other's slots meanwhile
    db.execute("UPDATE states SET slot = seq % ?", (size,))
    db.execute("CREATE UNIQUE INDEX states_slot ON states (id, slot)")
    db.execute("UPDATE ring SET size = ?", (size,))


LAYOUTS: tuple[Callable[[sqlite3.Connection], None], ...] = (_first, _entries, _ring)


class SQLiteBackend:
    # One file on this machine's disk: a read or a write (no sync: WAL, synchronous=NORMAL)
    # takes tens of microseconds. Several processes on one file would wait for each
    # other's write lock; the setup for several workers is Redis.
    local = True

    def __init__(
        self, path: str | Path, clock: Callable[[], float] = time.time, history: int = 200
    ):
        """`history`: the entries the store keeps of each network (`Store(history=…)`):
        the ring of states (layout 3) is made at least as wide."""
        self.path = str(path)
        self._clock = clock
        self._local = threading.local()
        self._all: list[sqlite3.Connection] = []
        self._guard = threading.Lock()
        # One write transaction at a time in this process, queued here: SQLite's own wait for
        # its write lock (busy_timeout) sleeps and polls, up to 100 ms a time, so threads that
        # met it there took turns in bursts (a step's p99 of seconds under 50 writers). The
        # busy timeout still orders writers of other processes sharing the file.
        self._writing = threading.Lock()
        self._writes: Writes | None = None
        self._lay_out()
        self.ring = self._widen(history)
        self._closing = threading.Event()
        self._checkpoints = threading.Thread(
            target=self._checkpoint, name="sqlite-checkpoint", daemon=True
        )
        self._checkpoints.start()

    def _db(self) -> sqlite3.Connection:
        db = getattr(self._local, "db", None)
        if db is None:
            db = sqlite3.connect(self.path, isolation_level=None, check_same_thread=False)
            db.execute("PRAGMA journal_mode=WAL")
            db.execute("PRAGMA synchronous=NORMAL")
            db.execute("PRAGMA busy_timeout=10000")
            db.execute("PRAGMA wal_autocheckpoint=0")  # the checkpoint thread does it
            self._local.db = db
            with self._guard:
                self._all.append(db)
        return db

    def _tx(self):
        return _Transaction(self._db(), self._writing)

    def _lay_out(self) -> None:
        """Brings the file to the newest layout (another process may be doing the same:
        each step is checked again inside its write transaction)."""
        while True:
            with self._tx() as db:
                layout = db.execute("PRAGMA user_version").fetchone()[0]
                if layout >= len(LAYOUTS):
                    return
                LAYOUTS[layout](db)
                db.execute(f"PRAGMA user_version = {layout + 1}")

    def _widen(self, history: int) -> int:
        """The ring's size, widened first if the store keeps more entries than it holds
        (never narrowed: a narrower store's change then deletes its oldest state and writes
        the new one in a slot of its own, as correct and a little dearer)."""
        with self._tx() as db:
            size = self._size(db)
            if size < history:
                _slot(db, history)
                size = history
        return size

    def _size(self, db: sqlite3.Connection) -> int:
        """The ring's size as the file has it now (another process may have widened it)."""
        return db.execute("SELECT size FROM ring").fetchone()[0]

    def create(
        self, id: str, code: str, doc: bytes, entry: tuple[int, bytes, bytes], ttl: float
    ) -> bool:
        try:
            with self._tx() as db:
                db.execute(
                    "INSERT INTO networks (id, code, version, expires, doc) VALUES (?, ?, 1, ?, ?)",
                    (id, code, self._clock() + ttl, doc),
                )
                seq = entry[0]
                db.execute(
                    "INSERT INTO states (id, slot, seq, state, entry) VALUES (?, ?, ?, ?, ?)",
                    (id, seq % self._size(db), *entry),
                )
        except sqlite3.IntegrityError:
            return False
        return True

    def read(self, id: str) -> tuple[int, bytes, list[bytes]] | None:
        db = self._db()
        db.execute("BEGIN")  # the document and its entries as of one moment
        try:
            row = db.execute("SELECT version, doc FROM networks WHERE id = ?", (id,)).fetchone()
            entries = db.execute(
                "SELECT entry FROM states WHERE id = ? AND entry IS NOT NULL", (id,)
            ).fetchall()
        finally:
            db.execute("COMMIT")
        return None if row is None else (row[0], bytes(row[1]), [bytes(e) for (e,) in entries])

    def version(self, id: str) -> int | None:
        row = self._db().execute("SELECT version FROM networks WHERE id = ?", (id,)).fetchone()
        return None if row is None else row[0]

    def write(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
    ) -> bool:
        with self._tx() as db:
            return self._write(db, self._size(db), id, version, doc, put, drop, ttl)

    def _write(
        self,
        db: sqlite3.Connection,
        ring: int,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
    ) -> bool:
        changed = db.execute(
            "UPDATE networks SET doc = ?, version = version + 1, expires = ? "
            "WHERE id = ? AND version = ?",
            (doc, self._clock() + ttl, id, version),
        ).rowcount
        if not changed:
            return False
        slot = None if put is None else put[0] % ring
        for first, last in drop:  # each a range of seqs
            # The oldest state, dropped as the new one is put in its slot: written over
            # below, not deleted first (a change whose history is full: one row rewritten).
            if first == last and first % ring == slot:
                continue
            if first <= last:
                db.execute(
                    "DELETE FROM states WHERE id = ? AND seq BETWEEN ? AND ?", (id, first, last)
                )
        if put is not None:
            # Over whatever the slot held: the oldest state, or one that could have been
            # redone (after an undo) and is dropped.
            db.execute(
                "INSERT INTO states (id, slot, seq, state, entry) VALUES (?, ?, ?, ?, ?)"
                " ON CONFLICT (id, slot) DO UPDATE"
                " SET seq = excluded.seq, state = excluded.state, entry = excluded.entry",
                (id, slot, *put),
            )
        return True

    def aio(self) -> "Writes":
        """The writes made on this event loop, one commit a turn of it (app/store/grouped.py)."""
        loop = asyncio.get_running_loop()
        if self._writes is None or self._writes.write.loop is not loop:
            self._writes = Writes(Grouped(loop, self._write_all))
        return self._writes

    def _write_all(self, calls: list[tuple]) -> list[bool | Exception]:
        """The writes in one transaction, each compared in turn; if a statement fails, all
        are rolled back and each made again in one of its own, so that the failure is
        that write's answer only."""
        try:
            with self._tx() as db:
                ring = self._size(db)
                return [self._write(db, ring, *args) for args in calls]
        except Exception:
            if len(calls) == 1:
                raise
        made: list[bool | Exception] = []
        for args in calls:
            try:
                made.append(self.write(*args))
            except Exception as e:
                made.append(e)
        return made

    def state(self, id: str, seq: int) -> bytes | None:
        row = (
            self._db()
            .execute("SELECT state FROM states WHERE id = ? AND seq = ?", (id, seq))
            .fetchone()
        )
        return None if row is None else bytes(row[0])

    def find(self, code: str) -> str | None:
        row = self._db().execute("SELECT id FROM networks WHERE code = ?", (code,)).fetchone()
        return None if row is None else row[0]

    def delete(self, id: str) -> bool:
        with self._tx() as db:
            gone = db.execute("DELETE FROM networks WHERE id = ?", (id,)).rowcount
            db.execute("DELETE FROM states WHERE id = ?", (id,))
        return bool(gone)

    def touch(self, id: str, ttl: float) -> None:
        with self._tx() as db:
            db.execute("UPDATE networks SET expires = ? WHERE id = ?", (self._clock() + ttl, id))

    def expire(self) -> int:
        with self._tx() as db:
            ids = [
                r[0]
                for r in db.execute("SELECT id FROM networks WHERE expires < ?", (self._clock(),))
            ]
            db.executemany("DELETE FROM networks WHERE id = ?", [(i,) for i in ids])
            db.executemany("DELETE FROM states WHERE id = ?", [(i,) for i in ids])
        return len(ids)

    def ping(self) -> None:
        self._db().execute("SELECT 1 FROM networks LIMIT 1").fetchall()

    def _checkpoint(self) -> None:
        while not self._closing.wait(CHECKPOINT):
            with contextlib.suppress(sqlite3.Error):  # busy or closing: the next one will do
                self._db().execute("PRAGMA wal_checkpoint(PASSIVE)")

    def close(self) -> None:
        self._closing.set()
        if self._checkpoints is not threading.current_thread():
            self._checkpoints.join()
        with self._guard:
            for db in self._all:
                db.close()
            self._all.clear()
        self._local = threading.local()


class Writes(NamedTuple):
    """The async twin of `write` (the backend's other calls are quick: made on the loop)."""

    write: Grouped


class _Transaction:
    """BEGIN IMMEDIATE … COMMIT (ROLLBACK if the block raises), holding the process's write
    lock: one write at a time."""

    def __init__(self, db: sqlite3.Connection, writing: threading.Lock):
        self.db = db
        self.writing = writing

    def __enter__(self) -> sqlite3.Connection:
        self.writing.acquire()
        try:
            self.db.execute("BEGIN IMMEDIATE")
        except BaseException:
            self.writing.release()
            raise
        return self.db

    def __exit__(self, kind, value, tb) -> None:
        try:
            self.db.execute("ROLLBACK" if kind else "COMMIT")
        finally:
            self.writing.release()
