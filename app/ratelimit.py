"""Per-client rate limits on the heavy or state-making actions: creating networks, training,
editing.

Each limit is a FastAPI dependency (`CREATE`, `TRAIN`, `EDIT`), put on a route in one line;
beyond it the answer is 429 with Retry-After. Counts are kept by the `limits` package in
this process's memory, or in Redis when REDIS_URL is set (shared by every worker and
host), with a sliding window. Defaults are generous: a class of 30 to 300 students may
sit behind one school address. A client is its address; behind a proxy that sets it
(BACKPROP_LAB_TRUST_PROXY=1), the first address of X-Forwarded-For.
"""

import math
import os
import time
from dataclasses import dataclass

from fastapi import Depends, Request
from limits import parse
from limits.aio.strategies import SlidingWindowCounterRateLimiter
from limits.storage import storage_from_string

from app.refusal import Refused
from app.settings import Settings


@dataclass(frozen=True)
class Action:
    env: str  # the variable that sets its rate, in the `limits` notation ("300/minute")
    default: str
    what: str  # in the message: "too many <what> from this client"


# The variables and their defaults are the settings table's (app/settings.py).
ACTIONS = {
    "create": Action("BACKPROP_LAB_RATE_CREATE", Settings.rate_create, "new networks"),
    "train": Action("BACKPROP_LAB_RATE_TRAIN", Settings.rate_train, "trainings"),
    "edit": Action("BACKPROP_LAB_RATE_EDIT", Settings.rate_edit, "edits"),
}


def storage_uri(env=os.environ) -> str:
    """The one knob of where counts are kept: Redis if REDIS_URL is set, else memory."""
    redis = env.get("REDIS_URL")
    return f"async+{redis}" if redis else "async+memory://"


class Limiter:
    def __init__(self, env=os.environ):
        self.rates = {}
        for name, action in ACTIONS.items():
            text = env.get(action.env) or action.default
            try:
                self.rates[name] = parse(text)
            except ValueError:
                msg = f"{action.env}: {text!r} is not a rate (e.g. 300/minute)"
                raise ValueError(msg) from None
        self.trust_proxy = env.get("BACKPROP_LAB_TRUST_PROXY") == "1"
        uri = storage_uri(env)
        options = {} if uri.startswith("async+memory") else {"implementation": "redispy"}
        self._window = SlidingWindowCounterRateLimiter(storage_from_string(uri, **options))

    def client(self, request: Request) -> str:
        if self.trust_proxy and (forwarded := request.headers.get("X-Forwarded-For")):
            return forwarded.split(",")[0].strip()
        return request.client.host if request.client else "unknown"

    async def hit(self, action: str, request: Request) -> None:
        """Count one `action` of this request's client, or refuse it with 429."""
        rate, client = self.rates[action], self.client(request)
        if await self._window.hit(rate, action, client):
            return
        stats = await self._window.get_window_stats(rate, action, client)
        wait = max(1, math.ceil(stats.reset_time - time.time()))
        what = ACTIONS[action].what
        raise Refused("rate", f"too many {what} from this client; try again in {wait} s", 429, wait)


def limit(action: str):
    """The dependency that counts `action` for the request's client."""

    async def check(request: Request) -> None:
        await request.app.state.limiter.hit(action, request)

    return Depends(check)


CREATE = limit("create")
TRAIN = limit("train")
EDIT = limit("edit")
