"""The JSON shapes of the API, for validation of requests and for the OpenAPI document.

Types and ranges are checked here; shapes (which depend on `layers`) by the engine.
"""

from typing import Annotated, Any, Literal

from pydantic import (
    BaseModel,
    BeforeValidator,
    ConfigDict,
    Field,
    StringConstraints,
)

from app.bounds import REQUEST_LIMITS
from app.engine import ACTIVATIONS, LIMITS, LOSSES, PRESETS
from app.engine.data import MAX_SAMPLES
from app.engine.state import DOCS
from app.session import MAX_ITERATIONS


def _whole(value: object) -> object:
    """2.0 as 2: JSON Schema's integers include them (true stays a boolean, refused)."""
    return int(value) if isinstance(value, float) and value.is_integer() else value


Number = Annotated[float, Field(strict=True, allow_inf_nan=False)]
LayerSize = Annotated[
    int, Field(strict=True, ge=1, le=LIMITS["max_neurons"]), BeforeValidator(_whole)
]
ActivationName = Literal[tuple(ACTIVATIONS)]  # type: ignore[valid-type]
LossName = Literal[tuple(LOSSES)]  # type: ignore[valid-type]
PresetName = Literal[tuple(PRESETS)]  # type: ignore[valid-type]
Layers = Annotated[list[LayerSize], Field(min_length=2, max_length=LIMITS["max_hidden_layers"] + 2)]
# Every list is bounded by the largest network the engine takes, before the engine sees it.
_DEPTH, _WIDTH = LIMITS["max_hidden_layers"] + 1, LIMITS["max_neurons"]
Neurons = Annotated[list[Number], Field(max_length=_WIDTH)]
Weights = Annotated[
    list[Annotated[list[Neurons], Field(max_length=_WIDTH)]], Field(max_length=_DEPTH)
]
Biases = Annotated[list[Neurons], Field(max_length=_DEPTH)]
ParamName = Annotated[str, StringConstraints(max_length=REQUEST_LIMITS["name_chars"])]
WeightsByName = Annotated[
    dict[ParamName, Number], Field(max_length=REQUEST_LIMITS["weights_by_name"])
]
BiasesByName = Annotated[
    dict[ParamName, Number], Field(max_length=REQUEST_LIMITS["biases_by_name"])
]
LearningRate = Annotated[
    float, Field(strict=True, allow_inf_nan=False, ge=0, le=LIMITS["max_learning_rate"])
]
# Up to 2**53 - 1, the largest whole number every JSON reader takes exactly.
Seed = Annotated[int, Field(strict=True, ge=0, le=2**53 - 1), BeforeValidator(_whole)]

Word = Annotated[str, StringConstraints(max_length=REQUEST_LIMITS["name_chars"])]
# An initialiser, optimiser or schedule: {"name": …, option: value}; the engine checks
# which names and options there are.
Choice = Annotated[
    dict[
        Word,
        Annotated[bool, Field(strict=True)]
        | Annotated[int, Field(strict=True)]
        | Number
        | Word
        | Annotated[
            list[Annotated[int, Field(strict=True)] | Number],
            Field(max_length=REQUEST_LIMITS["option_items"]),
        ],
    ],
    Field(max_length=REQUEST_LIMITS["options"]),
]

Int = Annotated[int, Field(strict=True), BeforeValidator(_whole)]
Rows = Annotated[list[Neurons], Field(max_length=MAX_SAMPLES)]
# A data set: a table of rows, or a generator and its options (the engine checks which).
DataSpec = Annotated[
    dict[Word, Rows | Annotated[bool, Field(strict=True)] | Int | Number | Word],
    Field(max_length=REQUEST_LIMITS["options"]),
]
# The optimiser's state: "step", and per entry the weights' and biases' shapes.
OptimizerState = Annotated[
    dict[
        Word,
        Int | Annotated[dict[Word, Weights | Biases | None], Field(max_length=2)],
    ],
    Field(max_length=REQUEST_LIMITS["options"]),
]

# Each field's one-line doc is the state's table's (app/engine/state.py).
DOC = DOCS


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid")


