"""The page: the lab as HTML, updated in place by htmx.

`GET /` takes the browser to its own network, `GET /n/{id}` serves the page (or, to
htmx, its lab), and each POST runs one session operation through the store, the same
operations as the JSON API, and answers with what it changed: the regions of the lab
that changed for a step or an edit (swapped out of band, see templates/changes.html),
the whole page for a display preference. Without JavaScript the buttons still work:
a POST answers with a redirect back to the page.
"""

from pathlib import Path
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import forms, ratelimit, training, view
from app import session as ops
from app.api import StoreDep, get_store
from app.engine import InvalidInput
from app.refusal import Refused
from app.session import Session
from app.store import Store, UnknownSession
from app.view import ids, prefs
from app.view.text import TEXT, pick

ROOT = Path(__file__).resolve().parent.parent
HTMX = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
NETWORK_COOKIE = "bl_network"
YEAR = 365 * 24 * 3600
# The page talks to its own server only; everything it loads comes from here.
CSP = (
    "default-src 'self'; script-src 'self'; style-src 'self' 'unsafe-inline'; "
    "img-src 'self' data:; connect-src 'self'; base-uri 'none'; form-action 'self'; "
    "frame-ancestors 'none'"
)

router = APIRouter(include_in_schema=False)
# A change of one of these display preferences redraws only the regions that show it;
# of any other (digits, language, theme, colours, presentation), the whole page.
PARTIAL = {"selected": ("graph", "chain"), "table": ("weights",)}
# The page's actions on a network, each a POST route named lab_<action> (apart from the
# API's own route names); the templates get these paths filled in with the id.
PATHS = {
    action: f"/n/{{id}}/{action}"
    for action in ("next", "prev", "step", "reset", "train", "edit", "prefs", "new")
}
templates = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)
static = StaticFiles(directory=ROOT / "static")


async def read_form(request: Request) -> FormData:
    return await request.form()


FormDep = Annotated[FormData, Depends(read_form)]


@router.get("/", dependencies=[ratelimit.CREATE])
def home(request: Request, store: StoreDep) -> Response:
    """To the browser's own network: the one its cookie remembers, or a new classic one."""
    id = request.cookies.get(NETWORK_COOKIE)
    try:
        if id:
            return _redirect(store.get(id).id)
    except UnknownSession:
        pass
    return _redirect(store.add(ops.create({"preset": "classic"})).id)


@router.post(PATHS["new"], name="lab_new", dependencies=[ratelimit.CREATE])
def new(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    """A new network (from the new-network form), opened in place of this one."""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        created = store.add(ops.create(forms.new_network(fields)))
    except InvalidInput as e:
        return _failed(request, store, id, e, fields)
    if _htmx(request):
        response = Response(status_code=204, headers={"HX-Redirect": f"/n/{created.id}"})
        response.set_cookie(NETWORK_COOKIE, created.id, max_age=YEAR, httponly=True, samesite="lax")
        return response
    return _redirect(created.id)


@router.get("/n/{id}", name="lab")
def lab(id: str, request: Request, store: StoreDep) -> Response:
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    name = "lab.html" if _htmx(request) else "index.html"
    if request.headers.get("HX-Target") == ids.PAGE:
        name = "page.html"
    response = _render(request, session, name)
    response.set_cookie(NETWORK_COOKIE, id, max_age=YEAR, httponly=True, samesite="lax")
    return response


@router.post(PATHS["next"], name="lab_next")
def next_phase(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.next_phase(s), None))


@router.post(PATHS["prev"], name="lab_prev")
def prev_phase(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.prev_phase(s), None))


@router.post(PATHS["step"], name="lab_step")
def step(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.step(s)[0], None))


@router.post(PATHS["reset"], name="lab_reset")
def reset(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.reset(s), None))


