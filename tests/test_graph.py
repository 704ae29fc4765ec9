"""The memory graph on hand-made frames: filters, the two graphs, communities, analysis, focus views, levels of
detail and export; and graph_frames on a real store."""

from __future__ import annotations

import json

import igraph
import networkx as nx
import pandas as pd
import pytest

from memviz import graph as mg
from memviz import graph_views as gv
from memviz.errors import ConfigError, UnknownMemoryError
from memviz.models import MemoryInput

from support import DAY, T0


def _nodes(rows) -> pd.DataFrame:
    base = {
        "text": "",
        "kind": "episodic",
        "speaker": "A",
        "session_id": "s1",
        "source_id": "",
        "time_s": T0,
        "importance": 0.5,
        "recall_count": 0,
        "retention": 1.0,
        "forgotten": False,
        "keywords": "",
    }
    return pd.DataFrame([base | r for r in rows], columns=list(mg.NODE_COLUMNS))


def _links(rows) -> pd.DataFrame:
    return pd.DataFrame(rows, columns=list(mg.LINK_COLUMNS))


@pytest.fixture
def two_cliques():
    """Two 4-cliques (sessions s1 and s2) joined by one weak keyword link c1 - d1, plus an isolated memory."""
    a = [f"a{i}" for i in range(4)]
    b = [f"b{i}" for i in range(4)]
    nodes = _nodes(
        [{"id": i, "text": f"alpha {i}", "session_id": "s1", "speaker": "Ann", "keywords": "alpha, sun"} for i in a]
        + [{"id": i, "text": f"beta {i}", "session_id": "s2", "speaker": "Bob", "keywords": "beta"} for i in b]
        + [{"id": "lone", "text": "alone", "session_id": "s3", "speaker": "Cy"}]
    )
    rows = [(x, y, "semantic", 0.9) for grp in (a, b) for n, x in enumerate(grp) for y in grp[:n]]
    rows += [("b0", "a0", "keyword", 0.2), ("a1", "a0", "temporal", 1.0)]  # a1-a0 is linked twice
    return nodes, _links(rows)


def test_filter_keeps_matching_memories_and_links_between_them(two_cliques):
    nodes, links = two_cliques
    n, lk = mg.filter_frames(nodes, links, mg.GraphFilter(sessions=("s1",)))
    assert set(n["id"]) == {"a0", "a1", "a2", "a3"}
    assert len(lk) == 6 + 1  # the clique and the temporal link; the keyword link to s2 is gone
    n, lk = mg.filter_frames(nodes, links, mg.GraphFilter(link_kinds=("keyword",)))
    assert len(n) == 9 and lk[["source_id", "target_id"]].values.tolist() == [["b0", "a0"]]
    n, lk = mg.filter_frames(nodes, links, mg.GraphFilter(min_weight=0.5))
    assert "keyword" not in set(lk["kind"]) and len(lk) == 13


def test_filter_on_time_retention_speaker_and_forgotten(two_cliques):
    nodes, links = two_cliques
    nodes = nodes.assign(
        time_s=T0 + nodes.index * DAY, retention=[0.1 * i for i in range(9)], forgotten=[False] * 8 + [True]
    )
    n, _ = mg.filter_frames(nodes, links, mg.GraphFilter(start_s=T0 + 2 * DAY, end_s=T0 + 4 * DAY))
    assert list(n["id"]) == ["a2", "a3", "b0"]
    n, _ = mg.filter_frames(nodes, links, mg.GraphFilter(min_retention=0.65))
    assert list(n["id"]) == ["b3", "lone"]
    n, _ = mg.filter_frames(nodes, links, mg.GraphFilter(speakers=("Bob",), include_forgotten=False))
    assert list(n["id"]) == ["b0", "b1", "b2", "b3"]
    n, _ = mg.filter_frames(nodes, links, mg.GraphFilter(include_forgotten=False))
    assert "lone" not in set(n["id"])


