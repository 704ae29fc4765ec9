"""The Attention page's store reads (memviz.ui.attention): recalling memories for the prompt is a pure read
(the store's version and event log do not change), and picking store memories keeps their order."""

from __future__ import annotations

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
    assert r["after"] == r["before"]  # no reinforce, no recall event: the version does not change
    pick = at.multiselect(key="attn_store_pick")
    assert len(pick.options) == 10 and len(pick.value) == 5
    assert len(at.session_state["lines"].splitlines()) == 5
