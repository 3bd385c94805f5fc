"""The page's speed with the mind map's knobs, as a class feels it (issue 9, item 8).

In headless Chromium (the system one) at 1280×720, against the app under uvicorn on
127.0.0.1, as benchmarks/page.py does: the time from a key press to the painted update
for a phase step (→) and for a settings change made with the keyboard in its list (↓ then
↑ again in the activation's or the optimiser's select, each a change the page posts), on

- the classic 2-2-2 network (target: under 50 ms),
- a 2-8-8-1 network on the 200-point spiral (tanh, bce, Adam, a cosine schedule, shuffled
  batches of 10, biases updated: the README's example),
- 2-16-16-16-2, phase steps only (target: under 150 ms).

Each figure is a median with the 90th percentile in brackets, and beside it its ratio to
the classic network's phase step of the same run: the machine's speed drifts from one
minute to the next (two shared cores), and a ratio within one run drifts far less. Last, a
peer on the classic page: a key press whose htmx request is the no-op `GET /healthz`,
its answer swapped into a span (the floor under every figure: key, request, htmx, frame).
"Painted" is benchmarks/page.py's: the first task after the frame that follows htmx's swap.

    .venv/bin/python -m benchmarks.knobs [--rounds N]
"""

import argparse
import json
import statistics
import urllib.request

from playwright.sync_api import sync_playwright

from app.view import ids
from benchmarks.page import IDLE, PROBE, WIDE, serve, timed
from tests.e2e.browser import ARGS, CHROMIUM

SPIRAL = {
    "layers": [2, 8, 8, 1],
    "activations": ["tanh", "tanh", "sigmoid"],
    "loss": "bce",
    "data": {"generator": "spiral", "samples": 200, "noise": 0.1, "test_fraction": 0.2},
    "optimizer": {"name": "adam"},
    "schedule": {"name": "cosine", "T_max": 800},
    "learning_rate": 0.03,
    "batch_size": 10,
    "shuffle": True,
    "update_biases": True,
    "seed": 0,
}
# network: (how it is made, the selects whose changes are timed)
NETWORKS = {
    "classic 2-2-2": ({"preset": "classic"}, ("activation_2", "optimizer")),
    "2-8-8-1, spiral of 200": (SPIRAL, ("activation_1", "optimizer")),
    "2-16-16-16-2": (WIDE, ()),
}


def created(url: str, body: dict) -> tuple[str, str]:
    """A network made through the API: its id and owner token."""
    request = urllib.request.Request(
        url + "/api/networks",
        data=json.dumps(body).encode(),
        headers={"Content-Type": "application/json"},
        method="POST",
    )
    with urllib.request.urlopen(request, timeout=30) as r:
        made = json.load(r)
    return made["id"], made["owner_token"]


def opened(browser, url: str, body: dict):
    """A page on a new network of its own, owned by this browser (the owner's link)."""
    id, token = created(url, body)
    context = browser.new_context(viewport={"width": 1280, "height": 720})
    context.add_init_script(PROBE)
    page = context.new_page()
    page.goto(f"{url}/n/{id}/own?token={token}")
    page.wait_for_load_state("load")  # the deferred scripts (keys.js) have run
    return context, page


def unfocused(page) -> None:
    page.wait_for_function(IDLE)  # every region of the last answer has landed
    page.locator("body").click(position={"x": 5, "y": 5})  # the page, not a field


def steps(page, n: int) -> list[float]:
    times = []
    for _ in range(n):
        unfocused(page)
        times.append(timed(page, lambda: page.keyboard.press("ArrowRight")))
    return times


def changes(page, name: str, n: int) -> list[float]:
    """n changes of a select by the keyboard: ↓ to the next option, ↑ back, and so on (the
    answer replaces the select, so it is focused anew each time)."""
    times = []
    for k in range(n):
        page.wait_for_function(IDLE)
        select = page.locator(f'[id="{ids.field(name, "table")}"]')
        select.focus()
        key = "ArrowDown" if k % 2 == 0 else "ArrowUp"
        times.append(timed(page, lambda key=key: page.keyboard.press(key)))
    return times


# A peer on the same page: a key press whose htmx request is the no-op `GET /healthz`, its
# few bytes swapped into a span of their own. What every answer costs at least (the key, the
# request and its answer, htmx, a frame): the floor under the figures above, on this
# machine at this minute.
NOOP = """() => {
    if (document.getElementById('noop')) return;
    const span = document.createElement('span'); span.id = 'noop-answer';
    const button = document.createElement('button'); button.id = 'noop';
    button.setAttribute('hx-get', '/healthz');
    button.setAttribute('hx-target', '#noop-answer');
    button.setAttribute('hx-swap', 'innerHTML');
    button.textContent = 'no-op';
    document.body.append(button, span);
    htmx.process(button);
}"""


def noops(page, n: int) -> list[float]:
    page.evaluate(NOOP)
    times = []
    for _ in range(n):
        page.wait_for_function(IDLE)
        page.locator("#noop").focus()
        times.append(timed(page, lambda: page.keyboard.press("Enter")))
    return times


def cell(xs: list[float], peer: float) -> str:
    median, p90 = statistics.median(xs), statistics.quantiles(xs, n=10)[-1]
    return f"{median:.1f} ms ({p90:.1f}) ×{median / peer:.2f}"


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=30, help="presses of each kind")
    n = parser.parse_args().rounds
    with serve() as url, sync_playwright() as p:
        browser = p.chromium.launch(executable_path=str(CHROMIUM), args=ARGS)
        figures: dict[str, dict[str, list[float]]] = {}
        for label, (body, selects) in NETWORKS.items():
            context, page = opened(browser, url, body)
            steps(page, 2)  # the first answers warm up (LaTeX converted, caches filled)
            figures[label] = {"phase step (→)": steps(page, n)}
            for name in selects:
                changes(page, name, 2)
                figures[label][f"{name} (↓/↑)"] = changes(page, name, n)
            if label == "classic 2-2-2":
                noops(page, 2)
                floor = noops(page, n)
            context.close()
        browser.close()
    peer = statistics.median(figures["classic 2-2-2"]["phase step (→)"])
    print(f"Key press to painted update, headless Chromium at 1280×720, full page, {n} each:")
    print("median (p90) ×ratio to the classic network's phase step of this run")
    print("| network | action | key to paint |")
    print("| --- | --- | --- |")
    for label, actions in figures.items():
        for action, xs in actions.items():
            print(f"| {label} | {action} | {cell(xs, peer)} |")
    print(f"| classic 2-2-2 | no-op (Enter: htmx GET /healthz) | {cell(floor, peer)} |")


if __name__ == "__main__":
    main()
