"""Training iterations of a state: one function serves a step, the phase cursor and a
training of many iterations alike.

An iteration takes the state's next batch (one sample, or `batch_size` samples of its
data set in the order of their epoch), runs the passes of `backprop` on it, lets the
optimiser update the parameters with the schedule's current η, and then steps the
schedule, as `optimizer.step(); scheduler.step()` do in PyTorch. It is refused as soon as
a number of it, or of the iteration after it, stops being finite (JSON has no NaN, and a
state that cannot be stepped again is of no use).
"""

from dataclasses import dataclass, replace

import numpy as np

from app.engine import optim, schedule
from app.engine.backprop import Array, Trace, forward, passes
from app.engine.data import batch
from app.engine.network import LIMITS
from app.engine.state import State


def trace(state: State) -> Trace:
    """The state's next iteration, with every intermediate quantity."""
    network, t = state.network, state.training
    inputs, targets = state.data.train
    epoch, rows = batch(len(inputs), t.batch_size, t.shuffle, t.seed or 0, t.step)
    fwd, bwd, weight_grads, bias_grads = passes(network, inputs[rows], targets[rows])
    grads = tuple(weight_grads) + (tuple(bias_grads) if t.update_biases else ())
    step = optim.OPTIMIZERS[t.optimizer["name"]].step
    with np.errstate(all="ignore"):
        params, optimizer_state, terms = step(
            t.params(network), grads, t.optimizer_state, t.current_learning_rate, t.optimizer
        )
    n = len(network.weights)
    biases = list(params[n:]) if t.update_biases else list(network.biases)
    return Trace(
        fwd,
        bwd,
        weight_grads,
        bias_grads,
        list(params[:n]),
        biases,
        optimizer_state,
        terms,
        rows,
        epoch,
        t.current_learning_rate,
    )


def updated(state: State, t: Trace) -> State | None:
    """The state after the iteration `t` (the state's trace): its parameters, the
    optimiser's state and the schedule's next η; None if that η is out of bounds."""
    training = state.training
    spec = training.schedule
    lr = schedule.SCHEDULES[spec["name"]].next(
        training.current_learning_rate, training.learning_rate, t.optimizer_state["step"], spec
    )
    if not 0 <= lr <= LIMITS["max_learning_rate"]:  # NaN included
        return None
    after = state.with_params(tuple(t.weights), tuple(t.biases))
    training = replace(training, optimizer_state=t.optimizer_state, current_learning_rate=lr)
    return replace(after, training=training)


def iterate(state: State, t: Trace) -> tuple[State, Trace] | None:
    """The state after the iteration `t` (the state's trace) and the trace of the one after
    it; None if either's numbers are not all finite."""
    if not t.finite:
        return None
    after = updated(state, t)
    if after is None:
        return None
    t_after = trace(after)
    return (after, t_after) if t_after.finite else None


def loss(state: State, samples: tuple[Array, Array]) -> float:
    """E_total of the network on the samples (a batch of them all)."""
    with np.errstate(all="ignore"):
        return forward(state.network, *samples).loss


@dataclass(frozen=True)
class TrainResult:
    state: State  # the last state whose numbers were all finite
    losses: list[float]  # E_total of the training set after each completed iteration
    test_losses: list[float]  # of the test set, if there is one
    learning_rates: list[float]  # the η each iteration used
    diverged_at: int | None  # the iteration whose numbers stopped being finite, if any


def train(state: State, iterations: int) -> TrainResult:
    """Run iterations; stop before the first one whose numbers are not all finite."""
    losses: list[float] = []
    test_losses: list[float] = []
    rates: list[float] = []
    data = state.data
    one_batch = data.data is None or state.training.batch_size is None
    t = trace(state)
    for k in range(1, iterations + 1):
        following = iterate(state, t)
        if following is None:
            return TrainResult(state, losses, test_losses, rates, diverged_at=k)
        rates.append(t.learning_rate)
        state, t = following
        # With one batch of the whole set, the next iteration's loss is the set's.
        losses.append(t.forward.loss if one_batch else loss(state, data.train))
        if data.test is not None:
            test_losses.append(loss(state, data.test))
    return TrainResult(state, losses, test_losses, rates, diverged_at=None)
