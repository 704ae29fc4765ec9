"""The sidebar's scope selector: "All scopes" and each scope with its count; every page shows and recalls within
the chosen scope (Memories, Recall, Graph, Forgetting)."""

from __future__ import annotations

import json
import re

import pytest

from memviz.models import MemoryInput

ALICE = ["Alice moved to Leeds in May", "Alice adopted a grey cat", "Alice runs on Sunday mornings"]
BOB = ["Bob plays chess at the club", "Bob moved to Bristol last year", "Bob bakes sourdough bread", "Bob likes jazz"]


@pytest.fixture
def scoped_db(tmp_path, monkeypatch, make_engine):
    engine = make_engine("scoped")
    items = [
        MemoryInput(t, speaker=who, session_id="s1", id=f"{who}:{n}", scope=who, event_time_s=1.7e9 + n * 60)
        for who, texts in (("alice", ALICE), ("bob", BOB))
        for n, t in enumerate(texts)
    ]
    engine.ingest(items)
    monkeypatch.setenv("MEMVIZ_DB", engine.store.uri)
    return engine.store.uri


def _choose(page, scope: str) -> None:
    page.at.selectbox(key="scope").set_value(scope).run()
    page.check()


def test_the_selector_lists_every_scope_with_its_count(scoped_db, app_page):
    page = app_page("memories")
    box = page.at.selectbox(key="scope")
    assert box.options == ["All scopes · 7", "alice · 3", "bob · 4"] and box.value == "*"
    assert "Showing 7 of 7 memories" in "\n".join(c.value for c in page.at.caption)


def test_memories_page_shows_the_chosen_scope(scoped_db, app_page):
    page = app_page("memories")
    _choose(page, "bob")
    assert sorted(page.frame("mem_table")["id"]) == [f"bob:{n}" for n in range(4)]
    assert "Showing 4 of 4 memories" in "\n".join(c.value for c in page.at.caption)
    _choose(page, "*")
    assert len(page.frame("mem_table")) == 7


def test_recall_page_recalls_within_the_chosen_scope(scoped_db, app_page):
    page = app_page("recall")
    _choose(page, "alice")
    page.at.text_input(key="rc_query").set_value("Who moved?").run()
    page.at.button(key="rc_run").click().run()
    page.check()
    trace = page.at.session_state["rc_trace"]
    final = next(s for s in trace["stages"] if s["name"] == "final")["candidates"]
    assert trace["config"]["scope"] == "alice" and final
    assert {c["id"].split(":")[0] for c in final} == {"alice"}


def test_graph_page_draws_the_chosen_scope(scoped_db, app_page):
    page = app_page("graph")

    def drawn() -> set[str]:
        doc = page.at.get("iframe")[0].proto.srcdoc
        nodes = json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", doc, re.DOTALL).group(1))
        return {n["id"] for n in nodes}

    assert {i.split(":")[0] for i in drawn()} == {"alice", "bob"}
    _choose(page, "bob")
    assert drawn() == {f"bob:{n}" for n in range(4)}


def test_forgetting_page_lists_the_chosen_scope(scoped_db, app_page):
    page = app_page("forgetting")
    assert len(page.at.selectbox(key="fg_memory").options) == 7
    _choose(page, "alice")
    assert len(page.at.selectbox(key="fg_memory").options) == 3
    assert {v.split(":")[0] for v in [page.at.selectbox(key="fg_memory").value]} == {"alice"}