@router.post(PATHS["train"], name="lab_train", dependencies=[ratelimit.TRAIN])
async def train(
    id: str, form: FormDep, request: Request, store: StoreDep, trainer: training.TrainerDep
) -> Response:
    """Train in the pool (the request holds no thread meanwhile), then answer as `_act`."""
    try:
        iterations = forms.iterations(form.get("iterations"))
        before, after, result = await training.run(trainer, store, id, iterations)
    except UnknownSession:
        return _gone(request)
    except InvalidInput as e:
        return await run_in_threadpool(_failed, request, store, id, e, None)
    chosen = _prefs(request)
    message = view.trained(TEXT[_lang(request, chosen)], chosen.precision, before, after, result)
    return await run_in_threadpool(_changed, request, after, before, message)


@router.post(PATHS["edit"], name="lab_edit", dependencies=[ratelimit.EDIT])
def edit(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != forms.REFUSED}
    typed = forms.typed(fields, request.headers.get("HX-Trigger", ""), forms.REFUSED in form)

    def op(s: Session) -> tuple[Session, None]:
        name, changes = forms.changes(s.network, fields)
        try:
            return ops.patch(s, changes), None
        except InvalidInput as e:  # name the field as the page knows it
            raise InvalidInput(name, e.message) from None

    return _act(request, store, id, op, form=fields, typed=typed)


