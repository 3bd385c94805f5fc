"""The OpenAPI document lists every status each route answers, each with the error shape."""

import pytest

from app.problems import STATUSES

CHANGE = {403, 404, 409, 413}  # a change: the owner's, on a network that exists, not raced
ROUTES = {
    ("post", "/api/networks"): {201, 413, 422, 429},
    ("get", "/api/networks/{id}"): {200, 404, 413},
    ("delete", "/api/networks/{id}"): {204, 403, 404, 413},
    ("patch", "/api/networks/{id}"): {200, 422, 429} | CHANGE,
    ("post", "/api/networks/{id}/forward"): {200, 404, 413, 422},
    ("post", "/api/networks/{id}/backward"): {200, 404, 413, 422},
    ("post", "/api/networks/{id}/gradcheck"): {200, 404, 413, 422, 429, 503},
    ("post", "/api/networks/{id}/step"): {200, 422} | CHANGE,
    ("post", "/api/networks/{id}/train"): {200, 422, 429, 503} | CHANGE,
    ("post", "/api/networks/{id}/run"): {202, 422, 429, 503} | CHANGE,
    ("get", "/api/networks/{id}/run"): {200, 404, 413},
    ("post", "/api/networks/{id}/run/stop"): {200, 403, 404, 413},
    ("post", "/api/networks/{id}/phase/next"): {200, 422} | CHANGE,
    ("post", "/api/networks/{id}/phase/prev"): {200} | CHANGE,
    ("post", "/api/networks/{id}/reset"): {200} | CHANGE,
    ("post", "/api/networks/{id}/undo"): {200, 422} | CHANGE,
    ("post", "/api/networks/{id}/redo"): {200, 422} | CHANGE,
    ("post", "/api/networks/{id}/history/{seq}"): {200, 422} | CHANGE,
    ("get", "/api/networks/{id}/history"): {200, 404, 413},
    ("get", "/api/networks/{id}/scenario"): {200, 404, 413},
    ("get", "/api/networks/{id}/export"): {200, 404, 413, 422},
    ("get", "/api/networks/{id}/events"): {200, 404, 413},
}


@pytest.fixture(scope="module")
def spec(client_module):
    return client_module.get("/openapi.json").json()


@pytest.fixture(scope="module")
def client_module(tmp_path_factory):
    from fastapi.testclient import TestClient

    from app.main import create_app
    from app.settings import load

    with TestClient(create_app(load({}, db=str(tmp_path_factory.mktemp("p") / "l.db")))) as c:
        yield c


def test_every_route_lists_its_statuses(spec):
    listed = {
        (method, path): {int(s) for s in op["responses"]}
        for path, ops in spec["paths"].items()
        for method, op in ops.items()
    }
    assert listed == ROUTES


def test_each_refusal_has_the_error_shape(spec):
    for path, ops in spec["paths"].items():
        for op in ops.values():
            for status, answer in op["responses"].items():
                if int(status) in STATUSES:
                    schema = answer["content"]["application/json"]["schema"]
                    assert schema == {"$ref": "#/components/schemas/Problems"}, (path, status)
    problem = spec["components"]["schemas"]["Problem"]
    assert set(problem["required"]) == {"loc", "msg", "type"}


def test_a_404_has_the_shape_it_is_documented_with(client):
    r = client.get("/api/networks/none")
    assert r.status_code == 404
    assert r.json() == {
        "detail": [
            {
                "loc": ["path", "id"],
                "msg": "id: no network 'none' (it may have been deleted)",
                "type": "not_found",
            }
        ]
    }


def test_a_405_lists_every_method_of_the_path(client):
    r = client.options("/api/networks/x")  # three routes share this path
    assert r.status_code == 405
    assert r.headers["Allow"] == "DELETE, GET, PATCH"
    assert r.json()["detail"][0]["msg"] == "method: OPTIONS is not one of DELETE, GET, PATCH here"
