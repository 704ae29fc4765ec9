"""Retrieval metrics of the LoCoMo and LongMemEval protocols, vectorised over the cut-offs k.

Every function works on *gold ranks*: the 1-based rank of each gold item in a ranking, ``inf`` when the
ranking does not contain it (:func:`gold_ranks`). Values are in [0, 1].

- LoCoMo (Maharana et al., ACL 2024, Table 3): recall@k = the share of a question's evidence items in the
  top k (:func:`recall_at`).
- LongMemEval (Wu et al., ICLR 2025; ``src/retrieval/eval_utils.py``): recall_any@k = 1 if any gold item is
  in the top k, recall_all@k = 1 if all are, ndcg_any@k with binary relevance and its DCG, which does not
  discount the first *two* positions: DCG = rel_1 + sum_{p >= 2} rel_p / log2(p) (:func:`ndcg_any_at`).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence

import numpy as np


def gold_ranks(ranked: Sequence[str], gold: Collection[str]) -> np.ndarray:
    """The 1-based rank of each gold item (in ``gold``'s order) in ``ranked``; ``inf`` if absent. Shape (g,)."""
    pos = {item: n for n, item in enumerate(ranked, 1)}
    return np.array([pos.get(g, np.inf) for g in gold], dtype=np.float64)


def dedupe(ranked: Sequence[str]) -> list[str]:
    """``ranked`` with repeats removed, first occurrence kept (sessions ranked by their best turn)."""
    return list(dict.fromkeys(ranked))


def _ks(ks: Sequence[int]) -> np.ndarray:
    return np.asarray(list(ks), dtype=np.float64)


def recall_at(ranks: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """LoCoMo recall@k for each k: the share of gold items ranked <= k. Shape (len(ks),). Needs >= 1 gold."""
    return (np.asarray(ranks)[:, None] <= _ks(ks)[None, :]).mean(axis=0)


def recall_any_at(ranks: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """LongMemEval recall_any@k for each k: 1.0 if any gold item is ranked <= k, else 0.0."""
    return np.asarray((np.asarray(ranks)[:, None] <= _ks(ks)[None, :]).any(axis=0), dtype=np.float64)


def recall_all_at(ranks: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """LongMemEval recall_all@k for each k: 1.0 if every gold item is ranked <= k, else 0.0."""
    return np.asarray((np.asarray(ranks)[:, None] <= _ks(ks)[None, :]).all(axis=0), dtype=np.float64)


def _discount(positions: np.ndarray) -> np.ndarray:
    """LongMemEval's DCG discount of 1-based positions: 1 at position 1, 1 / log2(p) from position 2 on."""
    p = np.asarray(positions, dtype=np.float64)
    with np.errstate(divide="ignore"):
        return np.where(p <= 1, 1.0, 1.0 / np.log2(np.maximum(p, 2.0)))


def ndcg_any_at(ranks: np.ndarray, ks: Sequence[int]) -> np.ndarray:
    """LongMemEval ndcg_any@k for each k with binary relevance: DCG of the gold items in the top k over the
    DCG of the ideal ranking (all gold items first). 0 when there is no gold item."""
    ranks = np.asarray(ranks, dtype=np.float64)
    k = _ks(ks)
    if ranks.size == 0:
        return np.zeros(len(k))
    found = np.where(np.isfinite(ranks), ranks, 0.0)
    inside = ranks[:, None] <= k[None, :]
    dcg = (inside * _discount(found)[:, None]).sum(axis=0)
    ideal_disc = np.cumsum(_discount(np.arange(1, ranks.size + 1)))
    ideal = ideal_disc[np.minimum(k, ranks.size).astype(int) - 1]
    return dcg / ideal


def mean_metrics(rows: Sequence[Mapping[str, float]]) -> dict[str, float]:
    """The mean of each metric over the ``rows`` that have it (keys in first-seen order); {} for no rows. A row
    may lack a metric it has no value for (``recall@k_audited`` of a question the audit leaves without gold)."""
    keys = list(dict.fromkeys(k for r in rows for k in r))
    return {k: float(np.mean([r[k] for r in rows if k in r])) for k in keys}


__all__ = [
    "dedupe",
    "gold_ranks",
    "mean_metrics",
    "ndcg_any_at",
    "recall_all_at",
    "recall_any_at",
    "recall_at",
]