@router.post(PATHS["prefs"], name="lab_prefs")
def set_prefs(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    chosen = prefs.read({k: v for k, v in form.items() if isinstance(v, str)}, _prefs(request))
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    before = _prefs(request)
    changed = {name for name in prefs.PARSE if getattr(before, name) != getattr(chosen, name)}
    if not _htmx(request):
        response: Response = RedirectResponse(f"/n/{id}", status_code=303)
    elif changed <= PARTIAL.keys():  # only the regions that show it
        only = [region for name in changed for region in PARTIAL[name]]
        response = _render(request, session, "changes.html", chosen, only=only)
        response.headers["HX-Reswap"] = "none"  # each region is swapped out of band
    else:
        response = _render(request, session, "page.html", chosen)
    for name, value in prefs.to_cookies(chosen).items():
        response.set_cookie(name, value, max_age=YEAR, samesite="lax")
    return response


@router.get("/vendor/htmx.min.js")
def htmx(request: Request) -> Response:
    """htmx, from where `npm ci` put it (pre-compressed when the browser takes gzip)."""
    headers = {"Cache-Control": "public, max-age=86400"}
    gz = HTMX.with_suffix(".js.gz")
    if "gzip" in request.headers.get("Accept-Encoding", "") and gz.exists():
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return FileResponse(gz, media_type="text/javascript", headers=headers)
    if not HTMX.exists():
        msg = "htmx is not installed: run `npm ci` (or `make run`)."
        return Response(msg, status_code=503, media_type="text/plain")
    return FileResponse(HTMX, media_type="text/javascript", headers=headers)


def _act(
    request: Request,
    store: Store,
    id: str,
    op,
    form: dict | None = None,
    typed: view.Invalid | None = None,
) -> Response:
    """Apply op to the session atomically and answer with the regions of the lab that it
    changed, or with the error inline."""

    def run(s: Session):
        new, result = op(s)
        return new, (s, result)

    try:
        session, (before, message) = store.update(id, run)
    except UnknownSession:
        return _gone(request)
    except InvalidInput as e:
        return _failed(request, store, id, e, form)
    return _changed(request, session, before, message, typed)


def _changed(
    request: Request,
    session: Session,
    before: Session,
    message: str | None = None,
    typed: view.Invalid | None = None,
) -> Response:
    """The regions of the lab that changed since `before` (without htmx: back to the page)."""
    if not _htmx(request):
        return RedirectResponse(f"/n/{session.id}", status_code=303)
    return _render(request, session, "changes.html", message=message, before=(before, typed))


def refused(request: Request, e: Refused) -> Response:
    """A refusal for now (429, 503, 409) shown like a 422: inline, with Retry-After."""
    id = request.path_params.get("id")
    if id is None:  # GET /: there is no lab to show it in
        response = Response(str(e), status_code=e.status, media_type="text/plain")
    else:
        response = _failed(request, get_store(request), id, e, None)
    response.headers.update(e.headers)
    return response


def _failed(
    request: Request, store: Store, id: str, e: InvalidInput | Refused, form: dict | None
) -> Response:
    """The lab as it was, with the message inline (and what was typed, kept)."""
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    invalid = view.Invalid(e.field, form[e.field], e.message) if form and e.field in form else None
    t = TEXT[_lang(request, _prefs(request))]
    message = t["invalid"].format(field=e.field, message=e.message)
    name = "changes.html" if _htmx(request) else "index.html"
    status = e.status if isinstance(e, Refused) else 422
    return _render(request, session, name, message=message, invalid=invalid, status=status)


def _render(
    request: Request,
    session: Session,
    name: str,
    chosen: prefs.Prefs | None = None,
    message: str | None = None,
    invalid: view.Invalid | None = None,
    status: int = 200,
    before: tuple[Session, view.Invalid | None] | None = None,
    only: list[str] | None = None,
) -> HTMLResponse:
    chosen = chosen or _prefs(request)
    lang = _lang(request, chosen)
    body = html(session, name, chosen, lang, message, invalid, status >= 400, before, only)
    headers = {
        "Vary": "HX-Request, HX-Target, Accept-Language, Cookie",
        "Cache-Control": "no-store",  # the state is the server's: never show a stale copy
        "Content-Security-Policy": CSP,
    }
    return HTMLResponse(body, status_code=status, headers=headers)


def html(
    session: Session,
    name: str,
    chosen: prefs.Prefs,
    lang: str,
    message: str | None = None,
    invalid: view.Invalid | None = None,
    error: bool = False,
    before: tuple[Session, view.Invalid | None] | None = None,
    only: list[str] | None = None,
) -> str:
    """The page (index.html), a fragment of it (page.html, lab.html), or the regions of the
    lab that changed since `before` (changes.html: all of them without a before, or those
    of `only` that the page shows)."""
    regions = None
    if name == "changes.html":
        old, typed = before or (None, None)
        if only is None:
            regions, lab = view.changes(old, session, chosen, lang, typed, message, invalid, error)
        else:
            regions = [r for r in view.shown(chosen) if r in only]
            lab = view.build(session, chosen, lang, message, invalid, error, regions)
    else:
        lab = view.build(session, chosen, lang, message, invalid, error)
    urls = {a: path.format(id=quote(session.id, safe="")) for a, path in PATHS.items()}
    context = {"lab": lab, "t": lab.t, "urls": urls, "ids": ids, "oob": regions is not None}
    return templates.get_template(name).render(context, regions=regions)


def warm() -> None:
    """Compile every template and convert the classic network's formulas (both cached for
    the life of the process), so that the first class to open the page does not wait."""
    for name in templates.list_templates():
        templates.get_template(name)
    s = ops.create({"preset": "classic"})
    for _ in ops.phases(s.network.depth):
        html(s, "index.html", prefs.Prefs(), "en")
        s = ops.next_phase(s)


def _prefs(request: Request) -> prefs.Prefs:
    return prefs.from_cookies(request.cookies)


def _lang(request: Request, chosen: prefs.Prefs) -> str:
    return chosen.lang or pick(request.headers.get("Accept-Language"))


def _htmx(request: Request) -> bool:
    return request.headers.get("HX-Request") == "true"


def _redirect(id: str) -> Response:
    response = RedirectResponse(f"/n/{id}", status_code=303)
    response.set_cookie(NETWORK_COOKIE, id, max_age=YEAR, httponly=True, samesite="lax")
    return response


def _gone(request: Request) -> Response:
    """A network that no longer exists: htmx is sent to a new one, a browser gets a page."""
    if _htmx(request):
        return Response(status_code=404, headers={"HX-Redirect": "/"})
    lang = _lang(request, _prefs(request))
    body = templates.get_template("gone.html").render(t=TEXT[lang], lang=lang)
    return HTMLResponse(body, status_code=404)
