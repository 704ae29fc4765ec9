"""The pure helpers of the Memories and Write pages, on hand-made frames."""

from __future__ import annotations

import json

import numpy as np
import pandas as pd
import pytest

from memviz.events import event_from_row
from memviz.viz.memories import (
    EVENT_COLUMNS,
    LINK_COLUMNS,
    TABLE_COLUMNS,
    events_frame,
    filter_memories,
    importance_parts_figure,
    links_frame,
    memory_card_html,
    memory_labels,
    memory_table,
    neighbours_figure,
    neighbours_frame,
    timings_frame,
)

DAY = 86_400.0


@pytest.fixture
def memories() -> pd.DataFrame:
    """Five memories shaped like MemoryEngine.retention_frame's output."""
    return pd.DataFrame(
        {
            "id": ["a", "b", "c", "d", "e"],
            "text": [
                "Maya moved to Manchester",
                "Leon's cat is Olive",
                "rent is £1,150 (a month)",
                "Pottery at Clay Corner",
                "<script>alert(1)</script>",
            ],
            "kind": ["episodic", "semantic", "episodic", "episodic", "episodic"],
            "speaker": ["Maya", "Leon", "Maya", "Maya", "Leon"],
            "session_id": ["s1", "s1", "s2", "s2", "s3"],
            "source_id": ["s1#1", "s1#2", "s2#1", "s2#2", "typed"],
            "event_time_s": [0.0, 1 * DAY, 2 * DAY, 3 * DAY, np.nan],
            "importance": np.array([0.5, 0.2, 0.7, 0.4, 0.1], dtype=np.float32),
            "stability_days": [4.0, 2.8, 7.6, 5.2, 2.4],
            "recall_count": np.array([0, 1, 0, 2, 0], dtype=np.int32),
            "forgotten_time_s": [np.nan, np.nan, 5 * DAY, np.nan, np.nan],
            "keywords": [["manchester"], ["cat", "olive"], ["rent"], ["pottery", "clay corner"], []],
            "retention": [0.1, 0.3, 0.6, 0.9, 1.0],
        }
    )


def ids(df: pd.DataFrame) -> list[str]:
    return df["id"].tolist()


def _event(id_, op, time_s, wall_time_s, memory_ids, batch_id, payload):
    return event_from_row(
        {
            "id": id_,
            "op": op,
            "time_s": time_s,
            "wall_time_s": wall_time_s,
            "memory_ids": memory_ids,
            "batch_id": batch_id,
            "payload": json.dumps(payload),
        }
    )


def test_no_filter_keeps_every_memory_not_forgotten(memories):
    assert ids(filter_memories(memories)) == ["a", "b", "d", "e"]
    assert ids(filter_memories(memories, show_forgotten=True)) == ["a", "b", "c", "d", "e"]


def test_search_is_case_insensitive_literal_and_covers_source_ids(memories):
    assert ids(filter_memories(memories, search="  MANCHESTER ")) == ["a"]
    assert ids(filter_memories(memories, search="(a month)", show_forgotten=True)) == ["c"]  # not a regex
    assert ids(filter_memories(memories, search="s2#")) == ["d"]  # c is forgotten
    assert ids(filter_memories(memories, search="<script>")) == ["e"]
    assert filter_memories(memories, search="nothing like this").empty


def test_speaker_session_and_kind_filters_combine(memories):
    assert ids(filter_memories(memories, speakers=["Maya"], show_forgotten=True)) == ["a", "c", "d"]
    assert ids(filter_memories(memories, speakers=["Maya"], sessions=["s2"], show_forgotten=True)) == ["c", "d"]
    assert ids(filter_memories(memories, kinds={"semantic"})) == ["b"]
    assert ids(filter_memories(memories, speakers=["Leon"], kinds=["semantic"], search="olive")) == ["b"]


def test_time_range_is_half_open_and_drops_memories_without_time(memories):
    assert ids(filter_memories(memories, time_range_s=(1 * DAY, 3 * DAY), show_forgotten=True)) == ["b", "c"]
    assert ids(filter_memories(memories, time_range_s=(-1e12, 1e12))) == ["a", "b", "d"]  # e has no time


def test_min_retention(memories):
    assert ids(filter_memories(memories, min_retention=0.3)) == ["b", "d", "e"]
    assert ids(filter_memories(memories, min_retention=0.95)) == ["e"]


