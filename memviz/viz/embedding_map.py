"""The embedding map figure: every memory as a point of the 2-D projection (:mod:`memviz.projection`),
coloured by kind, session, speaker or retention, with a query and its recall hits overlaid. Pure function.

Hover texts are escaped (plotly renders a subset of HTML in hover labels).
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Literal

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from memviz.viz.graph import RETENTION_SCALE, category_colours
from memviz.viz.plotly_text import plotly_text

MapColourBy = Literal["kind", "session", "speaker", "retention"]
MAP_COLOUR_BY: tuple[str, ...] = ("kind", "session", "speaker", "retention")
_COLUMN = {"kind": "kind", "session": "session_id", "speaker": "speaker", "retention": "retention"}
_HOVER_CHARS = 160


def embedding_map_figure(
    points: pd.DataFrame,
    colour_by: MapColourBy = "kind",
    query_xy: np.ndarray | None = None,
    query: str = "",
    hits: pd.DataFrame | None = None,
    explained: tuple[float, float] | None = None,
    height_px: int = 600,
) -> go.Figure:
    """A WebGL scatter of ``points`` (columns ``x``, ``y``, ``text``, ``speaker``, ``session_id``, ``kind``,
    ``retention`` in [0, 1]), one trace per category (the 24 most frequent; the rest grey as "other") or one
    trace on a red-yellow-green retention scale.

    ``query_xy`` (shape (2,)) adds the query as a black cross labelled with ``query``; ``hits`` (columns
    ``x``, ``y``, ``rank``, ``text``) adds the recall hits as ringed points labelled with their rank and a
    line from the query to each. ``explained`` (each axis' share of variance) goes into the axis titles.
    Raises KeyError for an unknown ``colour_by``.
    """
    col = _COLUMN[colour_by]
    hover = _hover(points)
    fig = go.Figure()
    if colour_by == "retention":
        fig.add_trace(
            go.Scattergl(
                x=points["x"],
                y=points["y"],
                mode="markers",
                name="memories",
                text=hover,
                hoverinfo="text",
                marker={
                    "size": 6,
                    "color": points["retention"],
                    "colorscale": RETENTION_SCALE,
                    "cmin": 0,
                    "cmax": 1,
                    "colorbar": {"title": {"text": "retention"}, "thickness": 12},
                    "opacity": 0.8,
                },
            )
        )
    else:
        colours, legend = category_colours(points[col])
        colours = pd.Series(colours, index=points.index)
        for label, colour in legend:
            mask = (colours == colour).to_numpy()
            fig.add_trace(
                go.Scattergl(
                    x=points["x"][mask],
                    y=points["y"][mask],
                    mode="markers",
                    name=plotly_text(label),
                    text=np.asarray(hover)[mask],
                    hoverinfo="text",
                    marker={"size": 6, "color": colour, "opacity": 0.75},
                )
            )
    if hits is not None and len(hits):
        if query_xy is not None:
            xs = np.column_stack([np.full(len(hits), query_xy[0]), hits["x"], np.full(len(hits), np.nan)]).ravel()
            ys = np.column_stack([np.full(len(hits), query_xy[1]), hits["y"], np.full(len(hits), np.nan)]).ravel()
            fig.add_trace(
                go.Scatter(
                    x=xs,
                    y=ys,
                    mode="lines",
                    line={"color": "#333", "width": 1, "dash": "dot"},
                    hoverinfo="skip",
                    showlegend=False,
                )
            )
        fig.add_trace(
            go.Scatter(
                x=hits["x"],
                y=hits["y"],
                mode="markers+text",
                name="recall hits",
                text=[f"#{r}" for r in hits["rank"]],
                textposition="top center",
                hovertext=[f"#{r}: {plotly_text(_cut(t))}" for r, t in zip(hits["rank"], hits["text"])],
                hoverinfo="text",
                marker={"size": 14, "color": "rgba(0,0,0,0)", "line": {"color": "#111", "width": 2}},
            )
        )
    if query_xy is not None:
        fig.add_trace(
            go.Scatter(
                x=[query_xy[0]],
                y=[query_xy[1]],
                mode="markers+text",
                name="query",
                text=[plotly_text(_cut(query, 40))],
                textposition="bottom center",
                hovertext=[plotly_text(query)],
                hoverinfo="text",
                marker={"size": 16, "color": "#000", "symbol": "x"},
            )
        )
    ex = explained or (float("nan"), float("nan"))
    fig.update_layout(
        height=height_px,
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        legend={"itemsizing": "constant"},
        xaxis={"title": {"text": f"PC 1 ({ex[0]:.1%} of variance)"}, "showticklabels": False, "zeroline": False},
        yaxis={"title": {"text": f"PC 2 ({ex[1]:.1%} of variance)"}, "showticklabels": False, "zeroline": False},
        plot_bgcolor="#fafafa",
    )
    return fig


def recall_overlay(
    points: pd.DataFrame, projection, hits: Mapping[str, int], query_vector: np.ndarray | None = None
) -> tuple[np.ndarray | None, pd.DataFrame]:
    """What :func:`embedding_map_figure` overlays for a recall: the query's map position (shape (2,); None without
    ``query_vector``), placed by ``projection`` (:class:`memviz.projection.Projection`), and the rows of ``points``
    that are ``hits`` (``{id: rank}``) with their ``rank``, best first (a hit not among ``points`` is left out)."""
    query_xy = projection.transform(query_vector)[0] if query_vector is not None else None
    rows = points[points["id"].isin(list(hits))]
    return query_xy, rows.assign(rank=rows["id"].map(hits)).sort_values("rank")


def map_caption(n_points: int, explained: tuple[float, float], overlaid: bool) -> str:
    """The caption under the map: how many memories, the variance its axes explain, whether a recall is overlaid."""
    return (
        f"{n_points:,} memories (the filtered ones) projected by PCA of their 384-d vectors; the two axes explain "
        f"{sum(explained):.1%} of the variance. "
        + (
            "The query and its hits are overlaid."
            if overlaid
            else "Run a recall in the query view to place a query and its hits on the map."
        )
    )


def _hover(points: pd.DataFrame) -> list[str]:
    cut = points["text"].map(_cut)
    return (
        "<b>"
        + points["speaker"].fillna("").map(plotly_text)
        + "</b> · "
        + points["session_id"].fillna("").map(plotly_text)
        + " · retention "
        + points["retention"].map("{:.2f}".format)
        + "<br>"
        + cut.map(plotly_text)
    ).tolist()


def _cut(text: str, n: int = _HOVER_CHARS) -> str:
    text = " ".join(str(text).split())
    return text if len(text) <= n else text[: n - 1] + "…"
