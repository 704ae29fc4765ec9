"""The Evaluate page's audit and coverage views (memviz.viz.evaluate_audit, memviz.viz.evaluate_coverage) on
hand-made results: a question's two gold sets and their outcomes, the audited questions, coverage and hubs."""

from __future__ import annotations

from types import SimpleNamespace

from memviz.viz import evaluate as ve
from memviz.viz import evaluate_audit as va
from memviz.viz import evaluate_coverage as vc

AUDIT = {
    "id": "locomo_0_qa0",
    "error_type": "WRONG_CITATION",
    "reasoning": "g1 does not say it; g3 does.",
    "golden_answer": "May",
    "correct_answer": "June",
    "cited_evidence": ["D1:1", "D1:2"],
    "correct_evidence": ["D1:2", "D1:3"],
    "changes_evidence": True,
    "malformed_evidence": [],
}
WRONG = {  # official g1, g2; audited g2, g3: g1 wrongly cited (rank 7), g3 the audit's addition (rank 2)
    "id": "q1",
    "category": "4",
    "category_name": "single-hop",
    "status": "evaluated",
    "question": "when?",
    "evidence": ["g1", "g2"],
    "evidence_audited": ["g2", "g3"],
    "gold_ranks": {"g1": 7, "g2": 1},
    "gold_ranks_audited": {"g2": 1, "g3": 2},
    "retrieved": ["g2", "g3", "x", "y", "z", "w", "g1"],
    "metrics": {"recall@5": 0.5, "recall@5_audited": 1.0},
    "audit": AUDIT,
}
KEPT = WRONG | {
    "id": "q2",
    "evidence_audited": ["g1", "g2"],
    "metrics": {"recall@5": 0.5, "recall@5_audited": 0.5},
    "audit": AUDIT | {"error_type": "HALLUCINATION", "changes_evidence": False, "correct_evidence": ["D1:1", "D1:2"]},
}
KEPT.pop("gold_ranks_audited")
PLAIN = {k: v for k, v in WRONG.items() if k not in ("audit", "gold_ranks_audited")} | {
    "id": "q3",
    "evidence_audited": ["g1", "g2"],
}
RESULT = {
    "benchmark": "locomo",
    "preset": "default",
    "counts": {"evaluated": 3},
    "overall": {},
    "by_category": {},
    "questions": [WRONG, KEPT, PLAIN],
    "audit": {
        "audited": 2,
        "evidence_changed": 1,
        "no_audited_evidence": 0,
        "by_error_type": {"WRONG_CITATION": 1, "HALLUCINATION": 1},
    },
}


def mem(i: str) -> SimpleNamespace:
    """What the tables read of a Memory: its speaker and text."""
    return SimpleNamespace(id=i, text=f"text of {i} <b>", speaker="Ann")


def test_outcomes_label_a_miss_on_a_wrongly_cited_turn():
    assert va.gold_outcome(True, False, 7, 5) == va.WRONGLY_CITED_MISS
    assert va.gold_outcome(True, False, None, 5) == va.WRONGLY_CITED_MISS
    assert va.gold_outcome(True, False, 3, 5) == va.WRONGLY_CITED_FOUND
    assert (
        va.gold_outcome(False, True, 2, 5) == va.AUDIT_FOUND and va.gold_outcome(False, True, 6, 5) == va.AUDIT_MISSED
    )
    assert va.gold_outcome(True, True, 5, 5) == va.FOUND and va.gold_outcome(True, True, None, 5) == va.MISSED


