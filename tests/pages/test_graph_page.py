"""The Graph page on a real demo store (214 memories): filters, level of detail, focus views, analysis and the
embedding map. The drawn graph is read back from the page's iframe (its vis-network node data)."""

from __future__ import annotations

import json
import re

import pytest

from memviz.store import MemoryStore

from support import chart, values


def drawn_ids(at) -> list[str]:
    """The node ids of the graph drawn on the page."""
    page = at.get("iframe")[0].proto.srcdoc
    return [n["id"] for n in json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1))]


def drawn_nodes(at) -> list[dict]:
    page = at.get("iframe")[0].proto.srcdoc
    return json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1))


def captions(at) -> str:
    return "\n".join(c.value for c in at.caption)


@pytest.mark.slow  # the demo store's link count (1,356) comes from the real model's semantic links
def test_whole_store_and_filters_change_what_is_shown(open_page):
    page = open_page("graph")
    at = page.at
    assert page.metric("Memories") == "214" and page.metric("Links") == "1,356"
    assert len(drawn_ids(at)) == 60  # by default the top 60, each with its label: readable, not a hairball
    assert all(n.get("label") for n in drawn_nodes(at))
    at.number_input(key="graph_max_nodes").set_value(300).run()
    assert len(drawn_ids(at)) == 214
    assert "Showing 214 of 214 memories" in captions(at)

    at.slider(key="graph_min_retention").set_value(0.2).run()
    page.check()
    kept = int(page.metric("Memories"))
    assert 0 < kept < 214 and len(drawn_ids(at)) == kept
    assert int(page.metric("Links").replace(",", "")) < 1356

    at.slider(key="graph_min_retention").set_value(0.0)
    at.multiselect(key="graph_link_kinds").set_value(["temporal"]).run()
    assert page.metric("Links") == str(214 - 9)  # one temporal link per turn but each session's first
    assert page.metric("Isolated memories") == "0"

    at.multiselect(key="graph_link_kinds").set_value(["semantic", "temporal", "keyword"])
    at.multiselect(key="graph_speakers").set_value(["Maya"]).run()
    maya = int(page.metric("Memories"))
    assert 0 < maya < 214
    assert all("<b>Maya</b>" in n["title"] for n in drawn_nodes(at))


def test_level_of_detail_top_memories_and_communities(open_page):
    page = open_page("graph")
    at = page.at
    at.number_input(key="graph_max_nodes").set_value(50).run()
    page.check()
    assert len(drawn_ids(at)) == 50
    assert "Showing 50 of 214 memories (level of detail: the top 50 by importance, recalls and links)" in captions(at)
    labelled = [n for n in drawn_nodes(at) if n.get("label")]
    assert len(labelled) == 50 and all(len(n["label"]) <= 28 for n in labelled)  # up to 60 nodes, all labelled
    at.selectbox(key="graph_rank_by").set_value("pagerank").run()
    assert "(level of detail: the top 50 by PageRank)" in captions(at)
    communities = int(page.metric("Communities"))

    at.radio(key="graph_lod").set_value("communities").run()
    ids = drawn_ids(at)
    assert len(ids) == communities and all(i.startswith("community:") for i in ids)
    assert f"214 memories summarised as {communities} communities" in captions(at)


def test_ego_view_grows_with_the_radius(open_page):
    page = open_page("graph")
    at = page.at
    at.radio(key="graph_view").set_value("memory").run()
    at.text_input(key="graph_mem_search").set_value("pottery").run()
    page.check()
    picked = at.selectbox(key="graph_memory").value
    ids1 = drawn_ids(at)
    assert picked in ids1 and 1 < len(ids1) < 214
    at.slider(key="graph_radius").set_value(2).run()
    ids2 = drawn_ids(at)
    assert set(ids1) < set(ids2)
    centre = next(n for n in drawn_nodes(at) if n["id"] == picked)
    assert centre["shape"] == "diamond"


def test_query_view_highlights_the_hits_without_reinforcing(open_page, demo_db):
    page = open_page("graph")
    at = page.at
    version = MemoryStore(demo_db).version()
    at.radio(key="graph_view").set_value("query").run()
    assert any("press Recall" in i.value for i in at.info)
    at.text_input(key="graph_query").set_value("What does Maya make in her pottery class?")
    at.number_input(key="graph_k").set_value(5)
    at.button(key="graph_recall_button").click().run()
    page.check()
    stars = sorted((n for n in drawn_nodes(at) if n["shape"] == "star"), key=lambda n: n["label"])
    assert [n["label"] for n in stars] == ["#1", "#2", "#3", "#4", "#5"]
    assert "Query: “What does Maya make in her pottery class\\?”" in captions(at)  # the query escaped
    at.slider(key="graph_query_radius").set_value(0).run()
    assert len(drawn_ids(at)) == 5  # the hits alone
    store = MemoryStore(demo_db)
    assert store.version() == version  # recall without reinforcement
    # the recall focus is a pure read: no recall event either
    assert all(
        e.payload["query"] != "What does Maya make in her pottery class?" for e in store.list_events(ops=["recall"])
    )
    # The embedding map places the query and its hits.
    at.session_state["graph_tab"] = "Embedding map"
    at.run()
    names = [d.get("name") for d in chart(at, "graph_map")["data"]]
    assert "query" in names and "recall hits" in names


