"""The page: the lab as HTML, updated in place by htmx.

`GET /` takes the browser to its own network, `GET /n/{id}` serves the page (or, to
htmx, its lab), and each POST runs one session operation through the store, the same
operations as the JSON API, and answers with what it changed: the regions of the lab
that changed for a step or an edit (swapped out of band, see templates/changes.html),
the whole page for a display preference. Without JavaScript the buttons still work:
a POST answers with a redirect back to the page.
"""

import time
from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Request
from fastapi.responses import FileResponse, HTMLResponse, RedirectResponse, Response
from fastapi.staticfiles import StaticFiles
from starlette.concurrency import run_in_threadpool
from starlette.datastructures import FormData

from app import drawings, followers, forms, ratelimit, render, scenario, training, view
from app import session as ops
from app.api import STREAM_HEADERS, EventStream, StoreDep, follow
from app.engine import PRESETS, InvalidInput
from app.paths import ROOT
from app.refusal import Refused
from app.render import PATHS, templates
from app.session import Session
from app.store import NotOwner, Store, UnknownSession, owns
from app.view import boundary, checks, ids, prefs, share
from app.view.text import TEXT, pick

HTMX = ROOT / "node_modules" / "htmx.org" / "dist" / "htmx.min.js"
VENDOR = {  # front-end packages, served from where `npm ci` put them
    "htmx.min.js": HTMX,
    "sse.min.js": ROOT / "node_modules" / "htmx-ext-sse" / "dist" / "sse.min.js",
}
NETWORK_COOKIE = "bl_network"  # the browser's own network, where / takes it
OWNER_COOKIE = "bl_owner"  # a network's owner token, sent only to that network's page
YEAR = 365 * 24 * 3600

router = APIRouter(include_in_schema=False)
# A change of one of these display preferences redraws only the regions that show it;
# of any other (digits, language, theme, colours, presentation), the whole page.
PARTIAL = {"selected": ("graph", "chain"), "table": ("weights",), "state": ("weights",)}
static = StaticFiles(directory=ROOT / "static")


FormDep = Annotated[FormData, Depends(forms.read)]


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


@router.post("/new", name="lab_start", dependencies=[ratelimit.CREATE])
def start(form: FormDep, request: Request, store: StoreDep) -> Response:
    """A new network of a built-in scenario (the tutorial's by default), owned by this
    browser."""
    preset = form.get("preset", "classic")
    if preset not in PRESETS:
        return _home(request, status=422)
    created, token = store.add(ops.create({"preset": preset}))
    return _opened(RedirectResponse(f"/n/{created.id}", status_code=303), created, token)


@router.get("/s/{packed}", name="lab_shared")
def shared(packed: str, request: Request) -> Response:
    """A share link: what the scenario is, and the button that opens it as your network.
    (A GET makes no network: link previews would.)"""
    t = TEXT[_lang(request, _prefs(request))]
    try:
        data = scenario.unpack(packed)
        s = ops.create(data)
    except InvalidInput as e:
        return _home(
            request, error=t["invalid"].format(field=e.field, message=e.message), status=422
        )
    summary = {
        "layers": "-".join(map(str, s.state.network.layers)),
        "activations": ", ".join(s.state.network.activations),
        "learning_rate": s.state.training.learning_rate,
    }
    return _page("shared.html", request, summary=summary, action=f"/s/{packed}")


@router.get(PATHS["share"], name="lab_share")
def share_link(id: str, request: Request, store: StoreDep) -> Response:
    """To the share link of the network as it is now."""
    try:
        path = scenario.link(store.get(id))
    except UnknownSession:
        return _gone(request)
    if path is None:
        return _home(
            request, error=TEXT[_lang(request, _prefs(request))]["share_too_large"], status=422
        )
    return RedirectResponse(path, status_code=303)


@router.post("/s/{packed}", name="lab_open_shared", dependencies=[ratelimit.CREATE])
def open_shared(packed: str, request: Request, store: StoreDep) -> Response:
    """The share link's scenario as a new network, owned by whoever opened it."""
    t = TEXT[_lang(request, _prefs(request))]
    try:
        created, token = store.add(ops.create(scenario.unpack(packed)))
    except InvalidInput as e:
        return _home(
            request, error=t["invalid"].format(field=e.field, message=e.message), status=422
        )
    return _opened(RedirectResponse(f"/n/{created.id}", status_code=303), created, token)