class StateFields(_Strict):
    layers: Layers | None = Field(None, description=DOC["layers"])
    activations: Annotated[list[ActivationName], Field(max_length=_DEPTH)] | None = Field(
        None, description=DOC["activations"]
    )
    loss: LossName | None = Field(None, description=DOC["loss"])
    inputs: Neurons | None = Field(None, description=DOC["inputs"])
    targets: Neurons | None = Field(None, description=DOC["targets"])
    learning_rate: LearningRate | None = Field(None, description=DOC["learning_rate"])
    update_biases: Annotated[bool, Field(strict=True)] | None = Field(
        None, description=DOC["update_biases"]
    )
    classic_slip: Annotated[bool, Field(strict=True)] | None = Field(
        None, description=DOC["classic_slip"]
    )
    seed: Seed | None = Field(None, description=DOC["seed"])
    init: Choice | None = Field(None, description=DOC["init"])
    data: DataSpec | None = Field(None, description=DOC["data"])
    optimizer: Choice | None = Field(None, description=DOC["optimizer"])
    optimizer_state: OptimizerState | None = Field(None, description=DOC["optimizer_state"])
    schedule: Choice | None = Field(None, description=DOC["schedule"])
    current_learning_rate: LearningRate | None = Field(
        None, description=DOC["current_learning_rate"]
    )
    batch_size: (
        Annotated[int, Field(strict=True, ge=1, le=MAX_SAMPLES), BeforeValidator(_whole)] | None
    ) = Field(None, description=DOC["batch_size"])
    shuffle: Annotated[bool, Field(strict=True)] | None = Field(None, description=DOC["shuffle"])


class CreateNetwork(StateFields):
    """A preset, a full state, or a preset with some fields overridden."""

    preset: PresetName | None = None
    weights: Weights | None = Field(None, description=DOC["weights"])
    biases: Biases | None = Field(None, description=DOC["biases"])


class PatchNetwork(StateFields):
    """Any subset of the state. Weights and biases as full arrays or by name."""

    weights: Weights | WeightsByName | None = Field(
        None, description=DOC["weights"] + ' Or by name: {"w5": 0.3}.'
    )
    biases: Biases | BiasesByName | None = Field(
        None, description=DOC["biases"] + ' Or by name: {"b2_1": 0.6}.'
    )


Count = Annotated[int, Field(strict=True, ge=1, le=MAX_ITERATIONS), BeforeValidator(_whole)]


class TrainIterations(_Strict):
    """Iterations, one batch each."""

    iterations: Count


class TrainEpochs(_Strict):
    """Epochs: every batch of the training set, each."""

    epochs: Count


TrainRequest = TrainIterations | TrainEpochs


class Scenario(BaseModel):
    """A network's whole state, as `POST /api/networks` takes it."""

    layers: list[int] = Field(description=DOC["layers"])
    activations: list[str] = Field(description=DOC["activations"])
    loss: str = Field(description=DOC["loss"])
    weights: Weights = Field(description=DOC["weights"])
    biases: Biases = Field(description=DOC["biases"])
    inputs: list[float] | None = Field(description=DOC["inputs"])
    targets: list[float] | None = Field(description=DOC["targets"])
    data: dict[str, Any] | None = Field(description=DOC["data"])
    learning_rate: float = Field(description=DOC["learning_rate"])
    update_biases: bool = Field(description=DOC["update_biases"])
    classic_slip: bool = Field(description=DOC["classic_slip"])
    seed: int | None = Field(description=DOC["seed"])
    init: dict[str, Any] = Field(description=DOC["init"])
    optimizer: dict[str, Any] = Field(description=DOC["optimizer"])
    optimizer_state: dict[str, Any] = Field(description=DOC["optimizer_state"])
    schedule: dict[str, Any] = Field(description=DOC["schedule"])
    current_learning_rate: float = Field(description=DOC["current_learning_rate"])
    batch_size: int | None = Field(description=DOC["batch_size"])
    shuffle: bool = Field(description=DOC["shuffle"])


class Where(BaseModel):
    id: str
    iteration: int = Field(description="Updates applied so far.")
    phase: str = Field(description="ready, forward:k, loss, backward:k or update.")


class State(Scenario, Where):
    """Where the network is, its join code and version, and its whole state."""

    code: str = Field(description="The join code: six characters that open the network read-only.")
    version: int = Field(description="One more after every change (for follow events).")


class Created(State):
    owner_token: str = Field(
        description="Send as `Authorization: Bearer <owner_token>` to change the network. "
        "Given only in this answer: keep it."
    )


class Entry(BaseModel):
    seq: int = Field(description="The change's number, from 1 (the network's creation).")
    iteration: int
    phase: str
    action: str = Field(description="create, edit, next, prev, step, train or reset.")


class HistoryResult(BaseModel):
    id: str
    cursor: int = Field(description="The seq of the state on show; later entries can be redone.")
    entries: list[Entry]


class NextBatch(Where):
    batch: list[int] = Field(description="The next iteration's samples: indices into the data.")
    epoch: int = Field(description="The epoch the batch belongs to, from 0.")


class Batch(NextBatch):
    sample: int = Field(description="The sample of the batch whose figures are shown, from 0.")


class ForwardResult(Batch):
    net: list[list[float]] = Field(description="The sample's, per non-input layer: Σ w·out + b.")
    out: list[list[float]] = Field(description="The sample's, per layer, input layer first.")
    losses: list[float] = Field(description="The sample's, per output neuron: E_o.")
    loss: float = Field(description="E_total of the batch: the mean over its samples.")
    sample_loss: float = Field(description="E_total of the sample.")


