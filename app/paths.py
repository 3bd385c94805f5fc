"""Where the files the app reads are: `templates/`, `static/` and `node_modules/`.

In a checkout (`make run`, the editable install of `make test`) they are beside `app/`.
`pip install .` installs only the code, so a server run from an installed package names
the directory holding them in `BACKPROP_LAB_ROOT` (the Dockerfile's `/srv/backprop-lab`).
"""

import os
from collections.abc import Mapping
from pathlib import Path

from app import settings

CHECKOUT = Path(__file__).resolve().parent.parent
NEEDED = ("templates", "static")


def find_root(env: Mapping[str, str] = os.environ) -> Path:
    """The directory of the app's files; a clear refusal if they are not there."""
    given = settings.load(env).root
    root = Path(given).resolve() if given else CHECKOUT
    missing = [name for name in NEEDED if not (root / name).is_dir()]
    if missing:
        raise SystemExit(
            f"BACKPROP_LAB_ROOT: no {' or '.join(m + '/' for m in missing)} in {root}: set it to "
            "the directory holding templates/, static/ and node_modules/ (an installed package "
            "has only the code)"
        )
    return root


ROOT = find_root()
