"""The JSON API under /api: create, read, edit and step networks, follow them, undo.

Handlers read the request, run one session operation through the store, and answer.
Creating a network makes its owner: the 201 answer carries an `owner_token`, once; every
change then needs it as `Authorization: Bearer <token>`. Reading and following need none.
"""

import asyncio
import time
from collections.abc import AsyncIterator, Callable
from dataclasses import fields
from typing import Annotated, Any, ClassVar, NamedTuple, TypeVar

import orjson
from fastapi import APIRouter, Depends, Query, Request, Response
from fastapi.encoders import jsonable_encoder
from fastapi.responses import StreamingResponse
from fastapi.security import HTTPBearer

from app import export, ratelimit, scenario, training
from app import session as ops
from app.bounds import BoundedJSONRoute
from app.engine import Backward, Forward, InvalidInput, Trace
from app.engine.data import MAX_SAMPLES
from app.problems import answers
from app.refusal import Refused
from app.schemas import (
    BackwardResult,
    Created,
    CreateNetwork,
    ForwardResult,
    GradCheckResult,
    HistoryResult,
    PatchNetwork,
    RunResult,
    Scenario,
    State,
    StepResult,
    TrainIterations,
    TrainRequest,
    TrainResult,
)
from app.session import Session
from app.store import NotOwner, Store, owns
from app.store.base import event

T = TypeVar("T")
# Each JSON body is checked for depth and number sizes before FastAPI parses it.
router = APIRouter(prefix="/api", tags=["networks"], route_class=BoundedJSONRoute)


