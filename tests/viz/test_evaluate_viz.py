"""The helpers moved out of the Evaluate page (memviz.viz.evaluate): checking and parsing a result, the default
metric, the question list's filters, session previews, a question's trace and the ids it ranks."""

from __future__ import annotations

import json

import pandas as pd
import pytest

from memviz.models import StageCandidate, Trace, TraceStage
from memviz.viz import evaluate as ve

RESULT = {
    "benchmark": "locomo",
    "preset": "hybrid",
    "counts": {"evaluated": 3},
    "by_category": {},
    "overall": {"recall@5": 0.5, "recall@10": 0.7},
    "questions": [],
}


def trace(*stages: tuple[str, list[str]]) -> Trace:
    return Trace(
        id="t1",
        query="q",
        k=2,
        time_s=0.0,
        config={},
        total_ms=1.0,
        stages=[
            TraceStage(name, 1.0, [StageCandidate(i, n, {}) for n, i in enumerate(ids, 1)]) for name, ids in stages
        ],
    )


def test_check_and_parse_result():
    assert ve.check_result(RESULT) is RESULT
    assert ve.parse_result(json.dumps(RESULT)) == RESULT
    for bad in ([], {"overall": {}}, "text"):
        with pytest.raises(ValueError, match="not a memviz evaluation result"):
            ve.check_result(bad)
    with pytest.raises(ValueError):
        ve.parse_result("{not json")


def test_default_metric_run_labels_and_metric_names():
    assert ve.default_metric(["recall@5", "recall@10"]) == 1
    assert ve.default_metric(["recall_any@5", "recall_any@10", "ndcg_any@10"]) == 1
    assert ve.default_metric(["ndcg_any@10"]) == 0
    lme = RESULT | {"benchmark": "longmemeval", "granularity": "session", "overall": {"recall_any@10": 1.0}}
    assert ve.run_labels([RESULT, lme]) == ["1. locomo · hybrid · 3 q", "2. longmemeval (session) · hybrid · 3 q"]
    assert ve.metric_names([RESULT, lme]) == ["recall@5", "recall@10", "recall_any@10"]


def test_filter_questions():
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c", "d"],
            "status": ["evaluated", "no_evidence", "evaluated", "evaluated"],
            "recall@10": [1.0, None, 0.0, 0.0],
        }
    )
    assert ve.filter_questions(frame, "all", "recall@10")["id"].tolist() == ["a", "b", "c", "d"]
    assert ve.filter_questions(frame, "evaluated only", "recall@10")["id"].tolist() == ["a", "c", "d"]
    assert ve.filter_questions(frame, "misses first", "recall@10")["id"].tolist() == ["c", "d", "a"]  # stable
    assert tuple(ve.QUESTION_FILTERS) == ("misses first", "all", "evaluated only", "suppressed by decay", "audited")
    assert ve.filter_questions(frame, "suppressed by decay", "recall@10").empty  # no decay-free recall
    frame[ve.SUPPRESSED] = pd.array([0, None, 2, 1], dtype="Int64")
    assert ve.filter_questions(frame, "suppressed by decay", "recall@10")["id"].tolist() == ["c", "d"]
    assert ve.filter_questions(frame, "audited", "recall@10").empty  # a run without an audit
    frame[ve.AUDIT] = ["", "", "WRONG_CITATION", "AMBIGUOUS"]
    assert ve.filter_questions(frame, "audited", "recall@10")["id"].tolist() == ["c", "d"]


def test_metric_cut_offs_and_curve_families_with_audited_metrics():
    assert [ve.metric_k(m) for m in ("recall@10", "ndcg_any@5", "recall@25_audited", "score")] == [10, 5, 25, None]
    audited = RESULT | {
        "overall": {"recall@5": 0.5, "recall@10": 0.7, "recall@5_audited": 0.6, "recall@10_audited": 0.8}
    }
    fig = ve.metric_curve_figure([audited])
    lines = {tr.name.split(" · ")[-1]: (list(tr.x), list(tr.y)) for tr in fig.data}
    assert lines == {"recall": ([5, 10], [0.5, 0.7]), "recall_audited": ([5, 10], [0.6, 0.8])}


DECAY_RESULT = {
    "benchmark": "locomo",
    "preset": "memorybank",
    "counts": {"evaluated": 2},
    "overall": {"recall@1": 0.25, "recall@5": 0.5},
    "overall_no_decay": {"recall@1": 0.5, "recall@5": 1.0},
    "by_category": {"4": {"name": "single-hop", "n": 2, "recall@1": 0.25, "recall@5": 0.5}},
    "by_category_no_decay": {"4": {"name": "single-hop", "n": 2, "recall@1": 0.5, "recall@5": 1.0}},
    "questions": [
        {  # gold g2 ranked 3 without decay, gone with it; g1 in both
            "id": "q1",
            "category": "4",
            "category_name": "single-hop",
            "status": "evaluated",
            "question": "where?",
            "evidence": ["g1", "g2"],
            "gold_ranks": {"g1": 1, "g2": None},
            "gold_ranks_no_decay": {"g1": 2, "g2": 3},
            "metrics": {"recall@1": 0.5, "recall@5": 0.5},
            "metrics_no_decay": {"recall@1": 0.0, "recall@5": 1.0},
        },
        {  # g3 at rank 4 with decay, 1 without: pushed out of the top 1 only
            "id": "q2",
            "category": "4",
            "category_name": "single-hop",
            "status": "evaluated",
            "question": "who?",
            "evidence": ["g3"],
            "gold_ranks": {"g3": 4},
            "gold_ranks_no_decay": {"g3": 1},
            "metrics": {"recall@1": 0.0, "recall@5": 1.0},
            "metrics_no_decay": {"recall@1": 1.0, "recall@5": 1.0},
        },
        {"id": "q3", "category": "4", "status": "no_evidence", "question": "?", "evidence": [], "metrics": None},
    ],
}


