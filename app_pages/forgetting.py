"""Forgetting: a memory's retention curve and reinforcements, the population's retention and what a threshold would
suppress, the actions changing them, the store's versions. Layout only: memviz.forgetting, memviz.viz.forgetting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz import forgetting as fg
from memviz.decay import DECAY_MODELS, SECONDS_PER_DAY, DecayParams
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.ui import widgets as w
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz import forgetting as vf
from memviz.viz.memories import memory_labels

MAX_PICK, MAX_LIST = 2000, 500
DAYS = st.column_config.NumberColumn(format="%.1f")


@st.cache_data(show_spinner="Computing retention ...", max_entries=16)
def retention_at(
    uri: str,
    version: int,
    as_of_s: float,
    model: str,
    params: DecayParams,
    _engine: MemoryEngine,
    at_version: int | None = None,
) -> pd.DataFrame:
    """Every memory's retention at ``as_of_s`` (of the store now, or at ``at_version``); cached per inputs."""
    return _engine.retention_frame(model, as_of_s, params=params, version=at_version)


def param_widgets(engine: MemoryEngine) -> DecayParams:
    """Sliders for the decay parameters (defaults: the engine's); the curves and counts follow them at once."""
    values = {
        field: col.slider(
            label, lo, hi, float(getattr(engine.decay_params, field)), step, key=f"fg_{field}", help=help_
        )
        for col, (field, label, lo, hi, step, help_) in zip(st.columns(4), vf.PARAM_SLIDERS)
    }
    st.caption(vf.EXPONENTIAL_NOTE)
    return DecayParams(**values)


def one_memory(
    engine: MemoryEngine, frame: pd.DataFrame, models: list[str], params: DecayParams, threshold: float
) -> None:
    """A memory's retention curve (replayed from the event log), its projection, and reinforcing it."""
    c = st.columns([2, 3, 1])
    shown = frame.sort_values(["recall_count", "importance"], ascending=False)
    mid = w.memory_search(shown, "Memory (most recalled first)", "fg_memory", "fg_search", MAX_PICK, c[:2])
    horizon = c[2].slider("Project (days)", 0, 365, 60, 5, key="fg_horizon")
    if mid is None:
        return
    history = fg.memory_history(engine.get(mid), engine.read.events(memory_id=mid))
    now = engine.clock.now()
    curves = vf.retention_curves(history, now, horizon, models, params)
    title = memory_labels(frame[frame["id"] == mid]).get(mid, mid)
    st.plotly_chart(vf.curve_figure(curves, history, now, threshold, title=title), key="fg_curve", width="stretch")
    w.metrics_row(fg.memory_metrics(history, now, models, params))
    if len(history.access_times_s) > 1:
        st.dataframe(
            vf.history_table(history, fmt_time),
            hide_index=True,
            key="fg_history",
            column_config={"stability before (days)": DAYS, "stability after (days)": DAYS},
        )
    if st.button(
        "Reinforce this memory now",
        key="fg_reinforce",
        help="As a recall would: stability rises (more when retention has fallen), elapsed time resets",
    ):
        w.done(fg.reinforce_message(engine.reinforce([mid], reason="manual")[0]), key="fg_msg")


