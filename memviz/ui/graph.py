"""The widgets of the Graph page: the filters, the display settings and the two focus views (around a memory,
around a query's recall). What they compute is in :mod:`memviz.graph` and :mod:`memviz.graph_views` (pure,
tested without streamlit); keys are ``graph_*``."""

from __future__ import annotations

from collections import Counter
from dataclasses import replace
from typing import cast

import igraph
import pandas as pd
import streamlit as st

from memviz import graph as mg
from memviz import graph_views as gv
from memviz.decay import DECAY_MODELS
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.evaluate.coverage import COVERAGE_K, store_counts
from memviz.models import LINK_KINDS
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.viz import graph as vg
from memviz.viz.evaluate import result_label

MAX_PICK = 2000  # options of the memory picker
# Above this many memories (after the filters) the Analysis tab's tables wait for the person to ask: they take
# ~1-2 CPU-seconds at 100k memories (docs/performance.md), which the page's first render does not spend.
TABLES_AT_ONCE = 20_000


def filter_widgets(nodes: pd.DataFrame) -> tuple[mg.GraphFilter, str]:
    """The filter widgets over the values of ``nodes``; returns the filter and the decay model."""
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
    flt = mg.filter_of(span, sessions, speakers, kinds, link_kinds, min_weight, min_retention, forgotten)
    return flt, model


def display_options() -> gv.DisplayOptions:
    """One row of display settings: view, colour, size and the level of detail of large graphs."""
    c = st.columns([2, 1, 1, 2, 1, 1])
    view = c[0].radio("View", list(gv.VIEWS), format_func=lambda v: gv.VIEWS[v], key="graph_view")
    colour_by = c[1].selectbox(
        "Colour by",
        vg.COLOUR_BY,
        index=vg.COLOUR_BY.index("community"),
        key="graph_colour",
        format_func=lambda c: vg.COLOUR_LABELS.get(c, c),
        help="retrieved by n questions: of an evaluation of this store run or loaded on the Evaluate page",
    )
    size_by = c[2].selectbox("Size by", list(vg.SIZE_LABELS), format_func=lambda s: vg.SIZE_LABELS[s], key="graph_size")
    lod = c[3].radio(
        "Level of detail (large graphs)",
        list(gv.LODS),
        format_func=lambda d: gv.LODS[d],
        key="graph_lod",
        horizontal=True,
    )
    max_nodes = c[4].number_input(
        "Max nodes",
        20,
        3000,
        gv.DisplayOptions.max_nodes,
        step=20,
        key="graph_max_nodes",
        help="Above this many memories, the level of detail applies",
    )
    rank_by = c[5].selectbox("Top by", gv.RANK_BY, format_func=lambda r: gv.RANK_LABELS[r], key="graph_rank_by")
    return gv.DisplayOptions(str(view), str(colour_by), str(size_by), cast(gv.Lod, lod), int(max_nodes), str(rank_by))


def tables_wanted(n_memories: int) -> bool:
    """Whether the Analysis tab computes its tables for a graph of ``n_memories``: at once up to
    :data:`TABLES_AT_ONCE`, above it when the person turns on the toggle this shows (kept for the session)."""
    if n_memories <= TABLES_AT_ONCE:
        return True
    return st.toggle(
        f"Analyse all {n_memories:,} memories: communities, central memories, bridges (takes seconds)",
        key="graph_tables",
    )


def retrieved_counts(uri: str) -> Counter[str] | None:
    """For colouring by "retrieved": how many questions had each memory of store ``uri`` in their top k, in the
    latest evaluation of the Evaluate page (``ev_results``) that recalled on it, with a caption naming it;
    None, and a caption saying how to get one, when there is none."""
    for result in reversed(st.session_state.get("ev_results", [])):
        if (counts := store_counts(result, uri)) is not None:
            k = (result.get("coverage") or {}).get("k", COVERAGE_K)
            st.caption(
                f"Colour: how many questions of the evaluation “{inert(result_label(result))}” had each memory "
                f"in their top {k}."
            )
            return counts
    st.caption(
        "Colour by “retrieved by n questions” needs an evaluation that recalled on this store: run or load one on "
        "the Evaluate page, then open one of its stores (e.g. `<store folder>/conv-26`) in the sidebar."
    )
    return None


def memory_view(g: igraph.Graph, nodes: pd.DataFrame, cent: pd.DataFrame) -> tuple[list[str], list[str]]:
    """Around a memory: a search, a picker (most central first) and a radius; returns the memories and the centre.
    Stops the page until a memory is picked."""
    c = st.columns([2, 3, 1])
    picked = w.memory_search(gv.by_pagerank(nodes, cent), "Memory", "graph_memory", "graph_mem_search", MAX_PICK, c[:2])
    radius = c[2].slider("Radius (links)", 1, 3, 1, key="graph_radius")
    if picked is None:
        st.stop()
    return mg.ego_ids(g, [picked], radius), [picked]


def query_view(
    engine: MemoryEngine, model: str, g: igraph.Graph, uri: str, nodes: pd.DataFrame, scope: str | None = None
) -> tuple[list[str], dict[str, int], gv.RecallFocus, dict[str, list[str]]]:
    """Around a query's recall (a pure read, within ``scope``; None: every scope) on store ``uri``: returns the
    hits, their neighbours and the paths from the expected memory (optional, picked among ``nodes``), the hits
    shown, the focus and the paths (:func:`memviz.graph_views.focus_paths`). Stops the page until a query is
    recalled."""
    query, k, clicked = w.query_row(
        "graph", "Recall", "graph_recall_button", primary=True, placeholder="e.g. What does Caroline do for fun?"
    )
    if clicked:
        try:
            focus = gv.RecallFocus.of(engine.recall(query, k=k, reinforce=False, decay_model=model, scope=scope))
            st.session_state["graph_recall"] = ((uri, scope), focus)
        except MemvizError as e:
            st.session_state.pop("graph_recall", None)
            st.error(inert(e))
    radius = st.slider("Radius around the hits (links)", 0, 2, 1, key="graph_query_radius")
    db, focus = st.session_state.get("graph_recall", (None, None))
    if focus is None or db != (uri, scope):
        st.info(
            "Type a query and press Recall: the graph shows its hits (stars, by rank) and their neighbours. "
            "The recall does not reinforce anything."
        )
        st.stop()
    highlight, missing = focus.shown_hits(mg.vertex_ids(g))
    if missing:
        st.caption(f"{missing} of the {len(focus.hits)} hits are hidden by the filters.")
    with st.expander("Expected memory: mark the one you expected and its path to the hits"):
        mark = st.checkbox("Mark an expected memory", key="graph_expect_on")
        picked = w.memory_search(nodes, "Expected memory", "graph_expected", "graph_expected_search", MAX_PICK)
    focus = replace(focus, expected=(picked,) if mark and picked else ())
    paths = gv.focus_paths(g, highlight, focus.expected)
    if focus.expected and not paths:
        st.caption("The expected memory is linked to no hit (or hidden by the filters).")
    path_ids = [n for p in paths.values() for n in p]
    return [*mg.ego_ids(g, list(highlight), radius), *path_ids], highlight, focus, paths


__all__ = [
    "MAX_PICK",
    "TABLES_AT_ONCE",
    "display_options",
    "filter_widgets",
    "memory_view",
    "query_view",
    "retrieved_counts",
    "tables_wanted",
]
