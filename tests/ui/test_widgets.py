"""The shared widgets (memviz.ui.widgets): their pure helpers directly, the widgets in a small AppTest script."""

from __future__ import annotations

from datetime import UTC, date, datetime

import pandas as pd
import pytest
from streamlit.testing.v1 import AppTest

from memviz.ui import widgets as w

DAY = 86_400.0
JAN1 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()


def test_day_bounds_are_utc_days_end_exclusive():
    assert w.utc_date(JAN1 + 23.5 * 3600) == date(2024, 1, 1)
    assert w.day_range_s(date(2024, 1, 1), date(2024, 1, 3)) == (JAN1, JAN1 + 3 * DAY)
    lo, hi = date(2024, 1, 1), date(2024, 1, 31)
    assert w.picked_range_s((lo, hi), lo, hi) is None  # not narrowed: no filter
    assert w.picked_range_s((lo,), lo, hi) is None  # half picked
    assert w.picked_range_s((date(2024, 1, 2), date(2024, 1, 2)), lo, hi) == (JAN1 + DAY, JAN1 + 2 * DAY)


def test_picker_options_keep_the_open_memory():
    assert w.picker_options(["a", "b", "c"], None, limit=2) == ["a", "b"]
    assert w.picker_options(["a", "b"], "z", known={"a", "b", "z"}) == ["z", "a", "b"]  # hidden by a filter
    assert w.picker_options(["a", "b"], "gone", known={"a", "b"}) == ["a", "b"]  # no longer stored
    assert w.picker_options(["a", "b"], "b", known={"a", "b"}) == ["a", "b"]


def test_pop_flash_and_kinds():
    state = {"msg": ("info", "hello"), "old": "plain"}
    assert w.pop_flash(state, "msg") == ("info", "hello") and "msg" not in state
    assert w.pop_flash(state, "old") == ("success", "plain")
    assert w.pop_flash(state, "msg") is None


def test_table_height_and_number_columns():
    assert w.table_height_px(0) == 38 and w.table_height_px(1000) == 423 and w.table_height_px(2, 100) == 100
    cols = w.number_columns(score="%.3f", ratio=("norm ×", "%.1f"))
    assert cols["score"]["type_config"]["format"] == "%.3f"
    assert cols["ratio"]["label"] == "norm ×" and cols["ratio"]["type_config"]["format"] == "%.1f"


def _script():
    import pandas as pd
    import streamlit as st

    from memviz.ui import widgets as w

    frame = pd.DataFrame(
        {
            "id": ["a", "b", "c"],
            "text": ["Ann's cello <b>", "Bob's dog", "Cy's kayak"],
            "speaker": ["Ann", "Bob", ""],
            "source_id": ["D1:1", "", "D1:1"],
            "session_id": ["conv-1:S1", "conv-1:S1", "conv-2:S1"],
        }
    )
    ids = st.session_state.get("offered", ["a", "b", "c"])
    picked = w.memory_picker("Memory", frame, "pick", ids)
    st.write(f"picked={picked}")
    rng = w.date_range("Event time", (1704067200.0, 1704067200.0 + 9 * 86400), key="range")
    st.write(f"range={rng}")
    if st.button("Act", key="act"):
        w.flash("Done once.", "info", key="note")
        st.rerun()
    w.show_flash("note")


@pytest.fixture
def app() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def test_memory_picker_labels_and_stale_pick(app):
    box = app.selectbox(key="pick")
    # The same turn id in two conversations gets two labels: each carries its conversation.
    assert box.options == ["conv-1:D1:1 · Ann: Ann's cello <b>", "b · Bob: Bob's dog", "conv-2:D1:1 · —: Cy's kayak"]
    box.set_value("c").run()
    assert "picked=c" in [m.value for m in app.markdown]
    app.session_state["offered"] = ["a", "b"]  # "c" is no longer offered: the pick falls back to the first
    app.run()
    assert not app.exception and "picked=a" in [m.value for m in app.markdown]
    app.session_state["offered"] = []
    app.run()
    assert "picked=None" in [m.value for m in app.markdown] and not app.selectbox


def test_date_range_is_none_until_narrowed(app):
    assert "range=None" in [m.value for m in app.markdown]
    app.date_input(key="range").set_value((date(2024, 1, 2), date(2024, 1, 3))).run()
    assert f"range={(JAN1 + DAY, JAN1 + 3 * DAY)}" in [m.value for m in app.markdown]


def test_flash_shows_once_after_the_rerun(app):
    app.button(key="act").click().run()
    assert [i.value for i in app.info] == ["Done once."]
    app.run()
    assert not app.info


def test_flash_refuses_an_unknown_kind(monkeypatch):
    monkeypatch.setattr(w.st, "session_state", {})
    with pytest.raises(ValueError, match="flash kind"):
        w.flash("x", "shout")


def test_date_range_without_bounds_draws_nothing():
    assert w.date_range("Event time", None) is None


def test_memory_labels_need_the_frame_columns():
    frame = pd.DataFrame({"id": ["a"], "text": ["t"], "speaker": ["s"], "source_id": ["x"], "session_id": [""]})
    assert w.memory_labels(frame) == {"a": "x · s: t"}