def test_both_gold_sets_of_an_audited_question():
    table = va.both_gold_table(WRONG, {i: mem(i) for i in ("g1", "g3")}, k=5)
    assert list(table.columns) == va.BOTH_GOLD_COLUMNS
    assert table["gold"].tolist() == ["g1", "g2", "g3"]
    assert table["official"].tolist() == [True, True, False] and table["audited"].tolist() == [False, True, True]
    assert table["rank"].tolist() == [7, 1, 2]
    assert table["outcome"].tolist() == [va.WRONGLY_CITED_MISS, va.FOUND, va.AUDIT_FOUND]
    assert table["text"].tolist() == ["text of g1 <b>", "", "text of g3 <b>"]
    # at k = 10 the wrongly cited turn is found, and the retrieved list marks the audited gold
    assert va.both_gold_table(WRONG, {}, k=10)["outcome"].iloc[0] == va.WRONGLY_CITED_FOUND
    top = ve.retrieved_table(WRONG, {}, 3)
    assert top["gold"].tolist() == [True, False, False] and top["audited gold"].tolist() == [True, True, False]
    assert "audited gold" not in ve.retrieved_table(KEPT, {}, 3)  # the audit keeps its evidence


def test_audit_lines_flags_and_the_audited_questions():
    lines = va.audit_lines(WRONG)
    assert lines[0] == "Audit: WRONG_CITATION (the audit cites other turns). g1 does not say it; g3 does."
    assert lines[1:] == [
        "official answer: May · audited answer: June",
        "official evidence: D1:1, D1:2 · audited evidence: D1:2, D1:3",
    ]
    assert "keeps the evidence" in va.audit_lines(KEPT)[0] and va.audit_lines(PLAIN) == []
    assert va.is_audited(WRONG) and va.changes_gold(WRONG) and va.is_audited(KEPT) and not va.changes_gold(KEPT)
    assert not va.is_audited(PLAIN)
    frame = va.audit_frame(RESULT, "recall@5_audited")  # either metric name gives both scores
    assert frame["id"].tolist() == ["q1", "q2"]
    assert frame["error type"].tolist() == ["WRONG_CITATION", "HALLUCINATION"]
    assert frame["recall@5"].tolist() == [0.5, 0.5] and frame["recall@5 audited"].tolist() == [1.0, 0.5]
    assert frame["evidence changed"].tolist() == [True, False]
    assert va.audit_caption(RESULT).startswith("The audit flags 2 of the evaluated questions (WRONG_CITATION 1,")
    assert va.audit_caption({}) is None
    questions = ve.questions_frame(RESULT, "recall@5")
    assert questions["audit"].tolist() == ["WRONG_CITATION", "HALLUCINATION", ""]
    assert "audit" not in ve.questions_frame({"questions": [PLAIN]}, "recall@5")  # a run without an audit


def test_coverage_tiles_and_tables():
    result = {
        "questions": [{"store": "/db/a"}, {"store": "/db/b"}],
        "coverage": {
            "k": 10,
            "questions": 2,
            "memories": 1200,
            "never_retrieved": 300,
            "share_never_retrieved": 0.25,
            "gold": 40,
            "gold_never_retrieved": 3,
            "gold_never_retrieved_items": [{"id": "m9", "text": "nine", "questions": ["q1", "q2"]}],
        },
        "hubs": [
            {"id": "m1", "text": "hi!", "n_questions": 5, "n_retrieved": 6, "n_gold": 1, "questions": ["q1", "q3"]}
        ],
    }
    assert vc.has_coverage(result) and not vc.has_coverage({"coverage": {}})
    tiles = vc.coverage_metrics(result)
    assert [(t[0], t[1]) for t in tiles] == [
        ("memories", "1,200"),
        ("never in a top 10", "300 (25%)"),
        ("gold for some question", "40"),
        ("gold, never in a top 10", "3"),
    ]
    assert "2 stores" in tiles[0][2]
    hubs = vc.hubs_frame(result)
    assert hubs.to_dict("records") == [
        {
            "id": "m1",
            "questions not its own": 5,
            "retrieved for": 6,
            "gold for": 1,
            "text": "hi!",
            "questions": "q1, q3",
        }
    ]
    assert vc.never_retrieved_gold_frame(result).to_dict("records") == [
        {"id": "m9", "gold for": "q1, q2", "text": "nine"}
    ]
    assert list(vc.hubs_frame({}).columns) == vc.HUB_COLUMNS
