"""The Recall and Evaluate figures and tables on real traces: what they draw matches the trace, and memory
text is escaped."""

from __future__ import annotations

import pandas as pd
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
    engine.write(
        [MemoryInput(t, "Maya", "s1", id=f"m{n}", event_time_s=T0 - (6 - n) * DAY) for n, t in enumerate(TEXTS)]
    )
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
        {
            "relevance": "relevance (cosine)",
            "lexical": "lexical (BM25)",
            "recency": "recency",
            "importance": "importance",
            "retention": "retention",
        }[c]
        for c in weights
        if weights[c] > 0
    ]
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
    assert list(fig.data[0].x) == pytest.approx(
        [why.gap[c] for c in ("relevance", "lexical", "recency", "importance", "retention")]
    )
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
        "benchmark": "locomo",
        "preset": "vector",
        "counts": {"evaluated": 2},
        "overall": {"recall@1": 0.5, "recall@5": 1.0},
        "by_category": {"4": {"name": "single-hop", "n": 2, "recall@1": 0.5, "recall@5": 1.0}},
        "questions": [
            {
                "id": "q1",
                "category": "4",
                "category_name": "single-hop",
                "status": "evaluated",
                "question": "?",
                "evidence": ["a", "b"],
                "retrieved": ["b", "x", "a"],
                "gold_ranks": {"a": 3, "b": 1},
                "metrics": {"recall@1": 0.5, "recall@5": 1.0},
            },
            {
                "id": "q2",
                "category": "4",
                "category_name": "single-hop",
                "status": "no_evidence",
                "question": "?",
                "evidence": [],
                "metrics": None,
            },
        ],
    }
    t = metrics_table([result])
    assert t["category"].tolist() == ["overall", "4 single-hop"] and t["recall@5"].tolist() == [1.0, 1.0]
    q = questions_frame(result, "recall@1")
    assert q["best_rank"].tolist()[0] == 1 and q["best_rank"].isna().tolist() == [False, True]
    r = retrieved_table(result["questions"][0], {}, 2)
    assert r["gold"].tolist() == [True, False] and r["id"].tolist() == ["b", "x"]


# -- the Recall page's tables and texts ----------------------------------------------------------------------
def test_trace_labels_ids_and_hits(traced):
    from memviz.viz.trace import (
        final_hits,
        preset_name,
        trace_heading,
        trace_label,
        trace_memory_ids,
    )

    a, b, mems = traced
    assert preset_name(a.trace) == "default" and preset_name(b.trace) == "bm25"
    assert trace_label(a.trace, lambda t: "T") == "T · default · k=3 · Where does Maya live?"
    heading = trace_heading(a.trace, lambda t: "T")
    assert heading.startswith("default · k=3 · as of T UTC · ") and heading.endswith(" ms")
    ids = trace_memory_ids(a.trace)
    assert len(ids) == len(set(ids)) and {h.memory.id for h in a.hits} <= set(ids)
    hits = final_hits(a.trace, mems)
    assert [(h.memory.id, h.rank) for h in hits] == [(h.memory.id, h.rank) for h in a.hits]
    assert [h.score for h in hits] == pytest.approx([h.score for h in a.hits])
    gone = a.hits[0].memory.id
    assert gone not in {h.memory.id for h in final_hits(a.trace, {k: v for k, v in mems.items() if k != gone})}


