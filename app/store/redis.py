"""The shared store: networks in Redis, for several workers or hosts, and follow events
over its pub/sub.

Keys, all under one prefix (`bl:` unless told), each network's with the same expiry:

- `bl:net:{id}`, a hash: `v` the version, `doc` the document, `code` its join code and
  `w` the token of the last write;
- `bl:states:{id}`, a hash: field `seq` → the history state of that entry;
- `bl:entries:{id}`, a hash: field `seq` → the history entry itself (`Entry.raw`; a
  network stored before there was this key has its entries in its document, and the
  first write moves them here);
- `bl:code:{code}`, a string: the id whose join code it is;
- `bl:followers:{id}`, a sorted set: one member per follower connected to any worker,
  scored by its last heartbeat (Redis's clock, in ms);
- `bl:events:{id}`, a pub/sub channel (not a key): the network's follow events.

Each call of the backend is one Lua script or one read (a transaction), so each is
atomic: `create` takes the id and the code or nothing, `write` compares the version and
writes, puts and drops history entries and their states, renews the expiry (once it has
run down by an hour) and publishes the change's follow event at once. A write carries a
token of its own, so that the client's retry of a write whose answer was lost is
recognised as done rather than seen as a conflict (which would make the store compute the
change a second time).
Expiry is Redis's own: every key of a network gets the store's time to live on create,
on touch, and on a write once it has run down by an hour (a tenth of a shorter one), and
Redis drops it when that passes, so `expire` has nothing to do.

The keys of one network are not in one hash slot (the code is looked up without the id):
this is for one Redis (with replicas or Sentinel), not Redis Cluster.
"""

import asyncio
import functools
import logging
import secrets
import uuid
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, suppress

import hiredis
import redis
import redis.asyncio

from app.store.events import Listener, fan_out
from app.store.grouped import Grouped

log = logging.getLogger(__name__)

QUEUE = 16  # events kept for a slow listener, as in LocalBus: the oldest are dropped
HEARTBEAT = 10.0  # seconds between the renewals of a worker's followers
STALE = 3 * HEARTBEAT  # a follower not renewed for this long (its worker died) is not counted
CONFIRM = 10.0  # seconds to wait for Redis to confirm a subscription before giving up

CREATE = """
local net, states, entries, code = KEYS[1], KEYS[2], KEYS[3], KEYS[4]
local id, token, ttl = ARGV[1], ARGV[2], ARGV[7]
if redis.call('EXISTS', net) == 1 then
  return redis.call('HGET', net, 'w') == token and 1 or 0
end
if not redis.call('SET', code, id, 'NX', 'PX', ttl) then return 0 end
redis.call('DEL', states, entries)
redis.call('HSET', net, 'v', 1, 'code', ARGV[3], 'doc', ARGV[4], 'w', token)
redis.call('HSET', states, ARGV[5], ARGV[6])
redis.call('HSET', entries, ARGV[5], ARGV[8])
redis.call('PEXPIRE', net, ttl)
redis.call('PEXPIRE', states, ttl)
redis.call('PEXPIRE', entries, ttl)
return 1
"""

# Renew the expiry of a network's keys (the code's key is found from the document's hash).
RENEW = """
local function renew(net, states, entries, codes, ttl)
  redis.call('PEXPIRE', net, ttl)
  redis.call('PEXPIRE', states, ttl)
  redis.call('PEXPIRE', entries, ttl)
  local code = redis.call('HGET', net, 'code')
  if code then redis.call('PEXPIRE', codes .. code, ttl) end
end
"""

