"""Sink metrics on hand-made attention arrays with known answers (no model)."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.attention.metrics import (
    analyze_sinks,
    gu_sink_metric,
    layer_ranges,
    received_attention,
    uniform_first_token_share,
    visible_counts,
)
from memviz.errors import ConfigError


def causal_uniform(n: int) -> np.ndarray:
    """(n, n): query i spreads its attention evenly over keys 0..i."""
    return np.tril(np.ones((n, n))) / np.arange(1, n + 1)[:, None]


def onehot_rows(n: int, j: int) -> np.ndarray:
    """(n, n): every query that can see key j puts all its attention on it (others: on themselves)."""
    a = np.eye(n)
    a[j:, :] = 0.0
    a[j:, j] = 1.0
    return a


def hand_made(n: int = 12) -> np.ndarray:
    """4 layers x 4 heads, causal. Layer 0 uniform; layers 1-3: half of every row on token 0 (primary sink);
    layer 2, heads 0-1: half of each row of the queries that see token 5 on it (a secondary sink)."""
    u = causal_uniform(n)
    att = np.zeros((4, 4, n, n))
    att[0] = u
    for layer in (1, 2, 3):
        att[layer] = 0.5 * u + 0.5 * onehot_rows(n, 0)
    for h in (0, 1):
        rows = np.arange(n) >= 5
        mixed = 0.5 * u + 0.5 * onehot_rows(n, 0)
        mixed[rows] = 0.25 * u[rows] + 0.25 * onehot_rows(n, 0)[rows] + 0.5 * onehot_rows(n, 5)[rows]
        att[2, h] = mixed
    return att.astype(np.float32)


def test_visible_counts():
    assert visible_counts(5, 5, causal=True).tolist() == [5, 4, 3, 2, 1]
    assert visible_counts(5, 5, causal=False).tolist() == [5] * 5


def test_hand_made_rows_are_distributions():
    att = hand_made()
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-6)
    assert np.all(np.triu(att, k=1) == 0)


def test_received_attention_known_values():
    n = 6
    att = np.broadcast_to(onehot_rows(n, 0), (1, 1, n, n))
    rec = received_attention(att, causal=True)
    assert rec.shape == (1, 1, n)
    np.testing.assert_allclose(rec[0, 0], [1, 0, 0, 0, 0, 0], atol=1e-7)
    # uniform causal attention: token 0 gets H_n / n, the last token 1 / n from its single query
    rec = received_attention(causal_uniform(n)[None, None], causal=True)[0, 0]
    assert rec[0] == pytest.approx(uniform_first_token_share(n, causal=True))
    assert rec[-1] == pytest.approx(1 / n)


def test_uniform_share():
    assert uniform_first_token_share(1, True) == 1.0
    assert uniform_first_token_share(4, True) == pytest.approx((1 + 1 / 2 + 1 / 3 + 1 / 4) / 4)
    assert uniform_first_token_share(512, True) == pytest.approx(0.01328, abs=1e-4)
    assert uniform_first_token_share(20, False) == 0.05
    with pytest.raises(ConfigError):
        uniform_first_token_share(0, True)


def test_sink_table_primary_and_secondary():
    att = hand_made(12)
    tokens = [f"t{i}" for i in range(12)]
    an = analyze_sinks(att, causal=True, tokens=tokens)
    # layer 0 is uniform: H_12 / 12 = 0.259 < 0.3, so no sink there
    assert an.sink_mask[0].sum() == 0
    assert an.sink_mask[1:, 0].all()
    assert an.sink_mask[:, 5].tolist() == [False, False, True, False]
    assert an.gu_first_token == pytest.approx(12 / 16)  # 3 layers x 4 heads of 16
    assert gu_sink_metric(an.received, 0.3, 0) == pytest.approx(0.75)
    assert an.heads_with_sink_share.tolist() == [0.0, 1.0, 1.0, 1.0]
    assert an.head_share[2, 5] == pytest.approx(0.5)
    np.testing.assert_allclose(an.first_token_share, an.received_mean[:, 0])
    np.testing.assert_allclose(an.uniform_share, uniform_first_token_share(12, True))
    rows = {r["position"]: r for r in an.sinks}
    assert set(rows) == {0, 5}
    assert rows[0]["kind"] == "primary" and rows[0]["layers"] == "1-3" and rows[0]["lifetime"] == 3
    assert rows[0]["token"] == "t0" and rows[0]["first_layer"] == 1 and rows[0]["last_layer"] == 3
    assert rows[5]["kind"] == "secondary" and rows[5]["layers"] == "2" and rows[5]["lifetime"] == 1
    # token 0 in layers 1-3: every query gives it at least 0.5
    assert rows[0]["score"] > 0.5
    assert an.sinks[0]["position"] == 0  # primary first
    assert rows[0]["hidden_norm"] is None


def test_late_keys_seen_by_few_queries_are_not_sinks():
    n = 12
    att = np.eye(n)[None, None].astype(np.float32)  # every query attends only to itself
    an = analyze_sinks(att, causal=True)
    assert an.received[0, 0, -1] == 1.0  # the last key's only query gives it everything ...
    assert not an.sink_mask[0, -2:].any()  # ... but 1-2 queries (fewer than min_visible) are too few
    assert an.min_visible == 3


def test_bidirectional_cls_sink_and_norms():
    n = 8
    att = np.full((2, 3, n, n), 0.3 / (n - 1), dtype=np.float32)
    att[..., 0] = 0.7  # every query gives 0.7 to [CLS]
    np.testing.assert_allclose(att.sum(-1), 1.0, atol=1e-6)
    norms = np.ones((2, n), dtype=np.float32)
    norms[:, 0] = 10.0
    an = analyze_sinks(att, causal=False, tokens=["[CLS]"] + ["w"] * (n - 1), hidden_norms=norms, mlp_norms=norms)
    assert an.uniform_share[0] == pytest.approx(1 / n)
    assert [r["position"] for r in an.sinks] == [0]
    r = an.sinks[0]
    assert r["kind"] == "primary" and r["lifetime"] == 2 and r["score"] == pytest.approx(0.7)
    assert r["hidden_norm"] == pytest.approx(10.0) and r["hidden_norm_ratio"] == pytest.approx(10.0)
    assert r["mlp_norm_ratio"] is None  # a sink from layer 0 on has no earlier MLP


def test_thresholds_change_the_answer():
    att = hand_made(12)
    assert analyze_sinks(att, True, epsilon=0.9).sinks == []
    # requiring every head drops the secondary sink (2 of 4 heads)
    an = analyze_sinks(att, True, min_head_share=1.0)
    assert [r["position"] for r in an.sinks] == [0]


@pytest.mark.parametrize("bad", [{"epsilon": 0}, {"epsilon": 1.5}, {"min_head_share": 0}, {"primary_min_share": 2}])
def test_bad_thresholds(bad):
    with pytest.raises(ConfigError):
        analyze_sinks(hand_made(12), True, **bad)


def test_bad_shapes():
    with pytest.raises(ConfigError):
        analyze_sinks(np.zeros((3, 3)), True)
    with pytest.raises(ConfigError):
        analyze_sinks(hand_made(12), True, tokens=["a"])


def test_layer_ranges():
    assert layer_ranges(np.array([3, 4, 5, 9, 12, 13])) == "3-5, 9, 12-13"
    assert layer_ranges(np.array([], dtype=int)) == ""


def test_engine_imports_stay_light():
    """The engine modules import neither torch/transformers (loaded on first use) nor streamlit."""
    import subprocess
    import sys

    code = (
        "import sys, memviz.attention, memviz.attention.cli, memviz.attention.kvcache, memviz.attention.prompt, "
        "memviz.attention.report, memviz.viz.attention; "
        "print(sorted(m for m in ('torch', 'transformers', 'streamlit') if m in sys.modules))"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"
