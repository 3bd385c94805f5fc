"""Training, backprop-lab's engine against the same loop in PyTorch, in the same run.

Four loops, each timed as the median of a few runs, both in float64 on one thread:

- 1,000 full-batch iterations of a 2-8-8-1 tanh/tanh/sigmoid network with binary
  cross-entropy and Adam on a 200-point spiral (target: at most half of PyTorch's time);
- the same in mini-batches of 10, shuffled (each iteration also takes the whole set's
  loss, as the engine does for its loss curve, and so does the PyTorch loop);
- 10,000 iterations of the tutorial's network through `POST /api/networks/{id}/train`
  (the app in process, its training pool included; the finiteness stop kept) against
  10,000 SGD iterations in PyTorch (target: at most a quarter of its time);
- one Adam iteration of 2-16-16-16-2, every intermediate kept (target: no slower).

The engine's loop is `app.engine.train`, which keeps every iteration's numbers checked
finite; PyTorch's is forward, loss, backward(), optimizer.step().

    .venv/bin/python -m benchmarks.training
"""

import statistics
import tempfile
import time

import torch
import torch.nn.functional as F
from fastapi.testclient import TestClient

from app.engine import State, trace, train
from app.engine.data import batch
from app.engine.iterate import updated
from app.engine.state import CLASSIC
from app.main import create_app
from app.settings import load

torch.set_num_threads(1)

SPIRAL = {
    "layers": [2, 8, 8, 1],
    "activations": ["tanh", "tanh", "sigmoid"],
    "loss": "bce",
    "seed": 4,
    "data": {"generator": "spiral", "samples": 200, "noise": 0.1, "seed": 1},
    "optimizer": {"name": "adam"},
    "learning_rate": 0.01,
    "update_biases": True,
}
WIDE = {
    "layers": [2, 16, 16, 16, 2],
    "activations": ["tanh", "tanh", "tanh", "sigmoid"],
    "seed": 0,
    "inputs": [0.3, -0.7],
    "targets": [0.2, 0.8],
    "optimizer": {"name": "adam"},
    "update_biases": True,
}
ACT = {"tanh": torch.tanh, "sigmoid": torch.sigmoid}


def median_s(fn, repeats: int = 5) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter()
        fn()
        samples.append(time.perf_counter() - t0)
    return statistics.median(samples)


def torch_loop(state: State, iterations: int, full_loss: bool = False):
    """The state's training in PyTorch: the same batches, Adam or SGD, as written there."""
    net, t = state.network, state.training
    X, Y = (torch.tensor(a, dtype=torch.float64) for a in state.data.train)

    def run():
        ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
        bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
        params = ws + (bs if t.update_biases else [])
        kind = torch.optim.Adam if t.optimizer["name"] == "adam" else torch.optim.SGD
        opt = kind(params, lr=t.learning_rate)

        def out_of(x):
            out = x
            for w, b, name in zip(ws[:-1], bs[:-1], net.activations):
                out = ACT[name](out @ w.T + b)
            return out @ ws[-1].T + bs[-1]  # the output layer's net

        def loss_of(x, y):
            net_out = out_of(x)
            if net.loss == "bce":
                return F.binary_cross_entropy_with_logits(net_out, y)
            return (0.5 * (y - torch.sigmoid(net_out)) ** 2).sum(dim=-1).mean()

        for k in range(iterations):
            _, rows = batch(len(X), t.batch_size, t.shuffle, t.seed or 0, k)
            opt.zero_grad()
            loss_of(X[rows], Y[rows]).backward()
            opt.step()
            if full_loss:
                with torch.no_grad():
                    loss_of(X, Y).item()

    return run


def row(name: str, ours: float, theirs: float, target: str) -> None:
    print(f"{name:<44}{ours * 1e3:>10.1f}{theirs * 1e3:>11.1f}{ours / theirs:>9.2f}   {target}")


def main() -> None:
    print(f"torch {torch.__version__}, one thread, float64; medians of 5 runs")
    print(f"{'loop':<44}{'ours ms':>10}{'torch ms':>11}{'ratio':>9}   target")
    spiral = State.from_data(SPIRAL)
    ours = median_s(lambda: train(spiral, 1000))
    row(
        "spiral 2-8-8-1, Adam, full batch, 1000 it",
        ours,
        median_s(torch_loop(spiral, 1000)),
        "≤ 0.5",
    )
    batched = State.from_data(SPIRAL | {"batch_size": 10, "shuffle": True})
    ours = median_s(lambda: train(batched, 1000))
    theirs = median_s(torch_loop(batched, 1000, full_loss=True))
    row("spiral, batches of 10, shuffled, 1000 it", ours, theirs, "≤ 0.5")

    classic = State.from_data(CLASSIC)
    with (
        tempfile.TemporaryDirectory() as tmp,
        TestClient(create_app(load({}, db=f"{tmp}/lab.db"))) as client,
    ):
        headers = {"Origin": "http://testserver"}
        made = client.post("/api/networks", json={"preset": "classic"}, headers=headers).json()
        auth = headers | {"Authorization": f"Bearer {made['owner_token']}"}

        def through_api():
            r = client.post(
                f"/api/networks/{made['id']}/train", json={"iterations": 10_000}, headers=auth
            )
            assert r.status_code == 200, r.text

        ours = median_s(through_api)
    row(
        "classic, 10,000 it through POST …/train",
        ours,
        median_s(torch_loop(classic, 10_000), 3),
        "≤ 0.25",
    )

    wide = State.from_data(WIDE)
    ours = median_s(lambda: [updated(wide, trace(wide)) for _ in range(200)]) / 200
    theirs = median_s(torch_loop(wide, 200)) / 200
    row("one Adam iteration of 2-16-16-16-2", ours, theirs, "≤ 1")


if __name__ == "__main__":
    main()