def test_filter_keeps_order_and_index(memories):
    out = filter_memories(memories.iloc[::-1], speakers=["Maya"])
    assert ids(out) == ["d", "a"]
    assert out.index.tolist() == [3, 0]


def test_memory_table_columns_and_types(memories):
    t = memory_table(filter_memories(memories, speakers=["Maya", "Leon"], show_forgotten=True).iloc[2:])
    assert tuple(t.columns) == TABLE_COLUMNS
    assert t.index.tolist() == [0, 1, 2]
    assert t["event_time"].iloc[0] == pd.Timestamp("1970-01-03", tz="UTC")
    assert pd.isna(t["event_time"].iloc[2])
    assert t["forgotten"].tolist() == [True, False, False]
    assert t["importance"].dtype == np.float64


def test_memory_labels_truncate_and_fall_back_to_the_id():
    df = pd.DataFrame(
        {
            "id": ["0123456789abcdef", "x"],
            "text": ["a" * 70, "short"],
            "speaker": ["", "Bo"],
            "source_id": ["", "D1:2"],
            "session_id": ["", ""],
        }
    )
    labels = memory_labels(df, max_chars=60)
    assert labels["0123456789abcdef"] == "0123456789abcdef · —: " + "a" * 60 + "…"
    assert labels["x"] == "D1:2 · Bo: short"


def test_card_escapes_text_meta_and_keywords():
    out = memory_card_html('<script>alert("x")</script> & co', ["<b>Bo</b>", ""], ["<i>kw</i>"])
    assert "<script>" not in out and "<b>" not in out and "<i>" not in out
    assert "&lt;script&gt;alert(&quot;x&quot;)&lt;/script&gt; &amp; co" in out
    assert "&lt;b&gt;Bo&lt;/b&gt;" in out and "&lt;i&gt;kw&lt;/i&gt;" in out


def test_links_frame_directions_and_reasons():
    links = pd.DataFrame(
        {
            "source_id": ["m", "m", "m", "n"],
            "target_id": ["a", "b", "c", "m"],
            "kind": ["semantic", "temporal", "keyword", "keyword"],
            "weight": np.array([0.71, 1.0, 0.25, 0.5], dtype=np.float32),
        }
    )
    others = pd.DataFrame(
        {
            "id": ["a", "b", "c", "n"],
            "text": ["A", "B", "C", "N"],
            "speaker": ["Ann", "Ben", "Cy", "Ned"],
            "session_id": ["s1", "s2", "s1", "s3"],
            "keywords": [["x"], ["y"], ["rent", "flat", "leeds"], ["rent", "lisbon"]],
        }
    )
    out = links_frame("m", ["rent", "lisbon", "flat"], links, others, semantic_threshold=0.55)
    assert tuple(out.columns) == LINK_COLUMNS
    assert out["kind"].tolist() == ["keyword", "keyword", "semantic", "temporal"]  # by kind, then weight
    row = out.set_index("other_id")
    assert row.loc["n", "direction"] == "from newer" and row.loc["a", "direction"] == "to older"
    assert row.loc["n", "why"] == "shared keywords: lisbon, rent (overlap × specificity 0.50)"
    assert row.loc["c", "why"] == "shared keywords: flat, rent (overlap × specificity 0.25)"
    assert row.loc["a", "why"] == "cosine similarity 0.71 ≥ threshold 0.55"
    assert row.loc["b", "why"] == "previous turn of session s2"
    assert row.loc["b", "other_speaker"] == "Ben" and row.loc["b", "other_text"] == "B"


def test_links_frame_incoming_temporal_and_missing_other():
    links = pd.DataFrame(
        {"source_id": ["n", "m"], "target_id": ["m", "gone"], "kind": ["temporal", "semantic"], "weight": [1.0, 0.6]}
    )
    others = pd.DataFrame({"id": ["n"], "text": ["N"], "speaker": ["Ned"], "session_id": ["s1"], "keywords": [[]]})
    out = links_frame("m", [], links, others, 0.55).set_index("other_id")
    assert out.loc["n", "why"] == "next turn of session s1"
    assert out.loc["gone", "other_text"] == "" and out.loc["gone", "other_speaker"] == ""


def test_links_frame_empty():
    empty = pd.DataFrame(columns=["source_id", "target_id", "kind", "weight"])
    assert tuple(links_frame("m", [], empty, pd.DataFrame(), 0.55).columns) == LINK_COLUMNS


