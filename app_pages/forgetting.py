"""Forgetting: one memory's retention curve with its reinforcements, the population's retention and what a
forget threshold would suppress, the actions that change them, and the store's versions over time."""

from __future__ import annotations

import pandas as pd
import pyarrow.compute as pc
import streamlit as st

from memviz.decay import DECAY_MODELS, SECONDS_PER_DAY, DecayParams
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.forgetting import curve_times, memory_history, recall_change, retention_curve, suppressed, version_diff
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz.forgetting import MODEL_NAMES, Curve, curve_figure, distribution_figure, timeline_figure
from memviz.viz.memories import memory_labels

MAX_PICK = 2000
MAX_LIST = 500
TABS = ["One memory", "Population", "Time travel"]
SHOWN_COLUMNS = ["text", "speaker", "session_id", "retention", "recall_count", "stability_days", "elapsed_days", "id"]


@st.cache_data(show_spinner="Computing retention ...", max_entries=16)
def retention_at(uri: str, version: int, as_of_s: float, model: str, params: DecayParams, _engine: MemoryEngine,
                 at_version: int | None = None) -> pd.DataFrame:
    """Every memory's retention at ``as_of_s`` (of the store now, or as it was at ``at_version``); cached per
    store version, time, model and parameters."""
    return _engine.retention_frame(model, as_of_s, params=params, version=at_version)


def param_widgets(engine: MemoryEngine) -> DecayParams:
    """Sliders for the decay parameters (defaults: the engine's); the curves and counts follow them at once."""
    p = engine.decay_params
    c = st.columns(4)
    power_d = c[0].slider("Power law d", 0.05, 2.0, float(p.power_d), 0.05, key="fg_power_d",
                          help="R = (1 + Δt/S)^(-d), Wixted & Ebbesen 1991")
    actr_d = c[1].slider("ACT-R decay d", 0.05, 1.0, float(p.actr_d), 0.05, key="fg_actr_d",
                         help="B = ln Σ_j (t - t_j)^(-d), Anderson & Lebiere 1998 (0.5 is ACT-R's default)")
    actr_tau = c[2].slider("ACT-R threshold τ", -3.0, 3.0, float(p.actr_tau), 0.1, key="fg_actr_tau",
                           help="Retrieval probability P = 1 / (1 + exp(-(B - τ) / s))")
    actr_s = c[3].slider("ACT-R noise s", 0.05, 1.0, float(p.actr_s), 0.05, key="fg_actr_s")
    st.caption("The exponential model, R = exp(-Δt/S) (Ebbinghaus; MemoryBank, Zhong et al. 2024), has no parameter "
               "besides each memory's stability S, which every recall raises.")
    return DecayParams(power_d=power_d, actr_d=actr_d, actr_tau=actr_tau, actr_s=actr_s)


def one_memory(engine: MemoryEngine, frame: pd.DataFrame, models: list[str], params: DecayParams, threshold: float) -> None:
    """A memory's retention curve (replayed from the event log), its projection, and reinforcing it."""
    c = st.columns([2, 3, 1])
    search = c[0].text_input("Find a memory", key="fg_search", placeholder="words of its text or its source id")
    shown = frame.sort_values(["recall_count", "importance"], ascending=False)
    if search.strip():
        s = search.strip()
        shown = shown[shown["text"].str.contains(s, case=False, regex=False) | (shown["source_id"] == s)]
    options = shown["id"].head(MAX_PICK).tolist()
    if not options:
        st.info("No memory matches.")
        return
    labels = memory_labels(shown.head(MAX_PICK))
    mid = c[1].selectbox("Memory (most recalled first)", options, key="fg_memory", format_func=lambda i: labels.get(i, i))
    horizon = c[2].slider("Project (days)", 0, 365, 60, 5, key="fg_horizon")
    memory = engine.get(mid)
    history = memory_history(memory, engine.store.list_events(memory_id=mid))
    now = engine.clock.now()
    times = curve_times(history, now, horizon)
    curves = [Curve(MODEL_NAMES[m], m, times, retention_curve(history, times, m, params)) for m in models]
    st.plotly_chart(curve_figure(curves, history, now, threshold, title=labels.get(mid, mid)), key="fg_curve",
                    width="stretch")
    m = st.columns(2 + len(curves))
    for col, curve in zip(m, curves):
        r_now = float(retention_curve(history, [now], curve.model, params)[0])
        col.metric(f"Retention now ({curve.model})", f"{r_now:.3f}")
    m[len(curves)].metric("Stability now", f"{history.stability_days[-1]:.1f} days")
    m[len(curves) + 1].metric("Reinforcements", f"{len(history.access_times_s) - 1}")
    if len(history.access_times_s) > 1:
        st.dataframe(pd.DataFrame({
            "clock time": [fmt_time(t) for t in history.access_times_s[1:]],
            "reason": history.reasons[1:],
            "stability before (days)": history.stability_days[:-1],
            "stability after (days)": history.stability_days[1:],
        }), hide_index=True, key="fg_history", column_config={
            c: st.column_config.NumberColumn(format="%.1f") for c in ("stability before (days)", "stability after (days)")})
    if st.button("Reinforce this memory now", key="fg_reinforce",
                 help="As a recall would: stability rises (more when retention has fallen), elapsed time resets"):
        out = engine.reinforce([mid], reason="manual")[0]
        st.session_state["fg_msg"] = (f"Reinforced: stability {out['stability_before']:.1f} → "
                                      f"{out['stability_after']:.1f} days (retention was {out['retention_before']:.2f}).")
        st.rerun()


