"""The query encoder on onnxruntime: a sentence-transformers model's transformer, exported once per machine to
ONNX (torch's dynamo exporter, dynamic sequence length) and run by onnxruntime for one text at a time.

Why: a recall embeds one short query, and for a 16-word-piece sequence torch spends most of its time on
per-operator dispatch: 11.8-14.4 ms p50 against onnxruntime's 3.6-4.2 ms for the same weights on this 2-core
machine (docs/performance.md, "Speed against the peer"). Batches (ingest) stay on torch, where the matrix products
dominate.

The export runs in a child process (``python -m memviz.embed_onnx SOURCE OUT``: torch's exporter traces the
model and must not run beside inference in another thread) and takes ~15 s for MiniLM. Its file is kept only
when onnxruntime's vectors match torch's on :data:`PROBES` (cosine >= :data:`MIN_COSINE`, lengths from one
word piece to past the model's truncation), and is checked again on one probe each time a process opens it.
Files live in ``cache_dir() / "onnx"``, named by a hash of the model folder's configuration and weights and the
torch and onnx versions (:func:`model_key`), so a changed model or exporter makes a new file. A
model whose modules are not a transformer + mean or CLS pooling (+ normalisation), a missing onnxruntime, or a
failed export or check leaves the query on torch (the embedder's ``query_backend`` says why).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import subprocess
import sys
import tempfile
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np

from memviz.paths import cache_dir

log = logging.getLogger(__name__)

#: Lowest cosine between onnxruntime's and torch's vector of a probe for the export to be used.
MIN_COSINE = 0.9999
#: Texts the export is checked on: one word piece, a query, a long turn, and one past any truncation.
PROBES = (
    "hi",
    "What did Caroline say about the adoption agency she researched last week?",
    "Melanie: I painted a lake sunrise last year! It's special to me, and I keep it in the hall where the "
    "morning light falls on it; my kids say it looks like the camping trip we took in July.",
    " ".join(["memory"] * 600),
)
#: The model inputs the export takes, in this order, when the tokenizer gives them.
INPUTS = ("input_ids", "attention_mask", "token_type_ids")
EXPORT_TIMEOUT_S = 600
SAMPLE_BYTES = 1 << 20  # of each weight file's start and end, hashed into its export's name (model_key)
FAILED = "memviz: export failed: "  # the child's last word on stderr when it fails


def pooling_of(model: Any) -> str | None:
    """``"mean"`` or ``"cls"`` when ``model`` (a ``SentenceTransformer``) is a transformer, that pooling over
    all tokens, and optionally a normalisation, which is what :class:`QueryEncoder` reproduces; else None."""
    names = [type(m).__name__ for m in model]
    if names not in (["Transformer", "Pooling"], ["Transformer", "Pooling", "Normalize"]):
        return None
    mode = getattr(model[1], "pooling_mode", None)
    if mode not in ("mean", "cls") or not getattr(model[1], "include_prompt", True):
        return None
    return str(mode)


def model_key(source: str) -> str:
    """The cache name of ``source``'s export: a hash of the torch and onnx versions and of its folder's
    ``config.json`` and weight files (each file's name, size, and first and last MiB), so that a changed model
    or exporter gets a new file and a copy of a model shares its original's (a hub id without a folder: the
    id). Raises ImportError when the exporter is not installed."""
    import onnx
    import torch

    h = hashlib.sha1(f"{torch.__version__}|{onnx.__version__}".encode())
    folder = Path(source)
    if not folder.is_dir():
        h.update(source.encode())
        return h.hexdigest()[:16]
    for f in sorted(folder.rglob("*")):
        if f.name == "config.json" or f.suffix in (".safetensors", ".bin"):
            size = f.stat().st_size
            h.update(f"{f.relative_to(folder)}|{size}".encode())
            with f.open("rb") as fh:
                h.update(fh.read(SAMPLE_BYTES))
                fh.seek(max(0, size - SAMPLE_BYTES))
                h.update(fh.read(SAMPLE_BYTES))
    return h.hexdigest()[:16]


def features(model: Any, text: str) -> dict[str, np.ndarray]:
    """The tokenizer's inputs for one text (the model's own preprocessing and truncation), as int64 arrays of
    shape (1, n_tokens)."""
    feats = getattr(model, "preprocess", model.tokenize)([text])
    return {k: feats[k].numpy().astype(np.int64) for k in INPUTS if k in feats}


@dataclass
class QueryEncoder:
    """One text -> its unit vector, float32 of shape (dim,), through an onnxruntime session of the exported
    transformer and the model's pooling (``"mean"`` or ``"cls"``) done in numpy. Sessions are thread-safe."""

    model: Any
    session: Any
    pooling: str
    path: Path

    def encode_one(self, text: str) -> np.ndarray:
        feats = features(self.model, text)
        hidden = self.session.run(None, feats)[0][0]  # (n_tokens, dim): one text, no padding
        vec = hidden.mean(axis=0) if self.pooling == "mean" else hidden[0]
        return (vec / max(float(np.linalg.norm(vec)), 1e-12)).astype(np.float32)

    @classmethod
    def open(cls, model: Any, source: str) -> tuple[QueryEncoder | None, str]:
        """The query encoder of ``model`` (loaded from ``source``), exporting it first when this machine has
        no checked export; (None, why) when it cannot be used, and the query stays on torch."""
        pooling = pooling_of(model)
        if pooling is None:
            return None, "the model is not a transformer with mean or CLS pooling"
        try:
            import onnxruntime as ort
        except ImportError as e:
            return None, f"onnxruntime is not installed ({e.name})"
        try:
            path = cache_dir() / "onnx" / f"{model_key(source)}.onnx"
        except ImportError as e:
            return None, f"the ONNX exporter is not installed ({e.name})"
        if not path.is_file():
            why = export_in_child(source, path)
            if why:
                return None, why
        options = ort.SessionOptions()
        options.log_severity_level = 3
        # Idle threads sleep instead of spinning: a recall runs its full-text search and vector search beside
        # the encoder, and on two cores a spinning thread takes their CPU (same wall time, ~15% less CPU).
        options.add_session_config_entry("session.intra_op.allow_spinning", "0")
        try:
            session = ort.InferenceSession(str(path), options, providers=["CPUExecutionProvider"])
        except Exception as e:  # a damaged file: onnxruntime raises its own error types
            return None, f"onnxruntime could not load {path}: {e}"
        enc = cls(model, session, pooling, path)
        cosine = min_cosine(model, enc, PROBES[1:2])
        if cosine < MIN_COSINE:
            return None, f"the export at {path} differs from torch (cosine {cosine:.6f})"
        return enc, ""


