"""Streamlit parts of the Memories page: the filter row of the memory table and one memory in detail (fields,
links, event history; forget / restore / reinforce). What they show is computed by :mod:`memviz.viz.memories`."""

from __future__ import annotations

from typing import Any

import pandas as pd
import streamlit as st

from memviz.decay import DECAY_MODELS
from memviz.engine import MemoryEngine
from memviz.importers import StoreOptions
from memviz.ui import widgets as w
from memviz.ui.state import acting_engine, fmt_time
from memviz.viz import memories as vm

# The inputs of each store format on the path form: (StoreOptions field, label, help).
STORE_FIELDS: dict[str, list[tuple[str, str, str]]] = {
    "chroma": [("collection", "Collection", "Only this collection; empty: all of them")],
    "mem0": [
        ("collection", "Collection", "Its vector-store collection; empty: mem0"),
        ("vectors", "Qdrant folder", "Its vector store's folder; empty: the one beside the history file"),
    ],
    "lancedb": [
        ("table", "Table", "Empty: the only table"),
        ("text_column", "Text column", "Required: the column holding the text"),
        ("id_column", "Id column", "Empty: <table>:<row>"),
        ("time_column", "Time column", "A timestamp, POSIX seconds or date strings"),
        ("speaker_column", "Speaker column", ""),
    ],
}

# The columns of the detail's link table, in order (the other memory's id is left out).
LINK_COLUMN_ORDER = ["direction", "kind", "weight", "other_speaker", "other_text", "why"]


def filters(df: pd.DataFrame) -> dict[str, Any]:
    """The filter widgets over the memories ``df``; returns the keyword arguments of
    :func:`memviz.viz.memories.filter_memories`. The decay model picked (key ``mem_decay``) is read by the page."""
    c = st.columns([3, 2, 2, 2])
    search = c[0].text_input("Search text or source id", key="mem_search")
    speakers = c[1].multiselect("Speaker", sorted(df["speaker"].unique()), key="mem_speakers")
    sessions = c[2].multiselect("Session", sorted(df["session_id"].unique()), key="mem_sessions")
    kinds = c[3].multiselect("Kind", sorted(df["kind"].unique()), key="mem_kinds")
    c = st.columns([3, 2, 2, 2])
    time_range_s = w.date_range(
        "Event time",
        vm.event_time_bounds(df),
        container=c[0],
        help="Memories without an event time are hidden once the range is narrowed",
    )
    min_retention = c[1].slider("Min retention now", 0.0, 1.0, 0.0, 0.01, key="mem_min_retention")
    c[2].selectbox("Decay model", DECAY_MODELS, key="mem_decay", help="The model retention is computed with")
    show_forgotten = c[3].toggle("Show forgotten", key="mem_show_forgotten")
    return {
        "search": search,
        "kinds": kinds,
        "speakers": speakers,
        "sessions": sessions,
        "time_range_s": time_range_s,
        "min_retention": min_retention,
        "show_forgotten": show_forgotten,
    }


def store_options(fmt: str) -> StoreOptions | None:
    """The inputs another engine's store needs (a Chroma collection, a LanceDB table and column mapping, mem0's
    vector folder) for format ``fmt``; None for the other formats. Empty inputs are left unset."""
    fields = STORE_FIELDS.get(fmt)
    if fields is None:
        return None
    cols = st.columns(len(fields))
    values = {
        name: cols[n].text_input(label, key=f"ingest_{name}", help=help).strip() or None
        for n, (name, label, help) in enumerate(fields)
    }
    return StoreOptions(**values)


def detail(engine: MemoryEngine, memory_id: str, retention: float | None) -> None:
    """One memory: its fields, links and event history, with forget / restore / reinforce."""
    m = engine.get(memory_id)
    meta = [m.speaker, m.session_id, m.source_id, fmt_time(m.event_time_s), m.dataset]
    st.html(vm.memory_card_html(m.text, meta, m.keywords))
    events = engine.read.events(memory_id=m.id)
    n_recalled = sum(e.op == "recall" for e in events)
    for col, (label, value) in zip(st.columns(6), vm.detail_metrics(m, retention, n_recalled)):
        col.metric(label, value)
    actions(engine, m.id, m.forgotten)
    left, right = st.columns(2)
    left.markdown("**Fields**")
    left.dataframe(vm.fields_frame(m, fmt_time), **w.TABLE)
    links, others = engine.read.links_around(m.id)
    right.markdown(f"**Links** ({len(links)})")
    if not links:
        right.caption("No links.")
    else:
        right.dataframe(
            vm.links_frame_of(m.id, m.keywords, links, others, engine.link_config.semantic_threshold),
            column_order=LINK_COLUMN_ORDER,
            column_config={
                "weight": st.column_config.NumberColumn(format="%.2f"),
                "other_speaker": "Speaker",
                "other_text": "Other memory",
            },
            **w.TABLE,
        )
    right.markdown(f"**Event history** ({len(events)})")
    right.dataframe(
        vm.events_frame(events, m.id),
        column_config={
            "clock_time": st.column_config.DatetimeColumn(
                "Store clock", format="YYYY-MM-DD HH:mm", help="When it happened on the store's (simulated) clock"
            ),
            "recorded": st.column_config.DatetimeColumn(
                "Recorded (real time)", format="YYYY-MM-DD HH:mm:ss", help="When memviz wrote the event (UTC)"
            ),
        },
        **w.TABLE,
    )
    right.caption("Two clocks: the store clock (simulated: decay and recalls run on it) and the real time of writing.")


def actions(engine: MemoryEngine, memory_id: str, forgotten: bool) -> None:
    """Restore (a forgotten memory) or Forget, and Reinforce: each acts, keeps its message (shown beside the
    buttons on the next run, flash key ``detail_msg``) and reruns the page."""
    b = st.columns([1, 1, 4])
    if forgotten:
        if b[0].button(
            "Restore",
            key="mem_restore",
            icon=":material/undo:",
            width="stretch",
            help="Writes: brings it back into recall",
        ):
            engine.restore([memory_id])
            w.done("Restored: the memory is back in recall.", key="detail_msg")
    elif b[0].button(
        "Forget",
        key="mem_forget",
        icon=":material/visibility_off:",
        width="stretch",
        help="Writes: a soft forget, undoable",
    ):
        engine.forget([memory_id])
        w.done("Forgotten (soft): it leaves recall but stays stored; restore undoes it.", key="detail_msg")
    if b[1].button(
        "Reinforce",
        key="mem_reinforce",
        icon=":material/fitness_center:",
        width="stretch",
        help="Writes: strengthens it",
    ):
        w.done(vm.reinforce_message(acting_engine(engine).reinforce([memory_id])[0]), key="detail_msg")
    w.show_flash("detail_msg", b[2])
