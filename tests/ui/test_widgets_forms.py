"""More shared widgets (memviz.ui.widgets: metrics row, query row, "as of" input, memory search, downloads,
table grid, done) and the Recall page's configuration form (memviz.ui.recall_form)."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from streamlit.testing.v1 import AppTest

from memviz.ui import widgets as w
from memviz.ui.recall_form import form_config

JAN1 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def test_utc_timestamp():
    assert w.utc_timestamp(date(2024, 1, 1), time(0, 0)) == JAN1
    assert w.utc_timestamp(date(2024, 1, 2), time(6, 30)) == JAN1 + 86_400 + 6.5 * 3600


def test_form_config_writes_only_when_asked_and_reinforces_only_at_the_clock():
    weights = {"relevance": 1.0, "lexical": 0.5}
    cfg, error = form_config("default", 5, "power", True, weights, 0, None, False)  # looking: a pure read
    assert error is None and not cfg.reinforce and not cfg.record
    cfg, _ = form_config("default", 5, "power", True, weights, 0, None, False, keep=True)  # kept in the history
    assert not cfg.reinforce and cfg.record
    cfg, error = form_config("default", 5, "power", True, weights, 0, None, True)
    assert error is None and cfg.k == 5 and cfg.decay_model == "power" and cfg.reinforce and cfg.record
    cfg, _ = form_config("default", 5, "power", True, weights, 0, JAN1, True)  # "as of": never reinforces
    assert not cfg.reinforce and not cfg.record and cfg.as_of_s == JAN1
    cfg, error = form_config("default", 5, "power", True, {"relevance": 0.0}, 0, None, False)
    assert cfg is None and error  # all weights zero: a ConfigError, shown by the page


def _script():
    import pandas as pd
    import streamlit as st

    from memviz.ui import widgets as w

    w.metrics_row([("Plain", "1"), ("Helped", "2", "why"), ("Moved", "3", None, "+1 now", "off")])
    query, k, clicked = w.query_row("q", "Go", "q_go", placeholder="ask")
    st.write(f"query={query!r} k={k} clicked={clicked}")
    st.write(f"as_of={w.as_of_input(1704067200.0 + 3600 * 5.5, 'asof')}")
    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["Ann's cello", "Bob's dog", "Cy's kayak"],
            "speaker": ["Ann", "Bob", "Cy"],
            "source_id": ["D1:1", "D1:2", "D1:3"],
            "session_id": ["c1:S1", "c1:S1", "c1:S2"],
            "forgotten_time_s": [None, 1.0, None],
        }
    )
    st.write(f"picked={w.memory_search(frame, 'Memory', 'pick', 'search', limit=2)}")
    w.download_row([("Text", lambda: "hello", "hello.txt", "text/plain", "dl_text")])
    w.table_grid([("**One**", frame[["id"]], None), ("**Two**", frame[["id", "text"]], {"id": "%s"})])
    if st.button("Act", key="act"):
        w.done("Acted.", key="note")
    w.show_flash("note")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _said(app) -> list[str]:
    return [m.value for m in app.markdown]


def test_metrics_row_passes_help_and_delta(app):
    metrics = {m.label: m for m in app.metric}
    assert [m.value for m in app.metric] == ["1", "2", "3"]
    assert metrics["Helped"].help == "why" and metrics["Moved"].delta == "+1 now"


def test_query_row_and_as_of_input(app):
    assert "query='' k=10 clicked=False" in _said(app)
    app.text_input(key="q_query").set_value("where?")
    app.number_input(key="q_k").set_value(3)
    app.button(key="q_go").click().run()
    assert "query='where?' k=3 clicked=True" in _said(app)
    assert f"as_of={1704067200.0 + 5.5 * 3600}" in _said(app)  # starts at the given time, to the minute
    app.date_input(key="asof_date").set_value(date(2024, 1, 3))
    app.time_input(key="asof_time").set_value(time(1, 0)).run()
    assert f"as_of={JAN1 + 2 * 86_400 + 3600}" in _said(app)


def test_memory_search_filters_limits_and_says_when_nothing_matches(app):
    assert app.selectbox(key="pick").options == ["c1:D1:1 · Ann: Ann's cello", "c1:D1:2 · Bob: Bob's dog"]  # limit 2
    app.text_input(key="search").set_value("kayak").run()
    assert "picked=c" in _said(app)
    app.text_input(key="search").set_value("D1:2").run()  # a source id; forgotten memories are searched too
    assert "picked=b" in _said(app)
    app.text_input(key="search").set_value("nothing like it").run()
    assert "picked=None" in _said(app) and [i.value for i in app.info] == ["No memory matches."]


def test_table_grid_and_done(app):
    assert "**One**" in _said(app) and "**Two**" in _said(app) and len(app.dataframe) == 2
    app.button(key="act").click().run()
    assert [s.value for s in app.success] == ["Acted."]
    app.run()
    assert not app.success
