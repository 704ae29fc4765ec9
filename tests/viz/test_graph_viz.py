"""The graph's vis-network data and offline HTML, and the embedding map figure, on small hand-made graphs."""

from __future__ import annotations

import json
import re

import networkx as nx
import numpy as np
import pandas as pd
import pytest

from memviz.viz.embedding_map import embedding_map_figure
from memviz.viz.graph import (
    LINK_STYLES,
    NO_EVALUATION,
    OTHER_COLOUR,
    PALETTE,
    RETRIEVED_BINS,
    category_colours,
    graph_html,
    retention_colours,
    vis_data,
)

XSS = "<script>window.__xss = 1</script><img src=x onerror=alert(1)>"


@pytest.fixture
def small() -> nx.MultiGraph:
    g = nx.MultiGraph()
    g.add_node(
        "a",
        text=XSS,
        speaker="Ann",
        session_id="s1",
        kind="episodic",
        community=0,
        retention=1.0,
        importance=1.0,
        recall_count=4,
        time_s=0.0,
        forgotten=False,
        x=0.0,
        y=0.0,
    )
    g.add_node(
        "b",
        text="Bob likes tea",
        speaker="Bob",
        session_id="s1",
        kind="semantic",
        community=0,
        retention=0.0,
        importance=0.0,
        recall_count=0,
        time_s=0.0,
        forgotten=True,
        x=1.0,
        y=0.0,
    )
    g.add_node(
        "c",
        text="Cy",
        speaker="Ann",
        session_id="s2",
        kind="episodic",
        community=1,
        retention=0.5,
        importance=0.5,
        recall_count=1,
        time_s=0.0,
        forgotten=False,
        x=0.0,
        y=2.0,
    )
    g.add_edge("b", "a", key="semantic", kind="semantic", weight=1.0)
    g.add_edge("b", "a", key="keyword", kind="keyword", weight=0.0)
    g.add_edge("c", "a", key="temporal", kind="temporal", weight=0.5)
    return g


def test_nodes_and_edges_match_the_graph(small):
    d = vis_data(small, colour_by="speaker", size_by="importance")
    by_id = {n["id"]: n for n in d.nodes}
    assert set(by_id) == {"a", "b", "c"}
    assert by_id["a"]["color"] == by_id["c"]["color"] != by_id["b"]["color"]  # Ann twice, Bob once
    assert d.legend == [("Ann", PALETTE[0]), ("Bob", PALETTE[1])]
    assert [by_id[i]["size"] for i in "abc"] == [30.0, 8.0, 19.0]  # 8 + 22 * importance
    assert all(n["shape"] == "dot" for n in d.nodes)
    edges = {(frozenset([e["from"], e["to"]]), e["color"]): e for e in d.edges}  # undirected
    assert len(d.edges) == 3
    sem = edges[(frozenset("ab"), LINK_STYLES["semantic"]["color"])]
    kw = edges[(frozenset("ab"), LINK_STYLES["keyword"]["color"])]
    tmp = edges[(frozenset("ac"), LINK_STYLES["temporal"]["color"])]
    assert (sem["width"], kw["width"], tmp["width"]) == (3.5, 0.5, 2.0)  # 0.5 + 3 * weight
    assert sem["dashes"] is False and kw["dashes"] and tmp["dashes"]
    assert d.link_kinds == ["keyword", "semantic", "temporal"]
    # Positions are centred and scaled, keeping their geometry.
    xy = np.array([[by_id[i]["x"], by_id[i]["y"]] for i in "abc"])
    assert xy[1, 0] - xy[0, 0] == pytest.approx((xy[2, 1] - xy[0, 1]) / 2)


def test_retention_colours_and_other_sizes(small):
    d = vis_data(small, colour_by="retention", size_by="recall_count")
    by_id = {n["id"]: n for n in d.nodes}
    assert by_id["a"]["color"] == retention_colours(np.array([1.0]))[0] != by_id["b"]["color"]
    assert [label for label, _ in d.legend] == ["0 (faded)", "0.5", "1 (fresh)"]
    assert by_id["a"]["size"] == 30.0 and by_id["b"]["size"] == 8.0  # log scale relative to the most recalled
    assert by_id["c"]["size"] == pytest.approx(8 + 22 * np.log(2) / np.log(5))
    deg = {n["id"]: n["size"] for n in vis_data(small, "kind", "degree").nodes}
    assert deg["a"] == 30.0 and deg["c"] < deg["b"]  # a has 3 links, b 2, c 1
    with pytest.raises(KeyError):
        vis_data(small, "kind", "weight")


