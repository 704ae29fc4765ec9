import numpy as np
import pytest

from memviz import scoring
from memviz.errors import ConfigError


def test_rrf_hand_computed():
    fused = scoring.rrf([["a", "b", "c"], ["c", "a"]], k=60)
    assert fused["a"] == pytest.approx(1 / 61 + 1 / 62)
    assert fused["b"] == pytest.approx(1 / 62)
    assert fused["c"] == pytest.approx(1 / 63 + 1 / 61)
    assert max(fused, key=fused.get) == "a"


def test_recency_generative_agents():
    assert np.allclose(scoring.recency([0, 1, 100]), [1.0, 0.995, 0.995**100])


def test_squash_bm25():
    assert np.allclose(scoring.squash_bm25([2.0, 1.0, 0.0]), [1.0, 0.5, 0.0])
    assert np.allclose(scoring.squash_bm25([]), [])


def test_combine_is_a_weighted_mean():
    comps = {c: np.zeros(2) for c in scoring.COMPONENTS}
    comps["relevance"] = np.array([1.0, 0.0])
    comps["importance"] = np.array([0.0, 1.0])
    s = scoring.combine(comps, {"relevance": 3, "importance": 1})
    assert np.allclose(s, [0.75, 0.25])


@pytest.mark.parametrize("weights", [{"bogus": 1}, {"relevance": -1}, {"relevance": 0}, {"relevance": float("nan")}])
def test_bad_weights(weights):
    with pytest.raises(ConfigError):
        scoring.validate_weights(weights)
