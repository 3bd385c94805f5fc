"""A whole class on one server: a teacher stepping, 300 followers, 50 students, at once.

Serves the app under uvicorn on 127.0.0.1 (its own SQLite file in a temporary directory,
or Redis with `--redis URL`; `--workers N`), creates the teacher's network and one per
student, connects the followers to the teacher's event stream; then, while the owner steps
its network (`POST …/phase/next`) `--rate` times a second and `--followers` clients follow
it (`GET …/events`, server-sent events), two phases of `--seconds` each:

1. **A class at its pace.** `--students` clients each step their own network `--pace`
   times a second on average, at random moments (Poisson arrivals, each student on its
   own schedule, whether or not the server kept up: open loop). A step's latency runs from
   the moment it was due, so a step held up behind its student's previous one counts the
   wait. This is where the latency targets are read: a step's p99, and the delay until
   every follower has seen each of the owner's steps.
2. **Flat out.** The same students each step as fast as it can, in alternating rounds with
   calling the no-op `GET /healthz` as fast as it can: the same clients, the same
   connections, the same owner and followers around them, so the ratio of the two
   throughputs says what a step costs beyond serving any request at all. This is where the
   throughput target is read. Its latencies are printed too, but with 50 clients each
   always waiting for an answer they are the clients' own queue: 50 ÷ throughput on
   average, whatever the server (Little's law; the no-op's own p99 shows it).

Reports for each phase each call's requests per second, p50/p99/max latency and errors
(a non-2xx answer or a broken connection), the server's CPU time per request (the owner's
and the followers' share included; a local Redis server's apart), and, for each of the
owner's steps, the delay from its answer reaching the owner until every follower has seen
that version (or a newer one; an event that arrives before the owner's answer counts as
0). Several workers on SQLite share the networks but not the follow events (each worker's
own followers only): followers then miss steps, counted as errors; use Redis for that.
Exits 0 when every target is met.

One asyncio event loop drives every client over plain keep-alive HTTP/1.1 sockets (a few
dozen lines below), light enough not to take the server's share of the cores. Bounded: it
stops by itself.

    .venv/bin/python -m benchmarks.classroom [--seconds 30] [--followers 300] [--students 50]
        [--pace 4] [--rate 4] [--round 2.5] [--only class|flat] [--pages]
        [--workers 1] [--redis redis://127.0.0.1:6379/0]
"""

import argparse
import asyncio
import contextlib
import gzip
import os
import random
import resource
import signal
import socket
import subprocess
import sys
import tempfile
import time
import urllib.parse
import zlib
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path

import orjson

ROOT = Path(__file__).resolve().parent.parent
HOST = "127.0.0.1"
TARGETS = {"step_p99_ms": 50.0, "follower_max_ms": 250.0, "ratio": 0.5}
clock = time.perf_counter


class Broken(Exception):
    """The connection closed or answered something that is not HTTP/1.1."""


class Connection:
    """One keep-alive HTTP/1.1 connection: a request at a time, bodies by Content-Length."""

    def __init__(self, port: int):
        self.port = port
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.received = 0  # the answers' bodies, as sent (compressed or not)

    async def request(
        self, method: str, path: str, token: str = "", body: bytes = b"", extra: str = ""
    ) -> tuple[int, bytes]:
        if self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(HOST, self.port)
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {HOST}:{self.port}\r\n{auth}{extra}"
            # As a browser or an HTTP library asks: the server's compression is in the figures.
            "Accept-Encoding: gzip\r\n"
            f"Content-Type: application/json\r\nContent-Length: {len(body)}\r\n\r\n"
        )
        try:
            self.writer.write(head.encode() + body)
            status, headers = await read_head(self.reader)
            data = await self.reader.readexactly(int(headers.get(b"content-length", 0)))
        except (OSError, asyncio.IncompleteReadError, Broken):
            self.close()
            raise Broken(f"{method} {path}") from None
        self.received += len(data)
        if headers.get(b"connection") == b"close":
            self.close()
        if headers.get(b"content-encoding") == b"gzip":
            data = gzip.decompress(data)
        return status, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


