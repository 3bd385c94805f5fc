"""The store's contract, run against every backend: what a network's owner, its followers
and several workers may count on, whichever store keeps it.

`stores` makes stores of one backend; two stores made by one `stores` share their data,
as two workers (or a server and its restart) do.
"""

import asyncio
import threading
import time
from dataclasses import replace

import orjson
import pytest

from app import session as ops
from app.engine import InvalidInput
from app.session import create, next_phase, patch, step
from app.store import Conflict, Store, UnknownSession, Unreadable, document, owns
from app.store.base import CODE_ALPHABET, CODE_LENGTH
from app.store.events import LocalBus
from app.store.sqlite import SQLiteBackend
from tests.conftest import run_async

BACKENDS = ["sqlite", "redis"]


def _sqlite(tmp_path):
    path = tmp_path / "store.db"

    def make(**options) -> Store:  # the ring of states as wide as the history: its own path
        return Store(
            SQLiteBackend(path, history=options.get("history", 200)), LocalBus(), **options
        )

    return make


@pytest.fixture(params=BACKENDS)
def stores(request, tmp_path):
    """A maker of stores on one backend's shared data; each store closed at the end."""
    if request.param == "sqlite":
        make = _sqlite(tmp_path)
    else:
        make = request.getfixturevalue(f"{request.param}_stores")
    made: list[Store] = []

    def tracked(**options) -> Store:
        made.append(make(**options))
        return made[-1]

    yield tracked
    for s in made:
        s.close()


@pytest.fixture
def store(stores) -> Store:
    return stores()


def classic():
    return create({"preset": "classic"})


def slow_increment(s):
    # Read, wait, write: without serialisation or compare-and-set, updates would be lost.
    seen = s.iteration
    time.sleep(0.001)
    return replace(s, iteration=seen + 1), None


def test_a_new_network_is_stored_with_an_owner_a_code_and_one_entry(store):
    s, token = store.add(classic())
    assert len(s.id) >= 12 and s.version == 1
    assert len(s.code) == CODE_LENGTH and set(s.code) <= set(CODE_ALPHABET)
    assert owns(s, token) and not owns(s, token + "x") and not owns(s, None)
    assert token not in orjson.dumps(s.to_data()).decode()
    got = store.get(s.id)
    assert got.state.to_data() == classic().state.to_data()
    assert (got.version, got.code, got.owner) == (1, s.code, s.owner)
    assert [e.action for e in got.history.entries] == ["create"]


def test_a_join_code_finds_its_network_in_any_case(store):
    s, _ = store.add(classic())
    assert store.find(s.code).id == s.id
    assert store.find(" " + s.code.lower() + " ").id == s.id
    for code in ("", "ABC", "Z" * 7, "x" * 10_000):
        with pytest.raises(UnknownSession):
            store.find(code)


def test_a_change_is_a_new_version_and_a_new_entry(store):
    s, _ = store.add(classic())
    s2, _ = store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert (s2.version, s2.phase) == (2, "forward:1")
    assert [(e.seq, e.phase, e.action) for e in s2.history.entries] == [
        (1, "ready", "create"),
        (2, "forward:1", "next"),
    ]
    assert store.get(s.id).phase == "forward:1"


def test_a_change_that_changes_nothing_is_not_stored(store):
    s, _ = store.add(classic())
    same, _ = store.update(s.id, lambda s: (s, None), "prev")
    assert same.version == 1 and len(same.history.entries) == 1


def test_a_failing_operation_stores_nothing(store):
    s, _ = store.add(classic())

    def fails(s):
        raise InvalidInput("weights", "no")

    with pytest.raises(InvalidInput):
        store.update(s.id, fails, "edit")
    got = store.get(s.id)
    assert got.version == 1 and got.state.to_data() == s.state.to_data()


