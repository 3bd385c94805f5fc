"""The application: assembles the routers, the store and the error answers."""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from starlette.concurrency import run_in_threadpool

from app import api, pages, ratelimit, training
from app.engine import InvalidInput
from app.refusal import Refused
from app.store import MemoryStore, UnknownSession


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = MemoryStore()
        app.state.limiter = ratelimit.Limiter()
        app.state.trainer = training.Trainer(training.Settings.from_env())
        pages.warm()
        try:
            yield
        finally:
            app.state.trainer.close()

    app = FastAPI(
        title="backprop-lab",
        summary="Backpropagation, one exact step at a time.",
        lifespan=lifespan,
    )
    app.include_router(api.router)
    app.include_router(pages.router)
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

    @app.exception_handler(UnknownSession)
    async def unknown_session(request: Request, exc: UnknownSession) -> JSONResponse:
        msg = f"id: no network {exc.id!r} (it may have been deleted)"
        return JSONResponse({"detail": [{"loc": ["path", "id"], "msg": msg}]}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse({"detail": _problems(exc.errors())}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    async def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _problems(errors) -> list[dict]:
    """FastAPI's errors, each message led by its field, union branches that lost dropped.

    A value like {"w5": "x"} fails both ways `weights` may be given; only the error
    deepest into the value says what is wrong, so an error whose place is a prefix of
    another's is left out.
    """
    located = [([p for p in e["loc"] if not _is_union_tag(p)], e) for e in errors]
    problems = []
    for loc, e in located:
        if any(len(other) > len(loc) and other[: len(loc)] == loc for other, _ in located):
            continue
        problems.append({"loc": loc, "msg": f"{_field(loc)}: {e['msg']}", "type": e["type"]})
    return problems


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
