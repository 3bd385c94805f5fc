"""The system Chromium and how it is launched, for the browser tests and the page benchmark.

Debian's `chromium` package (never `playwright install`: it downloads browsers from hosts
we cannot reach). The arguments keep it from reaching any host of its own accord.
"""

import os
from pathlib import Path

CHROMIUM = Path(os.environ.get("BACKPROP_LAB_CHROMIUM", "/usr/bin/chromium"))
ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
