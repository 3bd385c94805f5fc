"""Follow events within one process (app/store/events.py): many listeners are woken a
slice a turn of the event loop, each still getting every event in order."""

import asyncio
from contextlib import AsyncExitStack

from app.store.events import QUEUE, SLICE, LocalBus, fan_out
from tests.conftest import run_async


def test_an_event_for_many_listeners_reaches_a_slice_of_them_each_turn_of_the_loop():
    async def turns():
        queues = [asyncio.Queue(QUEUE) for _ in range(3 * SLICE + 5)]
        fan_out(queues, b"e1")
        reached = [sum(not q.empty() for q in queues)]
        for _ in range(4):
            await asyncio.sleep(0)  # one turn: what came meanwhile is served here
            reached.append(sum(not q.empty() for q in queues))
        return reached, [q.get_nowait() for q in queues]

    reached, got = run_async(turns())
    assert reached == [SLICE, 2 * SLICE, 3 * SLICE, 3 * SLICE + 5, 3 * SLICE + 5]
    assert got == [b"e1"] * (3 * SLICE + 5)


def test_each_listener_gets_the_events_in_the_order_they_were_published():
    async def follow():
        bus = LocalBus()
        bus.bind(asyncio.get_running_loop())
        async with AsyncExitStack() as stack:
            listeners = [
                await stack.enter_async_context(bus.listen("n", follower=False))
                for _ in range(2 * SLICE + 7)
            ]
            bus.publish("n", b"1")
            bus.publish("n", b"2")  # in the same turn
            await asyncio.sleep(0)
            bus.publish("n", b"3")  # while the first two are still on their way
            for _ in range(3):
                bus.publish("n", b"4")
                await asyncio.sleep(0)
            for _ in range(5):
                await asyncio.sleep(0)
            return [listener.waiting() for listener in listeners]

    for events in run_async(follow()):
        assert events == [b"1", b"2", b"3", b"4", b"4", b"4"]


def test_a_listener_too_slow_to_keep_up_loses_the_oldest_events_only():
    async def slow():
        queues = [asyncio.Queue(QUEUE) for _ in range(SLICE + 1)]
        for k in range(QUEUE + 3):
            fan_out(queues, str(k).encode())
        for _ in range(3):
            await asyncio.sleep(0)
        return [[q.get_nowait() for _ in range(q.qsize())] for q in queues]

    for events in run_async(slow()):
        assert events == [str(k).encode() for k in range(3, QUEUE + 3)]
