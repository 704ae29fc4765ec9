"""The embedding map's projection on hand-made vectors."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.errors import ConfigError
from memviz.projection import fit_projection


def test_points_on_two_axes_keep_their_spread_and_order():
    # Vectors spread widely along dimension 0, less along dimension 1, not at all elsewhere.
    v = np.zeros((5, 8), dtype=np.float32)
    v[:, 0] = [-2, -1, 0, 1, 2]
    v[:, 1] = [0.5, -0.5, 0.0, -0.5, 0.5]  # uncorrelated with dimension 0
    p = fit_projection(list("abcde"), v)
    assert p.ids == list("abcde") and p.coords.shape == (5, 2)
    assert p.explained[0] > p.explained[1] > 0 and sum(p.explained) == pytest.approx(1.0)
    # The first axis is dimension 0 (up to sign): distances along it are preserved.
    assert np.abs(p.coords[:, 0]) == pytest.approx(np.abs(v[:, 0]), abs=1e-5)
    assert np.abs(p.coords[:, 1]) == pytest.approx(np.abs(v[:, 1]), abs=1e-5)


def test_transform_places_a_query_where_its_vector_projects():
    rng = np.random.default_rng(0)
    v = rng.normal(size=(50, 16)).astype(np.float32)
    p = fit_projection([str(i) for i in range(50)], v)
    assert p.transform(v[7]) == pytest.approx(p.coords[7:8], abs=1e-5)
    mid = p.transform((v[3] + v[4]) / 2)[0]
    assert mid == pytest.approx((p.coords[3] + p.coords[4]) / 2, abs=1e-5)  # the map is linear
    with pytest.raises(ConfigError):
        p.transform(np.zeros(15))


def test_deterministic_and_errors():
    rng = np.random.default_rng(1)
    v = rng.normal(size=(20, 8))
    ids = [str(i) for i in range(20)]
    assert np.array_equal(fit_projection(ids, v).coords, fit_projection(ids, v).coords)
    with pytest.raises(ConfigError):
        fit_projection(["a", "b"], v[:2])
    with pytest.raises(ConfigError):
        fit_projection(ids[:3], v)


def test_a_large_store_is_mapped_on_axes_fitted_to_a_sample_of_it(monkeypatch):
    import memviz.projection as mp

    rng = np.random.default_rng(2)
    scale = np.r_[5.0, 2.0, np.full(14, 0.3)]  # two leading axes: dimensions 0 and 1
    v = (rng.normal(size=(600, 16)) * scale).astype(np.float32)
    ids = [str(i) for i in range(600)]
    full = fit_projection(ids, v)
    monkeypatch.setattr(mp, "FIT_ROWS", 100)
    sampled = fit_projection(ids, v)
    assert sampled.coords.shape == (600, 2)  # every vector is placed
    for axis in range(2):  # the same axes (up to sign), so the same map up to a small shift
        cos = abs(float(sampled.axes[axis] @ full.axes[axis]))
        assert cos > 0.98


def test_the_same_map_as_scikit_learns_pca():
    from sklearn.decomposition import PCA

    rng = np.random.default_rng(3)
    v = (rng.normal(size=(400, 32)) * np.linspace(3, 0.1, 32)).astype(np.float32)
    p = fit_projection([str(i) for i in range(400)], v)
    ref = PCA(n_components=2, svd_solver="covariance_eigh").fit(v)
    np.testing.assert_allclose(p.coords, ref.transform(v), atol=1e-4)  # signs included
    np.testing.assert_allclose(p.explained, ref.explained_variance_ratio_, rtol=1e-5)
    np.testing.assert_allclose(p.transform(v[:5] * 2), ref.transform(v[:5] * 2), atol=1e-4)
