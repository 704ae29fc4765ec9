"""Real weights on real text: MiniLM's [CLS] sink, SmolLM2's first-token sink, StreamingLLM's finding, the CLI."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memviz.attention.capture import capture_attention
from memviz.attention.cli import sinks
from memviz.attention.kvcache import run_kv_experiment
from memviz.attention.models import _smollm2_cache_valid, load_model, smollm2_gguf_path
from memviz.attention.prompt import build_prompt, memory_prompt_attention
from memviz.attention.report import analyze_text
from memviz.attention.samples import default_passage, locomo_path, long_passage, recall_example
from memviz.errors import ConfigError, EmptyTextError, ModelNotAvailableError
from memviz.paths import cache_dir

pytestmark = pytest.mark.slow

needs_locomo = pytest.mark.skipif(not locomo_path().is_file(), reason="LoCoMo shared data not present")


@needs_locomo
def test_default_passage_is_locomo():
    assert default_passage().startswith("Caroline: Hey Mel!")
    assert len(long_passage(2)) > 4000


@needs_locomo
def test_minilm_cls_is_the_sink_of_the_middle_layers(minilm):
    rep = analyze_text(default_passage(), minilm)
    cap, an = rep.capture, rep.analysis
    assert cap.tokens[0] == "[CLS]" and not cap.causal
    assert cap.attentions.shape == (6, 12, cap.n_tokens, cap.n_tokens)
    np.testing.assert_allclose(cap.attentions.sum(-1), 1.0, atol=1e-4)
    middle = slice(1, 5)
    # [CLS] receives more than any other token in every middle layer, > 10x what uniform attention gives it
    assert np.all(an.received_mean[middle].argmax(axis=1) == 0)
    assert np.all(an.first_token_share[middle] > 10 * an.uniform_share[middle])
    # the final [SEP] is not a sink (environment notes: 0.02-0.09)
    assert an.received_mean[middle, -1].max() < 0.15
    cls = [r for r in an.sinks if r["position"] == 0]
    assert cls and cls[0]["kind"] == "primary"


@needs_locomo
def test_smollm2_first_token_is_a_sink_from_layer_3_on(smollm2):
    rep = analyze_text(default_passage(), smollm2)
    cap, an = rep.capture, rep.analysis
    assert cap.causal and cap.attentions.shape[:2] == (30, 9)
    np.testing.assert_allclose(cap.attentions.sum(-1), 1.0, atol=1e-4)
    assert np.all(np.triu(cap.attentions[0, 0], 1) == 0)
    assert an.sink_mask[3:, 0].mean() >= 0.8  # a sink in most layers from layer 3 on
    assert np.median(an.first_token_share[3:] / an.uniform_share[3:]) > 5
    first = [r for r in an.sinks if r["position"] == 0][0]
    assert first["kind"] == "primary" and first["first_layer"] <= 3
    assert first["hidden_norm_ratio"] > 10  # the massive activation that goes with a primary sink
    assert rep.to_json()["first_token_share"] == pytest.approx(an.first_token_share.tolist(), abs=1e-5)


def test_smollm2_cache_is_written_and_valid(smollm2):
    folder = cache_dir() / "smollm2-fp32"
    if folder.is_dir():  # an unwritable cache dir only costs time: then there is nothing to check
        assert _smollm2_cache_valid(folder, smollm2_gguf_path())
    assert smollm2.source in (str(folder), str(smollm2_gguf_path()))


def test_long_input_is_cut_at_the_limit(smollm2):
    cap = capture_attention(long_passage(1), smollm2, max_tokens=64)
    assert cap.n_tokens == 64 and cap.truncated and cap.n_input_tokens > 64
    assert cap.attentions.shape == (30, 9, 64, 64)


@needs_locomo
def test_window_only_eviction_collapses_and_sinks_repair_it(smollm2):
    exp = run_kv_experiment(long_passage(2), smollm2, budget=64, n_sink=4, max_tokens=384)
    ppl = {p: loss.ppl_evicted for p, loss in exp.losses.items()}
    assert exp.capture.n_tokens == 384
    # StreamingLLM (Xiao et al. 2023): window-only eviction collapses, keeping 4 first tokens repairs it
    assert ppl["window"] > 4 * ppl["streaming"]
    assert ppl["streaming"] < 1.5 * ppl["full"]
    assert ppl["h2o"] < 1.5 * ppl["full"]
    ret = exp.simulation.retained
    assert np.all(ret["full"] == 1.0)
    assert ret["streaming"].mean() > ret["window"].mean() + 0.1
    rows = exp.summary()
    assert [r["policy"] for r in rows] == ["full", "window", "streaming", "h2o"]


def test_memories_in_the_prompt(smollm2):
    memories, query = recall_example()
    res = memory_prompt_attention(memories, query, smollm2)
    n = len(memories)
    assert res.segments[0] == "first token (sink)"
    assert res.segments[1 : n + 1] == [f"memory {i}" for i in range(1, n + 1)]
    assert res.share.shape == (30, n + 3)
    np.testing.assert_allclose(res.share.sum(1), 1.0, atol=1e-4)
    assert res.n_segment_tokens.sum() == res.capture.n_tokens and res.n_segment_tokens[0] == 1
    # in the upper layers the sink token alone draws more of the query's attention than all memories together
    upper = slice(12, 30)
    assert res.share[upper, 0].mean() > res.share[upper, 1 : n + 1].sum(1).mean()
    assert res.table()[0]["segment"] == "first token (sink)"


def test_prompt_errors(smollm2):
    with pytest.raises(EmptyTextError):
        build_prompt(["a"], " ")
    with pytest.raises(EmptyTextError):
        build_prompt(["a", ""], "q?")
    with pytest.raises(ConfigError):
        memory_prompt_attention(["word " * 400] * 3, "q?", smollm2, max_tokens=256)


def test_unknown_model_is_a_clear_error():
    with pytest.raises(ModelNotAvailableError, match="cannot load model"):
        load_model("no-such-org/no-such-model-xyz")
    with pytest.raises(ModelNotAvailableError, match="no such folder"):
        load_model("./no/such/folder")


def test_cli_json(minilm):
    res = CliRunner().invoke(sinks, [default_passage(), "--model", "minilm", "--json"])
    assert res.exit_code == 0, res.output
    data = json.loads(res.output)
    assert len(data["first_token_share"]) == len(data["uniform_share"]) == 6
    assert data["first_token"] == "[CLS]" and data["sinks"][0]["position"] == 0
    assert {"token", "position", "kind", "layers", "lifetime", "score"} <= set(data["sinks"][0])


def test_cli_table_and_file(minilm, tmp_path):
    f = tmp_path / "text.txt"
    f.write_text(default_passage(), encoding="utf-8")
    res = CliRunner().invoke(sinks, [str(f), "--model", "minilm"])
    assert res.exit_code == 0, res.output
    assert "first-token share" in res.output and "[CLS]" in res.output and "primary" in res.output


@pytest.mark.parametrize(
    "args,needle", [(["   ", "--model", "minilm"], "empty"), (["hello", "--model", "./nope/none"], "no such folder")]
)
def test_cli_errors_exit_2_with_one_line(args, needle):
    res = CliRunner().invoke(sinks, args)
    assert res.exit_code == 2
    lines = [line for line in res.output.splitlines() if line.strip()]
    assert len(lines) == 1 and lines[0].startswith("Error:") and needle in lines[0]


def test_any_local_model_folder_loads(smollm2, minilm):
    """The generic path (a folder or an id): SmolLM2's fp32 cache folder and MiniLM's folder, offline."""
    dec = load_model(str(cache_dir() / "smollm2-fp32")) if (cache_dir() / "smollm2-fp32").is_dir() else None
    enc = load_model(minilm.source)  # the package's folder, through AutoConfig / AutoModel
    assert not enc.causal and enc.n_layers == 6 and enc.name == minilm.source
    cap = capture_attention("Caroline went to a support group.", enc)
    assert cap.tokens[0] == "[CLS]" and cap.attentions.shape[:2] == (6, 12)
    if dec is not None:
        assert dec.causal and (dec.n_layers, dec.n_heads) == (30, 9)
        a = capture_attention(default_passage(), dec).attentions
        b = capture_attention(default_passage(), smollm2).attentions
        np.testing.assert_allclose(a, b, atol=1e-5)
