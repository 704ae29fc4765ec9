"""Cache policies keep exactly the right positions; masked forward passes on a tiny random Llama."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.attention.capture import capture_token_ids
from memviz.attention.kvcache import (
    KVSimulation,
    h2o_keep_mask,
    keep_mask,
    masked_nll,
    policy_losses,
    retained_share,
    simulate_cache,
    validate_policy_args,
)
from memviz.errors import ConfigError


def kept(mask: np.ndarray, i: int) -> list[int]:
    return np.nonzero(mask[i])[0].tolist()


def test_full_is_causal():
    m = keep_mask("full", 6, budget=3)
    assert np.array_equal(m, np.tril(np.ones((6, 6), dtype=bool)))


def test_window_keeps_the_last_budget_tokens():
    m = keep_mask("window", 10, budget=4)
    assert kept(m, 9) == [6, 7, 8, 9]
    assert kept(m, 4) == [1, 2, 3, 4]
    assert kept(m, 2) == [0, 1, 2]  # not full yet
    assert m.sum(1).max() == 4 and m.diagonal().all()


def test_streaming_keeps_sinks_plus_window():
    m = keep_mask("streaming", 10, budget=5, n_sink=2)
    assert kept(m, 9) == [0, 1, 7, 8, 9]
    assert kept(m, 5) == [0, 1, 3, 4, 5]
    assert kept(m, 4) == [0, 1, 2, 3, 4]
    assert m.sum(1).max() == 5 and m.diagonal().all()
    # with no sink tokens StreamingLLM is the sliding window
    assert np.array_equal(keep_mask("streaming", 10, 5, n_sink=0), keep_mask("window", 10, 5))


def h2o_reference(att: np.ndarray, budget: int, n_recent: int) -> np.ndarray:
    """Plain per-head H2O, written independently: (n, n) keep mask of one head."""
    n = att.shape[0]
    cache: list[int] = []
    score: dict[int, float] = {}
    keep = np.zeros((n, n), dtype=bool)
    for i in range(n):
        cache.append(i)
        score[i] = 0.0
        keep[i, cache] = True
        w = att[i, cache] / att[i, cache].sum()
        for j, v in zip(cache, w, strict=True):
            score[j] += float(v)
        if len(cache) >= budget:
            cands = [j for j in cache if j <= i + 1 - n_recent]
            if cands:
                victim = min(cands, key=lambda j: (score[j], j))
                cache.remove(victim)
    return keep


def random_causal(rng, shape) -> np.ndarray:
    n = shape[-1]
    a = rng.random(shape) ** 4 * np.tril(np.ones((n, n)))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


@pytest.mark.parametrize("budget,n_recent", [(4, 2), (5, 1), (6, 6), (3, 2)])
def test_h2o_matches_a_plain_reference(budget, n_recent):
    rng = np.random.default_rng(budget * 10 + n_recent)
    att = random_causal(rng, (2, 3, 14, 14))
    got = h2o_keep_mask(att, budget, n_recent)
    assert got.shape == (2, 3, 14, 14)
    for layer in range(2):
        for h in range(3):
            assert np.array_equal(got[layer, h], h2o_reference(att[layer, h].astype(np.float64), budget, n_recent))
    assert got.sum(-1).max() <= budget
    assert np.all(got[..., np.arange(14), np.arange(14)])
    assert not np.any(np.triu(got, 1))


def test_h2o_keeps_a_heavy_hitter_and_the_recent_tokens():
    n = 12
    att = np.tril(np.ones((n, n)))
    att[:, 3] *= 50  # every query that sees token 3 attends to it heavily
    att = att * np.tril(np.ones((n, n)))
    att = (att / att.sum(-1, keepdims=True))[None, None]
    m = h2o_keep_mask(att, budget=4, n_recent=2)[0, 0]
    # two heavy-hitter slots: token 3, and token 0, which the first queries gave everything before token 3
    # existed (so H2O keeps the first token, the sink, by itself); two recent slots: tokens 10 and 11
    assert kept(m, 11) == [0, 3, 10, 11]
    assert all(3 in kept(m, i) for i in range(3, n))


def test_retained_share():
    rng = np.random.default_rng(0)
    att = random_causal(rng, (2, 2, 10, 10))
    np.testing.assert_allclose(retained_share(att, keep_mask("full", 10, 4), 4), 1.0, rtol=1e-6)
    w = retained_share(att, keep_mask("window", 10, 4), 4)
    assert w.shape == (2,) and np.all(w < 1) and np.all(w > 0)
    expected = (att[:, :, 4:, :] * keep_mask("window", 10, 4)[4:]).sum(-1).mean(axis=(1, 2))
    np.testing.assert_allclose(w, expected, rtol=1e-6)
    np.testing.assert_allclose(retained_share(att, keep_mask("window", 10, 20), 20), 1.0)


@pytest.mark.parametrize("args", [(1, 0, None), (4, 4, None), (4, -1, None), (4, 1, 0), (4, 1, 5)])
def test_invalid_settings(args):
    with pytest.raises(ConfigError):
        validate_policy_args(*args)


def test_unknown_policy():
    with pytest.raises(ConfigError):
        keep_mask("lru", 5, 3)


def test_masked_forward_on_tiny_llama(tiny_llama):
    ids = np.arange(1, 25) % 60
    cap = capture_token_ids(tiny_llama, ids)
    full = masked_nll(tiny_llama, ids, None)
    assert full.shape == (23,) and np.all(np.isfinite(full))
    # the full policy through the hooks reproduces the model's own causal mask
    np.testing.assert_allclose(masked_nll(tiny_llama, ids, keep_mask("full", 24, 4)), full, atol=1e-5)
    win = masked_nll(tiny_llama, ids, keep_mask("window", 24, 4))
    assert np.allclose(win[:3], full[:3], atol=1e-5)  # before the cache is full nothing changes
    assert not np.allclose(win[4:], full[4:], atol=1e-4)
    # hooks are gone afterwards
    assert all(len(layer.self_attn._forward_pre_hooks) == 0 for layer in tiny_llama.model.model.layers)
    np.testing.assert_allclose(masked_nll(tiny_llama, ids, None), full, atol=1e-6)

    sim = simulate_cache(cap, budget=6, n_sink=2)
    assert isinstance(sim, KVSimulation)
    assert sim.keep["h2o"].shape == (3, 4, 24, 24) and sim.keep["window"].shape == (24, 24)
    assert sim.timeline("h2o").shape == (24, 24) and sim.timeline("h2o", 1, 2).max() == 1.0
    losses = policy_losses(tiny_llama, cap, sim)
    assert set(losses) == {"full", "window", "streaming", "h2o"}
    assert losses["full"].ppl == pytest.approx(float(np.exp(full.mean())), rel=1e-5)
    assert losses["window"].ppl_evicted is not None


def test_per_head_mask_matches_shared_mask(tiny_llama):
    ids = np.arange(3, 23) % 60
    shared = keep_mask("streaming", 20, 6, n_sink=2)
    per_head = np.broadcast_to(shared, (3, 4, 20, 20))
    np.testing.assert_allclose(masked_nll(tiny_llama, ids, per_head), masked_nll(tiny_llama, ids, shared), atol=1e-5)
    with pytest.raises(ConfigError):
        masked_nll(tiny_llama, ids, np.ones((5, 5), dtype=bool))


def test_encoder_capture_is_rejected(tiny_llama):
    cap = capture_token_ids(tiny_llama, np.arange(1, 9))
    object.__setattr__(cap, "causal", False)
    with pytest.raises(ConfigError):
        simulate_cache(cap, budget=4)
