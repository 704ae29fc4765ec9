"""The recall configuration form of the Recall page: a query, a scoring preset and its settings (k, decay model,
fusion, "as of" time, component weights, graph hops, keeping the recall, reinforcement). What it builds is a pure
function, :func:`form_config`, tested without streamlit."""

from __future__ import annotations

from collections.abc import Mapping

import streamlit as st

from memviz.decay import DECAY_MODELS
from memviz.errors import MemvizError
from memviz.recall.config import RecallConfig
from memviz.recall.presets import PRESET_NAMES, PRESETS, preset_config
from memviz.scoring import COMPONENTS
from memviz.ui.state import fmt_time
from memviz.ui.widgets import as_of_input
from memviz.viz.trace import COMPONENT_LABELS


def form_config(
    preset: str,
    k: int,
    decay_model: str,
    fusion: bool,
    weights: Mapping[str, float],
    graph_hops: int,
    as_of_s: float | None,
    reinforce: bool,
    keep: bool = False,
    scope: str | None = None,
) -> tuple[RecallConfig | None, str | None]:
    """The validated config of ``preset`` with the form's settings, within ``scope`` (None: every scope), or
    ``(None, error)``. Looking writes nothing:
    the recall is recorded (a ``recall`` event, its trace listed in the history) only when ``keep`` or
    ``reinforce`` asks, and reinforces only when asked and not "as of" another time."""
    try:
        return preset_config(
            preset,
            k=int(k),
            decay_model=decay_model,
            fusion=fusion,
            weights=dict(weights),
            graph_hops=int(graph_hops),
            as_of_s=as_of_s,
            reinforce=reinforce and as_of_s is None,
            record=bool(keep or (reinforce and as_of_s is None)),
            scope=scope,
        ), None
    except MemvizError as e:
        return None, str(e)


def recall_form(now_s: float, key: str = "rc", scope: str | None = None) -> tuple[str, RecallConfig | None, str | None]:
    """The form's widgets (keys ``<key>_query``, ``<key>_preset``, ``<key>_k``, ``<key>_w_<preset>_<component>``
    ...); returns ``(query, config or None, error or None)``, the config recalling within ``scope`` (the
    sidebar's; None: every scope). ``now_s`` is the engine clock."""
    left, right = st.columns([3, 2])
    query = left.text_input("Query", key=f"{key}_query", placeholder="When did Caroline go to the support group?")
    preset = right.selectbox(
        "Scoring preset", PRESET_NAMES, key=f"{key}_preset", format_func=lambda n: PRESETS[n].label
    )
    p = PRESETS[preset]
    base = p.config()
    left.caption(f"**{p.label}**: {p.formula} · source: {p.source}")
    c = st.columns([1, 1, 1, 2])
    k = c[0].number_input("k (hits)", min_value=1, max_value=200, value=10, key=f"{key}_k")
    decay = c[1].selectbox(
        "Decay model", DECAY_MODELS, index=DECAY_MODELS.index(base.decay_model), key=f"{key}_decay_{preset}"
    )
    fusion = c[2].toggle(
        "Fusion (RRF)",
        value=base.fusion,
        key=f"{key}_fusion_{preset}",
        help="On: pool the retrievers' candidates by reciprocal rank fusion; off: the first retriever only",
    )
    with c[3]:
        use_clock = st.toggle(
            "As of the simulated clock",
            value=True,
            key=f"{key}_use_clock",
            help=f"Clock: {fmt_time(now_s)} UTC (move it in the sidebar)",
        )
        as_of = None if use_clock else as_of_input(now_s, f"{key}_asof")
    with st.expander("Weights of the score components (weighted mean)"):
        cols = st.columns(4)
        weights = {
            comp: cols[n % 4].slider(
                COMPONENT_LABELS[comp], 0.0, 2.0, float(base.weights[comp]), 0.05, key=f"{key}_w_{preset}_{comp}"
            )
            for n, comp in enumerate(COMPONENTS)
        }
        g = st.columns([1, 2])
        hops = g[0].number_input(
            "Graph hops (0 = no graph stage)",
            0,
            3,
            base.graph_hops,
            key=f"{key}_hops_{preset}",
            help="Needs a positive 'link / graph bonus' weight",
        )
        g[1].caption(f"Per-hop decay {base.graph_decay}, aggregate {base.graph_aggregate}, seeds {base.graph_seeds}")
    w = st.columns(2)
    keep = w[0].checkbox(
        "Keep this recall in the history (writes a recall event)",
        value=False,
        key=f"{key}_keep",
        help="Records the recall and its trace so it can be reopened and compared under Past traces. Off: "
        "looking writes nothing (the store's version and event log do not change).",
    )
    reinforce = w[1].checkbox(
        "Reinforce the hits (writes: strengthens them)",
        value=False,
        key=f"{key}_reinforce",
        disabled=as_of is not None,
        help="As an agent's recall does: this records the recall and strengthens the hits (stability up, "
        "elapsed time reset), so later recalls rank them higher. Off: exploring does not change the store.",
    )
    return (query, *form_config(preset, k, decay, fusion, weights, hops, as_of, reinforce, keep, scope))


__all__ = ["form_config", "recall_form"]
