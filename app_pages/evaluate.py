"""Evaluate: run a small retrieval evaluation (LoCoMo, LongMemEval) or load one (``memviz eval ... --json``),
compare metrics per category and preset, and browse each question: its gold evidence, what was retrieved,
where each gold item ranked, and the full trace with the why-not view."""

from __future__ import annotations

import json
import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from memviz import tracing
from memviz.engine import MemoryEngine, open_engine
from memviz.errors import MemvizError
from memviz.evaluate.common import find_trace
from memviz.models import Memory, Trace
from memviz.presets import PRESET_NAMES, PRESETS
from memviz.ui import jobs
from memviz.store import memory_from_row, sql_str_list
from memviz.viz.evaluate import (
    category_figure,
    gold_table,
    metric_curve_figure,
    metrics_table,
    questions_frame,
    result_label,
    retrieved_table,
)
from memviz.viz.trace import rank_flow_figure, trace_table, why_not_figure

DATA = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
DEFAULT_FILES = {"locomo": DATA / "locomo" / "locomo_dev.json", "longmemeval": DATA / "longmemeval" / "longmemeval_s_dev30.json"}
DEFAULT_DB = Path(tempfile.gettempdir()) / "memviz_eval"


@st.cache_resource(show_spinner="Opening the evaluation store ...", max_entries=8)
def eval_engine(store: str) -> MemoryEngine:
    """An engine on one question's evaluation store (the embedding model is shared)."""
    return open_engine(store)


def results() -> list[dict[str, Any]]:
    return st.session_state.setdefault("ev_results", [])


def add_result(result: dict[str, Any]) -> None:
    if not isinstance(result, dict) or not {"overall", "by_category", "questions", "benchmark"} <= set(result):
        raise ValueError("not a memviz evaluation result (expected the JSON of `memviz eval ... --json`)")
    results().append(result)


def run_form() -> None:
    c = st.columns([1, 3, 1, 1])
    bench = c[0].selectbox("Benchmark", ["locomo", "longmemeval"], key="ev_bench")
    # The inputs' values are kept outside the widgets too: Streamlit drops a widget's state when another page
    # is opened, and a run goes on in the background meanwhile (its result names these inputs).
    kept = st.session_state.setdefault("ev_kept", {})
    path = c[1].text_input("Data file", value=kept.get(f"path_{bench}", str(DEFAULT_FILES[bench].resolve())),
                           key=f"ev_path_{bench}")
    preset = c[2].selectbox("Preset", PRESET_NAMES, key="ev_preset", format_func=lambda n: PRESETS[n].label)
    limit = c[3].number_input("Questions (limit)", 1, 5000, 10, key="ev_limit",
                              help="The first N questions of the file; each needs its conversation/haystack ingested once")
    c = st.columns([1, 3])
    gran = c[0].selectbox("Granularity", ["session", "turn"], key="ev_gran", disabled=bench != "longmemeval")
    db = c[1].text_input("Store folder (reused: a second run only recalls)", value=kept.get("db", str(DEFAULT_DB / bench)),
                         key="ev_db")
    kept |= {f"path_{bench}": path, "db": db}
    running, ended = jobs.status(f"eval:{db}", "ev_job")
    if ended is not None:
        add_result(ended.result)
        st.success(ended.message)
    if not st.button("Run evaluation", key="ev_run", type="primary", disabled=running,
                     help="Runs in the background: you can use other pages meanwhile"):
        return

    def work(job: jobs.Job) -> tuple[dict[str, Any], str]:
        def progress(stage: str, done: int, total: int) -> None:
            job.progress(done, total, stage)

        if bench == "locomo":
            from memviz.evaluate.locomo import run_locomo

            result = run_locomo(path, db, preset=preset, limit=int(limit), progress=progress, keep_traces=True)
        else:
            from memviz.evaluate.longmemeval import run_longmemeval

            result = run_longmemeval(path, db, gran, preset=preset, limit=int(limit), progress=progress,
                                     keep_traces=True)
        return result, f"{result_label(result)} in {result['timing']['total_s']} s ({path}, stores in {db})"

    try:
        jobs.launch(lambda: jobs.start(f"eval:{db}", f"the {bench} evaluation", int(limit), work), "ev_job")
    except MemvizError as e:
        st.error(str(e))


