"""A follower's page stream: each change of the network comes with the lab it leads to,
drawn once for every follower with the same display preferences, and compressed once.
(Not the count of followers: only the owner's page shows it.)

Without it, every follower's page fetched the lab after each event: 300 pages, 300 requests
a change, 1,200 a second for a teacher stepping 4 times a second, more than one core
serves. Here the stream sends, after each `change` event, a `lab` event whose first data
line is its head (JSON: `version` drawn, `swap` "lab" for the whole lab or "live" for the
regions a live training's chunk changes, out of band, and `view`, the preferences it was
drawn with) and whose other lines are the HTML. The owner's own tabs keep the plain events
(their page has controls and fields of its own, and fetches what changed).

Compressed once: a page that takes gzip gets a gzip stream whose every event is a run of
deflate blocks made by a fresh compressor and ended by a sync flush. Such a run refers to
nothing before it, so the same bytes follow any other run in any follower's stream: each
lab is compressed once for all of its followers, and each small event (the same JSON for
everyone) once per distinct event. The stream never ends cleanly (no gzip trailer): it is
closed by the server's shutdown, the network's deletion or the browser, and EventSource
reconnects after any of them alike.
"""

import logging
import time
import zlib
from collections.abc import AsyncIterator
from functools import lru_cache
from typing import Any

import orjson
from cachetools import TTLCache
from starlette.concurrency import run_in_threadpool

from app import api, drawings
from app.session import Session
from app.store import Store, UnknownSession
from app.view import prefs

log = logging.getLogger(__name__)

# What a chunk of a live training changes: sent to every page showing it, after each.
LIVE = ("status", "graph", "fields", "run", "boundary")
GZIP_HEADER = b"\x1f\x8b\x08\x00\x00\x00\x00\x00\x00\xff"  # deflate, no name, no time, any OS


def deflated(data: bytes) -> bytes:
    """`data` as deflate blocks that refer to nothing before them, ended on a byte."""
    packer = zlib.compressobj(1, zlib.DEFLATED, -15)  # raw deflate, level 1 (as GZipMiddleware)
    return packer.compress(data) + packer.flush(zlib.Z_SYNC_FLUSH)


@lru_cache(maxsize=256)
def _small(data: bytes) -> bytes:
    """A small event, the same for every follower (its JSON, a ping), compressed once."""
    return deflated(data)


class Lab:
    """A change's lab as one stream event, plain and compressed, made once for everyone."""

    def __init__(self, followed: drawings.Drawing, version: int, swap: str, view: str):
        head = orjson.dumps({"version": version, "swap": swap, "view": view})
        # SSE splits data at CR and LF alike: HTML reads the lines back the same.
        lines = followed.body.replace("\r\n", "\n").replace("\r", "\n").encode().split(b"\n")
        self.plain = b"event: lab\ndata: " + b"\ndata: ".join([head, *lines]) + b"\n\n"
        self.packed = deflated(self.plain)


# Each change's lab for one set of preferences, drawn or being drawn.
_LABS: TTLCache = TTLCache(maxsize=256, ttl=60)


async def lab(store: Store, id: str, data: dict[str, Any], chosen: prefs.Prefs, lang: str) -> Lab:
    """The lab after the change `data` (a `change` event), as followers with these
    preferences see it: drawn once, however many ask (`drawings.shared`)."""
    running = data.get("run") == "running"
    key = (id, data.get("version"), running, chosen, lang)
    return await drawings.shared(_LABS, key, lambda: _draw(store, id, running, chosen, lang))


async def _draw(store: Store, id: str, running: bool, chosen: prefs.Prefs, lang: str) -> Lab:
    s: Session = await store.aget(id)
    live = running and s.run is not None and s.run.running(time.time())
    name, only = ("changes.html", list(LIVE)) if live else ("lab.html", None)

    def make() -> Lab:  # in a worker thread: drawing takes milliseconds
        # A chunk's regions bring its picture too: one drawing for all, not 300 fetches.
        followed = drawings.followed(s, name, chosen, lang, only, pictures=live)
        return Lab(followed, s.version, "live" if live else "lab", prefs.to_query(chosen))

    return await run_in_threadpool(make)


async def stream(
    store: Store, s: Session, chosen: prefs.Prefs, lang: str, packed: bool
) -> AsyncIterator[bytes]:
    """A follower's page stream (see the module): the events, and each change's lab."""
    if packed:
        yield GZIP_HEADER
    async for kind, raw, data in api.changes(store, s, follower=True, newest=True):
        if kind == "followers":  # shown on the owner's page alone: 300 joining made 45,000
            continue
        plain = api.PING_COMMENT if kind == "ping" else api.sse(kind, raw)
        out = _small(plain) if packed else plain
        if kind == "change" and data.get("action") not in ("open", "delete"):
            try:
                made = await lab(store, s.id, data, chosen, lang)  # sent with it: one write
                out += made.packed if packed else made.plain
            except UnknownSession:  # deleted meanwhile: its event comes next
                pass
            except Exception:  # the store gone (Redis down): the browser reconnects later
                log.warning("the lab of %s for its followers was not drawn", s.id, exc_info=True)
                return
        yield out