# A network stored before its entries had a key of their own holds them in its document
# (schema 2): they are moved to that key before the first write that replaces it. cjson
# reads the document's numbers as doubles, but only the entries' (seqs and iterations,
# integers) are written again.
WRITE = (
    RENEW
    + """
local net, states, entries = KEYS[1], KEYS[2], KEYS[3]
local version, token = tonumber(ARGV[1]), ARGV[2]
local v = tonumber(redis.call('HGET', net, 'v'))
if v ~= version then
  if v == version + 1 and redis.call('HGET', net, 'w') == token then return 1 end
  return 0
end
local ttl = tonumber(ARGV[8])
-- The expiry renewed when it has run down by an hour (a tenth of a shorter one), not at
-- every write: its four PEXPIREs were a third of the script's calls.
local stale = redis.call('PTTL', net) < ttl - math.min(3600000, math.floor(ttl / 10))
if redis.call('EXISTS', entries) == 0 then
  local history = cjson.decode(redis.call('HGET', net, 'doc')).history
  local moved = {}
  for _, e in ipairs(history and history.entries or {}) do
    moved[#moved + 1] = string.format('%d', e[1])
    moved[#moved + 1] = cjson.encode(e)
  end
  if #moved > 0 then redis.call('HSET', entries, unpack(moved)) end
  stale = true
end
redis.call('HSET', net, 'v', version + 1, 'doc', ARGV[3], 'w', token)
if ARGV[4] ~= '' then
  redis.call('HSET', states, ARGV[4], ARGV[5])
  redis.call('HSET', entries, ARGV[4], ARGV[6])
end
for first, last in string.gmatch(ARGV[7], '(%d+)-(%d+)') do
  for seq = tonumber(first), tonumber(last) do
    local field = string.format('%d', seq)
    redis.call('HDEL', states, field)
    redis.call('HDEL', entries, field)
  end
end
if stale then renew(net, states, entries, ARGV[9], ttl) end
if ARGV[10] then redis.call('PUBLISH', ARGV[11], ARGV[10]) end
return 1
"""
)

TOUCH = (
    RENEW
    + """
if redis.call('EXISTS', KEYS[1]) == 1 then renew(KEYS[1], KEYS[2], KEYS[3], ARGV[2], ARGV[1]) end
return 0
"""
)

DELETE = """
local net, states, entries, codes, id = KEYS[1], KEYS[2], KEYS[3], ARGV[1], ARGV[2]
local code = redis.call('HGET', net, 'code')
redis.call('DEL', states, entries)
if not code then return 0 end
if redis.call('GET', codes .. code) == id then redis.call('DEL', codes .. code) end
redis.call('DEL', net)
return 1
"""

# Followers of one network across workers: add, remove or renew members (with Redis's
# clock, the same for every host), forget those not renewed within STALE, count, and
# (given a channel) publish the count, all at once so counts go out in the order made.
FOLLOWERS = """
local key, op, stale, channel = KEYS[1], ARGV[1], tonumber(ARGV[2]), ARGV[3]
local t = redis.call('TIME')
local now = tonumber(t[1]) * 1000 + math.floor(tonumber(t[2]) / 1000)
for i = 5, #ARGV do
  if op == 'add' then redis.call('ZADD', key, now, ARGV[i]) end
  if op == 'rem' then redis.call('ZREM', key, ARGV[i]) end
end
redis.call('ZREMRANGEBYSCORE', key, '-inf', now - stale)
local n = redis.call('ZCARD', key)
if op == 'add' then redis.call('PEXPIRE', key, stale) end
if channel ~= '' then
  redis.call('PUBLISH', channel, '{"id":' .. cjson.encode(ARGV[4]) .. ',"followers":' .. n .. '}')
end
return n
"""


TIMEOUTS = {"socket_timeout": 10, "socket_connect_timeout": 5}
POOL = 64  # connections of one event loop's client: more calls at once wait for one


def _async_client(url: str) -> redis.asyncio.Redis:
    """A client of redis.asyncio whose calls wait for a free connection (up to the
    timeout) when POOL are busy: its default pool refuses the 101st call at once, which 300
    followers joining at once reached. Its connections pack commands with hiredis."""
    pool = redis.asyncio.BlockingConnectionPool.from_url(
        url, max_connections=POOL, timeout=TIMEOUTS["socket_timeout"], **TIMEOUTS
    )
    pool.connection_class = _packing(pool.connection_class)  # TCP, TLS or a socket file
    return redis.asyncio.Redis(connection_pool=pool)


class HiredisPacking:
    """Commands packed by hiredis (in C), as redis-py's synchronous client packs them when
    hiredis is installed; its asyncio client packs them in Python, argument by argument:
    in one process, 99 thousand of the 1.33 million instructions of a phase step stored in
    Redis (callgrind). The same bytes; a bool, None or an object refused as redis-py's
    encoder refuses it (DataError)."""

    def pack_command(self, *args) -> list[bytes]:
        if isinstance(args[0], str):  # a command of two words ("CLIENT SETNAME")
            args = (*args[0].encode().split(), *args[1:])
        elif b" " in args[0]:
            args = (*args[0].split(), *args[1:])
        try:
            return [hiredis.pack_command(args)]
        except TypeError:  # hiredis takes bytes, str, int, float and memoryview only
            pass
        for arg in args:
            if not isinstance(arg, (bytes, bytearray, memoryview, str, int, float)) or (
                isinstance(arg, bool)
            ):
                raise redis.DataError(
                    f"Invalid input of type: {type(arg).__name__!r}. Convert to a bytes, "
                    "string, int or float first."
                )
        return [
            hiredis.pack_command(tuple(bytes(a) if isinstance(a, bytearray) else a for a in args))
        ]


