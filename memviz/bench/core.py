"""Benchmark core: the machine, the real data, ingest against the raw encoder, recall latency against a numpy
brute force, and forgetting recompute (the peer store and the large ingest are in :mod:`memviz.bench.peers`).

Every function returns plain JSON-able dicts; ``memviz bench`` and ``benchmarks/run_all.py`` print them.
Times are wall-clock milliseconds (``*_ms``) or seconds (``*_s``); rates are memories per second
(``*_per_s``); ratios are dimensionless. Nothing here asserts a time: benchmarks measure, tests don't time.

The data are the shared real data sets (``../shared/data``): LoCoMo dev (4,124 turns, 1,347 questions), the
LongMemEval_S dev haystacks (14,856 turns, 30 questions) and MemoryBank (1,132 memories), 20,112 real
memories in all. Stores larger than the real text (100k) are made of the real embeddings replicated with
small Gaussian noise (see :func:`recall_store`).
"""

from __future__ import annotations

import os
import resource
import tempfile
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any, TypedDict

import numpy as np

from memviz.bench.copies import replicate
from memviz.paths import LOCOMO_DEV as LOCOMO
from memviz.paths import LONGMEMEVAL_S_DEV as LONGMEMEVAL_S
from memviz.paths import MEMORYBANK


class BenchSizes(TypedDict):
    """The sizes of one benchmark run: memories ingested, recall store sizes, queries per size, exact checks."""

    ingest_n: int
    sizes: tuple[int, ...]
    queries: int
    exact_queries: int


QUICK: BenchSizes = {"ingest_n": 1000, "sizes": (1000, 10000), "queries": 50, "exact_queries": 10}
FULL: BenchSizes = {"ingest_n": 4124, "sizes": (1000, 10000, 100000), "queries": 200, "exact_queries": 30}

Log = Callable[[str], None]


def _quiet(_msg: str) -> None:
    pass


def pct(xs: Sequence[float], p: float) -> float | None:
    """The ``p``-th percentile of ``xs`` rounded to 0.01, None for no values."""
    return round(float(np.percentile(np.asarray(xs, dtype=np.float64), p)), 2) if len(xs) else None


def peak_rss_mb(children: bool = False) -> float:
    """Peak resident set size of this process (or of its waited-for children) so far, in MB (Linux)."""
    who = resource.RUSAGE_CHILDREN if children else resource.RUSAGE_SELF
    return round(resource.getrusage(who).ru_maxrss / 1024, 1)


def cpu_s() -> float:
    """CPU seconds (user + system) this process's threads have used so far (``getrusage``)."""
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def machine() -> dict[str, Any]:
    """The machine a run is measured on: cores, CPU model, RAM, load average, versions."""
    import platform

    cpu = ""
    try:
        cpu = next(
            (
                ln.split(":", 1)[1].strip()
                for ln in Path("/proc/cpuinfo").read_text().splitlines()
                if ln.startswith("model name")
            ),
            "",
        )
    except OSError:
        pass
    mem_gb = None
    try:
        mem_gb = round(int(Path("/proc/meminfo").read_text().split()[1]) / 1024**2, 1)
    except (OSError, ValueError, IndexError):
        pass
    versions: dict[str, str | None] = {}
    for pkg in ("torch", "sentence-transformers", "lancedb", "numpy", "chromadb"):
        try:
            from importlib.metadata import version

            versions[pkg] = version(pkg)
        except Exception:
            versions[pkg] = None
    return {
        "cores": os.cpu_count(),
        "cpu": cpu,
        "ram_gb": mem_gb,
        "load_avg": [round(x, 2) for x in os.getloadavg()],
        "python": platform.python_version(),
        "versions": versions,
        "time_utc": time.strftime("%Y-%m-%d %H:%M:%S", time.gmtime()),
    }


