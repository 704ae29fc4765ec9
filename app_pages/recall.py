"""Recall: a query under a scoring preset; each hit's score breakdown, the stage-by-stage trace, why a memory was
not retrieved, two presets side by side, past traces reopened or compared. Tables, figures: memviz.viz.trace;
widgets: memviz.ui.recall, memviz.ui.recall_form."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz import tracing
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.models import Memory, Trace
from memviz.recall.presets import preset_config
from memviz.ui import recall as ur
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.recall_form import recall_form
from memviz.ui.state import acting_engine, current_scope, db_uri, fmt_time, get_engine
from memviz.ui.widgets import metrics_row
from memviz.viz import trace as vt

SCORE, MARGIN = st.column_config.NumberColumn(format="%.3f"), st.column_config.NumberColumn(format="%+.4f")


@st.cache_data(show_spinner=False, max_entries=4)
def memory_index(uri: str, version: int, _engine: MemoryEngine) -> pd.DataFrame:
    """id, speaker and text of every memory, for the why-not search (cached per store version)."""
    return _engine.read.table(columns=["id", "speaker", "text"])


def show_hits(trace: Trace, mems: dict[str, Memory]) -> None:
    if not trace.stage("final").candidates:
        st.warning(vt.no_hits_message(trace))
        return
    st.dataframe(
        vt.hits_table(vt.final_hits(trace, mems), fmt_time),
        key="rc_hits_table",
        column_config={"score": SCORE, "text": st.column_config.TextColumn(width="large")},
        **w.TABLE,
    )
    st.plotly_chart(vt.score_breakdown_figure(trace, mems), key="rc_breakdown", width="stretch")


def show_trace(trace: Trace, mems: dict[str, Memory], highlight: str | None = None) -> None:
    st.dataframe(vt.stage_summary(trace), key="rc_stage_summary", **w.TABLE)
    if caption := vt.gated_caption(trace):
        st.caption(inert(caption))
    st.plotly_chart(vt.rank_flow_figure(trace, mems, highlight=highlight), key="rc_rank_flow", width="stretch")
    st.dataframe(vt.trace_table(trace, mems), key="rc_trace_table", height=380, **w.TABLE)


def show_why_not(engine: MemoryEngine, trace: Trace, mems: dict[str, Memory]) -> str | None:
    """The why-not view; returns the id of the memory looked at (to highlight it in the rank flow)."""
    misses = tracing.near_misses(trace, 10)
    target = ur.why_not_picker(misses, mems, lambda: memory_index(db_uri(), engine.read.version(), engine))
    try:
        explained = engine.explain(trace, [target])[target] if target else None
    except MemvizError as e:
        st.error(inert(e))
        target = None
    if target:
        mem = engine.read.memories_by_id([target]).get(target)
        ur.show_why(tracing.why_not(trace, target, explained), mem, tracing.weights_of(trace))
    st.markdown("**Near misses**: the ten memories just below the cut-off, and what kept each out")
    st.dataframe(
        vt.near_misses_table(misses, mems),
        key="rc_near_misses",
        column_config={"score": SCORE, "margin": MARGIN},
        **w.TABLE,
    )
    return target


def show_diff(a: Trace, b: Trace, name_a: str, name_b: str, engine: MemoryEngine, key: str) -> None:
    diff = tracing.compare(a, b)
    metrics_row(vt.diff_metrics(diff, max(a.k, b.k)))
    mems = engine.read.memories_by_id(diff.table["id"].tolist())
    st.plotly_chart(vt.compare_figure(diff, mems, max(a.k, b.k), name_a, name_b), key=f"{key}_fig", width="stretch")
    st.dataframe(
        vt.with_text(diff.table, mems),
        key=f"{key}_table",
        column_config={"score_a": SCORE, "score_b": SCORE},
        **w.TABLE,
    )


def show_side_by_side(engine: MemoryEngine, trace: Trace) -> None:
    name_a = vt.preset_name(trace)
    b, run = ur.preset_picker(name_a)
    if run:
        try:  # a pure read: neither reinforced nor recorded
            cfg_b = preset_config(b, k=trace.k, as_of_s=trace.time_s, reinforce=False, scope=trace.config.get("scope"))
            st.session_state["rc_cmp_trace"] = engine.recall(trace.query, cfg_b).trace.to_dict()
        except MemvizError as e:
            st.error(inert(e))
    data = st.session_state.get("rc_cmp_trace")
    if not data or data["query"] != trace.query:
        st.caption("Runs the chosen preset on the same query, at the same clock time, without reinforcing.")
        return
    other = Trace.from_dict(data)
    la, lb = f"A: {name_a}", f"B: {vt.preset_name(other)}"
    for col, t, label in zip(st.columns(2), (trace, other), (la, lb)):
        col.markdown(f"**{label}**")
        col.dataframe(
            vt.final_table(t, engine.read.memories_by_id(vt.trace_memory_ids(t))), key=f"rc_side_{label[0]}", **w.TABLE
        )
    show_diff(trace, other, la, lb, engine, "rc_cmp")


def show_past(engine: MemoryEngine) -> None:
    ur.open_requested_trace(engine)  # by id: ?trace=<id> in the URL, or typed
    by_id = {t.id: t for t in reversed(engine.traces(limit=50))}
    if not by_id:
        st.caption("No recall kept yet: tick 'Keep this recall in the history' (it writes a recall event).")
        return
    reopen, a, b, compare = ur.past_pickers(by_id)
    if reopen is not None:
        st.session_state["rc_trace"] = by_id[reopen].to_dict()
        st.rerun()
    if compare or st.session_state.get("rc_past_shown") == (a, b):
        st.session_state["rc_past_shown"] = (a, b)
        name_a, name_b = (f"{n}: {fmt_time(by_id[i].time_s)}" for n, i in (("A", a), ("B", b)))
        show_diff(by_id[a], by_id[b], name_a, name_b, engine, "rc_past")


engine = get_engine()
st.title("Recall")
st.caption("Why did it recall that, and why not the memory it needed? Every stage, every score component.")
query, cfg, error = recall_form(engine.clock.now(), scope=current_scope())
if error:
    st.error(inert(error))
if st.button("Recall", key="rc_run", type="primary", disabled=cfg is None):
    try:
        st.session_state["rc_trace"] = acting_engine(engine).recall(query, cfg).trace.to_dict()
        st.session_state.pop("rc_cmp_trace", None)
    except MemvizError as e:
        st.error(inert(e))
if "rc_trace" not in st.session_state:
    st.info("Type a query and press Recall, or reopen a past trace (an agent's recalls through memviz mcp too).")
    show_past(engine)
    st.stop()
trace = Trace.from_dict(st.session_state["rc_trace"])
mems = engine.read.memories_by_id(vt.trace_memory_ids(trace))
st.markdown(f"**{inert(trace.query)}** · {vt.trace_heading(trace, fmt_time)}")
tabs = st.tabs(["Hits", "Trace", "Why not?", "Presets side by side", "Past traces"])
with tabs[2]:
    looked_at = show_why_not(engine, trace, mems)
with tabs[0]:
    show_hits(trace, mems)
with tabs[1]:
    show_trace(trace, mems, highlight=looked_at)
with tabs[3]:
    show_side_by_side(engine, trace)
with tabs[4]:
    show_past(engine)
