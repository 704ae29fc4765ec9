"""A store an older memviz wrote (its memories table without the ``metadata`` and ``scope`` columns) opens:
writable, the columns are added (``metadata`` all null, ``scope`` all ``""``, the default scope) and everything
works; a version restore to before the upgrade keeps the column. (On
a read-only mount such a store is refused in one line: ``tests/quality/test_readonly_open.py``.)"""

from __future__ import annotations

from pathlib import Path

import lancedb

from memviz.filters import MemoryFilter
from memviz.models import MemoryInput
from memviz.store import MemoryStore

from support import old_store


def test_a_writable_old_store_gets_the_column_and_works(make_engine, tmp_path: Path) -> None:
    folder = old_store(make_engine, tmp_path)
    store = MemoryStore(folder)
    assert {"metadata", "scope"} <= set(store.memories.schema.names)
    assert [(m.metadata, m.scope) for m in store.get(["a", "b"])] == [(None, ""), (None, "")]
    assert store.stats()["scopes"] == {"": 2} and store.count(where=MemoryFilter(scopes=[""])) == 2
    engine = make_engine("old")
    engine.write([MemoryInput(text="Imported.", id="c", metadata={"k": 1}, scope="alice")])
    assert engine.get("c").metadata == {"k": 1} and engine.get("c").scope == "alice"
    assert engine.store.stats()["scopes"] == {"": 2, "alice": 1}
    before = store.version()
    MemoryStore(folder)  # a store that has the column is not touched again
    assert MemoryStore(folder).version() == before


def test_a_version_from_before_the_upgrade_is_read_and_restored_with_the_column(make_engine, tmp_path: Path) -> None:
    folder = old_store(make_engine, tmp_path)
    old_version = lancedb.connect(str(folder)).open_table("memories").version
    store = MemoryStore(folder)
    assert store.memories_table_at(old_version).column("metadata").null_count == 2
    assert [m.scope for m in store.get(["a", "b"])] == ["", ""]
    store.restore_version(old_version)
    assert {"metadata", "scope"} <= set(store.memories.schema.names) and store.count() == 2
    assert store.stats()["scopes"] == {"": 2}
