"""Memories: the store's counts, adding data, a searchable memory table and one memory in detail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz.decay import DECAY_MODELS
from memviz.demo import DEMO_FORMAT, DEMO_PATH
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.importers import FORMATS
from memviz.ui import jobs
from memviz.ui import widgets as w
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz import memories as vm

# The memory picker lists at most this many filtered memories (any row can still be picked in the table).
MAX_PICK = 2000
TABLE_HEIGHT_PX = 423  # 11 rows and the header
SOURCES = {"demo": "Built-in demo", "upload": "Upload a file", "path": "A path on disk"}


@st.cache_data(show_spinner="Computing retention ...", max_entries=8)
def memory_frame(uri: str, version: int, now_s: float, model: str, _engine: MemoryEngine) -> pd.DataFrame:
    """Every memory with its retention at ``now_s``; cached per store, version, clock time and decay model."""
    return _engine.retention_frame(model, now_s)


def show_stats(engine: MemoryEngine) -> None:
    cols = [*st.columns(6), *st.columns([1, 1, 1, 3])]
    for col, (label, value, help) in zip(cols, vm.store_metrics(engine.stats(), fmt_time)):
        col.metric(label, value, help=help)


def add_data(engine: MemoryEngine, running: bool) -> None:
    """Read a data set (demo, upload or path) and start ingesting it in the background (see
    :mod:`memviz.ui.jobs`); a file that cannot be read is refused here and nothing is written."""
    source = st.radio("Source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="ingest_source")
    upload, path, fmt = None, "", DEMO_FORMAT
    if source == "upload":
        upload = st.file_uploader("Data file", type=["json", "jsonl"], key="ingest_upload")
    elif source == "path":
        path = st.text_input("Path", key="ingest_path", placeholder="/data/locomo/locomo10.json")
    if source != "demo":
        fmt = st.selectbox(
            "Format",
            FORMATS,
            key="ingest_format",
            help="locomo, longmemeval, memorybank, or memviz's JSON Lines chat format (jsonl)",
        )
    else:
        st.caption(f"The built-in demo conversation ({DEMO_PATH.name}, {DEMO_FORMAT}).")
    st.caption(
        "Each batch is written whole or not at all; memories whose ids are already stored are skipped. "
        "The ingest goes on while you use other pages."
    )
    if not st.button("Ingest", key="ingest_button", type="primary", disabled=running):
        return
    try:
        data, origin = jobs.load_source(source, path, fmt, None if upload is None else (upload.name, upload.getvalue()))
        jobs.launch(lambda: jobs.start_ingest(engine, db_uri(), data, origin), "ingest_job")
    except MemvizError as e:
        st.error(str(e))


def filters(df: pd.DataFrame) -> dict:
    """The filter widgets; returns the keyword arguments of :func:`filter_memories`."""
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


def detail(engine: MemoryEngine, memory_id: str, retention: float | None) -> None:
    """One memory: its fields, links and event history, with forget / restore / reinforce."""
    m = engine.get(memory_id)
    meta = [m.speaker, m.session_id, m.source_id, fmt_time(m.event_time_s), m.dataset]
    st.html(vm.memory_card_html(m.text, meta, m.keywords))
    for col, (label, value) in zip(st.columns(5), vm.detail_metrics(m, retention)):
        col.metric(label, value)

    b = st.columns([1, 1, 4])
    if m.forgotten:
        if b[0].button("Restore", key="mem_restore", icon=":material/undo:", width="stretch"):
            engine.restore([m.id])
            w.flash("Restored: the memory is back in recall.", key="detail_msg")
            st.rerun()
    elif b[0].button("Forget", key="mem_forget", icon=":material/visibility_off:", width="stretch"):
        engine.forget([m.id])
        w.flash("Forgotten (soft): it leaves recall but stays stored; restore undoes it.", key="detail_msg")
        st.rerun()
    if b[1].button("Reinforce", key="mem_reinforce", icon=":material/fitness_center:", width="stretch"):
        w.flash(vm.reinforce_message(engine.reinforce([m.id])[0]), key="detail_msg")
        st.rerun()
    w.show_flash("detail_msg", b[2])

    left, right = st.columns(2)
    left.markdown("**Fields**")
    left.dataframe(vm.fields_frame(m, fmt_time), hide_index=True, width="stretch")
    links, others = engine.read.links_around(m.id)
    right.markdown(f"**Links** ({len(links)})")
    if not links:
        right.caption("No links.")
    else:
        right.dataframe(
            vm.links_frame_of(m.id, m.keywords, links, others, engine.link_config.semantic_threshold),
            hide_index=True,
            width="stretch",
            column_order=["direction", "kind", "weight", "other_speaker", "other_text", "why"],
            column_config={
                "weight": st.column_config.NumberColumn(format="%.2f"),
                "other_speaker": "Speaker",
                "other_text": "Other memory",
            },
        )
    events = engine.read.events(memory_id=m.id)
    right.markdown(f"**Event history** ({len(events)})")
    right.dataframe(
        vm.events_frame(events, m.id),
        hide_index=True,
        width="stretch",
        column_config={
            "clock_time": st.column_config.DatetimeColumn("Clock time", format="YYYY-MM-DD HH:mm"),
            "recorded": st.column_config.DatetimeColumn("Recorded", format="YYYY-MM-DD HH:mm:ss"),
        },
    )


engine = get_engine()
st.title("Memories")
st.caption(
    "What the store holds: browse, search and filter its memories, open one to see its links and history, "
    "and forget, restore or reinforce it."
)
show_stats(engine)

running, ended = jobs.status(db_uri(), "ingest_job")
if ended is not None:
    st.success(ended.message)
with st.expander("Add data to the store", expanded=engine.read.count() == 0, icon=":material/upload:"):
    add_data(engine, running)

model = st.session_state.get("mem_decay", DECAY_MODELS[0])
frame = memory_frame(db_uri(), engine.read.version(), engine.clock.now(), model, engine)
if frame.empty:
    st.info("The store is empty: add data above, or write a memory on the Write page.")
    st.stop()

st.subheader("Memory table")
shown = vm.memory_table(vm.filter_memories(frame, **filters(frame)))
st.caption(
    f"Showing {len(shown):,} of {len(frame):,} memories · retention at {fmt_time(engine.clock.now())} UTC "
    f"({model}). Click a row to open it below."
)
if shown.empty:
    st.info("No memory matches the filters.")
elif (clicked := w.memory_table_select(shown, "mem_table", TABLE_HEIGHT_PX)) and st.session_state.get(
    "_mem_clicked"
) != clicked:
    st.session_state["_mem_clicked"] = st.session_state["mem_detail"] = clicked

st.subheader("Memory detail")
# The open memory stays listed even when the filters now hide it (e.g. just forgotten).
options = w.picker_options(shown["id"].tolist(), st.session_state.get("mem_detail"), set(frame["id"]), MAX_PICK)
picked = w.memory_picker(
    "Memory",
    frame,
    "mem_detail",
    options,
    help=f"The first {MAX_PICK:,} filtered memories; click a table row to open any of them",
)
if picked is None:
    st.stop()
retention = frame.loc[frame["id"] == picked, "retention"]
detail(engine, picked, float(retention.iat[0]) if len(retention) else None)
