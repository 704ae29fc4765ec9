"""Recall scoring: named components in [0, 1] and their weighted combination. Pure numpy functions."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np

from memviz.errors import ConfigError

COMPONENTS: tuple[str, ...] = ("relevance", "lexical", "rrf", "recency", "importance", "retention")
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


def squash_bm25(scores) -> np.ndarray:
    """BM25 scores to [0, 1] by dividing by the best score of the query (0 when nothing matched)."""
    s = np.asarray(scores, dtype=np.float64)
    top = s.max(initial=0.0)
    return s / top if top > 0 else np.zeros_like(s)


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
