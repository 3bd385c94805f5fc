"""Calls made together in one turn of the event loop (app/store/grouped.py)."""

import asyncio

from app.store.grouped import Grouped
from tests.conftest import run_async


def test_the_calls_of_one_turn_are_made_together_each_answered_alone():
    groups = []

    def make(calls):
        groups.append(calls)
        return [ValueError(x) if x < 0 else x * 10 for (x,) in calls]

    async def run():
        grouped = Grouped(asyncio.get_running_loop(), make)
        first = await asyncio.gather(grouped(1), grouped(-2), grouped(3), return_exceptions=True)
        return first, await grouped(4)

    (one, failed, three), four = run_async(run())
    assert (one, three, four) == (10, 30, 40) and isinstance(failed, ValueError)
    assert groups == [[(1,), (-2,), (3,)], [(4,)]]


def test_a_group_cancelled_before_it_is_made_cancels_its_waiters_not_the_loop():
    async def run():
        started = asyncio.Event()

        async def make(calls):
            started.set()
            await asyncio.sleep(3600)

        grouped = Grouped(asyncio.get_running_loop(), make)
        waiters = [asyncio.ensure_future(grouped(k)) for k in range(2)]
        await started.wait()
        for task in asyncio.all_tasks():
            if task.get_coro().__name__ == "make":
                task.cancel()
        # Before, the group's callback itself raised and its waiters were never answered.
        return await asyncio.wait_for(asyncio.gather(*waiters, return_exceptions=True), 5)

    answers = run_async(run())
    assert all(isinstance(a, asyncio.CancelledError) for a in answers)


def test_a_group_that_raises_fails_each_of_its_calls():
    def make(calls):
        raise OSError("the store went away")

    async def run():
        grouped = Grouped(asyncio.get_running_loop(), make)
        return await asyncio.gather(grouped(1), grouped(2), return_exceptions=True)

    assert all(isinstance(a, OSError) for a in run_async(run()))
