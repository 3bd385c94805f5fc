"""The application: assembles the routers, the middleware, the store and the error answers."""

import asyncio
import gc
import logging
from collections.abc import Iterator
from contextlib import asynccontextmanager, contextmanager, suppress

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, PlainTextResponse, Response
from fastapi.routing import iter_route_contexts
from starlette.concurrency import run_in_threadpool
from starlette.middleware.gzip import GZipMiddleware
from starlette.routing import compile_path

from app import api, docs, logs, pages, ratelimit, render, settings, training
from app.bounds import REQUEST_LIMITS, short
from app.engine import InvalidInput
from app.middleware import BodyLimit, OriginCheck, SecurityHeaders, security_headers
from app.problems import documented
from app.refusal import Refused
from app.settings import Settings
from app.store import Conflict, NotOwner, UnknownSession, failures, open_store

EXPIRY_SWEEP = 3600.0  # seconds between sweeps of networks unused too long
# The cycle collector's thresholds while serving (Python's own: 700, 10, 10). A request
# makes thousands of objects, nearly all freed at once by their counts, and at 700 the
# collector ran 85 times a second under a class's load, 11% of the server's CPU, each full
# collection a pause of 100 ms for every request and follower. At 10,000 it all but never
# runs (benchmarks/classroom.py flat out: a step's CPU 1.27-1.39 -> 1.10-1.20 ms), and
# the memory it leaves to later is a few MB.
GC_THRESHOLDS = (10_000, 10, 10)
UNAVAILABLE = "not answering just now; try again in a moment"
log = logging.getLogger(__name__)


def create_app(config: Settings | None = None) -> FastAPI:
    config = config or settings.load()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        store = open_store(config)
        bind = getattr(store.bus, "bind", None)
        if bind:
            bind(asyncio.get_running_loop())
        app.state.store = store
        app.state.settings = config
        app.state.limiter = ratelimit.Limiter(settings.environ(config))
        pool = training.Settings(workers=config.train_workers, queue=config.train_queue)
        app.state.trainer = training.Trainer(pool)
        app.state.runs = training.Runs(app.state.trainer, store)
        sweeper = asyncio.create_task(_sweep(store))
        render.warm()
        try:
            with collected_seldom():
                yield
        finally:
            await app.state.runs.close()
            app.state.trainer.close()
            sweeper.cancel()
            with suppress(asyncio.CancelledError):
                await sweeper
            await store.aclose()

    app = FastAPI(
        title="backprop-lab",
        summary="Backpropagation, one exact step at a time.",
        lifespan=lifespan,
        docs_url=None,  # served by app.docs, offline
        redoc_url=None,  # ReDoc loads from a CDN
    )
    # The last added is the outermost: headers on every answer, the 403 and 413 included.
    # Pages and answers compressed for browsers that take gzip, at the fastest level (a
    # step's 24 KB of HTML to 4.5 KB in 0.15 ms): a class's Wi-Fi carries every follower's
    # copy. Not the event stream (Starlette leaves text/event-stream alone), nor htmx and
    # its extension, which are served pre-compressed.
    app.add_middleware(GZipMiddleware, minimum_size=1024, compresslevel=1)
    app.add_middleware(BodyLimit, limit=config.max_body)
    app.add_middleware(OriginCheck)
    app.add_middleware(SecurityHeaders)

    # Routes are tried in the order they are added, each a match of its own (FastAPI's
    # included routers have no prefix test): the probes first, which load balancers and
    # monitors call most and which were tried after every other route (70 µs a call),
    # then the API, then the page.
    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        """Alive: answers without the store or the thread pool."""
        return {"status": "ok"}

    @app.get("/readyz", include_in_schema=False)
    def readyz(request: Request) -> JSONResponse:
        """Ready: the store answers."""
        try:
            request.app.state.store.backend.ping()
        except Exception as e:  # any failure of the store means not ready
            return JSONResponse({"status": "unavailable", "store": repr(e)}, status_code=503)
        return JSONResponse({"status": "ok"})

    app.include_router(api.router)
    app.include_router(pages.router)
    app.include_router(docs.router)
    app.openapi = lambda: api.in_written_order(api.secured(documented(FastAPI.openapi(app))))  # type: ignore[method-assign]
    app.mount("/static", pages.static, name="static")

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(Refused)
    async def refused(request: Request, exc: Refused) -> Response:
        if not request.url.path.startswith("/api/"):  # the page shows it inline
            return await run_in_threadpool(pages.refused, request, exc)
        detail = [{"loc": [exc.field], "msg": str(exc), "type": "refused"}]
        return JSONResponse({"detail": detail}, status_code=exc.status, headers=exc.headers)

    async def unavailable(request: Request, exc: Exception) -> Response:
        """The store did not answer: 503, try again (never a 500 for an outage)."""
        log.warning("the store did not answer %s %s: %r", request.method, request.url.path, exc)
        down = Refused("store", UNAVAILABLE, 503, retry_after=1)
        if request.url.path.startswith("/api/"):
            return await refused(request, down)
        return PlainTextResponse(f"{down}\n", status_code=503, headers=down.headers)  # no lab

    for failure in failures(config):
        app.add_exception_handler(failure, unavailable)

    @app.exception_handler(UnknownSession)
    async def unknown_session(request: Request, exc: UnknownSession) -> JSONResponse:
        msg = f"id: no network {short(exc.id)!r} (it may have been deleted)"
        detail = [{"loc": ["path", "id"], "msg": msg, "type": "not_found"}]
        return JSONResponse({"detail": detail}, status_code=404)

    @app.exception_handler(NotOwner)
    async def not_owner(request: Request, exc: NotOwner) -> JSONResponse:
        msg = (
            f"authorization: only the owner of network {short(exc.id)!r} can change it: send "
            "its owner_token as 'Authorization: Bearer <owner_token>' (anyone may read and "
            "follow it)"
        )
        detail = [{"loc": ["header", "authorization"], "msg": msg, "type": "not_owner"}]
        return JSONResponse({"detail": detail}, status_code=403)

    @app.exception_handler(Conflict)
    async def conflict(request: Request, exc: Conflict) -> JSONResponse:
        detail = [{"loc": [exc.field], "msg": str(exc), "type": "conflict"}]
        return JSONResponse({"detail": detail}, status_code=409)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _problems(exc.errors())}, status_code=422)

    @app.exception_handler(405)
    async def method_not_allowed(request: Request, exc: Exception) -> JSONResponse:
        # Starlette's Allow names only the first route of the path; a path has several.
        allowed = sorted(allowed_methods(request.app, request.url.path))
        msg = f"method: {request.method} is not one of {', '.join(allowed)} here"
        detail = [{"loc": ["method"], "msg": msg, "type": "method_not_allowed"}]
        headers = {"Allow": ", ".join(allowed)}
        return JSONResponse({"detail": detail}, status_code=405, headers=headers)

    @app.exception_handler(Exception)
    async def server_error(request: Request, exc: Exception) -> PlainTextResponse:
        # Answered outside the middleware (by Starlette's outermost one): headers set here.
        headers = security_headers("text/plain")
        return PlainTextResponse("Internal Server Error", status_code=500, headers=headers)

    logs.configure(config.log_level)
    app.add_middleware(logs.AccessLog)  # the last added is outermost: it sees every answer
    return app


