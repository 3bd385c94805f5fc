"""The application: assembles the routers, the store and the error answers."""

from contextlib import asynccontextmanager

from fastapi import FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse

from app import api
from app.engine import InvalidInput
from app.store import MemoryStore, UnknownSession


def create_app() -> FastAPI:
    @asynccontextmanager
    async def lifespan(app: FastAPI):
        app.state.store = MemoryStore()
        yield

    app = FastAPI(
        title="backprop-lab",
        summary="Backpropagation, one exact step at a time.",
        lifespan=lifespan,
    )
    app.include_router(api.router)

    @app.exception_handler(InvalidInput)
    async def invalid_input(request: Request, exc: InvalidInput) -> JSONResponse:
        detail = [{"loc": ["body", exc.field], "msg": str(exc), "type": "value_error"}]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.exception_handler(UnknownSession)
    async def unknown_session(request: Request, exc: UnknownSession) -> JSONResponse:
        msg = f"id: no network {exc.id!r} (it may have been deleted)"
        return JSONResponse({"detail": [{"loc": ["path", "id"], "msg": msg}]}, status_code=404)

    @app.exception_handler(RequestValidationError)
    async def bad_request(request: Request, exc: RequestValidationError) -> JSONResponse:
        # As FastAPI's own answer, but each message starts with the field it is about.
        detail = [
            {
                "loc": list(e["loc"]),
                "msg": f"{_field(e['loc'])}: {e['msg']}",
                "type": e["type"],
            }
            for e in exc.errors()
        ]
        return JSONResponse({"detail": detail}, status_code=422)

    @app.get("/healthz", include_in_schema=False)
    def healthz() -> dict[str, str]:
        return {"status": "ok"}

    return app


def _field(loc) -> str:
    """("body", "weights", 1, 0) → "weights[1][0]"."""
    parts = [p for p in loc if p not in ("body", "path", "query")]
    out = ""
    for p in parts:
        if isinstance(p, int):
            out += f"[{p}]"
        elif not any(ch in str(p) for ch in "[]()") or not out:
            out += f".{p}" if out else str(p)
    return out or "body"


app = create_app()
