"""Drawing the lab: the templates, the page's paths, and the lab (or the regions of it that
changed) as HTML for one session and one person's display preferences. Routes decide what
to draw (app/pages.py); followers' drawings are shared (app/followers.py)."""

from urllib.parse import quote

from jinja2 import Environment, FileSystemLoader, select_autoescape

from app import session as ops
from app import view
from app.paths import ROOT
from app.session import Session
from app.view import ids, prefs

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
        "share",
        "history",
        "own",
        "gradcheck",
        "stop",
        "live",
    )
}

templates = Environment(
    loader=FileSystemLoader(ROOT / "templates"),
    autoescape=select_autoescape(["html"]),
    trim_blocks=True,
    lstrip_blocks=True,
)

HEADERS = {  # of every answer that draws the lab
    "Vary": "HX-Request, HX-Target, Accept-Language, Cookie",
    "Cache-Control": "no-store",  # the state is the server's: never show a stale copy
}


FOLLOWED = ("index.html", "page.html", "prefs.html")  # the templates with templates/follow.html


def paths(id: str) -> dict[str, str]:
    """The page's actions on network `id`, for the templates."""
    return {a: path.format(id=quote(id, safe="")) for a, path in PATHS.items()}


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
    of `only` that the page shows; prefs.html: those of `only`, and the follow stream's
    element, for a change of preferences)."""
    regions = None
    if name in ("changes.html", "prefs.html"):
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
    urls = paths(session.id)
    context = {"lab": lab, "t": lab.t, "urls": urls, "ids": ids, "oob": regions is not None}
    if name in FOLLOWED:  # the follow stream's element: what its stream draws with
        context["follow_view"] = prefs.to_query(chosen)
    context |= extra or {}
    return templates.get_template(name).render(context, regions=regions)


def warm() -> None:
    """Compile every template and convert the classic network's formulas (both cached for
    the life of the process), so that the first class to open the page does not wait."""
    for name in templates.list_templates():
        templates.get_template(name)
    s = ops.create({"preset": "classic"})
    for _ in ops.phases(s.state.network.depth):
        html(s, "index.html", prefs.Prefs(), "en")
        s = ops.next_phase(s)
