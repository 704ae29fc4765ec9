"""Figures of the Replay page: the population by retention band over time (a stacked area with the scrubbed
moment marked), memories written and recalled per session, and the display frames of its tables. Pure functions
over :mod:`memviz.replay_view`'s frames; times are POSIX seconds drawn as UTC dates."""

from __future__ import annotations

from typing import Any

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from memviz.replay_view import BANDS, STRONG
from memviz.viz.plotly_text import plotly_text

BAND_COLOURS = dict(zip(BANDS, ("#2ca02c", "#f2b134", "#d62728", "#7f7f7f")))
_NOW = "#636efa"


def _date(t_s: Any) -> pd.DatetimeIndex:
    return pd.to_datetime(np.round(np.asarray(t_s, dtype=np.float64)).astype(np.int64), unit="s", utc=True)


def bands_figure(frame: pd.DataFrame, now_s: float | None, threshold: float, title: str = "") -> go.Figure:
    """The stacked area of :func:`memviz.replay_view.bands_over_time` (memories per band over time), strong at
    the bottom, with a vertical line at the scrubbed moment ``now_s``."""
    fig = go.Figure()
    names = {
        "strong": f"strong (R ≥ {STRONG:g})",
        "fading": f"fading ({threshold:g} ≤ R < {STRONG:g})",
        "below the forget threshold": f"below the forget threshold (R < {threshold:g})",
        "forgotten": "forgotten (soft)",
    }
    for band in BANDS:
        part = frame[frame["band"] == band]
        fig.add_trace(
            go.Scatter(
                x=_date(part["time_s"]),
                y=part["memories"],
                name=names[band],
                stackgroup="bands",
                mode="lines",
                line={"width": 0.5, "color": BAND_COLOURS[band]},
                hovertemplate="%{x|%Y-%m-%d}: %{y:,} memories<extra>" + plotly_text(band) + "</extra>",
            )
        )
    if now_s is not None:
        fig.add_vline(x=_date([now_s])[0], line={"color": _NOW, "dash": "dash"})
    fig.update_layout(
        title=plotly_text(title) or None,
        xaxis_title="time (UTC)",
        yaxis_title="memories",
        legend={"orientation": "h", "y": -0.25},
        margin={"t": 40 if title else 10, "b": 10},
        height=360,
    )
    return fig


def sessions_figure(activity: pd.DataFrame, now_s: float | None = None) -> go.Figure:
    """Grouped bars per session (:func:`memviz.replay_view.session_activity`, in time order): memories written
    and memories recalled (strengthened) during it; sessions after ``now_s`` drawn faint."""
    labels = [plotly_text(s) for s in activity["session_id"]]
    later = np.zeros(len(activity), bool) if now_s is None else activity["start_s"].to_numpy() > now_s
    opacity = np.where(later, 0.3, 1.0).tolist()
    when = _date(activity["start_s"]).strftime("%Y-%m-%d").tolist()
    fig = go.Figure()
    for col, colour, name in (("written", "#1f77b4", "written"), ("recalled", "#ff7f0e", "recalled during it")):
        fig.add_trace(
            go.Bar(
                x=labels,
                y=activity[col],
                name=name,
                marker={"color": colour, "opacity": opacity},
                customdata=when,
                hovertemplate="%{x} (%{customdata}): %{y:,} " + name + "<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="group",
        xaxis_title="session (time order)",
        yaxis_title="memories",
        legend={"orientation": "h", "y": -0.3},
        margin={"t": 10, "b": 10},
        height=320,
    )
    return fig


def moment_metrics(frame: pd.DataFrame, threshold: float) -> list[tuple[str, str]]:
    """(label, value) of the population at the scrubbed moment: memories then, strong, below the threshold."""
    live = frame[frame["forgotten_time_s"].isna()]
    r = live["retention"].to_numpy()
    return [
        ("Memories then", f"{len(frame):,}"),
        (f"Strong (R ≥ {STRONG:g})", f"{int((r >= STRONG).sum()):,}"),
        (f"Below the threshold {threshold:g}", f"{int((r < threshold).sum()):,}"),
        ("Recalled at least once", f"{int((frame['recall_count'].fillna(0) > 0).sum()):,}"),
    ]


def suppressed_caption(n: int, k: int) -> str:
    """One line over the table of what decay suppressed (plain text: no data in it)."""
    if n == 0:
        return f"Decay suppressed nothing here: the top {k} with decay holds every memory of the top {k} without it."
    return (
        f"{n} of the top {k} without decay are not in the top {k} with decay: decay pushed them out "
        "(their retention then is low). Rank with decay is blank beyond the top "
        f"{4 * k}."
    )


__all__ = [
    "BAND_COLOURS",
    "bands_figure",
    "moment_metrics",
    "sessions_figure",
    "suppressed_caption",
]