def test_colour_by_the_number_of_questions_that_retrieved_a_memory(small):
    d = vis_data(small, colour_by="retrieved", retrieved={"a": 12, "c": 3})
    by_id = {n["id"]: n for n in d.nodes}
    bins = {label: colour for _, _, label, colour in RETRIEVED_BINS}
    assert by_id["a"]["color"] == bins["10+"] and by_id["c"]["color"] == bins["2-4"]
    assert by_id["b"]["color"] == bins["retrieved by 0 questions"]  # missing from the counts: never retrieved
    assert [label for label, _ in d.legend] == ["retrieved by 0 questions", "1", "2-4", "5-9", "10+"]
    assert "retrieved by 12 questions" in by_id["a"]["title"] and "retrieved by 0 questions" in by_id["b"]["title"]
    one = {n["id"]: n["color"] for n in vis_data(small, "retrieved", retrieved={"a": 1, "b": 5, "c": 9}).nodes}
    assert one == {"a": bins["1"], "b": bins["5-9"], "c": bins["5-9"]}
    # without an evaluation of the store: all grey, and the legend says why
    plain = vis_data(small, colour_by="retrieved")
    assert {n["color"] for n in plain.nodes} == {OTHER_COLOUR} and plain.legend == [(NO_EVALUATION, OTHER_COLOUR)]
    assert not any("retrieved by" in n["title"] for n in plain.nodes)


def test_hits_and_centres_stand_out(small):
    d = vis_data(small, "community", "importance", highlight={"b": 1}, centres=["c"])
    by_id = {n["id"]: n for n in d.nodes}
    assert by_id["b"]["shape"] == "star" and by_id["b"]["label"] == "#1" and "recall hit #1" in by_id["b"]["title"]
    assert by_id["c"]["shape"] == "diamond" and by_id["a"]["shape"] == "dot"
    assert d.legend[0][0] == "community 0"


def test_memory_text_is_escaped_in_the_page(small):
    d = vis_data(small)
    tip = next(n["title"] for n in d.nodes if n["id"] == "a")
    assert "&lt;script&gt;window.__xss = 1&lt;/script&gt;&lt;img src=x onerror=alert(1)&gt;" in tip
    assert "<script>" not in tip and "<img" not in tip
    page = graph_html(d, note="<b>note</b>")
    assert "window.__xss" in page  # the text is there ...
    assert "<script>window.__xss" not in page and "<img src=x" not in page  # ... but never as markup
    assert "&lt;b&gt;note&lt;/b&gt;" in page
    # The node data embedded in the page is the vis data.
    nodes = json.loads(re.search(r"nodes = new vis\.DataSet\((\[.*?\])\);", page, re.DOTALL).group(1))
    assert [n["id"] for n in nodes] == [n["id"] for n in d.nodes]


def test_page_works_offline(small):
    page = graph_html(vis_data(small))
    assert not re.search(r"<(?:script|link)\b[^>]*(?:src|href)\s*=\s*\"https?://", page)
    assert "vis.Network" in page and len(page) > 400_000  # vis-network is inlined
    assert 'id="memviz-legend"' in page


def test_summary_graph_nodes_are_labelled_with_their_size():
    g = nx.Graph()
    g.add_node(
        "community:0",
        community=0,
        size=40,
        text="Community 0: 40 memories",
        kind="community",
        retention=0.2,
        importance=0.3,
        recall_count=2,
    )
    g.add_node(
        "community:1",
        community=1,
        size=10,
        text="Community 1: 10 memories",
        kind="community",
        retention=0.9,
        importance=0.3,
        recall_count=0,
    )
    g.add_edge("community:0", "community:1", links=7, weight=3.0, kind="aggregate")
    d = vis_data(g, "community", "size")
    assert [n["label"] for n in d.nodes] == ["C0 (40)", "C1 (10)"]
    assert [n["size"] for n in d.nodes] == [30.0, pytest.approx(8 + 22 * 0.5)]  # square root of the share
    assert d.edges[0]["width"] == 3.5 and "7 links" in d.edges[0]["title"]


