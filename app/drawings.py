"""Drawings shared by everyone who asks at once: the lab as a follower sees it, drawn once
per version and display preferences (and compressed once), and a decision boundary's
picture. After a change every follower's page asks at the same moment; drawing a copy for
each (a class of 300 pages kept the 40 worker threads drawing the same lab, 7 s behind the
owner) is what these caches stop."""

import asyncio
import gzip
import threading
from collections.abc import Awaitable, Callable
from functools import cached_property
from typing import TypeVar
from urllib.parse import quote

from cachetools import TTLCache, cached
from fastapi import Request
from fastapi.responses import Response
from markupsafe import Markup
from starlette.concurrency import run_in_threadpool

from app import render
from app.session import Session
from app.view import boundary, prefs
from app.view.text import TEXT

T = TypeVar("T")


class Drawing:
    """A drawing (a follower's lab, a picture), made once, and compressed once when first
    asked for so."""

    def __init__(self, body: str):
        self.body = body

    @cached_property
    def gzipped(self) -> bytes:
        return gzip.compress(self.body.encode(), compresslevel=1, mtime=0)


def _key(
    session: Session,
    name: str,
    chosen: prefs.Prefs,
    lang: str,
    only: list[str] | None = None,
    pictures: bool = False,
) -> tuple:
    return (session.id, session.version, name, tuple(only or ()), chosen, lang, pictures)


# The first request draws while the others wait for it (cachetools' condition).
_FOLLOWED: TTLCache = TTLCache(maxsize=512, ttl=600)
_DRAWN = threading.Condition()


@cached(_FOLLOWED, key=_key, condition=_DRAWN)
def followed(
    session: Session,
    name: str,
    chosen: prefs.Prefs,
    lang: str,
    only: list[str] | None = None,
    pictures: bool = False,
) -> Drawing:
    """The lab (`name`: lab.html, or changes.html with the regions `only`) as followers with
    these preferences see network `session` at its version: drawn once (call it from a
    worker thread: drawing takes milliseconds). With `pictures`, the decision boundary's
    picture is in it (a data: URL) rather than named by its URL."""
    extra = {"boundary_src": inline_picture(session, lang)} if pictures else None
    return Drawing(render.html(session, name, chosen, lang, only=only, owner=False, extra=extra))


def inline_picture(session: Session, lang: str) -> str | None:
    """The decision boundary's picture as a data: URL (None for a network without one)."""
    if boundary.key(session.state) is None:
        return None
    svg = boundary.svg(session.state, TEXT[lang]["boundary_alt"], True).replace('"', "'")
    # Percent-encoded only where a URL must be ('#', '%', line ends...) or where it would end
    # the attribute ('"', '&'): the rest stays as it is (attribute escaping made each quote
    # five characters), for the stream's compression to find its repeats. Our own numbers
    # and texts: nothing in it a user typed.
    return Markup("data:image/svg+xml," + quote(svg, safe=" !$'()*+,-./:;<=>?@_~"))


def drawn(
    session: Session, name: str, chosen: prefs.Prefs, lang: str, only: list[str] | None = None
) -> Drawing | None:
    """That drawing (without pictures) if it is made already (a look-up, for the event
    loop), else None."""
    with _DRAWN:
        return _FOLLOWED.get(_key(session, name, chosen, lang, only))


def answer(
    request: Request,
    drawing: Drawing,
    media_type: str = "text/html",
    headers: dict[str, str] = render.HEADERS,
) -> Response:
    """A drawing, compressed once for every browser that takes gzip."""
    if "gzip" in request.headers.get("Accept-Encoding", ""):
        vary = ", ".join(filter(None, (headers.get("Vary"), "Accept-Encoding")))
        packed = headers | {"Content-Encoding": "gzip", "Vary": vary}
        return Response(drawing.gzipped, media_type=media_type, headers=packed)
    return Response(drawing.body, media_type=media_type, headers=headers)


def shared(cache: TTLCache, key: tuple, make: Callable[[], Awaitable[T]]) -> Awaitable[T]:
    """What `make()` makes, made once per key for everyone who asks meanwhile or after (while
    the cache keeps it): the first to ask starts it, the others await the same making. On
    the event loop alone, so no lock. A viewer who leaves does not cancel it for the rest; a
    making that failed is forgotten, so that the next to ask tries again."""
    made = cache.get(key)
    if made is None:
        made = cache[key] = asyncio.ensure_future(make())

        def done(f: asyncio.Future) -> None:
            if (f.cancelled() or f.exception()) and cache.get(key) is f:
                del cache[key]

        made.add_done_callback(done)
    return asyncio.shield(made)


# The decision boundaries drawn, or being drawn, by key.
_PICTURES: TTLCache = TTLCache(maxsize=64, ttl=600)


async def picture(key: tuple, state, label: str, heat: bool) -> Drawing:
    """A decision boundary's picture, drawn and compressed once per key (in a worker
    thread): during a live training every viewer's page asks for each chunk's new picture
    at once. Its 68 KB for a spiral of 200 were compressed again for every viewer before."""
    return await shared(_PICTURES, key, lambda: run_in_threadpool(_picture, state, label, heat))


def _picture(state, label: str, heat: bool) -> Drawing:
    made = Drawing(boundary.svg(state, label, heat))
    made.gzipped  # noqa: B018 (compressed here, in the worker thread)
    return made
