"""The approximate index at scale (``memviz bench scale``): a store of 1M memories (``--quick``: 200k) made of
the real memories plus noisy copies (:func:`memviz.bench.core.recall_store`, as the 100k recall benchmark),
its IVF_HNSW_SQ index built (:mod:`memviz.store.ann`), and the recall's search+scoring against a numpy brute
force over the same vectors, with the index's recall@10 against exact search under the default filter.

Times are wall milliseconds (``*_ms``) or seconds (``*_s``) with CPU seconds beside the build's; nothing here
asserts a time (benchmarks measure, tests don't time).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Sequence
from typing import Any

import numpy as np

from memviz.bench.copies import replicate
from memviz.bench.core import Log, _quiet, machine, numpy_brute, pct, peak_rss_mb, real_queries, recall_store
from memviz.store.ann import DEFAULT_ANN, AnnSettings

SCALE_N = 1_000_000
SCALE_QUICK_N = 200_000
FORGOTTEN_EVERY = 100  # one memory in this many is soft-forgotten, so that the default filter filters


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def rss_mb() -> float:
    """This process's resident set size now, in MB (Linux ``/proc/self/statm``)."""
    with open("/proc/self/statm") as f:
        return round(int(f.read().split()[1]) * os.sysconf("SC_PAGE_SIZE") / 1024**2, 1)


def serve_peak_rss(db: str, settings: AnnSettings | None, qvecs: np.ndarray) -> dict[str, Any]:
    """Run in a new process (:func:`bench_scale_at` spawns it): open the store at ``db`` with the approximate
    index (``settings``) or without (None: the in-memory numpy index holds every vector), answer a vector
    search (50 candidates, default filter) and the scoring's row read for each of ``qvecs``; returns
    ``{"index", "peak_rss_mb" (of that process: its ``VmHWM``, which starts anew at exec, unlike
    ``ru_maxrss``), "vector_p50_ms"}``."""
    from memviz.filters import LIVE
    from memviz.store import MemoryStore

    store = MemoryStore(db, create=False, ann=settings)
    times, index = [], ""
    for q in qvecs:
        t = time.perf_counter()
        ids, _, info = store.vector_search_traced(q, 50, LIVE)
        times.append((time.perf_counter() - t) * 1000)
        store.rows(ids)
        index = info["index"]
    with open("/proc/self/status") as f:
        hwm_kb = next(int(ln.split()[1]) for ln in f if ln.startswith("VmHWM:"))
    return {"index": index, "peak_rss_mb": round(hwm_kb / 1024, 1), "vector_p50_ms": pct(times, 50)}