def bearer_token(request: Request) -> str | None:
    """`Authorization: Bearer <token>` read as the token itself (or None)."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    return token.strip() or None if scheme.lower() == "bearer" else None


# The scheme as the OpenAPI document describes it (see `owner` and `secured`).
owner_token = HTTPBearer(
    scheme_name="OwnerToken",
    description="The `owner_token` of the 201 answer that created the network.",
)


# `async def` though it waits for nothing: FastAPI runs a plain `def`
# dependency in the thread pool, a round trip per dependency per request.
async def get_store(request: Request) -> Store:
    return request.app.state.store


PING = 15.0  # seconds between keep-alive comments on an idle event stream
# A follower's page is brought a live training's chunks at most this often (s): the newest
# each time. Each is a drawing of ~20 KB sent to every follower, and the training makes up
# to 7 a second: 300 followers took 140 KB/s each, 340 Mbit/s, and the server fell seconds
# behind. 5.5 a second keeps the live view's target (at least 5 updates a second, issue 9)
# and the loss curve smooth (it holds every point).
LIVE_GAP = 0.18
STREAM_HEADERS = {"Cache-Control": "no-cache", "X-Accel-Buffering": "no"}  # no proxy buffering


class EventStream(StreamingResponse):
    """A stream of server-sent events, encoded by `follow` (not by FastAPI's
    EventSourceResponse, which would take over the route: see `follow`)."""

    media_type = "text/event-stream"
    # Each event as OpenAPI 3.2 describes an event stream's items: `event` is change or
    # followers, `data` the JSON of the event.
    documented: ClassVar[dict] = {
        "description": "`change` and `followers` events, their data JSON.",
        "content": {
            "text/event-stream": {
                "itemSchema": {
                    "type": "object",
                    "properties": {
                        "data": {"type": "string", "contentMediaType": "application/json"},
                        "event": {"type": "string", "enum": ["change", "followers"]},
                        "id": {"type": "string"},
                        "retry": {"type": "integer", "minimum": 0},
                    },
                }
            }
        },
    }


StoreDep = Annotated[Store, Depends(get_store)]


class Owner(NamedTuple):
    """What a change is asked with: the store, and the token of `Authorization: Bearer`."""

    store: Store
    token: str | None


def owner(request: Request) -> Owner:
    """Read by the routes that change a network from their `request`, not given them as two
    FastAPI dependencies (store and token): solving those took about 20 µs of a phase
    step's 300 in process, flat out a step's server CPU 0.35-0.37 -> 0.33-0.34 ms (A/B,
    benchmarks/classroom.py). Each such route
    names the scheme in its OpenAPI operation with `OWNER`, as the dependency did."""
    return Owner(request.app.state.store, bearer_token(request))


OWNER: dict[str, Any] = {"security": [{owner_token.scheme_name: []}]}


def json(data: dict[str, Any], status_code: int = 200) -> Response:
    # orjson writes float64 exactly (shortest round-trip form) and numpy arrays directly.
    return Response(
        orjson.dumps(data, option=orjson.OPT_SERIALIZE_NUMPY),
        status_code=status_code,
        media_type="application/json",
    )


async def change(
    who: Owner,
    id: str,
    op: Callable[[Session], tuple[Session, T]],
    action: str,
    expect: int | None = None,
) -> tuple[Session, T]:
    """Apply op as the owner (else NotOwner, and nothing changes), as one entry of history."""

    def owned(s: Session) -> tuple[Session, T]:
        if not owns(s, who.token):
            raise NotOwner(s.id)
        return op(s)

    return await who.store.aupdate(id, owned, action, expect)


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


def batch_data(t: Trace, sample: int, parts: str) -> dict[str, Any]:
    """An iteration's batch, its loss and mean gradients, and every per-neuron quantity of
    one chosen sample of it (`parts`: "forward", "backward" or both)."""
    if not 0 <= sample < len(t.batch):  # type: ignore[arg-type]
        last = len(t.batch) - 1  # type: ignore[arg-type]
        raise InvalidInput("sample", f"an index into the batch: from 0 to {last}")
    one = t.at(sample)
    data: dict[str, Any] = {"batch": t.batch, "epoch": t.epoch, "sample": sample}
    if "forward" in parts:
        data |= forward_data(one.forward) | {
            "loss": t.forward.loss,
            "sample_loss": one.forward.loss,
        }
    if "backward" in parts:
        data |= backward_data(one.backward) | {
            "weight_grads": t.weight_grads,
            "bias_grads": t.bias_grads,
            "sample_weight_grads": one.backward.weight_grads,
            "sample_bias_grads": one.backward.bias_grads,
        }
    return data


def per_param(values: Any, n: int, update_biases: bool) -> Any:
    """An optimiser's per-parameter tuple as {"weights", "biases"} (a number stays one)."""
    if not isinstance(values, tuple):
        return values
    return {"weights": values[:n], "biases": values[n:] if update_biases else None}


SampleQuery = Annotated[
    int,
    Query(ge=0, le=MAX_SAMPLES, description="Which sample of the batch to show, from 0."),
]


@router.post(
    "/networks",
    status_code=201,
    response_model=Created,
    name="api_create_network",
    responses=answers(422, 429),
    dependencies=[ratelimit.CREATE],
)
async def create_network(body: CreateNetwork, store: StoreDep) -> Response:
    """A new network: `{"preset": "classic"}`, a full state, or a preset with overrides.

    The answer's `owner_token` (given only here) is what changes it from now on."""
    s, token = await store.call(store.add, ops.create(body.model_dump(exclude_unset=True)))
    return json(s.to_data() | {"owner_token": token}, 201)


@router.get("/networks/{id}", response_model=State, name="api_read_network", responses=answers(404))
async def read_network(id: str, store: StoreDep) -> Response:
    return json((await store.aget(id)).to_data())


@router.delete(
    "/networks/{id}",
    status_code=204,
    name="api_delete_network",
    responses=answers(403, 404),
    openapi_extra=OWNER,
)
async def delete_network(id: str, request: Request) -> Response:
    store, token = owner(request)
    if not owns(await store.aget(id), token):
        raise NotOwner(id)
    await store.call(store.delete, id)
    return Response(status_code=204)