def load_form() -> None:
    c = st.columns([2, 2, 1])
    upload = c[0].file_uploader("Evaluation JSON", type=["json"], key="ev_upload")
    path = c[1].text_input("…or its path", key="ev_load_path")
    if not c[2].button("Load", key="ev_load"):
        return
    try:
        raw = upload.getvalue().decode("utf-8") if upload is not None else Path(path.strip()).read_text(encoding="utf-8")
        add_result(json.loads(raw))
    except (OSError, ValueError, UnicodeDecodeError) as e:
        st.error(f"Cannot load it: {e}")


def memories_in(store: str, ids: list[str]) -> dict[str, Memory]:
    if not ids or not Path(store).is_dir():
        return {}
    tbl = eval_engine(store).store.memories_table(where=f"id IN ({sql_str_list(ids)})")
    return {r["id"]: memory_from_row(r) for r in tbl.to_pylist()}


def session_previews(store: str, sessions: list[str]) -> dict[str, str]:
    """A preview of each session: its first turns, shortened."""
    if not sessions or not Path(store).is_dir():
        return {}
    df = eval_engine(store).store.memories_table(
        columns=["session_id", "source_id", "speaker", "text"], where=f"session_id IN ({sql_str_list(sessions)})"
    ).to_pandas().sort_values("source_id")
    return {s: " / ".join(f"{r.speaker}: {r.text[:90]}" for r in g.head(3).itertuples()) for s, g in df.groupby("session_id")}


def question_trace(q: dict[str, Any]) -> Trace | None:
    if "trace" in q:
        return Trace.from_dict(q["trace"])
    return find_trace(q["store"], q["trace_id"]) if q.get("trace_id") else None


def browse(result: dict[str, Any]) -> None:
    metrics = list(result["overall"])
    c = st.columns([1, 1, 2])
    metric = c[0].selectbox("Metric", metrics, index=metrics.index("recall@10") if "recall@10" in metrics else
                            (metrics.index("recall_any@10") if "recall_any@10" in metrics else 0), key="ev_q_metric")
    status = c[1].selectbox("Show", ["misses first", "all", "evaluated only"], key="ev_q_filter")
    frame = questions_frame(result, metric)
    if status != "all":
        frame = frame[frame["status"] == "evaluated"]
    if status == "misses first":
        frame = frame.sort_values(metric, kind="stable")
    st.dataframe(frame, hide_index=True, width="stretch", key="ev_q_table", height=280)
    by_id = {q["id"]: q for q in result["questions"]}
    qid = st.selectbox("Question", frame["id"].tolist(), key="ev_q_pick",
                       format_func=lambda i: f"{i}: {by_id[i]['question'][:90]}")
    if qid is None:
        return
    q = by_id[qid]
    st.markdown(f"**{q['question']}**")
    st.caption(f"category {q.get('category_name', q['category'])} · answer: {q.get('answer', '')} · status {q['status']}")
    if q.get("malformed_evidence"):
        st.caption(f"malformed evidence ids (dropped): {', '.join(q['malformed_evidence'])}")
    if q["status"] != "evaluated":
        return
    gold = q.get("evidence", [])
    sessions = result.get("granularity") == "session"
    k = st.number_input("Show the top", 1, 50, 10, key="ev_q_k")
    retrieved = (q.get("retrieved") or [])[: int(k)]
    mems = {} if sessions else memories_in(q["store"], list(dict.fromkeys(gold + retrieved)))
    previews = session_previews(q["store"], list(dict.fromkeys(gold + retrieved))) if sessions else None
    left, right = st.columns(2)
    left.markdown("**Gold evidence** and where it ranked")
    left.dataframe(gold_table(q, mems, previews), hide_index=True, width="stretch", key="ev_gold")
    right.markdown(f"**Retrieved** (top {int(k)}; gold marked)")
    right.dataframe(retrieved_table(q, mems, int(k), previews), hide_index=True, width="stretch", key="ev_retrieved")
    show_question_trace(q, gold, sessions)


