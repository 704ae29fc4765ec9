"""In-flight markers as rows of the store (memviz.store.inflight): the rule that tells a live writer from a dead
one (token, pid, lease), the lease renewal, and a writer that finds its marker removed rolls its batch back."""

from __future__ import annotations

import os
import subprocess
import sys
import time

import pytest

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.errors import StoreError
from memviz.store import MemoryStore
from memviz.store.inflight import HOST, LEASE_S, alive, writer_id

from fakes import FakeEmbedder
from support import T0


def _marker(**kw):
    now = time.time()
    return (
        {"batch_id": "b", "writer": writer_id(), "host": HOST, "pid": os.getpid(), "started_wall_s": now}
        | {"expires_wall_s": now + LEASE_S}
        | kw
    )


def test_the_rule_token_pid_and_lease():
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    now = time.time()
    assert alive(_marker())  # this process
    assert not alive(_marker(writer=f"{HOST}:{os.getpid()}:another-token"))  # an earlier process with our pid
    assert not alive(_marker(pid=dead.pid, writer="x"))
    assert alive(_marker(pid=os.getppid(), writer="x", expires_wall_s=now - 1))  # same host: the pid, not the lease
    other = _marker(host="elsewhere", pid=1, writer="elsewhere:1:t")
    assert alive(other, now) and not alive(other, now + LEASE_S + 1)  # another host: the lease


def test_a_batch_marks_itself_and_clears_its_marker(tmp_path):
    store = MemoryStore(tmp_path / "db")
    seen = []
    real = store.append_events

    def append_events(events):  # the commit: the marker is there, this process's, with a lease ahead
        seen.extend(store.inflight.markers())
        return real(events)

    store.append_events = append_events  # type: ignore[method-assign]
    MemoryEngine(store, FakeEmbedder(), SimulatedClock(T0)).write(["My dog is called Mango."])
    assert [m["writer"] for m in seen] == [writer_id()] and seen[0]["expires_wall_s"] > time.time()
    assert store.inflight.markers() == []


def test_a_writer_whose_marker_was_swept_rolls_its_batch_back(tmp_path):
    """Another host took the writer for dead (its lease ran out) and removed the marker: the writer must not
    commit rows recovery may already have deleted."""
    store = MemoryStore(tmp_path / "db")
    engine = MemoryEngine(store, FakeEmbedder(), SimulatedClock(T0))
    engine.write(["I moved to Leeds."], source={"path": "x"})
    store.inflight.lease_s = 0.0  # every mark at once past half its lease: the writer checks it before the commit
    real = store.memories.add

    def memories_add(rows):  # between the rows and the commit, the marker disappears
        store.inflight.table().delete("true")
        return real(rows)

    store.memories.add = memories_add  # type: ignore[method-assign]
    with pytest.raises(StoreError, match="lost its in-flight marker"):
        engine.write(["My dog is called Mango and loves Leeds."])
    assert store.count() == 1 and store.count("links") == 0


def test_the_lease_is_renewed_only_when_half_gone(tmp_path, monkeypatch):
    store = MemoryStore(tmp_path / "db")
    store.inflight.mark("b1")
    marked = store.inflight.markers()[0]["expires_wall_s"]
    store.inflight.renew("b1")  # fresh: nothing read or written
    assert store.inflight.markers()[0]["expires_wall_s"] == marked
    later = time.time() + LEASE_S * 0.6
    monkeypatch.setattr("memviz.store.inflight.time.time", lambda: later)
    store.inflight.renew("b1")
    assert store.inflight.markers()[0]["expires_wall_s"] == later + LEASE_S


def test_recovery_judges_another_hosts_batch_by_its_lease(tmp_path):
    """Rows of a batch without events, marked by a writer on another host: kept while its lease runs, removed
    (rows and marker) once it has expired."""
    import pyarrow as pa

    from memviz.store.inflight import SCHEMA

    store = MemoryStore(tmp_path / "db")
    MemoryEngine(store, FakeEmbedder(), SimulatedClock(T0)).write(["I moved to Leeds."])
    row = store.memories.to_arrow().slice(0, 1).to_pylist()[0] | {"id": "remote", "batch_id": "remote-batch"}
    store.memories.add(pa.Table.from_pylist([row], schema=store.memories.schema))
    now = time.time()
    marker = {"batch_id": "remote-batch", "writer": "elsewhere:1:t", "host": "elsewhere", "pid": 1}
    store.inflight.table(create=True).add(
        pa.Table.from_pylist([marker | {"started_wall_s": now, "expires_wall_s": now + 60}], schema=SCHEMA)
    )
    assert MemoryStore(tmp_path / "db").existing_ids(["remote"]) == {"remote"}
    store.inflight.table().update(where="batch_id = 'remote-batch'", values={"expires_wall_s": now - 1})
    assert MemoryStore(tmp_path / "db").existing_ids(["remote"]) == set()
    assert store.inflight.markers() == []
