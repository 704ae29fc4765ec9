"""Graph: how memories link. Filters, focus views (around a memory, around a query's recall), a level of detail
for large stores, networkx analysis, GraphML/JSON export and the embedding map."""

from __future__ import annotations

from datetime import datetime, time, timedelta, timezone

import networkx as nx
import pandas as pd
import streamlit as st

from memviz import graph as mg
from memviz.decay import DECAY_MODELS
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.models import LINK_KINDS
from memviz.projection import Projection, fit_projection
from memviz.ui.state import db_uri, get_engine
from memviz.viz.embedding_map import MAP_COLOUR_BY, embedding_map_figure
from memviz.viz.graph import COLOUR_BY, graph_html, vis_data
from memviz.viz.memories import memory_labels

MAX_PICK = 2000
GRAPH_HEIGHT_PX = 640
LEGEND_PX = 80  # the legend strip above the graph
VIEWS = {"store": "Whole store", "memory": "Around a memory", "query": "Around a query's recall"}
LODS = {"top": "Top memories", "communities": "One node per community"}
RANK_LABELS = {"pagerank": "PageRank", "degree": "links", "importance": "importance", "recall_count": "recall count"}
SIZE_LABELS = {"importance": "importance", "recall_count": "recall count", "degree": "links"}


@st.cache_data(show_spinner="Reading memories and links ...", max_entries=4)
def frames(uri: str, version: int, now_s: float, model: str, _engine: MemoryEngine) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the store; cached per store, version, clock time and decay model."""
    return mg.graph_frames(_engine, model, now_s)


@st.cache_resource(show_spinner="Analysing the graph (Louvain communities, PageRank) ...", max_entries=4)
def analysed(uri: str, version: int, now_s: float, model: str, flt: mg.GraphFilter, _nodes: pd.DataFrame,
             _links: pd.DataFrame) -> tuple[nx.Graph, pd.Series, pd.DataFrame, mg.GraphAnalysis]:
    """The analysis graph of the filtered frames, its communities, centrality and analysis tables; cached per
    store version, clock, model and filter (the frames are determined by those)."""
    g = mg.analysis_graph(_nodes, _links)
    comm = mg.communities(g)
    cent = mg.centrality(g)
    return g, comm, cent, mg.analyse(_nodes, _links, comm, cent)


@st.cache_resource(show_spinner="Projecting the vectors (PCA) ...", max_entries=4)
def projection(uri: str, version: int, _engine: MemoryEngine) -> Projection | None:
    """The 2-D map of every stored vector (None when the store has fewer than 3 memories)."""
    ids, vecs = _engine.store.vectors()
    return fit_projection(ids, vecs) if len(ids) >= 3 else None


def filter_widgets(nodes: pd.DataFrame) -> tuple[mg.GraphFilter, str]:
    """The filter widgets; returns the filter and the decay model."""
    c = st.columns([2, 2, 2, 2])
    sessions = c[0].multiselect("Session", sorted(nodes["session_id"].unique()), key="graph_sessions")
    speakers = c[1].multiselect("Speaker", sorted(nodes["speaker"].unique()), key="graph_speakers")
    kinds = c[2].multiselect("Memory kind", sorted(nodes["kind"].unique()), key="graph_kinds")
    link_kinds = c[3].multiselect("Link kinds", LINK_KINDS, default=list(LINK_KINDS), key="graph_link_kinds")
    c = st.columns([2, 2, 2, 1, 1])
    start_s = end_s = None
    if len(nodes):
        lo, hi = (datetime.fromtimestamp(t, tz=timezone.utc).date() for t in (nodes["time_s"].min(), nodes["time_s"].max()))
        picked = c[0].date_input("Time range", value=(lo, hi), min_value=lo, max_value=hi, key="graph_dates")
        if len(picked) == 2 and tuple(picked) != (lo, hi):
            start_s = datetime.combine(picked[0], time(), tzinfo=timezone.utc).timestamp()
            end_s = (datetime.combine(picked[1], time(), tzinfo=timezone.utc) + timedelta(days=1)).timestamp() - 1
    min_weight = c[1].slider("Min link weight", 0.0, 1.0, 0.0, 0.05, key="graph_min_weight")
    min_retention = c[2].slider("Min retention", 0.0, 1.0, 0.0, 0.01, key="graph_min_retention")
    model = c[3].selectbox("Decay model", DECAY_MODELS, key="graph_decay")
    forgotten = c[4].checkbox("Forgotten too", value=True, key="graph_forgotten")
    flt = mg.GraphFilter(start_s, end_s, tuple(sessions), tuple(speakers), tuple(kinds), tuple(link_kinds),
                         min_weight, min_retention, forgotten)
    return flt, model


def pick_memory(nodes: pd.DataFrame) -> str | None:
    """A search box and a picker over the filtered memories (most central first)."""
    c = st.columns([2, 3])
    search = c[0].text_input("Find a memory", key="graph_mem_search", placeholder="words of its text or its source id")
    shown = nodes
    if search.strip():
        s = search.strip()
        shown = nodes[nodes["text"].str.contains(s, case=False, regex=False) | (nodes["source_id"] == s)]
    options = shown["id"].head(MAX_PICK).tolist()
    if not options:
        c[1].info("No memory matches.")
        return None
    labels = memory_labels(shown.head(MAX_PICK))
    return c[1].selectbox("Memory", options, key="graph_memory", format_func=lambda i: labels.get(i, i))


def recall_widgets(engine: MemoryEngine, model: str) -> dict | None:
    """The query of the query view: runs a recall (no reinforcement) when asked; kept in the session."""
    c = st.columns([4, 1, 1])
    query = c[0].text_input("Query", key="graph_query", placeholder="e.g. What does Caroline do for fun?")
    k = c[1].number_input("k", 1, 50, 10, key="graph_k")
    c[2].write("")
    if c[2].button("Recall", key="graph_recall_button", type="primary", width="stretch"):
        try:
            res = engine.recall(query, k=int(k), reinforce=False, decay_model=model)
        except MemvizError as e:
            st.error(str(e))
            return None
        st.session_state["graph_recall"] = {
            "query": res.trace.query, "hits": {h.memory.id: h.rank for h in res.hits},
            "texts": {h.memory.id: h.memory.text for h in res.hits}, "vector": engine.embedder.encode([res.trace.query])[0],
            "db": db_uri(),
        }
    rec = st.session_state.get("graph_recall")
    return rec if rec and rec["db"] == db_uri() else None


def analysis_tab(nodes: pd.DataFrame, links: pd.DataFrame, comm: pd.Series, analysis: mg.GraphAnalysis) -> None:
    m = st.columns(5)
    m[0].metric("Memories", f"{len(nodes):,}")
    m[1].metric("Links", f"{len(links):,}")
    m[2].metric("Communities", f"{int(comm.max()) + 1:,}" if len(comm) else "0")
    m[3].metric("Isolated memories", f"{len(analysis.isolated):,}")
    m[4].metric("Cross-session links", f"{analysis.cross_session_links:,}",
                help=f"Links between memories of different sessions; they join {analysis.session_pairs:,} pairs of sessions")
    left, right = st.columns(2)
    left.markdown("**Most central memories** (PageRank over the weighted links)")
    left.dataframe(analysis.central, hide_index=True, column_config={"pagerank": st.column_config.NumberColumn(format="%.4f")})
    right.markdown("**Largest communities** (Louvain)")
    right.dataframe(analysis.communities, hide_index=True)
    left.markdown("**Sessions joined by the most links**")
    left.dataframe(analysis.session_bridges, hide_index=True)
    right.markdown("**Bridge memories** (linked into the most other sessions)")
    right.dataframe(analysis.bridge_memories, hide_index=True)
    st.markdown(f"**Isolated memories** ({len(analysis.isolated):,}: no link passes the filters)")
    st.dataframe(analysis.isolated.head(500), hide_index=True)


def map_tab(nodes: pd.DataFrame, proj: Projection | None, recalled: dict | None) -> None:
    if proj is None:
        st.info("The embedding map needs at least 3 memories.")
        return
    map_colour = st.selectbox("Colour by", MAP_COLOUR_BY, index=MAP_COLOUR_BY.index("speaker"), key="graph_map_colour")
    query_xy = hits = None
    if recalled is not None:
        query_xy = proj.transform(recalled["vector"])[0]
        hit_rows = nodes[nodes["id"].isin(list(recalled["hits"]))]
        hits = hit_rows.assign(rank=hit_rows["id"].map(recalled["hits"])).sort_values("rank")
    st.plotly_chart(embedding_map_figure(nodes, map_colour, query_xy, recalled["query"] if recalled else "", hits,
                                         proj.explained), key="graph_map", width="stretch")
    st.caption(f"{len(nodes):,} memories (the filtered ones) projected by PCA of their 384-d vectors; the two axes "
               f"explain {sum(proj.explained):.1%} of the variance. "
               + ("The query and its hits are overlaid." if recalled else
                  "Run a recall in the query view to place a query and its hits on the map."))


def export_tab(shown_graph: nx.Graph, nodes: pd.DataFrame, links: pd.DataFrame) -> None:
    st.caption("GraphML opens in Gephi, yEd and Cytoscape; JSON is networkx node-link data. Each link is its own "
               "edge, keyed by its kind; memory attributes include text, speaker, session, retention and community. "
               "Files are made when a button is pressed.")
    c = st.columns(4)
    c[0].download_button("Shown graph (GraphML)", lambda: mg.to_graphml(shown_graph), "memviz_graph.graphml",
                         "application/graphml+xml", key="graph_dl_graphml", on_click="ignore")
    c[1].download_button("Shown graph (JSON)", lambda: mg.to_json(shown_graph), "memviz_graph.json", "application/json",
                         key="graph_dl_json", on_click="ignore")
    c[2].download_button(f"All {len(nodes):,} filtered (GraphML)", lambda: mg.to_graphml(mg.build_graph(nodes, links)),
                         "memviz_graph_all.graphml", "application/graphml+xml", key="graph_dl_all_graphml",
                         on_click="ignore")
    c[3].download_button(f"All {len(nodes):,} filtered (JSON)", lambda: mg.to_json(mg.build_graph(nodes, links)),
                         "memviz_graph_all.json", "application/json", key="graph_dl_all_json", on_click="ignore")


engine = get_engine()
st.title("Memory graph")
uri, version, now = db_uri(), engine.store.version(), engine.clock.now()
model = st.session_state.get("graph_decay", "exponential")
all_nodes, all_links = frames(uri, version, now, model, engine)
if all_nodes.empty:
    st.info("The store is empty: add memories on the Memories page.")
    st.stop()

with st.expander("Filters", expanded=False):
    flt, model = filter_widgets(all_nodes)
nodes, links = mg.filter_frames(all_nodes, all_links, flt)
if nodes.empty:
    st.warning("No memory passes the filters.")
    st.stop()
g, comm, cent, analysis = analysed(uri, version, now, model, flt, nodes, links)
proj = projection(uri, version, engine)
nodes = nodes.assign(community=nodes["id"].map(comm).astype("int64"))
if proj is not None:
    xy = pd.DataFrame(proj.coords, index=pd.Index(proj.ids, name="id"), columns=["x", "y"])
    nodes = nodes.join(xy, on="id")

c = st.columns([2, 1, 1, 2, 1, 1])
view = c[0].radio("View", list(VIEWS), format_func=VIEWS.get, key="graph_view")
colour_by = c[1].selectbox("Colour by", COLOUR_BY, index=COLOUR_BY.index("community"), key="graph_colour")
size_by = c[2].selectbox("Size by", list(SIZE_LABELS), format_func=SIZE_LABELS.get, key="graph_size")
lod = c[3].radio("Level of detail (large graphs)", list(LODS), format_func=LODS.get, key="graph_lod", horizontal=True)
max_nodes = c[4].number_input("Max nodes", 20, 3000, 300, step=50, key="graph_max_nodes",
                              help="Above this many memories, the level of detail applies")
rank_by = c[5].selectbox("Top by", mg.RANK_BY, format_func=RANK_LABELS.get, key="graph_rank_by")

highlight: dict[str, int] = {}
centres: list[str] = []
recalled = None
if view == "memory":
    c = st.columns([4, 1])
    with c[0]:
        picked = pick_memory(nodes.assign(pr=nodes["id"].map(cent["pagerank"])).sort_values("pr", ascending=False))
    radius = c[1].slider("Radius (links)", 1, 3, 1, key="graph_radius")
    if picked is None:
        st.stop()
    centres = [picked]
    ids = mg.ego_ids(g, centres, radius)
elif view == "query":
    recalled = recall_widgets(engine, model)
    radius = st.slider("Radius around the hits (links)", 0, 2, 1, key="graph_query_radius")
    if recalled is None:
        st.info("Type a query and press Recall: the graph shows its hits (stars, by rank) and their neighbours. "
                "The recall does not reinforce anything.")
        st.stop()
    highlight = {i: r for i, r in recalled["hits"].items() if i in g}
    if missing := len(recalled["hits"]) - len(highlight):
        st.caption(f"{missing} of the {len(recalled['hits'])} hits are hidden by the filters.")
    ids = mg.ego_ids(g, list(highlight), radius)
else:
    ids = nodes["id"].tolist()

total = len(ids)
if total > max_nodes and lod == "communities" and view == "store":
    shown_graph = mg.summary_graph(nodes, links, comm, cent)
    note = (f"Level of detail: {total:,} memories summarised as {shown_graph.number_of_nodes():,} communities "
            f"(Louvain); a community's size is its number of memories.")
    colour_by, size_by = "community", "size"
else:
    if total > max_nodes:
        score = cent[rank_by] if rank_by in cent else nodes.set_index("id")[rank_by]
        ids = mg.top_ids(score.loc[ids], int(max_nodes), keep=[*centres, *highlight])
    shown_graph = mg.build_graph(nodes[nodes["id"].isin(ids)], links)
    note = (f"Showing {shown_graph.number_of_nodes():,} of {total:,} memories"
            + (f" (level of detail: the top {int(max_nodes):,} by {RANK_LABELS[rank_by]})" if total > max_nodes else "")
            + f" and {shown_graph.number_of_edges():,} links.")
st.caption(note)
st.caption(f"The filters keep {len(nodes):,} of {len(all_nodes):,} memories and {len(links):,} of {len(all_links):,} "
           "links. Positions start from the embedding map and are relaxed by the layout; hover a node for its text, "
           "scroll to zoom, drag to pan.")
if recalled is not None:
    st.caption(f"Query: {recalled['query']!r}; hits are stars labelled with their rank.")
st.iframe(graph_html(vis_data(shown_graph, colour_by, size_by, highlight, centres), GRAPH_HEIGHT_PX),
          height=GRAPH_HEIGHT_PX + LEGEND_PX)

# Lazy tabs: only the open one runs.
tab_an, tab_map, tab_exp = st.tabs(["Analysis", "Embedding map", "Export"], key="graph_tab", on_change="rerun")
if tab_an.open:
    with tab_an:
        analysis_tab(nodes, links, comm, analysis)
if tab_map.open:
    with tab_map:
        map_tab(nodes, proj, recalled)
if tab_exp.open:
    with tab_exp:
        export_tab(shown_graph, nodes, links)