def show_question_trace(q: dict[str, Any], gold: list[str], sessions: bool) -> None:
    trace = question_trace(q)
    if trace is None:
        st.caption("The trace is not available (its store is gone); run the evaluation again to record it.")
        return
    if not Path(q["store"]).is_dir():
        st.caption(f"The store {q['store']} is gone: the trace is shown without the memories' texts.")
        engine, mems = None, {}
    else:
        engine = eval_engine(q["store"])
        ids = list(dict.fromkeys(c.id for s in trace.stages for c in s.candidates))[:400]
        mems = memories_in(q["store"], ids)
    st.markdown("**Why was the gold evidence (not) retrieved?**")
    if sessions and engine is not None:
        tbl = engine.store.memories_table(columns=["id", "session_id"], where=f"session_id IN ({sql_str_list(gold)})")
        ranking = {c.id: c.rank for c in tracing.last_ranking(trace).candidates}
        turns = sorted(tbl.column("id").to_pylist(), key=lambda i: ranking.get(i, 10**9))
    else:
        turns = gold
    target = st.selectbox("Gold item" + (" (a turn of a gold session, best ranked first)" if sessions else ""),
                          turns, key="ev_why_pick")
    if target and engine is not None:
        try:
            explained = engine.explain(trace, [target])[target]
        except MemvizError as e:
            st.error(str(e))
        else:
            why = tracing.why_not(trace, target, explained)
            for r in why.reasons:
                st.markdown(f"- {r}")
            if not why.retrieved:
                st.plotly_chart(why_not_figure(why, tracing.weights_of(trace)), key="ev_why_fig", width="stretch")
    with st.expander("Full trace of this question", expanded=False):
        st.plotly_chart(rank_flow_figure(trace, mems, highlight=target), key="ev_rank_flow", width="stretch")
        st.dataframe(trace_table(trace, mems).head(200), hide_index=True, width="stretch", key="ev_trace_table")


st.title("Evaluate")
st.caption("Retrieval on LoCoMo (recall@k over dialogue turns) and LongMemEval (recall_any / recall_all / ndcg_any "
           "@k), with the benchmarks' own protocols. Evaluation never reinforces.")
source = st.radio("Results", ["run", "load"], horizontal=True, key="ev_source",
                  format_func={"run": "Run a small evaluation", "load": "Load an evaluation JSON"}.get)
if source == "run":
    run_form()
else:
    load_form()

runs = results()
if not runs:
    st.info("Run an evaluation or load one (`memviz eval locomo FILE --db DIR --json > result.json`).")
    st.stop()
labels = [f"{n + 1}. {result_label(r)}" for n, r in enumerate(runs)]
c = st.columns([5, 1])
# Keyed by the number of runs, so that a run just added is shown.
shown = c[0].multiselect("Runs shown", list(range(len(runs))), default=list(range(len(runs))),
                         key=f"ev_shown_{len(runs)}", format_func=lambda n: labels[n])
if c[1].button("Clear all", key="ev_clear"):
    st.session_state["ev_results"] = []
    st.rerun()
picked = [runs[n] for n in shown]
if picked:
    table = metrics_table(picked)
    st.dataframe(table, hide_index=True, width="stretch", key="ev_metrics",
                 column_config={c: st.column_config.NumberColumn(format="%.3f") for c in table.columns[3:]})
    left, right = st.columns(2)
    left.plotly_chart(metric_curve_figure(picked), key="ev_curve", width="stretch")
    metric_names = list(dict.fromkeys(m for r in picked for m in r["overall"]))
    cat_metric = right.selectbox("Metric by category", metric_names, key="ev_cat_metric",
                                 index=next((n for n, m in enumerate(metric_names) if m in ("recall@10", "recall_any@10")), 0))
    right.plotly_chart(category_figure(picked, cat_metric), key="ev_cat", width="stretch")
    st.subheader("Browse the questions")
    run_pick = st.selectbox("Run", shown, key="ev_browse_run", format_func=lambda n: labels[n])
    browse(runs[run_pick])
