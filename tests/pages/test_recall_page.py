"""The Recall page on a real demo store: a recall with its hits, score breakdown and trace; why a memory was
not retrieved; two presets side by side; a past trace compared after advancing the clock."""

from __future__ import annotations

from datetime import UTC, datetime, time, timedelta

import pytest

from memviz import tracing
from memviz.engine import open_engine
from memviz.recall.presets import preset_config
from memviz.store import MemoryStore

QUERY = "Which city did Maya move to?"


def recall_directly(db, preset, k=10):
    """The same recall the page runs, on a separate engine (same store, same clock start, no reinforcement)."""
    return open_engine(str(db)).recall(QUERY, preset_config(preset, k=k, reinforce=False))


def side_tables(page):
    """The two side-by-side hit lists (rank, score, text), A then B."""
    return [d.value for d in page.at.dataframe if list(d.value.columns) == ["rank", "score", "text"]]


def test_recall_shows_hits_breakdown_and_trace(open_page, demo_db):
    page = open_page("recall")
    at = page.at
    assert any("Type a query" in i.value for i in at.info)
    at.text_input(key="rc_query").set_value(QUERY)
    at.number_input(key="rc_k").set_value(5)
    at.button(key="rc_run").click().run()
    page.check()
    want = recall_directly(demo_db, "default", k=5)
    hits = page.frame_with("session", "source", "date")
    assert hits["id"].tolist() == [h.memory.id for h in want.hits]
    assert hits["score"].tolist() == pytest.approx([h.score for h in want.hits])
    summary = page.frame_with("stage", "candidates", "ms")
    assert summary["stage"].tolist()[1:] == [
        "vector search",
        "full-text (BM25)",
        "after fusion",
        "after scoring",
        "final",
    ]
    table = page.frame_with("vector search", "final", "text")
    assert table.loc[table["final"].notna(), "id"].tolist() == hits["id"].tolist()
    # exploring does not reinforce: the hits' recall counts are unchanged
    engine = open_engine(str(demo_db))
    assert all(engine.get(i).recall_count == 0 for i in hits["id"])

    at.selectbox(key="rc_preset").set_value("amem")
    at.button(key="rc_run").click().run()
    page.check()
    summary = page.frame_with("stage", "candidates", "ms")
    assert "after graph expansion" in summary["stage"].tolist()
    amem = recall_directly(demo_db, "amem", 5)
    assert page.frame_with("session", "source", "date")["id"].tolist() == [h.memory.id for h in amem.hits]


def test_why_not_retrieved_and_near_misses(open_page, demo_db):
    page = open_page("recall")
    at = page.at
    at.text_input(key="rc_query").set_value(QUERY)
    at.button(key="rc_run").click().run()
    page.check()
    want = recall_directly(demo_db, "default")
    ranked = tracing.last_ranking(want.trace).candidates
    misses = page.frame_with("margin", "deciding", "text")
    assert misses["id"].tolist() == [c.id for c in ranked[10:20]]
    # a memory ranked below the cut-off
    target = ranked[12]
    at.text_input(key="rc_why_id").set_value(target.id).run()
    page.check()
    assert page.metric("Rank in the ranking") == "13"
    assert float(page.metric("Margin to the cut-off")) < 0
    assert any("below the cut-off" in m.value for m in at.markdown)
    # a memory that no retriever returned: its scores are computed directly
    seen = {c.id for s in want.trace.stages for c in s.candidates}
    outsider = next(
        i
        for i in open_engine(str(demo_db)).store.memories_table(columns=["id"]).column("id").to_pylist()
        if i not in seen
    )
    at.text_input(key="rc_why_id").set_value(outsider).run()
    page.check()
    assert page.metric("Rank in the ranking") == "not scored"
    assert any("vector search returned the 50 nearest" in m.value for m in at.markdown)
    stages = page.frame_with("stage", "rank", "of")
    assert stages["rank"].isna().all()


def test_two_presets_side_by_side(open_page, demo_db):
    page = open_page("recall")
    at = page.at
    at.text_input(key="rc_query").set_value(QUERY)
    at.button(key="rc_run").click().run()
    at.selectbox(key="rc_cmp_preset").set_value("bm25")
    at.button(key="rc_cmp_run").click().run()
    page.check()
    a, b = recall_directly(demo_db, "default"), recall_directly(demo_db, "bm25")
    overlap = len({h.memory.id for h in a.hits} & {h.memory.id for h in b.hits})
    assert page.metric("Overlap of the top k") == f"{overlap} / 10"
    assert side_tables(page)[1]["text"].tolist() == [h.memory.text for h in b.hits]
    table = page.frame_with("status", "driver")
    assert set(table.loc[table["status"] == "entered", "id"]) == {h.memory.id for h in b.hits} - {
        h.memory.id for h in a.hits
    }