def torch_vector(model: Any, text: str) -> np.ndarray:
    """``model``'s own unit vector of ``text`` (torch), float32 of shape (dim,)."""
    return np.asarray(model.encode([text], normalize_embeddings=True, convert_to_numpy=True)[0], dtype=np.float32)


def min_cosine(model: Any, enc: QueryEncoder, texts: tuple[str, ...]) -> float:
    """The lowest cosine between ``enc``'s and torch's vectors over ``texts``."""
    return min(float(enc.encode_one(t) @ torch_vector(model, t)) for t in texts)


def export_in_child(source: str, path: Path) -> str:
    """Export ``source``'s transformer to ``path`` in a child process; "" on success, else why it failed."""
    env = os.environ | {"HF_HUB_OFFLINE": "1", "TRANSFORMERS_OFFLINE": "1"}
    log.info("exporting %s to ONNX for queries (once per machine)", source)
    try:
        done = subprocess.run(
            [sys.executable, "-m", "memviz.embed_onnx", source, str(path)],
            capture_output=True,
            text=True,
            timeout=EXPORT_TIMEOUT_S,
            env=env,
            check=False,
        )
    except (OSError, subprocess.TimeoutExpired) as e:
        return f"the ONNX export did not finish: {e}"
    if done.returncode != 0:
        said = [ln[len(FAILED) :] for ln in done.stderr.splitlines() if ln.startswith(FAILED)]
        return f"the ONNX export failed: {said[-1] if said else f'exit code {done.returncode}'}"
    return ""


def export(source: str, path: Path) -> None:
    """Export ``source``'s transformer (its ``last_hidden_state`` for the tokenizer's inputs, sequence length
    dynamic) to ``path`` and check it on :data:`PROBES`; the file appears (atomically) only when the check
    passes. Raises RuntimeError when it does not."""
    import onnxruntime as ort
    import torch

    from memviz.embed import load_model

    model = load_model(source, "cpu")
    pooling = pooling_of(model)
    if pooling is None:
        raise RuntimeError("the model is not a transformer with mean or CLS pooling")
    example = features(model, PROBES[1])
    names = list(example)

    class Hidden(torch.nn.Module):
        def __init__(self, hf: torch.nn.Module):
            super().__init__()
            self.hf = hf

        def forward(self, *inputs: torch.Tensor) -> torch.Tensor:
            return self.hf(**dict(zip(names, inputs, strict=True))).last_hidden_state

    seq = torch.export.Dim("seq", min=2, max=int(model.max_seq_length or 512))
    path.parent.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory(dir=path.parent) as tmp:
        out = Path(tmp) / path.name
        torch.onnx.export(
            Hidden(model[0].auto_model).eval(),
            tuple(torch.from_numpy(example[n]) for n in names),
            str(out),
            dynamo=True,
            input_names=names,
            output_names=["last_hidden_state"],
            dynamic_shapes=(tuple({1: seq} for _ in names),),  # for forward's *inputs
            optimize=True,
            external_data=False,
            verbose=False,
        )
        session = ort.InferenceSession(str(out), providers=["CPUExecutionProvider"])
        cosine = min_cosine(model, QueryEncoder(model, session, pooling, out), PROBES)
        if cosine < MIN_COSINE:
            raise RuntimeError(f"onnxruntime's vectors differ from torch's (lowest cosine {cosine:.6f})")
        os.replace(out, path)
    print(json.dumps({"path": str(path), "min_cosine": cosine}))


if __name__ == "__main__":  # the child process of export_in_child
    try:
        export(sys.argv[1], Path(sys.argv[2]))
    except Exception as e:  # one line for the parent, whatever the exporter raised (torch's says "<class ...>: why")
        lines = [ln for ln in str(e).splitlines() if ln.strip()] or [""]
        print(f"{FAILED}{next((ln for ln in lines if ln.startswith('<class')), lines[0])}", file=sys.stderr)
        sys.exit(1)
