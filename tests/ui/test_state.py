"""One cached engine factory (memviz.ui.state.get_engine): one engine per store and process, for the app's
store (seeded with the demo when empty) and for any other store (an evaluation store: not seeded)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest


def _script():
    import streamlit as st

    from memviz.ui.state import get_engine

    other = st.session_state["other"]
    app_engine, a, b = get_engine(), get_engine(other), get_engine(other)
    st.session_state["result"] = {
        "same_other": a is b,
        "distinct": a is not app_engine,
        "app_again": get_engine() is app_engine,
        "app_count": app_engine.read.count(),
        "other_count": a.read.count(),
        "other_uri": str(a.store.uri),
    }


def test_one_engine_per_store_and_only_the_app_store_is_seeded(tmp_path, monkeypatch, embedder):
    monkeypatch.setenv("MEMVIZ_DB", str(tmp_path / "app"))
    at = AppTest.from_function(_script, default_timeout=300)
    at.session_state["other"] = str(tmp_path / "eval")
    at.run()
    assert not at.exception, at.exception
    r = at.session_state["result"]
    assert r["same_other"] and r["distinct"] and r["app_again"]
    assert r["app_count"] == 214  # the demo conversation
    assert r["other_count"] == 0