@contextmanager
def collected_seldom() -> Iterator[None]:
    """While serving: what start-up made is set aside (gc.freeze: every full collection
    would look through it again, and it lives as long as the server) and the collector
    runs at GC_THRESHOLDS; both undone at shutdown (tests start many apps in one process)."""
    before = gc.get_threshold()
    gc.collect()
    gc.freeze()
    gc.set_threshold(*GC_THRESHOLDS)
    try:
        yield
    finally:
        gc.set_threshold(*before)
        gc.unfreeze()


async def _sweep(store) -> None:
    """Delete networks unused for longer than the settings allow, now and every hour (a
    sweep that fails, the store being down, is logged and tried again in an hour)."""
    while True:
        try:
            await asyncio.to_thread(store.expire)
        except Exception:
            logging.getLogger("backprop_lab").exception("expiry sweep failed")
        await asyncio.sleep(EXPIRY_SWEEP)


def allowed_methods(app: FastAPI, path: str) -> set[str]:
    """Every method some route of this path takes."""
    methods: set[str] = set()
    for route in iter_route_contexts(app.routes):
        if route.methods and route.path and compile_path(route.path)[0].match(path):
            methods |= route.methods
    return methods


def _problems(errors) -> list[dict]:
    """FastAPI's errors, each message led by its field, union branches that lost dropped.

    A value like {"w5": "x"} fails both ways `weights` may be given; only the error
    deepest into the value says what is wrong, so an error whose place is a prefix of
    another's is left out.
    """
    located = [([_short(p) for p in e["loc"] if not _is_union_tag(p)], e) for e in errors]
    problems = []
    for loc, e in located:
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in located):
            continue
        problems.append({"loc": loc, "msg": f"{_field(loc)}: {e['msg']}", "type": e["type"]})
    return problems


def _short(part):
    """A place in a body as a message may repeat it: a name sent of any length, cut short."""
    return short(part, REQUEST_LIMITS["name_chars"]) if isinstance(part, str) else part


def _is_union_tag(part) -> bool:
    return isinstance(part, str) and any(ch in part for ch in "[]")


def _field(loc) -> str:
    """["body", "weights", 1, 0] → "weights[1][0]", ["body", "weights", "w5"] → "weights.w5"."""
    out = ""
    for p in loc:
        if p in ("body", "path", "query"):
            continue
        out += f"[{p}]" if isinstance(p, int) else (f".{p}" if out else str(p))
    return out or "body"


app = create_app()
