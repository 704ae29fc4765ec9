"""Memories: the store's counts, adding data, a searchable memory table and one memory in detail."""

from __future__ import annotations

from dataclasses import asdict
from datetime import datetime, time, timedelta, timezone

import pandas as pd
import streamlit as st

from memviz.decay import DECAY_MODELS
from memviz.demo import DEMO_FORMAT, DEMO_PATH
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.importers import FORMATS, load, load_bytes
from memviz.store import sql_str_list
from memviz.ui import jobs
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz.memories import (
    events_frame,
    filter_memories,
    links_frame,
    memory_card_html,
    memory_labels,
    memory_table,
)

# The memory picker lists at most this many filtered memories (any row can still be picked in the table).
MAX_PICK = 2000
TABLE_HEIGHT_PX = 423  # 11 rows and the header
SOURCES = {"demo": "Built-in demo", "upload": "Upload a file", "path": "A path on disk"}


@st.cache_data(show_spinner="Computing retention ...", max_entries=8)
def memory_frame(uri: str, version: int, now_s: float, model: str, _engine: MemoryEngine) -> pd.DataFrame:
    """Every memory with its retention at ``now_s``; cached per store, version, clock time and decay model."""
    return _engine.retention_frame(model, now_s)


def show_stats(engine: MemoryEngine) -> None:
    s = engine.stats()
    row1, row2 = st.columns(6), st.columns([1, 1, 1, 3])
    row1[0].metric("Memories", f"{s['memories']:,}")
    row1[1].metric("Forgotten", f"{s['forgotten']:,}")
    row1[2].metric("Sessions", f"{s['sessions']:,}")
    row1[3].metric("Speakers", f"{s['speakers']:,}")
    row1[4].metric("Events", f"{s['events']:,}")
    row1[5].metric("Version", s["version"], help="The memories table's LanceDB version")
    for col, kind in zip(row2, ("semantic", "temporal", "keyword")):
        col.metric(f"{kind.capitalize()} links", f"{s['links'].get(kind, 0):,}")
    row2[3].metric("Clock (UTC)", fmt_time(s["now_s"]), help="The simulated clock that retention is computed at")


def add_data(engine: MemoryEngine, running: bool) -> None:
    """Read a data set (demo, upload or path) and start ingesting it in the background (see
    :mod:`memviz.ui.jobs`); a file that cannot be read is refused here and nothing is written."""
    source = st.radio("Source", list(SOURCES), format_func=SOURCES.get, horizontal=True, key="ingest_source")
    upload, path = None, ""
    if source == "upload":
        upload = st.file_uploader("Data file", type=["json", "jsonl"], key="ingest_upload")
    elif source == "path":
        path = st.text_input("Path", key="ingest_path", placeholder="/data/locomo/locomo10.json")
    if source != "demo":
        fmt = st.selectbox("Format", FORMATS, key="ingest_format",
                           help="locomo, longmemeval, memorybank, or memviz's JSON Lines chat format (jsonl)")
    else:
        st.caption(f"The built-in demo conversation ({DEMO_PATH.name}, {DEMO_FORMAT}).")
    st.caption("Each batch is written whole or not at all; memories whose ids are already stored are skipped. "
               "The ingest goes on while you use other pages.")
    if not st.button("Ingest", key="ingest_button", type="primary", disabled=running):
        return
    try:
        if source == "demo":
            data, origin = load(DEMO_PATH, DEMO_FORMAT), {"path": str(DEMO_PATH), "format": DEMO_FORMAT, "demo": True}
        elif source == "upload":
            if upload is None:
                st.error("Choose a file to upload first.")
                return
            data, origin = load_bytes(upload.getvalue(), fmt, upload.name), {"path": upload.name, "format": fmt}
        else:
            if not path.strip():
                st.error("Type the path of a data file first.")
                return
            data, origin = load(path.strip(), fmt), {"path": path.strip(), "format": fmt}
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
    times = df["event_time_s"].dropna()
    time_range_s = None
    if len(times):
        lo, hi = (datetime.fromtimestamp(t, tz=timezone.utc).date() for t in (times.min(), times.max()))
        picked = c[0].date_input("Event time", value=(lo, hi), min_value=lo, max_value=hi,
                                 help="Memories without an event time are hidden once the range is narrowed")
        if len(picked) == 2 and tuple(picked) != (lo, hi):
            start = datetime.combine(picked[0], time(), tzinfo=timezone.utc)
            end = datetime.combine(picked[1], time(), tzinfo=timezone.utc) + timedelta(days=1)
            time_range_s = (start.timestamp(), end.timestamp())
    min_retention = c[1].slider("Min retention now", 0.0, 1.0, 0.0, 0.01, key="mem_min_retention")
    c[2].selectbox("Decay model", DECAY_MODELS, key="mem_decay", help="The model retention is computed with")
    show_forgotten = c[3].toggle("Show forgotten", key="mem_show_forgotten")
    return dict(search=search, kinds=kinds, speakers=speakers, sessions=sessions, time_range_s=time_range_s,
                min_retention=min_retention, show_forgotten=show_forgotten)