@router.post("/load", name="lab_load", dependencies=[ratelimit.CREATE])
async def load(request: Request) -> Response:
    """A scenario file (saved from a network, or written by hand) as a new network."""
    store: Store = request.app.state.store
    t = TEXT[_lang(request, _prefs(request))]
    form = await request.form(max_files=1, max_fields=4)
    upload = form.get("scenario")
    try:
        if upload is None or isinstance(upload, str):
            raise InvalidInput("scenario", "choose a scenario file (.json)")
        body = await upload.read(scenario.MAX_JSON + 1)
        if len(body) > scenario.MAX_JSON:
            raise InvalidInput("scenario", f"larger than {scenario.MAX_JSON} bytes")
        created, token = await run_in_threadpool(lambda: store.add(ops.create(scenario.read(body))))
    except InvalidInput as e:
        return _home(
            request, error=t["invalid"].format(field=e.field, message=e.message), status=422
        )
    return _opened(RedirectResponse(f"/n/{created.id}", status_code=303), created, token)


@router.get("/join", name="lab_join")
def join(request: Request, store: StoreDep, code: str = "") -> Response:
    """The network of a join code, read-only (the code typed on the start page)."""
    try:
        found = store.find(code)
    except UnknownSession:
        return _home(request, code=code[:32], status=404)
    return RedirectResponse(f"/n/{found.id}", status_code=303)


