"""The page's speed, as a class feels it.

In headless Chromium (the system one), against the app under uvicorn on 127.0.0.1:
the median time from a key press to the updated graph being painted, over 50 phase
steps (→) and 50 edits of w5 (type, then Tab), on the classic network in presentation
mode and on the full page; 20 of each for a 2-16-16-16-2 network; and the bytes the
first load transfers. In process: the
server's time to render the page and each fragment, for both networks, over every
phase. Targets (issue 3): under 50 ms from key to paint on the classic network,
under 100 KB first load.

"Painted" is taken as the first task after the animation frame that follows htmx's
swap (requestAnimationFrame, then setTimeout 0): the frame with the new graph has
been produced by then.

    .venv/bin/python -m benchmarks.page
"""

import contextlib
import dataclasses
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import sync_playwright

from app import session as ops
from app.render import html
from app.view import Prefs, ids
from tests.e2e.browser import ARGS, CHROMIUM

ROOT = Path(__file__).resolve().parent.parent
WIDE = {"layers": [2, 16, 16, 16, 2], "inputs": [0.05, 0.1], "targets": [0.01, 0.99], "seed": 0}
# In the page: time each key press (or the Tab that commits an edit) to the paint
# after htmx's swap, and report it on the console.
PROBE = """
let start = null;
document.addEventListener("keydown", () => { start = performance.now(); }, true);
// htmx fires afterSwap on each swapped element (the lab and its out-of-band parts), all
// once the whole answer is in: time the first of them. Not the follow stream's: the event
// of the change itself often arrives before the answer (a large network's by 100 ms and
// more), and its swap (hx-swap none, on #follow) paints nothing.
document.addEventListener("htmx:afterSwap", (event) => {
  if (start === null || event.target.closest("#follow")) return;
  const t0 = start;
  start = null;
  const report = () => console.log("paint " + (performance.now() - t0));
  requestAnimationFrame(() => setTimeout(report, 0));
});
"""


@contextlib.contextmanager
def serve(root: Path = ROOT):
    """The app of the checkout at `root` under uvicorn on 127.0.0.1 and a free port."""
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    cmd = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", "127.0.0.1"]
    db = tempfile.TemporaryDirectory()
    env = {**os.environ, "BACKPROP_LAB_DB": str(Path(db.name) / "lab.db")}
    env["BACKPROP_LAB_LOG_LEVEL"] = "warning"  # no access lines among the figures
    server = subprocess.Popen(
        [*cmd, "--port", str(port), "--log-level", "warning"], cwd=root, env=env
    )
    url = f"http://127.0.0.1:{port}"
    for _ in range(200):
        try:
            urllib.request.urlopen(url + "/healthz", timeout=1).close()
            break
        except OSError:
            time.sleep(0.05)
    try:
        yield url
    finally:
        server.terminate()
        server.wait(timeout=10)
        db.cleanup()


IDLE = "() => !document.querySelector('.htmx-request, .htmx-swapping, .htmx-settling')"


def timed(page, action) -> float:
    with page.expect_console_message(lambda m: m.text.startswith("paint ")) as message:
        action()
    return float(message.value.text.split()[1])


def first_load(browser, url: str) -> tuple[int, int]:
    """(bytes transferred, requests) for a fresh browser opening the app."""
    context = browser.new_context()
    page = context.new_page()
    responses = []
    page.on("requestfinished", lambda r: responses.append(r))
    page.goto(url + "/")
    page.click("#btn-start")
    page.wait_for_load_state("networkidle")
    total = 0
    for r in responses:
        sizes = r.sizes()
        total += sizes["responseBodySize"] + sizes["responseHeadersSize"]
    context.close()
    return total, len(responses)


def key_to_paint(browser, url: str, layers: str | None, steps: int, edits: int, present: bool):
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(url + "/")
    page.click("#btn-start")
    page.wait_for_load_state("load")  # the deferred scripts (keys.js) have run
    if layers:
        page.locator("#new-layers").fill(layers)
        page.locator("#btn-new").click()
        page.wait_for_url(lambda u: "/n/" in u)
        page.locator(f'[id="{ids.neuron("h3_16")}"]').wait_for()
        page.wait_for_load_state("load")
    if present:
        page.keyboard.press("p")
        page.locator(".page.present").wait_for()
    page.locator("body").click(position={"x": 5, "y": 700})  # focus the page, not a field
    stepped = [timed(page, lambda: page.keyboard.press("ArrowRight")) for _ in range(steps)]
    edited = []
    where = "graph" if present else "table"
    for k in range(edits):
        # The paint timed is the first region's; let the others land before typing anew.
        page.wait_for_function(IDLE)
        field = page.locator(f'[id="{ids.field("w5", where)}"]')
        field.fill(f"0.{30 + k % 50}")
        edited.append(timed(page, lambda f=field: f.press("Tab")))
    context.close()
    return stepped, edited


def render_ms(data: dict, name: str, prefs: Prefs | None = None, repeats: int = 5) -> float:
    """Median over every phase of the server's time to render `name` for the network;
    for the answer to a step (changes.html), the step into that phase."""
    prefs = prefs or Prefs()
    s = dataclasses.replace(ops.create(data), id="bench")
    samples = []
    for _ in range(len(ops.phases(s.state.network.depth))):
        before, s = s, ops.next_phase(s)
        step = (before, None) if name == "changes.html" else None
        html(s, name, prefs, "en", before=step)  # LaTeX is converted once, then cached
        for _ in range(repeats):
            t0 = time.perf_counter()
            html(s, name, prefs, "en", before=step)
            samples.append((time.perf_counter() - t0) * 1000)
    return statistics.median(samples)


def main() -> None:
    print("Server render time (median over every phase, in process)")
    print("| network | page | page fragment | lab fragment | step answer | step (presenting) |")
    print("| --- | --- | --- | --- | --- | --- |")
    presenting = Prefs(present="on")
    for label, data in (("2-2-2 classic", {"preset": "classic"}), ("2-16-16-16-2", WIDE)):
        times = [render_ms(data, n) for n in ("index.html", "page.html", "lab.html")]
        times += [render_ms(data, "changes.html"), render_ms(data, "changes.html", presenting)]
        print(f"| {label} | " + " | ".join(f"{t:.1f} ms" for t in times) + " |")

    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        size, count = first_load(browser, url)
        print(f"\nFirst load: {size / 1024:.1f} KB in {count} requests (target < 100 KB)")
        print("\nKey press to painted update, headless Chromium at 1280×720 (median, p90)")
        print("| network | mode | phase steps (→) | edits of w5 (Tab) |")
        print("| --- | --- | --- | --- |")
        runs = (
            ("2-2-2 classic", None, 50, True),
            ("2-2-2 classic", None, 50, False),
            ("2-16-16-16-2", "2-16-16-16-2", 20, False),
        )
        for label, layers, n, present in runs:
            stepped, edited = key_to_paint(browser, url, layers, n, n, present)
            cells = [
                f"{statistics.median(xs):.1f} ms ({statistics.quantiles(xs, n=10)[-1]:.1f})"
                for xs in (stepped, edited)
            ]
            mode = "presentation" if present else "full page"
            print(f"| {label} | {mode} | " + " | ".join(cells) + f" | ({n} each)")
        browser.close()


if __name__ == "__main__":
    main()