def test_category_colours_group_the_rare_ones():
    values = pd.Series([f"s{i}" for i in range(30)] + ["s0"] * 3)
    colours, legend = category_colours(values, max_colours=24)
    assert legend[0] == ("s0", PALETTE[0]) and len(legend) == 25
    assert legend[-1] == ("other (6 more)", OTHER_COLOUR)
    assert (colours == OTHER_COLOUR).sum() == 6


def test_embedding_map_points_query_and_hits():
    points = pd.DataFrame(
        {
            "x": [0.0, 1.0, 2.0, 3.0],
            "y": [0.0, 1.0, 0.0, 1.0],
            "text": [XSS, "b", "c", "d"],
            "speaker": ["Ann", "Bob", "Ann", "Ann"],
            "session_id": ["s1"] * 4,
            "kind": ["episodic"] * 4,
            "retention": [0.1, 0.2, 0.3, 0.4],
        }
    )
    hits = points.iloc[[2, 0]].assign(rank=[1, 2])
    fig = embedding_map_figure(points, "speaker", np.array([5.0, 5.0]), "my <query>", hits, (0.3, 0.2))
    by_name = {t.name: t for t in fig.data if t.name}
    assert list(by_name["Ann"].x) == [0.0, 2.0, 3.0] and list(by_name["Bob"].y) == [1.0]
    assert list(by_name["recall hits"].text) == ["#1", "#2"] and list(by_name["recall hits"].x) == [2.0, 0.0]
    assert list(by_name["query"].x) == [5.0] and by_name["query"].text[0] == "my &lt;query&gt;"
    hover = " ".join(by_name["Ann"].text)
    assert "&lt;script&gt;" in hover and "<script>" not in hover
    assert "30.0%" in fig.layout.xaxis.title.text
    cont = embedding_map_figure(points, "retention")
    assert list(cont.data[0].marker.color) == [0.1, 0.2, 0.3, 0.4] and len(cont.data) == 1


# -- the Graph page's texts and the embedding map's recall overlay ----------------------------------------------
def test_analysis_metrics_tables_and_notes():
    from memviz import graph as mg
    from memviz.viz.graph import SIZE_LABELS, analysis_metrics, analysis_tables, filter_note, isolated_table

    nodes = pd.DataFrame({c: [] for c in mg.NODE_COLUMNS})
    nodes = pd.concat(
        [
            nodes,
            pd.DataFrame(
                {
                    "id": ["a", "b", "c"],
                    "text": ["x", "y", "z"],
                    "kind": "episodic",
                    "speaker": "A",
                    "session_id": ["s1", "s1", "s2"],
                    "source_id": "",
                    "time_s": 0.0,
                    "importance": 0.5,
                    "recall_count": 0,
                    "retention": 1.0,
                    "forgotten": False,
                    "keywords": "",
                }
            ),
        ],
        ignore_index=True,
    )
    links = pd.DataFrame({"source_id": ["b"], "target_id": ["a"], "kind": ["semantic"], "weight": [0.8]})
    g, comm, cent, analysis = mg.analyse_graph(nodes, links)
    metrics = analysis_metrics(1234, len(links), comm, analysis)
    assert [m[:2] for m in metrics] == [
        ("Memories", "1,234"),
        ("Links", "1"),
        ("Communities", "2"),
        ("Isolated memories", "1"),
        ("Cross-session links", "0"),
    ]
    assert metrics[-1][2].endswith("they join 0 pairs of sessions")
    assert analysis_metrics(0, 0, comm.iloc[:0], analysis)[2] == ("Communities", "0")
    tables = analysis_tables(analysis)
    assert [
        t[1] is f
        for t, f in zip(
            tables, (analysis.central, analysis.communities, analysis.session_bridges, analysis.bridge_memories)
        )
    ] == [True] * 4
    assert tables[0][2] == {"pagerank": "%.4f"} and "degree" in SIZE_LABELS
    title, isolated, formats = isolated_table(analysis)
    assert title == "**Isolated memories** (1: no link passes the filters)" and formats is None
    assert isolated["id"].tolist() == ["c"] and isolated_table(analysis, limit=0)[1].empty
    assert filter_note(3, 10, 1, 1374).startswith("The filters keep 3 of 10 memories and 1 of 1,374 links.")