class BackwardResult(Batch):
    dE_dout: list[list[float | None]] = Field(
        description=(
            "Per non-input layer: ∂E/∂out. null where it is not finite: an output that has "
            "rounded to exactly 0 or 1 under bce (or to 0 under cross_entropy), whose δ is "
            "then computed fused with the activation, exactly (δ = out − target), as torch's "
            "binary_cross_entropy_with_logits does."
        )
    )
    dE_dout_terms: Weights = Field(description="Shape of weights: δ_j · w_ji.")
    dout_dnet: list[list[float]] = Field(description="Per non-input layer: ∂out/∂net.")
    deltas: list[list[float]] = Field(description="Per non-input layer: δ = ∂E/∂net.")
    weight_grads: Weights = Field(description="The batch's mean ∂E/∂w (shape of weights).")
    bias_grads: Biases = Field(description="The batch's mean ∂E/∂b (shape of biases).")
    sample_weight_grads: Weights = Field(description="The sample's ∂E/∂w = δ_j · out_i.")
    sample_bias_grads: Biases = Field(description="The sample's ∂E/∂b = δ_j.")


class GradCheckResult(NextBatch):
    loss: float = Field(description="E, the batch's E_total (the mean over its samples).")
    weight_grads: Weights = Field(
        description="Backpropagation's ∂E/∂w of the batch (a), as the next update uses it."
    )
    bias_grads: Biases = Field(description="Backpropagation's ∂E/∂b of the batch.")
    numeric_weight_grads: Weights = Field(
        description="Central finite differences (n): (E(w + h) − E(w − h)) / 2h."
    )
    numeric_bias_grads: Biases = Field(description="(E(b + h) − E(b − h)) / 2h.")
    weight_errors: Weights = Field(description="Relative errors |a − n| / max(|a|, |n|, tiny).")
    bias_errors: Biases = Field(description="Relative errors |a − n| / max(|a|, |n|, tiny).")
    max_error: float = Field(description="The largest of the errors.")
    max_error_at: str = Field(description="The parameter it is at, by name: w5, b2_1.")
    h: float = Field(description="The step, ∛ε of float64: about 6.06e-6.")
    tiny: float = Field(
        description="1e-4 · |E|: a gradient smaller than tiny has its error measured against "
        "tiny (the differences resolve a gradient only to about 4e-11 · |E|)."
    )


class StepResult(ForwardResult, BackwardResult):
    weights: Weights = Field(description="After the update (sgd: w − η · ∂E/∂w).")
    biases: Biases = Field(description="After the update (changed only with update_biases).")
    learning_rate: float = Field(description="The η of this update.")
    terms: dict[str, Any] = Field(
        description="Each term of the optimiser's update, torch's names ({weights, biases} "
        "or a number): grad, update (w − w⁺) and the rule's own (for adam: exp_avg, "
        "exp_avg_sq, m_hat, v_hat, denom, step_size)."
    )
    optimizer_state: dict[str, Any] = Field(description=DOC["optimizer_state"])
    current_learning_rate: float = Field(description="The η of the next iteration.")
    loss_before: float
    loss_after: float


class TrainResult(State):
    losses: list[float] = Field(
        description="E_total of the training set after each iteration (≤ 1000, thinned)."
    )
    test_losses: list[float] = Field(description="Of the test set, if the data has one.")
    loss_iterations: list[int] = Field(description="The iteration each loss was taken after.")
    learning_rates: list[float] = Field(description="The η each of those iterations used.")
    diverged_at: int | None = Field(
        description="The iteration whose numbers stopped being finite; training stopped "
        "before it and kept the last finite state."
    )


class RunResult(BaseModel):
    """A live training: started by `POST …/run`, it trains a chunk at a time (about 0.15 s
    of work each), storing each chunk as it ends, so that `GET …/run`, the network and its
    followers' events show it as it goes."""

    id: str = Field(description="This run's id.")
    status: Literal["running", "done", "stopped", "diverged", "failed"] = Field(
        description="running; done; stopped (`POST …/run/stop`, a reset, an undo or a "
        "jump, or the server stopping); diverged (numbers stopped being finite); failed "
        "(the server running it stopped without a word)."
    )
    unit: Literal["iterations", "epochs"] = Field(description="As asked.")
    count: int = Field(description="As asked, in its unit.")
    iterations: int = Field(description="The iterations it runs in all.")
    done: int = Field(description="The iterations done so far.")
    start: int = Field(description="The network's iteration when it started.")
    learning_rate: float | None = Field(description="The η of its latest iteration.")
    diverged_at: int | None = Field(description="The iteration that was not finite, if any.")
    loss_iterations: list[int] = Field(
        description="The loss curve's iterations (≤ 502): the start, evenly spaced ones, "
        "the latest."
    )
    losses: list[float] = Field(description="E_total of the training set at each.")
    test_losses: list[float | None] = Field(description="Of the test set, if the data has one.")
