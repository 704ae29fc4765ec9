"""The Write page's report (memviz.ui.write): a batch's caption, its written memories (a picker when there are
several) with their metrics, links and timings, and the warning about skipped turns."""

from __future__ import annotations

from streamlit.testing.v1 import AppTest

from memviz.store import MemoryStore
from memviz.ui.inert import inert


def _script():
    import os

    import streamlit as st

    from memviz.models import MemoryInput
    from memviz.ui import write as uw
    from memviz.ui.state import get_engine

    engine = get_engine(os.environ["WRITE_DB"])  # an empty store (the app's own store is seeded with the demo)
    if "report" not in st.session_state:
        texts = ["Maya moved to Lisbon in May.", "Maya's new flat in Lisbon has a balcony."]
        inputs = [MemoryInput(text=t, speaker="Maya", session_id="s1", source_id=f"w{n}") for n, t in enumerate(texts)]
        st.session_state["report"] = engine.write(inputs)
    uw.show_report(engine, st.session_state["report"])


def test_show_report_of_a_batch(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITE_DB", str(tmp_path / "db"))
    MemoryStore(tmp_path / "db")  # get_engine(uri) opens an existing store only
    at = AppTest.from_function(_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    report = at.session_state["report"]
    assert [s.value for s in at.subheader] == ["Write report"]
    assert at.caption[0].value.startswith(inert(f"Batch {report.batch_id}: 2 memories written"))
    pick = at.selectbox(key="write_report_item")
    assert pick.options == [i.text for i in report.items]  # labelled by their texts
    assert [m.label for m in at.metric] == ["Keywords", "Importance", "Initial stability (days)", "Links created"]
    assert at.metric[3].value == "0"  # the first memory of an empty store has nothing to link to
    assert any("No earlier memory to compare with" in c.value for c in at.caption)

    pick.set_value(report.items[1].id).run()
    assert not at.exception, at.exception
    second = report.items[1]
    assert at.metric[3].value == str(len(second.links)) and second.links  # linked to the first (temporal at least)
    assert any(m.value.startswith(f"**Links created** ({len(second.links)})") for m in at.markdown)
    assert not at.warning


def _skipped_script():
    import os

    import streamlit as st

    from memviz.models import WriteReport
    from memviz.ui import write as uw
    from memviz.ui.state import get_engine

    uw.show_report(
        get_engine(os.environ["WRITE_DB"]), WriteReport(batch_id="b0", items=[], skipped_ids=["a", "b"], timings_ms={})
    )
    st.session_state["ran"] = True


def test_show_report_of_skipped_turns_only(tmp_path, monkeypatch):
    monkeypatch.setenv("WRITE_DB", str(tmp_path / "db"))
    MemoryStore(tmp_path / "db")  # get_engine(uri) opens an existing store only
    at = AppTest.from_function(_skipped_script, default_timeout=120)
    at.run()
    assert not at.exception, at.exception
    assert at.warning[0].value.startswith(inert("2 turn(s) already stored were skipped: a, b."))
    assert not at.metric and not at.caption
