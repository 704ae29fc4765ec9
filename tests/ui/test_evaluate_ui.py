"""The Evaluate page's question browser (memviz.ui.evaluate): a result's question table, one question's gold
evidence and retrieved memories read from its store, the why-not pick, and what is left when the store is gone."""

from __future__ import annotations

import json
import shutil

from streamlit.testing.v1 import AppTest

from memviz.evaluate.locomo import run_locomo

from support import TINY_LOCOMO


def _script():
    import json
    import os

    from memviz.ui import evaluate as ue

    ue.browse(json.loads(open(os.environ["EVAL_RESULT"], encoding="utf-8").read()))


def _result(tmp_path, monkeypatch, embedder) -> dict:
    path = tmp_path / "locomo_tiny.json"
    path.write_text(json.dumps(TINY_LOCOMO), encoding="utf-8")
    result = run_locomo(path, tmp_path / "stores", embedder=embedder)
    saved = tmp_path / "result.json"
    saved.write_text(json.dumps(result), encoding="utf-8")
    monkeypatch.setenv("EVAL_RESULT", str(saved))
    return result


def _frame(at, *columns):
    return next(d.value for d in at.dataframe if set(columns) <= set(d.value.columns))


def test_browse_a_question(tmp_path, monkeypatch, embedder):
    result = _result(tmp_path, monkeypatch, embedder)
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.selectbox(key="ev_q_filter").set_value("all").run()
    assert len(_frame(at, "id", "question")) == len(result["questions"])
    at.selectbox(key="ev_q_pick").set_value("conv-t:q2").run()
    assert not at.exception, at.exception
    q = next(x for x in result["questions"] if x["id"] == "conv-t:q2")
    gold = _frame(at, "gold", "rank", "text")
    assert gold["gold"].tolist() == ["conv-t:D1:5"] and gold["rank"].tolist()[0] == q["gold_ranks"]["conv-t:D1:5"]
    assert _frame(at, "id", "gold", "text")["id"].tolist() == q["retrieved"][:10]
    assert at.selectbox(key="ev_why_pick").value == "conv-t:D1:5"
    at.number_input(key="ev_q_k").set_value(3).run()
    assert _frame(at, "id", "gold", "text")["id"].tolist() == q["retrieved"][:3]


def test_browse_without_the_store(tmp_path, monkeypatch, embedder):
    result = _result(tmp_path, monkeypatch, embedder)
    shutil.rmtree(tmp_path / "stores")
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    at.selectbox(key="ev_q_filter").set_value("all").run()
    at.selectbox(key="ev_q_pick").set_value(result["questions"][0]["id"]).run()
    assert not at.exception, at.exception
    assert any("The trace is not available" in c.value for c in at.caption)
    q = result["questions"][0]
    assert _frame(at, "gold", "rank", "text")["gold"].tolist() == q["evidence"]  # ids and ranks, without texts
