"""Stores larger than the real text: the real memories' vectors replicated with small Gaussian noise
(:func:`replicate`, for the recall and scale stores of :mod:`memviz.bench.core` and :mod:`memviz.bench.scale`),
and a store grown with copies of its memories, linked as their originals (:func:`add_copies`, for the Graph and
Forgetting pages at 100k)."""

from __future__ import annotations

import numpy as np


def replicate(vectors: np.ndarray, n: int, noise: float = 0.02, seed: int = 0) -> tuple[np.ndarray, np.ndarray]:
    """``n`` unit vectors made from ``vectors`` (shape (m, d), unit rows): the originals first, then copies
    with Gaussian noise of standard deviation ``noise`` per dimension, re-normalised. Returns the vectors
    (float32, (n, d)) and, for each, the row of ``vectors`` it came from (shape (n,))."""
    m = vectors.shape[0]
    src = np.arange(n) % m
    out = vectors[src].astype(np.float32, copy=True)
    if n > m:
        rng = np.random.default_rng(seed)
        out[m:] += rng.normal(0.0, noise, size=(n - m, vectors.shape[1])).astype(np.float32)
        out[m:] /= np.linalg.norm(out[m:], axis=1, keepdims=True)
    return out, src


def add_copies(store, n: int, noise: float = 0.02, seed: int = 0, chunk: int = 10_000) -> int:
    """Grow ``store`` to ``n`` memories with copies of the memories it holds (its originals, in table order),
    written straight to the tables, not through the write pipeline. Copy ``c`` (1, 2, ...) of an original has
    ``#c`` after its id and after its conversation (the session id's part before its last ``:``, so each copy of
    a conversation is a conversation of its own, :func:`memviz.linking.scope_of`), the original's vector plus
    Gaussian noise (:func:`replicate`), the original's other columns, and the original's links, between the
    same copy ``c`` of both ends: each copy of a conversation is linked as the original was. ``chunk`` memories
    per committed batch, each with one ImportEvent. Returns the number of memories written (0 when the store
    holds ``n`` or more)."""
    import uuid

    import pandas as pd
    import pyarrow as pa

    from memviz.events import ImportEvent
    from memviz.store import LINKS_SCHEMA

    orig = store.memories_table(columns=store.memories.schema.names)
    m = orig.num_rows
    if n <= m:
        return 0
    dim = store.dim
    vecs, _ = replicate(orig.column("vector").combine_chunks().flatten().to_numpy().reshape(m, dim), n, noise, seed)
    ids, sessions = orig.column("id").to_pylist(), orig.column("session_id").to_pylist()
    now = float(max(orig.column("created_time_s").to_pylist()))
    links = store.links_table().to_pandas()
    at = pd.Index(ids)
    links = links.assign(src=at.get_indexer(links["source_id"]), tgt=at.get_indexer(links["target_id"]))
    links = links[(links["src"] >= 0) & (links["tgt"] >= 0)]

    def copy_session(session: str | None, c: int) -> str | None:
        conv, sep, rest = (session or "").rpartition(":")
        return f"{conv}#{c}{sep}{rest}" if sep else session

    for start in range(m, n, chunk):
        rows = np.arange(start, min(n, start + chunk))
        src, copy = rows % m, rows // m
        batch = uuid.uuid4().hex
        new_ids = [f"{ids[j]}#{c}" for j, c in zip(src, copy)]
        tbl = orig.take(pa.array(src))
        for name, values in (
            ("id", pa.array(new_ids, pa.string())),
            ("session_id", pa.array([copy_session(sessions[j], c) for j, c in zip(src, copy)], pa.string())),
            ("vector", pa.FixedSizeListArray.from_arrays(pa.array(vecs[rows].reshape(-1), pa.float32()), dim)),
            ("batch_id", pa.array([batch] * len(rows), pa.string())),
        ):
            tbl = tbl.set_column(tbl.schema.get_field_index(name), name, values)
        made = pd.DataFrame({"src": src, "copy": copy}).merge(links, on="src")
        made = made[made["copy"] * m + made["tgt"] < n]  # both ends stored
        lk = pa.table(
            {
                "source_id": [f"{ids[j]}#{c}" for j, c in zip(made["src"], made["copy"])],
                "target_id": [f"{ids[j]}#{c}" for j, c in zip(made["tgt"], made["copy"])],
                "kind": made["kind"].tolist(),
                "weight": pa.array(made["weight"].to_numpy(np.float32)),
                "created_time_s": [now] * len(made),
                "batch_id": [batch] * len(made),
            },
            schema=LINKS_SCHEMA,
        )
        src_info = {"path": "memviz.bench.add_copies", "format": "benchmark"}
        event = ImportEvent(time_s=now, batch_id=batch, source=src_info, n_written=len(rows))
        store.commit_batch(batch, tbl, lk, [event])
    store.refresh_text_index()
    return n - m
