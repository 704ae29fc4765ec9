"""Benchmarks beside the core: a peer store (Chroma), a large streaming ingest and attention capture."""

from __future__ import annotations

import os
import subprocess
import sys
import tempfile
import time
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any

from memviz.bench.core import LONGMEMEVAL_S, Log, _quiet, pct, peak_rss_mb, real_items

if TYPE_CHECKING:
    from memviz.importers import Format


# -- a peer ----------------------------------------------------------------------------------------
def chroma_available() -> bool:
    try:
        import chromadb  # noqa: F401
    except Exception:
        return False
    return True


def bench_chroma(items, embedder, queries: Sequence[str], k: int = 10, batch_size: int = 256) -> dict[str, Any]:
    """Chroma (``chromadb.PersistentClient`` in a temporary folder, cosine HNSW, its defaults) with the same
    texts, model and k: ingest rate (embedding included, as a Chroma user would add documents) and end-to-end
    query latency (embedding included). The embedding is Chroma's own ``SentenceTransformerEmbeddingFunction``
    on ``embedder``'s model folder (``embedder.source``: the same weights, its own copy, normalised vectors), as a
    Chroma user with this model would embed; an embedder without a folder is called as it is. Returns
    ``{"store", "version", "n", "embedding_function", "ingest_per_s", "recall_p50_ms", "recall_p95_ms",
    "search_p50_ms"}``. Raises ImportError when chromadb is not installed."""
    import chromadb
    from chromadb.api.types import EmbeddingFunction
    from chromadb.utils.embedding_functions import SentenceTransformerEmbeddingFunction

    from memviz.engine import embedding_text
    from memviz.text import normalise

    class _Same(EmbeddingFunction):
        def __init__(self):
            pass

        def __call__(self, input):  # noqa: A002 (chroma's name)
            return [v for v in embedder.encode(list(input))]

        @staticmethod
        def name() -> str:
            return "memviz-embedder"

    source = getattr(embedder, "source", None)
    # Any: chroma types a collection's function as EmbeddingFunction[Documents | Images], its own ST one as [Documents].
    embed_fn: Any = (
        SentenceTransformerEmbeddingFunction(model_name=source, device="cpu", normalize_embeddings=True)
        if source
        else _Same()
    )
    docs = [embedding_text(normalise(i.text), i.speaker) for i in items]
    with tempfile.TemporaryDirectory() as d:
        client = chromadb.PersistentClient(path=d)
        col = client.create_collection(
            "bench", embedding_function=embed_fn, configuration={"hnsw": {"space": "cosine"}}
        )
        t = time.perf_counter()
        for s in range(0, len(items), batch_size):
            part = items[s : s + batch_size]
            col.add(
                ids=[i.id for i in part],
                documents=docs[s : s + batch_size],
                metadatas=[{"speaker": i.speaker or "", "session_id": i.session_id or ""} for i in part],
            )
        ingest_s = time.perf_counter() - t
        col.query(query_texts=[queries[0]], n_results=k)
        totals, search = [], []
        for q in queries:
            t = time.perf_counter()
            col.query(query_texts=[q], n_results=k)
            totals.append((time.perf_counter() - t) * 1000)
        for v in embedder.encode(list(queries)):
            t = time.perf_counter()
            col.query(query_embeddings=[v], n_results=k)
            search.append((time.perf_counter() - t) * 1000)
    return {
        "store": "chromadb",
        "version": chromadb.__version__,
        "n": len(items),
        "embedding_function": embed_fn.name(),
        "ingest_per_s": round(len(items) / ingest_s, 1),
        "recall_p50_ms": pct(totals, 50),
        "recall_p95_ms": pct(totals, 95),
        "search_p50_ms": pct(search, 50),
    }


def peer_ratios(ingest: dict[str, Any], peer: dict[str, Any]) -> dict[str, Any]:
    """memviz against the peer on the same texts: ``ingest_ratio`` (memviz memories/s / peer's; > 1 = memviz
    faster) and ``recall_latency_ratio`` (memviz p50 / peer's; < 1 = memviz faster)."""
    return {
        "ingest_ratio": round(ingest["pipeline_per_s"] / peer["ingest_per_s"], 3),
        "recall_latency_ratio": (
            round(ingest["recall_p50_ms"] / peer["recall_p50_ms"], 3)
            if ingest.get("recall_p50_ms") and peer.get("recall_p50_ms")
            else None
        ),
    }


