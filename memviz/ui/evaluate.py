"""Streamlit parts of the Evaluate page: browsing one evaluation's questions (its question table, a question's
gold evidence and what was retrieved) and a question's trace with the why-not view. What they show is computed by
:mod:`memviz.viz.evaluate` and :mod:`memviz.viz.trace`."""

from __future__ import annotations

from typing import Any

import streamlit as st

from memviz import tracing
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.evaluate.common import find_trace
from memviz.filters import MemoryFilter
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import store_engine
from memviz.viz import evaluate as ve
from memviz.viz.trace import rank_flow_figure, trace_table, why_not_figure


def browse(result: dict[str, Any]) -> None:
    """The questions of one evaluation ``result`` (filtered by outcome), then a picked question: its header, gold
    evidence and retrieved memories (texts read from its store while the store exists) and its trace."""
    metrics = list(result["overall"])
    c = st.columns([1, 1, 2])
    metric = c[0].selectbox("Metric", metrics, index=ve.default_metric(metrics), key="ev_q_metric")
    show = c[1].selectbox("Show", ve.QUESTION_FILTERS, key="ev_q_filter")
    frame = ve.filter_questions(ve.questions_frame(result, metric), show, metric)
    st.dataframe(frame, key="ev_q_table", height=280, **w.TABLE)
    decay_suppressed(result, metric)
    by_id = {q["id"]: q for q in result["questions"]}
    qid = st.selectbox(
        "Question", frame["id"].tolist(), key="ev_q_pick", format_func=lambda i: f"{i}: {by_id[i]['question'][:90]}"
    )
    if qid is None:
        return
    q = by_id[qid]
    st.markdown(f"**{inert(q['question'])}**")
    for line in ve.question_header(q):
        st.caption(inert(line))
    if q["status"] != "evaluated":
        return
    gold, engine = q.get("evidence", []), store_engine(q["store"])
    sessions = result.get("granularity") == "session"
    k = int(st.number_input("Show the top", 1, 50, 10, key="ev_q_k"))
    shown = list(dict.fromkeys(gold + (q.get("retrieved") or [])[:k]))
    mems = engine.read.memories_by_id(shown) if engine and not sessions else {}
    previews = (
        ve.session_previews(engine.read.table(ve.PREVIEW_COLUMNS, MemoryFilter(sessions=tuple(shown))))
        if engine and sessions
        else None
    )
    left, right = st.columns(2)
    left.markdown("**Gold evidence** and where it ranked")
    left.dataframe(ve.gold_table(q, mems, previews), key="ev_gold", **w.TABLE)
    right.markdown(f"**Retrieved** (top {k}; gold marked)")
    right.dataframe(ve.retrieved_table(q, mems, k, previews), key="ev_retrieved", **w.TABLE)
    show_question_trace(q, gold, sessions, engine, ve.metric_k(metric))


def decay_suppressed(result: dict[str, Any], metric: str) -> None:
    """The gold items decay pushed out of the top k of ``metric``, per question (texts read from the stores
    while they exist); a note when the evaluation did not recall without decay."""
    k = ve.metric_k(metric)
    if not ve.has_no_decay(result):
        st.caption("This evaluation has no recall without decay (run it again to compare).")
        return
    table = ve.suppressed_frame(result, metric)
    st.markdown(f"**Gold evidence decay pushed out of the top {k}** ({len(table):,} items)")
    if table.empty:
        st.caption(f"None: every gold item in the top {k} without decay is there with decay too.")
        return
    stores = {q["id"]: q.get("store", "") for q in result["questions"]}
    mems: dict[str, Any] = {}
    for store, ids in table.groupby(table["question id"].map(stores))["gold"]:
        if (engine := store_engine(str(store))) is not None and not result.get("granularity") == "session":
            mems |= engine.read.memories_by_id(list(dict.fromkeys(ids)))
    st.dataframe(ve.suppressed_frame(result, metric, mems), key="ev_suppressed", height=240, **w.TABLE)


def show_question_trace(
    q: dict[str, Any], gold: list[str], sessions: bool, engine: MemoryEngine | None, k: int | None = None
) -> None:
    """Why a question's gold item was (not) retrieved in the top ``k`` of the metric shown (a gold turn or, for
    session granularity, a turn of a gold session) and the question's full trace; without its store, the trace
    without the memories' texts."""
    trace = ve.question_trace(q, find_trace)
    if trace is None:
        st.caption("The trace is not available (its store is gone); run the evaluation again to record it.")
        return
    if engine is None:
        st.caption(f"The store {inert(q['store'])} is gone: the trace is shown without the memories' texts.")
    mems = engine.read.memories_by_id(ve.trace_memory_ids(trace)) if engine else {}
    k = tracing.cutoff_k(trace, k)
    st.markdown(f"**Why was the gold evidence (not) in the top {k}?** (the cut-off of the metric shown)")
    turns = (
        ve.by_final_rank(trace, engine.read.table(["id"], MemoryFilter(sessions=tuple(gold)))["id"].tolist())
        if sessions and engine
        else gold
    )
    target = st.selectbox(
        "Gold item" + (" (a turn of a gold session, best ranked first)" if sessions else ""), turns, key="ev_why_pick"
    )
    if target and engine is not None:
        try:
            why = tracing.why_not(trace, target, engine.explain(trace, [target])[target], k=k)
        except MemvizError as e:
            st.error(inert(e))
        else:
            for r in why.reasons:
                st.markdown(f"- {inert(r)}")
            if not why.retrieved:
                st.plotly_chart(why_not_figure(why, tracing.weights_of(trace)), key="ev_why_fig", width="stretch")
    with st.expander("Full trace of this question", expanded=False):
        st.plotly_chart(rank_flow_figure(trace, mems, highlight=target), key="ev_rank_flow", width="stretch")
        st.dataframe(trace_table(trace, mems).head(200), key="ev_trace_table", **w.TABLE)
