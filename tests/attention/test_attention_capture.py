"""Capture shapes and row sums on a tiny randomly initialised Llama (no weights needed)."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.attention.capture import capture_token_ids, layer_modules, token_limit
from memviz.attention.metrics import analyze_sinks
from memviz.attention.models import resolve_model_name
from memviz.errors import ConfigError, EmptyTextError

from attention_support import make_tiny_llama


def test_shapes_and_row_sums(tiny_llama):
    ids = np.arange(5, 22)
    cap = capture_token_ids(tiny_llama, ids)
    n = ids.size
    assert cap.attentions.shape == (3, 4, n, n)
    assert (cap.n_layers, cap.n_heads, cap.n_tokens) == (3, 4, n)
    assert cap.attentions.dtype == np.float32
    np.testing.assert_allclose(cap.attentions.sum(-1), 1.0, atol=1e-5)
    assert np.all(np.triu(cap.attentions, 1) == 0)  # causal
    assert cap.hidden_norms.shape == (3, n) and np.all(cap.hidden_norms > 0)
    assert cap.mlp_norms is not None and cap.mlp_norms.shape == (3, n)
    assert cap.tokens == [str(i) for i in ids] and not cap.truncated
    an = analyze_sinks(cap.attentions, cap.causal, cap.tokens, hidden_norms=cap.hidden_norms)
    assert an.received.shape == (3, 4, n) and an.received_mean.shape == (3, n)
    assert an.first_token_share.shape == (3,)


def test_layer_modules(tiny_llama):
    assert len(layer_modules(tiny_llama.model)) == 3


def test_sdpa_model_is_refused():
    sdpa = make_tiny_llama("sdpa", n_layers=1)
    try:
        cap = capture_token_ids(sdpa, np.arange(1, 6))
    except ConfigError as e:
        assert "eager" in str(e)
    else:  # some transformers versions fall back to eager when attentions are requested
        np.testing.assert_allclose(cap.attentions.sum(-1), 1.0, atol=1e-5)


def test_empty_input(tiny_llama):
    with pytest.raises(EmptyTextError):
        capture_token_ids(tiny_llama, np.array([], dtype=np.int64))


def test_token_limit(tiny_llama):
    assert token_limit(tiny_llama, None) == 128  # default 512, bounded by the model's 128 positions
    assert token_limit(tiny_llama, 64) == 64
    with pytest.raises(ConfigError):
        token_limit(tiny_llama, 1)


def test_resolve_model_name(tmp_path):
    assert resolve_model_name(" SmolLM2 ") == "smollm2"
    assert resolve_model_name(str(tmp_path)) == str(tmp_path.resolve())
    assert resolve_model_name("org/model") == "org/model"
    with pytest.raises(ConfigError):
        resolve_model_name("  ")
