"""Export: a network's next iteration as a script that runs it outside backprop-lab, in
PyTorch or in plain numpy, with the same numbers.

A script carries the state it needs as Python literals (floats written by repr(), which
reads back as the same float64): the parameters, the training set and the rows of the
iteration's batch, the optimiser with its options and state, and the schedule's η. It runs
that one iteration, forward, loss, backward and update, and prints the loss, every gradient
and every updated parameter by name; with `--json`, one object shaped as the API's answers
(`loss`, `weight_grads`, `bias_grads` as `POST …/backward`'s, `weights`, `biases` as
`POST …/step`'s). The network's JSON export is its scenario file (app/scenario.py).

The code written out is the state's own (its layers, activations, loss, optimiser and
schedule), not a general program with a table of choices: what a student reads is what runs.
"""

from string import Template
from typing import Literal

from app.engine import State, bias_name, weight_name
from app.engine.data import batch, batches_per_epoch
from app.export import numpy_script, torch_script
from app.export.source import nested, notes, plain, state_literal
from app.session import Session

Format = Literal["pytorch", "numpy", "json"]
PYTHON = "text/x-python"
SCRIPTS = {"pytorch": torch_script, "numpy": numpy_script}


def filename(code: str, format: Format) -> str:
    return f"backprop-lab-{code}.json" if format == "json" else f"backprop-lab-{code}-{format}.py"


def script(session: Session, format: Format) -> str:
    """The script of the session's next iteration, for "pytorch" or "numpy"."""
    fields = {
        "code": session.code,
        "iteration": session.iteration + 1,
        "filename": filename(session.code, format),
        "data": _data(session.state),
    }
    kind = SCRIPTS[format]
    text = Template(kind.TEMPLATE).substitute(fields | kind.fields(session.state))
    if session.state.training.classic_slip:
        return SLIP_NOTE + text
    return text


# The slip is a mistake to show beside the right iteration, not one to hand on.
SLIP_NOTE = (
    "# This network has classic_slip on: backprop-lab takes its hidden δ through the\n"
    "# already updated weights, as the code behind the tutorial's printed figures did.\n"
    "# This script runs the correct iteration (the tutorial's derivation), so its hidden\n"
    "# gradients differ from backprop-lab's on purpose.\n"
)


def _data(state: State) -> str:
    network, training = state.network, state.training
    layers = network.layers
    inputs, targets = state.data.train
    # The rows of the batch, as app.engine.iterate.trace takes them (the API's `batch`).
    t = training
    epoch, rows = batch(len(inputs), t.batch_size, t.shuffle, t.seed or 0, t.step)
    per_epoch = batches_per_epoch(len(inputs), training.batch_size)
    weight_names = [
        [[weight_name(layers, l, j, i) for i in range(m)] for j in range(n)]
        for l, (m, n) in enumerate(zip(layers, layers[1:]))
    ]
    bias_names = [[bias_name(l, j) for j in range(n)] for l, n in enumerate(layers[1:])]
    order = "shuffled from the seed" if training.shuffle else "in order"
    size = "null, the whole set" if training.batch_size is None else training.batch_size
    n = len(network.weights)
    state_data = state.to_data()["optimizer_state"]
    per_param = {
        key: entry["weights"] + (entry["biases"] if training.update_biases else [])
        for key, entry in state_data.items()
        if key != "step"
    }
    param_notes = notes(weight_names, "weights")
    param_notes += notes(bias_names, "biases") if training.update_biases else []
    return "\n".join(
        [
            "# The parameters, weights[l][j][i] from neuron i of layer l to neuron j of layer l+1",
            "# and biases[l][j] into neuron j of layer l+1, and their names in backprop-lab.",
            f"WEIGHTS = {nested(plain(network.weights), notes(weight_names))}",
            f"BIASES = {nested(plain(network.biases), notes(bias_names))}",
            f"WEIGHT_NAMES = {nested(weight_names)}",
            f"BIAS_NAMES = {nested(bias_names)}",
            "",
            "# The training set, one sample a row, and the rows of this iteration's batch.",
            f"INPUTS = {nested(inputs.tolist())}",
            f"TARGETS = {nested(targets.tolist())}",
            f"BATCH = {rows.tolist()!r}",
            f"# Epoch {epoch} (from 0), its batch {training.step % per_epoch + 1} of {per_epoch}:"
            f" batch_size {size}, {order}.",
            "",
            "# How it is trained.",
            f"UPDATE_BIASES = {training.update_biases!r}  # whether the optimiser updates them",
            f"LEARNING_RATE = {training.learning_rate!r}  # η₀, the schedule's base rate",
            f"CURRENT_LEARNING_RATE = {training.current_learning_rate!r}  # η of this iteration",
            f"STEP = {training.step!r}  # iterations since the optimiser and the schedule started",
            "# The optimiser's state after STEP steps, torch's names: per entry one array per",
            f"# parameter it updates (weights[0] … weights[{n - 1}]"
            + (f", then biases[0] … biases[{n - 1}])." if training.update_biases else ")."),
            f"OPTIMIZER_STATE = {state_literal(per_param, param_notes)}",
        ]
    )
