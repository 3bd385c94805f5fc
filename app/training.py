"""Training on a pool of its own, so that heavy work cannot starve light work.

A training runs `app.engine.train` in a worker process (`Trainer`, made in the app's
lifespan and kept on app.state), and the request awaits it without holding a thread: the
event loop and the thread pool stay free for /healthz, page loads and steps. At most
`queue` trainings wait or run in a process; beyond that the answer is 503 with
Retry-After. The result is applied only if the network is still the one that was
trained (409 otherwise), so a step or an edit made meanwhile is never lost.
"""

import asyncio
import logging
import math
import os
import secrets
import signal
import threading
import time
from collections.abc import Callable
from concurrent.futures import ProcessPoolExecutor
from concurrent.futures.process import BrokenProcessPool
from contextlib import suppress
from dataclasses import dataclass, replace
from multiprocessing import get_context
from typing import Annotated, TypeVar

from fastapi import Depends, Request

from app import session as ops
from app.engine import State, TrainResult, gradcheck, train
from app.refusal import Refused
from app.session import Session, Training
from app.store import Conflict, NotOwner, Store, UnknownSession, owns

T = TypeVar("T")

SHUTDOWN_RETRY = 5  # seconds: a restart takes about this long
MAX_RUNS = 16  # live trainings running at once in this process
BUSY_RETRY = 10  # s: when more than MAX_RUNS would run
BUSY_WAIT = 0.2  # s before a chunk refused by a full queue asks again
log = logging.getLogger("backprop_lab.training")


@dataclass(frozen=True)
class Settings:
    workers: int = 1  # processes; the build machine has 2 cores, one left to the server
    queue: int = 8  # trainings waiting or running at once in this process


class Trainer:
    """The training processes, and the bound on the work waiting for them."""

    def __init__(self, settings: Settings):
        self.settings = settings
        self._pool = self._start()
        self._pending: list[int] = []  # the work of each training waiting or running
        self._closed = False

    def _start(self) -> ProcessPoolExecutor:
        # spawn, not fork: the server has threads, and a forked child would inherit their locks.
        return ProcessPoolExecutor(
            self.settings.workers,
            mp_context=get_context("spawn"),
            initializer=_start_worker,
            initargs=(os.getpid(),),
        )

    @property
    def closed(self) -> bool:
        return self._closed

    async def train(self, state: State, iterations: int) -> TrainResult:
        return await self.run(iterations * ops.work(state), train, state, iterations)

    async def run(self, work: int, fn: Callable[..., T], *args: object) -> T:
        """fn(*args) in the pool: heavy work (a training, a gradient check) that must not
        hold up the event loop or the other requests; `work` its cost, for the queue."""
        if self._closed:
            raise _shutting_down()
        if len(self._pending) >= self.settings.queue:
            raise Refused(
                "iterations",
                f"the server is busy training; try again in {self._wait()} s",
                503,
                self._wait(),
            )
        self._pending.append(work)
        try:
            try:
                future = self._pool.submit(fn, *args)
            except BrokenProcessPool:  # a worker died (killed, out of memory): new workers
                self._pool.shutdown(wait=False, cancel_futures=True)  # its manager ends
                self._pool = self._start()
                future = self._pool.submit(fn, *args)
            try:
                return await asyncio.wrap_future(future)
            except asyncio.CancelledError:
                future.cancel()  # never starts if still queued
                # Either close() cancelled the future, or the server cancelled the request
                # (only when it stops: uvicorn's graceful shutdown timed out, and it would
                # answer 500). Either way the answer is a 503 that says so.
                if task := asyncio.current_task():
                    task.uncancel()
                raise _shutting_down() from None
            except BrokenProcessPool:
                raise _shutting_down() from None
        finally:
            self._pending.remove(work)

    def _wait(self) -> int:
        """Seconds until the work queued now is done, by the measured rate."""
        seconds = sum(self._pending) / ops.WORK_PER_SECOND / self.settings.workers
        return max(1, math.ceil(seconds))

    def close(self) -> None:
        """Cancel what waits and stop the processes now, even in the middle of a training."""
        self._closed = True
        # ProcessPoolExecutor has no public way to stop a running call before Python 3.14.
        processes = list((self._pool._processes or {}).values())
        manager = self._pool._executor_manager_thread
        self._pool.shutdown(wait=False, cancel_futures=True)
        for p in processes:
            p.terminate()
        for p in processes:
            p.join(timeout=2)
            if p.is_alive():
                p.kill()
        if manager is not None:
            manager.join(timeout=2)  # it fails what ran with BrokenProcessPool, and ends


def _start_worker(server: int) -> None:
    # Ctrl+C reaches the whole process group; the server decides when its workers stop.
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    threading.Thread(target=_exit_with, args=(server,), daemon=True).start()


def _exit_with(server: int) -> None:
    """End this worker once the server is gone (killed with SIGKILL, it cannot say so)."""
    while os.getppid() == server:
        time.sleep(1)
    os._exit(1)


def _shutting_down() -> Refused:
    msg = f"the server is shutting down; try again in {SHUTDOWN_RETRY} s"
    return Refused("iterations", msg, 503, SHUTDOWN_RETRY)


async def get_trainer(request: Request) -> Trainer:
    return request.app.state.trainer


TrainerDep = Annotated[Trainer, Depends(get_trainer)]


