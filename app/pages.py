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

from app import forms, view
from app import session as ops
from app.api import STREAM_HEADERS, EventStream, StoreDep, follow
from app.engine import InvalidInput
from app.session import Session
from app.store import NotOwner, Store, UnknownSession, owns
from app.view import ids, prefs, share
from app.view.text import TEXT, pick

ROOT = Path(__file__).resolve().parent.parent
HTMX = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
VENDOR = {  # front-end packages, served from where `npm ci` put them
    "htmx.min.js": HTMX,
    "sse.min.js": ROOT / "node_modules" / "htmx-ext-sse" / "dist" / "sse.min.js",
}
NETWORK_COOKIE = "bl_network"  # the browser's own network, where / takes it
OWNER_COOKIE = "bl_owner"  # a network's owner token, sent only to that network's page
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
    for action in (
        "next",
        "prev",
        "step",
        "reset",
        "train",
        "edit",
        "prefs",
        "new",
        "undo",
        "redo",
        "fork",
        "events",
    )
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


@router.get("/")
def home(request: Request, store: StoreDep) -> Response:
    """To the browser's own network, if its cookie remembers one; else the way in: start
    the tutorial's network, or join a class with its code. (A GET never makes a network:
    link previews and crawlers would fill the store.)"""
    id = request.cookies.get(NETWORK_COOKIE)
    try:
        if id:
            return _redirect(store.get(id).id)
    except UnknownSession:
        pass
    return _home(request)


@router.post("/new", name="lab_start")
def start(request: Request, store: StoreDep) -> Response:
    """A new classic network, owned by this browser."""
    created, token = store.add(ops.create({"preset": "classic"}))
    return _opened(RedirectResponse(f"/n/{created.id}", status_code=303), created, token)


@router.get("/join", name="lab_join")
def join(request: Request, store: StoreDep, code: str = "") -> Response:
    """The network of a join code, read-only (the code typed on the start page)."""
    try:
        found = store.find(code)
    except UnknownSession:
        return _home(request, code=code[:32], status=404)
    return RedirectResponse(f"/n/{found.id}", status_code=303)


@router.post(PATHS["new"], name="lab_new")
def new(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    """A new network (from the new-network form), opened in place of this one."""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        created, token = store.add(ops.create(forms.new_network(fields)))
    except InvalidInput as e:
        return _failed(request, store, id, e, fields)
    return _open(request, created, token)


@router.post(PATHS["fork"], name="lab_fork")
def fork(id: str, request: Request, store: StoreDep) -> Response:
    """A private copy of this network as it is now, owned by whoever asked."""
    try:
        created, token = store.add(ops.fork(store.get(id)))
    except UnknownSession:
        return _gone(request)
    return _open(request, created, token)


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
    if owns(session, _token(request)):
        response.set_cookie(NETWORK_COOKIE, id, max_age=YEAR, httponly=True, samesite="lax")
    return response


@router.get(PATHS["events"], response_class=EventStream, name="lab_events")
async def events(id: str, request: Request, store: StoreDep) -> Response:
    """The page's follow events (see the API's): one stream per tab."""
    try:
        session = await run_in_threadpool(store.get, id)
    except UnknownSession:
        return Response(status_code=404)  # EventSource gives up (a network deleted meanwhile)
    return EventStream(follow(store, session, _token(request)), headers=STREAM_HEADERS)


@router.post(PATHS["undo"], name="lab_undo")
def undo(id: str, request: Request, store: StoreDep) -> Response:
    return _travel(request, store, id, "undo")


@router.post(PATHS["redo"], name="lab_redo")
def redo(id: str, request: Request, store: StoreDep) -> Response:
    return _travel(request, store, id, "redo")


@router.post(PATHS["next"], name="lab_next")
def next_phase(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.next_phase(s), None), "next")


@router.post(PATHS["prev"], name="lab_prev")
def prev_phase(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.prev_phase(s), None), "prev")


@router.post(PATHS["step"], name="lab_step")
def step(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.step(s)[0], None), "step")


@router.post(PATHS["reset"], name="lab_reset")
def reset(id: str, request: Request, store: StoreDep) -> Response:
    return _act(request, store, id, lambda s: (ops.reset(s), None), "reset")


