"""The full-text search's own table handle (memviz.store.search.Search.search_table): it answers as the store's
handle does, sees other handles' commits and index rebuilds without a reopen, and an empty store finds nothing;
updated rows count towards the index's rebuild."""

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


def test_updated_rows_count_towards_the_text_index_rebuild(tmp_path, monkeypatch):
    # An update rewrites its rows out of the full-text index (LanceDB then scans them on every search): enough
    # of them (reinforcements, forgets) rebuild it as appends do; a share of the table, when larger, instead.
    from memviz.store import MemoryStore, search

    store = MemoryStore(tmp_path / "db")
    _commit(store, {f"a{i}": f"mango canal {i}" for i in range(200)}, "b1")
    unindexed = lambda: store.memories.index_stats("text_idx").num_unindexed_rows  # noqa: E731
    assert unindexed() == 0

    def forget(ids):
        store.update_memories(pa.table({"id": ids, "forgotten_time_s": pa.array([T0] * len(ids), pa.float64())}))

    forget([f"a{i}" for i in range(search.TEXT_INDEX_LAG_ROWS - 1)])
    assert unindexed() == search.TEXT_INDEX_LAG_ROWS - 1
    forget(["a199"])
    assert unindexed() == 0
    monkeypatch.setattr(search, "TEXT_INDEX_LAG_SHARE", 0.5)  # 100 of these 200 rows
    forget([f"a{i}" for i in range(99)])
    assert unindexed() == 99
    forget(["a150"])
    assert unindexed() == 0
    assert set(store.text_search("mango", 300, LIVE)[0]) == {f"a{i}" for i in range(99, 199)} - {"a150"}