@router.post(PATHS["new"], name="lab_new", dependencies=[ratelimit.CREATE])
def new(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    """A new network (from the new-network form), opened in place of this one."""
    fields = {k: v for k, v in form.items() if isinstance(v, str)}
    try:
        created, token = store.add(ops.create(forms.new_network(fields)))
    except InvalidInput as e:
        return _failed(request, store, id, e, fields)
    return _open(request, created, token)


@router.post(PATHS["fork"], name="lab_fork", dependencies=[ratelimit.CREATE])
def fork(id: str, request: Request, store: StoreDep) -> Response:
    """A private copy of this network as it is now, owned by whoever asked."""
    try:
        created, token = store.add(ops.fork(store.get(id)))
    except UnknownSession:
        return _gone(request)
    return _open(request, created, token)


@router.get("/n/{id}", name="lab")
async def lab(id: str, request: Request, store: StoreDep) -> Response:
    try:
        session = await store.aget(id)
    except UnknownSession:
        return _gone(request)
    name = "lab.html" if _htmx(request) else "index.html"
    if request.headers.get("HX-Target") == ids.PAGE:
        name = "page.html"
    # A follower's page after a change: the lab drawn once already is answered here, with
    # no hop to a worker thread (every follower's page asks at once); anything to draw, in
    # a worker thread, off the event loop.
    response = _drawn(request, session, name) or await run_in_threadpool(
        _render, request, session, name
    )
    if owns(session, _token(request)):
        response.set_cookie(NETWORK_COOKIE, id, max_age=YEAR, httponly=True, samesite="lax")
    return response


@router.get(PATHS["events"], response_class=EventStream, name="lab_events")
async def events(id: str, request: Request, store: StoreDep) -> Response:
    """The page's follow events (see the API's): one stream per tab. A follower's also
    brings each change's lab, drawn with the display preferences of its query, gzip'd if
    the browser takes it (app/followers.py)."""
    try:
        session = await store.aget(id)
    except UnknownSession:
        return Response(status_code=404)  # EventSource gives up (a network deleted meanwhile)
    token = _token(request)
    if owns(session, token):
        return EventStream(follow(store, session, token), headers=STREAM_HEADERS)
    chosen = prefs.read(request.query_params)
    packed = "gzip" in request.headers.get("Accept-Encoding", "")
    gzipped = {"Content-Encoding": "gzip", "Vary": "Accept-Encoding"} if packed else {}
    labs = followers.stream(store, session, chosen, _lang(request, chosen), packed)
    return EventStream(labs, headers=STREAM_HEADERS | gzipped)


@router.get(PATHS["own"], name="lab_own")
def own(id: str, request: Request, store: StoreDep, token: str = "") -> Response:
    """The owner's link for another device (the classroom's PC): it carries the owner
    token, and opens the network there as its owner."""
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    if not owns(session, token[:256]):
        return _not_owner(request, store, id)
    return _opened(_redirect(id), session, token)


@router.post(PATHS["undo"], name="lab_undo")
def undo(id: str, request: Request, store: StoreDep) -> Response:
    return _travel(request, store, id, "undo")


@router.post(PATHS["redo"], name="lab_redo")
def redo(id: str, request: Request, store: StoreDep) -> Response:
    return _travel(request, store, id, "redo")


@router.post(PATHS["history"] + "/{iteration}", name="lab_jump")
def jump(id: str, iteration: int, request: Request, store: StoreDep) -> Response:
    """To an iteration of the timeline: the last state the history holds of it."""
    try:
        seq = store.get(id).history.last_of(iteration)
    except UnknownSession:
        return _gone(request)
    if seq is None:
        missing = InvalidInput("history", f"no iteration {iteration} in the history")
        return _failed(request, store, id, missing, None)
    return _travel(request, store, id, seq)


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


@router.post(PATHS["train"], name="lab_train", dependencies=[ratelimit.TRAIN])
async def train(id: str, form: FormDep, request: Request, runs: training.RunsDep) -> Response:
    """Start a live training (`training.Runs`): answered at once, with the live region
    running; each chunk it stores then reaches this page as a follow event."""
    unit = form.get("unit", "iterations")
    try:
        count = forms.iterations(form.get("count"), unit if unit in ops.UNITS else "unit")
        before = await runs.store.aget(id)
        after = await runs.start(id, unit, count, _token(request))
    except UnknownSession:
        return _gone(request)
    except NotOwner:
        return await run_in_threadpool(_not_owner, request, runs.store, id)
    except InvalidInput as e:
        return await run_in_threadpool(_failed, request, runs.store, id, e, None)
    return await run_in_threadpool(_changed, request, after, before)


@router.post(PATHS["stop"], name="lab_stop")
async def stop(id: str, request: Request, runs: training.RunsDep) -> Response:
    """Stop the live training (whichever worker runs it sees it at its next chunk)."""
    try:
        before = await runs.store.aget(id)
        after = await runs.stop(id, _token(request))
    except UnknownSession:
        return _gone(request)
    except NotOwner:
        return await run_in_threadpool(_not_owner, request, runs.store, id)
    return await run_in_threadpool(_changed, request, after, before)


@router.get(PATHS["live"], name="lab_live")
def live(id: str, request: Request, store: StoreDep) -> Response:
    """The regions a live training's chunk changes, as they are now (out of band): what
    static/follow.js fetches while a training runs, instead of the whole lab; once it has
    ended, every region (the owner's parameters too)."""
    try:
        session = store.get(id)
    except UnknownSession:
        return _gone(request)
    if session.run and session.run.running(time.time()):
        return _render(request, session, "changes.html", only=list(followers.LIVE))
    return _render(request, session, "changes.html")  # ended: every region, once


PICTURE_HEADERS = {"Cache-Control": "private, max-age=3600"}  # its URL names what it shows


@router.get("/n/{id}/boundary.svg", name="lab_boundary")
async def decision_boundary(id: str, request: Request, store: StoreDep) -> Response:
    """The decision boundary's picture (networks with two inputs; 404 for others), or with
    ?points=1 the samples alone (the data editor's scatter). Its URL carries the key of
    what it shows, so a browser may keep it."""
    try:
        s = await store.aget(id)
    except UnknownSession:
        return Response(status_code=404)
    if boundary.key(s.state) is None:
        return Response(status_code=404)
    heat = request.query_params.get("points") != "1"
    label = TEXT[_lang(request, _prefs(request))]["boundary_alt" if heat else "scatter"]
    made = await drawings.picture((boundary.key(s.state), heat, label), s.state, label, heat)
    return drawings.answer(request, made, "image/svg+xml", PICTURE_HEADERS)


@router.post(PATHS["gradcheck"], name="lab_gradcheck", dependencies=[ratelimit.TRAIN])
async def gradient_check(
    id: str, request: Request, store: StoreDep, trainer: training.TrainerDep
) -> Response:
    """The gradient check of the next iteration, in the pool; anyone may ask (it changes
    nothing). Answers the panel alone."""
    try:
        s = await store.aget(id)
        check, message, status = await training.check_gradients(trainer, s), None, 200
    except UnknownSession:
        return _gone(request)
    except InvalidInput as e:
        check, message, status = None, str(e), 422
    chosen = _prefs(request)
    lang = _lang(request, chosen)
    shown = None if check is None else checks.rows(s.state.network, check, chosen.precision)
    body = templates.get_template("gradcheck.html").render(
        t=TEXT[lang], check=shown, message=message, urls=render.paths(s.id)
    )
    return HTMLResponse(body, status_code=status, headers={"Cache-Control": "no-store"})


@router.post(PATHS["edit"], name="lab_edit", dependencies=[ratelimit.EDIT])
def edit(id: str, form: FormDep, request: Request, store: StoreDep) -> Response:
    fields = {k: v for k, v in form.items() if isinstance(v, str) and k != forms.REFUSED}
    typed = forms.typed(fields, request.headers.get("HX-Trigger", ""), forms.REFUSED in form)

    def op(s: Session) -> tuple[Session, None]:
        name, changes = forms.changes(s.state, fields)
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
        response = _render(request, session, "prefs.html", chosen, only=only)
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


def _travel(request: Request, store: Store, id: str, to: str | int) -> Response:
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


def refused(request: Request, e: Refused) -> Response:
    """A refusal for now (429, 503, 409) shown like a 422: inline, with Retry-After."""
    id = request.path_params.get("id")
    if id is None:  # GET /: there is no lab to show it in
        response = Response(str(e), status_code=e.status, media_type="text/plain")
    else:
        response = _failed(request, request.app.state.store, id, e, None)
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
) -> Response:
    chosen = chosen or _prefs(request)
    lang = _lang(request, chosen)
    owner = owns(session, _token(request))
    partial = name in ("changes.html", "prefs.html") and only and before is None
    followed = name == "lab.html" or partial
    if followed and not owner and message is None and invalid is None:
        return drawings.answer(request, drawings.followed(session, name, chosen, lang, only))
    extra = _share(request, session, lang) if name in ("index.html", "page.html") else None
    body = render.html(
        session, name, chosen, lang, message, invalid, status >= 400, before, only, owner, extra
    )
    return HTMLResponse(body, status_code=status, headers=render.HEADERS)