def test_recall_overlay_places_the_query_and_orders_the_hits():
    from memviz.projection import fit_projection
    from memviz.viz.embedding_map import map_caption, recall_overlay

    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(5, 8)).astype(np.float32)
    proj = fit_projection(list("abcde"), vecs)
    points = pd.DataFrame({"id": list("abcde"), "x": proj.coords[:, 0], "y": proj.coords[:, 1], "text": list("ABCDE")})
    query_xy, hits = recall_overlay(points, proj, {"d": 1, "zz": 2, "b": 3}, vecs[3])
    assert query_xy == pytest.approx(proj.coords[3])  # the query lands where its vector projects
    assert hits["id"].tolist() == ["d", "b"] and hits["rank"].tolist() == [1, 3]  # a hit not on the map is left out
    assert recall_overlay(points, proj, {"a": 1})[0] is None
    fig = embedding_map_figure(
        points.assign(speaker="A", session_id="s", kind="k", retention=1.0),
        "speaker",
        query_xy,
        "q",
        hits,
        proj.explained,
    )
    assert {"query", "recall hits"} <= {t.name for t in fig.data}
    assert map_caption(1234, (0.1, 0.05), False).startswith("1,234 memories (the filtered ones)")
    assert "15.0% of the variance. The query and its hits are overlaid." in map_caption(5, (0.1, 0.05), True)


def test_top_nodes_carry_short_escaped_labels_the_rest_hover():
    from memviz.viz.graph import label_of

    g = nx.MultiGraph()
    for n in range(100):
        text = f"<b>Memory {n}</b> & a long text that goes on and on" if n == 7 else f"Memory {n} says little"
        g.add_node(f"m{n}", text=text, kind="episodic", score=n / 100 if n != 7 else 1.0)
    data = vis_data(g, n_labels=10)
    labelled = {n["id"]: n["label"] for n in data.nodes if "label" in n}
    assert set(labelled) == {"m7", *(f"m{n}" for n in range(90, 99 + 1) if n != 90)}  # the 10 best scores
    assert labelled["m7"] == label_of(g.nodes["m7"]["text"]) and len(labelled["m7"]) <= 28
    assert "<" not in labelled["m7"] and "&" not in labelled["m7"] and labelled["m7"].startswith("‹b›Memory 7")
    assert all("title" in n for n in data.nodes)  # every node shows its text on hover
    assert label_of("Talk to you later!") == "Talk to you later!"
    assert label_of("Hey John! Long time no talk. I just wanted to say") == "Hey John! Long time no…"
    page = graph_html(data)
    assert "<b>Memory 7" not in page


def test_expected_memory_and_its_path_are_marked():
    from memviz.viz.graph import PATH_COLOUR

    g = nx.MultiGraph()
    for n in "ehab":
        g.add_node(n, text=f"memory {n}", kind="episodic")
    g.add_edge("e", "a", "semantic", kind="semantic", weight=0.7)
    g.add_edge("a", "h", "keyword", kind="keyword", weight=0.3)
    g.add_edge("a", "b", "semantic", kind="semantic", weight=0.7)
    data = vis_data(g, highlight={"h": 1}, expected={"e": ["e", "a", "h"]})
    nodes = {n["id"]: n for n in data.nodes}
    assert nodes["e"]["shape"] == "triangle" and nodes["e"]["label"].startswith("expected: memory e")
    assert nodes["h"]["shape"] == "star" and nodes["a"]["color"]["border"] == PATH_COLOUR
    on_path = {frozenset((d["from"], d["to"])) for d in data.edges if d["color"] == PATH_COLOUR}
    assert on_path == {frozenset("ea"), frozenset("ah")}
