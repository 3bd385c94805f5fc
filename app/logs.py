"""Access logs: one JSON line per request on stderr, from a pure ASGI middleware.

A line is written when the response has been sent in full, so a server-sent event
stream is logged when it ends, with how long it was open. A line holds the time, the
method, the path (never the query string, which may carry a secret), the status, the
duration in ms, the client's address and a request id (the client's `X-Request-ID` if it
sent a short plain one, else a new one, and sent back in the same header). Headers are
never logged: not `Authorization`, not cookies.

The server's own access log is switched off where the app is started (`--no-access-log`),
so that each request is written once.
"""

import json
import logging
import re
import sys
import time
import uuid
from datetime import UTC, datetime

from starlette.types import ASGIApp, Message, Receive, Scope, Send

LOGGER = "backprop_lab"
access = logging.getLogger(f"{LOGGER}.access")
REQUEST_ID = "x-request-id"
# A client's own request id is kept only if it is short and plain, so it cannot forge lines.
_CLIENT_ID = re.compile(r"[A-Za-z0-9._:-]{1,64}")
LEVELS = ("debug", "info", "warning", "error", "critical")


class AccessLog:
    """Writes one line to the `backprop_lab.access` logger for each HTTP request."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        request_id = _request_id(scope)
        scope.setdefault("state", {})["request_id"] = request_id
        status: int | None = None
        stream = False

        async def send_logged(message: Message) -> None:
            nonlocal status, stream
            if message["type"] == "http.response.start":
                status = message["status"]
                headers = list(message.get("headers", []))
                headers.append((REQUEST_ID.encode(), request_id.encode()))
                message = {**message, "headers": headers}
                stream = any(
                    k.lower() == b"content-type" and v.startswith(b"text/event-stream")
                    for k, v in headers
                )
            await send(message)

        try:
            await self.app(scope, receive, send_logged)
        except BaseException:
            status = status or 500  # what the server answers when the app raised first
            raise
        finally:
            line = {
                "time": datetime.now(UTC).isoformat(timespec="milliseconds"),
                "method": scope["method"],
                "path": scope["path"],
                "status": status,
                "duration_ms": round((time.perf_counter() - start) * 1000, 3),
                "client": (scope.get("client") or ("", 0))[0],
                "request_id": request_id,
            }
            if stream:
                line["stream"] = True
            access.info("request", extra={"fields": line})


def _request_id(scope: Scope) -> str:
    for key, value in scope["headers"]:
        if key == REQUEST_ID.encode():
            text = value.decode("latin-1")
            if _CLIENT_ID.fullmatch(text):
                return text
            break
    return uuid.uuid4().hex


class JSONLines(logging.Formatter):
    """A record as one JSON object: an access line's own fields, else time, level, message."""

    def format(self, record: logging.LogRecord) -> str:
        fields = getattr(record, "fields", None)
        if fields is None:
            fields = {
                "time": datetime.fromtimestamp(record.created, UTC).isoformat(
                    timespec="milliseconds"
                ),
                "level": record.levelname.lower(),
                "logger": record.name,
                "message": record.getMessage(),
            }
            if record.exc_info:
                fields["error"] = self.formatException(record.exc_info)
        return json.dumps(fields, ensure_ascii=False, separators=(",", ":"))


class _Stderr(logging.StreamHandler):
    """A handler on whatever `sys.stderr` is when a line is written (as pytest swaps it)."""

    @property
    def stream(self):
        return sys.stderr

    @stream.setter
    def stream(self, value) -> None:
        pass


def configure(level: str) -> None:
    """The app's loggers write JSON lines to stderr from `level` up (idempotent)."""
    logger = logging.getLogger(LOGGER)
    logger.setLevel(level_name(level).upper())
    logger.propagate = False
    if not any(isinstance(h, _Stderr) for h in logger.handlers):
        handler = _Stderr()
        handler.setFormatter(JSONLines())
        logger.addHandler(handler)


def level_name(text: str) -> str:
    """`info`, `WARNING`, … → `info`, `warning`; anything else is refused."""
    name = text.strip().lower()
    if name not in LEVELS:
        raise ValueError(f"expected one of {', '.join(LEVELS)}")
    return name
