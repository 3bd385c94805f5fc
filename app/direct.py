"""The endpoint of a route whose only parameters are the request and text path parameters,
called directly with them.

For such a route FastAPI has nothing to solve or validate (a path parameter is text
already, and the endpoint answers with its own Response), yet its request handler still
walks the dependency tree, builds the parameter errors of four kinds of parameter and
sets up its telemetry, per request: in one process, a phase step took 1.321 million
instructions through it and takes 1.173 million now (callgrind; the no-op 0.617). The
routes a class calls most are of this kind (next and previous phase, reset, undo, redo);
the rest keep FastAPI's handler. The OpenAPI document is the route's own either way: it is
made from the route, not from its handler.
"""

import inspect
from collections.abc import Awaitable, Callable

from fastapi import Request, Response
from fastapi.routing import APIRoute

Handler = Callable[[Request], Awaitable[Response]]


def direct(route: APIRoute) -> Handler | None:
    """A handler that calls the route's endpoint with the request and its path parameters,
    if that is all it takes (else None: FastAPI's own handler)."""
    d = route.dependant
    endpoint = route.endpoint
    simple = (
        inspect.iscoroutinefunction(endpoint)
        and inspect.signature(endpoint).return_annotation is Response
        and d.request_param_name is not None
        and not (d.query_params or d.header_params or d.cookie_params or d.body_params)
        and not d.dependencies
        and not (d.background_tasks_param_name or d.response_param_name)
        and not (d.websocket_param_name or d.http_connection_param_name)
        and all(f.field_info.annotation is str for f in d.path_params)
        and {f.name for f in d.path_params} == set(route.param_convertors)
        and all(c.regex == "[^/]+" for c in route.param_convertors.values())  # "str"
    )
    if not simple:
        return None
    name = d.request_param_name

    async def handle(request: Request) -> Response:
        return await endpoint(**request.path_params, **{name: request})

    return handle
