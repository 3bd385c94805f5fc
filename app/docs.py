"""/docs: Swagger UI, installed by `npm ci` and served by the app, so that it works offline.

FastAPI's own page loads Swagger UI from a CDN and starts it with an inline script; this
one loads it from here and starts it from static/docs.js, so that its CSP stays
`script-src 'self'`. ReDoc (CDN only) is not offered.
"""

from fastapi import APIRouter
from fastapi.responses import FileResponse, HTMLResponse, Response

from app.paths import ROOT

SWAGGER_UI = ROOT / "node_modules" / "swagger-ui-dist"
# The files the page uses, nothing else of the package (its index.html opens a demo API).
FILES = {
    "swagger-ui-bundle.js": "text/javascript",
    "swagger-ui.css": "text/css",
    "favicon-32x32.png": "image/png",
}
PAGE = """<!doctype html>
<html lang="en">
<head>
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>backprop-lab · API</title>
<link rel="icon" type="image/png" href="/vendor/swagger-ui/favicon-32x32.png">
<link rel="stylesheet" href="/vendor/swagger-ui/swagger-ui.css">
</head>
<body>
<div id="swagger-ui"></div>
<script src="/vendor/swagger-ui/swagger-ui-bundle.js"></script>
<script src="/static/docs.js"></script>
</body>
</html>
"""

router = APIRouter(include_in_schema=False)


@router.get("/docs")
def docs() -> HTMLResponse:
    return HTMLResponse(PAGE, headers={"Cache-Control": "no-cache"})


@router.get("/vendor/swagger-ui/{name}")
def swagger_ui(name: str) -> Response:
    """One of Swagger UI's files, from where `npm ci` put it."""
    if name not in FILES:
        return Response(status_code=404)
    path = SWAGGER_UI / name
    if not path.exists():
        msg = "swagger-ui-dist is not installed: run `npm ci` (or `make run`)."
        return Response(msg, status_code=503, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=86400"}
    return FileResponse(path, media_type=FILES[name], headers=headers)