def test_stage_summary_gates_and_no_hits(traced, engine):
    from memviz.viz.trace import (
        gated_caption,
        gated_out,
        no_hits_message,
        stage_summary,
    )

    a, _, _ = traced
    summary = stage_summary(a.trace)
    assert list(summary.columns) == ["stage", "candidates", "ms", "details"]
    assert summary["stage"].tolist()[1:] == [
        "vector search",
        "full-text (BM25)",
        "after fusion",
        "after scoring",
        "final",
    ]
    assert gated_caption(a.trace) is None and no_hits_message(a.trace) == "No memory was retrieved."
    gated = engine.recall("Where does Maya live?", preset_config("default", k=3, reinforce=False, min_relevance=0.99))
    assert not gated.hits
    n = len(gated_out(gated.trace))
    assert n > 0 and no_hits_message(gated.trace).endswith(f" {n} candidate(s) were gated out: see the trace.")
    caption = gated_caption(gated.trace)
    assert caption.startswith(f"{n} candidate(s) gated out before scoring, e.g. ") and "relevance" in caption
    assert "gated" not in " ".join(stage_summary(gated.trace)["details"])


def test_near_misses_options_and_search(traced):
    from memviz.viz.trace import (
        near_misses_table,
        search_index,
        why_not_options,
        with_text,
    )

    a, _, mems = traced
    misses = tracing.near_misses(a.trace, 2)
    table = near_misses_table(misses, mems)
    assert list(table.columns) == ["rank", "id", "text", "score", "margin", "deciding"]
    assert table["text"].tolist() == [mems[i].text for i in misses["id"]]
    options = why_not_options(misses, mems)
    assert list(options) == misses["id"].tolist() and options[misses["id"][0]].startswith("near miss #4: ")
    index = pd.DataFrame({"id": list(mems), "speaker": ["Maya"] * len(mems), "text": [m.text for m in mems.values()]})
    found = search_index(index, "  LISBON ")
    assert found["id"].tolist() == ["m0", "m1"] and search_index(index, "m5")["id"].tolist() == ["m5"]
    assert search_index(index, " ").empty and len(search_index(index, "a", limit=2)) == 2
    both = why_not_options(misses, mems, found)
    assert list(both)[:2] == ["m0", "m1"] and both["m0"] == f"m0: Maya: {TEXTS[0]}"
    assert with_text(pd.DataFrame({"id": ["m2", "gone"], "x": [1, 2]}), mems)["text"].tolist() == [TEXTS[2], ""]


def test_why_not_and_diff_metrics(traced):
    from memviz.viz.trace import (
        diff_metrics,
        final_table,
        why_metrics,
        why_stages_table,
    )

    a, b, mems = traced
    below = tracing.last_ranking(a.trace).candidates[3].id
    why = tracing.why_not(a.trace, below)
    metrics = why_metrics(why)
    assert [m[0] for m in metrics] == ["Rank in the ranking", "Score", "Margin to the cut-off", "Kept out by"]
    assert metrics[0][1] == "4" and metrics[2][1].startswith("-")
    stages = why_stages_table(why)
    assert 4 in stages["rank"].tolist() and list(stages.columns)[:3] == ["stage", "rank", "of"]
    diff = tracing.compare(a.trace, b.trace)
    assert diff_metrics(diff, 3) == [
        ("Overlap of the top k", f"{diff.overlap} / 3"),
        ("Jaccard", f"{diff.jaccard:.2f}"),
        ("Entered", str(len(diff.entered))),
        ("Left", str(len(diff.left))),
    ]
    final = final_table(a.trace, mems)
    assert final["rank"].tolist() == [1, 2, 3] and final["text"].tolist() == [h.memory.text for h in a.hits]


def test_stage_summary_names_the_vector_index_that_answered(traced):
    from dataclasses import replace

    from memviz.viz.trace import stage_summary

    a, _, _ = traced
    assert "index=exact-numpy" in stage_summary(a.trace)["details"].iloc[1]  # a small store: exact
    ann = {"index": "IVF_HNSW_SQ", "nprobes": 20, "ef": 100, "refine_factor": 1, "unindexed_rows": 12}
    stages = [replace(s, info=s.info | ann) if s.name == "vector" else s for s in a.trace.stages]
    details = stage_summary(replace(a.trace, stages=stages))["details"].iloc[1]
    assert "index=IVF_HNSW_SQ" in details and "nprobes=20" in details and "unindexed_rows=12" in details
