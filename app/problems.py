"""The API's refusals: one JSON shape, and one table of the statuses a route may answer.

Every refusal is `{"detail": [{"loc": [...], "msg": "field: what is wrong", "type": ...}]}`.
A route lists its statuses with `responses=answers(404, 422)`; a new kind of refusal is
one line in STATUSES. FastAPI would add a 422 of its own shape to every route with a
parameter; `documented` keeps only the statuses the routes list.
"""

from typing import Any

from pydantic import BaseModel, Field


class Problem(BaseModel):
    loc: list[str | int] = Field(description='Where: ["body", "weights", "w5"], ["path", "id"].')
    msg: str = Field(description="What is wrong, led by the field: `weights.w5: …`.")
    type: str = Field(description="A machine-readable kind: value_error, too_large, …")


class Problems(BaseModel):
    detail: list[Problem]


STATUSES: dict[int, str] = {
    403: "Not the network's owner: send its owner_token as `Authorization: Bearer …`.",
    404: "No network with this id (it may have been deleted).",
    409: "The network changed meanwhile, by another request; try again.",
    413: "The request body is larger than the server takes (BACKPROP_LAB_MAX_BODY).",
    422: "A value the network cannot take; the message names the field. Nothing changed.",
    429: "Too many of these requests from this client; `Retry-After` says when to try again.",
    503: "The server is busy training (or stopping); `Retry-After` says when to try again.",
}


def answers(*statuses: int, json: bool = True) -> dict[int | str, dict[str, Any]]:
    """The `responses=` of a route that may answer these statuses (and 413: any body).
    `json=False` for a route whose own answers are not JSON (an event stream): its
    refusals are JSON all the same."""
    if not json:
        schema = {"schema": {"$ref": "#/components/schemas/Problems"}}
        return {
            status: {"description": STATUSES[status], "content": {"application/json": schema}}
            for status in sorted({*statuses, 413})
        }
    return {
        status: {"model": Problems, "description": STATUSES[status]}
        for status in sorted({*statuses, 413})
    }


def documented(openapi: dict[str, Any]) -> dict[str, Any]:
    """The OpenAPI document without the 422s FastAPI implies (in its own error shape) on
    routes that cannot answer one (those that can list theirs with `answers`), and without
    the plain `string` schema FastAPI gives an event stream beside its items' schema."""
    implied = {"$ref": "#/components/schemas/HTTPValidationError"}
    for operations in openapi["paths"].values():
        for operation in operations.values():
            for answer in operation["responses"].values():
                for content in answer.get("content", {}).values():
                    if "itemSchema" in content:  # a stream: its items are what it is made of
                        content.pop("schema", None)
            answer = operation["responses"].get("422", {})
            if answer.get("content", {}).get("application/json", {}).get("schema") == implied:
                del operation["responses"]["422"]
    for name in ("HTTPValidationError", "ValidationError"):
        openapi.get("components", {}).get("schemas", {}).pop(name, None)
    return openapi
