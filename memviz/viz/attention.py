"""Figures of the Attention sinks page: pure functions of arrays, returning plotly figures (no streamlit).

Token labels are plain text from the tokenizer; plotly renders a subset of HTML in tick and hover labels, so every
label is HTML-escaped here (a token can be ``<b>`` or ``<script>``). Newlines and tabs are made visible.
Attention values are in [0, 1]. Exports: :func:`figure_html` (self-contained, works offline) and
:func:`figure_image` (PNG / SVG through kaleido and a local Chromium).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

import numpy as np
import plotly.graph_objects as go
from plotly.subplots import make_subplots

from memviz.viz.export import PLOTLY_CONFIG as PLOTLY_CONFIG  # the exports, kept importable from here
from memviz.viz.export import ExportNotAvailableError as ExportNotAvailableError
from memviz.viz.export import figure_html as figure_html
from memviz.viz.export import figure_image as figure_image
from memviz.viz.export import image_export_available as image_export_available
from memviz.viz.plotly_text import plotly_text

POLICY_COLORS = {"full": "#222222", "window": "#d62728", "streaming": "#1f77b4", "h2o": "#2ca02c"}
_MAX_TICK_LABELS = 80


def token_label(token: str, max_chars: int = 14) -> str:
    """A token as safe plotly label text: newline -> ``\\n`` shown as ``↵``, tab -> ``⇥``, empty -> ``∅``,
    cut to ``max_chars`` characters, HTML-escaped."""
    t = str(token).replace("\r", "").replace("\n", "↵").replace("\t", "⇥")
    if not t:
        t = "∅"
    if len(t) > max_chars:
        t = t[: max_chars - 1] + "…"
    return plotly_text(t)


def titled(text: str, source: str = "", what: str = "text") -> dict:
    """A layout title: ``text`` (plotly markup, already safe) over the subtitle ``"<what>: <source>"``, the name of
    the text the figure is computed on (plain text, escaped here; no subtitle when empty)."""
    if not source:
        return {"text": text}
    return {"text": text, "subtitle": {"text": plotly_text(f"{what}: {source}")}}


def _labels(tokens: Sequence[str], positions: np.ndarray) -> list[str]:
    return [token_label(tokens[p]) for p in positions.tolist()]


def _window(n: int, window: tuple[int, int | None] | None) -> np.ndarray:
    if window is None:
        return np.arange(n)
    a, b = window
    a = int(np.clip(a, 0, max(n - 1, 0)))
    b = n if b is None else int(np.clip(b, a + 1, n))
    return np.arange(a, b)


def _token_axis(fig: go.Figure, positions: np.ndarray, tokens: Sequence[str], row=None, col=None, axis="x") -> None:
    """Numeric axis (positions) with token text as tick labels when few enough to read."""
    update = fig.update_xaxes if axis == "x" else fig.update_yaxes
    kw = {"row": row, "col": col} if row is not None else {}
    if len(positions) <= _MAX_TICK_LABELS:
        text = [token_label(tokens[p]) if axis == "x" else f"{token_label(tokens[p])} ·{p}" for p in positions.tolist()]
        update(
            tickmode="array",
            tickvals=positions.tolist(),
            ticktext=text,
            tickangle=-60 if axis == "x" else 0,
            tickfont={"size": 10},
            **kw,
        )
    else:
        update(title_text=("key" if axis == "x" else "query") + " position", **kw)


def sink_map_figure(
    received_mean: np.ndarray,
    tokens: Sequence[str],
    window: tuple[int, int | None] | None = None,
    sink_mask: np.ndarray | None = None,
    title: str = "Sink map: attention each token receives, per layer",
    max_sink_labels: int = 12,
    source: str = "",
) -> go.Figure:
    """Layer x token heatmap of received attention.

    ``received_mean``: ``(n_layers, k)``, mean over heads of the attention each key receives from the queries
    that see it (Gu et al. 2024), in [0, 1]. ``tokens``: ``k`` labels. ``window``: ``(start, end)`` key positions
    to show (end exclusive, None = to the end). ``sink_mask``: optional bool ``(n_layers, k)``; sink cells get a
    marker and the sink tokens (the ``max_sink_labels`` with most sink layers) are named above the map.
    ``source``: the name of the text (see :func:`titled`).
    """
    rm = np.asarray(received_mean, dtype=np.float32)
    n_layers, k = rm.shape
    pos = _window(k, window)
    z = rm[:, pos]
    labels = np.broadcast_to(np.array(_labels(tokens, pos), dtype=object), z.shape)
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=pos,
            y=np.arange(n_layers),
            colorscale="Viridis",
            zmin=0,
            zmax=max(float(z.max()), 1e-6),
            colorbar={"title": {"text": "received"}},
            customdata=labels,
            hovertemplate="layer %{y} · token %{x}: %{customdata}<br>received %{z:.3f}<extra></extra>",
        )
    )
    if sink_mask is not None:
        sm = np.asarray(sink_mask, dtype=bool)[:, pos]
        ly, cx = np.nonzero(sm)
        if ly.size:
            fig.add_trace(
                go.Scatter(
                    x=pos[cx],
                    y=ly,
                    mode="markers",
                    name="sink (Gu et al., epsilon)",
                    marker={"symbol": "circle-open", "size": 7, "color": "#ff4136", "line": {"width": 1.5}},
                    hoverinfo="skip",
                )
            )
            counts = sm.sum(axis=0)
            top = np.argsort(-counts, kind="stable")[:max_sink_labels]
            for c in top[counts[top] > 0].tolist():
                fig.add_annotation(
                    x=int(pos[c]),
                    y=1.0,
                    yref="paper",
                    yanchor="bottom",
                    showarrow=False,
                    text=f"{token_label(tokens[int(pos[c])])} ·{int(pos[c])}",
                    font={"size": 11, "color": "#c0392b"},
                    textangle=-30,
                )
    fig.update_layout(
        title=titled(title, source),
        yaxis_title="layer",
        height=max(340, 16 * n_layers + 190),
        margin={"l": 60, "r": 20, "t": 110 if source else 80, "b": 90},
        showlegend=False,
    )
    _token_axis(fig, pos, tokens)
    fig.update_yaxes(autorange=True)
    return fig


def first_token_share_figure(
    first_token_share: Sequence[float],
    uniform_share: Sequence[float],
    heads_with_sink_share: Sequence[float] | None = None,
    first_token: str = "",
    source: str = "",
) -> go.Figure:
    """Per layer: the mean attention the first token receives vs uniform attention (both in [0, 1]), and
    optionally the share of heads with a sink (Gu et al. 2024, epsilon threshold). Inputs: ``(n_layers,)``.
    ``source``: the name of the text (see :func:`titled`)."""
    f = np.asarray(first_token_share, dtype=float)
    layers = np.arange(f.size)
    name = f"first token ({token_label(first_token)})" if first_token else "first token"
    fig = go.Figure()
    fig.add_trace(go.Scatter(x=layers, y=f, mode="lines+markers", name=name, line={"color": "#d62728"}))
    fig.add_trace(
        go.Scatter(
            x=layers,
            y=np.asarray(uniform_share, dtype=float),
            mode="lines",
            name="uniform attention",
            line={"dash": "dash", "color": "#7f7f7f"},
        )
    )
    if heads_with_sink_share is not None:
        fig.add_trace(
            go.Scatter(
                x=layers,
                y=np.asarray(heads_with_sink_share, dtype=float),
                mode="lines",
                name="share of heads with a sink",
                line={"dash": "dot", "color": "#1f77b4"},
            )
        )
    fig.update_layout(
        title=titled("First token's attention share per layer vs uniform", source),
        xaxis_title="layer",
        yaxis_title="share",
        yaxis_range=[0, 1.02],
        height=360,
        margin={"l": 60, "r": 20, "t": 80 if source else 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def head_view_figure(
    layer_attention: np.ndarray,
    tokens: Sequence[str],
    layer: int,
    heads: Sequence[int] | None = None,
    query_window: tuple[int, int | None] | None = None,
    key_window: tuple[int, int | None] | None = None,
    n_cols: int = 3,
    source: str = "",
) -> go.Figure:
    """Query x key heatmaps of one layer, one panel per head.

    ``layer_attention``: ``(n_heads, q, k)``, rows sum to 1. ``heads``: which heads (default all). Windows are
    ``(start, end)`` positions (end exclusive) so long inputs stay readable. ``source``: the name of the text.
    """
    att = np.asarray(layer_attention, dtype=np.float32)
    n_heads, q, k = att.shape
    heads = list(range(n_heads)) if heads is None else [int(h) for h in heads]
    qp, kp = _window(q, query_window), _window(k, key_window)
    cols = min(n_cols, len(heads))
    rows = int(np.ceil(len(heads) / cols))
    fig = make_subplots(
        rows=rows,
        cols=cols,
        subplot_titles=[f"head {h}" for h in heads],
        shared_yaxes=True,
        horizontal_spacing=0.02,
        vertical_spacing=min(0.12, 0.5 / rows) if rows > 1 else 0.1,
    )
    shape = (len(qp), len(kp))
    hover = np.stack(
        [
            np.broadcast_to(np.array(_labels(tokens, qp), dtype=object)[:, None], shape),
            np.broadcast_to(np.array(_labels(tokens, kp), dtype=object)[None, :], shape),
        ],
        axis=-1,
    )
    zmax = max(float(att[np.ix_(np.asarray(heads, dtype=np.intp), qp, kp)].max()), 1e-6)
    for n, h in enumerate(heads):
        r, c = n // cols + 1, n % cols + 1
        fig.add_trace(
            go.Heatmap(
                z=att[h][np.ix_(qp, kp)],
                x=kp,
                y=qp,
                colorscale="Blues",
                zmin=0,
                zmax=zmax,
                showscale=(n == 0),
                colorbar={"title": {"text": "attention"}},
                customdata=hover,
                hovertemplate="query %{y} %{customdata[0]} → key %{x} %{customdata[1]}<br>%{z:.3f}<extra></extra>",
            ),
            row=r,
            col=c,
        )
        _token_axis(fig, kp, tokens, row=r, col=c, axis="x")
        if c == 1:
            _token_axis(fig, qp, tokens, row=r, col=c, axis="y")
        fig.update_yaxes(autorange="reversed", row=r, col=c)
    side = int(np.clip(12 * len(qp) + 60, 300, 900))  # ~12 px per query row keeps the labels readable
    fig.update_layout(
        title=titled(f"Layer {layer}: query x key attention", source),
        height=rows * side + 120,
        margin={"l": 70, "r": 20, "t": 100 if source else 70, "b": 60},
    )
    return fig


def kv_timeline_figure(
    timeline: np.ndarray,
    tokens: Sequence[str],
    policy_label: str,
    budget: int,
    window: tuple[int, int | None] | None = None,
    source: str = "",
) -> go.Figure:
    """Which KV entries a policy keeps: step (query position) x key position, 1 = in the cache.

    ``timeline``: ``(n, n)`` in [0, 1] (for H2O the share of heads keeping an entry). ``window`` limits both axes.
    ``source``: the name of the text.
    """
    t = np.asarray(timeline, dtype=np.float32)
    pos = _window(t.shape[0], window)
    z = t[np.ix_(pos, pos)]
    z = np.where(np.arange(z.shape[0])[:, None] >= np.arange(z.shape[1])[None, :], z, np.nan)  # future: blank
    fig = go.Figure(
        go.Heatmap(
            z=z,
            x=pos,
            y=pos,
            colorscale=[[0, "#f0f0f0"], [1, "#08519c"]],
            zmin=0,
            zmax=1,
            colorbar={"title": {"text": "kept"}},
            hovertemplate="step %{y} · key %{x}: %{z:.2f}<extra></extra>",
        )
    )
    fig.update_layout(
        title=titled(f"{plotly_text(policy_label)}: KV entries kept (budget {budget})", source),
        xaxis_title="key position (cache entry)",
        yaxis_title="step (query position)",
        yaxis_autorange="reversed",
        height=420,
        margin={"l": 60, "r": 20, "t": 80 if source else 50, "b": 50},
    )
    return fig


def retained_share_figure(
    retained: Mapping[str, np.ndarray], labels: Mapping[str, str] | None = None, source: str = ""
) -> go.Figure:
    """Per layer, the share of the full attention mass each policy keeps: ``{policy: (n_layers,)}`` in [0, 1].
    ``source``: the name of the text."""
    fig = go.Figure()
    for p, v in retained.items():
        v = np.asarray(v, dtype=float)
        fig.add_trace(
            go.Scatter(
                x=np.arange(v.size),
                y=v,
                mode="lines+markers",
                name=plotly_text((labels or {}).get(p, p)),
                line={"color": POLICY_COLORS.get(p)},
            )
        )
    fig.update_layout(
        title=titled("Attention mass retained per layer (queries past the budget)", source),
        xaxis_title="layer",
        yaxis_title="retained share",
        yaxis_range=[0, 1.02],
        height=360,
        margin={"l": 60, "r": 20, "t": 80 if source else 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def policy_loss_figure(
    nll: Mapping[str, np.ndarray],
    budget: int,
    smooth: int = 16,
    labels: Mapping[str, str] | None = None,
    ppl: Mapping[str, float] | None = None,
    source: str = "",
) -> go.Figure:
    """Per-token next-token loss (nats) under each policy, as a trailing mean over ``smooth`` tokens.

    ``nll``: ``{policy: (n - 1,)}``; entry t is the loss of predicting token t+1. A vertical line marks ``budget``,
    where eviction starts. ``source``: the name of the text.
    """
    fig = go.Figure()
    w = max(1, int(smooth))
    top = 0.0
    for p, v in nll.items():
        v = np.asarray(v, dtype=float)
        c = np.cumsum(np.concatenate([[0.0], v]))
        idx = np.arange(1, v.size + 1)
        lo = np.maximum(idx - w, 0)
        y = (c[idx] - c[lo]) / (idx - lo)
        if y.size > w:
            top = max(top, float(y[w:].max()))  # the first tokens (no context yet) would squash the scale
        name = (labels or {}).get(p, p)
        if ppl and p in ppl:
            name += f" (ppl {ppl[p]:.1f})"
        fig.add_trace(
            go.Scatter(
                x=np.arange(v.size), y=y, mode="lines", name=plotly_text(name), line={"color": POLICY_COLORS.get(p)}
            )
        )
    fig.add_vline(x=budget, line_dash="dot", line_color="#888", annotation_text="cache full")
    if top > 0:
        fig.update_yaxes(range=[0, 1.1 * top])
    fig.update_layout(
        title=titled(f"Next-token loss per position (trailing mean of {w})", source),
        xaxis_title="position",
        yaxis_title="loss (nats)",
        height=380,
        margin={"l": 60, "r": 20, "t": 80 if source else 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def losses_figure(
    losses: Mapping[str, Any], budget: int, labels: Mapping[str, str] | None = None, source: str = ""
) -> go.Figure:
    """:func:`policy_loss_figure` of a KV experiment's ``losses`` (policy -> an object with ``nll``, ``ppl``,
    ``ppl_evicted``): the per-token loss, and the perplexity after the cache is full (else over all tokens)."""
    return policy_loss_figure(
        {p: v.nll for p, v in losses.items()},
        budget,
        labels=labels,
        ppl={p: v.ppl_evicted or v.ppl for p, v in losses.items()},
        source=source,
    )


def memory_attention_figure(share: np.ndarray, segments: Sequence[str], source: str = "") -> go.Figure:
    """Per layer, the share of the query's attention on each prompt segment (stacked, rows sum to 1).

    ``share``: ``(n_layers, n_segments)`` in [0, 1]; ``segments``: names (sink, memory 1..n, query, template).
    ``source``: the name of the memories (subtitle ``"memories: <source>"``).
    """
    s = np.asarray(share, dtype=float)
    layers = np.arange(s.shape[0])
    fig = go.Figure()
    n_mem = sum(1 for n in segments if n.startswith("memory"))
    blues = [f"hsl(210, 70%, {35 + int(40 * i / max(n_mem - 1, 1))}%)" for i in range(n_mem)]
    mi = 0
    for i, name in enumerate(segments):
        if name.startswith("memory"):
            color = blues[mi]
            mi += 1
        else:
            color = {"query": "#d62728", "template": "#bbbbbb"}.get(name, "#222222")
        fig.add_trace(
            go.Bar(
                x=layers,
                y=s[:, i],
                name=plotly_text(name),
                marker_color=color,
                hovertemplate=f"{plotly_text(name)} · layer %{{x}}: %{{y:.3f}}<extra></extra>",
            )
        )
    fig.update_layout(
        barmode="stack",
        title=titled("Where the query's attention goes, per layer", source, what="memories"),
        xaxis_title="layer",
        yaxis_title="share of the query's attention",
        yaxis_range=[0, 1],
        height=400,
        margin={"l": 60, "r": 20, "t": 80 if source else 50, "b": 50},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig
