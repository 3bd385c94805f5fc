"""Where networks live: the only mutable state of the app, behind `Store`.

`open_store` picks the backend from the settings: SQLite in a file by default, Redis
when `REDIS_URL` is set.
"""

import sqlite3

from app.settings import Settings
from app.store.base import Conflict, NotOwner, Store, UnknownSession, digest, owns
from app.store.document import Unreadable
from app.store.events import LocalBus
from app.store.sqlite import SQLiteBackend

__all__ = [
    "Conflict",
    "NotOwner",
    "Store",
    "UnknownSession",
    "Unreadable",
    "digest",
    "failures",
    "open_store",
    "owns",
]


def open_store(settings: Settings) -> Store:
    options = {
        "history": settings.history,
        "ttl": settings.expire_days * 24 * 3600,
        "cache": settings.cache,
    }
    if settings.redis_url:
        from app.store.redis import open_redis  # the redis client only when asked for

        backend, bus = open_redis(settings.redis_url)
        return Store(backend, bus, **options)
    return Store(SQLiteBackend(settings.db, history=settings.history), LocalBus(), **options)


def failures(settings: Settings) -> tuple[type[Exception], ...]:
    """What a store raises when it does not answer (Redis down or out of connections,
    SQLite's file locked beyond its timeout): the server answers 503, try again."""
    if settings.redis_url:
        import redis

        return (redis.RedisError, OSError)
    return (sqlite3.OperationalError,)
