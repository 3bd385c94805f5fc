"""The app's start and stop (app/main.py) beyond its routes: how it leaves the process."""

import gc

from fastapi.testclient import TestClient

from app import settings
from app.main import GC_THRESHOLDS, create_app


def test_while_serving_the_cycle_collector_runs_seldom_and_skips_what_start_up_made(tmp_path):
    before = gc.get_threshold()
    with TestClient(create_app(settings.load({}, db=str(tmp_path / "lab.db")))) as client:
        assert client.get("/healthz").status_code == 200
        assert gc.get_threshold() == GC_THRESHOLDS and GC_THRESHOLDS[0] > before[0]
        assert gc.get_freeze_count() > 10_000  # the modules, routes, templates, schemas
    # Undone at shutdown: another app started in this process (as the tests do) would
    # otherwise keep this one's objects frozen, never collected.
    assert gc.get_threshold() == before and gc.get_freeze_count() == 0
