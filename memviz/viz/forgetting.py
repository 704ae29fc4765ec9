"""Figures of the Forgetting page: retention curves, the retention distribution with a forget threshold, and
the store's versions and events on a timeline. Pure functions returning plotly figures.

Times are POSIX seconds (UTC) in ``*_s`` names and are drawn as UTC dates; retention is in [0, 1].
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from memviz.decay import DecayModel, DecayParams
from memviz.forgetting import (
    DEFAULT_PARAMS,
    MemoryHistory,
    curve_times,
    retention_curve,
)
from memviz.spacing import SPACING_FIELDS
from memviz.viz.plotly_text import plotly_text

MODEL_COLOURS = {"exponential": "#1f77b4", "power": "#ff7f0e", "actr": "#2ca02c"}
MODEL_NAMES = {
    "exponential": "exponential (Ebbinghaus)",
    "power": "power law (Wixted & Ebbesen)",
    "actr": "ACT-R base level (Anderson & Lebiere)",
}
OP_ORDER: tuple[str, ...] = (
    "write",
    "link",
    "import",
    "recall",
    "reinforce",
    "forget",
    "restore",
    "prune",
    "clock",
    "restore_version",
    "repair",
)
_FAINT = "rgba(120,120,120,0.35)"

# The reinforcement rule's sliders: (SpacingRule field, label, step, help citing the source); ranges from
# memviz.spacing.SPACING_FIELDS.
SPACING_SOURCE = "FSRS stability update (Ye, Su & Cao 2022, KDD; FSRS-5 weights)"
SPACING_SLIDERS: tuple[tuple[str, str, float], ...] = (
    ("difficulty", "Difficulty D", 0.1),
    ("w8", "w8 (gain size)", 0.01),
    ("w9", "w9 (stabilisation)", 0.01),
    ("w10", "w10 (spacing)", 0.01),
    ("max_stability_days", "Max stability (days)", 1.0),
)
SPACING_NOTE = (
    "A recall raises stability S: S' = S (1 + e^w8 (11 - D) S^-w9 (e^(w10 (1 - R)) - 1)), R the retention at the "
    "recall, so a recall after a longer gap strengthens more (the spacing effect). Source: "
    + SPACING_SOURCE
    + ". Modelling choices: every recall counts as FSRS 'Good', D is fixed, R comes from memviz's exponential decay."
)


def spacing_sliders() -> list[tuple[str, str, float, float, float, str]]:
    """(field, label, low, high, step, help) of each reinforcement-rule slider: the documented range and what
    the field does (:data:`memviz.spacing.SPACING_FIELDS`), with the source."""
    return [
        (f, label, SPACING_FIELDS[f][0], SPACING_FIELDS[f][1], step, f"{SPACING_FIELDS[f][2]}. {SPACING_SOURCE}")
        for f, label, step in SPACING_SLIDERS
    ]


# The Forgetting page's decay-parameter sliders: (DecayParams field, label, min, max, step, help).
PARAM_SLIDERS: tuple[tuple[str, str, float, float, float, str | None], ...] = (
    ("power_d", "Power law d", 0.05, 2.0, 0.05, "R = (1 + Δt/S)^(-d), Wixted & Ebbesen 1991"),
    (
        "actr_d",
        "ACT-R decay d",
        0.05,
        1.0,
        0.05,
        "B = ln Σ_j (t - t_j)^(-d), Anderson & Lebiere 1998 (0.5 is ACT-R's default)",
    ),
    ("actr_tau", "ACT-R threshold τ", -3.0, 3.0, 0.1, "Retrieval probability P = 1 / (1 + exp(-(B - τ) / s))"),
    ("actr_s", "ACT-R noise s", 0.05, 1.0, 0.05, None),
)
EXPONENTIAL_NOTE = (
    "The exponential model, R = exp(-Δt/S) (Ebbinghaus; MemoryBank, Zhong et al. 2024), has no "
    "parameter besides each memory's stability S, which every recall raises."
)


SUPPRESSED_COLUMNS = [
    "text",
    "speaker",
    "session_id",
    "retention",
    "recall_count",
    "stability_days",
    "elapsed_days",
    "id",
]
CHANGE_HEADING = (
    "**How a recall would change** if these memories were suppressed (no reinforcement; scored as of "
    "the same time; soft-forgotten memories included in both)"
)


def retention_curves(
    history: MemoryHistory,
    now_s: float,
    horizon_days: float,
    models: Sequence[DecayModel],
    params: DecayParams = DEFAULT_PARAMS,
) -> list[Curve]:
    """One :class:`Curve` per decay model of ``history``'s memory, from its write to ``horizon_days`` after
    ``now_s`` (at :func:`memviz.forgetting.curve_times`), labelled with :data:`MODEL_NAMES`."""
    times = curve_times(history, now_s, horizon_days)
    return [Curve(MODEL_NAMES.get(m) or m, m, times, retention_curve(history, times, m, params)) for m in models]


def suppress_heading(threshold: float, n_below: int, max_list: int) -> str:
    """The markdown heading of the list of what a forget at ``threshold`` would suppress."""
    return f"**What decay would suppress** at threshold {threshold:.2f}: {n_below:,} memories" + (
        f" (the weakest {max_list} listed)" if n_below > max_list else ""
    )


def timeline_caption(n_events: int, n_versions: int) -> str:
    """The caption under the timeline of events and versions."""
    return (
        f"{n_events:,} events and {n_versions:,} versions of the memories table, by when they were recorded. A "
        "version is read through a separate, read-only LanceDB handle (checkout); nothing is written."
    )


@dataclass(frozen=True)
class Curve:
    """One retention curve: its ``label``, decay ``model``, ``times_s`` (n,) and ``retention`` (n,)."""

    label: str
    model: str
    times_s: np.ndarray
    retention: np.ndarray


def history_table(history: MemoryHistory, fmt_time=str) -> pd.DataFrame:
    """One row per reinforcement of ``history``: ``clock time`` (formatted by ``fmt_time``), ``reason`` and the
    stability before and after (days). Empty (with those columns) when it was never reinforced."""
    return pd.DataFrame(
        {
            "clock time": [fmt_time(t) for t in history.access_times_s[1:]],
            "reason": list(history.reasons[1:]),
            "stability before (days)": history.stability_days[:-1],
            "stability after (days)": history.stability_days[1:],
        }
    )


def _dates(t_s) -> pd.DatetimeIndex:
    return pd.to_datetime(np.asarray(t_s, dtype=np.float64), unit="s", utc=True).round("us")


def _utc(values) -> pd.DatetimeIndex:
    """Datetimes as UTC (naive ones, as LanceDB gives version timestamps, are taken to be UTC)."""
    d = pd.DatetimeIndex(pd.to_datetime(values))
    return d.tz_localize("UTC") if d.tz is None else d.tz_convert("UTC")


def curve_figure(
    curves: Sequence[Curve],
    history: MemoryHistory,
    now_s: float,
    threshold: float | None = None,
    title: str = "",
) -> go.Figure:
    """Retention over time of one memory under one or more models (``curves``, drawn in model colours).

    The part up to ``now_s`` is solid, the projection after it dotted; a vertical line marks now. Each
    reinforcement of ``history`` is a marker on the first curve, its hover giving the reason and the stability
    before and after, placed at the retention the recall found. ``threshold`` draws the forget threshold as a
    horizontal line. ``title`` is plain text (escaped).
    """
    fig = go.Figure()
    for n, c in enumerate(curves):
        colour = MODEL_COLOURS.get(c.model, "#444")
        past = c.times_s <= now_s
        for part, dash, show in ((past, "solid", True), (c.times_s >= now_s, "dot", False)):
            if part.any():
                fig.add_trace(
                    go.Scatter(
                        x=_dates(c.times_s[part]),
                        y=c.retention[part],
                        mode="lines",
                        name=plotly_text(c.label),
                        legendgroup=c.label,
                        showlegend=show,
                        line={"color": colour, "dash": dash, "width": 2.5 - 0.8 * n},
                        hovertemplate="%{x|%Y-%m-%d %H:%M}<br>R = %{y:.3f}<extra>" + plotly_text(c.label) + "</extra>",
                    )
                )
    if curves and len(history.access_times_s) > 1:
        first = curves[0]
        t = history.access_times_s[1:]
        r = np.interp(t - 1.0, first.times_s, np.nan_to_num(first.retention))  # just before the jump
        s_before, s_after = history.stability_days[:-1], history.stability_days[1:]
        fig.add_trace(
            go.Scatter(
                x=_dates(t),
                y=r,
                mode="markers",
                name="reinforcements",
                marker={"size": 9, "symbol": "triangle-up", "color": "#d62728"},
                hovertext=[
                    f"{plotly_text(reason)}: S {a:.1f} → {b:.1f} days"
                    for reason, a, b in zip(history.reasons[1:], s_before, s_after)
                ],
                hoverinfo="text+x",
            )
        )
    if threshold is not None:
        fig.add_hline(
            y=threshold,
            line={"color": "#d62728", "dash": "dash", "width": 1},
            annotation_text=f"forget threshold {threshold:.2f}",
            annotation_position="top left",
        )
    fig.add_vline(x=_dates([now_s])[0], line={"color": "#555", "width": 1})
    fig.add_annotation(x=_dates([now_s])[0], y=1.04, text="now", showarrow=False, yref="y")
    fig.update_layout(
        title={"text": plotly_text(title)} if title else None,
        height=380,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        yaxis={"title": {"text": "retention R"}, "range": [0, 1.08]},
        xaxis={"title": {"text": "clock time (UTC)"}},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def distribution_figure(retention: np.ndarray, threshold: float, bins: int = 40, label: str = "") -> go.Figure:
    """A histogram of ``retention`` values (in [0, 1]) in ``bins`` equal bins, the bins below ``threshold``
    in red (what a forget at that threshold would suppress), a dashed line at the threshold. The count axis is
    logarithmic, so a handful of fresh memories stays visible next to thousands of faded ones. Binned with
    numpy (the figure carries ``bins`` bars, not one point per memory)."""
    r = np.asarray(retention, dtype=np.float64)
    counts, edges = np.histogram(r[~np.isnan(r)], bins=bins, range=(0.0, 1.0))
    mids = (edges[:-1] + edges[1:]) / 2
    below = edges[1:] <= threshold
    fig = go.Figure(
        go.Bar(
            x=mids,
            y=counts,
            width=np.diff(edges),
            marker={"color": np.where(below, "#d62728", "#1f77b4")},
            customdata=np.column_stack([edges[:-1], edges[1:]]),
            hovertemplate="R in [%{customdata[0]:.3f}, %{customdata[1]:.3f}): %{y:,} memories<extra></extra>",
        )
    )
    fig.add_vline(x=threshold, line={"color": "#d62728", "dash": "dash"})
    fig.update_layout(
        title={"text": plotly_text(label)} if label else None,
        height=320,
        margin={"l": 10, "r": 10, "t": 40, "b": 10},
        xaxis={"title": {"text": "retention R"}, "range": [0, 1]},
        yaxis={"title": {"text": "memories (log scale)"}, "type": "log"},
        bargap=0.05,
        showlegend=False,
    )
    return fig


def timeline_figure(
    versions: Sequence[dict[str, Any]], events: pd.DataFrame, selected_version: int | None = None
) -> go.Figure:
    """The event log and the memories table's versions on one time axis (real time of recording, UTC).

    ``versions``: :meth:`MemoryStore.versions` (``version``, ``timestamp``, ``rows``). ``events``: columns
    ``op``, ``time_s`` (the engine clock), ``wall_time_s`` (recorded) and ``n_memories`` (memories touched), as
    :meth:`memviz.reads.Reads.event_timeline` gives them; one marker per event on its op's row.
    ``selected_version`` is drawn as a vertical line.
    """
    fig = go.Figure()
    if len(events):
        ops = [o for o in OP_ORDER if o in set(events["op"])] + sorted(set(events["op"]) - set(OP_ORDER))
        clock = _dates(events["time_s"]).strftime("%Y-%m-%d %H:%M")
        fig.add_trace(
            go.Scattergl(
                x=_dates(events["wall_time_s"]),
                y=events["op"],
                mode="markers",
                name="events",
                marker={
                    "size": 7,
                    "color": events["op"].map({o: i for i, o in enumerate(ops)}),
                    "colorscale": "Turbo",
                    "opacity": 0.6,
                },
                customdata=np.column_stack([clock, events["n_memories"]]),
                hovertemplate="%{y} at %{x|%Y-%m-%d %H:%M:%S}<br>clock %{customdata[0]}<br>%{customdata[1]} memories"
                "<extra></extra>",
            )
        )
        order = ops
    else:
        order = []
    if versions:
        v = pd.DataFrame(versions)
        fig.add_trace(
            go.Scatter(
                x=_utc(v["timestamp"]),
                y=["memories version"] * len(v),
                mode="markers",
                name="versions",
                marker={"size": 9, "symbol": "line-ns-open", "color": "#444"},
                customdata=np.column_stack([v["version"], v["rows"].fillna(-1).astype(int)]),
                hovertemplate=(
                    "version %{customdata[0]} at %{x|%Y-%m-%d %H:%M:%S}<br>%{customdata[1]} rows<extra></extra>"
                ),
            )
        )
        order = ["memories version", *order]
        if selected_version is not None and (v["version"] == selected_version).any():
            fig.add_vline(
                x=_utc(v.loc[v["version"] == selected_version, "timestamp"])[0],
                line={"color": "#d62728", "dash": "dash"},
            )
    fig.update_layout(
        height=300,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        showlegend=False,
        xaxis={"title": {"text": "recorded at (UTC)"}},
        yaxis={"categoryorder": "array", "categoryarray": list(reversed(order)), "gridcolor": _FAINT},
    )
    return fig