async def run(
    trainer: Trainer,
    store: Store,
    id: str,
    iterations: object,
    token: str | None,
    field: str = "iterations",
) -> tuple[Session, Session, Training]:
    """Train network `id` in the pool, as its owner: (the session before, after, what
    training did). The result is stored only on the version that was trained."""
    before = await store.aget(id)
    if not owns(before, token):
        raise NotOwner(id)
    if before.run and before.run.running(time.time()):  # its chunks would change it meanwhile
        raise Refused("run", "a live training is running: stop it first", 409)
    count = ops.checked_iterations(before.state, iterations, field)
    result = await trainer.train(before.state, count)
    try:
        after, training = await store.aupdate(
            id, lambda now: ops.trained(now, result), "train", before.version
        )
    except Conflict:
        raise Refused("network", "changed while training; train again", 409) from None
    return before, after, training


async def check_gradients(trainer: Trainer, s: Session) -> gradcheck.GradCheck:
    """The gradient check of the session's next iteration, in the pool (up to about a
    second of numpy: not on the event loop, nor in a thread that holds its lock); a batch
    too large for it is refused before it is queued."""
    work = gradcheck.bounded(s.state)
    return await trainer.run(work, gradcheck.check, s.state)


class Runs:
    """The live trainings this process runs: one task each, which trains its network a
    chunk at a time in the pool (`Trainer.run`, so that chunks of different runs and single
    trainings take turns) and stores each chunk as it ends, amending one history entry.

    Everything a run needs is in the store, not here: a stop is written into the network's
    record by whichever worker the request reached, and the task sees it at its next chunk
    (the chunk in flight is then not stored: the compare-and-set refuses it). An edit meanwhile
    (η, the optimiser, a weight) is trained on from the next chunk; a reset, an undo or a
    jump back ends the run."""

    def __init__(self, trainer: Trainer, store: Store, clock: Callable[[], float] = time.time):
        self.trainer = trainer
        self.store = store
        self.clock = clock
        self._tasks: dict[str, asyncio.Task] = {}
        self._closing = False

    async def start(self, id: str, unit: object, count: object, token: str | None) -> Session:
        """Start a live training of network `id`, as its owner: the session with its run."""
        self._tasks = {k: t for k, t in self._tasks.items() if not t.done()}
        if self._closing:
            raise _shutting_down()
        if len(self._tasks) >= MAX_RUNS:
            msg = f"the server is running {MAX_RUNS} trainings; try again in {BUSY_RETRY} s"
            raise Refused(unit if unit in ops.UNITS else "unit", msg, 503, BUSY_RETRY)  # type: ignore[arg-type]
        run_id = secrets.token_hex(6)

        def op(s: Session) -> tuple[Session, None]:
            if not owns(s, token):
                raise NotOwner(s.id)
            return ops.live(s, unit, count, self.clock(), run_id), None

        s, _ = await self.store.aupdate(id, op, "run")
        self._tasks[id] = asyncio.create_task(self._run(id, run_id))
        return s

    async def stop(self, id: str, token: str | None) -> Session:
        def op(s: Session) -> tuple[Session, None]:
            if not owns(s, token):
                raise NotOwner(s.id)
            return ops.stop(s), None

        return (await self.store.aupdate(id, op, "stop"))[0]

    async def _run(self, id: str, run_id: str) -> None:
        mine: int | None = None  # the history entry of its chunks
        try:
            while True:
                s = await self.store.aget(id)
                run = s.run
                if run is None or run.id != run_id or run.status != "running":
                    return
                if mine is not None and s.history.cursor < mine:  # undone, or jumped back
                    await self._end(id, run_id, "stopped")
                    return
                n = ops.chunk(s)
                try:
                    result = await self.trainer.run(n * ops.work(s.state), train, s.state, n)
                except Refused as e:
                    # The pool refuses while it closes, and a cancelled wait for it is
                    # answered by a refusal too (Trainer.run): either way, the server stops.
                    if self.trainer.closed or self._closing:
                        await self._end(id, run_id, "stopped")
                        return
                    await asyncio.sleep(BUSY_WAIT if e.status == 503 else 0)
                    continue
                amend = s.history.cursor == mine
                try:
                    after, _ = await self.store.aupdate(
                        id,
                        lambda now, r=result: (ops.ran(now, r, self.clock()), None),
                        "train",
                        s.version,
                        amend,
                    )
                except Conflict:  # changed meanwhile: train the network as it is now
                    continue
                mine = after.history.cursor
        except UnknownSession:  # deleted meanwhile
            return
        except asyncio.CancelledError:
            await self._end(id, run_id, "stopped")
            raise
        except Exception:
            log.exception("live training of %s failed", id)
            await self._end(id, run_id, "failed")

    async def _end(self, id: str, run_id: str, status: str) -> None:
        """Write the run's end into its record (if it is still this run, still running)."""

        def op(s: Session) -> tuple[Session, None]:
            if s.run is None or s.run.id != run_id:
                return s, None
            return replace(s, run=ops.stopped(s.run, status)), None

        with suppress(Exception):  # a store already closed: the run is shown as failed
            await self.store.aupdate(id, op, "stop")

    async def close(self) -> None:
        """Stop every run of this process (each writes that it stopped), within seconds."""
        self._closing = True
        tasks = [t for t in self._tasks.values() if not t.done()]
        for t in tasks:
            t.cancel()
        if tasks:
            await asyncio.wait(tasks, timeout=2)


async def get_runs(request: Request) -> Runs:
    return request.app.state.runs


RunsDep = Annotated[Runs, Depends(get_runs)]
