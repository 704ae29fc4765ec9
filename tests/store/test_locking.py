"""The store's write lock: reentrant within a thread, exclusive between threads (object storage too) and, with a
folder, between processes (tests/quality/test_lost_updates.py)."""

from __future__ import annotations

import threading

import pytest

from memviz.store.locking import StoreLock


@pytest.mark.parametrize("local", [True, False], ids=["local", "object-storage"])
def test_reentrant_in_a_thread_exclusive_between_threads(tmp_path, local):
    lock = StoreLock(tmp_path if local else None)
    entered = threading.Event()

    def other():
        with lock.hold():
            entered.set()

    with lock.hold(), lock.hold():  # reentrant: no self-deadlock
        t = threading.Thread(target=other)
        t.start()
        assert not entered.wait(0.3), "another thread entered while the lock was held"
    t.join(timeout=30)
    assert entered.is_set()
    assert (tmp_path / "_lock").exists() == local
