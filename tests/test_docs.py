"""/docs: Swagger UI served by the app from node_modules, with the page's strict CSP."""

import re

import pytest

from app.docs import FILES, SWAGGER_UI
from app.middleware import CSP


def test_docs_loads_only_from_the_app(client):
    r = client.get("/docs")
    assert r.status_code == 200
    assert r.headers["Content-Security-Policy"] == CSP
    urls = re.findall(r'(?:src|href)="([^"]+)"', r.text)
    assert urls and all(u.startswith("/") for u in urls), urls
    assert "<script>" not in r.text  # no inline script: CSP script-src 'self' holds
    for url in urls:
        assert client.get(url).status_code == 200, url


@pytest.mark.skipif(not SWAGGER_UI.exists(), reason="swagger-ui-dist is not installed (npm ci)")
@pytest.mark.parametrize("name", FILES)
def test_swagger_ui_is_served_from_node_modules(client, name):
    r = client.get(f"/vendor/swagger-ui/{name}")
    assert r.content == (SWAGGER_UI / name).read_bytes()
    assert r.headers["content-type"].startswith(FILES[name])


@pytest.mark.parametrize(
    "path", ["/redoc", "/vendor/swagger-ui/index.html", "/vendor/swagger-ui/..%2Fpackage.json"]
)
def test_nothing_else_is_served(client, path):
    assert client.get(path).status_code == 404
