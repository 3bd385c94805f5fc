"""The Dockerfile, compose.yaml and the Makefile's servers, read as text (no Docker engine
runs on the project's machines, so neither file can be built or run here)."""

import json
import os
import re
import shlex
import subprocess
from pathlib import Path

import pytest
import yaml

from app import pages

ROOT = Path(__file__).resolve().parent.parent
SERVED = ["--no-access-log", "--timeout-graceful-shutdown", "3"]  # wherever the app runs


def instructions() -> list[tuple[str, str]]:
    """The Dockerfile's (INSTRUCTION, arguments), continuation lines joined."""
    text = re.sub(r"\\\n", " ", (ROOT / "Dockerfile").read_text())
    lines = [line.strip() for line in text.splitlines()]
    return [
        (line.split(None, 1)[0].upper(), line.split(None, 1)[1])
        for line in lines
        if line and not line.startswith("#")
    ]


def stages() -> list[list[tuple[str, str]]]:
    out: list[list[tuple[str, str]]] = []
    for op, args in instructions():
        if op == "FROM":
            out.append([])
        out[-1].append((op, args))
    return out


def args(stage, op: str) -> list[str]:
    return [a for o, a in stage if o == op]


def env_of(stage) -> dict[str, str]:
    env: dict[str, str] = {}
    for line in args(stage, "ENV"):
        env |= dict(part.split("=", 1) for part in shlex.split(line))
    return env


def test_the_dockerfile_installs_the_front_end_then_the_python_runtime():
    front, runtime = stages()
    image, as_, name = args(front, "FROM")[0].split()
    assert image.startswith("node:") and as_.upper() == "AS"
    assert "npm ci --omit=dev" in " ".join(args(front, "RUN"))
    assert args(runtime, "FROM") == ["python:3.11-slim"]
    assert f"--from={name} /build/node_modules ./node_modules" in args(runtime, "COPY")


def test_the_packages_the_app_serves_survive_omit_dev():
    dependencies = json.loads((ROOT / "package.json").read_text())["dependencies"]
    for path in pages.VENDOR.values():
        package = path.relative_to(pages.ROOT / "node_modules").parts[0]
        assert package in dependencies, f"{package} is served but not a dependency"


def test_the_app_is_installed_not_editable_and_its_files_put_where_it_looks():
    _, runtime = stages()
    runs = " ".join(args(runtime, "RUN"))
    assert "pip install --no-cache-dir /tmp/src" in runs and " -e " not in runs
    workdir = args(runtime, "WORKDIR")[-1]
    assert env_of(runtime)["BACKPROP_LAB_ROOT"] == workdir
    copied = {a.split()[-1] for a in args(runtime, "COPY")}
    assert {"./templates", "./static", "./node_modules"} <= copied
    # The code is not left in the working directory, where it would shadow the package.
    assert "/tmp/src/app" in copied and "rm -rf /tmp/src" in runs


def test_every_file_the_dockerfile_copies_exists_and_is_not_ignored():
    ignored = {
        line.strip()
        for line in (ROOT / ".dockerignore").read_text().splitlines()
        if line.strip() and not line.startswith("#")
    }
    for op, line in instructions():
        if op == "COPY" and not line.startswith("--from"):
            for source in line.split()[:-1]:
                assert (ROOT / source).exists(), source
                assert source not in ignored, source
    assert {".venv", "node_modules", ".git"} <= ignored  # never sent to the build


def test_the_image_runs_as_a_user_with_its_data_in_a_volume_and_a_healthcheck():
    _, runtime = stages()
    assert args(runtime, "USER") == ["lab"] and "useradd" in " ".join(args(runtime, "RUN"))
    assert [op for op, _ in runtime].index("USER") < [op for op, _ in runtime].index("CMD")
    assert env_of(runtime)["BACKPROP_LAB_DB"] == "/data/backprop-lab.db"
    assert args(runtime, "VOLUME") == ["/data"]
    check = args(runtime, "HEALTHCHECK")[0]
    assert "CMD" in check and "http://127.0.0.1:8000/healthz" in check
    exec_form = json.loads(check.split("CMD", 1)[1])
    assert exec_form[:2] == ["python", "-c"]
    compile(exec_form[2], "healthcheck", "exec")


def test_the_image_serves_with_one_log_a_short_stop_and_proxy_headers():
    _, runtime = stages()
    command = json.loads(args(runtime, "CMD")[0])
    assert command[:2] == ["uvicorn", "app.main:app"]
    assert all(flag in command for flag in SERVED)
    assert command[command.index("--timeout-graceful-shutdown") + 1] == "3"
    assert "--proxy-headers" in command and "--forwarded-allow-ips" not in command
    assert command[command.index("--host") + 1] == "0.0.0.0"


@pytest.fixture(scope="module")
def compose() -> dict:
    return yaml.safe_load((ROOT / "compose.yaml").read_text())


def test_compose_runs_two_workers_on_redis(compose):
    app = compose["services"]["app"]
    assert app["build"] == "."
    command = app["command"]
    assert command[:2] == ["uvicorn", "app.main:app"]
    assert command[command.index("--workers") + 1] == "2"
    assert all(flag in command for flag in SERVED)
    assert app["environment"]["REDIS_URL"] == "redis://redis:6379/0"
    assert app["ports"] == ["8000:8000"]
    assert app["depends_on"] == {"redis": {"condition": "service_healthy"}}
    test = app["healthcheck"]["test"]
    assert test[:3] == ["CMD", "python", "-c"] and "/readyz" in test[3]
    compile(test[3], "healthcheck", "exec")


def test_compose_redis_appends_every_write_to_a_named_volume(compose):
    redis = compose["services"]["redis"]
    assert redis["image"] == "redis:7"
    command = redis["command"]
    assert command[0] == "redis-server"
    options = dict(zip(command[1::2], command[2::2]))
    assert options == {"--appendonly": "yes", "--appendfsync": "everysec"}
    volume, path = redis["volumes"][0].split(":")
    assert path == "/data" and volume in compose["volumes"]
    assert redis["healthcheck"]["test"] == ["CMD", "redis-cli", "ping"]


@pytest.mark.parametrize("target", ["run", "run-workers"])
def test_the_makefile_serves_as_the_image_does(target):
    own = ("REDIS_URL", "WORKERS", "MAKEFLAGS", "MFLAGS", "MAKELEVEL")  # (under `make test`)
    env = {k: v for k, v in os.environ.items() if k not in own}
    built = ["-o", ".venv/.app", "-o", "node_modules/.package-lock.json"]  # taken as made
    made = subprocess.run(
        ["make", "-n", "--no-print-directory", *built, target],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    command = shlex.split(made.replace("\\\n", " ").strip().splitlines()[-1])
    assert "app.main:app" in command and all(flag in command for flag in SERVED)
    if target == "run-workers":
        assert command[0] == "REDIS_URL=redis://127.0.0.1:6379/0"
        assert command[command.index("--workers") + 1] == "2"
