"""Browser tests: the app served by uvicorn on 127.0.0.1, driven in the system Chromium.

Never `playwright install` (it downloads browsers from hosts we cannot reach): the
tests use /usr/bin/chromium (Debian's `chromium` package). Without it they skip with
the reason, unless BACKPROP_LAB_REQUIRE_BROWSER=1 (as in CI), where they fail.
"""

from pathlib import Path
from urllib.parse import urlsplit

import pytest
from playwright.sync_api import Page

from app.pages import HTMX
from tests.conftest import required
from tests.e2e.browser import ARGS, CHROMIUM
from tests.server import HOST, serve

ROOT = Path(__file__).resolve().parents[2]
ARTIFACTS = ROOT / "artifacts"


def _missing() -> str | None:
    if not CHROMIUM.exists():
        return f"no Chromium at {CHROMIUM} (apt-get install chromium)"
    if not HTMX.exists():
        return "htmx is not installed (npm ci)"
    return None


@pytest.fixture(scope="session", autouse=True)
def _browser_available():
    reason = _missing()
    if reason and required("browser"):
        pytest.fail(f"BACKPROP_LAB_REQUIRE_BROWSER=1 but {reason}")
    if reason:
        pytest.skip(reason)


@pytest.fixture(scope="session")
def browser_type_launch_args(browser_type_launch_args):
    return {
        **browser_type_launch_args,
        "executable_path": str(CHROMIUM),
        "args": ARGS,
    }


@pytest.fixture(scope="session")
def browser_context_args(browser_context_args):
    return {**browser_context_args, "viewport": {"width": 1280, "height": 720}}


@pytest.fixture(scope="session")
def server(_browser_available, tmp_path_factory):
    """The app under uvicorn on 127.0.0.1 and a free port (its own SQLite file); stopped by
    its own pid."""
    with serve(tmp_path_factory.mktemp("e2e")) as url:
        yield url


@pytest.fixture
def requests_made(page):
    """Every URL the page asks for; a request to any other host is blocked and recorded."""
    made: list[str] = []

    def check(route):
        made.append(route.request.url)
        if urlsplit(route.request.url).hostname == HOST or route.request.url.startswith("data:"):
            route.continue_()
        else:
            route.abort()

    page.context.route("**/*", check)
    page.on("request", lambda request: made.append(request.url))
    return made


@pytest.fixture
def artifacts() -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    return ARTIFACTS


@pytest.fixture
def follower(browser, browser_context_args) -> Page:
    """A page in a browser context of its own: its own cookies, so it owns nothing."""
    context = browser.new_context(**browser_context_args)
    yield context.new_page()
    context.close()