@router.patch(
    "/networks/{id}",
    response_model=State,
    name="api_edit_network",
    responses=answers(403, 404, 409, 422, 429),
    dependencies=[ratelimit.EDIT],
    openapi_extra=OWNER,
)
async def edit_network(id: str, body: PatchNetwork, request: Request) -> Response:
    """Change any subset of the state; the phase is kept (see the README for `update`)."""
    changes = body.model_dump(exclude_unset=True)
    s = await _apply(owner(request), id, lambda s: ops.patch(s, changes), "edit")
    return json(s.to_data())


@router.post(
    "/networks/{id}/forward",
    response_model=ForwardResult,
    name="api_forward",
    responses=answers(404, 422),
)
async def forward(id: str, store: StoreDep, sample: SampleQuery = 0) -> Response:
    """The forward pass of the next iteration's batch. Changes nothing."""
    s = await store.aget(id)
    return json(where(s) | batch_data(ops.traced(s.state), sample, "forward"))


@router.post(
    "/networks/{id}/backward",
    response_model=BackwardResult,
    name="api_backward",
    responses=answers(404, 422),
)
async def backward(id: str, store: StoreDep, sample: SampleQuery = 0) -> Response:
    """The backward pass of the next iteration's batch. Changes nothing."""
    s = await store.aget(id)
    return json(where(s) | batch_data(ops.traced(s.state), sample, "backward"))


@router.post(
    "/networks/{id}/gradcheck",
    response_model=GradCheckResult,
    name="api_gradcheck",
    responses=answers(404, 422, 429, 503),
    dependencies=[ratelimit.TRAIN],
)
async def gradient_check(id: str, store: StoreDep, trainer: training.TrainerDep) -> Response:
    """Every ∂E/∂w and ∂E/∂b of the next iteration's batch by central finite differences,
    beside backpropagation's, with their relative errors. Changes nothing; a batch too large
    for the network's size is a 422 that says how many samples it may have."""
    s = await store.aget(id)
    c = await training.check_gradients(trainer, s)
    return json(where(s) | {f.name: getattr(c, f.name) for f in fields(c)})


@router.post(
    "/networks/{id}/step",
    response_model=StepResult,
    name="api_step",
    responses=answers(403, 404, 409, 422),
    openapi_extra=OWNER,
)
async def step(id: str, request: Request, sample: SampleQuery = 0) -> Response:
    """One whole iteration: forward, backward and update; the phase ends on `update`."""
    s, (t, after) = await change(owner(request), id, ops.step, "step")
    training, n = s.state.training, len(t.weights)
    return json(
        where(s)
        | batch_data(t, min(sample, len(t.batch) - 1), "forward backward")
        | {
            "weights": t.weights,
            "biases": t.biases,
            "learning_rate": t.learning_rate,
            "terms": {k: per_param(v, n, training.update_biases) for k, v in t.terms.items()},
            "optimizer_state": s.state.to_data()["optimizer_state"],
            "current_learning_rate": training.current_learning_rate,
            "loss_before": t.forward.loss,
            "loss_after": after.forward.loss,
        }
    )


@router.post(
    "/networks/{id}/train",
    response_model=TrainResult,
    name="api_train",
    responses=answers(403, 404, 409, 422, 429, 503),
    dependencies=[ratelimit.TRAIN],
    openapi_extra=OWNER,
)
async def train(
    id: str, body: TrainRequest, request: Request, trainer: training.TrainerDep
) -> Response:
    """Train up to 100,000 iterations, and as many as the network's size allows (see
    `iterations` in a 422); stops before numbers stop being finite."""
    count, field = _counted(body)
    store, token = owner(request)
    _, s, t = await training.run(trainer, store, id, count, token, field)
    return json(
        s.to_data()
        | {
            "losses": t.losses,
            "test_losses": t.test_losses,
            "loss_iterations": t.loss_iterations,
            "learning_rates": t.learning_rates,
            "diverged_at": t.diverged_at,
        }
    )


