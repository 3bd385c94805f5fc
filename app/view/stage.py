"""How far the iteration on show has got: which numbers exist yet, what is active.

A number is shown only once its phase has computed it: net and out of layer k from
forward:k on, the losses from loss on, δ and ∂E/∂w of layer k from backward:k on, w⁺
in update. Layers are counted as in the phase names: 0 is the input layer, k the k-th
non-input layer.
"""

from dataclasses import dataclass

import numpy as np

from app.engine import State, Trace
from app.engine.phase import reached
from app.session import Session


@dataclass(frozen=True)
class Stage:
    phase: str
    shown: State  # the state whose iteration is on show (before the update, in update)
    current: State  # the parameters now: what the edit fields hold
    trace: Trace
    precision: int

    @classmethod
    def of(cls, session: Session, precision: int, sample: int = 0) -> "Stage":
        return cls(session.phase, session.shown, session.state, session.trace(sample), precision)

    @property
    def sample(self) -> tuple[np.ndarray, np.ndarray]:
        """The inputs and targets of the sample on show: the one sample, or the chosen one
        of the batch of a data set."""
        return sample_of(self.shown, self.trace)

    @property
    def depth(self) -> int:
        return self.shown.network.depth

    def forward(self, layer: int) -> bool:
        return layer == 0 or reached(self.phase, self.depth, f"forward:{layer}")

    @property
    def loss(self) -> bool:
        return reached(self.phase, self.depth, "loss")

    def backward(self, layer: int) -> bool:
        return reached(self.phase, self.depth, f"backward:{layer}")

    @property
    def updated(self) -> bool:
        return self.phase == "update"

    def active_layer(self, layer: int) -> bool:
        """The neurons the current phase computes."""
        if self.phase == "loss":
            return layer == self.depth
        return self.phase in (f"forward:{layer}", f"backward:{layer}")

    def active_edges(self, l: int) -> bool:
        """The weights[l] and biases[l] the current phase uses or changes."""
        return self.updated or self.phase in (f"forward:{l + 1}", f"backward:{l + 1}")


def sample_of(state: State, trace: Trace) -> tuple[np.ndarray, np.ndarray]:
    """The inputs and targets of the sample `trace` shows (a sample's trace, `at(k)`)."""
    d = state.data
    if d.inputs is not None and d.targets is not None:
        return d.inputs, d.targets
    k = trace.sample or 0
    row = int(trace.batch[k]) if trace.batch is not None else 0  # the sample shown
    return trace.forward.out[0], d.train[1][row]