def table(shown: pd.DataFrame) -> str | None:
    """Render the filtered memory table; returns the id of the row the user clicked, if any."""
    event = st.dataframe(
        shown, hide_index=True, height=min(TABLE_HEIGHT_PX, 3 + 35 * (len(shown) + 1)), key="mem_table",
        on_select="rerun", selection_mode="single-row",
        column_order=[c for c in shown.columns if c != "id"],
        column_config={
            "text": st.column_config.TextColumn("Text", width="large"),
            "speaker": "Speaker", "session_id": "Session", "source_id": "Source id", "kind": "Kind",
            "event_time": st.column_config.DatetimeColumn("Event time (UTC)", format="YYYY-MM-DD HH:mm"),
            "importance": st.column_config.NumberColumn("Importance", format="%.2f"),
            "stability_days": st.column_config.NumberColumn("Stability (days)", format="%.1f"),
            "recall_count": st.column_config.NumberColumn("Recalls"),
            "retention": st.column_config.ProgressColumn("Retention", min_value=0.0, max_value=1.0, format="%.2f"),
            "forgotten": st.column_config.CheckboxColumn("Forgotten"),
        },
    )
    rows = event.selection.rows
    return str(shown["id"].iat[rows[0]]) if rows and rows[0] < len(shown) else None


