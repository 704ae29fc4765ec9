"""Typed events: each kind converts to its stored payload and back, unchanged; unknown payload keys are ignored."""

from __future__ import annotations

import json

import pytest

from memviz.events import (
    EVENT_OPS,
    EVENT_TYPES,
    ClockEvent,
    ImportEvent,
    RecallEvent,
    ReinforceEvent,
    RepairEvent,
    WriteEvent,
    event_from_row,
)


def _row(e, **extra_payload):
    return {
        "id": "e1",
        "op": e.op,
        "time_s": e.time_s,
        "wall_time_s": 5.0,
        "memory_ids": list(e.memory_ids),
        "batch_id": e.batch_id,
        "payload": json.dumps(e.payload | extra_payload),
    }


def test_every_op_has_one_event_type():
    assert set(EVENT_TYPES) == set(EVENT_OPS) and len(EVENT_OPS) == 12


@pytest.mark.parametrize(
    "event",
    [
        WriteEvent(
            time_s=1.0,
            memory_ids=("m",),
            batch_id="b",
            text="hi",
            keywords=["hi"],
            importance=0.5,
            stability_days=3.0,
            n_links=2,
            store_versions={"memories": 3, "links": 2},
        ),
        ReinforceEvent(
            time_s=2.0,
            memory_ids=("m",),
            stability_before=1.0,
            stability_after=2.5,
            retention_before=0.4,
            reason="recall",
            trace_id="t",
        ),
        ClockEvent(time_s=3.0, from_s=1.0, to_s=3.0),
        ImportEvent(time_s=4.0, batch_id="b", source={"path": "/x.jsonl", "format": "jsonl"}, n_written=3, n_skipped=1),
        RecallEvent(time_s=5.0, memory_ids=("a", "b"), query="q", trace={"id": "t", "stages": []}),
        RepairEvent(time_s=6.0, fixed={"dangling_links": 2}, store_versions={"memories": 9, "links": 4}),
    ],
)
def test_round_trip_through_the_stored_row(event):
    back = event_from_row(_row(event))
    assert type(back) is type(event)
    assert back.payload == event.payload and back.memory_ids == event.memory_ids and back.time_s == event.time_s
    assert back.id == "e1" and back.wall_time_s == 5.0


def test_import_event_keeps_the_source_keys_at_the_top_level():
    e = ImportEvent(time_s=0.0, source={"path": "p", "format": "locomo", "demo": True}, n_written=2)
    assert e.payload == {"path": "p", "format": "locomo", "demo": True, "n_written": 2, "n_skipped": 0}


def test_keys_an_older_memviz_wrote_are_ignored():
    old = ReinforceEvent(time_s=1.0, memory_ids=("m",), stability_after=2.0)
    back = event_from_row(_row(old, id="m", something_else=1))  # stores before typed events had "id" in the payload
    assert back == ReinforceEvent(time_s=1.0, memory_ids=("m",), stability_after=2.0, id="e1", wall_time_s=5.0)


def test_an_unknown_op_is_refused():
    with pytest.raises(ValueError, match="unknown event op"):
        event_from_row(
            {
                "id": "x",
                "op": "teleport",
                "time_s": 0,
                "wall_time_s": 0,
                "memory_ids": [],
                "batch_id": "",
                "payload": "{}",
            }
        )
