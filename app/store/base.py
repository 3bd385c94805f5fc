"""The store's logic, the same on every backend: ids, join codes, owners, versions, history,
the cache in front, and the follow events after each change.

A backend (SQLite, Redis) only keeps documents and history entries (each with its state)
and compares versions; `Store` does the rest, so that every backend behaves alike (one
contract test suite runs against each). A change is read–compute–compare-and-set: the
write lands only if the document's version is still the one read, else it is computed
again on the new version, so that two workers changing one network lose no update.
Within one process, changes to one network also wait for each other (a lock per
network, striped), so they seldom collide. Memory holds a bounded cache of decoded
sessions keyed by version: never the place a network lives, so no client can evict
another's network.
"""

import asyncio
import hashlib
import hmac
import random
import secrets
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Generator
from contextlib import AbstractAsyncContextManager
from dataclasses import replace
from typing import Protocol, TypeVar

import anyio.to_thread
import orjson

from app.engine import InvalidInput
from app.session import Entry, History, Session
from app.store import document
from app.store.events import Listener

T = TypeVar("T")
# A reading or change of the store as the backend calls it asks for (see `Store._run`).
Steps = Generator[tuple, object, T]

# Join codes: six characters without look-alikes (no 0/O, 1/I/L, U/V).
CODE_ALPHABET = "23456789ABCDEFGHJKMNPQRSTWXYZ"
CODE_LENGTH = 6
TRIES = 50  # compare-and-set attempts before a change gives up (another worker keeps winning)


class UnknownSession(KeyError):
    def __init__(self, id: str):
        super().__init__(id)
        self.id = id


class NotOwner(Exception):
    """A change asked for without the network's owner token."""

    def __init__(self, id: str):
        super().__init__(id)
        self.id = id


class Conflict(Exception):
    """The network changed under a change that must not be computed again (a training)."""

    def __init__(self, field: str, message: str):
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


class Backend(Protocol):
    """Where documents and history entries live, each entry (`Entry.raw`) with the state it
    restores, both under the entry's seq. Each call is one transaction."""

    # True if every call is quick and local (no network, no wait on another process in the
    # setup it is meant for), so that async code may call it on the event loop itself.
    local: bool

    def create(
        self, id: str, code: str, doc: bytes, entry: tuple[int, bytes, bytes], ttl: float
    ) -> bool:
        """Store a new document at version 1 and its first entry (seq, state, entry);
        False if id or code is taken."""
        ...

    def read(self, id: str) -> tuple[int, bytes, list[bytes]] | None:
        """(version, document, its entries in any order), or None."""
        ...

    def version(self, id: str) -> int | None:
        """The document's version alone, or None: a cached copy of that version need not be
        read again (every follower's page asks after each change)."""
        ...

    def write(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
        event: bytes | None = None,
    ) -> bool:
        """If the stored version is `version`: store doc as version + 1, put the entry
        (seq, state, entry), drop the entries whose seqs are in the ranges `drop` (each
        (first, last), both dropped), and renew the expiry. False, and nothing written, if
        the version differs or the id is gone.
        A backend that can publish for the store's bus (`publishes_for(bus)`, optional)
        is given the follow `event` too, to publish with the write."""
        ...

    def state(self, id: str, seq: int) -> bytes | None: ...
    def find(self, code: str) -> str | None: ...
    def delete(self, id: str) -> bool: ...
    def touch(self, id: str, ttl: float) -> None:
        """Renew the expiry (the network was used)."""
        ...

    def expire(self) -> int:
        """Drop networks whose expiry has passed; how many."""
        ...

    def ping(self) -> None:
        """Raise if the store does not answer."""
        ...

    def close(self) -> None: ...


class Bus(Protocol):
    """Follow events: what changed on a network, to everyone listening to it."""

    def publish(self, id: str, event: bytes) -> None:
        """From any thread."""
        ...

    def listen(self, id: str, follower: bool) -> AbstractAsyncContextManager[Listener]:
        """The events of one network while the context is open; a follower is counted."""
        ...

    def followers(self, id: str) -> int: ...
    def close(self) -> None: ...


def digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def owns(session: Session, token: str | None) -> bool:
    return bool(token) and hmac.compare_digest(session.owner, digest(token))


def event(session: Session, action: str) -> bytes:
    return orjson.dumps(
        {
            "id": session.id,
            "version": session.version,
            "iteration": session.iteration,
            "phase": session.phase,
            "action": action,
            "run": None if session.run is None else session.run.status,
        }
    )