def _counted(body: TrainRequest) -> tuple[int, str]:
    if isinstance(body, TrainIterations):
        return body.iterations, "iterations"
    return body.epochs, "epochs"


@router.post(
    "/networks/{id}/run",
    response_model=RunResult,
    status_code=202,
    name="api_run",
    responses=answers(403, 404, 409, 422, 429, 503),
    dependencies=[ratelimit.TRAIN],
    openapi_extra=OWNER,
)
async def start_run(
    id: str, body: TrainRequest, request: Request, runs: training.RunsDep
) -> Response:
    """Start a live training: up to 100,000 iterations and about two minutes of work, run a
    chunk at a time while every other request is answered. Follow it with `GET …/run` or the
    network's events (each chunk is a `change`, its `run` the status); stop it with
    `POST …/run/stop`. An edit meanwhile is trained on; a reset, an undo or a jump stops it.
    One at a time per network (409)."""
    count, unit = _counted(body)
    return _run(await runs.start(id, unit, count, owner(request).token), 202)


@router.get(
    "/networks/{id}/run",
    response_model=RunResult,
    name="api_run_status",
    responses=answers(404),
)
async def run_status(id: str, store: StoreDep) -> Response:
    """The network's latest live training, running or ended (404 if it never had one)."""
    return _run(await store.aget(id))


@router.post(
    "/networks/{id}/run/stop",
    response_model=RunResult,
    name="api_run_stop",
    responses=answers(403, 404),
    openapi_extra=OWNER,
)
async def stop_run(id: str, request: Request, runs: training.RunsDep) -> Response:
    """Stop the live training (its chunk in flight is not stored); an ended one is left as
    it is. 404 if the network never had one."""
    return _run(await runs.stop(id, owner(request).token))


def _run(s: Session, status: int = 200) -> Response:
    """The network's latest live training (404 if it never had one)."""
    if s.run is None:
        raise Refused("run", "this network has had no live training", 404)
    return json(s.run.to_data(time.time()), status)


@router.post(
    "/networks/{id}/phase/next",
    response_model=State,
    name="api_next_phase",
    responses=answers(403, 404, 409, 422),
    openapi_extra=OWNER,
)
async def next_phase(id: str, request: Request) -> Response:
    return json((await _apply(owner(request), id, ops.next_phase, "next")).to_data())


@router.post(
    "/networks/{id}/phase/prev",
    response_model=State,
    name="api_prev_phase",
    responses=answers(403, 404, 409),
    openapi_extra=OWNER,
)
async def prev_phase(id: str, request: Request) -> Response:
    return json((await _apply(owner(request), id, ops.prev_phase, "prev")).to_data())


@router.post(
    "/networks/{id}/reset",
    response_model=State,
    name="api_reset",
    responses=answers(403, 404, 409),
    openapi_extra=OWNER,
)
async def reset(id: str, request: Request) -> Response:
    """Back to the state the network was created with."""
    return json((await _apply(owner(request), id, ops.reset, "reset")).to_data())


@router.get(
    "/networks/{id}/scenario", response_model=Scenario, name="api_scenario", responses=answers(404)
)
async def save_scenario(id: str, store: StoreDep) -> Response:
    """The network's whole state as a scenario file: `POST /api/networks` takes it as it is,
    to open it again as a new network."""
    s = await store.aget(id)
    return attachment(json(scenario.of(s)), export.filename(s.code, "json"))


ExportQuery = Annotated[
    export.Format,
    Query(description="pytorch or numpy: a script of the next iteration; json: the state."),
]