@functools.cache
def _packing(connection: type) -> type:
    return type(connection.__name__, (HiredisPacking, connection), {})


def open_redis(url: str, prefix: str = "bl:") -> tuple["RedisBackend", "RedisBus"]:
    """The backend and the bus of the Redis at `url` (redis://host:port/db)."""
    client = redis.Redis.from_url(url, **TIMEOUTS)
    return RedisBackend(client, prefix, url), RedisBus(client, url, prefix)


def channel(prefix: str, id: str) -> str:
    """The pub/sub channel of a network's follow events."""
    return f"{prefix}events:{id}"


def _ms(ttl: float) -> int:
    return max(1, round(ttl * 1000))


class RedisBackend:
    """Documents and history states in Redis; safe to call from many threads at once (the
    client keeps a pool of connections). What a reading or a change calls (version, read,
    write, touch, state) has async twins too (`aio`), so that the event loop awaits Redis
    without a worker thread: the hop to a thread and back, among forty of them, cost a
    step more CPU than the rest of its work."""

    local = False  # a network round trip, and a wait as long as the timeout if Redis is down

    def __init__(self, client: redis.Redis, prefix: str = "bl:", url: str = ""):
        self.client = client
        self.prefix = prefix
        self.url = url
        self._codes = prefix + "code:"
        self._create = client.register_script(CREATE)
        self._write = client.register_script(WRITE)
        self._touch = client.register_script(TOUCH)
        self._delete = client.register_script(DELETE)
        self._aio: tuple[asyncio.AbstractEventLoop, AsyncCalls] | None = None

    def aio(self) -> "AsyncCalls":
        """The async twins, with a client of this event loop's own."""
        loop = asyncio.get_running_loop()
        if self._aio is None or self._aio[0] is not loop:
            self._aio = (loop, AsyncCalls(self))
        return self._aio[1]

    async def aclose(self) -> None:
        if self._aio is not None and self._aio[0] is asyncio.get_running_loop():
            await self._aio[1].client.aclose()
        self._aio = None

    def _keys(self, id: str) -> list[str]:
        return [f"{self.prefix}net:{id}", f"{self.prefix}states:{id}", f"{self.prefix}entries:{id}"]

    def create(
        self, id: str, code: str, doc: bytes, entry: tuple[int, bytes, bytes], ttl: float
    ) -> bool:
        keys = [*self._keys(id), self._codes + code]
        token = secrets.token_hex(8)
        seq, state, raw = entry
        return bool(self._create(keys, [id, token, code, doc, seq, state, _ms(ttl), raw]))

    def read(self, id: str) -> tuple[int, bytes, list[bytes]] | None:
        return _found(self._read(self.client.pipeline(), id).execute())

    def _read(self, pipe, id: str):
        """The document and its entries, in one transaction (MULTI … EXEC)."""
        net, _, entries = self._keys(id)
        return pipe.hmget(net, ["v", "doc"]).hvals(entries)

    def version(self, id: str) -> int | None:
        return _number(self.client.hget(self._keys(id)[0], "v"))

    def write(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
        event: bytes | None = None,
    ) -> bool:
        args = self._write_args(id, version, doc, put, drop, ttl, event)
        return bool(self._write(self._keys(id), args))

    def publishes_for(self, bus: object) -> bool:
        """Whether a write can publish its follow event itself, for `bus` (in the same
        script: one round trip, and the events in the order of the versions)."""
        return isinstance(bus, RedisBus) and bus.prefix == self.prefix

    def _write_args(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
        event: bytes | None,
    ) -> list:
        seq, state, entry = put if put is not None else ("", b"", b"")
        token = secrets.token_hex(8)
        ranges = " ".join(f"{first}-{last}" for first, last in drop)
        args = [version, token, doc, seq, state, entry, ranges, _ms(ttl), self._codes]
        if event is not None:
            args += [event, channel(self.prefix, id)]
        return args

    def state(self, id: str, seq: int) -> bytes | None:
        return self.client.hget(self._keys(id)[1], str(seq))

    def find(self, code: str) -> str | None:
        id = self.client.get(self._codes + code)
        return None if id is None else id.decode()

    def delete(self, id: str) -> bool:
        return bool(self._delete(self._keys(id), [self._codes, id]))

    def touch(self, id: str, ttl: float) -> None:
        self._touch(self._keys(id), [_ms(ttl), self._codes])

    def expire(self) -> int:
        return 0  # Redis drops each network's keys itself when their time to live passes

    def ping(self) -> None:
        self.client.ping()

    def close(self) -> None:
        self.client.close()


