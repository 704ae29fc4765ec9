"""The helpers moved out of the Memories and Write pages (memviz.viz.memories, memviz.viz.write), on hand-made
objects: store metrics, the event-time bounds, links from typed objects, a memory's fields, messages, and the
Write page's turn picking."""

from __future__ import annotations

import numpy as np
import pandas as pd

from memviz.events import ReinforceEvent
from memviz.models import Link, Memory, MemoryInput, WriteItemReport, WriteReport
from memviz.viz import memories as vm
from memviz.viz import write as vw

DAY = 86_400.0


def memory(id_: str, text: str = "t", speaker: str = "Ann", session: str = "s1", keywords=(), **kw) -> Memory:
    fields = {
        "id": id_,
        "text": text,
        "kind": "episodic",
        "speaker": speaker,
        "session_id": session,
        "source_id": f"src-{id_}",
        "dataset": "demo",
        "event_time_s": 0.0,
        "created_time_s": DAY,
        "importance": 0.41234,
        "stability_days": 3.14159,
        "recall_count": 2,
        "last_recalled_s": None,
        "forgotten_time_s": None,
        "keywords": list(keywords),
        "access_times_s": [1.0, 2.0],
        "batch_id": "b",
    }
    return Memory(**(fields | kw))


def test_store_metrics_labels_values_and_clock():
    stats = {
        "memories": 1234,
        "forgotten": 1,
        "sessions": 9,
        "speakers": 2,
        "events": 40,
        "version": 7,
        "links": {"semantic": 10, "temporal": 2005},
        "now_s": 0.0,
    }
    metrics = vm.store_metrics(stats, fmt_time=lambda t: f"T{t:.0f}")
    assert [m[0] for m in metrics] == [
        "Memories",
        "Forgotten",
        "Sessions",
        "Speakers",
        "Events",
        "Version",
        "Semantic links",
        "Temporal links",
        "Keyword links",
        "Clock (UTC)",
    ]
    values = {label: value for label, value, _ in metrics}
    assert values["Memories"] == "1,234" and values["Temporal links"] == "2,005" and values["Keyword links"] == "0"
    assert values["Version"] == "7" and values["Clock (UTC)"] == "T0"
    assert {m[0]: m[2] for m in metrics}["Version"]  # a help text


def test_event_time_bounds():
    df = pd.DataFrame({"event_time_s": [np.nan, 3 * DAY, DAY]})
    assert vm.event_time_bounds(df) == (DAY, 3 * DAY)
    assert vm.event_time_bounds(pd.DataFrame({"event_time_s": [np.nan]})) is None
    assert vm.event_time_bounds(pd.DataFrame({"text": []})) is None


def test_links_frame_of_typed_links_and_memories():
    me = memory("m", keywords=["cello", "march"], session="s1")
    links = [
        Link("m", "old", "keyword", 0.5, 0.0),
        Link("new", "m", "temporal", 1.0, 0.0),
        Link("m", "gone", "semantic", 0.8, 0.0),
    ]
    others = [
        memory("old", "Cello lessons", "Bob", keywords=["cello"]),
        memory("new", "Next turn", "Ann", "s1"),
        memory("old", "Cello lessons", "Bob", keywords=["cello"]),
    ]  # a repeat is harmless
    df = vm.links_frame_of("m", me.keywords, links, others, 0.55)
    assert list(df.columns) == list(vm.LINK_COLUMNS)
    rows = df.set_index("other_id")
    assert rows.loc["old", "why"] == "shared keywords: cello (overlap × specificity 0.50)"
    assert rows.loc["new", "direction"] == "from newer" and rows.loc["new", "why"] == "next turn of session s1"
    assert rows.loc["gone", "other_text"] == ""  # the other end no longer exists
    assert vm.links_frame_of("m", [], [], [], 0.55).empty


