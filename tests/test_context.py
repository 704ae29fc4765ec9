"""Contextual memories (memviz.context): the context of each memory of a write, what the encoder sees, what is
stored and reported, and the full-text index searching the context."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.context import contexts, encoder_text
from memviz.models import MemoryInput
from memviz.store import MemoryStore
from memviz.store.settings import ContextSettings, FulltextSettings, StoreSettings

from support import DAY, T0

TURNS = [
    MemoryInput(text="My new cat is called Seraphim.", speaker="Jolene", session_id="s1", id="a", event_time_s=T0),
    MemoryInput(text="What a lovely name!", speaker="Deb", session_id="s1", id="b", event_time_s=T0 + 60),
    MemoryInput(
        text="I bought it a year ago in Paris.", speaker="Jolene", session_id="s1", id="c", event_time_s=T0 + 120
    ),
    MemoryInput(text="Off to the gym.", speaker="Deb", session_id="s2", id="d", event_time_s=T0 + DAY),
]


def _none(sessions, n):
    return {}


def test_previous_turns_of_the_same_session_in_order_with_the_date():
    ctx = contexts(TURNS, [t.text for t in TURNS], ContextSettings(turns=2, date=True), _none)
    assert ctx[0] == "Date: 1 January 2024"
    assert ctx[2] == (
        'Date: 1 January 2024\nJolene said, "My new cat is called Seraphim."\nDeb said, "What a lovely name!"'
    )
    assert ctx[3] == "Date: 2 January 2024"  # another session: none of s1's turns


def test_off_gives_no_context_and_turns_come_from_the_store_when_the_write_lacks_them():
    assert contexts(TURNS, [t.text for t in TURNS], ContextSettings(), _none) == [None] * 4
    asked = []

    def stored(sessions, n):
        asked.append((sessions, n))
        return {("", "s2"): [("Deb", "Leg day today.")]}

    ctx = contexts(TURNS[3:], [TURNS[3].text], ContextSettings(turns=1), stored)
    assert ctx == ['Deb said, "Leg day today."'] and asked == [([("", "s2")], 1)]
    no_session = MemoryInput(text="a note", speaker="me")
    assert contexts([no_session], ["a note"], ContextSettings(turns=1), stored) == [None]


def test_the_memory_comes_first_in_the_encoder_text():
    assert encoder_text("hi", "Al", "Date: 1 May 2023") == 'Al said, "hi"\nDate: 1 May 2023'
    assert encoder_text("hi", None, None) == "hi"


@pytest.mark.parametrize("batch_size", [1, 256])
def test_ingest_stores_the_context_embeds_it_and_keeps_the_text_verbatim(tmp_path, embedder, batch_size):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine

    settings = StoreSettings(context=ContextSettings(turns=1))
    engine = MemoryEngine(MemoryStore(tmp_path / "db", settings=settings), embedder, SimulatedClock(T0 + 2 * DAY))
    # batch_size 1: every previous turn is in another batch of the window; embed_window 1: in the store.
    reports = engine.ingest(TURNS, batch_size=batch_size, embed_window=1 if batch_size == 1 else 2048)
    items = {i.id: i for r in reports for i in r.items}
    assert items["c"].context == 'Deb said, "What a lovely name!"'
    assert items["a"].context is None and items["c"].text == TURNS[2].text
    rows = engine.store.memories_table(columns=["id", "text", "context"]).to_pylist()
    assert {r["id"]: r["context"] for r in rows}["c"] == items["c"].context
    ids, vecs = engine.store.vectors()
    want = embedder.encode([encoder_text(TURNS[2].text, "Jolene", items["c"].context)])[0]
    np.testing.assert_allclose(vecs[ids.index("c")], want, atol=1e-6)


def test_the_full_text_index_searches_the_context_only_when_asked(tmp_path, make_engine, embedder):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine

    for fulltext, found in ((False, set()), (True, {"a", "b"})):
        settings = StoreSettings(context=ContextSettings(turns=1, fulltext=fulltext))
        store = MemoryStore(tmp_path / f"db{fulltext}", settings=settings)
        engine = MemoryEngine(store, embedder, SimulatedClock(T0 + 2 * DAY))
        engine.ingest(TURNS)
        ids, _ = store.text_search("Seraphim", 10)
        assert set(ids) - {"a"} == found - {"a"}  # the reply b names Seraphim only through its context
        fts = engine.recall("Seraphim", reinforce=False).trace.stage("fulltext")
        assert fts.info["columns"] == (["text", "context"] if fulltext else ["text"])


def test_the_tokenizer_settings_decide_stemming_and_are_shown_in_the_trace(tmp_path, embedder):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine

    for stem in (True, False):
        store = MemoryStore(tmp_path / f"db{stem}", settings=StoreSettings(fulltext=FulltextSettings(stem=stem)))
        engine = MemoryEngine(store, embedder, SimulatedClock(T0))
        engine.ingest([MemoryInput(text="She adopted two cats last spring.", id="m")])
        assert (store.text_search("cat", 5)[0] == ["m"]) is stem
        info = engine.recall("cat", reinforce=False).trace.stage("fulltext").info
        assert info["tokenizer"]["stem"] is stem and info["index"] == "lancedb-fts"


def test_a_session_id_is_a_session_of_its_scope_only():
    """Two scopes' sessions named alike ("s1") are two sessions: neither is the other's context."""
    turns = [MemoryInput(text=f"turn {n}", speaker="me", session_id="s1", scope=sc) for n, sc in enumerate("abab")]
    ctx = contexts(turns, [t.text for t in turns], ContextSettings(turns=2), lambda sessions, n: {})
    assert ctx == [None, None, 'me said, "turn 0"', 'me said, "turn 1"']
