"""Evaluate: run a small retrieval evaluation (LoCoMo, LongMemEval) or load one (``memviz eval ... --json``),
compare metrics per category and preset, and browse each question: its gold evidence, what was retrieved,
where each gold item ranked, and the full trace with the why-not view."""

from __future__ import annotations

import tempfile
from pathlib import Path
from typing import Any

import streamlit as st

from memviz.paths import LOCOMO_AUDIT_DEV, LOCOMO_DEV, LONGMEMEVAL_S_DEV
from memviz.recall.presets import PRESET_NAMES, PRESETS
from memviz.ui import evaluate as ue
from memviz.ui import jobs
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.viz import evaluate as ve

DEFAULT_FILES = {"locomo": LOCOMO_DEV, "longmemeval": LONGMEMEVAL_S_DEV}
DEFAULT_DB = Path(tempfile.gettempdir()) / "memviz_eval"
LIMIT_HELP = "The first N questions of the file; each needs its conversation/haystack ingested once"
AUDIT_HELP = f"e.g. {LOCOMO_AUDIT_DEV}: each question is also scored against the audited evidence"


def run_form() -> dict[str, Any] | None:
    """The run form; returns the result of this session's run once it has ended."""
    c = st.columns([1, 3, 1, 1])
    bench = c[0].selectbox("Benchmark", ["locomo", "longmemeval"], key="ev_bench")
    # The inputs' values are kept outside the widgets too: Streamlit drops a widget's state when another page
    # is opened, and a run goes on in the background meanwhile (its result names these inputs).
    kept = st.session_state.setdefault("ev_kept", {})
    path = c[1].text_input(
        "Data file", value=kept.get(f"path_{bench}", str(DEFAULT_FILES[bench])), key=f"ev_path_{bench}"
    )
    preset = c[2].selectbox("Preset", PRESET_NAMES, key="ev_preset", format_func=lambda n: PRESETS[n].label)
    limit = c[3].number_input("Questions (limit)", 1, 5000, 10, key="ev_limit", help=LIMIT_HELP)
    c = st.columns([1, 2, 2])
    gran = c[0].selectbox("Granularity", ["session", "turn"], key="ev_gran", disabled=bench != "longmemeval")
    db = c[1].text_input(
        "Store folder (reused: a second run only recalls)", key="ev_db", value=kept.get("db", str(DEFAULT_DB / bench))
    )
    audit = c[2].text_input("Audit of the answer key (LoCoMo, optional)", key="ev_audit_path", help=AUDIT_HELP)
    kept |= {f"path_{bench}": path, "db": db}
    ended = jobs.run_button(
        "Run evaluation",
        "ev_run",
        f"eval:{db}",
        "ev_job",
        lambda: jobs.start_eval(bench, path, db, preset, int(limit), gran, audit.strip() or None),
        help="Runs in the background: you can use other pages meanwhile",
    )
    return None if ended is None else ve.check_result(ended.result)


def load_form() -> dict[str, Any] | None:
    c = st.columns([2, 2, 1])
    upload = c[0].file_uploader("Evaluation JSON", type=["json"], key="ev_upload")
    path = c[1].text_input("…or its path", key="ev_load_path")
    if not c[2].button("Load", key="ev_load"):
        return None
    try:
        raw = upload.getvalue().decode() if upload is not None else Path(path.strip()).read_text("utf-8")
        return ve.parse_result(raw)
    except (OSError, ValueError, UnicodeDecodeError) as e:
        st.error(f"Cannot load it: {inert(e)}")
    return None


st.title("Evaluate")
st.caption(
    "Retrieval on LoCoMo (recall@k over dialogue turns) and LongMemEval (recall_any / recall_all / ndcg_any "
    "@k), with the benchmarks' own protocols. Evaluation never reinforces."
)
source = st.radio(
    "Results",
    ["run", "load"],
    horizontal=True,
    key="ev_source",
    format_func={"run": "Run a small evaluation", "load": "Load an evaluation JSON"}.get,
)
added = run_form() if source == "run" else load_form()
runs = st.session_state.setdefault("ev_results", [])
if added is not None:
    runs.append(added)
if not runs:
    st.info("Run an evaluation or load one (`memviz eval locomo FILE --db DIR --json > result.json`).")
    st.stop()
labels = ve.run_labels(runs)
c = st.columns([5, 1])
# Keyed by the number of runs, so that a run just added is shown.
shown = c[0].multiselect(
    "Runs shown",
    list(range(len(runs))),
    default=list(range(len(runs))),
    key=f"ev_shown_{len(runs)}",
    format_func=lambda n: labels[n],
)
if c[1].button("Clear all", key="ev_clear"):
    st.session_state["ev_results"] = []
    st.rerun()
picked = [runs[n] for n in shown]
if picked:
    table = ve.metrics_table(picked)
    st.dataframe(
        table, key="ev_metrics", column_config=w.number_columns(**dict.fromkeys(table.columns[3:], "%.3f")), **w.TABLE
    )
    left, right = st.columns(2)
    left.plotly_chart(ve.metric_curve_figure(picked), key="ev_curve", width="stretch")
    names = ve.metric_names(picked)
    cat_metric = right.selectbox("Metric by category", names, key="ev_cat_metric", index=ve.default_metric(names))
    right.plotly_chart(ve.category_figure(picked, cat_metric), key="ev_cat", width="stretch")
    if any("by_category_no_decay" in r for r in picked):
        st.markdown(f"**{cat_metric} with decay and without** (each question recalled twice; a pure read)")
        st.plotly_chart(ve.decay_category_figure(picked, cat_metric), key="ev_decay_cat", width="stretch")
    st.subheader("Browse the questions")
    run_pick = st.selectbox("Run", shown, key="ev_browse_run", format_func=lambda n: labels[n])
    ue.coverage_section(runs[run_pick])
    ue.browse(runs[run_pick])