@pytest.mark.parametrize(
    "kwargs",
    [{"min_weight": 1.5}, {"min_retention": -0.1}, {"link_kinds": ("friendship",)}, {"start_s": 10.0, "end_s": 5.0}],
)
def test_bad_filter_is_a_config_error(kwargs):
    with pytest.raises(ConfigError):
        mg.GraphFilter(**kwargs)


def test_analysis_graph_adds_parallel_links_and_display_graph_keeps_them(two_cliques):
    nodes, links = two_cliques
    g = mg.analysis_graph(nodes, links)
    assert g.vcount() == 9 and g.ecount() == 6 + 6 + 1 and list(mg.vertex_ids(g)) == nodes["id"].tolist()
    pair = g.es[g.get_eid("a1", "a0")]
    assert pair["weight"] == pytest.approx(1.9) and pair["links"] == 2
    assert g.es[g.get_eid("a0", "b0")]["weight"] == pytest.approx(0.2) and not g.is_directed()
    d = mg.build_graph(nodes, links)
    assert d.number_of_edges() == len(links) == 14
    assert set(d["a1"]["a0"]) == {"semantic", "temporal"}  # keyed by kind
    assert d["b0"]["a0"]["keyword"] == {"kind": "keyword", "weight": 0.2, "newer": "b0"}
    assert d.nodes["a2"]["text"] == "alpha a2" and d.nodes["lone"]["session_id"] == "s3"


def test_links_to_unknown_memories_are_left_out(two_cliques):
    nodes, links = two_cliques
    links = pd.concat([links, _links([("ghost", "a0", "semantic", 0.8)])])
    assert "ghost" not in mg.vertex_ids(mg.analysis_graph(nodes, links))
    assert "ghost" not in mg.build_graph(nodes, links)


def test_communities_find_the_two_cliques_largest_first(two_cliques):
    nodes, links = two_cliques
    comm = mg.communities(mg.analysis_graph(nodes, links))
    assert comm.nunique() == 3  # two cliques and the isolated memory
    assert comm[["a0", "a1", "a2", "a3"]].nunique() == 1 and comm[["b0", "b1", "b2", "b3"]].nunique() == 1
    assert comm["a0"] != comm["b0"]
    assert comm["lone"] == 2  # the smallest community has the highest number
    assert mg.communities(igraph.Graph()).empty and mg.centrality(igraph.Graph()).empty


def test_centrality_and_analysis_tables(two_cliques):
    nodes, links = two_cliques
    g = mg.analysis_graph(nodes, links)
    comm, cent = mg.communities(g), mg.centrality(g)
    assert cent["pagerank"].sum() == pytest.approx(1.0)
    assert cent.loc["a0", "degree"] == 4 and cent.loc["lone", "degree"] == 0
    a = mg.analyse(nodes, links, comm, cent, top_n=3)
    assert a.central["id"].iloc[0] == "a0"  # linked inside its clique and across: the most central
    assert len(a.central) == 3
    assert a.isolated["id"].tolist() == ["lone"]
    assert a.communities["size"].tolist() == [4, 4, 1]
    assert a.communities.loc[a.communities["speakers"] == "Ann", "keywords"].item() == "alpha, sun"
    assert a.session_bridges.to_dict("records") == [{"session_a": "s1", "session_b": "s2", "links": 1}]
    assert (a.cross_session_links, a.session_pairs) == (1, 1)
    assert set(a.bridge_memories["id"]) == {"a0", "b0"}
    assert a.bridge_memories["other_sessions"].tolist() == [1, 1]
    with pytest.raises(ConfigError):
        mg.analyse(nodes, links, comm, cent, top_n=0)


def test_ego_ids_reach_radius_links(two_cliques):
    nodes, links = two_cliques
    g = mg.analysis_graph(nodes, links)
    assert mg.ego_ids(g, ["lone"], 2) == ["lone"]
    assert set(mg.ego_ids(g, ["a1"], 1)) == {"a0", "a1", "a2", "a3"}
    assert set(mg.ego_ids(g, ["a1"], 2)) == {"a0", "a1", "a2", "a3", "b0"}
    assert mg.ego_ids(g, ["b2", "lone"], 0) == ["b2", "lone"]
    with pytest.raises(UnknownMemoryError):
        mg.ego_ids(g, ["nope"], 1)
    with pytest.raises(ConfigError):
        mg.ego_ids(g, ["a1"], -1)


