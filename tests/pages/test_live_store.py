"""An open app and an agent writing the same store through ``memviz mcp``'s tools on a second engine (as the
server's own process would): what the agent remembers and recalls appears on the next run of a page, without a
restart; the Recall page opens the agent's trace by the id the tool returned; the sidebar's watcher reruns a
page when the store moved since it was drawn."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from memviz.engine import open_engine
from memviz.mcp_server import DATASET, MemoryTools


def agent(demo_db) -> MemoryTools:
    """The MCP server's tools on an engine of their own (another process in real use)."""
    return MemoryTools(open_engine(str(demo_db)))


def test_memories_written_by_an_agent_show_on_the_next_run(open_page, demo_db):
    page = open_page("memories")
    assert page.metric("Memories") == "214"
    new = agent(demo_db).remember("Maya's new neighbour plays the bagpipes at dawn.", speaker="Maya")
    page.at.run()
    page.check()
    assert page.metric("Memories") == "215"
    table = page.frame("mem_table")
    row = table[table["id"] == new.id]
    assert row["text"].tolist() == ["Maya's new neighbour plays the bagpipes at dawn."]
    assert any("215 memories" in c.value for c in page.at.sidebar.caption)
    assert open_engine(str(demo_db)).get(new.id).dataset == DATASET


def test_an_agents_recall_is_a_past_trace_and_opens_by_its_id(open_page, demo_db):
    page = open_page("recall")
    at = page.at
    assert any("No recall kept yet" in c.value for c in at.caption)  # past traces shown before any recall
    recalled = agent(demo_db).recall("Which city did Maya move to?", k=3)
    at.run()
    page.check()
    assert at.selectbox(key="rc_past_pick").options[0].endswith("Which city did Maya move to?")

    at.query_params["trace"] = recalled.trace_id  # /recall?trace=<id>, the MCP recall's trace_id
    at.run()
    page.check()
    hits = page.frame_with("session", "source", "date")
    assert hits["id"].tolist() == [h.id for h in recalled.hits]
    assert any("Which city did Maya move to" in m.value for m in at.markdown)  # escaped by inert()

    at.text_input(key="rc_trace_id").set_value("no-such-trace").run()
    assert any("No recorded recall trace no" in w.value for w in at.warning)


def _watched(store: str):
    import os

    import streamlit as st

    from memviz.ui.state import _watch_store, note_shown, sidebar

    os.environ["MEMVIZ_DB"] = store
    st.session_state["runs"] = st.session_state.get("runs", 0) + 1
    engine = sidebar()  # the watcher's first, inline run: never reruns
    st.write(f"{engine.stats()['memories']} memories")
    if st.session_state.get("tick"):  # as the watcher's timer does it: a run of the fragment alone
        st.session_state["tick"] = False
        _watch_store(engine)
    note_shown(engine)


def test_the_sidebar_watcher_reruns_the_page_when_the_store_moved(demo_db):
    at = AppTest.from_function(_watched, args=(str(demo_db),), default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    at.session_state["tick"] = True
    at.run()
    assert at.session_state["runs"] == 2, "the store did not move: no rerun"

    agent(demo_db).remember("Leon found a four-leaf clover.")
    at.session_state["tick"] = True
    at.run()
    assert not at.exception, at.exception
    assert at.session_state["runs"] == 4, "the store moved: the watcher reran the whole page"
    assert any("215 memories" in m.value for m in at.markdown)


def test_another_engines_search_imported_from_otlp_opens_on_the_recall_page(open_page, demo_db, tmp_path):
    from test_otel import agent_trace

    from memviz.otel import import_otlp

    engine = open_engine(str(demo_db))
    import_otlp(engine, agent_trace(tmp_path / "agent.json"))
    searched = next(t for t in engine.traces() if t.query == "seat preference")
    page = open_page("recall")
    at = page.at
    at.query_params["trace"] = searched.id
    at.run()
    page.check()
    hits = page.frame_with("session", "source", "date")
    assert hits["text"].tolist()[0] == "The user prefers window seats."
    assert hits["score"].tolist() == [0.91, 0.42, 0.4]
    assert any("imported (travel-agent) · k=3" in m.value for m in at.markdown)
    at.selectbox(key="rc_why_pick").set_value(hits["id"].tolist()[1]).run()  # why-not on an imported trace
    page.check()
