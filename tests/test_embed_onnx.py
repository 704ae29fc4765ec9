"""The query encoder on onnxruntime (memviz.embed_onnx): exported once per machine, checked against torch, and
torch whenever it cannot be used."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.embed_onnx import QueryEncoder, export_in_child, model_key, pooling_of

from support import T0

TEXTS = ["When did Caroline go to the LGBTQ support group?", "Mango " * 400, "é", "hi"]


def test_queries_stay_on_torch_when_asked():
    from memviz.embed import MiniLMEmbedder, SentenceTransformerEmbedder

    assert SentenceTransformerEmbedder(None, onnx_queries=False).query_backend == "torch (onnx_queries off)"
    assert SentenceTransformerEmbedder(None, device="cuda").onnx_queries is False  # onnxruntime here is CPU only
    # In the fast tier MiniLMEmbedder is the fake, which has no query backend: the trace then names none.
    assert getattr(MiniLMEmbedder(), "query_backend", None) is None


def test_only_a_transformer_with_mean_or_cls_pooling_is_exported():
    class Transformer:
        pass

    class Pooling:
        def __init__(self, mode, include_prompt=True):
            self.pooling_mode, self.include_prompt = mode, include_prompt

    class Normalize:
        pass

    assert pooling_of([Transformer(), Pooling("mean"), Normalize()]) == "mean"
    assert pooling_of([Transformer(), Pooling("cls")]) == "cls"
    assert pooling_of([Transformer(), Pooling("max")]) is None  # numpy reproduces mean and CLS only
    assert pooling_of([Transformer(), Pooling("mean", include_prompt=False)]) is None
    assert pooling_of([Transformer()]) is None


@pytest.mark.slow
def test_a_query_runs_on_onnxruntime_with_torchs_vector(real_embedder):
    # The default embedder's single texts go through onnxruntime; each vector is the one torch's encode gives,
    # also past the model's truncation (256 word pieces) and for one word piece.
    assert real_embedder.query_backend == "onnxruntime"
    via_torch = real_embedder.model.encode(TEXTS, normalize_embeddings=True, convert_to_numpy=True)
    for text, expected in zip(TEXTS, via_torch, strict=True):
        one = real_embedder.encode([text])
        assert one.shape == (1, 384) and one.dtype == np.float32
        assert float(one[0] @ expected) > 0.9999
        np.testing.assert_allclose(np.linalg.norm(one[0]), 1.0, rtol=1e-5)


@pytest.mark.slow
def test_the_recall_trace_names_the_query_backend(tmp_path, real_embedder):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.models import MemoryInput
    from memviz.store import MemoryStore

    engine = MemoryEngine(MemoryStore(str(tmp_path / "db")), real_embedder, SimulatedClock(T0))
    engine.write([MemoryInput(text="the kite nests in the oak", id="m")])
    trace = engine.recall("where does the kite nest?", reinforce=False).trace
    embed = next(s for s in trace.stages if s.name == "embed")
    assert embed.info["backend"] == "onnxruntime"


@pytest.mark.slow
def test_an_export_is_made_checked_and_reused(tmp_path, monkeypatch, real_embedder):
    monkeypatch.setenv("MEMVIZ_CACHE", str(tmp_path))
    enc, why = QueryEncoder.open(real_embedder.model, real_embedder.source)
    assert enc is not None and why == ""
    assert enc.path == tmp_path / "onnx" / f"{model_key(real_embedder.source)}.onnx" and enc.path.is_file()
    assert [p.name for p in enc.path.parent.iterdir()] == [enc.path.name]  # no temporary file left
    mtime = enc.path.stat().st_mtime_ns
    again, _ = QueryEncoder.open(real_embedder.model, real_embedder.source)
    assert again is not None and again.path.stat().st_mtime_ns == mtime  # opened, not exported again
    vec = again.encode_one(TEXTS[0])
    assert float(vec @ real_embedder.model.encode(TEXTS[0], normalize_embeddings=True)) > 0.9999


@pytest.mark.slow
def test_a_damaged_export_leaves_queries_on_torch(tmp_path, monkeypatch, real_embedder):
    monkeypatch.setenv("MEMVIZ_CACHE", str(tmp_path))
    path = tmp_path / "onnx" / f"{model_key(real_embedder.source)}.onnx"
    path.parent.mkdir(parents=True)
    path.write_bytes(b"not an onnx model")
    enc, why = QueryEncoder.open(real_embedder.model, real_embedder.source)
    assert enc is None and "onnxruntime could not load" in why and str(path) in why


@pytest.mark.slow
def test_a_failed_export_says_why_and_writes_nothing(tmp_path):
    why = export_in_child(str(tmp_path / "no-such-model"), tmp_path / "out.onnx")
    assert why.startswith("the ONNX export failed: ") and "no-such-model" in why
    assert not (tmp_path / "out.onnx").exists()


def test_a_copy_of_a_model_shares_its_export_and_a_changed_one_does_not(tmp_path):
    src = tmp_path / "model"
    src.mkdir()
    (src / "config.json").write_text('{"hidden_size": 8}')
    (src / "model.safetensors").write_bytes(bytes(range(256)) * 16)
    copy = tmp_path / "copy"
    copy.mkdir()
    for f in src.iterdir():
        (copy / f.name).write_bytes(f.read_bytes())
    assert model_key(str(src)) == model_key(str(copy))
    (copy / "model.safetensors").write_bytes(bytes(range(255, -1, -1)) * 16)  # same size, other weights
    assert model_key(str(src)) != model_key(str(copy))
