"""Replay: a store written by ``memviz replay`` (turn by turn: recall, reinforce, write, decay) seen through
time. A scrubber over the replay's span; the population by retention band over time; memories written and
recalled per session; the strongest memories and what decay suppressed at the scrubbed moment; a replay run as a
background job. Layout only: memviz.replay_view, memviz.ui.replay, memviz.viz.replay."""

from __future__ import annotations

import numpy as np
import pandas as pd
import streamlit as st

from memviz import replay_view as rv
from memviz.decay import DecayParams
from memviz.engine import MemoryEngine
from memviz.replay import FORGET_THRESHOLD
from memviz.ui import replay as ur
from memviz.ui import widgets as w
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz import replay as vr

TABLE_FORMATS = w.number_columns(retention="%.4f", stability_days="%.1f")


@st.cache_data(show_spinner="Reading the replay ...", max_entries=8)
def replay_log(uri: str, version: int, events: int, _engine: MemoryEngine) -> tuple[np.ndarray, pd.DataFrame]:
    """The time grid and the replay's turn queries of the store (cached per store, version and event count)."""
    return rv.time_grid(_engine), rv.turn_queries(_engine)


@st.cache_data(show_spinner="Computing the bands over time ...", max_entries=16)
def bands(
    uri: str, version: int, events: int, grid: tuple[float, ...], threshold: float, params: DecayParams, _engine
) -> pd.DataFrame:
    return rv.bands_over_time(_engine, grid, threshold, params=params)


@st.cache_data(show_spinner="Computing retention ...", max_entries=16)
def moment(uri: str, version: int, events: int, t: float, _engine: MemoryEngine) -> pd.DataFrame:
    return _engine.retention_frame(now_s=t)


@st.cache_data(show_spinner=False, max_entries=16)
def sessions(uri: str, version: int, events: int, _engine: MemoryEngine) -> pd.DataFrame:
    return rv.session_activity(_engine)


engine = get_engine()
uri, version, n_events = db_uri(), engine.read.version(), engine.stats()["events"]
st.title("Replay")
st.caption(
    "A conversation lived turn by turn (`memviz replay`): before each turn is written the agent recalls with it, "
    "which strengthens what it found; unused memories decay. Scrub through time to see the store as it was then."
)
grid, queries = replay_log(uri, version, n_events, engine)
with st.expander("Run a replay", expanded=queries.empty):
    ur.run_form(engine)
if engine.read.count() == 0:
    st.info("The store is empty: run a replay above, then open its store.")
    st.stop()
if queries.empty:
    st.info(
        "This store was not written by a replay (no turn recalls in its log): the views below show its decay "
        "without the replay's reinforcements. Run a replay above and open its store."
    )
c = st.columns([4, 1])
at = c[0].select_slider(
    "Time (scrub through the replay)",
    options=list(range(len(grid))),
    value=len(grid) - 1,
    key="rp_time",
    format_func=lambda i: fmt_time(grid[i]),
    help="Everything below is computed as of this time: memories not yet written are left out",
)
threshold = c[1].slider(
    "Forget threshold", 0.0, 1.0, FORGET_THRESHOLD, 0.01, key="rp_threshold", help="As the Forgetting page's"
)
t = float(grid[at])
frame = moment(uri, version, n_events, t, engine)
w.metrics_row(vr.moment_metrics(frame, threshold))
band_frame = bands(uri, version, n_events, tuple(grid.tolist()), threshold, engine.decay_params, engine)
st.plotly_chart(
    vr.bands_figure(band_frame, t, threshold, title="The population by retention band (exponential decay)"),
    key="rp_bands",
    width="stretch",
)
left, right = st.columns(2)
left.markdown("**Memories written and recalled per session** (later sessions faint)")
left.plotly_chart(vr.sessions_figure(sessions(uri, version, n_events, engine), t), key="rp_sessions", width="stretch")
right.markdown(f"**The strongest memories** as of {fmt_time(t)} UTC (highest stability)")
right.dataframe(rv.strongest(frame, 20), key="rp_strongest", column_config=TABLE_FORMATS, height=320, **w.TABLE)
ur.suppressed(engine, uri, queries, t)