async def read_head(reader: asyncio.StreamReader) -> tuple[int, dict[bytes, bytes]]:
    line = await reader.readline()
    parts = line.split()
    if len(parts) < 2 or not parts[0].startswith(b"HTTP/1."):
        raise Broken(line)
    headers = {}
    while (line := await reader.readline()) not in (b"\r\n", b"\n", b""):
        name, _, value = line.partition(b":")
        headers[name.strip().lower()] = value.strip().lower()
    return int(parts[1]), headers


@dataclass
class Calls:
    """Latencies (s) and errors of one kind of call."""

    latencies: list[float] = field(default_factory=list)
    errors: int = 0
    seconds: float = 0.0  # the time this kind of call was being made
    cpu: float = 0.0  # the server's CPU time meanwhile (s), theirs and the followers'
    redis: float = 0.0  # a local Redis server's CPU time meanwhile (s)

    def row(self, name: str) -> str:
        n = len(self.latencies)
        rps = n / self.seconds if self.seconds else 0.0
        p50, p99, top = (ms(q) for q in quantiles(self.latencies, (0.5, 0.99, 1.0)))
        cost = f"{ms(self.cpu / n):>9.2f}" if self.cpu and n else ""
        cost += f"{ms(self.redis / n):>9.2f}" if self.redis and n else ""
        return f"{name:<32}{n:>8}{rps:>9.0f}{p50:>9.1f}{p99:>9.1f}{top:>9.1f}{self.errors:>8}{cost}"

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds if self.seconds else 0.0


@dataclass
class Seen:
    """How many followers have seen a version, and when the last of them did."""

    count: int = 0
    last: float = 0.0


@dataclass
class Phase:
    """One phase of the run: its calls, the owner's steps, the server's CPU."""

    name: str  # "class" or "flat"
    calls: dict[str, Calls] = field(default_factory=dict)
    stepped: list[tuple[int, float]] = field(default_factory=list)  # (version, answered at)
    cpu: tuple[float, float, float] = (0.0, 0.0, 0.0)  # measured: seconds, server's, clients'
    processes: dict[int, float] = field(default_factory=dict)  # each server process's CPU (s)

    def __post_init__(self) -> None:
        kinds = ("owner step", "student step") + (("no-op",) if self.name == "flat" else ())
        self.calls = {k: Calls() for k in kinds}


@dataclass
class Run:
    port: int
    pid: int  # the server's
    args: argparse.Namespace
    redis_pid: int | None = None  # a local Redis server's (its CPU is the store's share)
    owner: tuple[str, str] = ("", "")  # the teacher's network id and token
    students: list[tuple[str, str]] = field(default_factory=list)
    seen: dict[int, Seen] = field(default_factory=dict)  # version → its followers
    connected: int = 0
    follower_bytes: int = 0  # what the followers' streams received, as sent
    follower_errors: int = 0
    phases: list[Phase] = field(default_factory=list)  # the one going on last
    # What the students do now: "warm-up", "class" (at their pace), "step" or "no-op" (flat
    # out), "pause" or "stop".
    mode: str = "warm-up"


def saw(run: Run, upto: int, since: int, now: float) -> None:
    """A follower has seen every version after `since` up to `upto`, at `now`."""
    for v in range(since + 1, upto + 1):
        seen = run.seen.setdefault(v, Seen())
        seen.count += 1
        seen.last = max(seen.last, now)