def test_top_ids_keep_the_hits_and_fill_with_the_best():
    score = pd.Series({"a": 0.5, "b": 0.9, "c": 0.1, "d": 0.7})
    assert gv.top_ids(score, 2) == ["b", "d"]
    assert gv.top_ids(score, 2, keep=["c", "zz"]) == ["c", "b"]
    assert gv.top_ids(score, 10) == ["b", "d", "a", "c"]
    with pytest.raises(ConfigError):
        gv.top_ids(score, 0)


def test_summary_graph_has_one_node_per_community(two_cliques):
    nodes, links = two_cliques
    g = mg.analysis_graph(nodes, links)
    comm, cent = mg.communities(g), mg.centrality(g)
    s = gv.summary_graph(nodes.assign(x=range(9), y=0.0), links, comm, cent)
    assert s.number_of_nodes() == 3
    a = f"community:{comm['a0']}"
    b = f"community:{comm['b0']}"
    assert s.nodes[a]["size"] == 4 and s.nodes[a]["speaker"] == "Ann" and s.nodes[a]["x"] == pytest.approx(1.5)
    assert "alpha" in s.nodes[a]["text"] and s.nodes[a]["kind"] == "community"
    assert s.edges[a, b] == {"links": 1, "weight": pytest.approx(0.2), "kind": "aggregate"}
    assert s.degree(f"community:{comm['lone']}") == 0


def test_export_graphml_and_json_round_trip(two_cliques):
    nodes, links = two_cliques
    nodes.loc[0, "text"] = 'a <b>bold</b> & "quoted" text'
    d = mg.build_graph(nodes.assign(time_s=[float("nan")] + [T0] * 8), links)
    back = nx.parse_graphml(gv.to_graphml(d), force_multigraph=True)
    assert back.number_of_nodes() == 9 and back.number_of_edges() == 14
    assert back.nodes["a0"]["text"] == 'a <b>bold</b> & "quoted" text'
    assert "time_s" not in back.nodes["a0"] and back.nodes["a1"]["time_s"] == T0  # NaN is left out
    data = json.loads(gv.to_json(d))
    assert len(data["nodes"]) == 9 and len(data["edges"]) == 14
    assert {e["kind"] for e in data["edges"]} == {"semantic", "keyword", "temporal"}


def test_graph_frames_of_a_real_store(engine):
    engine.write(
        [
            MemoryInput(
                "I adopted a grey cat named Miso.", speaker="Ann", session_id="s1", event_time_s=engine.clock.now()
            ),
            MemoryInput("Miso the cat sleeps on my keyboard.", speaker="Ann", session_id="s1"),
            MemoryInput("My sister adopted a grey kitten too.", speaker="Bob", session_id="s2"),
        ]
    )
    nodes, links = mg.graph_frames(engine)
    assert list(nodes.columns) == list(mg.NODE_COLUMNS) and len(nodes) == 3
    assert nodes["retention"].between(0, 1).all() and not nodes["forgotten"].any()
    assert (nodes["time_s"] > 0).all()
    assert set(links["kind"]) >= {"temporal"} and links["weight"].between(0, 1).all()
    g = mg.build_graph(nodes, links)
    assert g.number_of_edges() == len(links)


# -- what the Graph page used to compute itself ------------------------------------------------------------------
def test_analyse_graph_place_nodes_and_by_pagerank(two_cliques):
    nodes, links = two_cliques
    g, comm, cent, analysis = mg.analyse_graph(nodes, links)
    assert set(mg.vertex_ids(g)) == set(nodes["id"]) and len(analysis.isolated) == 1
    placed = gv.place_nodes(nodes, comm)
    assert placed["community"].dtype == "int64" and "x" not in placed
    ids = ["a0", "b0", "zz"]  # zz is on the map but not a node; the other nodes are not on the map
    placed = gv.place_nodes(nodes, comm, ids, [[1.0, 2.0], [3.0, 4.0], [5.0, 6.0]])
    assert placed.set_index("id").loc["b0", ["x", "y"]].tolist() == [3.0, 4.0]
    assert placed.set_index("id")["x"].isna().sum() == len(nodes) - 2 and len(placed) == len(nodes)
    ranked = gv.by_pagerank(nodes, cent)
    assert ranked["id"].map(cent["pagerank"]).is_monotonic_decreasing and len(ranked) == len(nodes)


