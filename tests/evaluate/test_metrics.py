"""The evaluation metrics on tiny rankings with hand-computed values, and against the official formulas."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memviz.evaluate import metrics


def test_gold_ranks_and_dedupe():
    ranked = ["a", "b", "c", "d"]
    assert metrics.gold_ranks(ranked, ["c", "x", "a"]).tolist() == [3.0, math.inf, 1.0]
    assert metrics.dedupe(["s2", "s1", "s2", "s3", "s1"]) == ["s2", "s1", "s3"]


def test_locomo_recall_is_the_share_of_evidence_in_the_top_k():
    ranks = np.array([1.0, 7.0, math.inf])  # three evidence turns: ranked 1st, 7th, never
    assert metrics.recall_at(ranks, (1, 5, 10, 50)).tolist() == pytest.approx([1 / 3, 1 / 3, 2 / 3, 2 / 3])


def test_recall_any_and_all():
    ranks = np.array([2.0, 4.0])
    assert metrics.recall_any_at(ranks, (1, 3, 5)).tolist() == [0.0, 1.0, 1.0]
    assert metrics.recall_all_at(ranks, (1, 3, 5)).tolist() == [0.0, 0.0, 1.0]


def test_ndcg_any_hand_computed():
    # One gold item at rank 3: DCG = 1 / log2(3), ideal DCG = 1.
    assert metrics.ndcg_any_at(np.array([3.0]), (1, 3, 10)).tolist() == pytest.approx(
        [0.0, 1 / math.log2(3), 1 / math.log2(3)]
    )
    # Two gold items at ranks 2 and never: DCG@5 = 1 / log2(2) = 1 (LongMemEval does not discount rank 2),
    # ideal = 1 + 1 = 2.
    assert metrics.ndcg_any_at(np.array([2.0, math.inf]), (1, 5)).tolist() == pytest.approx([0.0, 0.5])
    assert metrics.ndcg_any_at(np.array([1.0, 2.0]), (1, 2)).tolist() == pytest.approx([1.0, 1.0])
    assert metrics.ndcg_any_at(np.array([]), (1, 5)).tolist() == [0.0, 0.0]


def _official(rankings, correct, corpus, k):
    """LongMemEval's src/retrieval/eval_utils.py (dcg, ndcg, evaluate_retrieval), restated as the reference."""

    def dcg(rel, k):
        rel = np.asarray(rel, dtype=float)[:k]
        return rel[0] + np.sum(rel[1:] / np.log2(np.arange(2, rel.size + 1))) if rel.size else 0.0

    relevances = [1 if d in correct else 0 for d in corpus]
    ideal = dcg(sorted(relevances, reverse=True), k)
    actual = dcg([relevances[i] for i in rankings[:k]], k)
    recalled = {corpus[i] for i in rankings[:k]}
    return (
        float(any(d in recalled for d in correct)),
        float(all(d in recalled for d in correct)),
        actual / ideal if ideal else 0.0,
    )


def test_metrics_match_the_official_implementation_on_random_rankings():
    rng = np.random.default_rng(7)
    ks = (1, 3, 5, 10, 30, 50)
    for _ in range(200):
        corpus = [f"s{i}" for i in range(60)]
        gold = list(rng.choice(corpus, size=int(rng.integers(1, 4)), replace=False))
        order = rng.permutation(len(corpus))
        ranked = [corpus[i] for i in order]
        ranks = metrics.gold_ranks(ranked, gold)
        got = np.stack(
            [metrics.recall_any_at(ranks, ks), metrics.recall_all_at(ranks, ks), metrics.ndcg_any_at(ranks, ks)], axis=1
        )
        want = np.array([_official(list(order), gold, corpus, k) for k in ks])
        assert got == pytest.approx(want)


def test_mean_metrics():
    rows = [{"recall@1": 1.0, "recall@5": 1.0}, {"recall@1": 0.0, "recall@5": 0.5}]
    assert metrics.mean_metrics(rows) == {"recall@1": 0.5, "recall@5": 0.75}
    assert metrics.mean_metrics([]) == {}


def test_mean_metrics_leave_a_row_out_of_the_mean_of_a_metric_it_lacks():
    rows = [{"recall@1": 1.0, "recall@1_audited": 0.0}, {"recall@1": 0.0}, {"recall@1": 0.5, "recall@1_audited": 1.0}]
    assert metrics.mean_metrics(rows) == {"recall@1": 0.5, "recall@1_audited": 0.5}