async def follower(run: Run, opened: asyncio.Event, done: asyncio.Event) -> None:
    """One follower: reads the event stream and notes when it first saw each version; with
    `--pages`, as a follower's page does (`static/follow.js`): it reads the page's stream
    (`/n/{id}/events`, gzip), which brings after each change the lab it leads to, and has
    seen a version when that lab has arrived."""
    id = run.owner[0]
    try:
        reader, writer = await asyncio.open_connection(HOST, run.port)
    except OSError:
        run.follower_errors += 1
        return
    newest, shown = 0, 0
    path = f"/n/{id}/events" if run.args.pages else f"/api/networks/{id}/events"
    try:
        writer.write(
            f"GET {path} HTTP/1.1\r\nHost: {HOST}:{run.port}\r\n"
            "Accept: text/event-stream\r\nAccept-Encoding: gzip\r\n\r\n".encode()
        )
        status, headers = await read_head(reader)
        if status != 200:
            raise Broken(status)
        chunked = headers.get(b"transfer-encoding") == b"chunked"
        unpack = zlib.decompressobj(31) if headers.get(b"content-encoding") == b"gzip" else None
        buffer = b""
        while not done.is_set():
            if chunked:
                size = int((await reader.readline()).split(b";")[0], 16)
                if size == 0:
                    raise Broken("the stream ended")
                data = (await reader.readexactly(size + 2))[:-2]
            else:
                data = await reader.read(65536)
                if not data:
                    raise Broken("the stream ended")
            run.follower_bytes += len(data)
            buffer += unpack.decompress(data) if unpack else data
            *events, buffer = buffer.split(b"\n\n")  # the server ends lines with LF alone
            now = clock()
            for e in events:
                kind, data = b"message", b""
                # Two lines are enough (a lab's head is its first data line): the client
                # must not spend on the HTML what it measures the server by.
                for line in e.split(b"\n", 2)[:2]:
                    if line.startswith(b"event:"):
                        kind = line[6:].strip()
                    elif line.startswith(b"data:"):
                        data = line[5:].strip()
                        break
                if kind == b"lab":  # the lab of a change (--pages): seen now
                    version = orjson.loads(data)["version"]
                    saw(run, version, shown, now)
                    shown = max(shown, version)
                if kind != b"change":
                    continue
                version = orjson.loads(data)["version"]
                if newest == 0:
                    run.connected += 1
                    if run.connected == run.args.followers:
                        opened.set()
                    shown = version  # the page opened on this version
                if not run.args.pages:
                    saw(run, version, newest, now)
                newest = max(newest, version)
    except (OSError, asyncio.IncompleteReadError, ValueError, zlib.error, Broken):
        if not done.is_set():
            run.follower_errors += 1
    finally:
        writer.close()


async def owner(run: Run, phase: Phase, until: float) -> None:
    """The teacher: a step every 1/rate seconds, on a fixed schedule (late ones at once)."""
    id, token = run.owner
    calls = phase.calls["owner step"]
    conn = Connection(run.port)
    start = clock()
    k = 0
    while (at := start + k / run.args.rate) < until and clock() < until:
        await asyncio.sleep(max(0.0, at - clock()))
        k += 1
        sent = clock()
        try:
            status, body = await conn.request("POST", f"/api/networks/{id}/phase/next", token)
        except Broken:
            calls.errors += 1
            continue
        answered = clock()
        if status != 200:
            calls.errors += 1
            continue
        calls.latencies.append(answered - sent)
        phase.stepped.append((orjson.loads(body)["version"], answered))
    calls.seconds = clock() - start
    conn.close()


async def student(run: Run, id: str, token: str) -> None:
    """A student: its own network's next phase at its pace (`run.mode` "class"), or as fast
    as it can, or the no-op as fast as it can."""
    conn = Connection(run.port)
    due = 0.0  # at its pace: when its next step is due (0: not on a schedule yet)
    while run.mode != "stop":
        mode = run.mode
        if mode == "pause":
            await asyncio.sleep(0.01)
            continue
        if mode == "class":
            now = clock()
            due = due or now + random.expovariate(run.args.pace)
            if due > now:
                await asyncio.sleep(due - now)
                if run.mode != mode:
                    continue
            sent, due = due, due + random.expovariate(run.args.pace)
        else:
            sent, due = clock(), 0.0
        if mode == "no-op":
            method, path, who = "GET", "/healthz", ""
        else:
            method, path, who = "POST", f"/api/networks/{id}/phase/next", token
        try:
            status, _ = await conn.request(method, path, who)
        except Broken:
            status = 0
        took = clock() - sent
        if mode != run.mode or mode == "warm-up":  # not measured
            continue
        calls = run.phases[-1].calls["no-op" if mode == "no-op" else "student step"]
        if 200 <= status < 300:
            calls.latencies.append(took)
        else:
            calls.errors += 1
    conn.close()


