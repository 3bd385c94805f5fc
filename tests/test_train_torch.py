"""Mini-batch training against PyTorch: every optimiser with its options, under every
schedule, over 50 iterations of batches of 1, 3 and the whole set, in order and shuffled,
from the same starting weights: every parameter, the optimiser's state and each
iteration's loss, to 1e-9."""

import numpy as np
import pytest

from app.engine import State, train
from app.engine.data import batch
from tests.oracle import F, needs_torch, torch

pytestmark = needs_torch

ITERATIONS = 50
OPTIMIZERS = [
    {"name": "sgd"},
    {"name": "sgd", "momentum": 0.9, "dampening": 0.1, "weight_decay": 0.01},
    {"name": "sgd", "momentum": 0.8, "nesterov": True},
    {"name": "rmsprop"},
    {"name": "rmsprop", "momentum": 0.5, "centered": True, "weight_decay": 0.01},
    {"name": "adagrad", "lr_decay": 0.01, "initial_accumulator_value": 0.1},
    {"name": "adam"},
    {"name": "adam", "amsgrad": True, "weight_decay": 0.01, "betas": [0.8, 0.99]},
    {"name": "adamw"},
]
SCHEDULES = [
    {"name": "constant"},
    {"name": "step", "step_size": 7, "gamma": 0.5},
    {"name": "multistep", "milestones": [5, 20, 30]},
    {"name": "exponential", "gamma": 0.97},
    {"name": "cosine", "T_max": 20, "eta_min": 0.001},
    {"name": "linear", "start_factor": 0.25, "total_iters": 10},
]
TORCH_STATE = {  # ours → torch's name in optimizer.state[p]
    "momentum_buffer": "momentum_buffer",
    "square_avg": "square_avg",
    "grad_avg": "grad_avg",
    "sum": "sum",
    "exp_avg": "exp_avg",
    "exp_avg_sq": "exp_avg_sq",
    "max_exp_avg_sq": "max_exp_avg_sq",
}


def start(optimizer, schedule, batch_size, shuffle, update_biases=True) -> State:
    rng = np.random.default_rng(11)
    inputs = rng.uniform(-1, 1, (7, 3))
    targets = rng.uniform(0, 1, (7, 2))
    return State.from_data(
        {
            "layers": [3, 4, 2],
            "activations": ["tanh", "sigmoid"],
            "loss": "mse",
            "seed": 5,
            "data": {"inputs": inputs.tolist(), "targets": targets.tolist()},
            "learning_rate": 0.1,
            "update_biases": update_biases,
            "optimizer": optimizer,
            "schedule": schedule,
            "batch_size": batch_size,
            "shuffle": shuffle,
        }
    )


def torch_optimizer(params, spec, lr):
    options = {k: v for k, v in spec.items() if k != "name"}
    if "betas" in options:
        options["betas"] = tuple(float(b) for b in options["betas"])
    kind = {"sgd": "SGD", "rmsprop": "RMSprop", "adagrad": "Adagrad", "adam": "Adam"}
    kind |= {"adamw": "AdamW"}
    return getattr(torch.optim, kind[spec["name"]])(params, lr=lr, **options)


def torch_schedule(opt, spec):
    options = {k: v for k, v in spec.items() if k != "name"}
    s = torch.optim.lr_scheduler
    return {
        "constant": lambda: s.LambdaLR(opt, lambda e: 1.0),
        "step": lambda: s.StepLR(opt, **options),
        "multistep": lambda: s.MultiStepLR(opt, **options),
        "exponential": lambda: s.ExponentialLR(opt, **options),
        "cosine": lambda: s.CosineAnnealingLR(opt, **options),
        "linear": lambda: s.LinearLR(opt, **options),
    }[spec["name"]]()


def torch_training(state: State):
    """The same training in torch: the same batches (ours, fed to it), optimizer.step()
    then scheduler.step(); the set's loss after each iteration."""
    net, t = state.network, state.training
    X, Y = (torch.tensor(a, dtype=torch.float64) for a in state.data.train)
    ws = [torch.tensor(w, dtype=torch.float64, requires_grad=True) for w in net.weights]
    bs = [torch.tensor(b, dtype=torch.float64, requires_grad=True) for b in net.biases]
    opt = torch_optimizer(ws + (bs if t.update_biases else []), t.optimizer, t.learning_rate)
    sched = torch_schedule(opt, t.schedule)

    def loss_of(x, y):
        out = torch.tanh(x @ ws[0].T + bs[0])
        out = torch.sigmoid(out @ ws[1].T + bs[1])
        return F.mse_loss(out, y)

    losses = []
    for k in range(ITERATIONS):
        _, rows = batch(len(X), t.batch_size, t.shuffle, t.seed or 0, k)
        rows = torch.tensor(rows)
        opt.zero_grad()
        loss_of(X[rows], Y[rows]).backward()
        opt.step()
        sched.step()
        with torch.no_grad():
            losses.append(loss_of(X, Y).item())
    return ws, bs, opt, losses


def close(ours, theirs):
    theirs = np.asarray(theirs.detach().numpy() if hasattr(theirs, "detach") else theirs)
    scale = max(1.0, float(np.abs(theirs).max(initial=0)))
    np.testing.assert_allclose(ours, theirs, rtol=1e-9, atol=1e-12 * scale)


def check(state: State):
    result = train(state, ITERATIONS)
    assert result.diverged_at is None
    ws, bs, opt, losses = torch_training(state)
    end = result.state
    close(result.losses, losses)
    for ours, theirs in zip(end.network.weights + end.network.biases, ws + bs):
        close(ours, theirs)
    assert end.training.step == ITERATIONS
    params = ws + (bs if state.training.update_biases else [])
    for key, arrays in end.training.optimizer_state.items():
        if key == "step":
            continue
        for ours, p in zip(arrays, params, strict=True):
            close(ours, opt.state[p][TORCH_STATE[key]])
    close(end.training.current_learning_rate, opt.param_groups[0]["lr"])


@pytest.mark.parametrize("optimizer", OPTIMIZERS, ids=lambda o: "-".join(map(str, o.values())))
@pytest.mark.parametrize("batch_size,shuffle", [(1, False), (3, True), (None, False)])
def test_every_optimiser_trains_as_torch(optimizer, batch_size, shuffle):
    check(start(optimizer, {"name": "constant"}, batch_size, shuffle))


@pytest.mark.parametrize("schedule", SCHEDULES, ids=lambda s: s["name"])
@pytest.mark.parametrize("optimizer", [{"name": "sgd", "momentum": 0.9}, {"name": "adam"}])
def test_every_schedule_trains_as_torch(schedule, optimizer):
    check(start(optimizer, schedule, 3, True))


def test_biases_kept_out_of_the_optimiser_stay_as_they_were():
    state = start({"name": "adam"}, {"name": "cosine", "T_max": 10}, 3, False, False)
    check(state)
    after = train(state, 5).state
    for ours, before in zip(after.network.biases, state.network.biases):
        np.testing.assert_array_equal(ours, before)
