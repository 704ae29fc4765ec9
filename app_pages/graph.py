"""Graph: how memories link. Filters, focus views (a memory, a query's recall), a level of detail for large stores,
analysis, GraphML/JSON export, the embedding map. Layout only: see memviz.graph, memviz.viz.graph/embedding_map."""

from __future__ import annotations

import networkx as nx
import pandas as pd
import streamlit as st

from memviz import graph as mg
from memviz.decay import DECAY_MODELS
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.models import LINK_KINDS
from memviz.projection import Projection, fit_projection
from memviz.ui import widgets as w
from memviz.ui.state import db_uri, get_engine
from memviz.viz import embedding_map as vm
from memviz.viz import graph as vg

MAX_PICK, GRAPH_HEIGHT_PX, LEGEND_PX = 2000, 640, 80  # picker options; the graph and the legend strip above it


@st.cache_data(show_spinner="Reading memories and links ...", max_entries=4)
def frames(
    uri: str, version: int, now_s: float, model: str, _engine: MemoryEngine
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the store; cached per store, version, clock time and decay model."""
    return mg.graph_frames(_engine, model, now_s)


@st.cache_resource(show_spinner="Analysing the graph (Louvain communities, PageRank) ...", max_entries=4)
def analysed(
    uri: str, version: int, now_s: float, model: str, flt: mg.GraphFilter, _nodes: pd.DataFrame, _links: pd.DataFrame
) -> tuple[nx.Graph, pd.Series, pd.DataFrame, mg.GraphAnalysis]:
    """:func:`memviz.graph.analyse_graph` of the filtered frames, cached per store version, clock, model and filter."""
    return mg.analyse_graph(_nodes, _links)


@st.cache_resource(show_spinner="Projecting the vectors (PCA) ...", max_entries=4)
def projection(uri: str, version: int, _engine: MemoryEngine) -> Projection | None:
    """The 2-D map of every stored vector (None when the store has fewer than 3 memories)."""
    ids, vecs = _engine.read.vectors()
    return fit_projection(ids, vecs) if len(ids) >= 3 else None


def filter_widgets(nodes: pd.DataFrame) -> tuple[mg.GraphFilter, str]:
    """The filter widgets; returns the filter and the decay model."""
    c = st.columns([2, 2, 2, 2])
    sessions = c[0].multiselect("Session", sorted(nodes["session_id"].unique()), key="graph_sessions")
    speakers = c[1].multiselect("Speaker", sorted(nodes["speaker"].unique()), key="graph_speakers")
    kinds = c[2].multiselect("Memory kind", sorted(nodes["kind"].unique()), key="graph_kinds")
    link_kinds = c[3].multiselect("Link kinds", LINK_KINDS, default=list(LINK_KINDS), key="graph_link_kinds")
    c = st.columns([2, 2, 2, 1, 1])
    span = w.date_range("Time range", (nodes["time_s"].min(), nodes["time_s"].max()), key="graph_dates", container=c[0])
    min_weight = c[1].slider("Min link weight", 0.0, 1.0, 0.0, 0.05, key="graph_min_weight")
    min_retention = c[2].slider("Min retention", 0.0, 1.0, 0.0, 0.01, key="graph_min_retention")
    model = c[3].selectbox("Decay model", DECAY_MODELS, key="graph_decay")
    forgotten = c[4].checkbox("Forgotten too", value=True, key="graph_forgotten")
    start_s, end_s = (span[0], span[1] - 1) if span else (None, None)  # the filter's end is inclusive
    return mg.GraphFilter(
        start_s,
        end_s,
        tuple(sessions),
        tuple(speakers),
        tuple(kinds),
        tuple(link_kinds),
        min_weight,
        min_retention,
        forgotten,
    ), model


def memory_view(g: nx.Graph, nodes: pd.DataFrame, cent: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Around a memory: a search, a picker (most central first) and a radius; returns the memories and the centre."""
    c = st.columns([2, 3, 1])
    picked = w.memory_search(mg.by_pagerank(nodes, cent), "Memory", "graph_memory", "graph_mem_search", MAX_PICK, c[:2])
    radius = c[2].slider("Radius (links)", 1, 3, 1, key="graph_radius")
    if picked is None:
        st.stop()
    return mg.ego_ids(g, [picked], radius), [picked]


def query_view(engine: MemoryEngine, model: str, g: nx.Graph) -> tuple[list[str], dict[str, int], mg.RecallFocus]:
    """Around a query's recall (a pure read): returns the hits and neighbours, the hits shown, the focus."""
    query, k, clicked = w.query_row(
        "graph", "Recall", "graph_recall_button", primary=True, placeholder="e.g. What does Caroline do for fun?"
    )
    if clicked:
        try:
            st.session_state["graph_recall"] = (
                db_uri(),
                mg.RecallFocus.of(engine.recall(query, k=k, reinforce=False, decay_model=model)),
            )
        except MemvizError as e:
            st.session_state.pop("graph_recall", None)
            st.error(str(e))
    radius = st.slider("Radius around the hits (links)", 0, 2, 1, key="graph_query_radius")
    db, focus = st.session_state.get("graph_recall", (None, None))
    if focus is None or db != db_uri():
        st.info(
            "Type a query and press Recall: the graph shows its hits (stars, by rank) and their neighbours. "
            "The recall does not reinforce anything."
        )
        st.stop()
    highlight, missing = focus.shown_hits(g)
    if missing:
        st.caption(f"{missing} of the {len(focus.hits)} hits are hidden by the filters.")
    return mg.ego_ids(g, list(highlight), radius), highlight, focus


def map_tab(nodes: pd.DataFrame, proj: Projection | None, focus: mg.RecallFocus | None) -> None:
    if proj is None:
        st.info("The embedding map needs at least 3 memories.")
        return
    colour = st.selectbox(
        "Colour by", vm.MAP_COLOUR_BY, index=vm.MAP_COLOUR_BY.index("speaker"), key="graph_map_colour"
    )
    query_xy, hits = vm.recall_overlay(nodes, proj, focus.hits, focus.vector) if focus else (None, None)
    st.plotly_chart(
        vm.embedding_map_figure(nodes, colour, query_xy, focus.query if focus else "", hits, proj.explained),
        key="graph_map",
        width="stretch",
    )
    st.caption(vm.map_caption(len(nodes), proj.explained, focus is not None))


engine = get_engine()
st.title("Memory graph")
uri, version, now = db_uri(), engine.read.version(), engine.clock.now()
all_nodes, all_links = frames(uri, version, now, st.session_state.get("graph_decay", "exponential"), engine)
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
nodes = mg.place_nodes(nodes, comm, *((proj.ids, proj.coords) if proj is not None else ()))

c = st.columns([2, 1, 1, 2, 1, 1])
view = c[0].radio("View", list(mg.VIEWS), format_func=mg.VIEWS.get, key="graph_view")
colour_by = c[1].selectbox("Colour by", vg.COLOUR_BY, index=vg.COLOUR_BY.index("community"), key="graph_colour")
size_by = c[2].selectbox("Size by", list(vg.SIZE_LABELS), format_func=vg.SIZE_LABELS.get, key="graph_size")
lod = c[3].radio(
    "Level of detail (large graphs)", list(mg.LODS), format_func=mg.LODS.get, key="graph_lod", horizontal=True
)
max_nodes = c[4].number_input(
    "Max nodes",
    20,
    3000,
    300,
    step=50,
    key="graph_max_nodes",
    help="Above this many memories, the level of detail applies",
)
rank_by = c[5].selectbox("Top by", mg.RANK_BY, format_func=mg.RANK_LABELS.get, key="graph_rank_by")
highlight, centres, focus, ids = {}, [], None, nodes["id"].tolist()
if view == "memory":
    ids, centres = memory_view(g, nodes, cent)
elif view == "query":
    ids, highlight, focus = query_view(engine, model, g)
detail = mg.level_of_detail(
    nodes,
    links,
    comm,
    cent,
    ids,
    int(max_nodes),
    lod,
    rank_by,
    keep=[*centres, *highlight],
    can_summarise=view == "store",
)
colour_by, size_by = ("community", "size") if detail.summarised else (colour_by, size_by)
st.caption(detail.note)
st.caption(vg.filter_note(len(nodes), len(all_nodes), len(links), len(all_links)))
if focus is not None:
    st.caption(f"Query: {focus.query!r}; hits are stars labelled with their rank.")
st.iframe(
    vg.graph_html(vg.vis_data(detail.graph, colour_by, size_by, highlight, centres), GRAPH_HEIGHT_PX),
    height=GRAPH_HEIGHT_PX + LEGEND_PX,
)

tab_an, tab_map, tab_exp = st.tabs(["Analysis", "Embedding map", "Export"], key="graph_tab", on_change="rerun")  # lazy
if tab_an.open:
    with tab_an:
        w.metrics_row(vg.analysis_metrics(len(nodes), len(links), comm, analysis))
        w.table_grid(vg.analysis_tables(analysis))
        w.table_grid(
            [
                (
                    f"**Isolated memories** ({len(analysis.isolated):,}: no link passes the filters)",
                    analysis.isolated.head(500),
                    None,
                )
            ],
            n_columns=1,
        )
if tab_map.open:
    with tab_map:
        map_tab(nodes, proj, focus)
if tab_exp.open:
    with tab_exp:
        st.caption(mg.EXPORT_NOTE)
        keys = ("graph_dl_graphml", "graph_dl_json", "graph_dl_all_graphml", "graph_dl_all_json")
        w.download_row([(*file, key) for file, key in zip(mg.export_files(detail.graph, nodes, links), keys)])
