"""Schemathesis against the served app: every check (`--checks all`), bounded in examples
and time, must find nothing. What it cannot know (that shapes follow `layers`) is
configured in schemathesis.toml, with the reason."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.server import ROOT, serve

ST = Path(sys.executable).parent / "st"
CONFIG = [str(ST), "--config-file", str(ROOT / "schemathesis.toml")]
BOUNDS = ["--max-examples", "25", "--max-time", "60", "--seed", "7"]


@pytest.mark.skipif(
    not ST.exists(), reason="schemathesis is not installed (pip install -e '.[test]')"
)
@pytest.mark.timeout(180)
def test_schemathesis_finds_nothing(tmp_path):
    with serve(tmp_path) as url:
        run = subprocess.run(
            [*CONFIG, "run", f"{url}/openapi.json", "--checks", "all", *BOUNDS],
            cwd=ROOT,
            capture_output=True,
            text=True,
            timeout=150,
            env={**os.environ, "SCHEMATHESIS_HOOKS": "tests.schemathesis_hooks"},
        )
    assert run.returncode == 0, run.stdout[-6000:] + run.stderr[-2000:]