def detail(engine: MemoryEngine, memory_id: str, retention: float | None) -> None:
    """One memory: its fields, links and event history, with forget / restore / reinforce."""
    m = engine.get(memory_id)
    meta = [m.speaker, m.session_id, m.source_id, fmt_time(m.event_time_s), m.dataset]
    st.html(memory_card_html(m.text, meta, m.keywords))
    c = st.columns(5)
    c[0].metric("Importance", f"{m.importance:.2f}")
    c[1].metric("Stability (days)", f"{m.stability_days:.1f}")
    c[2].metric("Retention now", "—" if retention is None else f"{retention:.2f}")
    c[3].metric("Recalls", m.recall_count)
    c[4].metric("State", "forgotten" if m.forgotten else "active")

    b = st.columns([1, 1, 4])
    if m.forgotten:
        if b[0].button("Restore", key="mem_restore", icon=":material/undo:", width="stretch"):
            engine.restore([m.id])
            st.session_state["detail_msg"] = "Restored: the memory is back in recall."
            st.rerun()
    elif b[0].button("Forget", key="mem_forget", icon=":material/visibility_off:", width="stretch"):
        engine.forget([m.id])
        st.session_state["detail_msg"] = "Forgotten (soft): it leaves recall but stays stored; restore undoes it."
        st.rerun()
    if b[1].button("Reinforce", key="mem_reinforce", icon=":material/fitness_center:", width="stretch"):
        r = engine.reinforce([m.id])[0]
        st.session_state["detail_msg"] = (f"Reinforced: stability {r['stability_before']:.1f} → "
                                          f"{r['stability_after']:.1f} days.")
        st.rerun()
    if msg := st.session_state.pop("detail_msg", None):
        b[2].success(msg)

    left, right = st.columns(2)
    with left:
        st.markdown("**Fields**")
        fields = {k: v for k, v in asdict(m).items() if k not in ("text", "keywords", "access_times_s")}
        for k in ("event_time_s", "created_time_s", "last_recalled_s", "forgotten_time_s"):
            fields[k] = fmt_time(fields[k])
        for k in ("importance", "stability_days"):
            fields[k] = round(fields[k], 3)
        fields["accesses"] = len(m.access_times_s)
        st.dataframe(pd.DataFrame({"field": list(fields), "value": [str(v) for v in fields.values()]}),
                     hide_index=True, width="stretch")
    with right:
        links = pd.DataFrame([asdict(lk) for lk in engine.store.links_of(m.id)])
        st.markdown(f"**Links** ({len(links)})")
        if links.empty:
            st.caption("No links.")
        else:
            ends = set(links["source_id"]) | set(links["target_id"])
            others = engine.store.memories_table(
                columns=["id", "text", "speaker", "session_id", "keywords"], where=f"id IN ({sql_str_list(ends)})"
            ).to_pandas()
            lf = links_frame(m.id, m.keywords, links, others, engine.link_config.semantic_threshold)
            st.dataframe(lf, hide_index=True, width="stretch",
                         column_order=["direction", "kind", "weight", "other_speaker", "other_text", "why"],
                         column_config={"weight": st.column_config.NumberColumn(format="%.2f"),
                                        "other_speaker": "Speaker", "other_text": "Other memory"})
        events = engine.store.list_events(memory_id=m.id)
        st.markdown(f"**Event history** ({len(events)})")
        st.dataframe(events_frame(events, m.id), hide_index=True, width="stretch",
                     column_config={"clock_time": st.column_config.DatetimeColumn("Clock time", format="YYYY-MM-DD HH:mm"),
                                    "recorded": st.column_config.DatetimeColumn("Recorded", format="YYYY-MM-DD HH:mm:ss")})


engine = get_engine()
st.title("Memories")
st.caption("What the store holds: browse, search and filter its memories, open one to see its links and history, "
           "and forget, restore or reinforce it.")
show_stats(engine)

running, ended = jobs.status(db_uri(), "ingest_job")
if ended is not None:
    st.success(ended.message)
with st.expander("Add data to the store", expanded=engine.store.count() == 0, icon=":material/upload:"):
    add_data(engine, running)

model = st.session_state.get("mem_decay", DECAY_MODELS[0])
frame = memory_frame(db_uri(), engine.store.version(), engine.clock.now(), model, engine)
if frame.empty:
    st.info("The store is empty: add data above, or write a memory on the Write page.")
    st.stop()

st.subheader("Memory table")
shown = memory_table(filter_memories(frame, **filters(frame)))
st.caption(f"Showing {len(shown):,} of {len(frame):,} memories · retention at {fmt_time(engine.clock.now())} UTC "
           f"({model}). Click a row to open it below.")
if shown.empty:
    st.info("No memory matches the filters.")
elif (clicked := table(shown)) and st.session_state.get("_mem_clicked") != clicked:
    st.session_state["_mem_clicked"] = st.session_state["mem_detail"] = clicked

st.subheader("Memory detail")
options = shown["id"].head(MAX_PICK).tolist()
current = st.session_state.get("mem_detail")
if current is not None and current not in options:
    if current in set(frame["id"]):
        options.insert(0, current)  # keep the open memory even when the filters now hide it (e.g. just forgotten)
    else:
        del st.session_state["mem_detail"]  # no longer in this store
if not options:
    st.stop()
labels = memory_labels(frame[frame["id"].isin(options)])
picked = st.selectbox("Memory", options, key="mem_detail", format_func=lambda i: labels.get(i, i),
                      help=f"The first {MAX_PICK:,} filtered memories; click a table row to open any of them")
retention = frame.loc[frame["id"] == picked, "retention"]
detail(engine, picked, float(retention.iat[0]) if len(retention) else None)
