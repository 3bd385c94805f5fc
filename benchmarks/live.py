"""The live training view, as a follower's screen gets it.

Under uvicorn on 127.0.0.1 (its own SQLite file): a 2-8-8-1 network on a 200-point spiral
(Adam, a cosine schedule, batches of 10, a test part of 40) trains live for `--seconds`.
A follower listens to its events and, after each, fetches what its page fetches: the
regions a chunk changes (/n/{id}/live) and the decision boundary's picture. Meanwhile a
second network is stepped through the API (phase/next), as a class on another network
would, before the training and during it.

Reports the updates a second the follower got, their bytes (regions and picture), and the
step's latency during the training against before it. Targets (issue 9): at least 5
updates a second; a step still answered in milliseconds (p50 within 3× idle).

    .venv/bin/python -m benchmarks.live [--seconds 10]
"""

import argparse
import json
import re
import statistics
import threading
import time

import httpx

from benchmarks.page import serve
from tests.test_api_training import SPIRAL

LIVE = SPIRAL | {"data": SPIRAL["data"] | {"test_fraction": 0.2}}
ORIGIN = {"Origin": "http://127.0.0.1"}


def steps(url: str, seconds: float) -> list[float]:
    """Latencies (s) of phase/next on a classic network, one every 20 ms, for `seconds`."""
    with httpx.Client(base_url=url, timeout=30) as c:
        made = c.post("/api/networks", json={"preset": "classic"}).json()
        auth = {"Authorization": f"Bearer {made['owner_token']}"}
        out: list[float] = []
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            t0 = time.perf_counter()
            r = c.post(f"/api/networks/{made['id']}/phase/next", headers=auth)
            assert r.status_code == 200, r.text
            out.append(time.perf_counter() - t0)
            time.sleep(0.02)
        return out


def follow(url: str, id: str, stop: threading.Event, got: list) -> None:
    """As a follower's page: after each event of the training, the regions and the picture."""
    with httpx.Client(base_url=url, timeout=30) as c, c.stream("GET", f"/n/{id}/events") as s:
        seen, kind = "", "message"
        for line in s.iter_lines():
            if stop.is_set():
                return
            if line.startswith("event:"):
                kind = line[6:].strip()
            elif not line:  # an event's end
                kind = "message"
            # A follower's stream also brings each change's lab (a JSON head, then HTML
            # lines): this follower fetches the regions as the owner's other tabs do.
            if kind != "change" or not line.startswith("data: "):
                continue
            event = json.loads(line[6:])
            if event.get("run") != "running" or event.get("action") != "train":
                continue
            regions = c.get(f"/n/{id}/live", headers={"HX-Request": "true"})
            picture = sent = 0
            key = re.search(r"boundary\.svg\?v=(\w+)", regions.text)
            if key and key.group(1) != seen:
                seen = key.group(1)
                drawn = c.get(f"/n/{id}/boundary.svg?v={seen}")
                picture, sent = len(drawn.content), drawn.num_bytes_downloaded
            got.append(
                (
                    time.perf_counter(),
                    len(regions.content),
                    picture,
                    regions.num_bytes_downloaded,
                    sent,
                )
            )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--seconds", type=float, default=10.0)
    args = parser.parse_args()
    with serve() as url, httpx.Client(base_url=url, timeout=30) as c:
        made = c.post("/api/networks", json=LIVE).json()
        id, auth = made["id"], {"Authorization": f"Bearer {made['owner_token']}"}
        c.post(f"/api/networks/{id}/train", json={"iterations": 1}, headers=auth)  # the pool up
        idle = steps(url, 3.0)
        got: list[tuple[float, int, int, int, int]] = []  # at, bytes, and as sent (gzip)
        stop = threading.Event()
        follower = threading.Thread(target=follow, args=(url, id, stop, got), daemon=True)
        follower.start()
        time.sleep(0.5)
        r = c.post(f"/api/networks/{id}/run", json={"iterations": 100000}, headers=auth)
        assert r.status_code == 202, r.text
        during = steps(url, args.seconds)
        stop.set()
        c.post(f"/api/networks/{id}/run/stop", headers=auth)
        done = c.get(f"/api/networks/{id}/run").json()["done"]
    window = [g for g in got if g[0] - got[0][0] >= 1.0]  # after the first chunks
    span = window[-1][0] - window[0][0] if len(window) > 1 else float("nan")
    rate = (len(window) - 1) / span
    regions = statistics.mean(g[1] for g in window)
    regions_sent = statistics.mean(g[3] for g in window)
    pictures = [g[2] for g in window if g[2]]
    pictures_sent = [g[4] for g in window if g[2]]
    idle_p50, during_p50 = statistics.median(idle), statistics.median(during)
    during_p99 = statistics.quantiles(during, n=100)[98]
    print(f"live training of 2-8-8-1 on 200 points, {args.seconds:.0f} s: {done} iterations")
    print(f"  follower's updates: {rate:.1f}/s (target ≥ 5)")
    picture, sent = statistics.mean(pictures) / 1000, statistics.mean(pictures_sent) / 1000
    print(
        f"  bytes per update: regions {regions / 1000:.1f} KB ({regions_sent / 1000:.1f} KB sent,"
        f" gzip), boundary {picture:.1f} KB ({sent:.1f} KB sent)"
    )
    print(
        f"  phase/next meanwhile: p50 {during_p50 * 1000:.1f} ms, p99 {during_p99 * 1000:.1f} ms; "
        f"idle p50 {idle_p50 * 1000:.1f} ms; ratio {during_p50 / idle_p50:.2f} (target ≤ 3)"
    )


if __name__ == "__main__":
    main()
