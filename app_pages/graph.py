"""Graph: how memories link. Filters, focus views (a memory, a query's recall), a level of detail for large stores,
analysis, GraphML/JSON export, the embedding map. Layout only: see memviz.graph(_views), memviz.ui.graph and
memviz.viz.graph/embedding_map."""

from __future__ import annotations

import igraph
import pandas as pd
import streamlit as st

from memviz import graph as mg
from memviz import graph_views as gv
from memviz.engine import MemoryEngine
from memviz.filters import scoped
from memviz.projection import Projection, fit_projection
from memviz.ui import graph as ug
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import current_scope, db_uri, get_engine
from memviz.viz import embedding_map as vm
from memviz.viz import graph as vg

GRAPH_HEIGHT_PX, LEGEND_PX = 640, 80  # the graph and the legend strip above it


# cache_resource, not cache_data: the frames of a 100k-memory store (and its ~600k links) are shared, not unpickled
# on every rerun; nothing changes them (filters and views make new frames).
@st.cache_resource(show_spinner="Reading memories and links ...", max_entries=4)
def frames(
    uri: str, version: int, now_s: float, model: str, scope: str | None, _engine: MemoryEngine
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """Nodes and links of the store (of ``scope``); cached per store, version, clock time, decay model and scope."""
    return mg.graph_frames(_engine, model, now_s, scope=scope)


@st.cache_resource(show_spinner="Analysing the graph (Leiden communities, PageRank) ...", max_entries=4)
def analysed(
    uri: str,
    version: int,
    now_s: float,
    model: str,
    scope: str | None,
    flt: mg.GraphFilter,
    _nodes: pd.DataFrame,
    _links: pd.DataFrame,
) -> tuple[igraph.Graph, pd.Series, pd.DataFrame]:
    """:func:`memviz.graph.graph_structure` of the filtered frames, cached per store version, clock, model, scope
    and filter."""
    return mg.graph_structure(_nodes, _links)


@st.cache_resource(show_spinner="Analysing the graph (tables) ...", max_entries=4)
def tables(
    uri: str,
    version: int,
    now_s: float,
    model: str,
    scope: str | None,
    flt: mg.GraphFilter,
    _nodes: pd.DataFrame,
    _links: pd.DataFrame,
    _comm: pd.Series,
    _cent: pd.DataFrame,
) -> mg.GraphAnalysis:
    """The Analysis tab's tables (:func:`memviz.graph.analyse`), computed when the tab is opened; cached as
    :func:`analysed`."""
    return mg.analyse(_nodes, _links, _comm, _cent)


@st.cache_resource(show_spinner="Projecting the vectors (PCA) ...", max_entries=4)
def projection(uri: str, version: int, scope: str | None, _engine: MemoryEngine) -> Projection | None:
    """The 2-D map of every stored vector of ``scope`` (None: all; None when there are fewer than 3)."""
    ids, vecs = _engine.read.vectors(scoped(None, scope))
    return fit_projection(ids, vecs) if len(ids) >= 3 else None


def map_tab(nodes: pd.DataFrame, proj: Projection | None, focus: gv.RecallFocus | None) -> None:
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
uri, version, now, scope = db_uri(), engine.read.version(), engine.clock.now(), current_scope()
all_nodes, all_links = frames(uri, version, now, st.session_state.get("graph_decay", "exponential"), scope, engine)
if all_nodes.empty:
    st.info("The store is empty: add memories on the Memories page.")
    st.stop()
with st.expander("Filters", expanded=False):
    flt, model = ug.filter_widgets(all_nodes)
nodes, links = mg.filter_frames(all_nodes, all_links, flt)
if nodes.empty:
    st.warning("No memory passes the filters.")
    st.stop()
g, comm, cent = analysed(uri, version, now, model, scope, flt, nodes, links)
proj = projection(uri, version, scope, engine)
nodes = gv.place_nodes(nodes, comm, *((proj.ids, proj.coords) if proj is not None else ()))

opts = ug.display_options()
highlight, centres, focus, ids, paths = {}, [], None, nodes["id"].tolist(), {}
if opts.view == "memory":
    ids, centres = ug.memory_view(g, nodes, cent)
elif opts.view == "query":
    ids, highlight, focus, paths = ug.query_view(engine, model, g, uri, nodes, scope)
on_path = [n for p in paths.values() for n in p]
detail = opts.detail(nodes, links, comm, cent, list(dict.fromkeys(ids)), keep=[*centres, *highlight, *on_path])
colour_by, size_by = opts.styles(detail)
st.caption(detail.note)
st.caption(vg.filter_note(len(nodes), len(all_nodes), len(links), len(all_links)))
if focus is not None:
    st.caption(f"Query: “{inert(focus.query)}”; hits: stars with their rank; expected memory: a triangle.")
retrieved = ug.retrieved_counts(uri) if colour_by == "retrieved" else None
st.iframe(
    vg.graph_html(
        vg.vis_data(detail.graph, colour_by, size_by, highlight, centres, paths, retrieved=retrieved), GRAPH_HEIGHT_PX
    ),
    height=GRAPH_HEIGHT_PX + LEGEND_PX,
)

tab_an, tab_map, tab_exp = st.tabs(["Analysis", "Embedding map", "Export"], key="graph_tab", on_change="rerun")  # lazy
if tab_an.open:
    with tab_an:
        if ug.tables_wanted(len(nodes)):
            analysis = tables(uri, version, now, model, scope, flt, nodes, links, comm, cent)
            w.metrics_row(vg.analysis_metrics(len(nodes), len(links), comm, analysis))
            w.table_grid(vg.analysis_tables(analysis))
            w.table_grid([vg.isolated_table(analysis)], n_columns=1)
if tab_map.open:
    with tab_map:
        map_tab(nodes, proj, focus)
if tab_exp.open:
    with tab_exp:
        st.caption(gv.EXPORT_NOTE)
        keys = ("graph_dl_graphml", "graph_dl_json", "graph_dl_all_graphml", "graph_dl_all_json")
        w.download_row([(*file, key) for file, key in zip(gv.export_files(detail.graph, nodes, links), keys)])
