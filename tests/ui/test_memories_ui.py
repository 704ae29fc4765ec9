"""The Memories page's parts (memviz.ui.memories): the filter row returns filter_memories' arguments, and the
detail of one memory forgets, restores and reinforces it (each with its message on the next run)."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from memviz.viz.memories import filter_memories


def _script():
    import streamlit as st

    from memviz.ui import memories as um
    from memviz.ui.state import get_engine

    engine = get_engine()
    frame = engine.retention_frame()
    st.session_state["kwargs"] = um.filters(frame)
    memory_id = st.session_state.setdefault("memory_id", str(frame["id"].iat[0]))
    um.detail(engine, memory_id, 0.5)


def _seeded(tmp_path, monkeypatch, embedder):
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    engine = MemoryEngine(MemoryStore(tmp_path / "db"), embedder, SimulatedClock(0.0))
    seed_if_empty(engine)
    monkeypatch.setenv("MEMVIZ_DB", str(tmp_path / "db"))
    return engine


def test_filters_and_detail_actions(tmp_path, monkeypatch, embedder):
    engine = _seeded(tmp_path, monkeypatch, embedder)
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    kwargs = at.session_state["kwargs"]
    assert kwargs == {
        "search": "",
        "kinds": [],
        "speakers": [],
        "sessions": [],
        "time_range_s": None,
        "min_retention": 0.0,
        "show_forgotten": False,
    }
    frame = engine.retention_frame()
    assert len(filter_memories(frame, **kwargs)) == len(frame)  # the defaults filter nothing
    memory_id = at.session_state["memory_id"]
    assert [m.label for m in at.metric] == [
        "Importance",
        "Stability (days)",
        "Retention now",
        "Recalled",
        "Reinforced",
        "State",
    ]
    assert at.metric[2].value == "0.50" and at.metric[5].value == "active"
    assert any(m.value.startswith("**Event history**") for m in at.markdown)

    at.button(key="mem_forget").click().run()
    assert not at.exception, at.exception
    assert engine.get(memory_id).forgotten
    assert any("Forgotten (soft)" in s.value for s in at.success)
    assert at.metric[5].value == "forgotten"
    assert at.button(key="mem_restore") is not None

    at.button(key="mem_restore").click().run()
    assert not engine.get(memory_id).forgotten
    assert any("Restored" in s.value for s in at.success)

    at.button(key="mem_reinforce").click().run()
    assert not at.exception, at.exception
    assert engine.get(memory_id).recall_count == 1
    assert len(at.success) == 1  # the restore message was shown once, and is gone


def test_filters_read_the_widgets(tmp_path, monkeypatch, embedder):
    _seeded(tmp_path, monkeypatch, embedder)
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    at.text_input(key="mem_search").set_value("Toronto")
    at.toggle(key="mem_show_forgotten").set_value(True)
    at.slider(key="mem_min_retention").set_value(0.25).run()
    kwargs = at.session_state["kwargs"]
    assert kwargs["search"] == "Toronto" and kwargs["show_forgotten"] is True and kwargs["min_retention"] == 0.25
