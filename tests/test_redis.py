"""What the Redis store does beyond the contract every store keeps (tests/test_store.py):
its keys and their expiry, retried writes, and follow events and follower counts shared
by the workers, each worker with one pub/sub subscription per network followed."""

import asyncio

import orjson
import pytest
import redis

from app.session import create, next_phase, step
from app.store import UnknownSession
from app.store.redis import STALE, HiredisPacking, _async_client, open_redis
from tests.conftest import run_async
from tests.server import free_port


@pytest.fixture
def two(redis_stores):
    """Two workers' stores on one Redis."""
    made = [redis_stores(), redis_stores()]
    yield made
    for s in made:
        s.close()


def classic():
    return create({"preset": "classic"})


def keys(store) -> set[str]:
    b = store.backend
    return {k.decode() for k in b.client.scan_iter(match=f"{b.prefix}*")}


def test_a_network_is_four_keys_each_with_the_stores_time_to_live(two):
    store = two[0]
    s, _ = store.add(classic())
    p = store.backend.prefix
    names = {f"{p}net:{s.id}", f"{p}states:{s.id}", f"{p}entries:{s.id}", f"{p}code:{s.code}"}
    assert keys(store) == names
    client = store.backend.client
    day = 30 * 24 * 3600 * 1000
    for _ in range(2):
        assert all(day - 60_000 < client.pttl(k) <= day for k in names)
        for k in names:
            client.pexpire(k, 1000)
        store.update(s.id, lambda s: (next_phase(s), None), "next")  # a write renews them all
    # Renewed by a write once it has run down by an hour, not before (a few PEXPIREs less).
    for k in names:
        client.pexpire(k, day - 1_800_000)
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert all(client.pttl(k) <= day - 1_800_000 for k in names)
    client.pexpire(f"{p}net:{s.id}", day - 3_700_000)
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert all(day - 60_000 < client.pttl(k) <= day for k in names)
    for k in names:
        client.pexpire(k, 1000)
    store.backend.touch(s.id, 3600)
    assert all(3_590_000 < client.pttl(k) <= 3_600_000 for k in names)


def test_delete_removes_every_key_of_the_network(two):
    store = two[0]
    s, _ = store.add(classic())
    store.update(s.id, step, "step")
    store.delete(s.id)
    assert keys(store) == set()
    assert store.backend.find(s.code) is None


def test_a_network_stored_before_its_entries_had_a_key_keeps_its_history(two):
    """Until the tenth session, a network's history entries were in its document (schema
    2) and it had no entries key: its first write moves them there, whole."""
    store, other = two
    s, _ = store.add(classic())
    for _ in range(4):
        s, _ = store.update(s.id, lambda x: (next_phase(x), None), "next")
    b = store.backend
    net, _, entries = b._keys(s.id)
    doc = orjson.loads(b.client.hget(net, "doc"))
    doc["schema"] = 2
    doc["history"]["entries"] = [[e.seq, e.iteration, e.phase, e.action] for e in s.history.entries]
    b.client.hset(net, "doc", orjson.dumps(doc))
    b.client.delete(entries)
    old = other.get(s.id)  # read from the document (nothing cached in this worker)
    assert old.history == s.history and old.to_data() == s.to_data()
    moved, _ = other.update(s.id, lambda x: (next_phase(x), None), "next")
    assert [e.seq for e in moved.history.entries] == [1, 2, 3, 4, 5, 6]
    assert sorted(b.client.hvals(entries), key=lambda e: orjson.loads(e)[0]) == [
        e.raw for e in moved.history.entries
    ]
    assert orjson.loads(b.client.hget(net, "doc"))["history"] == {"cursor": 6}
    again = store.get(s.id)  # the first worker's copy is stale: read again, schema 3
    assert again.history == moved.history
    assert [store.travel(s.id, "undo").phase for _ in range(5)] == [
        e.phase for e in s.history.entries[::-1]
    ]


def test_a_write_retried_after_its_answer_was_lost_is_done_once(two):
    b = two[0].backend
    s, _ = two[0].add(classic())
    version, doc, _ = b.read(s.id)
    args = [version, "token-of-this-write", doc, "", b"", b"", "", 60_000, b.prefix + "code:"]
    assert b._write(b._keys(s.id), args) == 1
    assert b._write(b._keys(s.id), args) == 1  # the client's retry: already done
    assert b.read(s.id)[0] == version + 1
    args[1] = "another write"
    assert b._write(b._keys(s.id), args) == 0  # another write on the old version: refused


