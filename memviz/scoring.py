"""Recall scoring: named components in [0, 1] and their weighted combination. Pure numpy functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from memviz.errors import ConfigError

COMPONENTS: tuple[str, ...] = (
    "relevance",
    "lexical",
    "rrf",
    "recency",
    "importance",
    "retention",
    "entity",
    "graph",
)
RRF_K = 60


def rrf(rankings: Sequence[Sequence[str]], k: int = RRF_K) -> dict[str, float]:
    """Reciprocal rank fusion (Cormack, Clarke & Buettcher, SIGIR 2009): RRF(d) = sum_r 1 / (k + rank_r(d)).

    ``rankings`` are id lists, best first (ranks are 1-based). Returns {id: score}; ids absent from a ranking
    get nothing from it. With R rankings the maximum score is R / (k + 1).
    """
    out: dict[str, float] = {}
    for ranking in rankings:
        for rank, doc in enumerate(ranking, start=1):
            out[doc] = out.get(doc, 0.0) + 1.0 / (k + rank)
    return out


def recency(hours_since_access, decay_per_hour: float = 0.995):
    """Generative Agents recency (Park et al., UIST 2023): 0.995 ** hours since the last access; (0, 1]."""
    return np.power(decay_per_hour, np.maximum(np.asarray(hours_since_access, dtype=np.float64), 0.0))


def squash_bm25(scores, top: float | None = None) -> np.ndarray:
    """BM25 scores to [0, 1] by dividing by the best score of the query, ``top`` (default: the best of
    ``scores``); all 0 when nothing matched."""
    s = np.asarray(scores, dtype=np.float64)
    top = s.max(initial=0.0) if top is None else top
    return s / top if top > 0 else np.zeros_like(s)


def sigmoid_bm25(scores, n_terms: int) -> np.ndarray:
    """mem0 (v3, ``mem0/utils/scoring.py``) BM25 normalisation: 1 / (1 + exp(-s * (bm25 - m))), in (0, 1).

    The midpoint m and steepness s depend on the query's number of terms ``n_terms`` (longer queries reach
    higher raw BM25): <= 3 terms (5, 0.7), <= 6 (7, 0.6), <= 9 (9, 0.5), <= 15 (10, 0.5), else (12, 0.5).
    mem0 tuned these on its own BM25 backend; on LanceDB's BM25 they are a borrowed modelling choice.
    """
    m, s = next((m, s) for limit, m, s in _BM25_SIGMOID if n_terms <= limit)
    x = np.asarray(scores, dtype=np.float64)
    return 1.0 / (1.0 + np.exp(-s * (x - m)))


_BM25_SIGMOID = ((3, 5.0, 0.7), (6, 7.0, 0.6), (9, 9.0, 0.5), (15, 10.0, 0.5), (float("inf"), 12.0, 0.5))


def entity_spread(n_linked) -> np.ndarray:
    """mem0's spread attenuation of an entity linked to ``n_linked`` memories: 1 / (1 + 0.001 (n - 1)^2).

    An entity every memory shares boosts none of them much. Returns values in (0, 1] (1 for n <= 1).
    """
    n = np.maximum(np.asarray(n_linked, dtype=np.float64), 1.0)
    return 1.0 / (1.0 + 0.001 * (n - 1.0) ** 2)


def minmax(x) -> tuple[np.ndarray, float, float]:
    """Min-max normalisation to [0, 1] (Generative Agents, Park et al. 2023, normalise each score this way).

    Returns (normalised, min, max); see :func:`minmax_scale` for how values are mapped.
    """
    a = np.asarray(x, dtype=np.float64)
    lo, hi = (float(a.min()), float(a.max())) if a.size else (0.0, 0.0)
    return minmax_scale(a, lo, hi), lo, hi


def minmax_scale(x, lo: float, hi: float) -> np.ndarray:
    """(x - lo) / (hi - lo), clipped to [0, 1] (values from outside the pool that set lo and hi are clipped).

    When hi == lo the signal does not vary: values > 0 map to 1 and others to 0 (a modelling choice: a
    constant signal neither helps nor hurts, but a present one still counts).
    """
    a = np.asarray(x, dtype=np.float64)
    if hi > lo:
        return np.clip((a - lo) / (hi - lo), 0.0, 1.0)
    return np.where(a > 0, 1.0, 0.0)


def validate_weights(weights: Mapping[str, float]) -> dict[str, float]:
    """Check weights: known component names, finite, >= 0, not all zero. Returns a full dict (missing = 0)."""
    unknown = set(weights) - set(COMPONENTS)
    if unknown:
        raise ConfigError(f"unknown score component(s) {sorted(unknown)}; known: {', '.join(COMPONENTS)}")
    full = {c: float(weights.get(c, 0.0)) for c in COMPONENTS}
    if any(not np.isfinite(w) or w < 0 for w in full.values()):
        raise ConfigError(f"weights must be finite and >= 0, got {full}")
    if sum(full.values()) <= 0:
        raise ConfigError("at least one score component needs a positive weight")
    return full


def combine(components: Mapping[str, np.ndarray], weights: Mapping[str, float]) -> np.ndarray:
    """Final score = sum_c w_c * x_c / sum_c w_c: a weighted mean, so it stays in [0, 1] like its parts."""
    w = validate_weights(weights)
    total = sum(w.values())
    n = len(next(iter(components.values()))) if components else 0
    score = np.zeros(n)
    for name, weight in w.items():
        if weight:
            score += weight * np.asarray(components[name], dtype=np.float64)
    return score / total
