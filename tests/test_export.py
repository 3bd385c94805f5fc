"""Export: the PyTorch and numpy scripts of a network's next iteration, run on their own,
print the API's loss, gradients and update; the JSON export opens again as the same state."""

import ast
import importlib.util
import json
import os
import subprocess
import sys
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import numpy as np
import pytest
from fastapi.testclient import TestClient

from app.engine.state import NAMES
from app.main import create_app
from app.settings import load
from tests.conftest import SAME_ORIGIN, owner_of, required

RUN_TORCH = importlib.util.find_spec("torch") is not None or required("torch")
needs_torch = pytest.mark.skipif(
    not RUN_TORCH,
    reason="PyTorch runs the exported script: pip install torch==2.13.0 (make test does)",
)

SPIRAL = {
    "layers": [2, 8, 8, 1],
    "activations": ["tanh", "tanh", "sigmoid"],
    "loss": "bce",
    "data": {"generator": "spiral", "samples": 120, "noise": 0.2, "seed": 3, "test_fraction": 0.25},
    "batch_size": 10,
    "shuffle": True,
    "seed": 5,
    "init": {"name": "xavier_uniform"},
    "update_biases": True,
    "learning_rate": 0.05,
    "optimizer": {"name": "adam"},
    "schedule": {"name": "cosine", "T_max": 20},
}
# Each network, and what is done to it before its scripts are exported: the iterations
# trained, so that the optimiser's state and the schedule's η are not the fresh ones.
NETWORKS = {
    "classic": ({"preset": "classic"}, 0),
    "classic_tanh": (
        {
            "preset": "classic_tanh",
            "loss": "mse",
            "optimizer": {"name": "rmsprop", "centered": True, "momentum": 0.5},
            "schedule": {"name": "exponential", "gamma": 0.9},
        },
        2,
    ),
    "softmax": (
        {
            "layers": [2, 3, 3],
            "activations": ["leaky_relu", "softmax"],
            "loss": "cross_entropy",
            "inputs": [0.5, -1.0],
            "targets": [0.2, 0.3, 0.5],
            "seed": 4,
            "update_biases": True,
            "optimizer": {"name": "adagrad", "lr_decay": 0.1},
            "schedule": {"name": "linear", "total_iters": 4},
        },
        2,
    ),
    "spiral": (SPIRAL, 5),
    "momentum": (
        {
            "preset": "classic",
            "update_biases": True,
            "optimizer": {"name": "sgd", "momentum": 0.9, "weight_decay": 0.01},
            "schedule": {"name": "multistep", "milestones": [1, 3]},
        },
        1,
    ),
    "adamw": (
        {"preset": "relu", "optimizer": {"name": "adamw", "amsgrad": True}, "learning_rate": 0.1},
        3,
    ),
}
FORMATS = ["numpy"] + (["pytorch"] if RUN_TORCH else [])

# Runs each script given as a program (its own globals, __name__ "__main__", argv [path,
# "--json"]) in one interpreter: a PyTorch script costs about 3 s, mostly torch.optim's
# import of torch._dynamo, paid here once for them all. Each imports what it uses all the
# same: a name it does not import is a NameError in its own globals.
RUNNER = """
import contextlib, io, runpy, sys
for path in sys.argv[1:]:
    sys.argv = [path, "--json"]
    printed = io.StringIO()
    with contextlib.redirect_stdout(printed):
        runpy.run_path(path, run_name="__main__")
    print(printed.getvalue().strip())
"""


@dataclass
class Run:
    backward: dict  # the API's backward answer of the iteration the scripts run
    step: dict  # its step answer (with the batch's loss, which the backward answer has not)
    printed: dict  # format → what the script printed with --json
    text: dict  # format → what it printed without (the classic network's only)


def run(args: list[str]) -> str:
    # One thread each: tiny tensors, and other runs beside.
    env = os.environ | {"OMP_NUM_THREADS": "1", "MKL_NUM_THREADS": "1"}
    done = subprocess.run(args, capture_output=True, text=True, timeout=300, env=env)
    assert done.returncode == 0, done.stderr
    return done.stdout