def test_query_view_marks_the_expected_memory_and_its_path(open_page):
    page = open_page("graph")
    at = page.at
    at.radio(key="graph_view").set_value("query").run()
    at.text_input(key="graph_query").set_value("What does Maya make in her pottery class?")
    at.number_input(key="graph_k").set_value(3)
    at.button(key="graph_recall_button").click().run()
    at.slider(key="graph_query_radius").set_value(0).run()
    hits = drawn_ids(at)
    at.checkbox(key="graph_expect_on").check().run()
    at.text_input(key="graph_expected_search").set_value("pottery").run()
    page.check()
    picked = at.session_state["graph_expected"]
    nodes = {n["id"]: n for n in drawn_nodes(at)}
    assert picked in nodes and nodes[picked]["color"]["border"] == "#ff7f0e"  # marked, on its path
    if picked not in hits:  # a triangle labelled "expected", joined to the hits by the path's memories
        assert nodes[picked]["shape"] == "triangle" and nodes[picked]["label"].startswith("expected: ")
        assert set(hits) < set(nodes)
    assert "expected memory: a triangle" in captions(at)


def test_analysis_and_embedding_map(open_page):
    page = open_page("graph")
    at = page.at
    central = page.frame_with("pagerank", "degree")
    assert len(central) == 15 and central["pagerank"].is_monotonic_decreasing
    comms = page.frame_with("size", "sessions", "keywords")
    assert comms["size"].sum() <= 214 and comms["size"].is_monotonic_decreasing
    bridges = page.frame_with("session_a", "session_b")
    assert (bridges["session_a"] != bridges["session_b"]).all()
    assert not at.get("plotly_chart")  # tabs are lazy: the map is drawn only when its tab is open
    at.session_state["graph_tab"] = "Embedding map"
    at.run()
    spec = chart(at, "graph_map")
    assert sum(len(values(d["x"])) for d in spec["data"]) == 214
    at.selectbox(key="graph_map_colour").set_value("retention").run()
    spec = chart(at, "graph_map")
    assert len(spec["data"]) == 1 and len(values(spec["data"][0]["marker"]["color"])) == 214


def test_analysis_tables_of_a_large_graph_wait_for_the_toggle(open_page, monkeypatch):
    """Above TABLES_AT_ONCE memories (100k in use; lowered here to the demo's scale) the first render draws the
    graph and its level of detail, and the Analysis tab computes its tables only once asked."""
    from memviz.ui import graph as ug

    monkeypatch.setattr(ug, "TABLES_AT_ONCE", 100)
    page = open_page("graph")
    at = page.at
    assert "Showing 60 of 214 memories (level of detail: the top 60 by importance, recalls and links)" in captions(at)
    assert len(drawn_ids(at)) == 60
    assert not at.metric and not at.dataframe
    toggle = at.toggle(key="graph_tables")
    assert toggle.label.startswith("Analyse all 214 memories")
    toggle.set_value(True).run()
    page.check()
    assert page.metric("Memories") == "214" and len(page.frame_with("pagerank", "degree")) == 15
    at.selectbox(key="graph_colour").set_value("speaker").run()  # the toggle stays on
    assert page.metric("Memories") == "214"


def test_colour_by_how_many_questions_of_an_evaluation_retrieved_a_memory(open_page, demo_db):
    """An evaluation that recalled on this store (run or loaded on the Evaluate page: ``ev_results``) colours
    the graph by how many of its questions had each memory in their top k; without one, the page says how."""
    from memviz.viz.graph import NO_EVALUATION, RETRIEVED_BINS

    page = open_page("graph")
    at = page.at
    at.number_input(key="graph_max_nodes").set_value(300)
    at.selectbox(key="graph_colour").set_value("retrieved").run()
    page.check()
    assert "needs an evaluation that recalled on this store" in captions(at)
    assert NO_EVALUATION in at.get("iframe")[0].proto.srcdoc
    ids = MemoryStore(demo_db).memories_table(columns=["id"]).column("id").to_pylist()
    question = {"status": "evaluated", "store": str(demo_db), "evidence": [ids[0]]}
    result = {
        "benchmark": "locomo",
        "preset": "default",
        "counts": {"evaluated": 3},
        "coverage": {"k": 2},
        "questions": [
            question | {"id": "q1", "retrieved": [ids[0], ids[1], ids[2]]},  # ids[2] is below the top 2
            question | {"id": "q2", "retrieved": [ids[1], ids[0]]},
            question | {"id": "q3", "retrieved": [ids[1]], "store": "/elsewhere"},  # another store
        ],
    }
    at.session_state["ev_results"] = [result]
    at.run()
    page.check()
    assert (
        "Colour: how many questions of the evaluation “locomo · default · 3 q” had each memory in their top 2"
        in captions(at)
    )
    nodes = {n["id"]: n for n in drawn_nodes(at)}
    bins = {label: colour for _, _, label, colour in RETRIEVED_BINS}
    assert nodes[ids[0]]["color"] == nodes[ids[1]]["color"] == bins["2-4"]
    assert (
        nodes[ids[2]]["color"] == bins["retrieved by 0 questions"]
        and "retrieved by 0 questions" in nodes[ids[2]]["title"]
    )
    assert "retrieved by 2 questions" in nodes[ids[0]]["title"]
