"""The LoCoMo and LongMemEval runners and ``memviz eval`` on tiny files in the real schemas (the fake embedder
of tests/fakes.py: the tests check protocol and counts, not the numbers), and LoCoMo's first questions on the real
data (the real model, slow)."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.evaluate.common import find_trace, store_dir
from memviz.evaluate.locomo import run_locomo
from memviz.evaluate.longmemeval import run_longmemeval
from memviz.store import MemoryStore

from support import shared_file


def share_in_top(ranked, gold, k):
    return len(set(gold) & set(ranked[:k])) / len(gold)


def test_locomo_runner_protocol_and_counts(tiny_files, tmp_path, embedder):
    db = tmp_path / "stores"
    res = run_locomo(tiny_files["locomo"], db, ks=(1, 2, 5), embedder=embedder)
    assert list(res["overall"]) == ["recall@1", "recall@2", "recall@5"]
    assert all(0.0 <= v <= 1.0 for v in res["overall"].values())
    c = res["counts"]
    assert c["questions"] == 8 and c["no_evidence"] == 1 and c["malformed_skipped"] == 1
    assert c["with_malformed_ids"] == 2 and c["malformed_ids"] == 2  # "D9:9" and "D"
    assert c["adversarial"] == 1 and c["evaluated"] == 5 and c["memories_written"] == 10
    by_id = {q["id"]: q for q in res["questions"]}
    assert by_id["conv-a:q5"]["evidence"] == ["conv-a:D1:1", "conv-a:D2:3"]  # "D1:1; D2:3" split
    assert by_id["conv-a:q6"]["evidence"] == ["conv-a:D1:4"] and by_id["conv-a:q6"]["malformed_evidence"] == ["D"]
    main_q = [q for q in res["questions"] if q["status"] == "evaluated" and q["category"] != "5"]
    for q in main_q:  # recall@k = share of the evidence turns in the top k
        for k in (1, 2, 5):
            assert q["metrics"][f"recall@{k}"] == pytest.approx(share_in_top(q["retrieved"], q["evidence"], k))
        for g, r in q["gold_ranks"].items():
            assert r is None or q["retrieved"][r - 1] == g
    for k in (1, 2, 5):
        assert res["overall"][f"recall@{k}"] == pytest.approx(np.mean([q["metrics"][f"recall@{k}"] for q in main_q]))
    assert res["by_category"]["5"]["n"] == 1 and res["adversarial"]["n"] == 1
    assert res["by_category"]["4"]["name"] == "single-hop" and res["by_category"]["4"]["n"] == 3
    # one store per conversation; evaluation never reinforces
    for group in ("conv-a", "conv-b"):
        store = MemoryStore(store_dir(db, group))
        assert store.count() == {"conv-a": 7, "conv-b": 3}[group]
        assert set(store.memories_table(columns=["recall_count"]).column("recall_count").to_pylist()) == {0}
    # the trace of a question is found again in its store
    q = main_q[0]
    trace = find_trace(q["store"], q["trace_id"])
    assert [c.id for c in trace.stage("final").candidates] == q["retrieved"]
    assert trace.config["reinforce"] is False
    # a second run reuses the stores: nothing is written, the numbers are the same
    again = run_locomo(tiny_files["locomo"], db, ks=(1, 2, 5), embedder=embedder)
    assert again["counts"]["memories_written"] == 0 and again["overall"] == pytest.approx(res["overall"])


def test_locomo_limit_and_presets(tiny_files, tmp_path, embedder):
    db = tmp_path / "stores"
    res = run_locomo(tiny_files["locomo"], db, ks=(1, 5), preset="bm25", limit=2, embedder=embedder)
    assert res["counts"]["questions"] == 2 and res["preset"] == "bm25"
    assert res["config"]["retrievers"] == ["fulltext"] and res["config"]["reinforce"] is False
    assert store_dir(db, "conv-a").is_dir() and not store_dir(db, "conv-b").exists()
    for q in res["questions"]:
        if q["status"] == "evaluated":  # pure BM25 returns only what the full-text search matched
            trace = find_trace(q["store"], q["trace_id"])
            assert set(q["retrieved"]) <= {c.id for c in trace.stage("fulltext").candidates}


def test_locomo_with_and_without_decay(tiny_files, tmp_path, embedder):
    """Each question is recalled a second time without decay (a pure read): its recall@k and the gold turns decay
    pushed out of the top k, per question (MemoryBank's retention gate, R >= 0.5, removes gold turns)."""
    db = tmp_path / "stores"
    res = run_locomo(tiny_files["locomo"], db, ks=(1, 5), preset="memorybank", embedder=embedder)
    events = {g: MemoryStore(store_dir(db, g)).count("events") for g in ("conv-a", "conv-b")}
    evaluated = [q for q in res["questions"] if q["status"] == "evaluated"]
    for q in evaluated:
        for k in (1, 5):
            top, top0 = set(q["retrieved"][:k]), set(q["retrieved_no_decay"][:k])
            assert q["metrics_no_decay"][f"recall@{k}"] == pytest.approx(
                share_in_top(q["retrieved_no_decay"], q["evidence"], k)
            )
            assert q["suppressed_by_decay"][str(k)] == [g for g in q["evidence"] if g in top0 and g not in top]
    main_q = [q for q in evaluated if q["category"] != "5"]
    assert res["overall_no_decay"]["recall@5"] == pytest.approx(
        np.mean([q["metrics_no_decay"]["recall@5"] for q in main_q])
    )
    assert res["gold_suppressed_by_decay"]["5"] == sum(len(q["suppressed_by_decay"]["5"]) for q in main_q)
    assert set(res["by_category_no_decay"]) == set(res["by_category"])
    assert res["gold_suppressed_by_decay"]["5"] > 0  # the gate removed gold turns (fake embedder: 4 of them)
    # the no-decay recall is a pure read: a second run adds only the recorded decay recalls
    run_locomo(tiny_files["locomo"], db, ks=(1, 5), preset="memorybank", embedder=embedder)
    after = {g: MemoryStore(store_dir(db, g)).count("events") for g in ("conv-a", "conv-b")}
    n_rec = {g: sum(q["group"] == g for q in evaluated) for g in events}
    assert all(after[g] - events[g] == n_rec[g] for g in events)


def test_locomo_progress_names_each_stage_from_its_start(tiny_files, tmp_path, embedder):
    """Progress says what runs from the start of each stage: "ingesting <conversation>" at 0 (the first window's
    embedding comes before any batch commits), then "recalling the questions" q of Q."""
    seen: list[tuple[str, int, int]] = []
    run_locomo(
        tiny_files["locomo"], tmp_path / "s", ks=(1,), limit=2, embedder=embedder, progress=lambda *a: seen.append(a)
    )
    assert seen[0][0] == "ingesting conv-a" and seen[0][1] == 0 and seen[0][2] > 0
    recalls = [s for s in seen if s[0] == "recalling the questions"]
    assert recalls[-1][1:] == (2, 2) and seen.index(recalls[0]) > 0


@pytest.mark.parametrize("granularity", ["session", "turn"])
def test_longmemeval_runner(tiny_files, tmp_path, embedder, granularity):
    res = run_longmemeval(tiny_files["longmemeval"], tmp_path / "lme", granularity, ks=(1, 2, 3), embedder=embedder)
    assert list(res["overall"]) == [f"{m}@{k}" for m in ("recall_any", "recall_all", "ndcg_any") for k in (1, 2, 3)]
    user_only = granularity == "turn"  # the official turn index holds the user turns only
    assert res["counts"] == {
        "questions": 4,
        "evaluated": 2 if user_only else 3,
        "abstention_skipped": 1,
        "no_evidence": 0,
        "no_user_evidence": 1 if user_only else 0,  # q4's answer is in an assistant turn
        "memories_written": 6 if user_only else 16,  # q4 skipped: its haystack is not ingested
        "memories_left_out_empty": 1,
    }
    by_id = {q["id"]: q for q in res["questions"]}
    assert by_id["q2_abs"]["status"] == "abstention"
    assert by_id["q4"]["status"] == ("no_user_evidence" if user_only else "evaluated")
    q3 = by_id["q3"]
    if granularity == "session":
        assert q3["evidence"] == ["q3:s00", "q3:s02"]  # never the "answer_" ids of the data
        assert sorted(q3["retrieved"]) == ["q3:s00", "q3:s01", "q3:s02"]  # sessions, each once
        assert by_id["q4"]["evidence"] == ["q4:s01"]
    else:
        assert q3["evidence"] == ["q3:s00:t00", "q3:s02:t00"]
        assert sorted(q3["retrieved"]) == ["q3:s00:t00", "q3:s01:t00", "q3:s02:t00"]  # user turns only
        assert q3["store"] == str(store_dir(tmp_path / "lme", "q3.user"))  # a store of the user turns
        assert MemoryStore(q3["store"]).count() == 3
    for q in (by_id["q1"], q3):
        ranked, gold = q["retrieved"], q["evidence"]
        for k in (1, 2, 3):
            top = set(ranked[:k])
            assert q["metrics"][f"recall_any@{k}"] == float(bool(top & set(gold)))
            assert q["metrics"][f"recall_all@{k}"] == float(set(gold) <= top)
    assert by_id["q1"]["as_of_s"] == pytest.approx(1688120280.0)  # recalled as of its question_date


def test_eval_cli_json_contract(tiny_files, tmp_path):
    runner = CliRunner()
    out = runner.invoke(
        main,
        [
            "eval",
            "locomo",
            str(tiny_files["locomo"]),
            "--db",
            str(tmp_path / "s"),
            "--k",
            "1,5",
            "--limit",
            "3",
            "--json",
        ],
    )
    assert out.exit_code == 0, out.output
    result = json.loads(out.stdout)
    assert list(result["overall"]) == ["recall@1", "recall@5"]
    assert {"by_category", "counts", "questions", "timing", "config"} <= set(result)
    bad = runner.invoke(main, ["eval", "locomo", str(tiny_files["locomo"]), "--db", str(tmp_path / "s"), "--k", "0,5"])
    assert bad.exit_code == 2 and "k values" in bad.stderr
    out = runner.invoke(
        main,
        ["eval", "longmemeval", str(tiny_files["longmemeval"]), "--db", str(tmp_path / "l"), "--granularity", "turn"],
    )
    assert out.exit_code == 0 and "recall_any@5=" in out.stdout


@pytest.mark.slow
def test_locomo_on_the_real_data(tmp_path, real_embedder):
    path = shared_file("locomo", "locomo_dev.json")
    res = run_locomo(path, tmp_path / "locomo", limit=4, embedder=real_embedder)
    assert res["counts"]["questions"] == 4 and res["counts"]["evaluated"] >= 1
    assert all(0.0 <= v <= 1.0 for v in res["overall"].values())
    values = [res["overall"][f"recall@{k}"] for k in (1, 5, 10, 25, 50)]
    assert values == sorted(values)  # recall@k cannot fall as k grows
