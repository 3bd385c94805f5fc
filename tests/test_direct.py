"""Which routes' endpoints are called directly (app/direct.py), and that they answer as
through FastAPI's handler."""

from fastapi import Depends, FastAPI, Request, Response
from fastapi.testclient import TestClient

from app import api
from app.bounds import BoundedJSONRoute
from app.direct import direct


def test_the_api_routes_called_directly_are_those_taking_only_the_request_and_path_text():
    called = {
        (method, route.path)
        for route in api.router.routes
        if direct(route)
        for method in route.methods
    }
    assert called == {
        ("DELETE", "/api/networks/{id}"),
        ("POST", "/api/networks/{id}/phase/next"),
        ("POST", "/api/networks/{id}/phase/prev"),
        ("POST", "/api/networks/{id}/reset"),
        ("POST", "/api/networks/{id}/undo"),
        ("POST", "/api/networks/{id}/redo"),
    }


def _app():
    app = FastAPI()
    app.router.route_class = BoundedJSONRoute
    seen = []

    @app.post("/a/{id}/{part}")
    async def plain(id: str, part: str, request: Request) -> Response:
        seen.append(request.method)
        return Response(f"{id}|{part}", media_type="text/plain")

    @app.post("/b/{id}")
    async def with_query(id: str, request: Request, n: int = 0) -> Response:
        return Response(f"{id}|{n}")

    @app.post("/c/{n}")
    async def typed(n: int, request: Request) -> Response:
        return Response(str(n + 1))

    @app.post("/d/{id}")
    async def with_dependency(id: str, request: Request, x: str = Depends(lambda: "x")) -> Response:
        return Response(id + x)

    @app.post("/e/{id}")
    async def returns_data(id: str, request: Request) -> dict:
        return {"id": id}

    @app.post("/f/{path:path}")
    async def whole_path(path: str, request: Request) -> Response:
        return Response(path)

    return app, seen


def test_only_an_endpoint_of_the_request_and_text_path_parameters_is_called_directly():
    app, seen = _app()
    chosen = {r.path: direct(r) is not None for r in app.router.routes if hasattr(r, "dependant")}
    assert chosen == {
        "/a/{id}/{part}": True,
        "/b/{id}": False,  # a query parameter: FastAPI validates it
        "/c/{n}": False,  # not text
        "/d/{id}": False,  # a dependency
        "/e/{id}": False,  # data for FastAPI to serialise
        "/f/{path:path}": False,  # a convertor of its own
    }
    client = TestClient(app)
    answer = client.post("/a/x%20y/z")
    assert (answer.status_code, answer.text, seen) == (200, "x y|z", ["POST"])  # decoded
    assert client.post("/b/q?n=3").text == "q|3"
    assert client.post("/b/q?n=three").status_code == 422
    assert client.post("/c/41").text == "42" and client.post("/c/x").status_code == 422
    assert client.post("/d/y").text == "yx" and client.post("/e/z").json() == {"id": "z"}
    assert client.post("/f/p/q").text == "p/q"
