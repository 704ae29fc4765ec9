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
from memviz.viz import evaluate_audit as va
from memviz.viz import evaluate_coverage as vc
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
    audit_section(result, metric)
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
    if va.is_audited(q):
        st.warning("\n\n".join(inert(line) for line in va.audit_lines(q)), icon="⚠️")
    if q["status"] != "evaluated":
        return
    gold, engine = q.get("evidence", []), store_engine(q["store"])
    sessions = result.get("granularity") == "session"
    k = int(st.number_input("Show the top", 1, 50, 10, key="ev_q_k"))
    shown = list(dict.fromkeys(gold + q.get("evidence_audited", []) + (q.get("retrieved") or [])[:k]))
    mems = engine.read.memories_by_id(shown) if engine and not sessions else {}
    previews = (
        ve.session_previews(engine.read.table(ve.PREVIEW_COLUMNS, MemoryFilter(sessions=tuple(shown))))
        if engine and sessions
        else None
    )
    left, right = st.columns(2)
    if va.changes_gold(q):
        left.markdown(f"**Gold evidence, official and audited**, and its outcome in the top {k}")
        left.dataframe(va.both_gold_table(q, mems, k), key="ev_gold", **w.TABLE)
    else:
        left.markdown("**Gold evidence** and where it ranked")
        left.dataframe(ve.gold_table(q, mems, previews), key="ev_gold", **w.TABLE)
    right.markdown(f"**Retrieved** (top {k}; gold marked)")
    right.dataframe(ve.retrieved_table(q, mems, k, previews), key="ev_retrieved", **w.TABLE)
    show_question_trace(q, gold, sessions, engine, ve.metric_k(metric))


def audit_section(result: dict[str, Any], metric: str) -> None:
    """The questions the run's audit flags (nothing without an audit): their error type, both scores of
    ``metric`` and the auditors' reasoning."""
    caption = va.audit_caption(result)
    if caption is None:
        return
    st.markdown(f"**Audited answer key**: {inert(caption)}")
    st.dataframe(va.audit_frame(result, metric), key="ev_audit", height=240, **w.TABLE)


def coverage_section(result: dict[str, Any]) -> None:
    """What the run's memory never surfaced and what it surfaced for everything (a note for a run without)."""
    if not vc.has_coverage(result):
        st.caption("This evaluation has no coverage and hubs (LoCoMo runs report them; run it again).")
        return
    k = result["coverage"]["k"]
    st.markdown(f"**Coverage and hubs** (top {k} of each evaluated question, adversarial ones too)")
    w.metrics_row(vc.coverage_metrics(result))
    left, right = st.columns(2)
    left.markdown(f"**Hubs**: in the top {k} of the most questions whose gold they are not")
    left.dataframe(vc.hubs_frame(result), key="ev_hubs", height=280, **w.TABLE)
    right.markdown(f"**Gold never retrieved**: no question had them in its top {k}")
    right.dataframe(vc.never_retrieved_gold_frame(result), key="ev_never", height=280, **w.TABLE)
    st.caption(
        "On the Graph page, open one of the evaluation's stores in the sidebar and colour by “retrieved by n "
        "questions” to see them in the memory graph."
    )


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
        else list(dict.fromkeys(gold + q.get("evidence_audited", [])))
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
