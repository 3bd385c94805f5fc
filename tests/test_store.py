"""The store: serialised updates per network, nothing stored from an operation that fails."""

import threading
import time
from dataclasses import replace

import pytest

from app.engine import InvalidInput
from app.session import create, step
from app.store import MemoryStore, UnknownSession


def slow_increment(s):
    # Read, wait, write: without the per-network lock, concurrent calls would lose updates.
    seen = s.iteration
    time.sleep(0.001)
    return replace(s, iteration=seen + 1), None


def test_concurrent_updates_on_one_network_are_all_kept():
    store = MemoryStore()
    id = store.add(create({"preset": "classic"})).id
    threads = [
        threading.Thread(target=lambda: [store.update(id, slow_increment) for _ in range(20)])
        for _ in range(8)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert store.get(id).iteration == 160


def test_concurrent_steps_equal_sequential_steps():
    store = MemoryStore()
    a = store.add(create({"preset": "classic"})).id
    b = store.add(create({"preset": "classic"})).id
    threads = [
        threading.Thread(target=lambda: [store.update(a, step) for _ in range(25)])
        for _ in range(4)
    ]
    for t in threads:
        t.start()
    for _ in range(100):
        store.update(b, step)
    for t in threads:
        t.join()
    assert store.get(a).iteration == 100
    assert store.get(a).network.to_data() == store.get(b).network.to_data()


def test_a_failing_operation_stores_nothing():
    store = MemoryStore()
    s = store.add(create({"preset": "classic"}))

    def fails(s):
        raise InvalidInput("weights", "no")

    with pytest.raises(InvalidInput):
        store.update(s.id, fails)
    assert store.get(s.id) is s


def test_unknown_and_deleted_ids():
    store = MemoryStore()
    s = store.add(create({"preset": "classic"}))
    store.delete(s.id)
    for call in (
        lambda: store.get(s.id),
        lambda: store.update(s.id, step),
        lambda: store.delete(s.id),
    ):
        with pytest.raises(UnknownSession):
            call()


def test_capacity_drops_the_least_recently_used():
    store = MemoryStore(capacity=2)
    a, b = store.add(create({"preset": "classic"})), store.add(create({"preset": "classic"}))
    store.get(a.id)
    store.add(create({"preset": "classic"}))
    assert store.get(a.id) is not None
    with pytest.raises(UnknownSession):
        store.get(b.id)
