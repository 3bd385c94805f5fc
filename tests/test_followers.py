"""A follower's page stream (app/followers.py): each change comes with its lab, drawn once
for every follower with the same preferences, compressed once, and readable as one gzip
stream however its events were made."""

import asyncio
import re
import zlib

import httpx
import orjson

from app import followers, render
from app import session as ops
from app.store import Store
from app.store.events import LocalBus
from app.store.sqlite import SQLiteBackend
from app.view import ids, numbers, prefs
from tests import reference as ref
from tests.conftest import run_async
from tests.server import serving

VERSION = re.compile(r'id="status"[^>]*data-version="(\d+)"')


def events(text: str) -> list[tuple[str, str]]:
    """(event, data) of each server-sent event in `text`, as a browser reads them."""
    found = []
    for block in text.split("\n\n"):
        lines = [line for line in block.split("\n") if line and not line.startswith(":")]
        if lines:
            kind = next((x[7:] for x in lines if x.startswith("event: ")), "message")
            found.append((kind, "\n".join(x[6:] for x in lines if x.startswith("data: "))))
    return found


async def _follow(store: Store, id: str, chosen: prefs.Prefs, packed: bool, labs: int) -> bytes:
    """What one follower's stream sends until it has brought `labs` labs."""
    out = b""
    async for chunk in followers.stream(store, store.get(id), chosen, "en", packed):
        out += chunk
        text = zlib.decompressobj(31).decompress(out) if packed else out
        if text.count(b"event: lab\n") == labs:
            return out
    raise AssertionError("the stream ended")


def test_each_change_brings_its_lab_drawn_once_for_every_follower_with_those_preferences(
    tmp_path, monkeypatch
):
    drawn = []
    real = render.html
    monkeypatch.setattr(render, "html", lambda *a, **k: drawn.append(a[1:4]) or real(*a, **k))
    made = []  # each lab made into a stream event (and compressed)
    lab = followers.Lab
    monkeypatch.setattr(followers, "Lab", lambda *a: made.append(a[1:]) or lab(*a))
    store = Store(SQLiteBackend(str(tmp_path / "lab.db")), LocalBus())
    s, _ = store.add(ops.create({"preset": "classic"}))
    four = prefs.Prefs(precision=4)

    async def run() -> list[bytes]:
        views = [prefs.Prefs(), prefs.Prefs(), four, four, four]
        streams = [
            asyncio.ensure_future(_follow(store, s.id, chosen, i % 2 == 0, 2))
            for i, chosen in enumerate(views)
        ]
        await asyncio.sleep(0.2)  # every stream listening
        for _ in range(2):
            store.update(s.id, lambda x: (ops.next_phase(x), None), "next")
            await asyncio.sleep(0.2)
        return await asyncio.gather(*streams)

    sent = run_async(run())
    # Two versions, two sets of preferences: four drawings for five followers, each made
    # into an event once.
    assert sorted(made) == [(v, "lab", q) for v in (2, 3) for q in ("", "precision=4")]
    assert sorted(drawn, key=repr) == sorted(
        [(n, c, "en") for n in ("lab.html",) * 2 for c in (prefs.Prefs(), four)], key=repr
    )
    texts = [
        (zlib.decompressobj(31).decompress(b) if i % 2 == 0 else b).decode()
        for i, b in enumerate(sent)
    ]
    for text, chosen in zip(texts, [prefs.Prefs(), prefs.Prefs(), four, four, four]):
        kinds = [kind for kind, _ in events(text)]  # no count of followers: not shown there
        assert kinds == ["change", "change", "lab", "change", "lab"]
        labs = [data for kind, data in events(text) if kind == "lab"]
        heads = [data.split("\n", 1) for data in labs]
        assert [h for h, _ in heads] == [
            f'{{"version":{v},"swap":"lab","view":"{prefs.to_query(chosen)}"}}' for v in (2, 3)
        ]
        for (_, html), v in zip(heads, (2, 3)):  # the whole lab, of that version
            assert VERSION.search(html)[1] == str(v) and html.startswith('<main id="lab"')
    for text, digits in ((texts[1], 9), (texts[2], 4)):  # each follower's digits
        shown = re.findall(f'id="{ids.value("out", "h1")}">([^<]*)<', text)
        assert shown == [numbers.fmt(ref.OUT[1][0], digits)] * 2