# -- data ------------------------------------------------------------------------------------------
def real_items(n: int | None = None, order: Sequence[str] = ("locomo", "longmemeval", "memorybank")):
    """The first ``n`` (all when None) real memories (MemoryInput, stable ids): LoCoMo dev, then the
    LongMemEval_S haystacks, then MemoryBank, in file order (20,112 in all). Raises FileNotFoundError when
    the shared data is missing."""
    from memviz.importers import as_format, load

    paths = {"locomo": LOCOMO, "longmemeval": LONGMEMEVAL_S, "memorybank": MEMORYBANK}
    items: list = []
    for name in order:
        if n is not None and len(items) >= n:
            break
        if not paths[name].exists():
            raise FileNotFoundError(f"shared data file missing: {paths[name]}")
        items += load(paths[name], as_format(name)).items()
    return items if n is None else items[:n]


def real_queries(n: int) -> list[str]:
    """``n`` real questions, LongMemEval_S and LoCoMo alternating (LongMemEval has only 30)."""
    from memviz.importers import load

    lme = [q.question for q in load(LONGMEMEVAL_S, "longmemeval").questions]
    loc = [q.question for q in load(LOCOMO, "locomo").questions]
    out: list[str] = []
    for a, b in zip(lme + [None] * len(loc), loc):
        out += [x for x in (a, b) if x]
        if len(out) >= n:
            break
    return out[:n]


# -- ingest ----------------------------------------------------------------------------------------
def bench_ingest(
    items, embedder=None, batch_size: int = 256, queries: Sequence[str] = (), log: Log = _quiet
) -> dict[str, Any]:
    """Memories/s of the full write pipeline (``MemoryEngine.ingest``: normalise, keywords, importance,
    contexts, embeddings, links, LanceDB appends, events) against the raw ``SentenceTransformer.encode``
    throughput of the same encoder texts (each memory with its context, as a new store's
    :data:`memviz.store.settings.DEFAULT` makes them: :func:`memviz.context.encoder_text`), in the same run
    (raw first, then the pipeline into a new temporary store).

    Returns ``{"n", "batch_size", "pipeline_per_s", "raw_encode_per_s", "ratio" (pipeline / raw; goal >= 0.90),
    "same_encoder_texts" (the fraction of stored contexts equal to those the raw encoder read: 1.0 when the
    comparison is fair), "stage_s" (summed ``WriteReport.timings_ms`` per stage, seconds),
    "recall_p50_ms"/"recall_p95_ms" (end-to-end recall of ``queries`` on the ingested store, for the peer
    comparison), "peak_rss_mb", "cpu_s" (CPU seconds of all threads: raw and pipeline)}``.
    """
    from memviz.clock import SimulatedClock
    from memviz.context import contexts, encoder_text
    from memviz.embed import MiniLMEmbedder
    from memviz.engine import MemoryEngine, RecallConfig
    from memviz.store import MemoryStore
    from memviz.store.settings import DEFAULT
    from memviz.text import normalise

    embedder = embedder or MiniLMEmbedder()
    normalised = [normalise(i.text) for i in items]
    ctxs = contexts(items, normalised, DEFAULT.context, lambda _sessions, _n: {})  # a new store holds no turns
    texts = [encoder_text(tx, i.speaker, c) for tx, i, c in zip(normalised, items, ctxs, strict=True)]
    model = getattr(embedder, "model", None)
    encode = (
        (
            lambda xs: model.encode(
                xs,
                batch_size=embedder.batch_size,
                normalize_embeddings=True,
                convert_to_numpy=True,
                show_progress_bar=False,
            )
        )
        if model is not None
        else embedder.encode
    )
    encode(texts[:64])  # warm-up
    log(f"ingest: raw encode of {len(texts)} texts")
    t, c = time.perf_counter(), cpu_s()
    encode(texts)
    raw_s, raw_cpu_s = time.perf_counter() - t, cpu_s() - c
    out: dict[str, Any] = {"n": len(items), "batch_size": batch_size}
    with tempfile.TemporaryDirectory() as db:
        store = MemoryStore(db, settings=DEFAULT)
        engine = MemoryEngine(store, embedder, SimulatedClock(0.0))
        log(f"ingest: pipeline of {len(items)} memories")
        t, c = time.perf_counter(), cpu_s()
        reports = engine.ingest(items, batch_size=batch_size)
        pipe_s, pipe_cpu_s = time.perf_counter() - t, cpu_s() - c
        stored = store.memories_table(columns=["id", "context"])
        context_of = dict(zip(stored.column("id").to_pylist(), stored.column("context").to_pylist(), strict=True))
        same = np.mean([context_of.get(i.id) == x for i, x in zip(items, ctxs, strict=True)]) if items else 1.0
        stages: dict[str, float] = {}
        for r in reports:
            for k, v in r.timings_ms.items():
                stages[k] = stages.get(k, 0.0) + v / 1000
        out |= {
            "pipeline_per_s": round(len(items) / pipe_s, 1),
            "raw_encode_per_s": round(len(items) / raw_s, 1),
            "ratio": round(raw_s / pipe_s, 3),
            "pipeline_s": round(pipe_s, 2),
            "raw_encode_s": round(raw_s, 2),
            "cpu_s": {"raw_encode": round(raw_cpu_s, 1), "pipeline": round(pipe_cpu_s, 1)},
            "same_encoder_texts": round(float(same), 4),
            "stage_s": {k: round(v, 2) for k, v in stages.items()},
            "links": sum(r.n_links for r in reports),
        }
        if queries:
            cfg = RecallConfig(k=10, reinforce=False)
            engine.recall(queries[0], cfg)
            totals = []
            for q in queries:
                t = time.perf_counter()
                engine.recall(q, cfg)
                totals.append((time.perf_counter() - t) * 1000)
            out |= {"recall_queries": len(queries), "recall_p50_ms": pct(totals, 50), "recall_p95_ms": pct(totals, 95)}
    out["peak_rss_mb"] = peak_rss_mb()
    return out