def population(
    engine: MemoryEngine, frame: pd.DataFrame, model: str, params: DecayParams, as_of_s: float, threshold: float
) -> None:
    """The retention distribution at the "as of" time, what the threshold would suppress, and the actions."""
    below = fg.suppressed(frame, threshold)
    w.metrics_row(fg.population_metrics(frame, below))
    st.plotly_chart(
        vf.distribution_figure(
            frame.loc[frame["forgotten_time_s"].isna(), "retention"].to_numpy(),
            threshold,
            label=f"{vf.MODEL_NAMES[model]} as of {fmt_time(as_of_s)} UTC",
        ),
        key="fg_distribution",
        width="stretch",
    )
    st.markdown(vf.suppress_heading(threshold, len(below), MAX_LIST))
    if len(below):
        st.dataframe(
            below[vf.SUPPRESSED_COLUMNS].head(MAX_LIST),
            hide_index=True,
            key="fg_below",
            column_config={
                "retention": st.column_config.NumberColumn(format="%.4f"),
                "stability_days": DAYS,
                "elapsed_days": DAYS,
            },
        )
    st.markdown(vf.CHANGE_HEADING)
    query, k, clicked = w.query_row(
        "fg", "Compare", "fg_compare", placeholder="e.g. When did Caroline go to the support group?"
    )
    inputs = (db_uri(), engine.read.version(), query, k, model, params, as_of_s, threshold)
    if clicked:
        try:  # two pure reads: nothing is reinforced or recorded
            st.session_state["fg_change"] = (
                inputs,
                fg.recall_change(engine, query, below["id"].tolist(), k, model, as_of_s).table,
            )
        except MemvizError as e:
            st.error(str(e))
    shown_for, change = st.session_state.get("fg_change", (None, None))
    if change is not None and shown_for != inputs:
        st.caption("The settings changed since the last comparison: press Compare again.")
    elif change is not None:
        st.caption(fg.change_summary(change, k))
        st.dataframe(change, hide_index=True, key="fg_change_table")
    st.markdown("**Actions** (recorded in the event log)")
    c = st.columns(3)
    with c[0].container(border=True):
        days = st.number_input("Days", 1, 3650, 30, key="fg_advance_days")
        if st.button("Advance the clock", key="fg_advance"):
            engine.advance_clock(days=float(days))
            w.done(f"Clock advanced by {days} days to {fmt_time(engine.clock.now())} UTC.", key="fg_msg")
    with c[1].container(border=True):
        st.caption(f"Soft-forget the {len(below):,} memories below {threshold:.2f}: they leave recall but stay stored.")
        # What is listed above (at the "as of" time, under the parameters shown), not engine.forget_below (now).
        if st.button(f"Soft-forget {len(below):,}", key="fg_forget", disabled=below.empty):
            reason = f"retention < {threshold:.2f} ({model}) as of {fmt_time(as_of_s)}"
            st.session_state["fg_undo"] = ids = engine.forget(below["id"].tolist(), reason=reason)
            w.done(f"Soft-forgot {len(ids):,} memories.", key="fg_msg")
        if (undo := st.session_state.get("fg_undo")) and st.button(
            f"Undo: restore {len(undo):,}", key="fg_undo_button"
        ):
            engine.restore(undo)
            st.session_state.pop("fg_undo")
            w.done(f"Restored {len(undo):,} memories.", key="fg_msg")
    with c[2].container(border=True):
        forgotten = fg.forgotten_ids(frame)
        sure = st.checkbox(
            f"Delete the {len(forgotten):,} soft-forgotten memories for good",
            key="fg_prune_confirm",
            disabled=not forgotten,
        )
        if st.button(
            "Hard prune",
            key="fg_prune",
            type="primary",
            disabled=not (sure and forgotten),
            help="Deletes them and their links from the current version (older versions still hold them)",
        ):
            n = engine.prune(forgotten)
            st.session_state.pop("fg_undo", None)
            w.done(f"Pruned {n:,} memories.", key="fg_msg")


def time_travel(engine: MemoryEngine, now_frame: pd.DataFrame, model: str, params: DecayParams, as_of_s: float) -> None:
    """The versions and the event log on a timeline, and the store as it was at a chosen version."""
    versions, events = engine.read.versions(), engine.read.event_timeline()
    rows = {v["version"]: v for v in versions}
    picked = st.selectbox(
        "View the store as of version",
        list(reversed(rows)),
        key="fg_version",
        format_func=lambda v: fg.version_label(rows[v]),
    )
    st.plotly_chart(vf.timeline_figure(versions, events, picked), key="fg_timeline", width="stretch")
    st.caption(vf.timeline_caption(len(events), len(versions)))
    then = retention_at(db_uri(), engine.read.version(), as_of_s, model, params, engine, at_version=picked)
    w.metrics_row(fg.version_metrics(fg.version_diff(then, now_frame), then))
    gone = then[~then["id"].isin(now_frame["id"])]
    if len(gone):
        st.markdown(f"**Memories of version {picked} that are no longer stored** ({len(gone):,})")
        st.dataframe(gone[["text", "speaker", "session_id", "id"]].head(MAX_LIST), hide_index=True, key="fg_gone")


engine = get_engine()
st.title("Forgetting curves")
w.show_flash("fg_msg")
if engine.read.count() == 0:
    st.info("The store is empty: add memories on the Memories page.")
    st.stop()
c = st.columns([2, 2, 3, 2])
model = c[0].selectbox("Decay model", DECAY_MODELS, key="fg_model", format_func=vf.MODEL_NAMES.get)
other = c[1].selectbox(
    "Overlay a second model", ["none", *DECAY_MODELS], key="fg_model_b", format_func=lambda m: vf.MODEL_NAMES.get(m, m)
)
now = engine.clock.now()
as_of_days = c[2].slider(
    "As of (days from the clock)",
    fg.as_of_min_days(engine.read.time_range(), now),
    365,
    0,
    1,
    key="fg_as_of_days",
    help="Look at retention at another time without moving the clock",
)
threshold = c[3].slider("Forget threshold", 0.0, 1.0, 0.1, 0.01, key="fg_threshold")
as_of_s = now + as_of_days * SECONDS_PER_DAY
st.caption(f"Clock {fmt_time(now)} UTC · as of {fmt_time(as_of_s)} UTC")
with st.expander("Decay parameters"):
    params = param_widgets(engine)
models = [model] + ([other] if other not in ("none", model) else [])
frame = retention_at(db_uri(), engine.read.version(), as_of_s, model, params, engine)
tab_one, tab_pop, tab_time = st.tabs(
    ["One memory", "Population", "Time travel"], key="fg_tab", on_change="rerun"
)  # lazy
if tab_one.open:
    with tab_one:
        one_memory(engine, frame, models, params, threshold)
if tab_pop.open:
    with tab_pop:
        population(engine, frame, model, params, as_of_s, threshold)
if tab_time.open:
    with tab_time:
        time_travel(engine, frame, model, params, as_of_s)