def test_events_frame_summarises_each_op():
    events = [
        _event(
            "1",
            "write",
            10.0,
            20.0,
            ["m"],
            "b",
            {"importance": 0.5, "stability_days": 6.0, "n_links": 3, "keywords": ["rent", "leeds"]},
        ),
        _event(
            "2",
            "reinforce",
            11.0,
            21.0,
            ["m"],
            "",
            {"stability_before": 6.0, "stability_after": 8.5, "retention_before": 0.4, "reason": "recall"},
        ),
        _event("3", "forget", 12.0, 22.0, ["m"], "", {"reason": "manual"}),
        _event(
            "5",
            "link",
            12.5,
            22.5,
            ["m", "n"],
            "b",
            {"links": [["m", "a", "semantic", 0.7], ["n", "m", "temporal", 1.0], ["n", "a", "keyword", 0.2]]},
        ),
        _event("4", "prune", 13.0, 23.0, ["m"], "", {"memories": [{"id": "m", "text": "x" * 300}]}),
    ]
    out = events_frame(events, "m")
    assert tuple(out.columns) == EVENT_COLUMNS
    assert out["op"].tolist() == ["write", "reinforce", "forget", "link", "prune"]
    assert out["details"][0] == "importance 0.50, stability 6.0 d, 3 links, keywords: rent, leeds"
    assert out["details"][1] == "stability 6.0 → 8.5 d (retention was 0.40; recall)"
    assert out["details"][2] == "reason: manual"
    assert out["details"][3] == "3 links written in its batch, 2 of them touch this memory"
    assert events_frame(events)["details"][3] == "3 links written in its batch"
    assert len(out["details"][4]) == 200 and out["details"][4].endswith("…")
    assert out["clock_time"][0] == pd.Timestamp(10.0, unit="s", tz="UTC")
    assert tuple(events_frame([]).columns) == EVENT_COLUMNS


def test_importance_parts_figure_shows_each_part():
    parts = {"base": 0.1, "content": 0.24, "numbers": 0.15, "entities": 0.0, "self_disclosure": 0.25}
    fig = importance_parts_figure(parts, importance=0.74)
    bar = fig.data[0]
    assert list(bar.x) == pytest.approx(list(parts.values()))
    assert list(bar.y) == ["base", "content", "numbers", "entities", "self disclosure"]
    assert list(bar.text) == ["0.10", "0.24", "0.15", "0.00", "0.25"]
    assert "Importance 0.74" in fig.layout.title.text


def test_neighbours_frame_marks_linked_ids():
    nb = [
        {"id": "a", "text": "A", "similarity": 0.8, "linked": True},
        {"id": "b", "text": "B", "similarity": 0.5, "linked": False},
    ]
    out = neighbours_frame(nb, linked_ids={"a"})
    assert out.columns.tolist() == ["id", "text", "similarity", "linked"]
    assert out["linked"].tolist() == [True, False]
    assert neighbours_frame([], set()).empty


def test_neighbours_figure_threshold_traces_and_escaped_labels():
    texts = ["<b>bold</b> claim " + "x" * 80, 'a "quoted" & plain', "also linked"]
    nb = pd.DataFrame(
        {"id": ["a", "b", "c"], "text": texts, "similarity": [0.8, 0.6, 0.4], "linked": [True, False, True]}
    )
    fig = neighbours_figure(nb, threshold=0.55)
    linked, other = fig.data
    assert (linked.name, other.name) == ("linked", "not linked")
    assert list(linked.x) == [0.8, 0.4] and list(other.x) == [0.6]
    assert linked.y[0].startswith("1. &lt;b&gt;bold&lt;/b&gt; claim") and linked.y[0].endswith("…")
    assert list(other.y) == ['2. a "quoted" &amp; plain'] and linked.y[1] == "3. also linked"
    assert list(fig.layout.yaxis.categoryarray) == [linked.y[0], other.y[0], "3. also linked"]  # best first
    line = fig.layout.shapes[0]
    assert line.x0 == line.x1 == 0.55
    assert fig.layout.annotations[0].text == "link threshold 0.55"


def test_timings_frame():
    out = timings_frame({"embed_ms": 12.5, "link_ms": 3.0, "total_ms": 20.0})
    assert out["stage"].tolist() == ["embed", "link", "total"]
    assert out["ms"].tolist() == [12.5, 3.0, 20.0]