def test_a_follower_of_one_worker_gets_changes_made_through_the_other(two):
    a, b = two
    s, _ = a.add(classic())

    async def follow():
        async with a.bus.listen(s.id, follower=True) as stream:
            assert orjson.loads(await asyncio.wait_for(anext(stream), 5))["followers"] == 1
            await asyncio.to_thread(b.update, s.id, step, "step")
            await asyncio.to_thread(b.travel, s.id, "undo")
            await asyncio.to_thread(b.delete, s.id)
            return [orjson.loads(await asyncio.wait_for(anext(stream), 5)) for _ in range(3)]

    events = run_async(follow())
    assert [e["action"] for e in events] == ["step", "undo", "delete"]


def test_followers_on_every_worker_are_counted_and_everyone_hears_the_count(two):
    a, b = two
    s, _ = a.add(classic())

    async def follow():
        async with (
            a.bus.listen(s.id, follower=True) as one,
            b.bus.listen(s.id, follower=False) as owner,
        ):
            assert orjson.loads(await asyncio.wait_for(anext(one), 5))["followers"] == 1
            async with b.bus.listen(s.id, follower=True) as two:
                counts = [orjson.loads(await asyncio.wait_for(anext(x), 5)) for x in (one, two)]
                assert a.bus.followers(s.id) == b.bus.followers(s.id) == 2
                assert orjson.loads(await asyncio.wait_for(anext(owner), 5))["followers"] == 2
            gone = orjson.loads(await asyncio.wait_for(anext(one), 5))
            return counts, gone, b.bus.followers(s.id)

    counts, gone, after = run_async(follow())
    assert counts == [{"id": s.id, "followers": 2}] * 2
    assert gone == {"id": s.id, "followers": 1} and after == 1
    assert a.bus.followers(s.id) == 0


def test_followers_of_a_worker_that_died_stop_counting(two):
    store = two[0]
    s, _ = store.add(classic())
    client = store.backend.client
    now = client.time()
    now_ms = now[0] * 1000 + now[1] // 1000
    key = f"{store.backend.prefix}followers:{s.id}"
    client.zadd(key, {"renewed": now_ms, "dead": now_ms - STALE * 1000 - 1})
    assert store.bus.followers(s.id) == 1
    assert client.zrange(key, 0, -1) == [b"renewed"]


def test_hundreds_of_listeners_on_one_worker_share_one_subscription(two):
    a, b = two
    s, _ = a.add(classic())
    channel = f"{a.bus.prefix}events:{s.id}"

    async def follow(n):
        streams = [a.bus.listen(s.id, follower=True) for _ in range(n)]
        iterators = [await x.__aenter__() for x in streams]
        subscribed = await asyncio.to_thread(a.backend.client.pubsub_numsub, channel)
        assert b.bus.followers(s.id) == n
        await asyncio.to_thread(b.update, s.id, step, "step")
        got = []
        for it in iterators:
            while (e := orjson.loads(await asyncio.wait_for(anext(it), 5))).get("action") is None:
                pass  # the counts of those who joined after this one
            got.append(e["action"])
        for x in streams:
            await x.__aexit__(None, None, None)
        return subscribed, got, a.backend.client.pubsub_numsub(channel)

    subscribed, got, after = run_async(follow(300))
    assert subscribed == [(channel.encode(), 1)]
    assert got == ["step"] * 300
    assert after == [(channel.encode(), 0)]
    assert a.bus.followers(s.id) == 0


def test_ping_fails_when_redis_does_not_answer(redis_url):
    backend, _ = open_redis(f"redis://127.0.0.1:{free_port()}/0")  # nothing listens there
    with pytest.raises(redis.ConnectionError):
        backend.ping()
    backend.close()


def test_a_change_s_follow_event_is_published_by_its_write_and_a_deletion_s_after_it(
    two, monkeypatch
):
    """A change's event goes out in the write's own script (with it or not at all, in the
    order of the versions); a deletion's after it, and a failure to send that one does not
    fail the deletion (its owner would try again, and find it gone)."""
    a, b = two
    s, _ = a.add(classic())
    sent = []

    def down(*args):
        sent.append(args)
        raise redis.ConnectionError("Redis went away after the write")

    monkeypatch.setattr(a.backend.client, "publish", down)
    channel = f"{a.bus.prefix}events:{s.id}"
    listener = a.backend.client.pubsub()
    listener.subscribe(channel)
    assert listener.get_message(timeout=5)["type"] == "subscribe"
    stepped, _ = a.update(s.id, step, "step")
    message = listener.get_message(timeout=5)
    assert orjson.loads(message["data"])["version"] == stepped.version == 2 and sent == []
    a.delete(s.id)  # its event could not be sent: the deletion stands
    assert len(sent) == 1 and b"delete" in sent[0][1]
    with pytest.raises(UnknownSession):
        b.get(s.id)
    listener.close()


