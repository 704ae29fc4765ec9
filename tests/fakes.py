"""A deterministic fake embedder: a test seam for the fast unit tier, never used by the product.

``FakeEmbedder`` implements :class:`memviz.embed.Embedder` (384-d, float32, L2-normalised rows) by hashing
lower-cased word unigrams and character trigrams into 384 signed buckets. Texts that share words get a positive
cosine, identical texts identical vectors, and the vectors are the same in every process (the hash is CRC-32,
not Python's salted ``hash``), so a store written by one process can be queried by another. It knows nothing
of meaning: a test whose assertion needs the real model's semantics (paraphrases, evaluation numbers) uses the
``real_embedder`` fixture and is marked ``slow``.

``install_fake_model()`` replaces ``memviz.embed.MiniLMEmbedder`` by ``FakeEmbedder`` in this process, for code
that builds its own embedder (``open_engine`` of the app and the CLI); ``python tests/fakes.py ARGS`` runs the
``memviz`` CLI that way in a subprocess.
"""

from __future__ import annotations

import re
import sys
import zlib
from functools import lru_cache

import numpy as np

DIM = 384
_WORD = re.compile(r"\w+")
# Fixtures that load a real model, and the marks of the tests that may use them (and get the real MiniLMEmbedder).
REAL_MODEL_FIXTURES = {"real_embedder", "minilm", "smollm2"}
REAL_MODEL_MARKS = ("slow", "browser")
_WORD_WEIGHT = 1.0
_TRIGRAM_WEIGHT = 0.5


@lru_cache(maxsize=200_000)
def _bucket(feature: str) -> tuple[int, float]:
    """(bucket, sign) of one feature, stable across processes and runs."""
    h = zlib.crc32(feature.encode("utf-8"))
    return h % DIM, (1.0 if (h >> 16) & 1 else -1.0)


def _features(text: str) -> list[tuple[str, float]]:
    words = _WORD.findall(text.lower())
    feats = [("w:" + w, _WORD_WEIGHT) for w in words]
    for w in words:
        padded = f" {w} "
        feats.extend(("c:" + padded[i : i + 3], _TRIGRAM_WEIGHT) for i in range(len(padded) - 2))
    return feats or [("empty:", 1.0)]  # no word at all (empty, punctuation only): still a unit vector


class FakeEmbedder:
    """Hashed word unigrams + character trigrams (lower-cased) in 384 signed buckets, rows L2-normalised.

    Accepts (and ignores) the constructor arguments of ``MiniLMEmbedder`` so that it can stand in for it, and
    bears its name: the stores the fast tier makes record the default embedder, as the app's and the CLI's do
    (a store refuses an engine whose embedder has another name, memviz.errors.EmbedderMismatchError)."""

    dim = DIM
    name = "all-MiniLM-L6-v2"

    def __init__(self, batch_size: int = 64, device: str = "cpu"):
        self.batch_size = batch_size
        self.device = device

    def encode(self, texts: list[str]) -> np.ndarray:
        out = np.zeros((len(texts), DIM), dtype=np.float32)
        for row, text in enumerate(texts):
            for feature, weight in _features(str(text)):
                b, sign = _bucket(feature)
                out[row, b] += sign * weight
        norms = np.linalg.norm(out, axis=1, keepdims=True)
        norms[norms == 0] = 1.0  # features that cancel out exactly: leave the (zero) row as it is
        out /= norms
        zero = ~out.any(axis=1)
        if zero.any():  # keep every row unit-norm, as the protocol promises
            out[zero, 0] = 1.0
        return out


def uses_real_models(item) -> bool:
    """Whether the pytest test ``item`` may load real models (it is marked slow or browser)."""
    return any(item.get_closest_marker(m) for m in REAL_MODEL_MARKS)


def install_fake_model(monkeypatch=None) -> None:
    """Make ``memviz.embed.MiniLMEmbedder`` the fake (through ``monkeypatch`` when given, so it is undone)."""
    import memviz.embed

    if monkeypatch is not None:
        monkeypatch.setattr(memviz.embed, "MiniLMEmbedder", FakeEmbedder)
    else:
        memviz.embed.MiniLMEmbedder = FakeEmbedder


def main() -> None:
    """``python tests/fakes.py ARGS``: ``memviz ARGS`` with the fake embedder (for subprocess tests)."""
    install_fake_model()
    from memviz.cli import main as cli_main

    sys.argv[0] = "memviz"
    cli_main()


if __name__ == "__main__":
    main()