def test_the_compressed_stream_is_one_gzip_stream_of_events_made_once_for_all():
    """Each event's deflate blocks refer to nothing before them: the same bytes follow any
    other event's, and the whole reads back as the plain events."""
    parts = [b"event: change\ndata: {}\n\n", b": ping\n\n", b"event: lab\ndata: <p>x</p>\n\n"]
    once = [followers.deflated(p) for p in parts]
    for order in ([0, 1, 2], [2, 0, 1, 1], [1, 2, 2, 0]):
        stream = followers.GZIP_HEADER + b"".join(once[i] for i in order)
        assert zlib.decompressobj(31).decompress(stream) == b"".join(parts[i] for i in order)


def test_a_followers_page_stream_is_gzip_and_the_owners_is_plain_events(tmp_path):
    with serving({"BACKPROP_LAB_DB": str(tmp_path / "lab.db")}) as server:
        created = httpx.post(server.url + "/api/networks", json={"preset": "classic"}).json()
        id, token = created["id"], created["owner_token"]
        url = f"{server.url}/n/{id}/events?lang=zh"
        with (
            httpx.stream("GET", url, headers={"Accept-Encoding": "gzip"}, timeout=10) as theirs,
            httpx.stream("GET", url, headers={"Cookie": f"bl_owner={token}"}, timeout=10) as mine,
        ):
            assert theirs.headers["content-encoding"] == "gzip"
            assert "content-encoding" not in mine.headers
            step = httpx.post(
                f"{server.url}/api/networks/{id}/phase/next",
                headers={"Authorization": f"Bearer {token}"},
            )
            assert step.status_code == 200
            text, unpack = "", zlib.decompressobj(31)
            for chunk in theirs.iter_raw():
                text += unpack.decompress(chunk).decode()
                if "event: lab\n" in text and text.endswith("\n\n"):
                    break
            lab = next(data for kind, data in events(text) if kind == "lab")
            assert lab.startswith('{"version":2,"swap":"lab","view":"lang=zh"}\n')
            assert "前向" in lab  # drawn in the language of its query
            mine_text = ""
            for line in mine.iter_lines():
                mine_text += line + "\n"
                if '"version":2' in line:
                    break
            assert "event: lab" not in mine_text  # the owner's tabs fetch what changed


def test_a_live_chunk_s_regions_bring_the_picture_itself():
    """A chunk's regions for followers carry the decision boundary's picture as a data: URL
    (one drawing for all, where each page fetched it): the very picture its URL serves."""
    from html import unescape
    from urllib.parse import unquote

    from app import drawings
    from app.view import boundary
    from app.view.text import TEXT

    s = ops.create({"preset": "classic"})
    only = list(followers.LIVE)
    inline = drawings.followed(s, "changes.html", prefs.Prefs(), "en", only, pictures=True)
    named = drawings.followed(s, "changes.html", prefs.Prefs(), "en", only)
    src = re.search(r'id="boundary-map" src="([^"]*)"', inline.body)[1]
    assert src.startswith("data:image/svg+xml,") and not {"#", "&", '"'} & set(src)
    picture = unquote(unescape(src).removeprefix("data:image/svg+xml,"))
    svg = boundary.svg(s.state, TEXT["en"]["boundary_alt"], True)
    assert picture == svg.replace('"', "'")  # the same picture, its attributes in ' quotes
    assert 'src="/n/' in named.body and "data:image" not in named.body


def test_a_network_deleted_before_its_change_s_lab_is_drawn_ends_the_stream_with_delete(
    tmp_path, monkeypatch
):
    """The change's event still goes out, then the deletion's (the page goes home): no
    stream broken by the error."""
    store = Store(SQLiteBackend(str(tmp_path / "lab.db")), LocalBus())
    s, _ = store.add(ops.create({"preset": "classic"}))
    real = followers._draw

    async def deleted_first(store, id, *args):
        store.delete(id)
        return await real(store, id, *args)

    monkeypatch.setattr(followers, "_draw", deleted_first)

    async def run() -> str:
        out = b""
        got = followers.stream(store, store.get(s.id), prefs.Prefs(), "en", False)
        first = asyncio.ensure_future(anext(got))
        await asyncio.sleep(0.1)  # listening
        store.update(s.id, lambda x: (ops.next_phase(x), None), "next")
        out += await first
        async for chunk in got:  # ends after the deletion
            out += chunk
        return out.decode()

    sent = events(run_async(asyncio.wait_for(run(), 10)))
    assert [kind for kind, _ in sent] == ["change"] * 3  # no lab: there was none to draw
    assert [orjson.loads(data)["action"] for _, data in sent] == ["open", "next", "delete"]