def test_a_store_that_does_not_answer_is_a_503_to_try_again(tmp_path):
    """Redis gone: every answer is 503 with Retry-After (JSON naming the store on the API,
    a line of text on a page), never a 500."""
    from fastapi.testclient import TestClient

    from app import settings
    from app.main import create_app

    dead = f"redis://127.0.0.1:{free_port()}/0"  # nothing listens there
    config = settings.load({"REDIS_URL": dead}, db=str(tmp_path / "unused.db"))
    with TestClient(create_app(config)) as client:
        for method, path in (
            ("GET", "/api/networks/abc"),
            ("POST", "/api/networks/abc/phase/next"),
            ("GET", "/n/abc"),
        ):
            r = client.request(method, path, headers={"Origin": "http://testserver"})
            assert r.status_code == 503 and r.headers["Retry-After"] == "1", (path, r.text)
            assert "store: not answering just now" in r.text
        assert client.get("/api/networks/abc").json()["detail"][0]["loc"] == ["store"]
        assert client.get("/readyz").status_code == 503


def test_many_calls_at_once_on_one_event_loop_wait_for_a_connection(redis_stores):
    """More readings at once than the async client has connections: they wait their turn
    (its default pool refused the 101st at once: 300 followers joining made 500s)."""
    store = redis_stores()
    s, _ = store.add(classic())

    async def many():
        return await asyncio.gather(*(store.aget(s.id) for _ in range(300)))

    assert {x.version for x in run_async(many())} == {1}
    store.close()


def test_writes_made_at_once_share_one_pipeline_and_each_is_answered_alone(redis_stores):
    """The writes of one turn of the event loop go to Redis in one pipeline; each script
    still compares its own version, and once Redis has forgotten the script (restarted, or
    SCRIPT FLUSH) the writes that met that load it and are made all the same."""
    store = redis_stores()
    ids = [store.add(classic())[0].id for _ in range(5)]
    docs = [store.backend.read(id)[1] for id in ids]
    pipelines = []

    async def together():
        aio = store.backend.aio()
        pipeline = aio.client.pipeline
        aio.client.pipeline = lambda **kw: pipelines.append(kw) or pipeline(**kw)

        def write(k, version):
            return aio.write(
                ids[k], version, docs[k], (2, b"{}", b'[2,1,"ready","next"]'), (), 60.0
            )

        first = await asyncio.gather(write(0, 1), write(1, 7), write(2, 1))  # 7: stale
        store.backend.client.script_flush()
        second = await asyncio.gather(write(3, 1), write(4, 1))
        await store.backend.aclose()
        return first, second

    first, second = run_async(together())
    assert first == [True, False, True] and second == [True, True]
    assert len(pipelines) == 2
    assert [store.backend.version(id) for id in ids] == [2, 1, 2, 2, 2]
    assert store.backend.state(ids[4], 2) == b"{}" and store.backend.state(ids[1], 2) is None
    store.close()


COMMANDS = [
    ("EVALSHA", "5f" * 20, 3, "bl:net:x", b"\x00{}\xff", 12, -7, 2**70, 0.1, 1e300, "é"),
    ("HSET", bytearray(b"k"), memoryview(b"v"), "w", b""),
    ("CLIENT SETNAME", "worker"),  # two words, split as redis-py splits them
    (b"CONFIG GET", b"*"),
]


@pytest.mark.parametrize(
    ("url", "kind"),
    [
        ("redis://127.0.0.1:6379/0", redis.asyncio.Connection),
        ("rediss://127.0.0.1:6379/0", redis.asyncio.SSLConnection),
        ("unix:///tmp/redis.sock", redis.asyncio.UnixDomainSocketConnection),
    ],
)
def test_the_async_client_packs_each_command_with_hiredis_as_redis_py_packs_it(url, kind):
    made = _async_client(url).connection_pool.connection_class
    assert issubclass(made, HiredisPacking) and issubclass(made, kind)  # TLS kept, say
    packed, plain = made(), kind()
    for command in COMMANDS:
        assert b"".join(packed.pack_command(*command)) == b"".join(plain.pack_command(*command))
    for wrong in (True, None, object(), [1]):
        for connection in (packed, plain):
            with pytest.raises(redis.DataError, match="Invalid input of type"):
                connection.pack_command("SET", "k", wrong)
