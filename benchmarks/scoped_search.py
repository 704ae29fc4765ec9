"""A scoped search in a large store: the in-memory index's scoped search (only the scope's rows scored) against
the unscoped one and LanceDB's exact search with the same scope as a prefilter; the overlap of their top 10.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scoped_search.py --store DIR [--n 100000] [--queries 100]

``--store``: a store of real memories with scopes and real vectors, e.g. the one ``memviz eval locomo
--one-store`` makes of LoCoMo dev (``<db>/all-groups``: 4,124 memories, 7 conversations). It is replicated to
``--n`` memories with small noise (:func:`memviz.bench.recall_store`; each copy of a conversation is a scope of
its own, ``conv-26/copy3``), and the LoCoMo questions (real model) are searched in their conversation's scope.
Prints one JSON object: p50 ms of each search, the top-10 overlap, wall and CPU seconds and the load average.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from pathlib import Path

import numpy as np

from memviz.bench import recall_store
from memviz.bench.core import pct
from memviz.clock import SimulatedClock
from memviz.embed import MiniLMEmbedder
from memviz.engine import MemoryEngine, RecallConfig
from memviz.filters import LIVE, scoped
from memviz.importers import load
from memviz.paths import SHARED_DATA
from memviz.store import MemoryStore, memories_from_table


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn, *args) -> tuple[float, object]:
    t = time.perf_counter()
    out = fn(*args)
    return (time.perf_counter() - t) * 1000, out


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--store", type=Path, required=True)
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "locomo" / "locomo_dev.json")
    ap.add_argument("--n", type=int, default=100_000)
    ap.add_argument("--queries", type=int, default=100)
    args = ap.parse_args()
    load_before, t0, c0 = os.getloadavg()[0], time.perf_counter(), _cpu_s()
    source = MemoryStore(args.store, create=False)
    items = memories_from_table(source.memories_table())
    ids, vectors = source.vectors()
    at = {i: n for n, i in enumerate(ids)}
    vectors = vectors[[at[m.id] for m in items]]
    questions = [q for q in load(args.data, "locomo").questions if q.evidence_ids][: args.queries]
    embedder = MiniLMEmbedder()
    qvecs = embedder.encode([q.question for q in questions])
    now = max(m.event_time_s or 0.0 for m in items) + 86400.0
    out: dict = {"n": args.n, "queries": len(questions), "load_before": load_before}
    with tempfile.TemporaryDirectory() as db:
        store = recall_store(db, items, vectors, args.n, now)
        plain = MemoryStore(db, vector_index=False)
        store.vector_index().current()
        scopes = store.stats()["scopes"]
        out["scopes"], out["scope_size_median"] = len(scopes), float(np.median(list(scopes.values())))
        runs: dict[str, list[float]] = {"index_all": [], "index_scoped": [], "lancedb_scoped": []}
        overlap = []
        for q, v in zip(questions, qvecs, strict=True):
            where = scoped(LIVE, q.group)
            store.vector_search(v, 10, where)  # the scope's rows, found once per table version
            ms, _ = _timed(store.vector_search, v, 10, LIVE)
            runs["index_all"].append(ms)
            ms, (got, _) = _timed(store.vector_search, v, 10, where)
            runs["index_scoped"].append(ms)
            ms, (exact, _) = _timed(plain.vector_search, v, 10, where)
            runs["lancedb_scoped"].append(ms)
            overlap.append(len(set(got) & set(exact)) / max(1, len(exact)))
        engine = MemoryEngine(store, embedder, SimulatedClock(now))
        recall = {"all": [], "scoped": []}
        for q in questions:
            for name, scope in (("all", None), ("scoped", q.group)):
                trace = engine.recall(q.question, RecallConfig(k=10, reinforce=False, scope=scope)).trace
                recall[name].append(trace.total_ms - trace.stage("embed").duration_ms)
        out |= {f"{k}_p50_ms": pct(v, 50) for k, v in runs.items()}
        out |= {f"recall_{k}_search_scoring_p50_ms": pct(v, 50) for k, v in recall.items()}
        out["recall_at_10_scoped_vs_lancedb"] = round(float(np.mean(overlap)), 4)
    out |= {
        "wall_s": round(time.perf_counter() - t0, 1),
        "cpu_s": round(_cpu_s() - c0, 1),
        "load_after": os.getloadavg()[0],
    }
    print(json.dumps(out))


if __name__ == "__main__":
    main()