def test_a_shared_making_is_made_once_for_all_and_a_failed_one_is_tried_again():
    from cachetools import TTLCache

    from app import drawings

    cache, calls = TTLCache(maxsize=8, ttl=60), []

    async def make(fail: bool):
        calls.append(fail)
        await asyncio.sleep(0.05)
        if fail:
            raise RuntimeError("the store went away")
        return "drawn"

    async def run():
        failed = await asyncio.gather(
            *(drawings.shared(cache, ("k",), lambda: make(True)) for _ in range(5)),
            return_exceptions=True,
        )
        made = await asyncio.gather(
            *(drawings.shared(cache, ("k",), lambda: make(False)) for _ in range(5))
        )
        again = await drawings.shared(cache, ("k",), lambda: make(True))  # kept: not made
        return failed, made, again

    failed, made, again = run_async(run())
    assert all(isinstance(f, RuntimeError) for f in failed) and made == ["drawn"] * 5
    assert again == "drawn" and calls == [True, False]


def _changes(store: Store, id: str, publish, until: int) -> list[tuple[float, dict]]:
    """(when, data) of each change a follower's page stream takes, published by `publish`
    (a coroutine function of the bus), until the one of version `until`."""

    async def run():
        from app import api

        taken, started = [], asyncio.get_running_loop().time()
        feeding = None
        async for _kind, _, data in api.changes(store, store.get(id), follower=True, newest=True):
            if feeding is None:  # listening: the events may come
                feeding = asyncio.ensure_future(publish(store.bus))
                continue
            taken.append((asyncio.get_running_loop().time() - started, data))
            if data["version"] == until:
                await feeding
                return taken

    return run_async(run())


def _event(id: str, version: int, run: str | None = None) -> bytes:
    return orjson.dumps({"id": id, "version": version, "action": "train", "run": run})


def test_a_follower_behind_skips_to_the_newest_change(tmp_path):
    store = Store(SQLiteBackend(str(tmp_path / "lab.db")), LocalBus())
    s, _ = store.add(ops.create({"preset": "classic"}))

    async def burst(bus):  # five changes and a count, all before the stream reads again
        for version in range(2, 7):
            bus.publish(s.id, _event(s.id, version))
        bus.publish(s.id, orjson.dumps({"id": s.id, "followers": 3}))

    taken = _changes(store, s.id, burst, until=6)
    assert [data["version"] for _, data in taken] == [6]  # the newest alone, past the count


def test_a_live_training_s_chunks_reach_a_follower_s_page_at_most_every_live_gap(
    tmp_path, monkeypatch
):
    from app import api

    monkeypatch.setattr(api, "LIVE_GAP", 0.2)
    store = Store(SQLiteBackend(str(tmp_path / "lab.db")), LocalBus())
    s, _ = store.add(ops.create({"preset": "classic"}))

    async def chunks(bus):  # a chunk every 20 ms, then the run's end
        for version in range(2, 32):
            bus.publish(s.id, _event(s.id, version, "running"))
            await asyncio.sleep(0.02)
        bus.publish(s.id, _event(s.id, 32, "done"))

    taken = _changes(store, s.id, chunks, until=32)
    running = [(t, d["version"]) for t, d in taken if d["run"] == "running"]
    gaps = [b[0] - a[0] for a, b in zip(running, running[1:], strict=False)]
    assert 2 <= len(running) <= 5 and min(gaps) >= 0.19  # ~0.6 s of chunks, 4 of 30 shown
    assert all(b[1] - a[1] > 1 for a, b in zip(running, running[1:], strict=False))  # newest
    assert taken[-1][1]["run"] == "done"  # the end, whenever it comes, not held back
