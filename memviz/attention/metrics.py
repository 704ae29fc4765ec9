"""Attention-sink metrics on attention arrays (pure numpy, no model needed).

Notation: ``A`` has shape ``(n_layers, n_heads, q, k)``; ``A[l, h, i, j]`` is the attention query i pays to key j.

- **Received attention** (Gu et al. 2024, "When Attention Sink Emerges in Language Models", sec. 3):
  ``alpha[l, h, j] = (1 / |Q_j|) * sum_{i in Q_j} A[l, h, i, j]`` where ``Q_j`` are the queries that can see key j
  (``i >= j`` in a causal model, every query in a bidirectional one). Values in [0, 1].
- **Sink metric** (Gu et al. 2024): head (l, h) has a sink at key j when ``alpha[l, h, j] > epsilon``, with
  ``epsilon = 0.3``; ``Sink_eps^j`` is the share of all heads of all layers with that property.
- **Sink token per layer** (memviz modelling choice): token j is a sink in layer l when at least
  ``min_head_share`` of that layer's heads have a sink at j (default 0.25, i.e. 3 of 9 heads in SmolLM2,
  3 of 12 in MiniLM), and at least ``min_visible`` queries can see it (a causal model's last keys are seen by
  one or two queries, whose self-attention alone would pass epsilon).
- **Primary vs secondary** (after "On the Existence and Behaviour of Secondary Attention Sinks", 2025): a primary
  sink persists across the network; a secondary sink arises in middle layers and lasts a variable, smaller
  number of layers. memviz calls a sink token *primary* when it is a sink in at least ``primary_min_share`` of
  all layers (default 0.5), *secondary* otherwise (a modelling choice; the paper gives no numeric cut-off).
  Its *lifetime* is the number of layers in which it is a sink (they need not be contiguous: SmolLM2's first
  token, for one, pauses in layers 10-11, where the paper's "primary sink weakens in middle layers").
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memviz.errors import ConfigError

#: Gu et al. 2024's threshold on the attention a key receives.
EPSILON = 0.3
MIN_HEAD_SHARE = 0.25
PRIMARY_MIN_SHARE = 0.5


def _check_att(att: np.ndarray) -> np.ndarray:
    att = np.asarray(att)
    if att.ndim != 4 or att.shape[-1] == 0:
        raise ConfigError(f"attention must have shape (n_layers, n_heads, q, k), got {att.shape}")
    return att


def visible_counts(q: int, k: int, causal: bool) -> np.ndarray:
    """Number of queries that can see each key: int64, shape ``(k,)``.

    Causal (query i sees keys 0..i+(k-q), i.e. the queries are the last q positions): ``min(q, k - j)``;
    bidirectional: ``q`` for every key.
    """
    if not causal:
        return np.full(k, q, dtype=np.int64)
    return np.minimum(q, k - np.arange(k, dtype=np.int64))


def received_attention(att: np.ndarray, causal: bool) -> np.ndarray:
    """Mean attention each key receives from the queries that can see it (Gu et al. 2024).

    ``att``: ``(n_layers, n_heads, q, k)``. Returns float32 ``(n_layers, n_heads, k)``, values in [0, 1].
    """
    att = _check_att(att)
    q, k = att.shape[-2:]
    return (att.sum(axis=-2, dtype=np.float64) / visible_counts(q, k, causal)).astype(np.float32)


def uniform_first_token_share(n_tokens: int, causal: bool) -> float:
    """What the first token would receive under uniform attention (mean over the queries that see it).

    Causal: query i spreads 1/(i+1) over keys 0..i, so the mean is ``H_n / n`` (harmonic number; ~0.013 at
    n = 512, ~0.18 at n = 20). Bidirectional: ``1 / n``.
    """
    n = int(n_tokens)
    if n <= 0:
        raise ConfigError("n_tokens must be positive")
    if not causal:
        return 1.0 / n
    return float(np.sum(1.0 / np.arange(1, n + 1)) / n)


def default_min_visible(q: int, causal: bool) -> int:
    """Default ``min_visible``: ``clip(q // 4, 1, 16)`` for a causal model, 1 for a bidirectional one."""
    return int(np.clip(q // 4, 1, 16)) if causal else 1


def gu_sink_metric(received: np.ndarray, epsilon: float = EPSILON, position: int = 0) -> float:
    """``Sink_eps`` of Gu et al. 2024 for one key position: share of all (layer, head) pairs with
    ``alpha[l, h, position] > epsilon``. ``received``: ``(n_layers, n_heads, k)``. Returns a value in [0, 1].
    """
    return float((np.asarray(received)[:, :, position] > epsilon).mean())


def layer_ranges(layers: np.ndarray) -> str:
    """Compact text of sorted layer indices: ``[3, 4, 5, 9]`` -> ``"3-5, 9"``."""
    layers = np.asarray(layers, dtype=np.int64)
    if layers.size == 0:
        return ""
    breaks = np.nonzero(np.diff(layers) != 1)[0]
    starts = np.concatenate([layers[:1], layers[breaks + 1]])
    ends = np.concatenate([layers[breaks], layers[-1:]])
    return ", ".join(f"{a}" if a == b else f"{a}-{b}" for a, b in zip(starts.tolist(), ends.tolist(), strict=True))


@dataclass(frozen=True, eq=False)
class SinkAnalysis:
    """Sink metrics of one attention capture.

    - ``received``: ``(n_layers, n_heads, k)``, mean attention each key receives (Gu et al. 2024), in [0, 1].
    - ``received_mean``: ``(n_layers, k)``, ``received`` averaged over heads: the sink map.
    - ``head_share``: ``(n_layers, k)``, share of heads with ``received > epsilon`` at each key, in [0, 1].
    - ``sink_mask``: ``(n_layers, k)`` bool, token j is a sink in layer l (see module docstring).
    - ``heads_with_sink_share``: ``(n_layers,)``, share of heads having a sink at any eligible key.
    - ``first_token_share``: ``(n_layers,)``, ``received_mean[:, 0]``: mean attention mass the first token receives.
    - ``uniform_share``: ``(n_layers,)``, the same under uniform attention (constant over layers).
    - ``gu_first_token``: Gu et al.'s ``Sink_eps^1`` over all heads, in [0, 1].
    - ``sinks``: the sink table, one dict per sink token (see :func:`analyze_sinks`).
    """

    epsilon: float
    min_head_share: float
    min_visible: int
    causal: bool
    received: np.ndarray
    received_mean: np.ndarray
    head_share: np.ndarray
    sink_mask: np.ndarray
    heads_with_sink_share: np.ndarray
    first_token_share: np.ndarray
    uniform_share: np.ndarray
    gu_first_token: float
    sinks: list[dict[str, Any]] = field(default_factory=list)


SINK_COLUMNS = (
    "token",
    "position",
    "kind",
    "layers",
    "first_layer",
    "last_layer",
    "lifetime",
    "score",
    "peak_score",
    "head_share",
    "hidden_norm",
    "hidden_norm_ratio",
    "mlp_norm_ratio",
)


def analyze_sinks(
    att: np.ndarray,
    causal: bool,
    tokens: list[str] | None = None,
    *,
    epsilon: float = EPSILON,
    min_head_share: float = MIN_HEAD_SHARE,
    min_visible: int | None = None,
    primary_min_share: float = PRIMARY_MIN_SHARE,
    hidden_norms: np.ndarray | None = None,
    mlp_norms: np.ndarray | None = None,
) -> SinkAnalysis:
    """Received attention, Gu et al. 2024 sink detection and the primary/secondary sink table.

    ``att``: ``(n_layers, n_heads, q, k)``; ``tokens``: ``k`` labels (default: positions). ``hidden_norms`` and
    ``mlp_norms``: optional ``(n_layers, k)`` l2 norms. Each row of ``sinks`` (one per token that is a sink in
    at least one layer) has: ``token``, ``position``, ``kind`` ("primary" / "secondary"), ``layers`` (text, e.g.
    ``"3-9, 12-29"``), ``first_layer``, ``last_layer`` (0-based), ``lifetime`` (number of sink layers),
    ``score`` (mean over its sink layers of the head-mean received attention, in [0, 1]), ``peak_score`` (its
    maximum), ``head_share`` (mean share of heads over epsilon there), ``hidden_norm`` (mean l2 norm of the
    token's hidden state over its sink layers), ``hidden_norm_ratio`` (that norm divided by the median norm
    of all tokens in the same layers) and ``mlp_norm_ratio`` (l2 norm of the token's MLP output in layer
    ``first_layer - 1``, the MLP the secondary-sinks paper finds forms the sink, divided by that layer's median);
    the norm fields are None when no norms are given (``mlp_norm_ratio`` also when ``first_layer`` is 0). Rows
    are sorted primary first, then by score.

    Raises ConfigError for a wrongly shaped array or thresholds outside their range (epsilon, min_head_share
    and primary_min_share in (0, 1]).
    """
    att = _check_att(att)
    n_layers, n_heads, q, k = att.shape
    for name, v in (("epsilon", epsilon), ("min_head_share", min_head_share), ("primary_min_share", primary_min_share)):
        if not (0.0 < float(v) <= 1.0):
            raise ConfigError(f"{name} must be in (0, 1], got {v}")
    labels = list(tokens) if tokens is not None else [str(j) for j in range(k)]
    if len(labels) != k:
        raise ConfigError(f"{len(labels)} token labels for {k} keys")
    mv = default_min_visible(q, causal) if min_visible is None else max(1, int(min_visible))

    received = received_attention(att, causal)  # (L, H, k)
    received_mean = received.mean(axis=1)  # (L, k)
    over = received > epsilon  # (L, H, k)
    head_share = over.mean(axis=1)  # (L, k)
    eligible = visible_counts(q, k, causal) >= mv  # (k,)
    eligible[0] = True  # the first token is always seen by every query
    sink_mask = (head_share >= min_head_share - 1e-9) & (head_share > 0) & eligible[None, :]
    heads_with_sink = (over & eligible[None, None, :]).any(axis=-1).mean(axis=1)  # (L,)
    uniform = uniform_first_token_share(k, causal)

    med_h = np.median(hidden_norms, axis=1) if hidden_norms is not None else None
    med_m = np.median(mlp_norms, axis=1) if mlp_norms is not None else None
    rows: list[dict[str, Any]] = []
    for j in np.nonzero(sink_mask.any(axis=0))[0].tolist():  # one row per sink token (few), not per token
        layers = np.nonzero(sink_mask[:, j])[0]
        s, e, life = int(layers[0]), int(layers[-1]), int(layers.size)
        row: dict[str, Any] = {
            "token": labels[j],
            "position": int(j),
            "kind": "primary" if life >= primary_min_share * n_layers - 1e-9 else "secondary",
            "layers": layer_ranges(layers),
            "first_layer": s,
            "last_layer": e,
            "lifetime": life,
            "score": float(received_mean[layers, j].mean()),
            "peak_score": float(received_mean[layers, j].max()),
            "head_share": float(head_share[layers, j].mean()),
            "hidden_norm": None,
            "hidden_norm_ratio": None,
            "mlp_norm_ratio": None,
        }
        if hidden_norms is not None and med_h is not None:
            row["hidden_norm"] = float(hidden_norms[layers, j].mean())
            row["hidden_norm_ratio"] = float((hidden_norms[layers, j] / np.maximum(med_h[layers], 1e-12)).mean())
        # The MLP of layer s-1 writes the state layer s's keys come from.
        if mlp_norms is not None and med_m is not None and s >= 1:
            row["mlp_norm_ratio"] = float(mlp_norms[s - 1, j] / max(float(med_m[s - 1]), 1e-12))
        rows.append(row)
    rows.sort(key=lambda r: (r["kind"] != "primary", -r["score"]))
    return SinkAnalysis(
        epsilon=float(epsilon),
        min_head_share=float(min_head_share),
        min_visible=mv,
        causal=causal,
        received=received,
        received_mean=received_mean,
        head_share=head_share,
        sink_mask=sink_mask,
        heads_with_sink_share=heads_with_sink,
        first_token_share=received_mean[:, 0].copy(),
        uniform_share=np.full(n_layers, uniform, dtype=np.float32),
        gu_first_token=gu_sink_metric(received, epsilon, 0),
        sinks=rows,
    )