@pytest.fixture(scope="module")
def runs(tmp_path_factory) -> dict[str, Run]:
    """Per network, the API's answers of its next iteration and what its scripts printed:
    per format one interpreter runs every network's script, and the classic network's
    scripts run alone besides (readable output), all at once."""
    folder = tmp_path_factory.mktemp("export")
    scripts: dict[str, list[str]] = {format: [] for format in FORMATS}
    results = {}
    with TestClient(create_app(load({}, db=str(folder / "lab.db"))), headers=SAME_ORIGIN) as c:
        owner_of(c)
        for name, (body, iterations) in NETWORKS.items():
            id = c.post("/api/networks", json=body).json()["id"]
            if iterations:
                assert c.post(
                    f"/api/networks/{id}/train", json={"iterations": iterations}
                ).is_success
            for format in FORMATS:
                r = c.get(f"/api/networks/{id}/export", params={"format": format})
                assert r.status_code == 200, r.text
                (folder / f"{name}-{format}.py").write_bytes(r.content)
                scripts[format].append(str(folder / f"{name}-{format}.py"))
            backward = c.post(f"/api/networks/{id}/backward").json()
            results[name] = Run(backward, c.post(f"/api/networks/{id}/step").json(), {}, {})
    jobs = [[sys.executable, "-c", RUNNER, *paths] for paths in scripts.values()]
    jobs += [[sys.executable, str(folder / f"classic-{format}.py")] for format in FORMATS]
    with ThreadPoolExecutor(len(jobs)) as pool:
        outputs = list(pool.map(run, jobs))
    for format, out in zip(FORMATS, outputs):
        for name, line in zip(NETWORKS, out.splitlines(), strict=True):
            results[name].printed[format] = json.loads(line)
    for format, out in zip(FORMATS, outputs[len(FORMATS) :]):
        results["classic"].text[format] = out
    return results


def close(got, want) -> None:
    """Equal to 1e-9, relative to the largest number of each array (of each layer's)."""
    if isinstance(want, list) and want and isinstance(want[0], list):
        shapes = {np.shape(w) for w in want}
        if len(shapes) > 1:  # a list of layers of other shapes
            assert len(got) == len(want)
            for g, w in zip(got, want):
                close(g, w)
            return
    got, want = np.asarray(got, dtype=np.float64), np.asarray(want, dtype=np.float64)
    scale = float(np.abs(want).max(initial=0.0))
    np.testing.assert_allclose(got, want, rtol=1e-9, atol=1e-9 * scale)


def same_iteration(printed: dict, r: Run) -> None:
    assert printed["batch"] == r.backward["batch"]
    close(printed["loss"], r.step["loss"])
    close(printed["weight_grads"], r.backward["weight_grads"])
    close(printed["bias_grads"], r.backward["bias_grads"])
    close(printed["weights"], r.step["weights"])
    close(printed["biases"], r.step["biases"])


@pytest.mark.parametrize("name", NETWORKS)
def test_the_numpy_script_runs_the_iteration_the_api_answers(runs, name):
    r = runs[name]
    printed = r.printed["numpy"]
    same_iteration(printed, r)
    close(printed["deltas"], r.backward["deltas"])  # the batch's sample 0


@needs_torch
@pytest.mark.parametrize("name", NETWORKS)
def test_the_pytorch_script_runs_the_iteration_the_api_answers(runs, name):
    r = runs[name]
    printed = r.printed["pytorch"]
    same_iteration(printed, r)
    assert printed["learning_rate"] == r.step["learning_rate"]
    # The schedule goes on from where the network is, as backprop-lab's does (bit for bit).
    assert printed["next_learning_rate"] == r.step["current_learning_rate"]


def test_the_spiral_batch_is_a_shuffled_part_of_the_set(runs):
    """The scripts ran a batch of 10 rows, not the first ten: the shuffled epoch's."""
    batch = runs["spiral"].backward["batch"]
    assert len(batch) == 10 and batch != list(range(10))


