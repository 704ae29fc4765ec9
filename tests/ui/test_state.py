"""One cached engine factory (memviz.ui.state.get_engine): one engine per store and process, for the app's
store (created and seeded with the demo when empty) and for any other, existing store (an evaluation store: not
seeded). A store that cannot be opened is one line in the page (st.error), never a traceback."""

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
    from memviz.store import MemoryStore

    monkeypatch.setenv("MEMVIZ_DB", str(tmp_path / "app"))
    MemoryStore(tmp_path / "eval")  # an evaluation's store: it exists (get_engine(uri) creates nothing)
    at = AppTest.from_function(_script, default_timeout=300)
    at.session_state["other"] = str(tmp_path / "eval")
    at.run()
    assert not at.exception, at.exception
    r = at.session_state["result"]
    assert r["same_other"] and r["distinct"] and r["app_again"]
    assert r["other_count"] == 0
    from memviz.ui import jobs

    seeding = jobs.latest(str(tmp_path / "app"))  # the demo is seeded by a background job: the page drew at once
    assert seeding is not None and seeding.label == "seeding the demo conversation"
    assert seeding.wait(300) and seeding.error is None, seeding.error
    assert MemoryStore(tmp_path / "app").count() == 214  # the demo conversation
    assert jobs.latest(str(tmp_path / "eval")) is None  # only the app's store is seeded


def _sidebar_script():
    from memviz.ui.state import sidebar

    sidebar()
    import streamlit as st

    st.session_state["reached"] = True


def test_a_store_typed_in_the_sidebar_must_exist_and_errors_are_one_line(tmp_path, monkeypatch, embedder):
    from memviz.store import MemoryStore

    monkeypatch.setenv("MEMVIZ_DB", str(tmp_path / "app"))
    at = AppTest.from_function(_sidebar_script, default_timeout=300)
    at.session_state["db_uri"] = str(tmp_path / "typo")
    at.run()
    assert not at.exception, at.exception
    assert [e.value for e in at.error] == [
        f"Cannot open the memory store: no memory store at {tmp_path / 'typo'} (create one with "
        f"`memviz ingest FILE --format jsonl --db {tmp_path / 'typo'}`, or start `memviz app` on it)"
    ]
    assert "reached" not in at.session_state and not (tmp_path / "typo").exists()

    MemoryStore(tmp_path / "other")  # an existing (empty) store: opened as it is, not seeded
    at.session_state["db_uri"] = str(tmp_path / "other")
    at.run()
    assert not at.exception and not at.error and at.session_state["reached"]
    assert MemoryStore(tmp_path / "other", create=False).count() == 0


def test_a_damaged_app_store_is_named_in_the_page(tmp_path, monkeypatch, embedder):
    import shutil

    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    db = tmp_path / "app"
    MemoryEngine(MemoryStore(db), embedder, SimulatedClock(1.7e9)).write(["My dog is Mango.", "I moved to Leeds."])
    shutil.rmtree(db / "memories.lance" / "_versions")
    monkeypatch.setenv("MEMVIZ_DB", str(db))
    at = AppTest.from_function(_sidebar_script, default_timeout=300)
    at.run()
    assert not at.exception, at.exception
    (message,) = [e.value for e in at.error]
    assert "is damaged: table 'memories' has no version manifests" in message and "from a copy" in message
    assert "reached" not in at.session_state
