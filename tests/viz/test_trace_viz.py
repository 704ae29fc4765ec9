"""The Recall and Evaluate figures and tables on real traces: what they draw matches the trace, and memory
text is escaped."""

from __future__ import annotations

import pytest

from memviz import tracing
from memviz.models import MemoryInput
from memviz.recall.presets import preset_config
from memviz.viz.evaluate import metrics_table, questions_frame, retrieved_table
from memviz.viz.trace import (
    compare_figure,
    hits_table,
    rank_flow_figure,
    score_breakdown_figure,
    trace_table,
    why_not_figure,
)
from support import DAY, T0

TEXTS = [
    "Maya moved to Lisbon last spring.",
    "<script>alert('x')</script> Maya loves Lisbon's tiled streets.",
    "Leon adopted a greyhound called Pixel.",
    "Leon's sister Ines is allergic to peanuts.",
    "The weather was grey all week.",
    "Maya booked flights to Porto in April.",
]


@pytest.fixture
def traced(engine):
    engine.write([MemoryInput(t, "Maya", "s1", id=f"m{n}", event_time_s=T0 - (6 - n) * DAY) for n, t in enumerate(TEXTS)])
    engine.store.refresh_text_index()
    a = engine.recall("Where does Maya live?", preset_config("default", k=3, reinforce=False))
    b = engine.recall("Where does Maya live?", preset_config("bm25", k=3, reinforce=False))
    mems = {m.id: m for m in engine.store.get([f"m{n}" for n in range(len(TEXTS))])}
    return a, b, mems


def test_score_breakdown_segments_add_up_to_each_score(traced):
    a, _, mems = traced
    fig = score_breakdown_figure(a.trace, mems)
    weights = tracing.weights_of(a.trace)
    assert [t.name for t in fig.data] == [
        {"relevance": "relevance (cosine)", "lexical": "lexical (BM25)", "recency": "recency",
         "importance": "importance", "retention": "retention"}[c] for c in weights if weights[c] > 0]
    for n, hit in enumerate(a.hits):
        assert sum(t.x[n] for t in fig.data) == pytest.approx(hit.score)
    labels = " ".join(fig.data[0].y)
    assert "<script>" not in labels
    if "m1" in {h.memory.id for h in a.hits}:
        assert "&lt;script&gt;" in labels


def test_rank_flow_draws_each_memory_at_its_stage_ranks(traced):
    a, _, mems = traced
    outsider = "m4"
    fig = rank_flow_figure(a.trace, mems, extra=2, highlight=outsider)
    stages = tracing.ranking_stages(a.trace)
    assert list(fig.data[0].x) == [tracing.STAGE_LABELS[s.name] for s in stages]
    ranked = tracing.last_ranking(a.trace).candidates
    shown = [c.id for c in ranked[:5]] + ([outsider] if outsider not in [c.id for c in ranked[:5]] else [])
    assert len(fig.data) == len(shown)
    for trace_line, mid in zip(fig.data, shown):
        want = [next((c.rank for c in s.candidates if c.id == mid), None) for s in stages]
        assert list(trace_line.y) == want
    assert fig.data[shown.index(outsider)].line.color == "#d62728"
    assert all("<script>" not in t.name for t in fig.data)


def test_why_not_and_compare_figures(traced, engine):
    a, b, mems = traced
    below = tracing.last_ranking(a.trace).candidates[3].id
    why = tracing.why_not(a.trace, below)
    fig = why_not_figure(why, tracing.weights_of(a.trace))
    assert list(fig.data[0].x) == pytest.approx([why.gap[c] for c in ("relevance", "lexical", "recency", "importance",
                                                                      "retention")])
    diff = tracing.compare(a.trace, b.trace)
    fig = compare_figure(diff, mems, 3, "A: default", "B: bm25")
    assert len(fig.data) == len(diff.table)
    colours = {t.line.color for t in fig.data}
    assert ("#2ca02c" in colours) == bool(diff.entered) and ("#d62728" in colours) == bool(diff.left)


def test_tables(traced):
    a, _, mems = traced
    hits = hits_table(a.hits)
    assert hits["id"].tolist() == [h.memory.id for h in a.hits] and hits["rank"].tolist() == [1, 2, 3]
    table = trace_table(a.trace, mems)
    assert table["final"].dropna().tolist() == [1, 2, 3]
    assert table.loc[table["final"] == 1, "text"].item() == a.hits[0].memory.text


def test_evaluation_tables():
    result = {
        "benchmark": "locomo", "preset": "vector", "counts": {"evaluated": 2},
        "overall": {"recall@1": 0.5, "recall@5": 1.0},
        "by_category": {"4": {"name": "single-hop", "n": 2, "recall@1": 0.5, "recall@5": 1.0}},
        "questions": [
            {"id": "q1", "category": "4", "category_name": "single-hop", "status": "evaluated", "question": "?",
             "evidence": ["a", "b"], "retrieved": ["b", "x", "a"], "gold_ranks": {"a": 3, "b": 1},
             "metrics": {"recall@1": 0.5, "recall@5": 1.0}},
            {"id": "q2", "category": "4", "category_name": "single-hop", "status": "no_evidence", "question": "?",
             "evidence": [], "metrics": None},
        ],
    }
    t = metrics_table([result])
    assert t["category"].tolist() == ["overall", "4 single-hop"] and t["recall@5"].tolist() == [1.0, 1.0]
    q = questions_frame(result, "recall@1")
    assert q["best_rank"].tolist()[0] == 1 and q["best_rank"].isna().tolist() == [False, True]
    r = retrieved_table(result["questions"][0], {}, 2)
    assert r["gold"].tolist() == [True, False] and r["id"].tolist() == ["b", "x"]
