"""The app installed as a package (`pip install .`, as the Dockerfile does) finds its files."""

import os
import shutil
import subprocess
import sys
from pathlib import Path

import pytest

from app import paths

ROOT = Path(__file__).resolve().parent.parent
# Served by the installed app: a page, a static file, htmx and its SSE extension, an error.
PROBE = """
import app, sys
from fastapi.testclient import TestClient
from app.main import create_app
print(app.__file__)
with TestClient(create_app()) as c:
    for path in ("/", "/static/keys.js", "/vendor/htmx.min.js", "/vendor/sse.min.js", "/n/nobody"):
        r = c.get(path)
        print(path, r.status_code, r.headers["content-type"].split(";")[0])
"""


@pytest.fixture(scope="module")
def installed(tmp_path_factory) -> Path:
    """The package installed, not editable, from the files the Dockerfile copies."""
    where = tmp_path_factory.mktemp("install")
    source = where / "src"
    source.mkdir()
    for name in ("pyproject.toml", "README.md"):
        shutil.copy(ROOT / name, source)
    shutil.copytree(ROOT / "app", source / "app", ignore=shutil.ignore_patterns("__pycache__"))
    target = where / "site"
    pip = [sys.executable, "-m", "pip", "install", "-q", "--no-deps"]
    subprocess.run(
        [*pip, "--target", str(target), str(source)],
        check=True,
        capture_output=True,
    )
    return target


def run_installed(site: Path, tmp_path: Path, **env: str) -> subprocess.CompletedProcess:
    environ = {k: v for k, v in os.environ.items() if not k.startswith("BACKPROP_LAB_")}
    environ |= {"PYTHONPATH": str(site), "BACKPROP_LAB_DB": str(tmp_path / "lab.db")} | env
    return subprocess.run(
        [sys.executable, "-c", PROBE], cwd=tmp_path, env=environ, capture_output=True, text=True
    )


def test_an_installed_package_has_the_code_only(installed):
    assert (installed / "app" / "main.py").is_file()
    assert not (installed / "templates").exists() and not (installed / "static").exists()


def test_an_installed_app_serves_its_files_from_backprop_lab_root(installed, tmp_path):
    run = run_installed(installed, tmp_path, BACKPROP_LAB_ROOT=str(ROOT))
    assert run.returncode == 0, run.stderr
    lines = run.stdout.splitlines()
    assert lines[0] == str(installed / "app" / "__init__.py")  # not this checkout's code
    assert lines[1:] == [
        "/ 200 text/html",
        "/static/keys.js 200 text/javascript",
        "/vendor/htmx.min.js 200 text/javascript",
        "/vendor/sse.min.js 200 text/javascript",
        "/n/nobody 404 text/html",
    ]


def test_an_installed_app_without_its_files_says_which_setting_to_give(installed, tmp_path):
    run = run_installed(installed, tmp_path)
    assert run.returncode != 0
    assert "BACKPROP_LAB_ROOT" in run.stderr and "templates/" in run.stderr


def test_the_root_is_the_checkout_unless_given(tmp_path):
    assert paths.find_root({}) == ROOT == paths.ROOT
    (tmp_path / "templates").mkdir()
    with pytest.raises(SystemExit, match="no static/ in"):
        paths.find_root({"BACKPROP_LAB_ROOT": str(tmp_path)})
    (tmp_path / "static").mkdir()
    assert paths.find_root({"BACKPROP_LAB_ROOT": str(tmp_path)}) == tmp_path.resolve()
