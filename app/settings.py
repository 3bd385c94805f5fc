"""Every setting of the server, each an environment variable: one table, read once at start.

The README's table of settings lists the same names (a test checks that it does).
"""

import os
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field, fields
from typing import Any

from app.logs import level_name


def positive(text: str) -> int:
    """A whole number from 1 up."""
    if not text.strip().isdigit() or int(text) < 1:
        raise ValueError(text)
    return int(text)


def _setting(env: str, default: Any, doc: str, parse: Callable[[str], Any] | None = None) -> Any:
    return field(default=default, metadata={"env": env, "doc": doc, "parse": parse})


@dataclass(frozen=True)
class Settings:
    db: str = _setting("BACKPROP_LAB_DB", "backprop-lab.db", "SQLite file of the networks")
    redis_url: str = _setting(
        "REDIS_URL", "", "Redis instead of SQLite (redis://host:6379/0), for several workers"
    )
    history: int = _setting("BACKPROP_LAB_HISTORY", 200, "undo entries kept per network", int)
    expire_days: float = _setting(
        "BACKPROP_LAB_EXPIRE_DAYS", 30.0, "a network unused this long is deleted", float
    )
    cache: int = _setting(
        "BACKPROP_LAB_CACHE", 2048, "decoded networks kept in memory per worker", int
    )
    log_level: str = _setting(
        "BACKPROP_LAB_LOG_LEVEL",
        "info",
        "least level logged: debug, info (a JSON line per request), warning, error",
        level_name,
    )
    root: str = _setting(
        "BACKPROP_LAB_ROOT",
        "",
        "directory of templates/, static/ and node_modules/ (default: the checkout app/ is in)",
    )
    max_body: int = _setting(
        "BACKPROP_LAB_MAX_BODY",
        1 << 20,
        "bytes of a request body; larger is refused (413)",
        positive,
    )
    train_workers: int = _setting(
        "BACKPROP_LAB_TRAIN_WORKERS", 1, "training processes per server process", positive
    )
    train_queue: int = _setting(
        "BACKPROP_LAB_TRAIN_QUEUE",
        8,
        "trainings waiting or running at once per server process; beyond, 503 + Retry-After",
        positive,
    )
    rate_create: str = _setting(
        "BACKPROP_LAB_RATE_CREATE", "600/minute", "new networks per client (429 beyond)"
    )
    rate_train: str = _setting(
        "BACKPROP_LAB_RATE_TRAIN", "300/minute", "trainings per client (429 beyond)"
    )
    rate_edit: str = _setting(
        "BACKPROP_LAB_RATE_EDIT", "3000/minute", "edits (PATCH, the page's fields) per client"
    )
    trust_proxy: str = _setting(
        "BACKPROP_LAB_TRUST_PROXY",
        "",
        "`1`: the client is the first X-Forwarded-For address (only behind a proxy that sets it)",
    )


def load(env: Mapping[str, str] = os.environ, **overrides: Any) -> Settings:
    """Settings from the environment (a bad value names its variable), then the overrides."""
    values: dict[str, Any] = {}
    for f in fields(Settings):
        text = env.get(f.metadata["env"])
        if text is None:
            continue
        parse = f.metadata["parse"] or str
        try:
            values[f.name] = parse(text)
        except ValueError:
            raise SystemExit(f"{f.metadata['env']}: cannot read {text!r}") from None
    return Settings(**(values | overrides))


def environ(settings: Settings) -> dict[str, str]:
    """The settings as the environment variables that give them, for the modules that read
    theirs by name (rate limits, training): the table stays the one source of each value."""
    return {
        f.metadata["env"]: str(getattr(settings, f.name))
        for f in fields(Settings)
        if getattr(settings, f.name) != ""
    }


def table() -> list[tuple[str, str, str]]:
    """(variable, default, what it does) of every setting, for the README."""
    return [(f.metadata["env"], str(f.default), f.metadata["doc"]) for f in fields(Settings)]


def markdown() -> str:
    """The README's table of settings: `python -m app.settings`."""
    rows = [
        f"| `{env}` | {f'`{default}`' if default else '(none)'} | {doc} |"
        for env, default, doc in table()
    ]
    return "\n".join(["| variable | default | what it does |", "| --- | --- | --- |", *rows])


if __name__ == "__main__":
    print(markdown())
