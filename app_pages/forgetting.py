"""Forgetting: a memory's retention curve and reinforcements, the population's retention and what a threshold would
suppress, the actions changing them, the store's versions. Layout only: memviz.forgetting, memviz.ui.forgetting,
memviz.viz.forgetting."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz import forgetting as fg
from memviz.decay import DECAY_MODELS, SECONDS_PER_DAY, DecayParams
from memviz.engine import MemoryEngine
from memviz.ui import forgetting as uf
from memviz.ui import widgets as w
from memviz.ui.state import acting_engine, db_uri, fmt_time, get_engine
from memviz.viz import forgetting as vf
from memviz.viz.memories import memory_labels

MAX_PICK, MAX_LIST = 2000, 500
DAYS = st.column_config.NumberColumn(format="%.1f")


@st.cache_resource(show_spinner="Computing retention ...", max_entries=16)
def retention_at(
    uri: str,
    version: int,
    as_of_s: float,
    model: str,
    params: DecayParams,
    _engine: MemoryEngine,
    at_version: int | None = None,
) -> pd.DataFrame:
    """Every memory's retention at ``as_of_s`` (of the store now, or at ``at_version``); cached per inputs, shared."""
    return _engine.retention_frame(model, as_of_s, params=params, version=at_version)


def one_memory(
    engine: MemoryEngine, frame: pd.DataFrame, models: list[str], params: DecayParams, threshold: float, as_of_s: float
) -> None:
    """A memory's retention curve (replayed from the event log as it was at ``as_of_s``), its projection, and
    reinforcing it."""
    c = st.columns([2, 3, 1])
    shown = frame.sort_values(["recall_count", "importance"], ascending=False)
    mid = w.memory_search(shown, "Memory (most recalled first)", "fg_memory", "fg_search", MAX_PICK, c[:2])
    horizon = c[2].slider("Project (days)", 0, 365, 60, 5, key="fg_horizon")
    if mid is None:
        return
    history = fg.memory_history(engine.get(mid), engine.read.events(memory_id=mid), as_of_s)
    curves = vf.retention_curves(history, as_of_s, horizon, models, params)
    title = memory_labels(frame[frame["id"] == mid]).get(mid, mid)
    st.plotly_chart(vf.curve_figure(curves, history, as_of_s, threshold, title=title), key="fg_curve", width="stretch")
    when = "now" if as_of_s == engine.clock.now() else "then"
    w.metrics_row(fg.memory_metrics(history, as_of_s, models, params, when))
    if len(history.access_times_s) > 1:
        st.dataframe(
            vf.history_table(history, fmt_time),
            key="fg_history",
            column_config={"stability before (days)": DAYS, "stability after (days)": DAYS},
            **w.TABLE,
        )
    if st.button(
        "Reinforce this memory now (writes)",
        key="fg_reinforce",
        help="Writes to the store, at the clock: as a recall would, stability rises (more when retention has "
        "fallen) and elapsed time resets",
    ):
        w.done(fg.reinforce_message(acting_engine(engine).reinforce([mid], reason="manual")[0]), key=uf.MESSAGE_KEY)


def population(
    engine: MemoryEngine, frame: pd.DataFrame, model: str, params: DecayParams, as_of_s: float, threshold: float
) -> None:
    """The retention distribution at the "as of" time, what the threshold would suppress, and the actions."""
    below = fg.suppressed(frame, threshold)
    w.metrics_row(fg.population_metrics(frame, below))
    st.plotly_chart(
        vf.distribution_figure(
            fg.live_retention(frame),
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
            key="fg_below",
            column_config={
                "retention": st.column_config.NumberColumn(format="%.4f"),
                "stability_days": DAYS,
                "elapsed_days": DAYS,
            },
            **w.TABLE,
        )
    uf.recall_change(engine, below, model, params, as_of_s, threshold)
    uf.actions(engine, frame, below, model, as_of_s, threshold)


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
        st.dataframe(gone[["text", "speaker", "session_id", "id"]].head(MAX_LIST), key="fg_gone", **w.TABLE)


engine = get_engine()
st.title("Forgetting curves")
w.show_flash(uf.MESSAGE_KEY)
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
with st.expander("Decay parameters and the reinforcement rule"):
    params = uf.param_widgets(engine)
models = fg.compared_models(model, other)
frame = retention_at(db_uri(), engine.read.version(), as_of_s, model, params, engine)
tab_one, tab_pop, tab_time = st.tabs(
    ["One memory", "Population", "Time travel"], key="fg_tab", on_change="rerun"
)  # lazy
if tab_one.open:
    with tab_one:
        one_memory(engine, frame, models, params, threshold, as_of_s)
if tab_pop.open:
    with tab_pop:
        population(engine, frame, model, params, as_of_s, threshold)
if tab_time.open:
    with tab_time:
        time_travel(engine, frame, model, params, as_of_s)
