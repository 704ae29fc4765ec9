"""The Write page on a real demo store: writing a typed memory or data set turns, and the write report."""

from __future__ import annotations

import pytest

from memviz.filters import LinkFilter, MemoryFilter
from memviz.paths import LOCOMO_DEV
from memviz.store import MemoryStore
from memviz.ui.inert import inert

LOCOMO = LOCOMO_DEV


@pytest.mark.slow  # semantic links to the other Lisbon flight turns: the real model's similarities
def test_write_a_typed_memory_shows_its_report(open_page, demo_db):
    page = open_page("write")
    at = page.at
    text = "Maya finally booked the Lisbon flights for April: 07:15 from Manchester airport."
    at.text_area(key="write_text").set_value(text)
    at.text_input(key="write_speaker").set_value("Maya")
    at.text_input(key="write_session").set_value("s09")
    at.button(key="write_button").click().run()
    page.check()
    assert not at.error

    store = MemoryStore(demo_db)
    assert store.count() == 215
    new = store.memories_table(where=MemoryFilter(datasets=["typed"])).to_pylist()
    assert [m["text"] for m in new] == [text]
    assert new[0]["speaker"] == "Maya" and new[0]["session_id"] == "s09"

    card = at.html[0].value
    assert "Lisbon" in card
    assert all(kw in card for kw in new[0]["keywords"]) and new[0]["keywords"]
    assert page.metric("Keywords") == str(len(new[0]["keywords"]))
    assert float(page.metric("Importance")) == round(new[0]["importance"], 2)

    links = page.frame_with("kind", "why")
    stored = store.links_table(LinkFilter(touching=[new[0]["id"]])).to_pandas()
    stored = stored[stored["source_id"] == new[0]["id"]]
    assert page.metric("Links created") == str(len(stored)) == str(len(links))
    assert set(links["kind"]) == set(stored["kind"])
    assert {"temporal", "semantic"} <= set(links["kind"])  # after s09's last turn; other Lisbon flight turns
    assert "previous turn of session s09" in set(links["why"])
    semantic = links[links["kind"] == "semantic"]
    assert semantic["other_text"].str.contains("Lisbon|flight", case=False).any()
    assert (semantic["weight"] >= 0.55).all()

    neighbours = page.frame_with("similarity", "linked")
    assert neighbours["similarity"].is_monotonic_decreasing
    assert set(neighbours.loc[neighbours["linked"], "text"]) == set(semantic["other_text"])
    assert len(at.get("plotly_chart")) == 2  # importance parts, neighbours


def test_empty_text_shows_the_engine_error_and_writes_nothing(open_page, demo_db):
    page = open_page("write")
    at = page.at
    at.text_area(key="write_text").set_value("   \n ")
    at.button(key="write_button").click().run()
    page.check()
    assert [e.value for e in at.error] == [inert("item 0 (no id): memory text is empty")]
    assert MemoryStore(demo_db).count() == 214
    assert not at.get("plotly_chart")


def test_write_copies_of_turns_picked_from_the_demo(open_page, demo_db):
    page = open_page("write")
    at = page.at
    at.radio(key="write_mode").set_value("pick").run()
    at.selectbox(key="write_dataset").set_value("Demo conversation").run()
    at.selectbox(key="write_pick_session").set_value("s02").run()
    at.multiselect(key="write_turns").set_value(["0", "1"]).run()
    at.checkbox(key="write_copies").check().run()  # the demo store holds these turns already
    at.button(key="write_turns_button").click().run()
    page.check()
    assert not at.error
    store = MemoryStore(demo_db)
    assert store.count() == 216
    assert at.selectbox(key="write_report_item").options and len(at.selectbox(key="write_report_item").options) == 2
    links = page.frame_with("kind", "why")
    # The stored copy of the same turn is its nearest neighbour, so it is linked semantically.
    assert (links.loc[links["kind"] == "semantic", "weight"] > 0.99).any()


def test_locomo_turns_are_skipped_once_stored_unless_copied(open_page, demo_db):
    if not LOCOMO.is_file():
        pytest.skip(f"shared data file missing: {LOCOMO}")
    page = open_page("write")
    at = page.at
    at.radio(key="write_mode").set_value("pick").run()
    at.selectbox(key="write_dataset").set_value("LoCoMo conv-26").run()
    at.selectbox(key="write_pick_session").set_value("conv-26:S1").run()
    at.multiselect(key="write_turns").set_value(["0", "1"]).run()
    at.button(key="write_turns_button").click().run()
    page.check()
    store = MemoryStore(demo_db)
    assert store.count() == 216
    assert store.existing_ids(["conv-26:D1:1", "conv-26:D1:2"]) == {"conv-26:D1:1", "conv-26:D1:2"}
    # D1:1 opens its session, in its scope conv-26 (the LoCoMo importer's), where nothing is stored before it:
    # no link, not even to the demo's memories (the default scope).
    assert any(c.value.startswith("No link:") for c in at.caption)
    assert {m.scope for m in store.get(["conv-26:D1:1", "conv-26:D1:2"])} == {"conv-26"}

    at.button(key="write_turns_button").click().run()  # the same turns again: their ids are stored
    assert store.count() == 216
    assert any(inert("2 turn(s) already stored were skipped") in w.value for w in at.warning)

    at.checkbox(key="write_copies").check().run()
    at.button(key="write_turns_button").click().run()
    assert not at.error
    assert store.count() == 218


def test_a_contextual_store_shows_the_context_a_memory_was_embedded_with(app_page, tmp_path, monkeypatch, embedder):
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine
    from memviz.store.settings import ContextSettings, StoreSettings

    path = tmp_path / "ctx"
    settings = StoreSettings(context=ContextSettings(turns=1))
    seed_if_empty(MemoryEngine(MemoryStore(path, settings=settings), embedder, SimulatedClock(0.0)))
    monkeypatch.setenv("MEMVIZ_DB", str(path))
    last = MemoryStore(path).memories_table(where=MemoryFilter(sessions=["s09"])).to_pandas()
    last = last.sort_values("event_time_s").iloc[-1]
    page = app_page("write")
    at = page.at
    assert any(inert("context 1 previous turn (embedding)") in c.value for c in at.sidebar.caption)
    at.text_area(key="write_text").set_value("Booked it for April.")
    at.text_input(key="write_speaker").set_value("Maya")
    at.text_input(key="write_session").set_value("s09")
    at.button(key="write_button").click().run()
    page.check()
    assert any(c.value.startswith(inert("Embedded with its context")) for c in at.caption)
    assert [t.value for t in at.text] == [f'{last["speaker"]} said, "{last["text"]}"']
    stored = MemoryStore(path).memories_table(columns=["text", "context"], where=MemoryFilter(datasets=["typed"]))
    assert stored.to_pylist() == [{"text": "Booked it for April.", "context": at.text[0].value}]