@router.post(PATHS["train"], name="lab_train")
def train(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    chosen = _prefs(request)
    t = TEXT[_lang(request, chosen)]

    def op(s: Session) -> tuple[Session, str]:
        trained, result = ops.run(s, forms.iterations(form.get("iterations")))
        return trained, view.trained(t, chosen.precision, s, trained, result)

    return _act(request, store, id, op, "train")


@router.post(PATHS["edit"], name="lab_edit")
def edit(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != forms.REFUSED}
    typed = forms.typed(fields, request.headers.get("HX-Trigger", ""), forms.REFUSED in form)

    def op(s: Session) -> tuple[Session, None]:
        name, changes = forms.changes(s.network, fields)
        try:
            return ops.patch(s, changes), None
        except InvalidInput as e:  # name the field as the page knows it
            raise InvalidInput(name, e.message) from None

    return _act(request, store, id, op, "edit", form=fields, typed=typed)


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


@router.get("/vendor/{name}")
def vendor(name: str, request: Request) -> Response:
    """htmx and its SSE extension, from where `npm ci` put them (pre-compressed when the
    browser takes gzip)."""
    path = VENDOR.get(name)
    if path is None:
        return Response("no such file", status_code=404, media_type="text/plain")
    headers = {"Cache-Control": "public, max-age=86400"}
    gz = path.with_suffix(".js.gz")
    if "gzip" in request.headers.get("Accept-Encoding", "") and gz.exists():
        headers |= {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"}
        return FileResponse(gz, media_type="text/javascript", headers=headers)
    if not path.exists():
        msg = f"{name} is not installed: run `npm ci` (or `make run`)."
        return Response(msg, status_code=503, media_type="text/plain")
    return FileResponse(path, media_type="text/javascript", headers=headers)


def _act(
    request: Request,
    store: Store,
    id: str,
    op,
    action: str,
    form: dict | None = None,
    typed: view.Invalid | None = None,
) -> Response:
    """Apply op to the session atomically, as its owner, and answer with the regions of the
    lab that it changed, or with the error inline."""
    token = _token(request)

    def run(s: Session):
        if not owns(s, token):
            raise NotOwner(s.id)
        new, result = op(s)
        return new, (s, result)

    try:
        session, (before, message) = store.update(id, run, action)
    except UnknownSession:
        return _gone(request)
    except NotOwner:
        return _not_owner(request, store, id)
    except InvalidInput as e:
        return _failed(request, store, id, e, form)
    if not _htmx(request):
        return RedirectResponse(f"/n/{id}", status_code=303)
    return _render(request, session, "changes.html", message=message, before=(before, typed))


def _travel(request: Request, store: Store, id: str, to: str) -> Response:
    """Undo or redo, as the owner: the lab redrawn (an undo may change any region)."""
    try:
        if not owns(store.get(id), _token(request)):
            return _not_owner(request, store, id)
        session = store.travel(id, to)
    except UnknownSession:
        return _gone(request)
    except InvalidInput as e:
        return _failed(request, store, id, e, None)
    if not _htmx(request):
        return RedirectResponse(f"/n/{id}", status_code=303)
    return _render(request, session, "changes.html")


def _not_owner(request: Request, store: Store, id: str) -> Response:
    """A change asked for by someone who only follows: refused, the page says why."""
    t = TEXT[_lang(request, _prefs(request))]
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    name = "changes.html" if _htmx(request) else "index.html"
    return _render(request, session, name, message=t["not_owner"], status=403)


def _failed(
    request: Request, store: Store, id: str, e: InvalidInput, form: dict | None
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
    return _render(request, session, name, message=message, invalid=invalid, status=422)


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
    owner = owns(session, _token(request))
    follow_url = f"{request.base_url}n/{quote(session.id, safe='')}"
    extra = {
        "follow_url": follow_url,
        "qr": share.qr(follow_url, TEXT[lang]["follow_qr"]),
        "followers": request.app.state.store.bus.followers(session.id),
    }
    body = html(
        session, name, chosen, lang, message, invalid, status >= 400, before, only, owner, extra
    )
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
    owner: bool = True,
    extra: dict | None = None,
) -> str:
    """The page (index.html), a fragment of it (page.html, lab.html), or the regions of the
    lab that changed since `before` (changes.html: all of them without a before, or those
    of `only` that the page shows)."""
    regions = None
    if name == "changes.html":
        old, typed = before or (None, None)
        if only is None:
            regions, lab = view.changes(
                old, session, chosen, lang, typed, message, invalid, error, owner
            )
        else:
            regions = [r for r in view.shown(chosen, owner) if r in only]
            lab = view.build(session, chosen, lang, message, invalid, error, regions, owner)
    else:
        lab = view.build(session, chosen, lang, message, invalid, error, owner=owner)
    urls = {a: path.format(id=quote(session.id, safe="")) for a, path in PATHS.items()}
    context = {"lab": lab, "t": lab.t, "urls": urls, "ids": ids, "oob": regions is not None}
    context |= extra or {}
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


def _token(request: Request) -> str | None:
    return request.cookies.get(OWNER_COOKIE)


def _redirect(id: str) -> Response:
    return RedirectResponse(f"/n/{id}", status_code=303)


def _opened(response: Response, session: Session, token: str) -> Response:
    """The response, with the cookies that make this browser the new network's owner."""
    path = f"/n/{quote(session.id, safe='')}"
    response.set_cookie(OWNER_COOKIE, token, max_age=YEAR, path=path, httponly=True, samesite="lax")
    response.set_cookie(NETWORK_COOKIE, session.id, max_age=YEAR, httponly=True, samesite="lax")
    return response


def _open(request: Request, session: Session, token: str) -> Response:
    """To a network just made, as its owner (htmx is redirected by a header)."""
    path = f"/n/{quote(session.id, safe='')}"
    if _htmx(request):
        return _opened(Response(status_code=204, headers={"HX-Redirect": path}), session, token)
    return _opened(RedirectResponse(path, status_code=303), session, token)


def _home(request: Request, code: str = "", status: int = 200) -> Response:
    """The way in: start a network, or join one with its code (`code`: one not found)."""
    lang = _lang(request, _prefs(request))
    body = templates.get_template("home.html").render(t=TEXT[lang], lang=lang, code=code)
    return HTMLResponse(body, status_code=status, headers={"Content-Security-Policy": CSP})


def _gone(request: Request) -> Response:
    """A network that no longer exists: htmx is sent to a new one, a browser gets a page."""
    if _htmx(request):
        return Response(status_code=404, headers={"HX-Redirect": "/"})
    lang = _lang(request, _prefs(request))
    body = templates.get_template("gone.html").render(t=TEXT[lang], lang=lang)
    return HTMLResponse(body, status_code=404)
