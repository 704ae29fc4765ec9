"""The Evaluate page: run a small LoCoMo evaluation, browse a question (gold evidence, retrieved list, gold
ranks, why-not), and load a result saved by ``memviz eval --json`` next to it."""

from __future__ import annotations

import json

import pytest

from memviz.evaluate.locomo import run_locomo
from memviz.ui import jobs
from memviz.ui.inert import inert

from support import TINY_LOCOMO


@pytest.fixture
def tiny_locomo(tmp_path):
    path = tmp_path / "locomo_tiny.json"
    path.write_text(json.dumps(TINY_LOCOMO), encoding="utf-8")
    return path


def test_run_an_evaluation_and_browse_a_question(open_page, tiny_locomo, tmp_path, embedder):
    page = open_page("evaluate")
    at = page.at
    at.selectbox(key="ev_bench").set_value("locomo")
    at.text_input(key="ev_path_locomo").set_value(str(tiny_locomo))
    at.number_input(key="ev_limit").set_value(3)
    at.text_input(key="ev_db").set_value(str(tmp_path / "page_stores"))
    at.button(key="ev_run").click().run()
    page.check()
    key = f"eval:{tmp_path / 'page_stores'}"
    page.finish_job(key)
    page.check()
    assert not at.error, [e.value for e in at.error]
    assert [s.value for s in at.success] == [inert(jobs.latest(key).message)]  # data shown as text
    want = run_locomo(tiny_locomo, tmp_path / "direct", embedder=embedder)
    table = page.frame_with("run", "category", "n")
    overall = table[table["category"] == "overall"].iloc[0]
    for metric, value in want["overall"].items():
        assert overall[metric] == pytest.approx(value)
    assert table["category"].tolist() == ["overall", "1 multi-hop", "4 single-hop"]

    at.selectbox(key="ev_q_filter").set_value("all").run()
    at.selectbox(key="ev_q_pick").set_value("conv-t:q2").run()
    page.check()
    q = next(x for x in want["questions"] if x["id"] == "conv-t:q2")
    gold = page.frame_with("gold", "rank", "speaker", "text")
    assert gold["gold"].tolist() == ["conv-t:D1:5"]
    assert gold["rank"].tolist()[0] == q["gold_ranks"]["conv-t:D1:5"]
    assert gold["text"].tolist() == ["My brother Tom is visiting from Toronto."]
    retrieved = page.frame_with("id", "gold", "text")
    assert retrieved["id"].tolist() == q["retrieved"][:10]
    assert retrieved["gold"].tolist() == [i == "conv-t:D1:5" for i in q["retrieved"][:10]]
    assert any("malformed evidence ids" in c.value and "D" in c.value for c in at.caption)
    assert any(m.value.startswith("- Retrieved at rank") or "cut-off" in m.value for m in at.markdown)


def load_saved(open_page, saved: dict, tmp_path):
    """The Evaluate page with the evaluation result ``saved`` written to a file and loaded through its form."""
    path = tmp_path / "result.json"
    path.write_text(json.dumps(saved), encoding="utf-8")
    page = open_page("evaluate")
    page.at.radio(key="ev_source").set_value("load").run()
    page.at.text_input(key="ev_load_path").set_value(str(path))
    page.at.button(key="ev_load").click().run()
    page.check()
    return page


def test_load_a_saved_result_beside_a_run(open_page, tiny_locomo, tmp_path, embedder):
    saved = run_locomo(tiny_locomo, tmp_path / "cli_stores", preset="bm25", embedder=embedder)
    page = load_saved(open_page, saved, tmp_path)
    at = page.at
    table = page.frame_with("run", "category", "n")
    assert set(table["run"]) == {"locomo · bm25 · 3 q"}
    assert table.loc[table["category"] == "overall", "recall@5"].item() == pytest.approx(saved["overall"]["recall@5"])
    # the loaded result's traces come from its stores (the JSON holds only their ids)
    at.selectbox(key="ev_q_filter").set_value("all").run()
    at.selectbox(key="ev_q_pick").set_value("conv-t:q0").run()
    page.check()
    assert page.frame_with("id", "gold", "text")["id"].tolist() == saved["questions"][0]["retrieved"][:10]
    assert at.selectbox(key="ev_why_pick").value == "conv-t:D1:2"
    at.text_input(key="ev_load_path").set_value(str(tmp_path / "missing.json"))
    at.button(key="ev_load").click().run()
    assert any("Cannot load it" in e.value for e in at.error)


