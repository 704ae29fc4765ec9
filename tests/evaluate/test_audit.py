"""The audit of LoCoMo's answer key: reading it (the real file and broken ones), the audited gold of a question,
and the LoCoMo runner and ``memviz eval locomo --audit`` scoring against both gold sets (the fake embedder: the
tests check the protocol, not the numbers)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.errors import SchemaError
from memviz.evaluate.audit import ERROR_TYPES, LOCOMO10_ORDER, AuditEntry, audited_gold, load_audit
from memviz.evaluate.locomo import run_locomo
from memviz.models import MemoryInput

from support import shared_file


def share_in_top(ranked, gold, k):
    return len(set(gold) & set(ranked[:k])) / len(gold)


def entry(qa, error_type, cited, correct, question="?"):
    return {
        "question_id": f"locomo_0_qa{qa}",
        "question": question,
        "golden_answer": "x",
        "category": 4,
        "error_type": error_type,
        "cited_evidence": cited,
        "correct_evidence": correct,
        "reasoning": f"reasoning of qa{qa} <b>",
        "correct_answer": "y",
    }


@pytest.fixture
def audited_files(tiny_files, tmp_path):
    """The tiny LoCoMo file with its first conversation named conv-26 (locomo_0 of the audit) and an audit of it:
    qa0 cites the wrong turn, qa1 keeps its evidence (a wrong answer), qa5 loses all of it."""
    data = json.loads(tiny_files["locomo"].read_text(encoding="utf-8"))
    data[0]["sample_id"] = "conv-26"
    qa = data[0]["qa"]
    audit = [
        entry(0, "WRONG_CITATION", ["D1:2"], ["D1:1", "D:2:3"], qa[0]["question"]),
        entry(1, "HALLUCINATION", ["D1:3", "D2:2"], ["D2:2", "D1:3"], qa[1]["question"]),
        entry(5, "AMBIGUOUS", ["D1:1; D2:3"], [], qa[5]["question"]),
        {**entry(0, "INCOMPLETE", [], ["D1:1"]), "question_id": "locomo_1_qa0"},  # conv-30: not in the file
    ]
    paths = {"locomo": tmp_path / "locomo.json", "audit": tmp_path / "audit.json"}
    paths["locomo"].write_text(json.dumps(data), encoding="utf-8")
    paths["audit"].write_text(json.dumps(audit), encoding="utf-8")
    return paths


def test_the_real_audit_maps_onto_the_dev_questions():
    audit = load_audit(shared_file("locomo", "locomo_audit_dev.json"))
    assert len(audit) == 110 and sum(e.changes_evidence for e in audit.values()) == 74
    first = audit["conv-26:q1"]  # locomo_0_qa1: conversation 0 (conv-26), qa index 1
    assert first.audit_id == "locomo_0_qa1" and first.error_type == "WRONG_CITATION"
    assert first.cited_evidence == ("D1:12",) and first.correct_evidence == ("D1:14",)
    assert {e.error_type for e in audit.values()} <= set(ERROR_TYPES)
    assert {q.split(":")[0] for q in audit} == set(LOCOMO10_ORDER[:7])  # the dev file's 7 conversations


@pytest.mark.parametrize(
    ("content", "problem"),
    [
        ({"question_id": "x"}, "expected a list of audit entries"),
        ([entry(0, "TYPO", [], [])], "\"error_type\" 'TYPO' is not one of WRONG_CITATION"),
        ([{**entry(0, "AMBIGUOUS", [], []), "question_id": "locomo_12_qa0"}], "is not locomo_<0-9>_qa<n>"),
        ([entry(0, "AMBIGUOUS", [], []), entry(0, "HALLUCINATION", [], [])], "[1]: 'locomo_0_qa0' is audited twice"),
        ([entry(0, "AMBIGUOUS", ["D1:1", 3], [])], "[0].cited_evidence[1]: expected an evidence string"),
    ],
)
def test_a_broken_audit_is_refused_naming_the_entry(tmp_path, content, problem):
    path = tmp_path / "audit.json"
    path.write_text(json.dumps(content), encoding="utf-8")
    with pytest.raises(SchemaError, match="audit.json: locomo audit") as e:
        load_audit(path)
    assert problem in str(e.value)
    with pytest.raises(SchemaError, match="cannot read file"):
        load_audit(tmp_path / "missing.json")


def test_audited_gold_is_the_audits_evidence_only_where_it_changes_it():
    turns = {d: MemoryInput(text=d, id=f"c:{d}") for d in ("D1:1", "D1:2", "D2:3")}

    def make(cited, correct):
        return AuditEntry("c:q0", "locomo_0_qa0", "?", "WRONG_CITATION", cited, correct, "", "", "")

    assert audited_gold(None, ["c:D1:2"], turns) == (["c:D1:2"], [])
    assert audited_gold(make(("D1:2", "D1:1"), ("D1:1", "D1:2")), ["c:D1:2", "c:D1:1"], turns)[0] == [
        "c:D1:2",
        "c:D1:1",
    ]
    # resolved as the importer resolves evidence: split, normalised, a part naming no turn set apart
    assert audited_gold(make(("D1:2",), ("D1:1; D2:03", "D9:9")), ["c:D1:2"], turns) == (["c:D1:1", "c:D2:3"], ["D9:9"])
    assert audited_gold(make(("D1:2",), ()), ["c:D1:2"], turns) == ([], [])


def test_locomo_scored_against_the_official_and_the_audited_evidence(audited_files, tmp_path, embedder):
    ks = (1, 2, 5)
    res = run_locomo(
        audited_files["locomo"], tmp_path / "db", ks=ks, embedder=embedder, audit_path=audited_files["audit"]
    )
    assert list(res["overall"]) == [f"recall@{k}" for k in ks] + [f"recall@{k}_audited" for k in ks]
    assert res["audit"] | {"file": ""} == {
        "file": "",
        "entries": 4,
        "audited": 3,
        "evidence_changed": 2,
        "no_audited_evidence": 1,
        "by_error_type": {"WRONG_CITATION": 1, "HALLUCINATION": 1, "AMBIGUOUS": 1},
        "not_in_run": 1,
    }
    by_id = {q["id"]: q for q in res["questions"]}
    wrong = by_id["conv-26:q0"]
    assert wrong["evidence"] == ["conv-26:D1:2"] and wrong["evidence_audited"] == ["conv-26:D1:1", "conv-26:D2:3"]
    assert wrong["audit"]["error_type"] == "WRONG_CITATION" and wrong["audit"]["reasoning"] == "reasoning of qa0 <b>"
    assert set(wrong["gold_ranks_audited"]) == {"conv-26:D1:1", "conv-26:D2:3"}
    kept, emptied = by_id["conv-26:q1"], by_id["conv-26:q5"]
    assert "gold_ranks_audited" not in kept and kept["evidence_audited"] == kept["evidence"]
    assert emptied["evidence_audited"] == [] and "recall@1_audited" not in emptied["metrics"]
    main_q = [q for q in res["questions"] if q["status"] == "evaluated" and q["category"] != "5"]
    for q in main_q:
        for k in ks:
            assert q["metrics"][f"recall@{k}"] == pytest.approx(share_in_top(q["retrieved"], q["evidence"], k))
            if q["evidence_audited"]:
                gold = q["evidence_audited"]
                assert q["metrics"][f"recall@{k}_audited"] == pytest.approx(share_in_top(q["retrieved"], gold, k))
    for k in ks:  # the audited mean leaves out the question the audit leaves without evidence
        audited = [q["metrics"][f"recall@{k}_audited"] for q in main_q if q["evidence_audited"]]
        assert len(audited) == len(main_q) - 1
        assert res["overall"][f"recall@{k}_audited"] == pytest.approx(np.mean(audited))
    assert {"recall@1", "recall@1_audited"} <= set(res["by_category"]["4"])
    # without an audit nothing of it appears
    plain = run_locomo(audited_files["locomo"], tmp_path / "db", ks=ks, embedder=embedder)
    assert "audit" not in plain and not any("evidence_audited" in q for q in plain["questions"])
    assert plain["overall"] == pytest.approx({m: v for m, v in res["overall"].items() if "audited" not in m})


def test_an_audit_of_another_file_is_refused(audited_files, tmp_path, embedder):
    audit = json.loads(audited_files["audit"].read_text())
    audit[0]["question"] = "Where did Bob move to?"
    audited_files["audit"].write_text(json.dumps(audit))
    with pytest.raises(SchemaError, match="locomo_0_qa0 asks 'Where did Bob move to\\?' but conv-26:q0"):
        run_locomo(audited_files["locomo"], tmp_path / "db", embedder=embedder, audit_path=audited_files["audit"])


def test_eval_cli_audit_option(audited_files, tmp_path):
    args = ["eval", "locomo", str(audited_files["locomo"]), "--db", str(tmp_path / "s"), "--k", "1,5"]
    out = CliRunner().invoke(main, [*args, "--audit", str(audited_files["audit"]), "--json", "--coverage-k", "5"])
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert list(result["overall"]) == ["recall@1", "recall@5", "recall@1_audited", "recall@5_audited"]
    assert result["audit"]["audited"] == 3 and result["coverage"]["k"] == 5
    text = CliRunner().invoke(main, [*args, "--audit", str(audited_files["audit"])])
    assert "audit: 3 questions flagged, 2 with other evidence" in text.stdout
    assert "coverage@10:" in text.stdout
    missing = CliRunner().invoke(main, [*args, "--audit", str(tmp_path / "nope.json")])
    assert missing.exit_code == 2 and "nope.json" in missing.stderr