def test_past_traces_compared_after_advancing_the_clock(open_page, demo_db):
    page = open_page("recall")
    at = page.at
    at.text_input(key="rc_query").set_value(QUERY)
    weights = {"relevance": 0.2, "recency": 1.0}
    for comp, w in weights.items():
        at.slider(key=f"rc_w_default_{comp}").set_value(w)
    for comp in ("lexical", "importance", "retention"):
        at.slider(key=f"rc_w_default_{comp}").set_value(0.0)
    at.checkbox(key="rc_keep").check()  # kept in the history (a recall event); looking alone keeps nothing
    at.button(key="rc_run").click().run()
    # the same query "as of" thirty days later (the page's own clock control; the sidebar's "+30 days" does the
    # same to the shared clock)
    later = datetime.fromtimestamp(open_engine(str(demo_db)).clock.now(), tz=UTC) + timedelta(days=30)
    at.toggle(key="rc_use_clock").set_value(False).run()
    at.date_input(key="rc_asof_date").set_value(later.date())
    at.time_input(key="rc_asof_time").set_value(time(later.hour, later.minute))
    at.button(key="rc_run").click().run()
    page.check()
    traces = open_engine(str(demo_db)).traces(limit=2)
    assert traces[1].time_s - traces[0].time_s == pytest.approx(30 * 86_400, abs=60)
    assert traces[1].config["as_of_s"] == traces[1].time_s and traces[1].config["reinforce"] is False
    assert traces[0].config["record"] is True and traces[0].config["reinforce"] is False
    at.selectbox(key="rc_past_a").set_value(traces[0].id)
    at.selectbox(key="rc_past_b").set_value(traces[1].id)
    at.button(key="rc_past_cmp").click().run()
    page.check()
    diff = tracing.compare(traces[0], traces[1])
    assert page.metric("Entered") == str(len(diff.entered)) and page.metric("Left") == str(len(diff.left))
    shown = page.frame_with("status", "driver")
    assert shown["status"].tolist() == diff.table["status"].tolist()
    # reopen the older trace
    at.selectbox(key="rc_past_pick").set_value(traces[0].id)
    at.button(key="rc_reopen").click().run()
    page.check()
    assert page.frame_with("session", "source", "date")["id"].tolist() == [
        c.id for c in traces[0].stage("final").candidates
    ]


def store_state(db) -> tuple[int, int]:
    """The store's (memories-table version, number of events), read in this process."""
    s = MemoryStore(db, create=False).stats()
    return s["version"], s["events"]


def test_looking_writes_nothing_unless_asked(open_page, demo_db):
    """Recall, why-not, a recall "as of" another time, presets side by side, reopening: the store's version and
    event count are unchanged. Keeping the recall writes one recall event (the version stays); reinforcing
    writes (the version moves)."""
    page = open_page("recall")
    at = page.at
    before = store_state(demo_db)
    at.text_input(key="rc_query").set_value(QUERY)
    at.button(key="rc_run").click().run()
    at.text_input(key="rc_why_id").set_value(
        tracing.last_ranking(recall_directly(demo_db, "default").trace).candidates[12].id
    )
    at.run()
    assert page.metric("Rank in the ranking") == "13"  # why-not looked at
    at.selectbox(key="rc_cmp_preset").set_value("bm25")
    at.button(key="rc_cmp_run").click().run()
    at.toggle(key="rc_use_clock").set_value(False).run()  # a recall "as of" another time
    at.button(key="rc_run").click().run()
    page.check()
    assert store_state(demo_db) == before
    assert any("No recall kept yet" in c.value for c in at.caption)

    at.toggle(key="rc_use_clock").set_value(True).run()
    at.checkbox(key="rc_keep").check()
    at.button(key="rc_run").click().run()
    page.check()
    assert store_state(demo_db) == (before[0], before[1] + 1)  # one recall event, nothing else
    at.checkbox(key="rc_reinforce").check()
    at.button(key="rc_run").click().run()
    page.check()
    version, events = store_state(demo_db)
    assert version > before[0] and events == before[1] + 1 + 1 + 10  # a recall event and 10 reinforce events
