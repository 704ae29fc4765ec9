"""An optional reranking stage: a sentence-transformers ``CrossEncoder`` reads the query with each of a recall's
best candidates and orders them by its score.

A cross-encoder sees the query and the memory together (one transformer pass per pair), which a bi-encoder's
two vectors cannot (Nogueira and Cho, "Passage Re-ranking with BERT", 2019). It costs one pass per candidate, so
it runs only when configured (:attr:`memviz.engine.MemoryEngine.reranker`), over the ``top`` best scored
candidates. No cross-encoder is packaged for offline use: give a model folder (or a hub id already in the local
Hugging Face cache).
"""

from __future__ import annotations

from typing import Protocol

import numpy as np

from memviz import embed

RERANK_TOP = 50  # candidates a reranker reads (the default preset's candidate count)


class Reranker(Protocol):
    name: str

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        """Relevance of each of ``texts`` to ``query``: float64 of shape (len(texts),), in [0, 1]."""
        ...


class CrossEncoderReranker:
    """A sentence-transformers CrossEncoder by folder or hub id (``spec``), loaded once per process on the CPU
    with the hub offline. Scores are the model's output through a logistic (sigmoid) so that they are in
    [0, 1] whatever the model's head; the order is the model's. Raises ModelNotAvailableError naming a model
    that is not on this machine."""

    def __init__(self, spec: str, batch_size: int = 32, device: str = "cpu"):
        self.source = embed.model_source(spec.strip())
        self.name = self.source
        self.batch_size = batch_size
        self.device = device

    @property
    def model(self):
        return embed.load_model(self.source, self.device, "cross-encoder")

    def score(self, query: str, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros(0)
        import torch

        raw = self.model.predict(
            [(query, t) for t in texts],
            batch_size=self.batch_size,
            activation_fn=torch.nn.Identity(),
            show_progress_bar=False,
            convert_to_numpy=True,
        )
        raw = np.asarray(raw, dtype=np.float64).reshape(len(texts), -1)[:, -1]
        return 1.0 / (1.0 + np.exp(-raw))


def make_reranker(spec: str | None) -> CrossEncoderReranker | None:
    """The reranker named by ``spec`` (a CrossEncoder folder or cached hub id), loaded now so that a missing
    model is a ModelNotAvailableError naming it before anything runs; None for no spec (no reranking)."""
    if not (spec or "").strip():
        return None
    rr = CrossEncoderReranker(str(spec))
    _ = rr.model
    return rr


__all__ = ["RERANK_TOP", "CrossEncoderReranker", "Reranker", "make_reranker"]
