"""Where sessions live: the only mutable state of the app, behind a small interface.

`update` applies an operation under the session's own lock, so concurrent requests on
one network are serialised and none is lost, and stores the result only if the
operation returns: an operation that raises leaves the session as it was.
"""

import secrets
import threading
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import replace
from typing import Protocol, TypeVar

from app.session import Session

T = TypeVar("T")


class UnknownSession(KeyError):
    def __init__(self, id: str):
        super().__init__(id)
        self.id = id


class Store(Protocol):
    def add(self, session: Session) -> Session: ...
    def get(self, id: str) -> Session: ...
    def delete(self, id: str) -> None: ...
    def update(self, id: str, op: Callable[[Session], tuple[Session, T]]) -> tuple[Session, T]:
        """Apply op under the session's lock; store its new session only if it returns."""
        ...


class MemoryStore:
    """Sessions in this process's memory, the least recently used dropped beyond `capacity`."""

    def __init__(self, capacity: int = 100_000):
        self._capacity = capacity
        self._sessions: OrderedDict[str, Session] = OrderedDict()
        self._locks: dict[str, threading.Lock] = {}
        self._guard = threading.Lock()  # guards the two dicts, never held while computing

    def add(self, session: Session) -> Session:
        with self._guard:
            id = secrets.token_urlsafe(9)
            session = replace(session, id=id)
            self._sessions[id] = session
            self._locks[id] = threading.Lock()
            while len(self._sessions) > self._capacity:
                old, _ = self._sessions.popitem(last=False)
                del self._locks[old]
            return session

    def get(self, id: str) -> Session:
        with self._guard:
            try:
                self._sessions.move_to_end(id)
                return self._sessions[id]
            except KeyError:
                raise UnknownSession(id) from None

    def delete(self, id: str) -> None:
        lock = self._lock(id)
        with lock, self._guard:
            self._sessions.pop(id, None)
            self._locks.pop(id, None)

    def update(self, id: str, op: Callable[[Session], tuple[Session, T]]) -> tuple[Session, T]:
        with self._lock(id):
            new, result = op(self.get(id))
            with self._guard:
                if id in self._sessions:  # not deleted meanwhile
                    self._sessions[id] = new
            return new, result

    def _lock(self, id: str) -> threading.Lock:
        with self._guard:
            try:
                return self._locks[id]
            except KeyError:
                raise UnknownSession(id) from None