def test_decay_aware_evaluation_shows_what_the_memorybank_gate_removed(open_page, tmp_path, embedder):
    """MemoryBank's retention gate (R >= 0.5) as of the end of a conversation whose first session is two months
    older: each question's recall@k without decay beside it, the per-category chart with and without, and the
    gold turns the gate pushed out of the top k, per question."""
    import copy

    data = copy.deepcopy(TINY_LOCOMO)
    conv = data[0]["conversation"]
    conv["session_2_date_time"] = "9:00 am on 10 July, 2023"
    conv["session_2"] = [{"speaker": "Bob", "dia_id": "D2:1", "text": "The weather is nice today."}]
    src = tmp_path / "two_sessions.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    saved = run_locomo(src, tmp_path / "mb_stores", preset="memorybank", embedder=embedder)
    assert saved["gold_suppressed_by_decay"]["10"] > 0
    page = load_saved(open_page, saved, tmp_path)
    at = page.at
    assert any(c.proto.id.endswith("ev_decay_cat") for c in at.get("plotly_chart"))
    questions = page.frame_with("recall@10 without decay", "suppressed by decay")
    by_id = {q["id"]: q for q in saved["questions"]}
    for _, row in questions.iterrows():
        assert row["suppressed by decay"] == len(by_id[row["id"]]["suppressed_by_decay"]["10"])
    listed = page.frame_with("question id", "gold", "rank without decay", "text")
    want = [
        (q["id"], g) for q in saved["questions"] if q["status"] == "evaluated" for g in q["suppressed_by_decay"]["10"]
    ]
    assert list(zip(listed["question id"], listed["gold"])) == want
    assert listed["text"].str.len().min() > 0  # texts read from the stores
    at.selectbox(key="ev_q_filter").set_value("suppressed by decay").run()
    page.check()
    assert len(page.frame_with("recall@10 without decay", "suppressed by decay")) == len({q for q, _ in want})


def audited_tiny(tmp_path):
    """The tiny LoCoMo file with its conversation named conv-26 (locomo_0 of the audit), and an audit of it:
    qa0 cites the wrong turn (D1:2 for D1:1), qa1 has a wrong answer but the right evidence."""
    import copy

    data = copy.deepcopy(TINY_LOCOMO)
    data[0]["sample_id"] = "conv-26"  # locomo_0 of the audit
    src, audit = tmp_path / "locomo.json", tmp_path / "audit.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    qa = data[0]["qa"]
    audit.write_text(
        json.dumps(
            [
                {
                    "question_id": "locomo_0_qa0",
                    "question": qa[0]["question"],
                    "error_type": "WRONG_CITATION",
                    "cited_evidence": ["D1:2"],
                    "correct_evidence": ["D1:1"],
                    "golden_answer": "Lisbon",
                    "correct_answer": "Lisbon",
                    "reasoning": "D1:2 is the [wrong](http://x) turn",
                },
                {
                    "question_id": "locomo_0_qa1",
                    "question": qa[1]["question"],
                    "error_type": "HALLUCINATION",
                    "cited_evidence": ["D1:4"],
                    "correct_evidence": ["D1:4"],
                    "golden_answer": "cello",
                    "correct_answer": "the cello",
                    "reasoning": "no cello",
                },
            ]
        ),
        encoding="utf-8",
    )
    return src, audit


