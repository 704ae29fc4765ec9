"""A recall's two fixed costs, each against the way it was done before (issue 15, part 4), interleaved.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/query_path.py [--sizes 1000 10000] [--queries 200]

- Full-text search: LanceDB's sync query builder on the store's own handle (the path before: three schema reads
  and a version check per query) against ``MemoryStore.text_search`` (one call through its async handle), on a
  store of N real memories (:func:`memviz.bench.recall_store`; the vectors do not matter here), the same real
  questions, alternating which goes first.
- Query embedding: ``SentenceTransformer.encode([q])`` against ``SentenceTransformerEmbedder.encode_one(q)``
  (the real all-MiniLM-L6-v2), alternating likewise, and the cosine between the two vectors.

Wall p50 and CPU mean (all threads, ``time.process_time``) in ms, and the load average: on a shared machine
read the CPU times and the ratios. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
from collections.abc import Callable

import numpy as np


def interleaved(variants: dict[str, Callable[[str], object]], queries: list[str]) -> dict[str, dict[str, float]]:
    """Each query through every variant, the order rotated per query; wall p50 and CPU mean (ms) per variant."""
    names = list(variants)
    for q in queries[:5]:  # warm-up
        for fn in variants.values():
            fn(q)
    wall: dict[str, list[float]] = {k: [] for k in names}
    cpu: dict[str, list[float]] = {k: [] for k in names}
    for n, q in enumerate(queries):
        for k in names[n % len(names) :] + names[: n % len(names)]:
            c, t = time.process_time(), time.perf_counter()
            variants[k](q)
            wall[k].append((time.perf_counter() - t) * 1000)
            cpu[k].append((time.process_time() - c) * 1000)
    return {
        k: {"wall_p50_ms": round(float(np.median(wall[k])), 2), "cpu_mean_ms": round(float(np.mean(cpu[k])), 2)}
        for k in names
    }


def fulltext(n: int, queries: list[str]) -> dict:
    from lancedb.query import MultiMatchQuery

    from memviz.bench import real_items, recall_store

    items = real_items(min(n, 20112))
    rng = np.random.default_rng(0)
    vecs = rng.normal(size=(len(items), 384)).astype(np.float32)
    vecs /= np.linalg.norm(vecs, axis=1, keepdims=True)
    with tempfile.TemporaryDirectory() as db:
        store = recall_store(db, items, vecs, n, 2e9)
        columns = store.text_columns()

        def sync_builder(q: str) -> list[str]:
            tbl = store.memories.search(MultiMatchQuery(q, columns), query_type="fts")  # type: ignore[call-arg]
            return tbl.select(["id", "_score"]).limit(50).to_arrow().column("id").to_pylist()

        def text_search(q: str) -> list[str]:
            return store.text_search(q, 50)[0]

        same = sum(sync_builder(q) == text_search(q) for q in queries)
        out = interleaved({"lancedb_sync_builder": sync_builder, "text_search": text_search}, queries)
    return {"n": n, "same_ids": f"{same}/{len(queries)}"} | out


def embedding(queries: list[str]) -> dict:
    from memviz.embed import MiniLMEmbedder

    emb = MiniLMEmbedder()
    model = emb.model

    def st_encode(q: str) -> np.ndarray:
        return model.encode([q], normalize_embeddings=True, convert_to_numpy=True, show_progress_bar=False)[0]

    out = interleaved({"sentence_transformers_encode": st_encode, "encode_one": emb.encode_one}, queries)
    cos = [float(st_encode(q) @ emb.encode_one(q)) for q in queries]
    return out | {"cosine_min": round(min(cos), 7)}


def main() -> None:
    from memviz.bench import machine, real_queries

    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    queries = real_queries(args.queries)
    out: dict = {"machine": machine()}
    out["fulltext"] = [fulltext(n, queries) for n in args.sizes]
    out["embedding"] = embedding(queries)
    out["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