def _drawn(request: Request, session: Session, name: str) -> Response | None:
    """The answer to a follower's page if its lab is drawn already (`drawings.followed`)."""
    if name != "lab.html" or owns(session, _token(request)):
        return None
    chosen = _prefs(request)
    found = drawings.drawn(session, name, chosen, _lang(request, chosen))
    return None if found is None else drawings.answer(request, found)


def _share(request: Request, session: Session, lang: str) -> dict:
    """What the owner's follow box shows: the link, its QR code, how many follow, and the
    owner's own link for another device."""
    follow_url = f"{request.base_url}n/{quote(session.id, safe='')}"
    token = _token(request)
    own_url = f"{follow_url}/own?token={quote(token, safe='')}" if token else None
    return {
        "own_url": own_url if owns(session, token) else None,
        "scenario_url": f"/api/networks/{quote(session.id, safe='')}/scenario",
        "follow_url": follow_url,
        "qr": share.qr(follow_url, TEXT[lang]["follow_qr"]),
        "followers": request.app.state.store.bus.followers(session.id),
    }


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


def _home(request: Request, code: str = "", error: str = "", status: int = 200) -> Response:
    """The way in: start a network (a built-in scenario, or a file), or join one with its
    code (`code`: one not found; `error`: a scenario refused)."""
    return _page("home.html", request, code=code, error=error, presets=PRESETS, status=status)


def _page(name: str, request: Request, status: int = 200, **context) -> Response:
    """A page outside the lab (start page, share link)."""
    lang = _lang(request, _prefs(request))
    body = templates.get_template(name).render(t=TEXT[lang], lang=lang, **context)
    return HTMLResponse(body, status_code=status)  # the CSP: app.middleware, on every page


def _gone(request: Request) -> Response:
    """A network that no longer exists: htmx is sent to a new one, a browser gets a page."""
    if _htmx(request):
        return Response(status_code=404, headers={"HX-Redirect": "/"})
    lang = _lang(request, _prefs(request))
    body = templates.get_template("gone.html").render(t=TEXT[lang], lang=lang)
    return HTMLResponse(body, status_code=404)
