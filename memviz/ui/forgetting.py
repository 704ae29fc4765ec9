"""The widgets of the Forgetting page: the decay-parameter sliders, the comparison of a recall with and without
what a threshold would suppress, and the actions (advance the clock, soft-forget and undo, hard prune). What
they compute is in :mod:`memviz.forgetting` and :mod:`memviz.viz.forgetting` (pure, tested without
streamlit); keys are ``fg_*``, messages go to the flash ``fg_msg``."""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz import forgetting as fg
from memviz.decay import DecayModel, DecayParams
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.filters import scoped
from memviz.spacing import SpacingRule
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import RULE_KEY, current_scope, db_uri, fmt_time
from memviz.viz import forgetting as vf

MESSAGE_KEY = "fg_msg"


# cache_resource, not cache_data: a 100k-memory frame is shared, not unpickled on every rerun (callers do not
# change it).
@st.cache_resource(show_spinner="Computing retention ...", max_entries=16)
def retention_at(
    uri: str,
    version: int,
    as_of_s: float,
    model: DecayModel,
    params: DecayParams,
    scope: str | None,
    _engine: MemoryEngine,
    at_version: int | None = None,
) -> pd.DataFrame:
    """Every memory's retention (of ``scope``; None: all) at ``as_of_s`` (of the store now, or at
    ``at_version``); cached per inputs."""
    return _engine.retention_frame(model, as_of_s, where=scoped(None, scope), params=params, version=at_version)


def param_widgets(engine: MemoryEngine) -> DecayParams:
    """Sliders for the decay parameters (defaults: the engine's); the curves and counts follow them at once."""
    values = {
        field: col.slider(
            label, lo, hi, float(getattr(engine.decay_params, field)), step, key=f"fg_{field}", help=help_
        )
        for col, (field, label, lo, hi, step, help_) in zip(st.columns(4), vf.PARAM_SLIDERS)
    }
    st.caption(vf.EXPONENTIAL_NOTE)
    rule_widgets(engine)
    return DecayParams(**values)


def rule_widgets(engine: MemoryEngine) -> SpacingRule | None:
    """The reinforcement rule (:class:`memviz.spacing.SpacingRule`) shown and settable: one slider per field with
    its documented range (defaults: this session's rule, else the engine's), kept as this session's rule
    (:func:`memviz.ui.state.acting_engine`) for what it does next: reinforce buttons, a reinforcing recall, a
    replay started from the Replay page. Other sessions of the app keep theirs. Another rule than the spacing
    rule is only named."""
    rule = st.session_state.get(RULE_KEY, engine.reinforce_rule)
    st.markdown("**Reinforcement rule** (how a recall raises stability)")
    if not isinstance(rule, SpacingRule):
        st.caption(inert(f"The engine uses {type(rule).__name__}: not settable here."))
        return None
    sliders = vf.spacing_sliders()
    values = {
        field: col.slider(label, lo, hi, float(getattr(rule, field)), step, key=f"fg_rule_{field}", help=help_)
        for col, (field, label, lo, hi, step, help_) in zip(st.columns(len(sliders)), sliders)
    }
    new = SpacingRule(**values)
    st.session_state[RULE_KEY] = new
    s5 = new.apply(5.0, [0.9, 0.5, 0.05])
    st.caption(
        vf.SPACING_NOTE
        + " With these values a memory of S = 5 days recalled at R = 0.9 / 0.5 / 0.05 gets S' = "
        + " / ".join(f"{v:,.0f}" for v in s5)
        + " days."
    )
    return new


def recall_change(
    engine: MemoryEngine, below: pd.DataFrame, model: DecayModel, params: DecayParams, as_of_s: float, threshold: float
) -> None:
    """A query, k and Compare: the recall with and without the memories ``below`` the threshold (two pure reads:
    nothing is reinforced or recorded). The table shown is dropped once the settings change."""
    st.markdown(vf.CHANGE_HEADING)
    query, k, clicked = w.query_row(
        "fg", "Compare", "fg_compare", placeholder="e.g. When did Caroline go to the support group?"
    )
    scope = current_scope()
    inputs = (db_uri(), engine.read.version(), query, k, model, params, as_of_s, threshold, scope)
    if clicked:
        try:
            change = fg.recall_change(engine, query, below["id"].tolist(), k, model, as_of_s, scope).table
            st.session_state["fg_change"] = (inputs, change)
        except MemvizError as e:
            st.error(inert(e))
    shown_for, change = st.session_state.get("fg_change", (None, None))
    if change is not None and shown_for != inputs:
        st.caption("The settings changed since the last comparison: press Compare again.")
    elif change is not None:
        st.caption(fg.change_summary(change, k))
        st.dataframe(change, key="fg_change_table", **w.TABLE)


def actions(
    engine: MemoryEngine, frame: pd.DataFrame, below: pd.DataFrame, model: str, as_of_s: float, threshold: float
) -> None:
    """Three boxes of actions, each recorded in the event log: advance the clock; soft-forget the memories
    ``below`` the threshold (and undo it); hard-prune the soft-forgotten memories of ``frame``."""
    st.markdown("**Actions**: each writes to the store (recorded in the event log); everything above only looks")
    c = st.columns(3)
    with c[0].container(border=True):
        days = st.number_input("Days", 1, 3650, 30, key="fg_advance_days")
        if st.button("Advance the clock", key="fg_advance"):
            engine.advance_clock(days=float(days))
            w.done(f"Clock advanced by {days} days to {fmt_time(engine.clock.now())} UTC.", key=MESSAGE_KEY)
    with c[1].container(border=True):
        st.caption(f"Soft-forget the {len(below):,} memories below {threshold:.2f}: they leave recall but stay stored.")
        # What is listed above (at the "as of" time, under the parameters shown), not engine.forget_below (now).
        if st.button(f"Soft-forget {len(below):,}", key="fg_forget", disabled=below.empty):
            reason = fg.forget_reason(threshold, model, as_of_s, fmt_time)
            st.session_state["fg_undo"] = ids = engine.forget(below["id"].tolist(), reason=reason)
            w.done(f"Soft-forgot {len(ids):,} memories.", key=MESSAGE_KEY)
        if (undo := st.session_state.get("fg_undo")) and st.button(
            f"Undo: restore {len(undo):,}", key="fg_undo_button"
        ):
            engine.restore(undo)
            st.session_state.pop("fg_undo")
            w.done(f"Restored {len(undo):,} memories.", key=MESSAGE_KEY)
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
            w.done(f"Pruned {n:,} memories.", key=MESSAGE_KEY)


__all__ = ["MESSAGE_KEY", "actions", "param_widgets", "recall_change", "retention_at", "rule_widgets"]