def test_concurrent_updates_on_one_network_are_all_kept(store):
    id = store.add(classic())[0].id

    def work():
        for _ in range(20):
            store.update(id, slow_increment, "edit")

    threads = [threading.Thread(target=work) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(id).iteration == 120


def test_two_workers_on_one_store_lose_no_update(stores):
    a, b = stores(), stores()
    id = a.add(classic())[0].id

    def work(store):
        for _ in range(20):
            store.update(id, slow_increment, "edit")

    threads = [threading.Thread(target=work, args=(s,)) for s in (a, b, a, b)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert a.get(id).iteration == b.get(id).iteration == 80
    assert a.get(id).version == 81


def test_async_changes_from_an_event_loop_and_threads_together_lose_no_update(stores):
    """The async forms (the API's and the page's, on the event loop) and the sync ones (in
    worker threads) of two workers, at once on one network: every change kept."""
    a, b = stores(), stores()
    id = a.add(classic())[0].id

    async def changes(store):  # as on the event loop: the op itself waits for nothing
        for _ in range(10):
            await store.aupdate(id, lambda s: (replace(s, iteration=s.iteration + 1), None), "edit")

    def sync_changes(store):  # as in a worker thread
        for _ in range(10):
            store.update(id, slow_increment, "edit")

    async def both():
        for store in (a, b):
            await _bound(store, asyncio.sleep(0))
        threads = [asyncio.to_thread(sync_changes, store) for store in (a, b)]
        await asyncio.gather(*(changes(store) for store in (a, b, a, b)), *threads)
        return await a.aget(id), await b.aget(id)

    seen_a, seen_b = run_async(both())
    assert seen_a.iteration == seen_b.iteration == 60 and seen_a.version == 61
    assert [e.action for e in a.get(id).history.entries[-60:]] == ["edit"] * 60


def test_the_async_forms_read_undo_and_redo_as_the_sync_ones(store):
    s, _ = store.add(classic())

    async def walk():
        stepped, _ = await store.aupdate(s.id, step, "step")
        undone = await store.atravel(s.id, "undo")
        redone = await store.atravel(s.id, "redo")
        return stepped, undone, redone, await store.aget(s.id)

    stepped, undone, redone, read = run_async(_bound(store, walk()))
    assert (stepped.version, stepped.iteration) == (2, 1)
    assert (undone.version, undone.iteration, undone.history.cursor) == (3, 0, 1)
    assert (redone.version, redone.iteration, redone.history.cursor) == (4, 1, 2)
    assert read.to_data() == redone.to_data() == store.get(s.id).to_data()
    with pytest.raises(InvalidInput, match="nothing to redo"):
        run_async(store.atravel(s.id, "redo"))
    with pytest.raises(UnknownSession):
        run_async(store.aget("no-such-network"))


def test_a_worker_never_serves_its_cached_copy_of_a_network_another_changed(stores):
    a, b = stores(), stores()
    s, _ = a.add(classic())
    a.get(s.id)
    b.update(s.id, lambda s: (patch(s, {"weights": {"w5": 0.3}}), None), "edit")
    assert a.get(s.id).state.network.weights[1][0, 0] == 0.3


def test_a_change_from_a_stale_cached_copy_is_made_again_on_the_stored_one(stores):
    a, b = stores(), stores()
    s, _ = a.add(classic())  # a's cache: version 1
    b.update(s.id, lambda s: (patch(s, {"weights": {"w5": 0.3}}), None), "edit")
    changed, _ = a.update(s.id, lambda s: (patch(s, {"learning_rate": 0.1}), None), "edit")
    assert changed.version == 3 and [e.action for e in changed.history.entries] == [
        "create", "edit", "edit",
    ]  # fmt: skip
    assert changed.state.network.weights[1][0, 0] == 0.3
    assert changed.state.training.learning_rate == 0.1
    # A change that changes nothing on the stale copy answers with the stored network.
    b.update(s.id, lambda s: (patch(s, {"weights": {"w5": 0.7}}), None), "edit")
    same, _ = a.update(s.id, lambda s: (patch(s, {"learning_rate": 0.1}), None), "edit")
    assert same.version == 4 and same.state.network.weights[1][0, 0] == 0.7


def test_only_a_training_s_own_version_is_changed_even_from_a_stale_copy(stores):
    a, b = stores(), stores()
    s, _ = a.add(classic())
    moved, _ = b.update(s.id, lambda s: (next_phase(s), None), "next")
    # a's cached copy is version 1, but the training was of the stored version 2.
    trained, _ = a.update(s.id, lambda s: (patch(s, {"learning_rate": 0.2}), None), "train", 2)
    assert trained.version == 3 and trained.phase == moved.phase
    with pytest.raises(Conflict):
        a.update(s.id, lambda s: (next_phase(s), None), "train", expect=2)


def test_a_network_outlives_its_store(stores):
    s, token = stores().add(classic())
    stores().update(s.id, lambda s: step(s), "step")
    again = stores().get(s.id)
    assert again.iteration == 1 and again.phase == "update" and owns(again, token)
    assert again.previous is not None and again.initial.to_data() == s.initial.to_data()


def test_a_backend_tells_a_documents_version_alone(store):
    s, _ = store.add(classic())
    assert store.backend.version(s.id) == store.backend.read(s.id)[0] == s.version
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert store.backend.version(s.id) == store.backend.read(s.id)[0] == s.version + 1
    assert store.backend.version("nobody") is None


def test_a_copy_at_hand_is_not_read_again_while_current(stores):
    """Every follower's page asks after each change: the version alone is read while the
    cached copy is the current one; a change through another store is read whole; a network
    deleted through another store is gone."""
    mine, theirs = stores(), stores()
    s, _ = mine.add(classic())
    mine.get(s.id)
    reads = []
    read = mine.backend.read
    mine.backend.read = lambda id: reads.append(id) or read(id)
    assert mine.get(s.id).version == s.version and reads == []
    theirs.update(s.id, lambda s: (next_phase(s), None), "next")
    assert mine.get(s.id).phase == "forward:1" and reads == [s.id]
    theirs.delete(s.id)
    with pytest.raises(UnknownSession):
        mine.get(s.id)


def test_only_the_version_read_is_changed_when_asked(store):
    s, _ = store.add(classic())
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    with pytest.raises(Conflict):
        store.update(s.id, lambda s: (next_phase(s), None), "train", expect=s.version)
    assert store.get(s.id).phase == "forward:1"


def test_undo_and_redo_walk_the_history(store):
    s, _ = store.add(classic())
    for _ in range(3):
        store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert store.travel(s.id, "undo").phase == "forward:2"
    assert store.travel(s.id, "undo").phase == "forward:1"
    assert store.travel(s.id, "redo").phase == "forward:2"
    assert store.travel(s.id, 1).phase == "ready"
    back = store.travel(s.id, 4)
    assert back.phase == "loss" and not back.history.can_redo
    with pytest.raises(InvalidInput, match="history: nothing to redo"):
        store.travel(s.id, "redo")


def test_undo_restores_the_parameters_and_redo_the_update(store):
    s, _ = store.add(classic())
    stepped, _ = store.update(s.id, step, "step")
    undone = store.travel(s.id, "undo")
    assert undone.iteration == 0 and undone.phase == "ready" and undone.previous is None
    assert undone.state.to_data() == s.state.to_data()
    redone = store.travel(s.id, "redo")
    assert redone.state.to_data() == stepped.state.to_data() and redone.iteration == 1


def test_a_change_after_undo_drops_what_could_be_redone(store):
    s, _ = store.add(classic())
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    store.travel(s.id, "undo")
    s2, _ = store.update(s.id, lambda s: (patch(s, {"learning_rate": 0.1}), None), "edit")
    assert [e.action for e in s2.history.entries] == ["create", "next", "edit"]
    assert not s2.history.can_redo
    assert store.travel(s.id, "undo").phase == "forward:1"


def test_the_history_is_bounded_and_undo_stops_at_its_oldest_entry(stores):
    store = stores(history=5)
    s, _ = store.add(classic())
    for _ in range(9):
        store.update(s.id, lambda s: (next_phase(s), None), "next")
    h = store.get(s.id).history
    assert [e.seq for e in h.entries] == [6, 7, 8, 9, 10]
    for _ in range(4):
        store.travel(s.id, "undo")
    with pytest.raises(InvalidInput, match="nothing to undo"):
        store.travel(s.id, "undo")
    with pytest.raises(InvalidInput):
        store.travel(s.id, 5)


def test_the_states_of_dropped_entries_are_dropped_and_the_others_kept(stores):
    store = stores(history=3)
    s, _ = store.add(classic())
    for _ in range(4):
        store.update(s.id, lambda s: (next_phase(s), None), "next")
    assert [e.seq for e in store.get(s.id).history.entries] == [3, 4, 5]
    assert [store.backend.state(s.id, seq) is not None for seq in range(1, 6)] == [
        False, False, True, True, True,
    ]  # fmt: skip
    store.travel(s.id, "undo")
    store.travel(s.id, "undo")
    store.update(s.id, lambda s: (patch(s, {"learning_rate": 0.1}), None), "edit")
    first, edit = store.get(s.id).history.entries
    assert (first.seq, edit.seq, edit.action) == (3, 4, "edit")
    assert store.backend.state(s.id, 5) is None
    undone = store.travel(s.id, "undo")  # to seq 3's state, still stored
    assert (undone.iteration, undone.phase) == (first.iteration, first.phase)
    assert undone.state.training.learning_rate != 0.1
    # The edit's state took the place of the one it could have redone (seq 4 then).
    assert store.travel(s.id, "redo").state.training.learning_rate == 0.1


def test_unknown_and_deleted_ids(store):
    s, _ = store.add(classic())
    store.delete(s.id)
    for call in (
        lambda: store.get(s.id),
        lambda: store.update(s.id, step, "step"),
        lambda: store.travel(s.id, "undo"),
        lambda: store.delete(s.id),
        lambda: store.find(s.code),
        lambda: store.get("x" * 100_000),
    ):
        with pytest.raises(UnknownSession):
            call()


def test_a_network_unused_beyond_its_time_expires(stores):
    store = stores(ttl=0.3)
    old, _ = store.add(classic())
    time.sleep(0.5)
    store.expire()
    with pytest.raises(UnknownSession):
        store.get(old.id)


OLD_FIELDS = ("layers", "activations", "loss", "weights", "biases", "inputs", "targets")
OLD_FIELDS += ("learning_rate", "update_biases", "seed")


def test_a_schema_1_document_is_read_as_trained_by_plain_gradient_descent(stores):
    store = stores()
    s, _ = store.add(classic())
    s, _ = store.update(s.id, step, "step")
    version, raw, entries = store.backend.read(s.id)
    doc = orjson.loads(raw)

    def old(state):  # as schema 1 wrote it: the fields of then, no more
        return None if state is None else {k: state[k] for k in OLD_FIELDS}

    doc["schema"], doc["initial"] = 1, old(doc["initial"])
    # Up to schema 2 the document held the history's entries.
    doc["history"]["entries"] = sorted(orjson.loads(e) for e in entries)
    doc["state"] |= {
        "network": old(doc["state"]["network"]),
        "previous": old(doc["state"]["previous"]),
    }
    assert store.backend.write(s.id, version, orjson.dumps(doc), None, (), 60)
    again_session = stores().get(s.id)
    assert again_session.history == s.history
    again = again_session.state.to_data()
    # The same, trained by sgd at a constant η: its optimiser's step count starts now.
    assert again | {"optimizer_state": {"step": 1}} == s.state.to_data()
    assert again["optimizer_state"] == {"step": 0}
    assert (again["optimizer"]["name"], again["optimizer"]["momentum"]) == ("sgd", 0.0)
    assert again["schedule"] == {"name": "constant"} and again["batch_size"] is None


def test_the_document_holds_the_state_its_history_entry_holds(stores):
    store = stores()
    s, _ = store.add(classic())
    for op, action in ((step, "step"), (lambda x: (next_phase(x), None), "next")):
        s, _ = store.update(s.id, op, action)
        _, raw, _ = store.backend.read(s.id)
        entry = store.backend.state(s.id, s.history.cursor)
        assert orjson.loads(raw)["state"] == orjson.loads(entry)
        # And the document is the one encoded afresh, byte for byte.
        assert raw == document.encode(replace(s, version=0))
        assert stores().get(s.id).to_data() == s.to_data()


def test_each_history_entry_is_stored_beside_its_state_not_in_the_document(stores):
    store = stores(history=4)
    s, _ = store.add(classic())
    for _ in range(6):
        s, _ = store.update(s.id, lambda x: (next_phase(x), None), "next")
    s = store.travel(s.id, "undo")
    s = store.travel(s.id, "undo")
    s, _ = store.update(s.id, step, "step")  # what could have been redone is dropped
    _, raw, entries = store.backend.read(s.id)
    assert orjson.loads(raw)["history"] == {"cursor": s.history.cursor}
    assert sorted(entries, key=lambda e: orjson.loads(e)[0]) == [e.raw for e in s.history.entries]
    # Made 1 to 7, 4 kept (4 to 7), two undone and the step made a new 6: 7 is gone too.
    assert [e.seq for e in s.history.entries] == [4, 5, 6]
    assert all(store.backend.state(s.id, e.seq) for e in s.history.entries)
    assert store.backend.state(s.id, 3) is None and store.backend.state(s.id, 7) is None
    again = stores(history=4).get(s.id)
    assert again.history == s.history and again.to_data() == s.to_data()


def test_a_document_from_a_newer_schema_is_refused_not_misread(stores):
    store = stores()
    s, _ = store.add(classic())
    version, raw, _ = store.backend.read(s.id)
    doc = orjson.loads(raw) | {"schema": 99}
    assert store.backend.write(s.id, version, orjson.dumps(doc), None, (), 60)
    with pytest.raises(Unreadable, match="schema 99"):
        stores().get(s.id)


def test_followers_get_every_change_and_are_counted(store):
    s, _ = store.add(classic())

    async def follow():
        events = []
        async with store.bus.listen(s.id, follower=True) as stream:
            first = orjson.loads(await asyncio.wait_for(anext(stream), 5))
            assert first == {"id": s.id, "followers": 1}
            assert store.bus.followers(s.id) == 1
            await asyncio.to_thread(store.update, s.id, step, "step")
            await asyncio.to_thread(store.travel, s.id, "undo")
            # As the API calls it: on the loop itself (SQLite) or in a worker thread (Redis).
            await store.call(store.travel, s.id, "redo")
            for _ in range(3):
                events.append(orjson.loads(await asyncio.wait_for(anext(stream), 5)))
        return events

    events = run_async(_bound(store, follow()))
    assert [(e["action"], e["version"], e["iteration"], e["phase"]) for e in events] == [
        ("step", 2, 1, "update"),
        ("undo", 3, 0, "ready"),
        ("redo", 4, 1, "update"),
    ]
    assert store.bus.followers(s.id) == 0


async def _bound(store, coroutine):
    bind = getattr(store.bus, "bind", None)
    if bind:
        bind(asyncio.get_running_loop())
    return await coroutine


def test_a_backend_refuses_a_taken_id_or_code_and_keeps_nothing_of_the_refused(store):
    s, _ = store.add(classic())
    b = store.backend
    stored = b.read(s.id)
    doc = stored[1]
    assert not b.create(s.id, "ZZZZZZ", doc, (1, b"{}", b"[1,0,0,0]"), 60)
    assert b.find("ZZZZZZ") is None and b.read(s.id) == stored
    assert not b.create("another-id", s.code, doc, (1, b"{}", b"[1,0,0,0]"), 60)
    assert b.read("another-id") is None and b.find(s.code) == s.id


# A live training's chunks and its record


def _trained_by(s, n: int):
    from app.engine import train

    return ops.trained(s, train(s.state, n))[0], None


def test_a_live_training_s_chunks_amend_one_entry_and_undo_goes_back_before_it(store):
    s, _ = store.add(classic())
    store.update(s.id, lambda s: (next_phase(s), None), "next")
    first, _ = store.update(s.id, lambda s: _trained_by(s, 3), "train", amend=True)
    assert [e.action for e in first.history.entries] == ["create", "next", "train"]
    chunk, _ = store.update(s.id, lambda s: _trained_by(s, 4), "train", amend=True)
    assert [(e.seq, e.iteration, e.action) for e in chunk.history.entries] == [
        (1, 0, "create"),
        (2, 0, "next"),
        (3, 7, "train"),
    ]
    assert store.travel(s.id, "undo").phase == "forward:1"
    again = store.travel(s.id, "redo")
    assert again.iteration == 7 and again.state.to_data() == chunk.state.to_data()


def test_amend_adds_an_entry_after_another_action(store):
    s, _ = store.add(classic())
    store.update(s.id, lambda s: _trained_by(s, 2), "train", amend=True)
    store.update(s.id, lambda s: (patch(s, {"learning_rate": 0.1}), None), "edit")
    after, _ = store.update(s.id, lambda s: _trained_by(s, 2), "train", amend=True)
    assert [e.action for e in after.history.entries] == ["create", "train", "edit", "train"]


def test_a_change_of_the_run_alone_is_stored_and_sent_but_is_no_entry(stores):
    store = stores()
    s, _ = store.add(classic())
    started, _ = store.update(
        s.id, lambda s: (ops.live(s, "iterations", 10, time.time(), "r1"), None), "run"
    )
    assert started.version == 2 and len(started.history.entries) == 1
    again = stores().get(s.id)  # another worker, or a restart
    assert again.run == started.run and again.run.status == "running"
    stopped, _ = store.update(s.id, lambda s: (ops.stop(s), None), "stop")
    assert stopped.version == 3 and stopped.run.status == "stopped"
    assert stores().get(s.id).run.status == "stopped"
    assert len(stores().get(s.id).history.entries) == 1


def test_a_run_s_record_keeps_its_loss_curve_across_workers(stores):
    from app.engine import train

    store = stores()
    s, _ = store.add(classic())
    store.update(s.id, lambda s: (ops.live(s, "iterations", 1200, time.time(), "r1"), None), "run")
    for _ in range(3):
        store.update(
            s.id,
            lambda s: (ops.ran(s, train(s.state, 400), time.time()), None),
            "train",
            amend=True,
        )
    run = stores().get(s.id).run
    assert (run.done, run.status) == (1200, "done")
    assert len(run.points) <= ops.LIVE_POINTS and run.curve()[-1][0] == 1200
    whole = train(classic().state, 1200)
    assert run.curve()[-1][1] == whole.losses[-1]  # three chunks train as one training