@pytest.mark.parametrize("format", ["numpy", pytest.param("pytorch", marks=needs_torch)])
def test_the_scripts_print_each_gradient_and_update_by_name(runs, format):
    text = runs["classic"].text[format]
    names = [f"w{k}" for k in range(1, 9)] + ["b1_1", "b1_2", "b2_1", "b2_2"]
    for name in names:
        assert f"  dE/d{name} = " in text
        assert f"\n  {name} = " in text
    assert "E_total = 0.29837110876" in text
    assert "w5 = 0.4 -> 0.358916479717" in text  # the tutorial's w5⁺
    if format == "numpy":
        for name in ("h1", "h2", "o1", "o2"):
            assert f"net_{name} = " in text and f"delta_{name} = " in text
        assert "delta_o1 = 0.138498561628" in text


def test_the_json_export_opens_again_as_the_same_state(client):
    id = client.post("/api/networks", json=SPIRAL).json()["id"]
    client.post(f"/api/networks/{id}/train", json={"iterations": 5})
    before = client.get(f"/api/networks/{id}").json()
    r = client.get(f"/api/networks/{id}/export", params={"format": "json"})
    assert r.status_code == 200 and r.headers["content-type"] == "application/json"
    assert r.headers["content-disposition"] == (
        f'attachment; filename="backprop-lab-{before["code"]}.json"'
    )
    assert r.content == client.get(f"/api/networks/{id}/scenario").content
    copy = client.post(
        "/api/networks", content=r.content, headers={"Content-Type": "application/json"}
    )
    assert copy.status_code == 201, copy.text
    after = copy.json()
    assert {k: after[k] for k in NAMES} == {k: before[k] for k in NAMES}
    assert after["optimizer_state"]["step"] == 5 and after["data"]["generator"] == "spiral"
    assert any(x != 0 for row in after["optimizer_state"]["exp_avg"]["weights"][0] for x in row)
    ours, theirs = (client.post(f"/api/networks/{i}/backward").json() for i in (id, after["id"]))
    assert theirs.pop("iteration") == 0 and ours.pop("iteration") == 5
    assert theirs.pop("id") == after["id"] and ours.pop("id") == id
    assert theirs == ours


IMPORTS = {"pytorch": {"argparse", "json", "torch"}, "numpy": {"argparse", "json", "numpy"}}


@pytest.mark.parametrize("loss", ["half_sse", "bce"])
def test_the_scripts_are_python_files_to_download_that_import_no_app(client, loss):
    body = {"preset": "classic", "loss": loss, "targets": [0.0, 1.0]}
    s = client.post("/api/networks", json=body).json()
    for format in ("pytorch", "numpy"):
        r = client.get(f"/api/networks/{s['id']}/export", params={"format": format})
        assert r.headers["content-type"] == "text/x-python; charset=utf-8"
        assert r.headers["content-disposition"] == (
            f'attachment; filename="backprop-lab-{s["code"]}-{format}.py"'
        )
        tree = ast.parse(r.text)
        imported = {
            a.name.split(".")[0]
            for n in ast.walk(tree)
            if isinstance(n, ast.Import)
            for a in n.names
        }
        assert imported == IMPORTS[format]
        assert not [n for n in ast.walk(tree) if isinstance(n, ast.ImportFrom)]


def test_an_unknown_network_or_format_is_refused(client, classic):
    r = client.get("/api/networks/none/export", params={"format": "json"})
    assert r.status_code == 404
    for params in ({"format": "excel"}, {}):
        r = client.get(f"/api/networks/{classic}/export", params=params)
        assert r.status_code == 422, r.text
        assert r.json()["detail"][0]["loc"] == ["query", "format"]


def test_a_slipped_network_s_script_says_it_runs_the_correct_iteration(client):
    made = client.post("/api/networks", json={"preset": "classic", "classic_slip": True}).json()
    for format in ("pytorch", "numpy"):
        r = client.get(f"/api/networks/{made['id']}/export", params={"format": format})
        assert r.status_code == 200 and r.text.startswith("# This network has classic_slip on")
    plain = client.post("/api/networks", json={"preset": "classic"}).json()
    r = client.get(f"/api/networks/{plain['id']}/export", params={"format": "pytorch"})
    assert "classic_slip" not in r.text
