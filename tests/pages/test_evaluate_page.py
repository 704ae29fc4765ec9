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