def test_level_of_detail_all_top_or_communities(two_cliques):
    nodes, links = two_cliques
    _g, comm, cent, _ = mg.analyse_graph(nodes, links)
    ids = nodes["id"].tolist()
    small = gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=20)
    assert not small.summarised and small.graph.number_of_nodes() == 9
    assert small.note == f"Showing 9 of 9 memories and {small.graph.number_of_edges()} links."
    top = gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=3, rank_by="degree", keep=["lone"])
    assert "lone" in top.graph and top.graph.number_of_nodes() == 3
    assert top.note.startswith("Showing 3 of 9 memories (level of detail: the top 3 by links)")
    summary = gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=3, lod="communities")
    assert summary.summarised and all(n.startswith("community:") for n in summary.graph)
    assert summary.note.startswith(f"Level of detail: 9 memories summarised as {summary.graph.number_of_nodes()} ")
    ego = gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=3, lod="communities", can_summarise=False)
    assert not ego.summarised and ego.graph.number_of_nodes() == 3  # focus views are never summarised
    by_importance = gv.level_of_detail(
        nodes.assign(importance=[0.1] * 8 + [0.9]), links, comm, cent, ids, max_nodes=1, rank_by="importance"
    )
    assert list(by_importance.graph) == ["lone"]
    with pytest.raises(ConfigError):
        gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=0)
    with pytest.raises(ConfigError):
        gv.level_of_detail(nodes, links, comm, cent, ids, max_nodes=3, rank_by="text")


def test_recall_focus_takes_hits_and_vector_from_the_recall(engine):
    engine.write(
        [
            MemoryInput("Ann's cat Miso is grey.", id="m0"),
            MemoryInput("Bob plays the cello.", id="m1"),
            MemoryInput("Miso sleeps all day.", id="m2"),
        ]
    )
    result = engine.recall("Tell me about Miso the cat", k=2, reinforce=False)
    focus = gv.RecallFocus.of(result)
    assert focus.query == "Tell me about Miso the cat"
    assert focus.hits == {h.memory.id: h.rank for h in result.hits} and list(focus.hits.values()) == [1, 2]
    assert focus.vector is not None and focus.vector.shape == (engine.embedder.dim,)
    assert focus.vector == pytest.approx(engine.embedder.encode([focus.query])[0], abs=1e-5)
    shown, missing = focus.shown_hits({"m0"})
    assert shown == {i: r for i, r in focus.hits.items() if i == "m0"} and missing == len(focus.hits) - len(shown)


def test_export_files_build_their_text_only_when_asked(two_cliques):
    nodes, links = two_cliques
    shown = mg.build_graph(nodes.head(2), links)
    files = gv.export_files(shown, nodes, links)
    assert [f[2] for f in files] == [
        "memviz_graph.graphml",
        "memviz_graph.json",
        "memviz_graph_all.graphml",
        "memviz_graph_all.json",
    ]
    assert [f[3] for f in files] == ["application/graphml+xml", "application/json"] * 2
    assert files[2][0] == "All 9 filtered (GraphML)"
    assert len(json.loads(files[1][1]())["nodes"]) == 2 and len(json.loads(files[3][1]())["nodes"]) == 9
    assert files[0][1]().startswith("<graphml")
    assert gv.EXPORT_NOTE.startswith("GraphML opens in Gephi")


