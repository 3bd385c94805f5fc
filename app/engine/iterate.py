"""Training iterations of a state: one function serves a step, the phase cursor and a
training of many iterations alike.

An iteration runs the passes of `backprop` on the state's batch and applies the update.
It is refused as soon as a number of it, or of the iteration after it, stops being finite
(JSON has no NaN, and a state that cannot be stepped again is of no use).
"""

from dataclasses import dataclass

from app.engine.backprop import Trace, passes
from app.engine.state import State


def trace(state: State) -> Trace:
    """The state's next iteration, with every intermediate quantity."""
    d, t = state.data, state.training
    return passes(state.network, d.inputs[None], d.targets[None], t.learning_rate, t.update_biases)


def iterate(state: State, t: Trace) -> tuple[State, Trace] | None:
    """The state after the iteration `t` (the state's trace) and the trace of the one after
    it; None if either's numbers are not all finite."""
    if not t.finite:
        return None
    after = state.with_params(tuple(t.weights), tuple(t.biases))
    t_after = trace(after)
    return (after, t_after) if t_after.finite else None


@dataclass(frozen=True)
class TrainResult:
    state: State  # the last state whose numbers were all finite
    losses: list[float]  # E_total after each completed iteration
    diverged_at: int | None  # the iteration whose numbers stopped being finite, if any


def train(state: State, iterations: int) -> TrainResult:
    """Run iterations; stop before the first one whose numbers are not all finite."""
    losses: list[float] = []
    t = trace(state)
    for k in range(1, iterations + 1):
        following = iterate(state, t)
        if following is None:
            return TrainResult(state, losses, diverged_at=k)
        state, t = following
        losses.append(t.forward.loss)
    return TrainResult(state, losses, diverged_at=None)