async def at_pace(run: Run, phase: Phase, seconds: float) -> None:
    """The students at their pace for `seconds`."""
    began, cpu, store = clock(), cpu_seconds(run.pid), redis_seconds(run)
    run.mode = "class"
    await asyncio.sleep(seconds)
    run.mode = "pause"
    calls = phase.calls["student step"]
    calls.seconds = clock() - began
    calls.cpu = cpu_seconds(run.pid) - cpu
    calls.redis = redis_seconds(run) - store


async def rounds(run: Run, phase: Phase, seconds: float) -> None:
    """Alternate the students between stepping and the no-op, `--round` seconds each."""
    end = clock() + seconds
    kinds = ("step", "no-op")
    k = 0
    while (left := end - clock()) > 0.05:
        run.mode = kinds[k % 2]
        began, cpu, store = clock(), cpu_seconds(run.pid), redis_seconds(run)
        await asyncio.sleep(min(run.args.round, left))
        calls = phase.calls["student step" if run.mode == "step" else "no-op"]
        calls.seconds += clock() - began
        calls.cpu += cpu_seconds(run.pid) - cpu
        calls.redis += redis_seconds(run) - store
        k += 1
    run.mode = "pause"


async def measured(run: Run, name: str) -> None:
    """One phase, the owner stepping throughout."""
    phase = Phase(name)
    run.phases.append(phase)
    seconds = run.args.seconds
    began, server, clients = clock(), process_seconds(run.pid), time.process_time()
    students = at_pace(run, phase, seconds) if name == "class" else rounds(run, phase, seconds)
    await asyncio.gather(owner(run, phase, began + seconds), students)
    after = process_seconds(run.pid)
    phase.processes = {p: used - server.get(p, 0.0) for p, used in after.items()}
    phase.cpu = (clock() - began, sum(phase.processes.values()), time.process_time() - clients)


async def drive(run: Run) -> None:
    args = run.args
    setup = Connection(run.port)
    made = []
    for _ in range(args.students + 1):
        status, body = await setup.request("POST", "/api/networks", body=b'{"preset":"classic"}')
        if status != 201:
            sys.exit(f"creating a network answered {status}: {body[:200]!r}")
        made.append((orjson.loads(body)["id"], orjson.loads(body)["owner_token"]))
    setup.close()
    run.owner, *run.students = made

    opened, done = asyncio.Event(), asyncio.Event()
    followers = [asyncio.create_task(follower(run, opened, done)) for _ in range(args.followers)]
    if not args.followers:
        opened.set()
    try:
        await asyncio.wait_for(opened.wait(), timeout=60)
    except TimeoutError:
        sys.exit(f"only {run.connected} of {args.followers} followers connected in 60 s")

    students = [asyncio.create_task(student(run, *s)) for s in run.students]
    await asyncio.sleep(1.0)  # warming up (flat out): not measured
    for name in ("class", "flat"):
        if args.only in ("", name):
            await measured(run, name)
    run.mode = "stop"
    await asyncio.gather(*students)
    # Let the followers see the owner's last steps (a generous bound: a miss is counted).
    last = max((v for phase in run.phases for v, _ in phase.stepped), default=0)
    for _ in range(50):
        if run.seen.get(last, Seen()).count >= args.followers:
            break
        await asyncio.sleep(0.1)
    done.set()
    for task in followers:
        task.cancel()
    await asyncio.gather(*followers, return_exceptions=True)


def cpu_seconds(pid: int) -> float:
    """CPU time (user + system) used so far by a process and its children, from /proc."""
    return sum(process_seconds(pid).values())