class AsyncCalls:
    """The backend's calls that readings and changes make, awaited on one event loop (a
    client of redis.asyncio of its own): the same keys, scripts and answers."""

    def __init__(self, backend: RedisBackend):
        self.backend = backend
        self.client = _async_client(backend.url)
        self._write = self.client.register_script(WRITE)
        self._touch = self.client.register_script(TOUCH)
        # The writes of one turn of the loop: one pipeline (app/store/grouped.py).
        self._writes = Grouped(asyncio.get_running_loop(), self._write_all)

    async def read(self, id: str) -> tuple[int, bytes, list[bytes]] | None:
        return _found(await self.backend._read(self.client.pipeline(), id).execute())

    async def version(self, id: str) -> int | None:
        return _number(await self.client.hget(self.backend._keys(id)[0], "v"))

    async def write(
        self,
        id: str,
        version: int,
        doc: bytes,
        put: tuple[int, bytes, bytes] | None,
        drop: tuple[tuple[int, int], ...],
        ttl: float,
        event: bytes | None = None,
    ) -> bool:
        return await self._writes(id, version, doc, put, drop, ttl, event)

    async def _write_all(self, calls: list[tuple]) -> list[bool | Exception]:
        """The scripts' calls in one pipeline (not a transaction: each script is atomic
        itself, and a failed one is that write's answer alone)."""
        pipe = self.client.pipeline(transaction=False)
        for args in calls:
            keys = self.backend._keys(args[0])
            pipe.evalsha(self._write.sha, len(keys), *keys, *self.backend._write_args(*args))
        made = await pipe.execute(raise_on_error=False)
        for k, result in enumerate(made):
            if isinstance(result, redis.exceptions.NoScriptError):  # Redis restarted: load it
                try:
                    made[k] = await self._write(
                        self.backend._keys(calls[k][0]), self.backend._write_args(*calls[k])
                    )
                except redis.RedisError as e:
                    made[k] = e
        return [r if isinstance(r, Exception) else bool(r) for r in made]

    async def state(self, id: str, seq: int) -> bytes | None:
        return await self.client.hget(self.backend._keys(id)[1], str(seq))

    async def touch(self, id: str, ttl: float) -> None:
        await self._touch(self.backend._keys(id), [_ms(ttl), self.backend._codes])


def _found(got: list) -> tuple[int, bytes, list[bytes]] | None:
    (version, doc), entries = got
    return None if version is None or doc is None else (int(version), doc, entries)


def _number(got: bytes | None) -> int | None:
    return None if got is None else int(got)


