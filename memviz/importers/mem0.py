"""mem0 importer: a mem0 open-source local store (``mem0.Memory`` with its default SQLite history and an
on-disk Qdrant vector store), with its history.

What is read (nothing is written: the history is opened read-only, the Qdrant folder is read from a private
copy with the qdrant-client package mem0 itself uses):

- the history database (``history_db_path``, by default ``~/.mem0/history.db``): its ``history`` table, one row
  per ADD / UPDATE / DELETE of a memory with the old and new text, in the order mem0 wrote them (rowid);
- the vector store's payloads (``vector_store.config.path``, a Qdrant local folder, collection ``mem0`` unless
  ``--collection`` says otherwise): each current memory's text (``data``) and fields.

``PATH`` is the history file or a folder holding ``history.db``; the Qdrant folder is ``--vectors`` or else the
folder beside the history (or one below it) that holds a Qdrant ``meta.json``.

Each memory keeps mem0's id (as id and source id), its latest text, its payload without ``data`` as metadata,
``created_at`` as its event time, and its history as events at mem0's own times: the ADD is its ``write``
event (with the text it was added with), each UPDATE an ``update`` event (old and new text) at its
``updated_at``, a DELETE a ``forget`` event at its ``updated_at``, after which the memory is forgotten (text:
the last it had). Speaker: ``actor_id`` or ``role``; session: ``run_id``, ``agent_id`` or ``user_id`` (a
deleted memory's payload is gone: ``mem0``); scope: mem0's own scoping, the present ones of ``user_id``,
``agent_id`` and ``run_id`` joined by ``:`` (``alice``, ``alice:support-bot``; none, or a deleted memory:
``""``). mem0's vectors, entity store and message buffer are not read.
"""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any
from urllib.request import pathname2url

from memviz.errors import SchemaError
from memviz.importers._base import Dataset, Source, StoreOptions, engine_package, snapshot, time_value
from memviz.models import Change, MemoryInput

HISTORY_FILE = "history.db"
COLLECTION = "mem0"
GROUP = "mem0"
_COLUMNS = "rowid, memory_id, old_memory, new_memory, event, created_at, updated_at, actor_id, role"
SESSION_KEYS = ("run_id", "agent_id", "user_id")
SCOPE_KEYS = ("user_id", "agent_id", "run_id")  # mem0 scopes a memory by these, broadest first


def load_mem0(path: Path, src: Source, options: StoreOptions) -> Dataset:
    """Read a mem0 local store: its history file (``path``, or ``path/history.db``) and its Qdrant payloads.
    Raises SchemaError for a missing or corrupt history database, one without mem0's ``history`` table, an
    unknown event, a missing vector store or collection."""
    history = path / HISTORY_FILE if path.is_dir() else path
    rows = _history(src, history)
    vectors = Path(options.vectors) if options.vectors else _find_qdrant(src, history.parent)
    payloads = _payloads(src, vectors, options.collection or COLLECTION)
    by_id: dict[str, list[sqlite3.Row]] = {}
    for r in rows:
        by_id.setdefault(r["memory_id"], []).append(r)
    memories = [
        src.memory(f"memory {mid!r}", _memory(src, mid, by_id.get(mid, []), payloads.get(mid)))
        for mid in dict.fromkeys([*by_id, *payloads])
    ]
    return src.require_memories(Dataset(format="mem0", path=src.path, groups={GROUP: memories}))


def _history(src: Source, file: Path) -> list[sqlite3.Row]:
    """The rows of mem0's ``history`` table in the order they were written, read-only."""
    if not file.is_file():
        raise src.error("", f"no mem0 history database at {file}")
    try:
        con = sqlite3.connect(f"file:{pathname2url(str(file.resolve()))}?mode=ro", uri=True)
    except sqlite3.Error as e:
        raise src.error("", f"cannot open {file.name}: {e}") from e
    try:
        con.row_factory = sqlite3.Row
        return con.execute(f"SELECT {_COLUMNS} FROM history ORDER BY rowid").fetchall()
    except sqlite3.OperationalError as e:
        raise src.error("", f"{file.name} is not a mem0 history database ({e})") from e
    except sqlite3.DatabaseError as e:  # "file is not a database", "database disk image is malformed"
        raise src.error("", f"{file.name} is not a readable SQLite database ({e})") from e
    finally:
        con.close()