def population(engine: MemoryEngine, frame: pd.DataFrame, model: str, params: DecayParams, as_of_s: float,
               threshold: float) -> None:
    """The retention distribution at the "as of" time, what the threshold would suppress, and the actions."""
    below = suppressed(frame, threshold)
    live = frame[frame["forgotten_time_s"].isna()]
    m = st.columns(5)
    m[0].metric("Memories", f"{len(frame):,}")
    m[1].metric("Below threshold", f"{len(below):,}", help="Not yet forgotten, retention below the threshold")
    m[2].metric("Share below", f"{len(below) / max(len(live), 1):.1%}")
    m[3].metric("Median retention", f"{live['retention'].median():.3f}" if len(live) else "–")
    m[4].metric("Already forgotten", f"{len(frame) - len(live):,}")
    st.plotly_chart(distribution_figure(live["retention"].to_numpy(), threshold,
                                        label=f"{MODEL_NAMES[model]} as of {fmt_time(as_of_s)} UTC"),
                    key="fg_distribution", width="stretch")
    st.markdown(f"**What decay would suppress** at threshold {threshold:.2f}: {len(below):,} memories"
                + (f" (the weakest {MAX_LIST} listed)" if len(below) > MAX_LIST else ""))
    if len(below):
        st.dataframe(below[SHOWN_COLUMNS].head(MAX_LIST), hide_index=True, key="fg_below",
                     column_config={"retention": st.column_config.NumberColumn(format="%.4f"),
                                    "stability_days": st.column_config.NumberColumn(format="%.1f"),
                                    "elapsed_days": st.column_config.NumberColumn(format="%.1f")})

    st.markdown("**How a recall would change** if these memories were suppressed (no reinforcement; scored as of "
                "the same time; soft-forgotten memories included in both)")
    c = st.columns([4, 1, 1])
    query = c[0].text_input("Query", key="fg_query", placeholder="e.g. When did Caroline go to the support group?")
    k = c[1].number_input("k", 1, 50, 10, key="fg_k")
    c[2].write("")
    inputs = (db_uri(), engine.store.version(), query, int(k), model, params, as_of_s, threshold)
    if c[2].button("Compare", key="fg_compare", width="stretch"):
        try:
            st.session_state["fg_change"] = (inputs, recall_change(engine, query, below["id"].tolist(), int(k), model,
                                                                   as_of_s).table)
        except MemvizError as e:
            st.error(str(e))
    shown_for, change = st.session_state.get("fg_change", (None, None))
    if change is not None and shown_for != inputs:
        st.caption("The settings changed since the last comparison: press Compare again.")
    elif change is not None:
        counts = change["change"].value_counts()
        st.caption(f"{counts.get('suppressed', 0)} of the hits would be suppressed, {counts.get('new', 0)} memories "
                   f"would enter the top {int(k)}, {counts.get('moved', 0)} would move.")
        st.dataframe(change, hide_index=True, key="fg_change_table")

    st.markdown("**Actions** (recorded in the event log)")
    c = st.columns(3)
    with c[0].container(border=True):
        days = st.number_input("Days", 1, 3650, 30, key="fg_advance_days")
        if st.button("Advance the clock", key="fg_advance"):
            engine.advance_clock(days=float(days))
            st.session_state["fg_msg"] = f"Clock advanced by {days} days to {fmt_time(engine.clock.now())} UTC."
            st.rerun()
    with c[1].container(border=True):
        st.caption(f"Soft-forget the {len(below):,} memories below {threshold:.2f}: they leave recall but stay stored.")
        if st.button(f"Soft-forget {len(below):,}", key="fg_forget", disabled=below.empty):
            ids = engine.forget(below["id"].tolist(),
                                reason=f"retention < {threshold:.2f} ({model}) as of {fmt_time(as_of_s)}")
            st.session_state["fg_undo"] = ids
            st.session_state["fg_msg"] = f"Soft-forgot {len(ids):,} memories."
            st.rerun()
        if undo := st.session_state.get("fg_undo"):
            if st.button(f"Undo: restore {len(undo):,}", key="fg_undo_button"):
                engine.restore(undo)
                st.session_state.pop("fg_undo")
                st.session_state["fg_msg"] = f"Restored {len(undo):,} memories."
                st.rerun()
    with c[2].container(border=True):
        forgotten = frame.loc[frame["forgotten_time_s"].notna(), "id"].tolist()
        sure = st.checkbox(f"Delete the {len(forgotten):,} soft-forgotten memories for good", key="fg_prune_confirm",
                           disabled=not forgotten)
        if st.button("Hard prune", key="fg_prune", type="primary", disabled=not (sure and forgotten),
                     help="Deletes them and their links from the current version (older versions still hold them)"):
            n = engine.prune(forgotten)
            st.session_state.pop("fg_undo", None)
            st.session_state["fg_msg"] = f"Pruned {n:,} memories."
            st.rerun()


