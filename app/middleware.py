"""What every request and response passes through, as plain ASGI middleware.

`SecurityHeaders` sets the headers every answer carries (the CSP on every HTML one),
`OriginCheck` refuses a form post from another site, `BodyLimit` a body over the limit
before anything reads it. Plain ASGI rather than BaseHTTPMiddleware: nothing is
buffered, and a streamed body is counted as it arrives.
"""

from urllib.parse import urlsplit

import orjson
from starlette.datastructures import Headers, MutableHeaders
from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

# The page talks to its own server only; everything it loads comes from here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)
HEADERS = {"X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin"}
HTML_HEADERS = {"Content-Security-Policy": CSP}


def security_headers(content_type: str) -> dict[str, str]:
    """The headers an answer of this content type carries."""
    return HEADERS | (HTML_HEADERS if content_type.startswith("text/html") else {})


class SecurityHeaders:
    """Adds `security_headers` to every answer (a header the route set itself is kept)."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = MutableHeaders(scope=message)
                for name, value in security_headers(headers.get("content-type", "")).items():
                    headers.setdefault(name, value)
            await send(message)

        await self.app(scope, receive, send_with_headers)


# The three content types an HTML form can send, whatever site it is on.
FORM_TYPES = ("application/x-www-form-urlencoded", "multipart/form-data", "text/plain")
SAFE_METHODS = ("GET", "HEAD", "OPTIONS")
DEFAULT_PORTS = {"http": 80, "https": 443}


class OriginCheck:
    """Refuses (403) a change sent from another site: every non-GET request to the page's
    routes (/n/…) or with a form's content type must say where it comes from, in Origin
    (or, without it, Referer), and that must be the host it is sent to."""

    def __init__(self, app: ASGIApp):
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http" or scope["method"] in SAFE_METHODS:
            return await self.app(scope, receive, send)
        headers = Headers(scope=scope)
        media = headers.get("content-type", "").split(";")[0].strip().lower()
        if not scope["path"].startswith("/n/") and media not in FORM_TYPES:
            return await self.app(scope, receive, send)
        problem = _origin_problem(headers)
        if problem is None:
            return await self.app(scope, receive, send)
        await _answer(send, 403, f"origin: {problem}".encode(), "text/plain; charset=utf-8")


def _origin_problem(headers: Headers) -> str | None:
    sent = headers.get("origin") or headers.get("referer")
    if not sent:
        return "the request does not say which page sent it (no Origin or Referer header)"
    source = urlsplit(sent)
    try:
        port = source.port or DEFAULT_PORTS.get(source.scheme)
        host = urlsplit(f"//{headers.get('host', '')}")
        same = (source.hostname, port) == (
            host.hostname,
            host.port or DEFAULT_PORTS.get(source.scheme),
        )
    except ValueError:  # a port that is not a number
        same = False
    if not source.hostname or not same:
        return "sent from another site's page; reload this page and try again"
    return None


class BodyTooLarge(HTTPException):
    def __init__(self, limit: int):
        problem = {"loc": ["body"], "msg": f"body: larger than {limit} bytes", "type": "too_large"}
        super().__init__(413, detail=[problem])


class BodyLimit:
    """Answers 413 to a body over `limit` bytes: at once by its Content-Length, or, for a
    streamed body, as soon as what has arrived passes the limit."""

    def __init__(self, app: ASGIApp, limit: int):
        self.app = app
        self.limit = limit

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            return await self.app(scope, receive, send)
        length = Headers(scope=scope).get("content-length", "")
        if length and (not length.isdigit() or len(length) > 18 or int(length) > self.limit):
            return await self._refuse(send)
        received = 0
        started = False

        async def counted_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > self.limit:
                    raise BodyTooLarge(self.limit)  # FastAPI answers it like any HTTPException
            return message

        async def tracked_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, counted_receive, tracked_send)
        except BodyTooLarge:  # raised where no exception handler was in the way
            if started:
                raise
            await self._refuse(send)

    async def _refuse(self, send: Send) -> None:
        body = orjson.dumps({"detail": BodyTooLarge(self.limit).detail})
        await _answer(send, 413, body, "application/json", {"connection": "close"})


async def _answer(
    send: Send, status: int, body: bytes, content_type: str, extra: dict | None = None
) -> None:
    headers = {"content-type": content_type, "content-length": str(len(body))} | (extra or {})
    raw = [(k.encode(), v.encode()) for k, v in headers.items()]
    await send({"type": "http.response.start", "status": status, "headers": raw})
    await send({"type": "http.response.body", "body": body})