class RedisBus:
    """Follow events over Redis pub/sub, so that a follower connected to one worker gets the
    changes made through every worker.

    `publish` is a PUBLISH from the calling thread. Listening shares one pub/sub connection
    per process (opened on the event loop at the first listener): the process subscribes to
    a network's channel while it has listeners of that network, and fans each message out
    to their queues, so 300 followers of one network on one worker are one subscription,
    not 300 connections. A listener is yielded only once Redis has confirmed the
    subscription (a PING on the same connection answers after it), so it misses nothing
    published after it joined. Followers are counted in Redis (`bl:followers:{id}`) by
    every worker; each renews its own every HEARTBEAT seconds, and those of a worker that
    died stop counting after STALE.
    """

    def __init__(self, client: redis.Redis, url: str, prefix: str = "bl:"):
        self.client = client
        self.url = url
        self.prefix = prefix
        self._count = client.register_script(FOLLOWERS)
        self._loop: asyncio.AbstractEventLoop | None = None

    def _channel(self, id: str) -> str:
        return channel(self.prefix, id)

    def _followers_key(self, id: str) -> str:
        return f"{self.prefix}followers:{id}"

    def publish(self, id: str, event: bytes) -> None:
        """After the change is stored: a failure here must not fail the change (its owner
        would try again and make it twice); followers catch up with the next event."""
        try:
            self.client.publish(self._channel(id), event)
        except redis.RedisError as e:
            log.warning("follow event of %s not published: %r", id, e)

    async def apublish(self, id: str, event: bytes) -> None:
        """`publish` from the event loop, awaited (on this process's async client)."""
        self._start()
        try:
            await self._aclient.publish(self._channel(id), event)
        except (redis.RedisError, OSError) as e:
            log.warning("follow event of %s not published: %r", id, e)

    def followers(self, id: str) -> int:
        return int(self._count([self._followers_key(id)], ["none", _ms(STALE), "", id]))

    @asynccontextmanager
    async def listen(self, id: str, follower: bool) -> AsyncIterator[Listener]:
        self._start()
        queue: asyncio.Queue = asyncio.Queue(QUEUE)
        member = uuid.uuid4().hex if follower else None
        try:
            async with self._lock:  # (un)subscriptions go out in the order they were decided
                if not self._pubsub.connection:
                    await self._pubsub.connect()
                    self._connected.set()
                listeners = self._listeners.setdefault(id, {})
                listeners[queue] = member
                if len(listeners) == 1:
                    await self._pubsub.subscribe(self._channel(id))
                confirmed = await self._ping()
            await asyncio.wait_for(confirmed, CONFIRM)
            if member:
                await self._followers(id, "add", member, publish=True)
            yield Listener(queue)
        finally:
            with suppress(redis.RedisError, OSError):  # Redis gone: the heartbeat lapses
                async with self._lock:
                    listeners = self._listeners.get(id, {})
                    listeners.pop(queue, None)
                    if not listeners and self._listeners.pop(id, None) is not None:
                        await self._pubsub.unsubscribe(self._channel(id))
                if member:
                    await self._followers(id, "rem", member, publish=True)

    async def _followers(self, id: str, op: str, *members: str, publish: bool = False) -> int:
        channel = self._channel(id) if publish else ""
        key = self._followers_key(id)
        return int(await self._acount([key], [op, _ms(STALE), channel, id, *members]))

    def _start(self) -> None:
        """The process's pub/sub connection and its tasks, on this event loop."""
        loop = asyncio.get_running_loop()
        if self._loop is loop:
            return
        self._loop = loop
        self._listeners: dict[str, dict[asyncio.Queue, str | None]] = {}  # id → {queue: member}
        self._pongs: dict[bytes, asyncio.Future] = {}
        self._lock = asyncio.Lock()
        self._connected = asyncio.Event()
        self._aclient = _async_client(self.url)
        self._acount = self._aclient.register_script(FOLLOWERS)
        self._pubsub = self._aclient.pubsub()
        self._tasks = [loop.create_task(self._read()), loop.create_task(self._beat())]

    async def _ping(self) -> asyncio.Future:
        """A PING on the shared connection: its answer comes once Redis has done every
        (un)subscription sent before it."""
        token = secrets.token_hex(8).encode()
        pong = self._pongs[token] = asyncio.get_running_loop().create_future()
        pong.add_done_callback(lambda _: self._pongs.pop(token, None))
        await self._pubsub.ping(token)
        return pong

    async def _read(self) -> None:
        """Deliver each message of the shared connection to the listeners of its network."""
        await self._connected.wait()
        channels = len(self._channel(""))
        try:
            while True:
                try:
                    message = await self._pubsub.get_message(timeout=None)
                except (redis.RedisError, OSError):  # Redis restarting: reconnect, resubscribe
                    await asyncio.sleep(1)
                    continue
                if message is None:
                    continue
                if message["type"] == "pong":
                    pong = self._pongs.get(message["data"])
                    if pong and not pong.done():
                        pong.set_result(None)
                elif message["type"] == "message":
                    id = message["channel"][channels:].decode()
                    fan_out(self._listeners.get(id, ()), message["data"])
        finally:
            with suppress(redis.RedisError, OSError):
                await self._pubsub.aclose()
                await self._aclient.aclose()

    async def _beat(self) -> None:
        """Renew this process's followers, so that they go on being counted."""
        while True:
            await asyncio.sleep(HEARTBEAT)
            for id, listeners in list(self._listeners.items()):
                members = [m for m in listeners.values() if m]
                if members:
                    with suppress(redis.RedisError, OSError):
                        await self._followers(id, "add", *members)

    def close(self) -> None:
        loop, self._loop = self._loop, None
        if loop is not None and not loop.is_closed():
            for task in self._tasks:
                loop.call_soon_threadsafe(task.cancel)