def bench_scale_at(
    n: int,
    items,
    vectors: np.ndarray,
    queries: Sequence[str],
    embedder,
    settings: AnnSettings = DEFAULT_ANN,
    log: Log = _quiet,
) -> dict[str, Any]:
    """The approximate index on a store of ``n`` memories (``items`` with their unit ``vectors``, then noisy
    copies; every ``FORGOTTEN_EVERY``-th memory soft-forgotten), ``settings.min_rows`` lowered to ``n`` if
    above it. The index is built once, synchronously (``build_s``, ``build_cpu_s``), after the writes.

    Returns ``{"n", "index" (what the recall trace's vector stage names), "build_s", "build_cpu_s",
    "recall_at_10_vs_exact" (mean overlap of the top 10 of the recall's vector stage, its 50 candidates
    re-scored with their full vectors, with numpy's exact top 10 over the live vectors, default filter),
    "recall_at_10_limit_10" (the same for a search of 10 candidates only), "search_scoring_p50_ms"/"_p95_ms"
    (the recall's wall time after the query embedding: vector and full-text search, fusion and scoring),
    "vector_p50_ms", "numpy_brute_p50_ms" (dot product + top 10 over all ``n`` vectors), "ratio_vs_numpy"
    (search+scoring p50 / numpy p50; goal <= 3),
    "peak_rss_mb" (this process, which also holds the ``n`` vectors for the numpy side), "rss_mb" (after the
    queries), "holds_vectors" (whether the store's in-memory index still holds them), "store_build_s",
    "queries", "settings", "search" (the last recall's search parameters: ``ef`` as used, and how the filter was
    applied), "load_avg"}``.
    """
    from dataclasses import asdict, replace

    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine, RecallConfig
    from memviz.filters import LIVE
    from memviz.store import MemoryStore

    settings = replace(settings, min_rows=min(settings.min_rows, n))
    now = max(i.event_time_s or 0.0 for i in items) + 86400.0
    with tempfile.TemporaryDirectory() as db:
        t = time.perf_counter()
        store = recall_store(db, items, vectors, n, now, chunk=200_000, ann=None)  # few full-text rebuilds
        ids = store.memories_table(columns=["id"]).column("id").to_pylist()  # replicate's order, until the forget
        _forget(store, ids[::FORGOTTEN_EVERY], now)
        store_build_s = time.perf_counter() - t
        log(f"scale: store of {n} built in {store_build_s:.0f} s; building the index")
        store = MemoryStore(db, ann=settings)
        t, c = time.perf_counter(), _cpu_s()
        assert store.ann is not None
        store.ann.build()
        build_s, build_cpu_s = time.perf_counter() - t, _cpu_s() - c
        log(f"scale: index built in {build_s:.0f} s ({build_cpu_s:.0f} CPU s); {len(queries)} queries")
        engine = MemoryEngine(store, embedder, SimulatedClock(now))
        cfg = RecallConfig(k=10, reinforce=False)
        for q in queries[:3]:
            engine.recall(q, cfg)  # warm-up
        searches, vstage, index = [], [], set()
        for q in queries:
            res = engine.recall(q, cfg)
            searches.append(res.trace.total_ms - res.trace.stage("embed").duration_ms)
            vstage.append(res.trace.stage("vector").duration_ms)
            index.add(res.trace.stage("vector").info["index"])
            search = {k: res.trace.stage("vector").info.get(k) for k in ("nprobes", "ef", "refine_factor", "filter")}
        log(f"scale: search+scoring p50 {pct(searches, 50)} ms, vector stage p50 {pct(vstage, 50)} ms ({index})")
        matrix, _ = replicate(vectors, n)
        live = np.ones(n, dtype=bool)
        live[::FORGOTTEN_EVERY] = False
        live_rows = np.flatnonzero(live)
        live_matrix = matrix[live_rows]  # one copy, not one per query
        qvecs = embedder.encode(list(queries))
        brute, overlap, overlap_10 = [], [], []
        for q in qvecs:
            t = time.perf_counter()
            numpy_brute(matrix, q, 10)
            brute.append((time.perf_counter() - t) * 1000)
            exact = {ids[i] for i in live_rows[numpy_brute(live_matrix, q, 10)]}
            got, _ = store.vector_search(q, cfg.candidates, LIVE)  # best first by exact cosine (refined)
            overlap.append(len(exact & set(got[:10])) / 10)
            got, _ = store.vector_search(q, 10, LIVE)
            overlap_10.append(len(exact & set(got)) / 10)
        out: dict[str, Any] = {
            "n": n,
            "index": " / ".join(sorted(index)),
            "build_s": round(build_s, 1),
            "build_cpu_s": round(build_cpu_s, 1),
            "recall_at_10_vs_exact": round(float(np.mean(overlap)), 4),
            "recall_at_10_limit_10": round(float(np.mean(overlap_10)), 4),
            "search_scoring_p50_ms": pct(searches, 50),
            "search_scoring_p95_ms": pct(searches, 95),
            "vector_p50_ms": pct(vstage, 50),
            "numpy_brute_p50_ms": pct(brute, 50),
            "peak_rss_mb": peak_rss_mb(),
            "rss_mb": rss_mb(),
            "holds_vectors": (index_ := store.vector_index()) is not None and index_.holds_vectors,
            "store_build_s": round(store_build_s, 1),
            "queries": len(queries),
            "settings": asdict(settings),
            "search": search,
            "load_avg": [round(x, 2) for x in os.getloadavg()],
        }
        del matrix, live_matrix
        log(f"scale: recall@10 vs exact {np.mean(overlap):.4f}, numpy p50 {pct(brute, 50)} ms; serving processes")
        out["serving"] = [_in_new_process(serve_peak_rss, db, s, qvecs) for s in (settings, None)]
        out["ratio_vs_numpy"] = round(out["search_scoring_p50_ms"] / out["numpy_brute_p50_ms"], 2)
    return out


def _in_new_process(fn, *args):
    """``fn(*args)`` in a newly spawned Python process (its own peak RSS), returning its result."""
    from concurrent.futures import ProcessPoolExecutor
    from multiprocessing import get_context

    with ProcessPoolExecutor(max_workers=1, mp_context=get_context("spawn")) as pool:
        return pool.submit(fn, *args).result()


def _forget(store, ids: Sequence[str], now_s: float) -> None:
    """Soft-forget ``ids`` at ``now_s`` (one update of the forgotten flags, as a forget writes them)."""
    import pyarrow as pa

    store.update_memories(pa.table({"id": list(ids), "forgotten_time_s": pa.array([now_s] * len(ids), pa.float64())}))


def bench_scale(quick: bool = False, n: int | None = None, n_queries: int = 200, log: Log = _quiet) -> dict[str, Any]:
    """``memviz bench scale``: :func:`bench_scale_at` at ``n`` memories (default 1M, ``quick``: 200k) on the
    real memories (their real MiniLM embeddings) and ``n_queries`` real questions. Returns ``{"machine",
    "scale": {...}}``."""
    from memviz.bench.core import real_items
    from memviz.embed import MiniLMEmbedder
    from memviz.engine import embedding_text

    embedder = MiniLMEmbedder()
    out: dict[str, Any] = {"machine": machine()}
    items = real_items()
    log(f"scale: embedding {len(items)} real memories")
    vectors = embedder.encode([embedding_text(i.text, i.speaker) for i in items])
    size = n or (SCALE_QUICK_N if quick else SCALE_N)
    out["scale"] = bench_scale_at(size, items, vectors, real_queries(n_queries), embedder, log=log)
    out["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out