@router.get(
    "/networks/{id}/export",
    response_model=Scenario,
    name="api_export",
    responses={
        200: {
            "description": "An attachment: the scenario file (json) or the script.",
            "content": {export.PYTHON: {"schema": {"type": "string"}}},
        }
    }
    | answers(404, 422),
)
async def export_network(id: str, store: StoreDep, format: ExportQuery) -> Response:
    """A file to download: the next iteration as a script that runs it in PyTorch or in
    plain numpy and prints its loss, gradients and update (`--json`: as the backward and
    step answers), or the whole state as the scenario file."""
    s = await store.aget(id)
    if format == "json":
        return attachment(json(scenario.of(s)), export.filename(s.code, format))
    body = export.script(s, format)
    return attachment(Response(body, media_type=export.PYTHON), export.filename(s.code, format))


def attachment(response: Response, filename: str) -> Response:
    response.headers["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@router.post(
    "/networks/{id}/undo",
    response_model=State,
    name="api_undo",
    responses=answers(403, 404, 409, 422),
    openapi_extra=OWNER,
)
async def undo(id: str, request: Request) -> Response:
    """Back to the state before the last change (edit, step, phase move, training, reset)."""
    return json((await _travel(owner(request), id, "undo")).to_data())


@router.post(
    "/networks/{id}/redo",
    response_model=State,
    name="api_redo",
    responses=answers(403, 404, 409, 422),
    openapi_extra=OWNER,
)
async def redo(id: str, request: Request) -> Response:
    """Forward again to the state an undo left."""
    return json((await _travel(owner(request), id, "redo")).to_data())


@router.get(
    "/networks/{id}/history",
    response_model=HistoryResult,
    name="api_history",
    responses=answers(404),
)
async def history(id: str, store: StoreDep) -> Response:
    """The changes that can be undone and redone (at most 200), oldest first."""
    s = await store.aget(id)
    return json(history_data(s))


@router.post(
    "/networks/{id}/history/{seq}",
    response_model=State,
    name="api_jump",
    responses=answers(403, 404, 409, 422),
    openapi_extra=OWNER,
)
async def jump(id: str, seq: int, request: Request) -> Response:
    """To the state after the history's change number `seq` (undo or redo several at once)."""
    return json((await _travel(owner(request), id, seq)).to_data())


@router.get(
    "/networks/{id}/events",
    response_class=EventStream,
    name="api_events",
    responses={200: EventStream.documented} | answers(404, json=False),
)
async def events(id: str, request: Request, store: StoreDep) -> Response:
    """Server-sent events: `change` (id, version, iteration, phase, action) after every
    change of the network, `followers` (their count) when one comes or goes. Anyone may
    follow; the owner's token, if sent, only keeps the owner out of the count."""
    s = await store.aget(id)  # an unknown id: 404 before the stream starts
    return EventStream(follow(store, s, bearer_token(request)), headers=STREAM_HEADERS)


async def follow(store: Store, s: Session, token: str | None) -> AsyncIterator[bytes]:
    """The events of network `s`, from its state now, as the stream's bytes (the owner's own
    tabs are not counted as followers).

    Written out here rather than yielded to FastAPI's own SSE encoding: that one moves each
    event through two more tasks, two memory streams and a timeout per event, and one
    event to 300 followers took the event loop ~70 ms. Here it is one wake-up per follower;
    a comment line every PING seconds keeps proxies from closing an idle stream."""
    async for kind, raw, _ in changes(store, s, follower=not owns(s, token)):
        yield PING_COMMENT if kind == "ping" else sse(kind, raw)


