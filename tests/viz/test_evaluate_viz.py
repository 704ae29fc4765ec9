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
    assert tuple(ve.QUESTION_FILTERS) == ("misses first", "all", "evaluated only")


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