def process_seconds(pid: int) -> dict[int, float]:
    """The CPU time used so far by a process and by each of its children (uvicorn's
    workers), by pid."""
    pids = [pid]
    with contextlib.suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            pids += [int(c) for c in (task / "children").read_text().split()]
    used = {}
    for p in pids:
        with contextlib.suppress(OSError, IndexError, ValueError):
            fields = Path(f"/proc/{p}/stat").read_text().rpartition(")")[2].split()
            used[p] = (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
    return used


def redis_seconds(run: Run) -> float:
    """The CPU time used so far by the Redis server, if it runs on this machine (else 0)."""
    return cpu_seconds(run.redis_pid) if run.redis_pid else 0.0


def local_redis(url: str) -> int | None:
    """The pid of the Redis server at `url` if it runs on this machine."""
    import redis

    if urllib.parse.urlsplit(url).hostname not in ("127.0.0.1", "localhost", "::1"):
        return None
    with redis.Redis.from_url(url) as client:
        pid = int(client.info("server")["process_id"])
    return pid if Path(f"/proc/{pid}").exists() else None


def quantiles(xs: list[float], qs: tuple[float, ...]) -> list[float]:
    if not xs:
        return [float("nan")] * len(qs)
    s = sorted(xs)
    return [s[min(len(s) - 1, max(0, round(q * len(s)) - 1))] for q in qs]


def ms(seconds: float) -> float:
    return seconds * 1000


def report(run: Run) -> bool:
    """Print the tables; whether every target is met."""
    args = run.args
    store = "Redis" if args.redis else "SQLite"
    kind = "pages: each change with its lab" if args.pages else "events"
    print(
        f"{args.followers} followers ({kind}) of 1 owner stepping {args.rate}/s, "
        f"{args.students} students, {args.seconds} s a phase; {args.workers} uvicorn "
        f"worker(s), {store}, {os.cpu_count()} cores shared with the clients"
    )
    errors = run.follower_errors
    checks: dict[str, bool] = {}
    for phase in run.phases:
        steps = phase.calls["student step"]
        if phase.name == "class":
            print(
                f"\nA class at its pace: each student steps {args.pace}/s on average (random "
                "moments, open loop: a step's latency runs from when it was due)"
            )
        else:
            print(
                "\nFlat out: each student steps as fast as it can, in alternating "
                f"{args.round} s rounds with calling the no-op as fast as it can"
            )
        print(
            f"{'call':<32}{'requests':>8}{'req/s':>9}{'p50 ms':>9}{'p99 ms':>9}{'max ms':>9}"
            f"{'errors':>8}{'CPU ms':>9}" + (f"{'Redis ms':>9}" if run.redis_pid else "")
        )
        for name, calls in phase.calls.items():
            path = "GET /healthz" if name == "no-op" else "POST phase/next"
            print(calls.row(f"{name} ({path})"))
            errors += calls.errors
        delays, missed = [], 0
        for version, answered in phase.stepped:
            seen = run.seen.get(version, Seen())
            if seen.count < args.followers:
                missed += 1
            else:
                delays.append(max(0.0, seen.last - answered))
        errors += missed
        p50, p99, top = (ms(q) for q in quantiles(delays, (0.5, 0.99, 1.0)))
        print(
            f"{'every follower has the version':<32}{len(delays):>8}{'':>9}{p50:>9.1f}"
            f"{p99:>9.1f}{top:>9.1f}{missed:>8}"
        )
        seconds, server, clients = phase.cpu
        print(
            f"CPU: server {server / seconds:.0%} of one core, clients {clients / seconds:.0%} "
            f"(of {os.cpu_count()} cores, with whatever else runs)"
        )
        busy = [used for used in phase.processes.values() if used > 0.05 * seconds]
        if len(phase.processes) > 1:  # uvicorn's workers do not share the connections evenly
            shares = ", ".join(f"{used / seconds:.0%}" for used in sorted(busy, reverse=True))
            print(f"      each server process busier than 5%: {shares}")
        if phase.name == "class":
            stepped = steps.latencies + phase.calls["owner step"].latencies
            step_p99 = ms(quantiles(stepped, (0.99,))[0])
            checks |= {
                f"at its pace: step p99 < {TARGETS['step_p99_ms']:.0f} ms ({step_p99:.1f})": (
                    step_p99 < TARGETS["step_p99_ms"]
                ),
                f"every follower within {TARGETS['follower_max_ms']:.0f} ms ({top:.1f})": (
                    bool(delays) and top < TARGETS["follower_max_ms"]
                ),
            }
            continue
        noop = phase.calls["no-op"]
        ratio = steps.rps / noop.rps if noop.rps else 0.0
        print(f"step throughput / no-op throughput: {ratio:.2f}")
        if steps.rps:
            queue = ms(args.students / steps.rps)
            print(
                f"(the students' own queue: {args.students} always waiting ÷ {steps.rps:.0f} "
                f"steps/s = {queue:.0f} ms a step on average, whatever the server; "
                "the latency targets are read at a class's pace)"
            )
        checks[f"flat out: step throughput >= {TARGETS['ratio']} x no-op ({ratio:.2f})"] = (
            ratio >= TARGETS["ratio"]
        )
    per = run.follower_bytes / max(1, args.followers)
    per /= max(1, sum(len(phase.stepped) for phase in run.phases))
    print(f"\neach follower received {per / 1000:.1f} KB per owner step, as sent")
    checks = {f"0 errors ({errors})": errors == 0} | checks
    print("targets: " + "; ".join(f"{k} {'met' if ok else 'MISSED'}" for k, ok in checks.items()))
    return all(checks.values())


@contextlib.contextmanager
def serve(args: argparse.Namespace) -> Iterator[tuple[int, int]]:
    """The app under uvicorn on 127.0.0.1 and a free port (port, pid); stopped by its pid."""
    with socket.socket() as s:
        s.bind((HOST, 0))
        port = s.getsockname()[1]
    with tempfile.TemporaryDirectory() as tmp:
        env = {**os.environ, "BACKPROP_LAB_DB": str(Path(tmp) / "lab.db")}
        env.pop("REDIS_URL", None)
        if args.redis:
            env["REDIS_URL"] = args.redis
        command = [sys.executable, "-m", "uvicorn", "app.main:app", "--host", HOST]
        command += ["--port", str(port), "--workers", str(args.workers), "--no-access-log"]
        log = open(Path(tmp) / "server.log", "w+b")  # noqa: SIM115 (read back on failure)
        server = subprocess.Popen(command, cwd=ROOT, env=env, stdout=log, stderr=log)
        try:
            wait_until_up(port, server, log)
            yield port, server.pid
        finally:
            server.send_signal(signal.SIGTERM)
            try:
                server.wait(timeout=15)
            except subprocess.TimeoutExpired:
                server.kill()
                server.wait()
            log.close()


def wait_until_up(port: int, server: subprocess.Popen, log) -> None:
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        if server.poll() is not None:
            break
        with contextlib.suppress(OSError), socket.create_connection((HOST, port), timeout=1) as s:
            s.sendall(f"GET /readyz HTTP/1.1\r\nHost: {HOST}\r\nConnection: close\r\n\r\n".encode())
            if s.recv(64).startswith(b"HTTP/1.1 200"):
                return
        time.sleep(0.1)
    server.kill()
    server.wait()
    log.seek(0)
    sys.exit("the server did not start:\n" + log.read().decode(errors="replace")[-3000:])


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--seconds", type=float, default=30.0, help="each phase (default 30)")
    p.add_argument("--followers", type=int, default=300)
    p.add_argument("--students", type=int, default=50)
    p.add_argument("--rate", type=float, default=4.0, help="owner's steps per second")
    p.add_argument("--round", type=float, default=2.5, help="seconds per step/no-op round")
    p.add_argument(
        "--pace", type=float, default=4.0, help="each student's steps a second, at its pace"
    )
    p.add_argument("--only", choices=("class", "flat"), default="", help="one phase (default both)")
    p.add_argument(
        "--pages",
        action="store_true",
        help="followers read the page's stream, each change with its lab (default: events only)",
    )
    p.add_argument("--workers", type=int, default=1, help="uvicorn workers")
    p.add_argument("--redis", default="", help="REDIS_URL for the server (default SQLite)")
    args = p.parse_args()
    if args.pace <= 0 or args.rate <= 0:
        p.error("--pace and --rate are steps a second: more than 0")
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    need = args.followers + args.students + 64
    if soft < need:
        resource.setrlimit(resource.RLIMIT_NOFILE, (min(hard, max(need, soft)), hard))
    with contextlib.suppress(ImportError):
        import uvloop  # uvicorn[standard]'s loop: the clients' share of the cores stays small

        asyncio.set_event_loop_policy(uvloop.EventLoopPolicy())
    with serve(args) as (port, pid):
        run = Run(port, pid, args, local_redis(args.redis) if args.redis else None)
        asyncio.run(drive(run))
    sys.exit(0 if report(run) else 1)


if __name__ == "__main__":
    main()
