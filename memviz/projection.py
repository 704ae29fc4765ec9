"""The embedding map: a 2-D projection of the stored memory vectors, into which queries can be placed.

Principal component analysis: linear, so a query lands exactly where its vector projects (no approximation),
deterministic, and fast (~0.03 s for 5,000 x 384 on one CPU core). Non-linear maps (UMAP, t-SNE) separate
clusters better but took 55-85 s for 4,000 LoCoMo vectors on this project's 2-core machines, and t-SNE cannot
place a new point: see docs/graph_and_decay.md.

The PCA is numpy's symmetric eigensolver (LAPACK ``syevd``) on the d x d covariance, what scikit-learn's
``PCA(svd_solver="covariance_eigh")`` computes, with its sign convention (each axis's largest loading
positive; tests/test_projection.py checks the two agree). Importing scikit-learn took 0.6 s of the Graph page's
first render, which needs nothing else of it.
"""

from __future__ import annotations

from dataclasses import dataclass

import numpy as np
from threadpoolctl import threadpool_limits

from memviz.errors import ConfigError

FIT_ROWS = 20_000  # at most this many vectors fit the map's axes


@dataclass(frozen=True)
class Projection:
    """A fitted 2-D map of memory vectors.

    ``ids`` (n,) and ``coords`` (float64, shape (n, 2)) are the projected memories, in the order given;
    ``explained`` is the share of the vectors' variance each axis explains (two values in [0, 1]); ``mean``
    (float32, shape (d,)) and ``axes`` (float32, shape (2, d), unit rows) place any vector:
    ``(v - mean) @ axes.T``.
    """

    ids: list[str]
    coords: np.ndarray
    explained: tuple[float, float]
    mean: np.ndarray
    axes: np.ndarray

    def transform(self, vectors: np.ndarray) -> np.ndarray:
        """Place vectors (shape (m, d), the same dimension as the fitted ones) on the map: shape (m, 2).
        Raises ConfigError for a wrong dimension."""
        v = np.atleast_2d(np.asarray(vectors, dtype=np.float32))
        if v.shape[1] != self.axes.shape[1]:
            raise ConfigError(
                f"vectors of dimension {v.shape[1]} cannot be placed on a map of "
                f"{self.axes.shape[1]}-dimensional vectors"
            )
        return ((v - self.mean) @ self.axes.T).astype(np.float64)


def fit_projection(ids: list[str], vectors: np.ndarray) -> Projection:
    """Fit the 2-D map of ``vectors`` (shape (n, d), n >= 3, one row per id; above :data:`FIT_ROWS`, its axes
    are fitted on every k-th row, ``k = ceil(n / FIT_ROWS)``, and every vector is placed). Deterministic.

    Raises ConfigError when there are fewer than 3 vectors or the shapes disagree.
    """
    vectors = np.asarray(vectors, dtype=np.float32)
    if vectors.ndim != 2 or len(ids) != len(vectors):
        raise ConfigError(f"{len(ids)} ids for vectors of shape {vectors.shape}")
    if len(ids) < 3:
        raise ConfigError(f"the embedding map needs at least 3 memories, the store has {len(ids)}")
    # The covariance route (a d x d eigenproblem) is exact and ~6x faster than a full SVD when n >> d. One BLAS
    # thread: the problem is small, and on a busy 2-core machine BLAS threads spinning for a core cost seconds.
    # Above FIT_ROWS vectors the axes are fitted on evenly spaced rows (every vector is still placed): the two
    # leading axes of 20,000 of them are those of all, and the fit took 0.6 of the Graph page's first 3.7
    # CPU-s at 100k memories (docs/performance.md).
    sample = vectors[:: -(-len(vectors) // FIT_ROWS)]
    with threadpool_limits(1, user_api="blas"):
        mean = sample.mean(axis=0)
        centred = sample - mean
        cov = (centred.T @ centred).astype(np.float64) / (len(sample) - 1)
        values, vecs = np.linalg.eigh(cov)  # ascending
        axes = vecs[:, ::-1][:, :2].T  # (2, d): the two largest
        axes *= np.sign(axes[np.arange(2), np.abs(axes).argmax(axis=1)])[:, None]  # largest loading positive
        axes = axes.astype(np.float32)
        coords = ((vectors - mean) @ axes.T).astype(np.float64)
    total = float(values.clip(min=0).sum())
    explained = values[::-1][:2].clip(min=0) / total if total > 0 else np.zeros(2)
    return Projection(list(ids), coords, (float(explained[0]), float(explained[1])), mean, axes)
