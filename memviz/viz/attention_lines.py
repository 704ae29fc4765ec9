"""The token-to-token head view of the Attention sinks page (after bertviz's head view, Vig 2019): for one layer and
one head, a line from each query token (left column) to the key tokens it attends to (right column), its opacity
and width growing with the attention weight. A pure function of arrays returning a plotly figure (no streamlit).

Long inputs stay responsive: only the ``top_k`` heaviest keys of each query are candidates (and at most
:data:`MAX_EDGES` lines in all), and the lines are drawn as one plotly line trace per weight bin (segments separated
by ``None``), not one trace per line. Measured at 512 tokens in ``docs/performance.md``. Token text is
HTML-escaped (:func:`memviz.viz.attention.token_label`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import plotly.graph_objects as go

from memviz.viz.attention import _window, titled, token_label
from memviz.viz.plotly_text import plotly_text

#: The most lines one figure draws (the heaviest are kept): 16 per query at 512 tokens.
MAX_EDGES = 8192
MAX_TOP_K = 16
#: Weight bins of the lines (attention weights, in [0, 1]); each bin is one trace of one opacity and width.
WEIGHT_BINS = (0.0, 0.02, 0.05, 0.1, 0.2, 0.4, 0.7, 1.0)
_OPACITY = (0.12, 0.2, 0.3, 0.42, 0.58, 0.78, 0.95)
_WIDTH = (0.5, 0.7, 1.0, 1.5, 2.2, 3.0, 4.0)
_BASE, _PICKED = "31, 119, 180", "214, 39, 40"  # rgb of the lines, and of the picked query's lines


@dataclass(frozen=True)
class TokenEdges:
    """The lines of a token-to-token view: ``query``, ``key`` (int64 positions) and ``weight`` (float32, the
    attention of query to key, in (0, 1]), each of shape ``(n_edges,)``, sorted by query then by weight, heaviest
    first. ``n_candidates``: the lines the filter let through before the cap of ``max_edges`` (the heaviest kept).
    """

    query: np.ndarray
    key: np.ndarray
    weight: np.ndarray
    n_candidates: int = 0

    @property
    def capped(self) -> bool:
        return self.n_candidates > self.query.size

    def __len__(self) -> int:
        return int(self.query.size)


def token_edges(
    head_attention: np.ndarray,
    top_k: int | None = 3,
    threshold: float = 0.0,
    window: tuple[int, int | None] | None = None,
    max_edges: int = MAX_EDGES,
) -> TokenEdges:
    """The lines to draw for one head: for each query in ``window``, its ``top_k`` heaviest keys in ``window``
    (all keys when None) whose weight is at least ``threshold`` and above 0 (a decoder's future keys are 0).

    ``head_attention``: ``(q, k)``, ``[i, j]`` = attention of query i to key j (rows sum to 1). ``window``:
    ``(start, end)`` positions shown on both sides (end exclusive; None = all). At most ``max_edges`` lines,
    the heaviest.
    """
    att = np.asarray(head_attention, dtype=np.float32)
    pos = _window(min(att.shape), window)
    sub = att[np.ix_(pos, pos)]
    n = pos.size
    k = n if top_k is None else int(np.clip(top_k, 1, n))
    idx = np.argpartition(-sub, k - 1, axis=1)[:, :k] if k < n else np.broadcast_to(np.arange(n), (n, n))
    w = np.take_along_axis(sub, idx, axis=1)
    keep = (w >= threshold) & (w > 0)
    qi = np.broadcast_to(np.arange(n)[:, None], idx.shape)[keep]
    kj, wt = idx[keep], w[keep]
    n_candidates = int(wt.size)
    if n_candidates > max_edges:
        top = np.argpartition(-wt, max_edges - 1)[:max_edges]
        qi, kj, wt = qi[top], kj[top], wt[top]
    order = np.lexsort((-wt, qi))
    return TokenEdges(pos[qi[order]].astype(np.int64), pos[kj[order]].astype(np.int64), wt[order], n_candidates)


def _segments(edges: TokenEdges, mask: np.ndarray) -> tuple[list, list]:
    """x and y of the lines in ``mask`` as one trace: (0, query) -> (1, key), segments separated by None."""
    n = int(mask.sum())
    x: list = [0, 1, None] * n
    y: list = [None] * (3 * n)
    y[0::3] = edges.query[mask].tolist()
    y[1::3] = edges.key[mask].tolist()
    return x, y


def _token_column(x: float, pos: np.ndarray, text: list[str], side: str, colour, hover: list[str], name: str):
    """One column of token labels (queries at x=0, keys at x=1), a marker per token, hover text per token."""
    return go.Scatter(
        x=np.full(pos.size, float(x)),
        y=pos,
        mode="text+markers",
        text=text,
        textposition=side,
        marker={"size": 5, "color": colour},
        hovertext=hover,
        hoverinfo="text",
        name=name,
        showlegend=False,
    )


def _line_traces(edges: TokenEdges, rgb: str, fade: float, name: str) -> list[go.Scatter]:
    """One line trace per non-empty weight bin: opacity and width by weight (``fade`` scales the opacity)."""
    b = np.clip(np.searchsorted(WEIGHT_BINS, edges.weight, side="right") - 1, 0, len(_OPACITY) - 1)
    traces = []
    for i in np.unique(b).tolist():
        x, y = _segments(edges, b == i)
        traces.append(
            go.Scatter(
                x=x,
                y=y,
                mode="lines",
                line={"color": f"rgba({rgb}, {_OPACITY[i] * fade:.3f})", "width": _WIDTH[i]},
                name=f"{name} {WEIGHT_BINS[i]:.2f}-{WEIGHT_BINS[i + 1]:.2f}",
                legendgroup=name,
                hoverinfo="skip",
                showlegend=False,
            )
        )
    return traces


def token_lines_figure(
    layer_attention: np.ndarray,
    tokens: Sequence[str],
    layer: int,
    head: int,
    *,
    top_k: int | None = 3,
    threshold: float = 0.0,
    query: int | None = None,
    window: tuple[int, int | None] | None = None,
    source: str = "",
    row_px: int = 14,
) -> go.Figure:
    """Token-to-token lines of head ``head`` of one layer (bertviz's head view).

    ``layer_attention``: ``(n_heads, q, k)``, attention weights in [0, 1], rows sum to 1; ``tokens``: ``q``
    plain-text labels (escaped here). Lines: :func:`token_edges` of ``layer_attention[head]`` with ``top_k``,
    ``threshold`` and ``window``; a line's opacity and width grow with its weight (:data:`WEIGHT_BINS`).
    ``query``: a query position whose lines are drawn in red over the others (faded); its keys' weights are
    shown beside them. ``source``: the name of the text (subtitle). ``row_px``: pixels per token row.
    """
    att = np.asarray(layer_attention, dtype=np.float32)
    if not 0 <= head < att.shape[0]:
        raise ValueError(f"head must be in [0, {att.shape[0]}), got {head}")
    edges = token_edges(att[head], top_k, threshold, window)
    pos = _window(min(att.shape[1:]), window)
    labels = [token_label(tokens[p]) for p in pos.tolist()]
    picked = query if query is not None and pos[0] <= query <= pos[-1] else None
    on = edges.query == picked
    fig = go.Figure(_line_traces(_sub(edges, ~on), _BASE, 0.3 if picked is not None else 1.0, "lines"))
    if picked is not None:
        fig.add_traces(_line_traces(_sub(edges, on), _PICKED, 1.0, "picked"))
    tops = _top_keys(edges, tokens)
    colours = ["#d62728" if p == picked else "#1f77b4" for p in pos.tolist()]
    hover = [f"query {p} {lab}<br>{tops.get(p, 'no line')}" for p, lab in zip(pos.tolist(), labels)]
    fig.add_trace(_token_column(0, pos, labels, "middle left", colours, hover, "queries"))
    key_text = labels
    if picked is not None:
        w = dict(zip(edges.key[on].tolist(), edges.weight[on].tolist()))
        key_text = [f"{lab}  {w[p]:.2f}" if p in w else lab for p, lab in zip(pos.tolist(), labels)]
    hover = [f"key {p} {lab}" for p, lab in zip(pos.tolist(), labels)]
    fig.add_trace(_token_column(1, pos, key_text, "middle right", "#1f77b4", hover, "keys"))
    k = "all keys" if top_k is None else f"top {top_k} keys per query"
    note = f"{len(edges)} lines" + (f", the heaviest of {edges.n_candidates}" if edges.capped else "")
    title = f"Layer {layer}, head {head}: token to token ({k}, weight ≥ {threshold:.2f}; {note})"
    fig.update_layout(
        title=titled(plotly_text(title), source),
        height=max(320, row_px * pos.size + 140),
        margin={"l": 20, "r": 20, "t": 100 if source else 70, "b": 20},
        plot_bgcolor="white",
        showlegend=False,
        hovermode="closest",
    )
    fig.update_xaxes(visible=False, range=[-0.75, 1.75], fixedrange=True)
    fig.update_yaxes(visible=False, range=[pos[-1] + 0.5, pos[0] - 0.5])
    return fig


def _sub(edges: TokenEdges, mask: np.ndarray) -> TokenEdges:
    return TokenEdges(edges.query[mask], edges.key[mask], edges.weight[mask], edges.n_candidates)


def _top_keys(edges: TokenEdges, tokens: Sequence[str], n: int = 3) -> dict[int, str]:
    """Hover text per query: its ``n`` heaviest drawn keys, ``"→ key·position weight"`` (escaped)."""
    out: dict[int, list[str]] = {}
    for q, k, w in zip(edges.query.tolist(), edges.key.tolist(), edges.weight.tolist()):
        got = out.setdefault(q, [])
        if len(got) < n:
            got.append(f"→ {token_label(tokens[k])}·{k} {w:.2f}")
    return {q: "<br>".join(v) for q, v in out.items()}
