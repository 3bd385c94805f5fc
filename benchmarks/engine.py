"""One full training iteration, backprop-lab's engine against PyTorch autograd, same run.

The engine's iteration is `trace`: forward, backward with every intermediate kept
(net, out, ∂E/∂out, ∂out/∂net, δ, per-path terms), gradients and the update. PyTorch's
is the same maths the way one writes it there: forward, loss, backward(), SGD step.
Both in float64 on one thread. Prints the medians and the ratio.

    .venv/bin/python -m benchmarks.engine
"""

import statistics
import time

import numpy as np
import torch

from app.engine import State, trace
from app.engine.state import CLASSIC

torch.set_num_threads(1)


def median_us(fn, repeats: int = 31, batch: int = 200) -> float:
    fn()
    samples = []
    for _ in range(repeats):
        t0 = time.perf_counter_ns()
        for _ in range(batch):
            fn()
        samples.append((time.perf_counter_ns() - t0) / batch / 1000)
    return statistics.median(samples)


def torch_iteration(state: State):
    network = state.network
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in network.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in network.biases]
    x = torch.tensor(state.data.inputs, dtype=torch.float64)
    target = torch.tensor(state.data.targets, dtype=torch.float64)
    opt = torch.optim.SGD(ws, lr=state.training.learning_rate)

    def iteration():
        opt.zero_grad()
        out = x
        for w, b in zip(ws, bs):
            out = torch.sigmoid(w @ out + b)
        loss = (0.5 * (target - out) ** 2).sum()
        loss.backward()
        opt.step()

    return iteration


def wide() -> State:
    rng = np.random.default_rng(0)
    layers = [2, 16, 16, 16, 2]
    return State.from_data(
        {
            "layers": layers,
            "inputs": rng.uniform(-1, 1, 2),
            "targets": [0.2, 0.8],
            "seed": 0,
        }
    )


def main() -> None:
    print(f"numpy {np.__version__}, torch {torch.__version__}, one thread, float64")
    print(f"{'network':<16}{'engine µs':>12}{'PyTorch µs':>12}{'speed-up':>10}")
    for name, network in (("2-2-2 classic", State.from_data(CLASSIC)), ("2-16-16-16-2", wide())):
        ours = median_us(lambda network=network: trace(network))
        theirs = median_us(torch_iteration(network))
        print(f"{name:<16}{ours:>12.1f}{theirs:>12.1f}{theirs / ours:>9.1f}×")


if __name__ == "__main__":
    main()
