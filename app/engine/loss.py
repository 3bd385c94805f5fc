"""Losses: each the per-output loss with its derivative ∂E/∂out.

E_total is the sum of the per-output losses.
"""

from collections.abc import Callable
from dataclasses import dataclass

import numpy as np

Array = np.ndarray


@dataclass(frozen=True)
class Loss:
    name: str
    loss: Callable[[Array, Array], Array]  # E_o, given target and out
    dloss: Callable[[Array, Array], Array]  # ∂E/∂out_o, given target and out


LOSSES: dict[str, Loss] = {
    l.name: l
    for l in (
        # The tutorial's E_total = Σ ½ (target − out)².
        Loss(
            "half_sse",
            lambda target, out: 0.5 * (target - out) ** 2,
            lambda target, out: -(target - out),
        ),
    )
}
