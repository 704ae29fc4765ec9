"""The Attention page's store reads (memviz.ui.attention): recalling memories for the prompt is a pure read
(the store's version and event log do not change), and picking store memories keeps their order."""

from __future__ import annotations

import re

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from memviz.ui import attention as ua
    from memviz.ui.state import get_engine

    engine = get_engine()
    before = (engine.read.version(), engine.read.count(), len(engine.read.events()))
    texts = ua.recall_texts("Where is Maya travelling?")
    after = (engine.read.version(), engine.read.count(), len(engine.read.events()))
    st.session_state["result"] = {"texts": texts, "before": before, "after": after}
    st.session_state["lines"] = ua.store_text(limit=10)


def test_recall_for_the_prompt_writes_nothing(tmp_path, monkeypatch, embedder):
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    seed_if_empty(MemoryEngine(MemoryStore(tmp_path / "db"), embedder, SimulatedClock(0.0)))
    monkeypatch.setenv("MEMVIZ_DB", str(tmp_path / "db"))
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    r = at.session_state["result"]
    assert len(r["texts"]) == 5
    # each recalled memory as the prompt gets it: "[YYYY-MM-DD] speaker: text"
    assert all(re.match(r"^\[\d{4}-\d{2}-\d{2}\] \w[^:]*: ", t) for t in r["texts"]), r["texts"]
    assert r["after"] == r["before"]  # no reinforce, no recall event: the version does not change
    pick = at.multiselect(key="attn_store_pick")
    assert len(pick.options) == 10 and len(pick.value) == 5
    picked = at.session_state["lines"]
    assert len(picked.text.splitlines()) == 5 and picked.label == "5 memories picked from the store"
    assert all(re.match(r"^\[\d{4}-\d{2}-\d{2}\] ", line) for line in picked.text.splitlines())


def test_kv_budget_range():
    from memviz.ui.attention import kv_budget_range

    assert kv_budget_range(8) == (7, 4)
    assert kv_budget_range(100) == (99, 25)
    assert kv_budget_range(1000) == (999, 64)


def _rows_script():
    from types import SimpleNamespace

    import streamlit as st

    from memviz.attention.metrics import SINK_COLUMNS
    from memviz.attention.samples import Passage, PromptExample
    from memviz.ui import attention as ua

    st.session_state["settings"] = ua.settings()
    st.session_state["text"] = ua.input_text()
    st.session_state["kv_text"] = ua.kv_text(Passage("the text above", "above"))
    st.session_state["kv"] = ua.kv_controls(100)
    st.session_state["memories"] = ua.prompt_memories("Where?", PromptExample(("one", "two"), "Where?", "example"))
    row = ("<s>", 0, "primary", 30, 0, 29, 30, 0.91, 0.99, 0.8, 120.0, 40.0, 3.0)
    sinks = [row] if st.session_state.get("with_sinks") else []
    ua.sink_table(SimpleNamespace(epsilon=0.3, min_head_share=0.25, sinks=sinks))
    assert len(row) == len(SINK_COLUMNS)


def test_input_rows_and_sink_table():
    from memviz.attention.samples import default_sample, long_sample

    at = AppTest.from_function(_rows_script, default_timeout=60)
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["settings"] == ("smollm2", 512, 0.3, 0.25)
    assert at.session_state["text"] == default_sample()  # the text and its name
    assert at.session_state["kv_text"] == long_sample(2)
    assert at.session_state["kv"] == (25, 4, 12, True)
    assert at.session_state["memories"] == (["one", "two"], "example")
    assert [s.value for s in at.subheader] == ["Sink table"] and at.info[0].value == "No sink at this threshold."

    at.selectbox(key="attn_model").set_value("custom").run()
    assert at.session_state["settings"][0] == ""  # nothing typed yet: the page asks for a model
    at.text_input(key="attn_custom_model").set_value("  org/model  ")
    at.radio(key="attn_kv_src").set_value("above")
    at.text_area(key="attn_text").set_value("my own words")
    at.slider(key="attn_budget").set_value(10)
    at.text_area(key="attn_memories").set_value("a\n\n b \n")
    at.session_state["with_sinks"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["settings"][0] == "org/model"
    assert at.session_state["kv_text"].text == "the text above"
    assert at.session_state["text"].label == "text typed on the page"
    assert at.session_state["kv"][0] == 10
    assert at.session_state["memories"] == (["a", " b "], "memories typed on the page")
    assert at.dataframe[0].value["token"].tolist() == ["<s>"] and not at.info
