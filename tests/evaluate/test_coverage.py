"""Coverage and hubs of an evaluation run, on hand-made question records, and in a LoCoMo run's result."""

from __future__ import annotations

from memviz.evaluate.coverage import coverage, hubs, retrieval_counts, store_counts
from memviz.evaluate.locomo import run_locomo

MEMORIES = {f"m{i}": f"text {i}" for i in range(8)}


def rec(qid, retrieved, evidence, audited=None, status="evaluated", store="/db/a"):
    r = {"id": qid, "status": status, "retrieved": retrieved, "evidence": evidence, "store": store}
    return r | ({"evidence_audited": audited} if audited is not None else {})


RECORDS = [
    rec("q1", ["m0", "m1", "m2", "m5"], ["m1"]),
    rec("q2", ["m0", "m2", "m1", "m6"], ["m3"], audited=["m6"]),
    rec("q3", ["m0", "m1", "m2"], ["m2"], store="/db/b"),
    rec("q4", None, ["m4"], status="no_evidence"),  # not evaluated: retrieves nothing, but its gold counts
]


def test_retrieval_counts_count_each_question_once_within_k():
    assert retrieval_counts(RECORDS, 2) == {"m0": 3, "m1": 2, "m2": 1}
    assert retrieval_counts(RECORDS + [rec("q5", ["m7", "m7"], ["m7"])], 2)["m7"] == 1


def test_coverage_names_the_gold_no_question_retrieved():
    cov = coverage(RECORDS, MEMORIES, k=3)
    assert cov | {"gold_never_retrieved_items": None} == {
        "k": 3,
        "questions": 3,
        "memories": 8,
        "retrieved": 3,  # m0, m1, m2
        "never_retrieved": 5,
        "share_never_retrieved": 5 / 8,
        "gold": 5,  # m1, m2, m3, m4 and m6 (audited gold of q2)
        "gold_never_retrieved": 3,
        "gold_never_retrieved_items": None,
    }
    assert cov["gold_never_retrieved_items"] == [
        {"id": "m3", "text": "text 3", "questions": ["q2"]},
        {"id": "m4", "text": "text 4", "questions": ["q4"]},
        {"id": "m6", "text": "text 6", "questions": ["q2"]},
    ]
    assert coverage(RECORDS, MEMORIES, k=4)["gold_never_retrieved"] == 2  # q2's audited gold m6 is at rank 4
    assert coverage([], {}, k=3)["share_never_retrieved"] == 0.0


def test_hubs_are_retrieved_for_questions_whose_gold_they_are_not():
    top = hubs(RECORDS, MEMORIES, k=3)
    assert [(h["id"], h["n_questions"], h["n_retrieved"], h["n_gold"]) for h in top] == [
        ("m0", 3, 3, 0),
        ("m1", 2, 3, 1),  # gold of q1 only: q2 and q3 retrieved it beside their own gold
        ("m2", 2, 3, 1),
    ]
    assert top[0] == {"id": "m0", "text": "text 0", "n_questions": 3, "n_retrieved": 3, "n_gold": 0,
                      "questions": ["q1", "q2", "q3"]}  # fmt: skip
    assert [h["id"] for h in hubs(RECORDS, MEMORIES, k=3, n=1)] == ["m0"]
    assert hubs(RECORDS, {}, k=1)[0]["text"] == ""


def test_store_counts_only_count_the_questions_of_that_store(tmp_path):
    result = {"questions": RECORDS, "coverage": {"k": 2}}
    assert store_counts(result, "/db/b") == {"m0": 1, "m1": 1}
    assert store_counts(result, "/db/a/../a") == {"m0": 2, "m1": 1, "m2": 1}  # paths compared resolved
    assert store_counts({"questions": RECORDS}, "/db/b") == {"m0": 1, "m1": 1, "m2": 1}  # k 10 by default
    assert store_counts(result, tmp_path) is None


def test_a_locomo_run_reports_coverage_and_hubs(tiny_files, tmp_path, embedder):
    res = run_locomo(tiny_files["locomo"], tmp_path / "db", ks=(1, 2), embedder=embedder, coverage_k=2)
    cov = res["coverage"]
    assert cov["k"] == 2 and cov["memories"] == 10 and cov["questions"] == 6  # adversarial included
    assert cov["never_retrieved"] + cov["retrieved"] == 10
    assert cov["gold_never_retrieved"] == len(cov["gold_never_retrieved_items"]) <= cov["never_retrieved"]
    assert coverage(res["questions"], {i: "" for i in [f"conv-a:D1:{n}" for n in range(1, 5)]}, 2)["memories"] == 4
    assert res["hubs"] == hubs(res["questions"], {h["id"]: h["text"] for h in res["hubs"]}, 2)
    assert all(h["n_questions"] >= 1 and h["text"] for h in res["hubs"])