def test_fields_frame_formats_times_and_rounds():
    df = vm.fields_frame(
        memory("m", forgotten_time_s=DAY), fmt_time=lambda t: "" if t is None else f"day {t / DAY:.0f}"
    )
    fields = dict(zip(df["field"], df["value"]))
    assert "text" not in fields and "keywords" not in fields and "access_times_s" not in fields
    assert fields["importance"] == "0.412" and fields["stability_days"] == "3.142"
    assert fields["created_time_s"] == "day 1" and fields["last_recalled_s"] == ""
    assert fields["forgotten_time_s"] == "day 1" and fields["accesses"] == "2" and fields["id"] == "m"


def test_detail_metrics_and_reinforce_message():
    assert vm.detail_metrics(memory("m"), None) == [
        ("Importance", "0.41"),
        ("Stability (days)", "3.1"),
        ("Retention now", "—"),
        ("Recalled", "0"),
        ("Reinforced", "2"),
        ("State", "active"),
    ]
    assert vm.detail_metrics(memory("m", forgotten_time_s=1.0), 0.456, n_recalled=4)[2:] == [
        ("Retention now", "0.46"),
        ("Recalled", "4"),
        ("Reinforced", "2"),
        ("State", "forgotten"),
    ]
    event = ReinforceEvent(time_s=0.0, memory_ids=("m",), stability_before=2.0, stability_after=5.25)
    assert vm.reinforce_message(event) == "Reinforced: stability 2.0 → 5.2 days."


TURNS = [
    MemoryInput("a1", "Ann", "s1", id="d:1"),
    MemoryInput("b1", "Bob", "s2", id="d:2"),
    MemoryInput("a2", "Ann", "s1", id="d:3"),
    MemoryInput("a3", "Ann", "s1", id="d:4"),
]


def test_turn_sources():
    assert vw.turn_sources(("demo.jsonl", "jsonl")) == {"Demo conversation": ("demo.jsonl", "jsonl", "all")}
    both = vw.turn_sources(("demo.jsonl", "jsonl"), ("locomo.json", ["conv-1", "conv-2"]))
    assert list(both) == ["Demo conversation", "LoCoMo conv-1", "LoCoMo conv-2"]
    assert both["LoCoMo conv-2"] == ("locomo.json", "locomo", "conv-2")


def test_session_turns_and_picked_turns():
    assert vw.sessions_of(TURNS) == ["s1", "s2"]
    df = vw.session_turns(TURNS, "s1")
    assert df["id"].tolist() == ["0", "1", "2"] and df["text"].tolist() == ["a1", "a2", "a3"]
    assert vw.session_turns(TURNS, "none").empty
    picked, on_dup = vw.picked_turns(TURNS, "s1", ["2", "0"], copies=False)
    assert [m.id for m in picked] == ["d:1", "d:4"] and on_dup == "skip"  # session order, data set ids
    copies, on_dup = vw.picked_turns(TURNS, "s1", ["1"], copies=True)
    assert [(m.text, m.id) for m in copies] == [("a2", None)] and on_dup == "error"


def test_write_report_messages():
    assert vw.skipped_message(["a", "b"]) == (
        "2 turn(s) already stored were skipped: a, b. Tick “Write as new copies” to write them again."
    )
    seven = vw.skipped_message([str(n) for n in range(7)])
    assert seven.startswith("7 turn(s) already stored were skipped: 0, 1, 2, 3, 4 ...")
    item = WriteItemReport("x", "y" * 150, [], 0.5, {}, 3.0, [], [Link("x", "o", "semantic", 0.9, 0.0)])
    one = WriteReport("b1", [item], {"total_ms": 12.4})
    assert vw.report_caption(one) == "Batch b1: 1 memory written with 1 link(s) in 12 ms."
    two = WriteReport("b2", [item, WriteItemReport("z", "short", [], 0.1, {}, 2.0, [], [])], {"total_ms": 3.0})
    assert vw.report_caption(two) == "Batch b2: 2 memories written with 1 link(s) in 3 ms."
    assert vw.item_labels(two) == {"x": "y" * 100, "z": "short"}