# -- recall ----------------------------------------------------------------------------------------
def recall_store(db: str, items, vectors: np.ndarray, n: int, now_s: float, chunk: int = 20000, **store_kwargs):
    """A store of ``n`` memories written straight to the tables (not through the write pipeline: no keywords
    or links, which recall latency does not depend on at default weights): the real ``items`` with their real
    ``vectors`` (unit rows, one per item), then, beyond ``len(items)``, noisy replicas (:func:`replicate`)
    whose ids and sessions carry a ``#copy`` suffix and whose scopes a ``/copy<n>`` one (each copy of a
    conversation is a conversation of its own). Returns the MemoryStore."""
    import uuid

    import pyarrow as pa

    from memviz.decay import initial_stability_days
    from memviz.events import ImportEvent
    from memviz.store import LINKS_SCHEMA, MEMORIES_SCHEMA, MemoryStore
    from memviz.text import importance

    store = MemoryStore(db, **store_kwargs)
    vecs, src = replicate(vectors, n)
    imp_real = np.array([importance(i.text)[0] for i in items], dtype=np.float64)
    for start in range(0, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        s = src[rows]
        copy = rows // len(items)
        ids = [items[j].id + (f"#{c}" if c else "") for j, c in zip(s, copy)]
        et = [items[j].event_time_s for j in s]
        imp = imp_real[s]
        batch = uuid.uuid4().hex
        k = len(rows)
        tbl = pa.table(
            {
                "id": ids,
                "text": [items[j].text for j in s],
                "vector": pa.FixedSizeListArray.from_arrays(
                    pa.array(vecs[rows].reshape(-1), pa.float32()), vecs.shape[1]
                ),
                "kind": [items[j].kind for j in s],
                "speaker": [items[j].speaker for j in s],
                "session_id": [items[j].session_id + (f"#{c}" if c else "") for j, c in zip(s, copy)],
                "source_id": [items[j].source_id for j in s],
                "dataset": [items[j].dataset for j in s],
                "event_time_s": pa.array(et, pa.float64()),
                "created_time_s": [now_s] * k,
                "importance": pa.array(imp, pa.float32()),
                "stability_days": initial_stability_days(imp),
                "recall_count": pa.array([0] * k, pa.int32()),
                "last_recalled_s": pa.nulls(k, pa.float64()),
                "forgotten_time_s": pa.nulls(k, pa.float64()),
                "keywords": pa.array([[]] * k, pa.list_(pa.string())),
                "access_times_s": pa.array([[e if e is not None else now_s] for e in et], pa.list_(pa.float64())),
                "batch_id": [batch] * k,
                "metadata": pa.nulls(k, pa.string()),
                "scope": [items[j].scope + (f"/copy{c}" if c else "") for j, c in zip(s, copy)],
            },
            schema=MEMORIES_SCHEMA,
        )
        store.commit_batch(
            batch,
            tbl,
            LINKS_SCHEMA.empty_table(),
            [
                ImportEvent(
                    time_s=now_s, batch_id=batch, source={"path": "memviz.bench", "format": "benchmark"}, n_written=k
                )
            ],
        )
    store.refresh_text_index()
    return store


def numpy_brute(matrix: np.ndarray, q: np.ndarray, k: int = 10) -> np.ndarray:
    """The physical limit: one dot product over every vector and a top-k partition. Returns the top-k rows."""
    sims = matrix @ q
    part = np.argpartition(-sims, k)[:k]
    return part[np.argsort(-sims[part])]


def bench_recall_at(
    n: int,
    items,
    vectors: np.ndarray,
    queries: Sequence[str],
    embedder,
    exact_queries: int = 20,
    forgetting: bool = False,
    log: Log = _quiet,
) -> dict[str, Any]:
    """Recall latency on a store of ``n`` memories (:func:`recall_store`), default RecallConfig (k=10, 50
    candidates per retriever, vector + BM25 + RRF + scoring), no reinforcement.

    Returns ``{"n", "queries", "p50_ms"/"p95_ms" (end to end, query embedding included), "embed_p50_ms",
    "search_scoring_p50_ms"/"_p95_ms" (the recall's wall time after the query embedding: vector and
    full-text search, which run concurrently, fusion and scoring; the event log write excluded),
    "vector_p50_ms" (the vector stage alone), "numpy_brute_p50_ms" (dot product + top-10 over the same
    vectors), "ratio" (search+scoring p50 / numpy p50; goal <= 2), "vector_ratio" (vector stage p50 / numpy
    p50), "lancedb_brute_p50_ms" (LanceDB's exact search for the same queries, no in-memory index),
    "recall_at_10_vs_exact" (the vector search's top 10 against LanceDB's exact top 10, mean overlap),
    "index_load_ms", "replicated" (memories made by noisy replication), "stages_p50_ms" (p50 of each trace
    stage)}``; with ``forgetting``, ``"forgetting_recompute_ms"`` (retention of every memory and the
    threshold's suppressed list, as the forgetting page recomputes it).
    """
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine, RecallConfig
    from memviz.filters import LIVE
    from memviz.store import MemoryStore

    now = max(i.event_time_s or 0.0 for i in items) + 86400.0
    with tempfile.TemporaryDirectory() as db:
        t = time.perf_counter()
        store = recall_store(db, items, vectors, n, now)
        build_s = time.perf_counter() - t
        log(f"recall: store of {n} built in {build_s:.1f} s")
        engine = MemoryEngine(store, embedder, SimulatedClock(now))
        cfg = RecallConfig(k=10, reinforce=False)
        t = time.perf_counter()
        store.vector_index().current()
        index_load_ms = (time.perf_counter() - t) * 1000
        for q in queries[:3]:
            engine.recall(q, cfg)  # warm-up
        totals, embeds, searches, vstage = [], [], [], []
        per_stage: dict[str, list[float]] = {}
        for q in queries:
            t = time.perf_counter()
            res = engine.recall(q, cfg)
            totals.append((time.perf_counter() - t) * 1000)
            for st in res.trace.stages:
                per_stage.setdefault(st.name, []).append(st.duration_ms)
            embeds.append(res.trace.stage("embed").duration_ms)
            # Wall time after the embedding: the vector and full-text stages overlap (they run concurrently).
            searches.append(res.trace.total_ms - res.trace.stage("embed").duration_ms)
            vstage.append(res.trace.stage("vector").duration_ms)
        # The physical limit over the same vectors, and LanceDB's own exact search, for the same queries.
        _, matrix = store.vectors()
        matrix = np.ascontiguousarray(matrix)
        qvecs = embedder.encode(list(queries))
        brute = []
        for q in qvecs:
            t = time.perf_counter()
            numpy_brute(matrix, q, 10)
            brute.append((time.perf_counter() - t) * 1000)
        plain = MemoryStore(db, vector_index=False)
        lance, overlap = [], []
        for q in qvecs[:exact_queries]:
            t = time.perf_counter()
            exact, _ = plain.vector_search(q, 10, LIVE)
            lance.append((time.perf_counter() - t) * 1000)
            got, _ = store.vector_search(q, 10, LIVE)
            overlap.append(len(set(got) & set(exact)) / max(1, len(exact)))
        out: dict[str, Any] = {
            "n": n,
            "queries": len(queries),
            "p50_ms": pct(totals, 50),
            "p95_ms": pct(totals, 95),
            "embed_p50_ms": pct(embeds, 50),
            "search_scoring_p50_ms": pct(searches, 50),
            "search_scoring_p95_ms": pct(searches, 95),
            "vector_p50_ms": pct(vstage, 50),
            "numpy_brute_p50_ms": pct(brute, 50),
            "lancedb_brute_p50_ms": pct(lance, 50),
            "recall_at_10_vs_exact": round(float(np.mean(overlap)), 4) if overlap else None,
            "index": "exact in-memory numpy (memviz.vector_index)",
            "index_load_ms": round(index_load_ms, 1),
            "replicated": max(0, n - len(items)),
            "store_build_s": round(build_s, 1),
            "stages_p50_ms": {k: pct(v, 50) for k, v in per_stage.items()},
        }
        out["ratio"] = (
            round(out["search_scoring_p50_ms"] / out["numpy_brute_p50_ms"], 2) if out["numpy_brute_p50_ms"] else None
        )
        out["vector_ratio"] = (
            round(out["vector_p50_ms"] / out["numpy_brute_p50_ms"], 2) if out["numpy_brute_p50_ms"] else None
        )
        if forgetting:
            out |= bench_forgetting(engine)
    return out


def bench_forgetting(engine, threshold: float = 0.3, repeats: int = 3) -> dict[str, Any]:
    """The forgetting page's population recompute on ``engine``'s store: retention of every memory at a new
    "as of" time (``MemoryEngine.retention_frame``) and the list a threshold would suppress. Median of
    ``repeats`` runs, in ms."""
    from memviz.forgetting import suppressed

    times = []
    for r in range(repeats):
        t = time.perf_counter()
        frame = engine.retention_frame("exponential", now_s=engine.clock.now() + 86400.0 * (r + 1))
        suppressed(frame, threshold)
        times.append((time.perf_counter() - t) * 1000)
    return {"forgetting_recompute_ms": pct(times, 50), "forgetting_n": int(len(frame))}


def bench_recall(
    sizes: Sequence[int],
    n_queries: int,
    embedder=None,
    exact_queries: int = 20,
    forgetting_at: int | None = 100000,
    log: Log = _quiet,
) -> list[dict[str, Any]]:
    """:func:`bench_recall_at` for each store size in ``sizes`` on the real texts (LoCoMo dev, then
    LongMemEval_S, MemoryBank; replicated beyond their 20,112 memories) with ``n_queries`` real questions. One
    dict per size, in the order given."""
    from memviz.embed import MiniLMEmbedder
    from memviz.engine import embedding_text

    embedder = embedder or MiniLMEmbedder()
    items = real_items(max(sizes))
    log(f"recall: embedding {len(items)} real memories")
    vectors = embedder.encode([embedding_text(i.text, i.speaker) for i in items])
    queries = real_queries(n_queries)
    return [
        bench_recall_at(n, items, vectors, queries, embedder, exact_queries, forgetting=(n == forgetting_at), log=log)
        for n in sizes
    ]
