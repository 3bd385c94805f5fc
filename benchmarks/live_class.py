"""A live training watched by a class: the owner trains live, 300 follower pages watch.

Serves the app under uvicorn on 127.0.0.1 (benchmarks/classroom.py's `serve`: SQLite in a
temporary directory, or Redis with `--redis URL`; `--workers N`), makes the 2-8-8-1
network on the spiral of 200 (benchmarks/knobs.py's), connects `--followers` pages to its
page stream (`/n/{id}/events`, gzip) and starts a live training of it. Each follower does
what its page does (static/follow.js and the browser): it takes each chunk's regions from
its stream, and the decision boundary's picture with them (since the seventh session) or,
if they only name it, fetches it, one at a time on a keep-alive connection of its own (a
newer one once that answer is in, if the picture changed meanwhile). A listener on the
API's events marks when each chunk was stored.

Reports the chunks stored a second, each follower's updates a second (regions, and
pictures), the delay from a chunk's event to a follower showing it (its regions and its
picture, for the chunks it showed: a slow follower skips to the newest), the bytes each
follower received a second, and the server's CPU. Bounded: it stops by itself.

    .venv/bin/python -m benchmarks.live_class [--seconds 20] [--followers 300]
        [--workers 1] [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import asyncio
import re
import resource
import sys
import time
import zlib
from dataclasses import dataclass, field

import orjson

from benchmarks.classroom import HOST, Broken, Connection, cpu_seconds, ms, quantiles, read_head
from benchmarks.classroom import serve as served
from benchmarks.knobs import SPIRAL

clock = time.perf_counter
PICTURE = re.compile(rb'id="boundary-map" src="([^"]+)"')
INLINE = b'id="boundary-map" src="data:'  # a picture inside the regions


@dataclass
class Follower:
    regions: int = 0  # chunks' regions received
    pictures: int = 0  # pictures fetched
    bytes: int = 0  # received, as sent (stream and pictures)
    shown: dict[int, float] = field(default_factory=dict)  # version → when regions + picture
    errors: int = 0


async def stream(port: int, path: str, headers: str = "") -> tuple:
    reader, writer = await asyncio.open_connection(HOST, port)
    accept = "Accept: text/event-stream"
    writer.write(
        f"GET {path} HTTP/1.1\r\nHost: {HOST}:{port}\r\n{accept}\r\n{headers}\r\n".encode()
    )
    status, head = await read_head(reader)
    if status != 200 or head.get(b"transfer-encoding") != b"chunked":
        raise Broken(status)
    return reader, writer, head


async def chunks(reader):
    """The decoded chunks of a chunked answer."""
    while True:
        size = int((await reader.readline()).split(b";")[0], 16)
        if size == 0:
            raise Broken("the stream ended")
        yield (await reader.readexactly(size + 2))[:-2]


async def follow(port: int, id: str, me: Follower, opened: "Opened") -> None:
    page = Connection(port)
    try:
        reader, writer, head = await stream(port, f"/n/{id}/events", "Accept-Encoding: gzip\r\n")
    except (OSError, Broken) as e:
        me.errors += 1
        opened.one(repr(e))
        return
    unpack = zlib.decompressobj(31) if head.get(b"content-encoding") == b"gzip" else None
    wanted, fetching = None, None  # the newest picture named, (src, version)

    async def fetch() -> None:
        nonlocal wanted
        while wanted is not None:
            src, version = wanted
            wanted = None
            try:
                status, _ = await page.request("GET", src.decode())
            except Broken:
                me.errors += 1
                return
            if status != 200:
                me.errors += 1
                return
            me.pictures += 1
            me.shown[version] = clock()

    opened.one()
    buffer, src = b"", b""
    try:
        async for data in chunks(reader):
            me.bytes += len(data)
            buffer += unpack.decompress(data) if unpack else data
            *events, buffer = buffer.split(b"\n\n")
            for e in events:
                if not e.startswith(b"event: lab\n"):
                    continue
                version = orjson.loads(e.split(b"\n", 2)[1][6:])["version"]
                me.regions += 1
                if INLINE in e:  # the picture came with the regions (a follower's page)
                    me.pictures += 1
                    me.shown[version] = clock()
                    continue
                found = PICTURE.search(e)
                if found and found.group(1) != src:
                    src = found.group(1)
                    wanted = (src, version)
                    if fetching is None or fetching.done():
                        fetching = asyncio.create_task(fetch())
                else:
                    me.shown[version] = clock()
    except (OSError, asyncio.IncompleteReadError, zlib.error, Broken):
        me.errors += 1
    finally:
        me.bytes += page.received
        writer.close()
        page.close()
        if fetching is not None:
            fetching.cancel()


class Opened:
    """How many followers are connected; set once all are."""

    def __init__(self, count: int):
        self.left = count
        self.all = asyncio.Event()

    def one(self, failed: str = "") -> None:
        self.left -= 1
        if failed:
            print(f"a follower could not connect: {failed}", file=sys.stderr)
        if self.left == 0:
            self.all.set()


async def drive(port: int, pid: int, args) -> None:
    setup = Connection(port)
    status, body = await setup.request("POST", "/api/networks", body=orjson.dumps(SPIRAL))
    if status != 201:
        sys.exit(f"creating the network answered {status}: {body[:200]!r}")
    made = orjson.loads(body)
    id, token = made["id"], made["owner_token"]

    stored: dict[int, float] = {}  # version → when its event reached the API's listener

    async def listen() -> None:
        reader, writer, _ = await stream(port, f"/api/networks/{id}/events")
        buffer = b""
        try:
            async for data in chunks(reader):
                buffer += data
                *events, buffer = buffer.split(b"\n\n")
                for e in events:
                    if e.startswith(b"event: change\n"):
                        data = orjson.loads(e.split(b"\n", 2)[1][6:])
                        stored.setdefault(data["version"], clock())
        finally:
            writer.close()

    listener = asyncio.create_task(listen())
    followers = [Follower() for _ in range(args.followers)]
    opened = Opened(args.followers)
    tasks = [asyncio.create_task(follow(port, id, f, opened)) for f in followers]
    await asyncio.wait_for(opened.all.wait(), 60)
    await asyncio.sleep(1.0)
    body = orjson.dumps({"iterations": 100000})
    status, answer = await setup.request("POST", f"/api/networks/{id}/run", token, body)
    if status != 202:
        sys.exit(f"starting the live training answered {status}: {answer[:200]!r}")
    setup.close()  # idle meanwhile beyond the server's keep-alive: a new one to stop it
    began, cpu, client = clock(), cpu_seconds(pid), time.process_time()
    await asyncio.sleep(args.seconds)
    seconds, cpu, client = clock() - began, cpu_seconds(pid) - cpu, time.process_time() - client
    await setup.request("POST", f"/api/networks/{id}/run/stop", token)
    await asyncio.sleep(1.0)
    for task in [*tasks, listener]:
        task.cancel()
    await asyncio.gather(*tasks, listener, return_exceptions=True)
    setup.close()

    chunks_stored = [v for v, t in stored.items() if began <= t <= began + seconds]
    delays = [
        t - stored[v]
        for f in followers
        for v, t in f.shown.items()
        if v in stored and began <= stored[v] <= began + seconds
    ]
    rates = sorted(len([v for v in f.shown if v in chunks_stored]) / seconds for f in followers)
    n = len(followers)
    regions = sum(f.regions for f in followers) / n / seconds
    pictures = sum(f.pictures for f in followers) / n / seconds
    received = sum(f.bytes for f in followers) / n / seconds / 1000
    p50, p99, top = (ms(q) for q in quantiles(delays, (0.5, 0.99, 1.0)))
    store = "Redis" if args.redis else "SQLite"
    print(
        f"{n} follower pages of a live training of 2-8-8-1 on the spiral of 200, "
        f"{seconds:.1f} s; {args.workers} uvicorn worker(s), {store}"
    )
    print(f"chunks stored: {len(chunks_stored) / seconds:.1f} a second")
    print(
        f"each follower showed {quantiles(rates, (0.5,))[0]:.1f} chunks a second (median; the "
        f"slowest {rates[0]:.1f}), from {regions:.1f} regions and {pictures:.1f} pictures a second"
    )
    print(f"delay from a chunk's event to a follower showing it: p50 {p50:.0f} / p99 {p99:.0f}")
    print(f"  / max {top:.0f} ms")
    errors = sum(f.errors for f in followers)
    print(f"received by each follower: {received:.1f} KB a second, as sent; errors {errors}")
    print(f"CPU: server {cpu / seconds:.0%} of one core, clients {client / seconds:.0%}")


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=20.0)
    p.add_argument("--followers", type=int, default=300)
    p.add_argument("--workers", type=int, default=1)
    p.add_argument("--redis", default="")
    args = p.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = 2 * args.followers + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, need), hard))
    with served(args) as (port, pid):
        asyncio.run(drive(port, pid, args))


if __name__ == "__main__":
    main()