def test_gold_suppressed_by_decay_per_question_and_k():
    q1, q2, q3 = DECAY_RESULT["questions"]
    assert ve.suppressed_by_decay(q1, 5) == ["g2"] and ve.suppressed_by_decay(q2, 5) == []
    assert ve.suppressed_by_decay(q2, 1) == ["g3"] and ve.suppressed_by_decay(q1, 1) == []
    assert ve.suppressed_by_decay(q3, 5) == [] and ve.suppressed_by_decay(q1, None) == []
    assert ve.has_no_decay(DECAY_RESULT) and not ve.has_no_decay(RESULT)
    frame = ve.questions_frame(DECAY_RESULT, "recall@5")
    assert frame["recall@5 without decay"].tolist()[:2] == [1.0, 1.0]
    assert frame[ve.SUPPRESSED].tolist()[:2] == [1, 0] and pd.isna(frame[ve.SUPPRESSED].iloc[2])
    assert ve.SUPPRESSED not in ve.questions_frame(RESULT | {"questions": [DECAY_RESULT["questions"][2]]}, "recall@5")
    listed = ve.suppressed_frame(DECAY_RESULT, "recall@1")
    assert listed[["question id", "gold"]].values.tolist() == [["q2", "g3"]]
    assert listed["rank with decay"].tolist() == [4] and listed["rank without decay"].tolist() == [1]
    gold = ve.gold_table(q1, {})
    assert gold["rank without decay"].tolist() == [2, 3] and pd.isna(gold["rank"].iloc[1])
    assert "rank without decay" not in ve.gold_table({"evidence": ["g"], "gold_ranks": {"g": 1}}, {})


def test_decay_category_figure_has_both_bars_per_run():
    fig = ve.decay_category_figure([DECAY_RESULT, RESULT], "recall@5")  # RESULT has no decay-free numbers
    assert [t.name.split(" · ")[-1] for t in fig.data] == ["with decay", "without decay"]
    assert list(fig.data[0].y) == [0.5, 0.5] and list(fig.data[1].y) == [1.0, 1.0]
    assert list(fig.data[0].x) == ["overall", "4 single-hop"]


def test_session_previews_first_turns_by_source_id():
    turns = pd.DataFrame(
        {
            "session_id": ["s1", "s1", "s2", "s1", "s1"],
            "source_id": ["3", "1", "1", "2", "4"],
            "speaker": ["A", "B", "C", "A", "B"],
            "text": ["three", "one", "x" * 100, "two", "four"],
        }
    )
    previews = ve.session_previews(turns, n_turns=3, max_chars=90)
    assert previews == {"s1": "B: one / A: two / A: three", "s2": "C: " + "x" * 90}
    assert ve.session_previews(pd.DataFrame(columns=list(ve.PREVIEW_COLUMNS))) == {}


def test_question_trace_kept_else_found_in_its_store():
    t = trace(("scoring", ["a"]))
    kept = {
        "trace": {
            "id": "t1",
            "query": "q",
            "k": 2,
            "time_s": 0.0,
            "config": {},
            "total_ms": 1.0,
            "stages": [{"name": "scoring", "duration_ms": 1.0, "candidates": [{"id": "a", "rank": 1, "scores": {}}]}],
        }
    }
    assert ve.question_trace(kept, lambda store, tid: None).stages[0].candidates[0].id == "a"
    asked = []
    found = ve.question_trace({"store": "/s", "trace_id": "t1"}, lambda store, tid: asked.append((store, tid)) or t)
    assert found is t and asked == [("/s", "t1")]
    assert ve.question_trace({"store": "/s"}, lambda store, tid: t) is None


def test_trace_memory_ids_and_final_rank_order():
    t = trace(("vector", ["a", "b"]), ("scoring", ["b", "c", "a"]), ("graph", ["c", "a", "b", "d"]))
    assert ve.trace_memory_ids(t) == ["a", "b", "c", "d"]
    assert ve.trace_memory_ids(t, limit=2) == ["a", "b"]
    assert ve.by_final_rank(t, ["b", "x", "a", "c"]) == ["c", "a", "b", "x"]  # the graph stage ranks last
    assert ve.by_final_rank(trace(("scoring", ["b", "a"])), ["a", "b"]) == ["b", "a"]


def test_question_header():
    q = {"category": 4, "category_name": "single-hop", "answer": "Lisbon", "status": "evaluated"}
    assert ve.question_header(q) == ["category single-hop · answer: Lisbon · status evaluated"]
    assert ve.question_header(q | {"malformed_evidence": ["D", "X1"]})[1] == "malformed evidence ids (dropped): D, X1"