def _find_qdrant(src: Source, folder: Path) -> Path:
    """The Qdrant local folder (holding ``meta.json``) at or below ``folder`` (two levels at most)."""
    for candidate in [folder, *sorted(folder.glob("*")), *sorted(folder.glob("*/*"))]:
        if (candidate / "meta.json").is_file() and (candidate / "collection").is_dir():
            return candidate
    raise src.error("", f"no Qdrant vector store (a folder with meta.json) in {folder}: give it with --vectors")


def _payloads(src: Source, folder: Path, collection: str) -> dict[str, dict[str, Any]]:
    """{memory id: payload} of the Qdrant collection, read from a copy of ``folder``."""
    qdrant = engine_package("qdrant_client", "mem0")

    with snapshot(src, folder) as copy:
        try:
            client = qdrant.QdrantClient(path=str(copy))
        except Exception as e:
            raise src.error("", f"cannot read the Qdrant store {folder}: {e}") from e
        try:
            names = sorted(c.name for c in client.get_collections().collections)
            if collection not in names:
                raise src.error("", f"no collection {collection!r} in {folder}; it has: {', '.join(names) or 'none'}")
            out: dict[str, dict[str, Any]] = {}
            offset = None
            while True:
                points, offset = client.scroll(collection, limit=1000, offset=offset, with_payload=True)
                out.update((str(p.id), dict(p.payload or {})) for p in points)
                if offset is None:
                    return out
        except SchemaError:
            raise
        except Exception as e:
            raise src.error("", f"cannot read collection {collection!r} of {folder}: {e}") from e
        finally:
            client.close()


def _memory(src: Source, memory_id: str, rows: list[sqlite3.Row], payload: dict[str, Any] | None) -> MemoryInput:
    """One mem0 memory from its history rows (oldest first) and its payload (None: not in the vector store)."""
    where = f"memory {memory_id!r}"
    changes: list[Change] = []
    added: sqlite3.Row | None = None
    last_text = ""
    for r in rows:
        at = f"{where}, history row {r['rowid']}"
        t_s = time_value(src, r["updated_at"] or r["created_at"], at, "updated_at")
        if r["event"] == "ADD":
            added = added or r
            last_text = r["new_memory"] or last_text
        elif r["event"] == "UPDATE":
            changes.append(
                Change("update", _when(src, t_s, at), r["new_memory"] or "", r["old_memory"] or "", "mem0 UPDATE")
            )
            last_text = r["new_memory"] or last_text
        elif r["event"] == "DELETE":
            changes.append(Change("forget", _when(src, t_s, at), r["old_memory"] or last_text, reason="mem0 DELETE"))
            last_text = r["old_memory"] or last_text
        else:
            raise src.error(at, f"unknown mem0 event {r['event']!r} (expected ADD, UPDATE or DELETE)")
    payload = payload or {}
    text = payload.get("data") or last_text
    if not isinstance(text, str) or not text.strip():
        raise src.error(where, "no text: neither its payload nor its history holds one")
    created = payload.get("created_at") or (added["created_at"] if added is not None else None)
    first = rows[0] if rows else None
    speaker = payload.get("actor_id") or payload.get("role") or (first and (first["actor_id"] or first["role"]))
    session = next((payload[k] for k in SESSION_KEYS if payload.get(k)), GROUP)
    return MemoryInput(
        text=text,
        speaker=str(speaker or ""),
        session_id=str(session),
        source_id=memory_id,
        event_time_s=time_value(src, created, where, "created_at"),
        kind="semantic",
        id=memory_id,
        dataset="mem0",
        scope=":".join(str(payload[k]) for k in SCOPE_KEYS if payload.get(k)),
        verbatim=True,
        metadata={k: v for k, v in payload.items() if k != "data"} or None,
        written_s=None if added is None else time_value(src, added["created_at"], where, "created_at"),
        first_text=(added["new_memory"] or "") if added is not None else "",
        history=tuple(changes),
    )


def _when(src: Source, t_s: float | None, where: str) -> float:
    if t_s is None:
        raise src.error(where, "no time (created_at / updated_at)")
    return t_s