# -- large streaming ingest ------------------------------------------------------------------------
def bench_large_ingest(
    path: Path = LONGMEMEVAL_S,
    fmt: Format = "longmemeval",
    interrupt_after_s: float | None = 180.0,
    db: str | None = None,
    log: Log = _quiet,
) -> dict[str, Any]:
    """``memviz ingest`` of a whole file in a child process, interrupted (SIGTERM) after
    ``interrupt_after_s`` (late enough for several committed batches: the first window of 2,048 long
    LongMemEval turns is embedded before its first batch is committed) and then resumed to the end. Returns the
    stored count against the file's distinct ids (no duplicates, nothing lost), each run's seconds, and the peak
    RSS of the child processes (MB)."""
    import signal

    from memviz.importers import load
    from memviz.store import MemoryStore

    expected = len({i.id for i in load(path, fmt).items()})
    tmp: str | None = None
    if db is None:  # a store of its own, removed at the end
        tmp = tempfile.mkdtemp(prefix="memviz_large_")
        db = str(Path(tmp) / "store")
    cmd = [sys.executable, "-m", "memviz.cli", "ingest", str(path), "--format", fmt, "--db", db, "--json"]
    env = os.environ | {"TQDM_DISABLE": "1"}
    out: dict[str, Any] = {"path": str(path), "distinct_ids": expected}
    if interrupt_after_s:
        t = time.perf_counter()
        p = subprocess.Popen(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            p.wait(timeout=interrupt_after_s)
        except subprocess.TimeoutExpired:
            p.send_signal(signal.SIGTERM)
            p.wait()
        out["interrupted_after_s"] = round(time.perf_counter() - t, 1)
        out["stored_after_interrupt"] = MemoryStore(db).count()
        log(f"large ingest: interrupted with {out['stored_after_interrupt']} stored")
    t = time.perf_counter()
    r = subprocess.run(cmd, env=env, capture_output=True, text=True)
    out["resume_s"] = round(time.perf_counter() - t, 1)
    if r.returncode != 0:
        out["error"] = r.stderr.strip().splitlines()[-1:] or [f"exit {r.returncode}"]
    store = MemoryStore(db)
    ids = store.memories_table(columns=["id"]).column("id").to_pylist()
    out |= {
        "stored": len(ids),
        "duplicates": len(ids) - len(set(ids)),
        "missing": expected - len(set(ids)),
        "peak_rss_children_mb": peak_rss_mb(children=True),
    }
    if tmp is not None:
        import shutil

        shutil.rmtree(tmp, ignore_errors=True)
    return out


# -- attention -------------------------------------------------------------------------------------
def bench_attention(
    tokens: Sequence[int] = (128, 512),
    models: Sequence[str] = ("minilm", "smollm2"),
    repeats: int = 3,
    log: Log = _quiet,
) -> list[dict[str, Any]]:
    """Attention capture (``memviz.attention.capture_attention``: tokenise + forward pass with every layer's
    attention) on real LongMemEval text cut to each of ``tokens``, for each built-in model, warm (model
    loaded once; its load time is reported). One dict per (model, tokens): ``{"model", "tokens_asked",
    "tokens" (after the model's limit: MiniLM reads at most 256), "load_s", "capture_p50_ms"}``; a model that
    cannot be loaded gives ``{"model", "error"}``."""
    from memviz.attention.capture import capture_attention
    from memviz.attention.models import load_model

    text = " ".join(i.text for i in real_items(400, order=("longmemeval",)))
    out: list[dict[str, Any]] = []
    for name in models:
        try:
            t = time.perf_counter()
            loaded = load_model(name)
            load_s = time.perf_counter() - t
        except Exception as e:  # ModelNotAvailableError and the like: reported, not fatal
            out.append({"model": name, "error": str(e)})
            continue
        for n in tokens:
            times, cap = [], None
            for _ in range(repeats + 1):
                cap = capture_attention(text, loaded, max_tokens=n)
                times.append(cap.seconds * 1000)
            assert cap is not None  # captured repeats + 1 times
            out.append(
                {
                    "model": name,
                    "tokens_asked": n,
                    "tokens": len(cap.tokens),
                    "load_s": round(load_s, 2),
                    "capture_p50_ms": pct(times[1:], 50),
                }
            )
            log(f"attention: {name} {n} tokens {out[-1]['capture_p50_ms']} ms")
    return out