class Store:
    def __init__(
        self,
        backend: Backend,
        bus: Bus,
        *,
        history: int = 200,
        ttl: float = 30 * 24 * 3600,
        cache: int = 2048,
        clock: Callable[[], float] = time.time,
    ):
        ring = getattr(backend, "ring", None)  # SQLite's: the states it holds per network
        if ring is not None and ring < history:
            raise ValueError(f"the backend holds {ring} states of a network, not {history}")
        self.backend = backend
        self.bus = bus
        self._history = history
        self._ttl = ttl
        self._clock = clock
        # id → (session, when its expiry was last renewed, its encoded state if known)
        self._cache: OrderedDict[str, tuple[Session, float, bytes | None]] = OrderedDict()
        self._cache_size = cache
        self._guard = threading.Lock()  # guards the cache, never held while computing
        self._locks = tuple(threading.Lock() for _ in range(256))

        self._alocks: tuple[asyncio.AbstractEventLoop, tuple[asyncio.Lock, ...]] | None = None
        publishes = getattr(backend, "publishes_for", None)
        self._publishes = bool(publishes and publishes(bus))  # see `_write`

    async def call(self, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) from async code: on the event loop itself if the backend is local
        (SQLite: a hop to a worker thread and back costs more than the call), else in the
        thread pool, so that a wait on the network holds up no other request. (Reading and
        changing have async forms of their own, `aget`, `aupdate` and `atravel`, which wait
        for a remote backend without a thread.)"""
        if self.backend.local:
            return fn(*args)
        return await anyio.to_thread.run_sync(fn, *args)

    # Each reading and change is written once, as steps (a generator) that yield each
    # backend call they need, ("read", id), ("write", …), ("publish", id, event) or
    # ("sleep", seconds), and are sent its result: `_run` makes the calls from a thread,
    # `_arun` from the event loop, awaiting a remote backend's async twins (Redis).

    def _run(self, steps: "Steps[T]") -> T:
        try:
            call = next(steps)
            while True:
                name, *args = call
                if name == "sleep":
                    time.sleep(*args)
                    result = None
                elif name == "publish":
                    result = self.bus.publish(*args)
                else:
                    result = getattr(self.backend, name)(*args)
                call = steps.send(result)
        except StopIteration as done:
            return done.value
        finally:
            steps.close()

    async def _arun(self, steps: "Steps[T]") -> T:
        # A remote backend's async twins (Redis); a local one's are only those it has
        # (SQLite's grouped write), its other calls made on the loop directly.
        aio = getattr(self.backend, "aio", None)
        twins = aio() if aio else None
        try:
            call = next(steps)
            while True:
                name, *args = call
                if name == "sleep":
                    await asyncio.sleep(*args)
                    result = None
                elif name == "publish":
                    publish = getattr(self.bus, "apublish", None)
                    result = await publish(*args) if publish else self.bus.publish(*args)
                elif (twin := getattr(twins, name, None)) is not None:
                    result = await twin(*args)
                elif self.backend.local:
                    result = getattr(self.backend, name)(*args)
                else:  # a remote backend with no async twin: a worker thread waits instead
                    result = await anyio.to_thread.run_sync(getattr(self.backend, name), *args)
                call = steps.send(result)
        except StopIteration as done:
            return done.value
        finally:
            steps.close()

    # Reading

    def get(self, id: str) -> Session:
        return self._run(self._get(id))

    async def aget(self, id: str) -> Session:
        return await self._arun(self._get(id))

    def _get(self, id: str) -> "Steps[Session]":
        if len(id) > 64:
            raise UnknownSession(id)
        with self._guard:
            cached = self._cache.get(id)
            if cached:
                self._cache.move_to_end(id)
        # With a copy at hand, its version is asked first: the document (with its history)
        # is read only when that copy is stale.
        version = (yield ("version", id)) if cached else None
        if cached and version is None:  # gone since it was cached
            raise UnknownSession(id)
        if cached and version == cached[0].version:
            session, touched, state = cached
        else:
            found = yield ("read", id)
            if found is None:
                raise UnknownSession(id)
            version, raw, entries = found
            session, touched, state = document.decode(raw, version, entries), 0.0, None
        now = self._clock()
        if now - touched > min(3600.0, self._ttl / 10):  # used: renew its expiry, not too often
            yield ("touch", id, self._ttl)
            touched = now
        self._remember(session, touched, state)
        return session

    def find(self, code: str) -> Session:
        """The network whose join code this is (any case, spaces ignored)."""
        code = "".join(code.split()).upper()[:CODE_LENGTH] if len(code) <= 32 else ""
        id = self.backend.find(code) if len(code) == CODE_LENGTH else None
        if id is None:
            raise UnknownSession(code)
        return self.get(id)

    # Changing

    def add(self, session: Session) -> tuple[Session, str]:
        """Store a new network; the session as stored and its owner's token (given once)."""
        token = secrets.token_urlsafe(24)
        entry = Entry(1, session.iteration, session.phase, "create")
        for _ in range(TRIES):
            stored = replace(
                session,
                id=secrets.token_urlsafe(9),
                code="".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH)),
                owner=digest(token),
                version=1,
                history=History(1, (entry,)),
            )
            state = document.encode_state(stored)
            if self.backend.create(
                stored.id,
                stored.code,
                document.encode(stored, state),
                (1, state, entry.raw),
                self._ttl,
            ):
                self._remember(stored, self._clock(), state)
                return stored, token
        raise RuntimeError("no free id or join code")  # 29⁶ codes: only if nearly all are taken

    def update(
        self,
        id: str,
        op: Callable[[Session], tuple[Session, T]],
        action: str,
        expect: int | None = None,
        amend: bool = False,
    ) -> tuple[Session, T]:
        """Apply op and store its new session as a new entry of the history; an op that
        raises stores nothing. With `expect`, the change is made only on that version
        (else Conflict): for work that took long and must not be done again. With `amend`,
        the new state replaces the entry on show, if it is the last and of that action (a
        live training's chunks make one entry). A change of the live training's record
        alone makes no entry.

        The first try starts from the cached copy, unread: the compare-and-set refuses it
        if another worker has changed the network since, and the next try reads it."""
        with self._lock(id):
            return self._run(self._update(id, op, action, expect, amend))

    async def aupdate(
        self,
        id: str,
        op: Callable[[Session], tuple[Session, T]],
        action: str,
        expect: int | None = None,
        amend: bool = False,
    ) -> tuple[Session, T]:
        """`update` from async code; op runs on the event loop."""
        async with self._alock(id):
            return await self._arun(self._update(id, op, action, expect, amend))

    def _update(
        self,
        id: str,
        op: Callable[[Session], tuple[Session, T]],
        action: str,
        expect: int | None,
        amend: bool,
    ) -> "Steps[tuple[Session, T]]":
        for attempt in range(TRIES):
            if attempt > 1:  # the first retry may only follow a stale cached copy
                yield ("sleep", _pause(attempt))
            cached = self._cached(id) if attempt == 0 else None
            old = cached or (yield from self._get(id))
            if expect is not None and old.version != expect:
                if cached:
                    continue
                raise Conflict("network", "it changed meanwhile; try again")
            new, result = op(old)
            state = document.encode_state(new)
            h = old.history
            if state == self._state(old):  # no entry; an event only if the run changed
                if new.run == old.run:
                    if cached:  # answer with the stored network, not a stale copy of it
                        continue
                    return old, result
                new = replace(new, version=old.version + 1, history=h)
                doc = document.encode(new, state)
                if (yield from self._write(id, old.version, doc, None, (), new, action, state)):
                    return new, result
                continue
            last = h.entries[-1]
            amending = amend and h.cursor == last.seq and last.action == action
            seq = h.cursor if amending else h.cursor + 1
            # Entries' seqs run on by one: those before seq are the first `seq - first`,
            # of which the last history - 1 are kept.
            upto = seq - h.entries[0].seq
            entry = Entry(seq, new.iteration, new.phase, action)
            history = h.then(seq, max(0, upto - (self._history - 1)), upto, entry)
            new = replace(new, version=old.version + 1, history=history)
            entries = history.entries
            # The entries stored are those of the history: drop those left out, the oldest
            # and what could have been redone (named: a backend need not look through the
            # 200 others to find them).
            drop = tuple(
                (first, last)
                for first, last in (
                    (h.entries[0].seq, entries[0].seq - 1),
                    (seq + 1, h.entries[-1].seq),
                )
                if first <= last
            )
            doc, put = document.encode(new, state), (seq, state, entry.raw)
            if (yield from self._write(id, old.version, doc, put, drop, new, action, state)):
                return new, result
        raise Conflict("network", "too many changes at once; try again")

    def travel(self, id: str, to: str | int) -> Session:
        """Undo ("undo"), redo ("redo") or jump to the entry with that seq."""
        with self._lock(id):
            return self._run(self._travel(id, to))

    async def atravel(self, id: str, to: str | int) -> Session:
        async with self._alock(id):
            return await self._arun(self._travel(id, to))

    def _travel(self, id: str, to: str | int) -> "Steps[Session]":
        for attempt in range(TRIES):
            if attempt:
                yield ("sleep", _pause(attempt))
            old = yield from self._get(id)
            h = old.history
            seq = {"undo": h.cursor - 1, "redo": h.cursor + 1}.get(to, to)  # type: ignore[call-overload]
            if not isinstance(seq, int) or not h.entries[0].seq <= seq <= h.entries[-1].seq:
                what = {"undo": "nothing to undo", "redo": "nothing to redo"}
                raise InvalidInput("history", what.get(to, f"no entry {to!r} in the history"))  # type: ignore[arg-type]
            raw = yield ("state", id, seq)
            if raw is None:  # dropped by another worker meanwhile: read again
                continue
            new = document.decode_state(old, raw)
            new = replace(new, version=old.version + 1, history=h.then(seq, 0, len(h.entries)))
            doc = document.encode(new)
            action = to if isinstance(to, str) else "jump"
            if (yield from self._write(id, old.version, doc, None, (), new, action)):
                return new
        raise Conflict("network", "too many changes at once; try again")

    def delete(self, id: str) -> None:
        with self._lock(id):
            if not self.backend.delete(id):
                raise UnknownSession(id)
            with self._guard:
                self._cache.pop(id, None)
            self.bus.publish(id, orjson.dumps({"id": id, "action": "delete"}))

    def expire(self) -> int:
        return self.backend.expire()

    def close(self) -> None:
        self.bus.close()
        self.backend.close()

    async def aclose(self) -> None:
        """`close`, once the backend's async client (of this event loop) is closed too."""
        aclose = getattr(self.backend, "aclose", None)
        if aclose is not None:
            await aclose()
        self.close()

    def _write(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        new: Session,
        action: str,
        state: bytes | None = None,
    ) -> "Steps[bool]":
        """Store `new` (its document `doc`) if the stored version is still `version`, and
        tell its followers: in the write itself if the backend publishes for this bus
        (Redis: one round trip, and the events in the order of the versions), else
        through the bus once written. Whether it was written."""
        told = event(new, action)
        if self._publishes:
            written = yield ("write", id, version, doc, put, drop, self._ttl, told)
        else:
            written = yield ("write", id, version, doc, put, drop, self._ttl)
        if written:
            self._remember(new, self._clock(), state)
            if not self._publishes:
                yield ("publish", id, told)
        return bool(written)

    def _cached(self, id: str) -> Session | None:
        with self._guard:
            cached = self._cache.get(id)
        return cached[0] if cached else None

    def _state(self, session: Session) -> bytes:
        """The session's encoded state: as cached when it was stored or read, else encoded."""
        with self._guard:
            cached = self._cache.get(session.id)
        if cached and cached[0] is session and cached[2] is not None:
            return cached[2]
        return document.encode_state(session)

    def _remember(self, session: Session, touched: float, state: bytes | None = None) -> None:
        with self._guard:
            cached = self._cache.get(session.id)
            if cached and cached[0].version > session.version:  # a slower reader's older copy
                return
            self._cache[session.id] = (session, touched, state)
            self._cache.move_to_end(session.id)
            while len(self._cache) > self._cache_size:
                self._cache.popitem(last=False)

    def _lock(self, id: str) -> threading.Lock:
        return self._locks[hash(id) % len(self._locks)]

    def _alock(self, id: str) -> asyncio.Lock:
        """The async twin of `_lock`, for changes made on one event loop."""
        loop = asyncio.get_running_loop()
        if self._alocks is None or self._alocks[0] is not loop:  # one loop at a time
            self._alocks = (loop, tuple(asyncio.Lock() for _ in range(256)))
        locks = self._alocks[1]
        return locks[hash(id) % len(locks)]


def _pause(attempt: int) -> float:
    """After a lost compare-and-set, wait a little (randomly, so that the losers spread)."""
    return random.uniform(0, min(0.001 * 2**attempt, 0.05))
