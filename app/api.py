"""The JSON API under /api: create, read, edit and step networks.

Handlers read the request, run one session operation through the store, and answer.
"""

from collections.abc import Callable
from typing import Annotated, Any

import orjson
from fastapi import APIRouter, Depends, Request, Response

from app import ratelimit, training
from app import session as ops
from app.engine import Backward, Forward, trace
from app.schemas import (
    BackwardResult,
    CreateNetwork,
    ForwardResult,
    PatchNetwork,
    State,
    StepResult,
    TrainRequest,
    TrainResult,
)
from app.session import Session
from app.store import Store

router = APIRouter(prefix="/api", tags=["networks"])


def get_store(request: Request) -> Store:
    return request.app.state.store


StoreDep = Annotated[Store, Depends(get_store)]


def json(data: dict[str, Any], status_code: int = 200) -> Response:
    # orjson writes float64 exactly (shortest round-trip form) and numpy arrays directly.
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )


def where(s: Session) -> dict[str, Any]:
    return {"id": s.id, "iteration": s.iteration, "phase": s.phase}


def forward_data(f: Forward) -> dict[str, Any]:
    return {"net": f.net, "out": f.out, "losses": f.losses, "loss": f.loss}


def backward_data(b: Backward) -> dict[str, Any]:
    return {
        "dE_dout": b.dE_dout,
        "dE_dout_terms": b.dE_dout_terms,
        "dout_dnet": b.dout_dnet,
        "deltas": b.deltas,
        "weight_grads": b.weight_grads,
        "bias_grads": b.bias_grads,
    }


@router.post(
    "/networks",
    status_code=201,
    response_model=State,
    name="api_create_network",
    dependencies=[ratelimit.CREATE],
)
def create_network(body: CreateNetwork, store: StoreDep) -> Response:
    """A new network: `{"preset": "classic"}`, a full state, or a preset with overrides."""
    s = store.add(ops.create(body.model_dump(exclude_unset=True)))
    return json(s.to_data(), 201)


@router.get("/networks/{id}", response_model=State, name="api_read_network")
def read_network(id: str, store: StoreDep) -> Response:
    return json(store.get(id).to_data())


@router.delete("/networks/{id}", status_code=204, name="api_delete_network")
def delete_network(id: str, store: StoreDep) -> Response:
    store.delete(id)
    return Response(status_code=204)


@router.patch(
    "/networks/{id}",
    response_model=State,
    name="api_edit_network",
    dependencies=[ratelimit.EDIT],
)
def edit_network(id: str, body: PatchNetwork, store: StoreDep) -> Response:
    """Change any subset of the state; the phase is kept (see the README for `update`)."""
    changes = body.model_dump(exclude_unset=True)
    return json(_apply(store, id, lambda s: ops.patch(s, changes)).to_data())


@router.post("/networks/{id}/forward", response_model=ForwardResult, name="api_forward")
def forward(id: str, store: StoreDep) -> Response:
    """The forward pass of the parameters now. Changes nothing."""
    s = store.get(id)
    return json(where(s) | forward_data(trace(s.network).forward))


@router.post("/networks/{id}/backward", response_model=BackwardResult, name="api_backward")
def backward(id: str, store: StoreDep) -> Response:
    """The backward pass of the parameters now. Changes nothing."""
    s = store.get(id)
    return json(where(s) | backward_data(trace(s.network).backward))


@router.post("/networks/{id}/step", response_model=StepResult, name="api_step")
def step(id: str, store: StoreDep) -> Response:
    """One whole iteration: forward, backward and update; the phase ends on `update`."""
    s, (t, after) = store.update(id, ops.step)
    return json(
        where(s)
        | forward_data(t.forward)
        | backward_data(t.backward)
        | {
            "weights": t.weights,
            "biases": t.biases,
            "loss_before": t.forward.loss,
            "loss_after": after.forward.loss,
        }
    )


@router.post(
    "/networks/{id}/train",
    response_model=TrainResult,
    name="api_train",
    dependencies=[ratelimit.TRAIN],
)
async def train(
    id: str, body: TrainRequest, store: StoreDep, trainer: training.TrainerDep
) -> Response:
    """Train up to 100,000 iterations, and as many as the network's size allows (see
    `iterations` in a 422); stops before numbers stop being finite."""
    _, s, t = await training.run(trainer, store, id, body.iterations)
    return json(
        s.to_data()
        | {"losses": t.losses, "loss_iterations": t.loss_iterations, "diverged_at": t.diverged_at}
    )


@router.post("/networks/{id}/phase/next", response_model=State, name="api_next_phase")
def next_phase(id: str, store: StoreDep) -> Response:
    return json(_apply(store, id, ops.next_phase).to_data())


@router.post("/networks/{id}/phase/prev", response_model=State, name="api_prev_phase")
def prev_phase(id: str, store: StoreDep) -> Response:
    return json(_apply(store, id, ops.prev_phase).to_data())


@router.post("/networks/{id}/reset", response_model=State, name="api_reset")
def reset(id: str, store: StoreDep) -> Response:
    """Back to the state the network was created with."""
    return json(_apply(store, id, ops.reset).to_data())


def _apply(store: Store, id: str, op: Callable[[Session], Session]) -> Session:
    """Apply a Session → Session operation atomically and return the new session."""
    return store.update(id, lambda s: (op(s), None))[0]
