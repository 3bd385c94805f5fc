"""A scenario: a network's whole state (architecture, parameters, settings) to save, load
and share. As a file it is the JSON body that `POST /api/networks` takes; in a share link
it is that JSON compressed into the URL (`/s/<scenario>`), so that a link carries the
weights themselves, like a playground's URL state.
"""

import base64
import binascii
import zlib
from typing import Any

import orjson
from pydantic import ValidationError

from app.engine import InvalidInput
from app.schemas import CreateNetwork
from app.session import Session

MAX_LINK = 16_384  # characters of a share link's scenario (browsers and proxies cut longer)
MAX_JSON = 1 << 20  # bytes a scenario may unpack to


def of(session: Session) -> dict[str, Any]:
    """The state as it is now, as `POST /api/networks` takes it."""
    return session.state.to_data()


def pack(data: dict[str, Any]) -> str:
    raw = zlib.compress(orjson.dumps(data), 9)
    return base64.urlsafe_b64encode(raw).rstrip(b"=").decode()


def link(session: Session) -> str | None:
    """The share link's path, or None for a network too large to fit one."""
    packed = pack(of(session))
    return f"/s/{packed}" if len(packed) <= MAX_LINK else None


def unpack(text: str) -> dict[str, Any]:
    """The `session.create` data of a share link's scenario (checked like an API body)."""
    if len(text) > MAX_LINK:
        raise InvalidInput("scenario", f"longer than {MAX_LINK} characters")
    try:
        raw = base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))
        inflate = zlib.decompressobj()
        body = inflate.decompress(raw, MAX_JSON)
        if inflate.unconsumed_tail:
            raise InvalidInput("scenario", f"unpacks to more than {MAX_JSON} bytes")
        return read(body)
    except (binascii.Error, zlib.error, ValueError) as e:
        if isinstance(e, InvalidInput):
            raise
        raise InvalidInput("scenario", "not a scenario link (damaged or cut short?)") from None


def read(body: bytes) -> dict[str, Any]:
    """A scenario file's JSON, checked like the body of `POST /api/networks`."""
    try:
        data = orjson.loads(body)
        return CreateNetwork.model_validate(data).model_dump(exclude_unset=True)
    except orjson.JSONDecodeError:
        raise InvalidInput("scenario", "not JSON") from None
    except ValidationError as e:
        first = e.errors()[0]
        where = "".join(f".{p}" for p in first["loc"])
        raise InvalidInput(f"scenario{where}", first["msg"]) from None