def _change(n: int) -> str | None:
    return f"{n:+,} now" if n else None


def time_travel(engine: MemoryEngine, now_frame: pd.DataFrame, model: str, params: DecayParams, as_of_s: float) -> None:
    """The versions and the event log on a timeline, and the store as it was at a chosen version."""
    versions = engine.store.versions()
    ev = engine.store.events_table(columns=["op", "time_s", "wall_time_s", "memory_ids"])
    events = pd.DataFrame({
        "op": ev.column("op").to_numpy(zero_copy_only=False),
        "time_s": ev.column("time_s").to_numpy(),
        "wall_time_s": ev.column("wall_time_s").to_numpy(),
        "n": pc.list_value_length(ev.column("memory_ids")).fill_null(0).to_numpy(),
    })
    options = [v["version"] for v in reversed(versions)]
    rows = {v["version"]: v for v in versions}
    picked = st.selectbox("View the store as of version", options, key="fg_version",
                          format_func=lambda v: f"{v} · {rows[v]['timestamp']:%Y-%m-%d %H:%M:%S} · {rows[v]['rows']} rows")
    st.plotly_chart(timeline_figure(versions, events, picked), key="fg_timeline", width="stretch")
    st.caption(f"{len(events):,} events and {len(versions):,} versions of the memories table, by when they were "
               "recorded. A version is read through a separate, read-only LanceDB handle (checkout); nothing is written.")
    then = retention_at(db_uri(), engine.store.version(), as_of_s, model, params, engine, at_version=picked)
    diff = version_diff(then, now_frame)
    m = st.columns(6)
    m[0].metric("Memories then", f"{diff['memories_then']:,}", _change(diff["memories_now"] - diff["memories_then"]))
    m[1].metric("Added since", f"{diff['added']:,}")
    m[2].metric("Pruned since", f"{diff['removed']:,}")
    m[3].metric("Forgotten then", f"{diff['forgotten_then']:,}", _change(diff["forgotten_now"] - diff["forgotten_then"]),
                delta_color="off")
    m[4].metric("Reinforced since", f"{diff['reinforced']:,}")
    m[5].metric("Median retention then", f"{then['retention'].median():.3f}" if len(then) else "–",
                help="Of the memories as they were then (stability, recalls), at the same 'as of' time")
    gone = then[~then["id"].isin(now_frame["id"])]
    if len(gone):
        st.markdown(f"**Memories of version {picked} that are no longer stored** ({len(gone):,})")
        st.dataframe(gone[["text", "speaker", "session_id", "id"]].head(MAX_LIST), hide_index=True, key="fg_gone")


engine = get_engine()
st.title("Forgetting curves")
if msg := st.session_state.pop("fg_msg", None):
    st.success(msg)
if engine.store.count() == 0:
    st.info("The store is empty: add memories on the Memories page.")
    st.stop()

c = st.columns([2, 2, 3, 2])
model = c[0].selectbox("Decay model", DECAY_MODELS, key="fg_model", format_func=MODEL_NAMES.get)
other = c[1].selectbox("Overlay a second model", ["none", *DECAY_MODELS], key="fg_model_b",
                       format_func=lambda m: MODEL_NAMES.get(m, m))
now = engine.clock.now()
first_s = engine.store.memories_table(columns=["event_time_s", "created_time_s"]).to_pandas().min().min()
as_of_days = c[2].slider("As of (days from the clock)", min(-1, int((first_s - now) // SECONDS_PER_DAY)), 365, 0, 1,
                         key="fg_as_of_days", help="Look at retention at another time without moving the clock")
threshold = c[3].slider("Forget threshold", 0.0, 1.0, 0.1, 0.01, key="fg_threshold")
as_of_s = now + as_of_days * SECONDS_PER_DAY
st.caption(f"Clock {fmt_time(now)} UTC · as of {fmt_time(as_of_s)} UTC")
with st.expander("Decay parameters"):
    params = param_widgets(engine)
models = [model] + ([other] if other not in ("none", model) else [])
frame = retention_at(db_uri(), engine.store.version(), as_of_s, model, params, engine)

# Lazy tabs: only the open one runs, so a slider move recomputes what is on screen and nothing else.
tab_one, tab_pop, tab_time = st.tabs(TABS, key="fg_tab", on_change="rerun")
if tab_one.open:
    with tab_one:
        one_memory(engine, frame, models, params, threshold)
if tab_pop.open:
    with tab_pop:
        population(engine, frame, model, params, as_of_s, threshold)
if tab_time.open:
    with tab_time:
        time_travel(engine, frame, model, params, as_of_s)
