"""The read-only views of memviz.reads (memories by id, the event timeline, the time range, links) on a real
store."""

from __future__ import annotations

from memviz.models import MemoryInput

from support import DAY, T0


def test_memories_by_id_skips_unknown_ids(engine):
    engine.write([MemoryInput("Ann adopted a cat.", id="a"), MemoryInput("The cat is grey.", id="b")])
    found = engine.read.memories_by_id(["b", "nope", "a", "b"])
    assert list(found) == ["b", "a"] and found["a"].text == "Ann adopted a cat."
    assert engine.read.memories_by_id([]) == {}


def test_event_timeline_and_time_range_for_the_pages(engine):
    assert engine.read.time_range() is None
    engine.write([MemoryInput("Old news.", id="a", event_time_s=T0 - 3 * DAY), MemoryInput("No date.", id="b")])
    lo, hi = engine.read.time_range()
    assert lo == T0 - 3 * DAY and hi >= lo
    engine.forget(["a", "b"])
    timeline = engine.read.event_timeline()
    assert list(timeline.columns) == ["op", "time_s", "wall_time_s", "n_memories"]
    assert timeline["op"].iloc[-1] == "forget" and timeline["n_memories"].iloc[-1] == 2
    links = engine.read.links()
    assert {"source_id", "target_id", "kind", "weight"} <= set(links.columns)
