"""Opening a store: it sweeps the markers of dead writers, never deletes a batch committed while it looked, and
names a damaged store (a table missing) instead of resetting it."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
import uuid

import lancedb
import pyarrow as pa
import pytest

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.errors import StoreError
from memviz.events import ImportEvent, WriteEvent
from memviz.store import MEMORIES_SCHEMA, MemoryStore
from memviz.store.inflight import LEGACY_DIR

from fakes import FakeEmbedder
from support import T0


def test_a_dead_writers_marker_is_removed_and_a_live_ones_kept(tmp_path):
    store = MemoryStore(tmp_path / "db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    store.inflight.mark("killed-before-any-row")
    store.inflight.mark("still-writing")
    table = store.inflight.table()
    table.update(where="batch_id = 'killed-before-any-row'", values={"pid": dead.pid})
    table.update(where="batch_id = 'still-writing'", values={"pid": os.getppid()})  # live, not ours (ours: token)
    MemoryStore(tmp_path / "db")
    assert [m["batch_id"] for m in store.inflight.markers()] == ["still-writing"]


def test_marker_files_of_an_older_memviz_are_migrated_on_a_writable_open(tmp_path):
    """``<store>/_inflight/<batch>`` files: a running writer's becomes a row, a dead one's and an empty one (the
    torn marker of a writer killed between creating the file and writing its pid) go, and so does the folder."""
    MemoryStore(tmp_path / "db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "db" / LEGACY_DIR
    folder.mkdir()
    (folder / "dead").write_text(str(dead.pid))
    (folder / "torn").write_text("")
    (folder / "live").write_text(str(os.getppid()))
    store = MemoryStore(tmp_path / "db")
    assert not folder.exists()
    assert [(m["batch_id"], m["pid"]) for m in store.inflight.markers()] == [("live", os.getppid())]
    assert store.inflight.live_batches() == {"live"}


def _store_with_a_batch(path):
    engine = MemoryEngine(MemoryStore(path), FakeEmbedder(), SimulatedClock(T0))
    engine.write(["I moved to Leeds.", "My dog is called Mango."], source={"path": "x"})
    assert isinstance(engine.store.list_events(ops=["import"])[0], ImportEvent)
    return engine.store


def test_a_store_missing_its_event_log_is_named_and_left_alone(tmp_path):
    _store_with_a_batch(tmp_path / "db")
    shutil.rmtree(tmp_path / "db" / "events.lance")
    with pytest.raises(StoreError, match=r"damaged: table\(s\) events missing beside links, memories"):
        MemoryStore(tmp_path / "db")
    raw = lancedb.connect(str(tmp_path / "db"))
    assert raw.open_table("memories").count_rows() == 2 and "events" not in raw.list_tables().tables


def test_an_opener_never_deletes_a_batch_committed_while_it_looked(tmp_path, monkeypatch):
    """The writer appends its events, then removes its marker. An opener that read the events before the
    commit and the marker after its removal must not take the batch for a dead writer's leftovers."""
    store = _store_with_a_batch(tmp_path / "db")
    batch = uuid.uuid4().hex
    row = store.memories_table(columns=MEMORIES_SCHEMA.names).slice(0, 1).to_pylist()[0]
    store.memories.add(pa.Table.from_pylist([row | {"id": "late", "batch_id": batch}], schema=MEMORIES_SCHEMA))

    def committed_meanwhile():  # the marker check: the writer commits now and removes its marker
        store.append_events([WriteEvent(time_s=0.0, memory_ids=("late",), batch_id=batch)])
        return set()

    monkeypatch.setattr(store.inflight, "live_batches", committed_meanwhile)
    assert store.recover() == []
    assert "late" in store.existing_ids(["late"])
