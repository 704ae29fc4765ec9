"""Memories: the store's counts, adding data, a searchable memory table and one memory in detail."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz.decay import DECAY_MODELS
from memviz.demo import DEMO_FORMAT, DEMO_PATH
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.filters import scoped
from memviz.importers import ALL_FORMATS, STORE_FORMATS
from memviz.ui import jobs
from memviz.ui import memories as um
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import current_scope, db_uri, fmt_time, get_engine
from memviz.viz import memories as vm

# The memory picker lists at most this many filtered memories (any row can still be picked in the table).
MAX_PICK = 2000
TABLE_HEIGHT_PX = 423  # 11 rows and the header
SOURCES = {"demo": "Built-in demo", "upload": "Upload a file", "path": "A path on disk"}


@st.cache_data(show_spinner="Computing retention ...", max_entries=8)
def memory_frame(
    uri: str, version: int, now_s: float, model: str, scope: str | None, _engine: MemoryEngine
) -> pd.DataFrame:
    """Every memory (of ``scope``; None: all) with its retention at ``now_s``; cached per store, version, clock
    time, decay model and scope."""
    return _engine.retention_frame(model, now_s, where=scoped(None, scope))


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
        upload = st.file_uploader("Data file", type=["json", "jsonl", "af"], key="ingest_upload")
    elif source == "path":
        path = st.text_input("Path", key="ingest_path", placeholder="/data/locomo/locomo10.json")
    options = None
    if source != "demo":
        fmt = st.selectbox(
            "Format",
            [f for f in ALL_FORMATS if f not in STORE_FORMATS] if source == "upload" else ALL_FORMATS,
            key="ingest_format",
            help="locomo, longmemeval, memorybank, memviz's JSON Lines chat format (jsonl), a Letta agent file "
            "(letta); by path also another engine's store folder: chroma, mem0, lancedb",
        )
        options = um.store_options(fmt)
    else:
        st.caption(f"The built-in demo conversation ({DEMO_PATH.name}, {DEMO_FORMAT}).")
    st.caption(
        "Each batch is written whole or not at all; memories whose ids are already stored are skipped. "
        "The ingest goes on while you use other pages."
    )
    if not st.button("Ingest", key="ingest_button", type="primary", disabled=running):
        return
    try:
        upload_file = None if upload is None else (upload.name, upload.getvalue())
        data, origin = jobs.load_source(source, path, fmt, upload_file, options)
        jobs.launch(lambda: jobs.start_ingest(engine, db_uri(), data, origin), "ingest_job")
    except MemvizError as e:
        st.error(inert(e))


engine = get_engine()
st.title("Memories")
st.caption(
    "What the store holds: browse, search and filter its memories, open one to see its links and history, "
    "and forget, restore or reinforce it."
)
show_stats(engine)

running, ended = jobs.status(db_uri(), "ingest_job")
if ended is not None:
    st.success(inert(ended.message))
with st.expander("Add data to the store", expanded=engine.read.count() == 0, icon=":material/upload:"):
    add_data(engine, running)

model = st.session_state.get("mem_decay", DECAY_MODELS[0])
scope = current_scope()
frame = memory_frame(db_uri(), engine.read.version(), engine.clock.now(), model, scope, engine)
later = engine.read.count(scoped(None, scope)) - len(
    frame
)  # as of the clock: memories it has not reached do not exist yet
if frame.empty:
    st.info("The store is empty: add data above, or write a memory on the Write page.")
    if later:
        st.caption(vm.dated_later(later))
    st.stop()

st.subheader("Memory table")
shown = vm.memory_table(vm.filter_memories(frame, **um.filters(frame)))
st.caption(
    f"Showing {len(shown):,} of {len(frame):,} memories · retention at {fmt_time(engine.clock.now())} UTC "
    f"({model}). Click a row to open it below." + (f" {vm.dated_later(later)}" if later > 0 else "")
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
um.detail(engine, picked, float(retention.iat[0]) if len(retention) else None)