# -- what the Graph page's widgets build (memviz.ui.graph passes their values here) --------------------------
def test_filter_of_makes_the_date_range_inclusive_and_the_picks_tuples():
    f = mg.filter_of((T0, T0 + DAY), ["s1"], ["Ann"], ["episodic"], ["keyword"], 0.3, 0.2, False)
    assert (f.start_s, f.end_s) == (T0, T0 + DAY - 1)  # the date input's end is exclusive, the filter's inclusive
    assert (f.sessions, f.speakers, f.kinds, f.link_kinds) == (("s1",), ("Ann",), ("episodic",), ("keyword",))
    assert (f.min_weight, f.min_retention, f.include_forgotten) == (0.3, 0.2, False)
    assert mg.filter_of(None) == mg.GraphFilter()
    with pytest.raises(ConfigError):
        mg.filter_of(None, link_kinds=["nope"])


def test_display_options_detail_and_styles(two_cliques):
    nodes, links = two_cliques
    _g, comm, cent, _ = mg.analyse_graph(nodes, links)
    ids = nodes["id"].tolist()
    store = gv.DisplayOptions("store", "speaker", "degree", "communities", 3, "pagerank")
    summary = store.detail(nodes, links, comm, cent, ids)
    assert summary.summarised and store.styles(summary) == ("community", "size")
    ego = gv.DisplayOptions("memory", "speaker", "degree", "communities", 3, "degree")
    top = ego.detail(nodes, links, comm, cent, ids, keep=["lone"])  # a focus view is never summarised
    assert not top.summarised and "lone" in top.graph and top.graph.number_of_nodes() == 3
    assert ego.styles(top) == ("speaker", "degree")
    assert gv.DisplayOptions().detail(nodes, links, comm, cent, ids).graph.number_of_nodes() == 9


def _hub_store():
    """A pleasantry linked to everything (the hub) and three memories worth keeping, one of them recalled."""
    nodes = _nodes(
        [
            {"id": "hub", "text": "Sounds nice, Maria!", "importance": 0.2},
            {"id": "job", "text": "I start my new job as a nurse on Monday", "importance": 0.9},
            {"id": "dog", "text": "We adopted a dog named Max", "importance": 0.8, "recall_count": 4},
            {"id": "x1", "text": "ok", "importance": 0.1},
            {"id": "x2", "text": "ok then", "importance": 0.1},
        ]
    )
    links = _links([("hub", o, "semantic", 0.9) for o in ("job", "dog", "x1", "x2")] + [("dog", "job", "keyword", 0.3)])
    return nodes, links


def test_display_score_weighs_importance_and_recalls_not_only_links():
    nodes, links = _hub_store()
    g = mg.analysis_graph(nodes, links)
    cent = mg.centrality(g)
    assert cent["pagerank"].idxmax() == "hub"  # by links alone, small talk is the centre
    score = gv.display_score(nodes, cent)
    assert score.between(0, 1).all() and score.idxmax() == "dog" and score["job"] > score["hub"]
    detail = gv.level_of_detail(nodes, links, mg.communities(g), cent, nodes["id"].tolist(), 2)
    assert set(detail.graph.nodes) == {"dog", "job"} and "by importance, recalls and links" in detail.note
    assert detail.graph.nodes["dog"]["score"] == pytest.approx(score["dog"])
    by_links = gv.level_of_detail(nodes, links, mg.communities(g), cent, nodes["id"].tolist(), 2, rank_by="pagerank")
    assert "hub" in by_links.graph.nodes


def test_focus_paths_run_from_the_expected_memory_to_the_nearest_hit():
    g = igraph.Graph.TupleList([("e", "a"), ("a", "b"), ("b", "h1"), ("e", "c"), ("c", "h2")])
    g.add_vertex("alone")
    paths = gv.focus_paths(g, ["h1", "h2"], ["e", "h1", "alone", "missing"])
    assert paths == {"e": ["e", "c", "h2"], "h1": ["h1"]}  # fewest links; a hit is its own path
    assert gv.focus_paths(g, [], ["e"]) == {}


def test_the_garbage_collector_is_paused_only_while_a_graph_is_built():
    import gc

    seen = []

    @mg.gc_paused
    def build(fail: bool) -> None:
        seen.append(gc.isenabled())
        if fail:
            raise ValueError("boom")

    assert gc.isenabled()
    build(False)
    with pytest.raises(ValueError):
        build(True)
    assert seen == [False, False] and gc.isenabled()  # back on, also after an error
