"""The sidebar's clock (memviz.ui.state.sidebar): advance, reset to the end of the data, a refused move shown as
an error, and a saved clock outside the supported range shown as an error (with the reset) instead of failing."""

from __future__ import annotations

import pytest
from streamlit.testing.v1 import AppTest

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.events import ClockEvent
from memviz.limits import MAX_TIME_S
from memviz.models import MemoryInput
from memviz.store import MemoryStore

from support import DAY, T0


def _script():
    import streamlit as st

    from memviz.ui.state import sidebar

    engine = sidebar()
    st.write(f"page body, clock {engine.clock.now()}")


@pytest.fixture
def db(tmp_path, monkeypatch, embedder):
    path = tmp_path / "db"
    engine = MemoryEngine(MemoryStore(path), embedder, SimulatedClock(T0))
    engine.write([MemoryInput(f"note {n} about the garden", event_time_s=T0 - (3 - n) * DAY) for n in range(3)])
    engine.set_clock(T0)
    monkeypatch.setenv("MEMVIZ_DB", str(path))
    return path


def _app() -> AppTest:
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    return at


def _clocks(db) -> list:
    return MemoryStore(db).list_events(ops=["clock"])


def test_reset_clock_sets_it_back_to_the_end_of_the_data_and_records_it(db):
    at = _app()
    at.sidebar.button(key="clock_30").click().run()
    assert _clocks(db)[-1].to_s == T0 + 30 * DAY
    assert any("2024-01-31 00:00" in m.value for m in at.sidebar.markdown)
    at.sidebar.button(key="clock_reset").click().run()
    assert not at.exception, at.exception
    last = _clocks(db)[-1]
    assert isinstance(last, ClockEvent) and last.from_s == T0 + 30 * DAY and last.to_s == T0 - DAY  # the last note
    assert any("2023-12-31 00:00" in m.value for m in at.sidebar.markdown)


def test_a_saved_clock_out_of_range_shows_an_error_and_the_reset_instead_of_failing(db):
    store = MemoryStore(db)
    # a store written before times were checked: the clock saved in year 10000 (UTC)
    store.append_events([ClockEvent(time_s=253402343999.0, from_s=T0, to_s=253402343999.0)])
    at = _app()
    assert not at.exception
    errors = [e.value for e in at.sidebar.error]
    assert errors and "outside the supported range, 1900-01-01 00:00 UTC up to (not including) 2200-01-01" in errors[0]
    assert not [m for m in at.markdown if "page body" in m.value]  # the page stops before failing
    assert not [b for b in at.sidebar.button if b.key == "clock_1"]
    at.sidebar.button(key="clock_reset").click().run()
    assert not at.exception and not at.sidebar.error
    assert _clocks(db)[-1].to_s == T0 - DAY
    assert [m for m in at.markdown if "page body" in m.value]


def test_advancing_past_the_end_of_the_range_is_shown_and_changes_nothing(db, embedder):
    MemoryEngine(MemoryStore(db), embedder, SimulatedClock(T0)).set_clock(MAX_TIME_S - 3600)
    n = len(_clocks(db))
    at = _app()
    at.sidebar.button(key="clock_1").click().run()
    assert not at.exception
    assert any("cannot advance by 1 days" in e.value for e in at.sidebar.error)
    assert len(_clocks(db)) == n and _clocks(db)[-1].to_s == MAX_TIME_S - 3600
