"""The full-text search's own table handle (memviz.store.search.Search.text_table): it answers as the store's
handle does, sees other handles' commits and index rebuilds without a reopen, and an empty store finds nothing."""

from __future__ import annotations

import numpy as np
import pyarrow as pa

from memviz.events import ImportEvent
from memviz.filters import LIVE, MemoryFilter

from support import T0


def _commit(store, texts: dict[str, str], batch: str) -> None:
    from memviz.store import LINKS_SCHEMA, MEMORIES_SCHEMA

    k = len(texts)
    vecs = np.zeros((k, 384), dtype=np.float32)
    vecs[:, 0] = 1.0
    cols = {
        "id": list(texts),
        "text": list(texts.values()),
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), 384),
        "batch_id": [batch] * k,
    }
    tbl = pa.table({f.name: cols.get(f.name, pa.nulls(k, f.type)) for f in MEMORIES_SCHEMA}, schema=MEMORIES_SCHEMA)
    store.commit_batch(batch, tbl, LINKS_SCHEMA.empty_table(), [ImportEvent(time_s=T0, batch_id=batch)])


def _lancedb_sync_search(store, query: str, limit: int, clause: str | None = None) -> list[str]:
    """The same BM25 query through LanceDB's sync API on the store's own handle (the path before)."""
    from lancedb.query import MultiMatchQuery

    q = store.memories.search(MultiMatchQuery(query, store.text_columns()), query_type="fts")
    q = q.select(["id", "_score"]).limit(limit)
    if clause:
        q = q.where(clause, prefilter=True)
    return q.to_arrow().column("id").to_pylist()


def test_the_search_handle_answers_as_the_sync_api_and_sees_other_handles_commits(tmp_path):
    from memviz.store import MemoryStore

    store = MemoryStore(tmp_path / "db")
    assert store.text_search("mango", 5, LIVE)[0] == []  # an empty store: no index yet, nothing found
    _commit(store, {f"a{i}": f"mango canal {'word ' * i}" for i in range(20)}, "b1")
    store.refresh_text_index()
    ids, scores = store.text_search("mango", 10, None)
    assert ids == _lancedb_sync_search(store, "mango", 10) and len(ids) == 10
    assert (np.diff(scores) <= 0).all()
    only = MemoryFilter(ids=["a3", "a7"])
    assert sorted(store.text_search("mango", 10, only)[0]) == ["a3", "a7"]

    # Another handle on the same store (another process would be the same) writes and rebuilds the index:
    # this store's search handle, opened above, finds the new memory without a reopen.
    other = MemoryStore(tmp_path / "db")
    _commit(other, {"late": "papaya harbour"}, "b2")
    assert store.text_search("papaya", 5, None)[0] == ["late"]  # not yet indexed: LanceDB scans it
    other.refresh_text_index()
    assert store.text_search("papaya", 5, None)[0] == ["late"]
    assert store.text_search("papaya", 5, MemoryFilter(ids=["a1"]))[0] == []