def test_an_audited_run_flags_its_questions_and_shows_both_gold_sets(open_page, tmp_path, embedder):
    """``--audit``: the question table names each flagged question's error type, the audited questions are
    listed with both scores and the auditors' reasoning, and a flagged question shows the reasoning and its
    gold under both keys, a miss on the turn the audit drops labelled as one."""
    from memviz.viz.evaluate_audit import WRONGLY_CITED_FOUND, WRONGLY_CITED_MISS

    src, audit = audited_tiny(tmp_path)
    saved = run_locomo(src, tmp_path / "stores", embedder=embedder, audit_path=audit)
    page = load_saved(open_page, saved, tmp_path)
    at = page.at
    overall = page.frame_with("run", "category", "n")
    assert overall.loc[overall["category"] == "overall", "recall@10_audited"].item() == pytest.approx(
        saved["overall"]["recall@10_audited"]
    )
    questions = page.frame_with("id", "audit", "question")
    assert dict(zip(questions["id"], questions["audit"])) == {
        "conv-26:q0": "WRONG_CITATION",
        "conv-26:q1": "HALLUCINATION",
        "conv-26:q2": "",
    }
    flagged = page.frame_with("error type", "evidence changed", "reasoning")
    assert flagged["id"].tolist() == ["conv-26:q0", "conv-26:q1"]
    assert flagged["evidence changed"].tolist() == [True, False]
    assert flagged["recall@10 audited"].tolist() == [
        saved["questions"][n]["metrics"]["recall@10_audited"] for n in (0, 1)
    ]
    at.selectbox(key="ev_q_filter").set_value("audited").run()
    assert page.frame_with("id", "audit", "question")["id"].tolist() == ["conv-26:q0", "conv-26:q1"]
    at.selectbox(key="ev_q_pick").set_value("conv-26:q0").run()
    at.number_input(key="ev_q_k").set_value(1).run()
    page.check()
    (warning,) = at.warning
    assert "WRONG\\_CITATION" in warning.value and inert("D1:2 is the [wrong](http://x) turn") in warning.value
    gold = page.frame_with("gold", "official", "audited", "outcome")
    assert gold["gold"].tolist() == ["conv-26:D1:2", "conv-26:D1:1"]
    assert gold["official"].tolist() == [True, False] and gold["audited"].tolist() == [False, True]
    q = saved["questions"][0]
    rank = q["gold_ranks"]["conv-26:D1:2"]
    assert gold["outcome"].iloc[0] == (WRONGLY_CITED_FOUND if rank == 1 else WRONGLY_CITED_MISS)
    assert gold["rank"].iloc[1] == q["gold_ranks_audited"]["conv-26:D1:1"]
    assert gold["text"].iloc[1] == "Hi Bob! I finally finished painting the kitchen yellow."  # read from its store
    retrieved = page.frame_with("rank", "gold", "audited gold", "id")
    assert retrieved["audited gold"].tolist() == [i == "conv-26:D1:1" for i in q["retrieved"][:1]]


def test_coverage_and_hubs_of_a_run(open_page, tmp_path, embedder):
    import copy

    data = copy.deepcopy(TINY_LOCOMO)  # a question whose gold turn no question retrieves first
    data[0]["qa"].append({"question": "Which capital is in Peru?", "answer": "?", "evidence": ["D1:3"], "category": 4})
    src = tmp_path / "locomo.json"
    src.write_text(json.dumps(data), encoding="utf-8")
    saved = run_locomo(src, tmp_path / "stores", embedder=embedder, coverage_k=1)
    page = load_saved(open_page, saved, tmp_path)
    cov = saved["coverage"]
    assert cov["gold_never_retrieved"] > 0 and len(saved["hubs"]) > 0
    assert page.metric("never in a top 1") == f"{cov['never_retrieved']} ({cov['share_never_retrieved']:.0%})"
    assert page.metric("gold, never in a top 1") == str(cov["gold_never_retrieved"])
    hubs = page.frame_with("id", "questions not its own", "retrieved for")
    assert hubs["id"].tolist() == [h["id"] for h in saved["hubs"]]
    assert hubs["questions not its own"].tolist() == [h["n_questions"] for h in saved["hubs"]]
    (never,) = [d.value for d in page.at.dataframe if list(d.value.columns) == ["id", "gold for", "text"]]
    assert never["id"].tolist() == [i["id"] for i in cov["gold_never_retrieved_items"]]
    assert never["text"].tolist() == [i["text"] for i in cov["gold_never_retrieved_items"]]
    # a result without coverage (saved before it was reported) says so
    old = {k: v for k, v in saved.items() if k not in ("coverage", "hubs")}
    page = load_saved(open_page, old, tmp_path)
    assert any("no coverage and hubs" in c.value for c in page.at.caption)


def test_run_an_audited_evaluation_from_the_form(open_page, tmp_path):
    src, audit = audited_tiny(tmp_path)
    page = open_page("evaluate")
    at = page.at
    at.text_input(key="ev_path_locomo").set_value(str(src))
    at.text_input(key="ev_db").set_value(str(tmp_path / "page_stores"))
    at.text_input(key="ev_audit_path").set_value(str(audit))
    at.button(key="ev_run").click().run()
    page.finish_job(f"eval:{tmp_path / 'page_stores'}")
    page.check()
    assert not at.error, [e.value for e in at.error]
    assert "recall@10_audited" in page.frame_with("run", "category", "n").columns
    assert page.frame_with("id", "audit", "question")["audit"].tolist()[:2] == ["WRONG_CITATION", "HALLUCINATION"]