async def changes(
    store: Store, s: Session, follower: bool, newest: bool = False
) -> AsyncIterator[tuple[str, bytes, dict[str, Any]]]:
    """The events of network `s` as (kind, JSON, its data): first a `change` "open" with its
    state now, then each `change` or `followers` as it comes, and a `ping` after PING
    seconds without one; the stream ends after the network's deletion. With `newest` (a
    follower's page, which shows only the latest): a reader that falls behind skips to the
    newest change waiting (past any count), and a live training's chunks come at most one
    each LIVE_GAP seconds, the newest each time."""
    async with store.bus.listen(s.id, follower=follower) as stream:
        # Read again once listening: a change between the first read and now is not missed.
        s = await store.aget(s.id)
        raw = event(s, "open")
        yield "change", raw, orjson.loads(raw)
        next_event = asyncio.ensure_future(anext(stream))
        live = 0.0  # when the last chunk of a live training was yielded
        try:
            while True:
                done, _ = await asyncio.wait((next_event,), timeout=PING)
                if not done:
                    yield "ping", b"", {}
                    continue
                raw = next_event.result()
                data = orjson.loads(raw)
                if newest:
                    if data.get("run") == "running":
                        await asyncio.sleep(live + LIVE_GAP - time.monotonic())
                    for later in stream.waiting():
                        if "followers" not in (seen := orjson.loads(later)):
                            raw, data = later, seen
                    if data.get("run") == "running":
                        live = time.monotonic()
                yield "followers" if "followers" in data else "change", raw, data
                if data.get("action") == "delete":
                    return
                next_event = asyncio.ensure_future(anext(stream))
        finally:
            next_event.cancel()


PING_COMMENT = b": ping\n\n"


def sse(kind: str, raw: bytes) -> bytes:
    return b"event: " + kind.encode() + b"\ndata: " + raw + b"\n\n"


def history_data(s: Session) -> dict[str, Any]:
    h = s.history
    return {
        "id": s.id,
        "cursor": h.cursor,
        "entries": [
            {"seq": e.seq, "iteration": e.iteration, "phase": e.phase, "action": e.action}
            for e in h.entries
        ],
    }


async def _apply(who: Owner, id: str, op: Callable[[Session], Session], action: str) -> Session:
    """Apply a Session → Session operation atomically and return the new session."""
    return (await change(who, id, lambda s: (op(s), None), action))[0]


async def _travel(who: Owner, id: str, to: str | int) -> Session:
    if not owns(await who.store.aget(id), who.token):
        raise NotOwner(id)
    return await who.store.atravel(id, to)


# FastAPI tries a router's routes one after another, each try a few µs of its own code: the
# calls a class makes most are tried first (a phase step: 7 route matches instead of 55).
# The documentation keeps the order they are written in.
WRITTEN = list(dict.fromkeys(r.path for r in router.routes))  # type: ignore[attr-defined]
HOT = [
    ("/api/networks/{id}/phase/next", "POST"),
    ("/api/networks/{id}/phase/prev", "POST"),
    ("/api/networks/{id}/step", "POST"),
    ("/api/networks/{id}", "GET"),
    ("/api/networks/{id}", "PATCH"),
    ("/api/networks/{id}/forward", "POST"),
    ("/api/networks/{id}/backward", "POST"),
    ("/api/networks/{id}/events", "GET"),
    ("/api/networks/{id}/run", "GET"),
]


def _rank(route: Any) -> int:
    keys = [(route.path, m) for m in getattr(route, "methods", ())]
    return min((HOT.index(k) for k in keys if k in HOT), default=len(HOT))


router.routes.sort(key=_rank)  # stable: the rest as written


def secured(openapi: dict[str, Any]) -> dict[str, Any]:
    """The owner's scheme among the document's components, named by the operations that
    need it (`OWNER`): FastAPI writes a scheme only for a dependency that is one."""
    schemes = openapi.setdefault("components", {}).setdefault("securitySchemes", {})
    schemes[owner_token.scheme_name] = jsonable_encoder(
        owner_token.model, by_alias=True, exclude_none=True
    )
    return openapi


def in_written_order(openapi: dict[str, Any]) -> dict[str, Any]:
    paths = openapi["paths"]
    rank = {p: k for k, p in enumerate(WRITTEN)}
    openapi["paths"] = dict(sorted(paths.items(), key=lambda kv: rank.get(kv[0], len(rank))))
    return openapi
