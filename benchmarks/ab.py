"""A change to the page's speed, judged in one run: this checkout against another.

On a machine whose speed drifts from one minute to the next (two shared cores), two
separate benchmark runs cannot tell a 5 % change from noise. This serves both
checkouts at once and times key presses against each in alternating rounds, so that
both see the same conditions:

    git worktree add /tmp/before <commit> && ln -s "$PWD/node_modules" /tmp/before/
    .venv/bin/python -m benchmarks.ab /tmp/before [--present] [--edits] [--rounds N]

Each round opens the classic network in a fresh browser context and times 14 phase
steps (→) or 14 edits of w5 (then Tab), key press to painted update as in
benchmarks/page.py.
"""

import argparse
import statistics
from pathlib import Path

from playwright.sync_api import sync_playwright

from app.view import ids
from benchmarks.page import PROBE, ROOT, serve, timed
from tests.e2e.browser import ARGS, CHROMIUM

PRESSES = 14


def one_round(browser, url: str, present: bool, edits: bool) -> list[float]:
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(url + "/")
    page.click("#btn-start")
    page.wait_for_load_state("load")  # the deferred scripts (keys.js) have run
    if present:
        page.keyboard.press("p")
        page.locator(".page.present").wait_for()
    page.locator("body").click(position={"x": 5, "y": 700})  # focus the page, not a field
    timed(page, lambda: page.keyboard.press("ArrowRight"))  # the first answer warms up
    times = []
    for k in range(PRESSES):
        if edits:
            field = page.locator(f'[id="{ids.field("w5", "graph" if present else "table")}"]')
            field.fill(f"0.{30 + k}")
            times.append(timed(page, lambda f=field: f.press("Tab")))
        else:
            times.append(timed(page, lambda: page.keyboard.press("ArrowRight")))
    context.close()
    return times


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("other", type=Path, help="the other checkout (with node_modules)")
    parser.add_argument("--present", action="store_true", help="in presentation mode")
    parser.add_argument("--edits", action="store_true", help="edits of w5, not phase steps")
    parser.add_argument("--rounds", type=int, default=6)
    args = parser.parse_args()
    roots = {"other": args.other.resolve(), "this": ROOT}
    times: dict[str, list[float]] = {name: [] for name in roots}
    with serve(roots["other"]) as other, serve(roots["this"]) as this, sync_playwright() as p:
        urls = {"other": other, "this": this}
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        for r in range(args.rounds):
            order = ("other", "this") if r % 2 == 0 else ("this", "other")
            for name in order:
                times[name] += one_round(browser, urls[name], args.present, args.edits)
        browser.close()
    for name, xs in times.items():
        p90 = statistics.quantiles(xs, n=10)[-1]
        print(
            f"{name} ({roots[name]}): median {statistics.median(xs):.1f} ms, "
            f"mean {statistics.mean(xs):.1f} ms, p90 {p90:.1f} ms, n={len(xs)}"
        )


if __name__ == "__main__":
    main()
