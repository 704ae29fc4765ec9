"""Streamlit parts of the Replay page: the form running a replay as a background job, and "what decay
suppressed at this moment" (a query, the turn's or typed, recalled as of the scrubbed time with and without
decay: two pure reads). What they show is computed by :mod:`memviz.replay_view` and :mod:`memviz.viz.replay`;
keys are ``rp_*``."""

from __future__ import annotations

import tempfile
from dataclasses import replace
from pathlib import Path

import pandas as pd
import streamlit as st

from memviz import replay_view as rv
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.evaluate.common import store_dir
from memviz.importers import Format
from memviz.paths import LOCOMO_DEV
from memviz.recall.config import RecallConfig
from memviz.ui import jobs
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import acting_engine, fmt_time
from memviz.viz import replay as vr

DEFAULT_DB = Path(tempfile.gettempdir()) / "memviz_replay"
FORMATS: list[Format] = ["locomo", "longmemeval", "memorybank", "jsonl"]
SUPPRESSED_COLUMNS = w.number_columns(retention="%.4f", stability_days="%.1f")


def run_form(engine: MemoryEngine) -> None:
    """Data file, format, recall k, questions, groups and store folder; "Run replay" starts the background job
    (with this app's embedding model and reinforcement rule). Once it has ended: a button per replayed store to
    open it in the sidebar."""
    kept = st.session_state.setdefault("rp_kept", {})  # kept while another page is open (the job goes on)
    c = st.columns([3, 1, 1, 1])
    path = c[0].text_input("Data file", value=kept.get("path", str(LOCOMO_DEV)), key="rp_path")
    fmt: Format = c[1].selectbox("Format", FORMATS, key="rp_format")
    k = c[2].number_input("Recall k per turn", 1, 50, 5, key="rp_k", help="Hits of each turn's recall, all reinforced")
    questions = c[3].checkbox("Ask the questions", key="rp_questions", help="With and without decay, at their time")
    c = st.columns([1, 3])
    group_text = c[0].text_input("Groups (comma-separated)", key="rp_groups", help="e.g. conv-26; empty: all")
    db = c[1].text_input("Store folder (one store per group)", value=kept.get("db", str(DEFAULT_DB)), key="rp_db")
    kept |= {"path": path, "db": db}
    groups = tuple(g.strip() for g in group_text.split(",") if g.strip())
    ended = jobs.run_button(
        "Run replay (writes)",
        "rp_run",
        f"replay:{db.strip()}",
        "rp_job",
        lambda: jobs.start_replay(path, fmt, db, int(k), questions, groups, acting_engine(engine)),
        help="Runs in the background; a rerun resumes where it stopped. Writes new stores under the folder",
    )
    if ended is not None:
        st.session_state["rp_stores"] = [g.group for g in ended.result.groups]
        st.session_state["rp_stores_db"] = db.strip()
    for n, group in enumerate(st.session_state.get("rp_stores", [])):
        uri = str(store_dir(st.session_state["rp_stores_db"], group))
        if st.button(f"Open the replayed store {inert(group)}", key=f"rp_open_{n}", help=uri):
            st.session_state["db_uri_next"] = uri
            st.rerun()


@st.cache_data(show_spinner="Recalling with and without decay ...", max_entries=32)
def _suppressed(
    uri: str, version: int, query: str, t: float, k: int, retention_weight: float, _engine: MemoryEngine
) -> pd.DataFrame:
    base = RecallConfig()
    config = replace(base, weights=dict(base.weights) | {"retention": retention_weight})
    return rv.suppressed_at(_engine, query, t, k, config)


def suppressed(engine: MemoryEngine, uri: str, queries: pd.DataFrame, t: float) -> None:
    """What decay suppressed at ``t``: the query (the replay's turn at that moment, or typed), k, the retention
    weight of the score (default: the default recall's), and the memories in the top k without decay but not with
    it, with their retention then."""
    st.subheader("What decay suppressed at this moment")
    c = st.columns([1, 4, 1, 1])
    source = c[0].radio(
        "Query",
        ["turn", "typed"],
        key="rp_q_source",
        format_func={"turn": "the turn at this moment", "typed": "my own"}.get,
        disabled=queries.empty,
        index=1 if queries.empty else 0,
    )
    turn = rv.query_at(queries, t)
    if source == "turn" and not queries.empty:
        query = turn
        c[1].text_area("The replay's turn recall at or before this moment", turn, key="rp_turn_q", disabled=True)
    else:
        query = c[1].text_input("Query", key="rp_query", placeholder="e.g. What does Caroline paint?")
    k = int(c[2].number_input("k", 1, 50, 10, key="rp_sup_k"))
    weight = c[3].number_input(
        "Retention weight",
        0.0,
        1.0,
        float(RecallConfig().weights["retention"]),
        0.01,
        key="rp_sup_weight",
        help="The weight of retention in the score (relevance has 1). The default recall's is small: decay breaks "
        "near-ties only (docs/performance.md); raise it to see what a stronger decay would suppress",
    )
    if not query.strip():
        st.caption("Type a query to see what a recall at this moment would have lost to decay.")
        return
    try:
        table = _suppressed(uri, engine.read.version(), query, t, k, float(weight), engine)
    except MemvizError as e:
        st.error(inert(e))
        return
    st.caption(f"As of {fmt_time(t)} UTC: {vr.suppressed_caption(len(table), k)} Two pure reads: nothing is written.")
    if len(table):
        st.dataframe(table, key="rp_suppressed", column_config=SUPPRESSED_COLUMNS, **w.TABLE)


__all__ = ["DEFAULT_DB", "run_form", "suppressed"]
