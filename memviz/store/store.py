"""The store: three LanceDB tables on disk (``memories``, ``links``, ``events``) and the operations on them.

A batch is committed by its events: memories and links of a batch are appended first, the batch's events
last, in one append (atomic in Lance). A batch whose rows exist without events (a process killed mid-write)
is removed when the store is next opened (:meth:`MemoryStore.recover`), and a batch that fails mid-way is
rolled back at once, so every batch is either fully present or absent.
"""

from __future__ import annotations

import os
import time
import uuid
from collections.abc import Sequence
from dataclasses import replace
from datetime import timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from memviz.errors import StoreError, UnknownMemoryError
from memviz.events import Event, RestoreVersionEvent, event_from_row
from memviz.filters import LinkFilter, MemoryFilter
from memviz.models import Link, Memory
from memviz.store import opening, sql
from memviz.store.ann import DEFAULT_ANN, AnnSettings
from memviz.store.ddb_lock import remote_lock
from memviz.store.inflight import InFlight
from memviz.store.journal import Journal, crash_point
from memviz.store.location import default_db_uri, default_storage_options
from memviz.store.locking import StoreLock
from memviz.store.search import Search
from memviz.store.settings import DEFAULT, StoreSettings, check_settings, from_schema
from memviz.store.tables import (
    EVENTS_SCHEMA,
    MEMORIES_SCHEMA,
    MEMORY_COLUMNS,
    empty_memories,
    links_from_table,
    memories_from_table,
    value_counts,
)

if TYPE_CHECKING:
    from memviz.vector_index import VectorIndex

E = TypeVar("E", bound=Event)


class MemoryStore(Search):
    """LanceDB tables of one memory store at ``uri`` (a folder, or an object-storage URI LanceDB supports).

    ``create``: make the store (folder and tables) when there is none at ``uri`` (writers: ingest, write); with
    False (reads) a missing store raises StoreNotFoundError and nothing is created. ``settings``: what a new
    store is made with (default :data:`memviz.store.settings.DEFAULT`); with ``require_settings`` an existing
    store must have been made with their context and tokenizer (else SettingsMismatchError). ``self.settings``
    are the store's (:mod:`memviz.store.settings`); the embedder is checked by the engine that uses it.
    Opening an existing store writes nothing, except that a writable one is cleaned of what a killed writer
    left (:meth:`recover`) and one an older memviz wrote gets the columns added since
    (:func:`memviz.store.opening.upgrade`); a read-only one is read as it is (see :mod:`memviz.store.opening`).

    ``ann``: how a large store's approximate vector index is built and searched (:mod:`memviz.store.ann`;
    from ``ann.min_rows`` memories on, a write builds it in the background); None: exact search only.

    Raises StoreError when the location cannot be opened, a table has the wrong schema or the store is damaged
    (a table, its manifests, a data file or index missing or cut short: named, never reset).
    """

    def __init__(
        self,
        uri: str | os.PathLike | None = None,
        storage_options: dict[str, str] | None = None,
        vector_index: bool = True,
        create: bool = True,
        settings: StoreSettings | None = None,
        require_settings: bool = False,
        ann: AnnSettings | None = DEFAULT_ANN,
    ):
        import lancedb

        self.uri = str(uri or default_db_uri())
        # Object-storage credentials/endpoints: given, else $MEMVIZ_STORAGE_OPTIONS (a JSON object).
        storage_options = storage_options if storage_options is not None else default_storage_options()
        self.storage_options = storage_options  # also for the full-text search's own handle (store/search.py)
        # An exact in-memory numpy index of the vectors (memviz.vector_index), per table version; False:
        # every vector search goes to LanceDB's brute force.
        self._vindex: VectorIndex | None = None
        self._use_vector_index = vector_index
        # Shared by every process that opens this (local) store: see memviz.store.locking.
        folder = Path(self.uri) if opening.is_local(self.uri) else None
        self.journal = Journal(self, folder)
        self.lock = StoreLock(
            folder, self.uri, on_acquire=self.journal.recover, remote=remote_lock(self.uri, storage_options)
        )
        if folder is not None and not create and not folder.is_dir():
            raise opening.missing(self.uri)
        try:
            if folder is not None and not folder.is_dir():
                folder.mkdir(parents=True, exist_ok=True)
            # read_consistency_interval=0: always see other writers' commits (two app tabs, CLI beside app).
            self.db = lancedb.connect(self.uri, read_consistency_interval=timedelta(0), storage_options=storage_options)
            existing = set(self.db.list_tables().tables)
        except Exception as e:
            raise StoreError(f"cannot open the memory store at {self.uri}: {opening.short(e)}") from e
        self.tables = opening.open_tables(self.db, self.uri, existing, create, settings or DEFAULT)
        self.inflight = InFlight(self.db, self.uri)  # the batches being written: memviz.store.inflight
        self.settings = from_schema(self.memories.schema)
        if settings is not None and require_settings:
            check_settings(self.uri, self.settings, settings)
        self._open_ann(ann)
        self.recover()
        opening.upgrade(self)  # after recovery: a rollback may restore a version from before the upgrade

    # -- tables -------------------------------------------------------------------------------------
    @property
    def memories(self):
        return self.tables["memories"]

    @property
    def links(self):
        return self.tables["links"]

    @property
    def events(self):
        return self.tables["events"]

    def count(self, table: str = "memories", where: MemoryFilter | LinkFilter | None = None) -> int:
        """Rows of ``table`` (``"memories"``, ``"links"`` or ``"events"``), optionally only those matching
        ``where`` (a MemoryFilter for memories, a LinkFilter for links)."""
        clause = sql.link_where(where) if isinstance(where, LinkFilter) else sql.memory_where(where)
        return self.tables[table].count_rows(clause)

    def version(self) -> int:
        """The memories table's current LanceDB version."""
        return self.memories.version

    def versions(self) -> list[dict[str, Any]]:
        """Every version of the memories table: ``[{"version", "timestamp", "rows"}]``, oldest first."""
        out = []
        for v in self.memories.list_versions():
            meta = v.get("metadata", {}) if isinstance(v, dict) else {}
            out.append(
                {
                    "version": v["version"],
                    "timestamp": v["timestamp"],
                    "rows": int(meta.get("total_rows", 0)) if meta else None,
                }
            )
        return out

    def stats(self) -> dict[str, Any]:
        """Counts: ``memories``, ``forgotten``, ``links`` (by kind), ``events``, ``sessions``, ``speakers``,
        ``scopes`` ({scope: memories}, :func:`memviz.store.tables.value_counts`) and the memories table ``version``."""
        mem = self.memories_table(columns=["session_id", "speaker", "forgotten_time_s", "scope"])
        kinds = self.links.search().select(["kind"]).limit(None).to_arrow().column("kind")
        by_kind = {str(v["values"]): int(v["counts"]) for v in pc.value_counts(kinds).to_pylist()} if len(kinds) else {}
        return {
            "memories": mem.num_rows,
            "forgotten": mem.num_rows - mem.column("forgotten_time_s").null_count,
            "links": by_kind,
            "events": self.count("events"),
            "sessions": len(pc.unique(mem.column("session_id"))),
            "speakers": len(pc.unique(mem.column("speaker"))),
            "scopes": value_counts(mem.column("scope")),
            "version": self.version(),
        }

    # -- batches ------------------------------------------------------------------------------------
    def commit_batch(self, batch_id: str, memories: pa.Table, links: pa.Table, events: Sequence[Event]) -> None:
        """Append a batch: memories, then links, then its events (the commit). All or nothing.

        On any failure the rows already appended for ``batch_id`` are deleted again and StoreError is raised.
        The batch is marked in flight meanwhile (:mod:`memviz.store.inflight`), so that another process's
        recovery leaves its rows alone; before the commit the mark is checked (and its lease renewed).
        """
        self.inflight.mark(batch_id)
        try:
            # The table versions this batch produced, recorded in its first event: restore_version maps a
            # memories version to the links version of the same moment with them.
            versions = {"memories": self.memories.version, "links": self.links.version}
            before_version = versions["memories"]
            if memories.num_rows:
                versions["memories"] = self.memories.add(memories).version
                if self._vindex is not None:
                    self._vindex.note_append(before_version, versions["memories"], memories)
                crash_point("write:memories")
            if links.num_rows:
                versions["links"] = self.links.add(links).version
                crash_point("write:links")
            if events:
                events = [replace(events[0], store_versions=versions), *events[1:]]
            self.inflight.renew(batch_id)
            self.append_events(events)
            crash_point("write:events")
        except Exception as e:
            raise self._rolled_back(batch_id, e) from e
        finally:
            self.inflight.clear(batch_id)
        self._after_commit(memories.num_rows)

    def _rolled_back(self, batch_id: str, e: BaseException) -> StoreError:
        """Delete the rows of a failed batch; the error to raise says why it failed (e.g. no space left) and
        whether the rollback did not finish (the next writable open removes the rows: no events commit them)."""
        error = opening.write_error(self.uri, e, f"writing batch {batch_id}")
        try:
            self._delete_batch(batch_id)
        except Exception:
            return StoreError(f"{error}; its rows are removed when the store is next opened with space to write")
        return StoreError(f"{error}; the batch was rolled back (the store is as it was before)")

    def _delete_batch(self, batch_id: str) -> None:
        where = sql.batch_where(batch_id)
        for name in ("memories", "links"):
            self.tables[name].delete(where)

    def recover(self) -> list[str]:
        """Finish what dead writers left: operations (rolled back or completed, see
        :mod:`memviz.store.journal`) and rows of batches that were never committed (no event carries their
        batch id), which are removed.

        Returns the batch ids removed. Called on open: a process killed between appending a batch's
        memories and its events leaves such rows behind. A batch another live writer is still writing (its
        in-flight marker, :func:`memviz.store.inflight.alive`) is left alone; markers of dead writers are
        removed, also those of a writer killed before its batch wrote any row, and marker files of an older
        memviz are migrated. A store this process cannot write (a read-only file system) is left as it is:
        nothing is removed and [] is returned.
        """
        if not opening.writable(self.uri):
            return []
        if self.journal.pending():
            # Taking the lock finishes the dead operations (StoreLock.on_acquire). Held by another process, it
            # is a live writer's own operation in progress: not waited for (an opener must not block on it).
            with self.lock.hold(wait=False):
                pass
        self.inflight.migrate_files()
        self.inflight.sweep()
        if self.count("memories") == 0 and self.count("links") == 0:
            return []
        written: set[str] = set()
        for name in ("memories", "links"):  # only the batch_id column: a full read would load every vector
            col = self.tables[name].search().select(["batch_id"]).limit(None).to_arrow().column("batch_id")
            written |= set(pc.unique(col).to_pylist())
        written.discard("")
        if not written:
            return []
        committed = self._committed_batches()
        orphans = sorted(written - committed - self.inflight.live_batches())
        if orphans:
            # A writer commits (appends its events) before it removes its marker: a batch whose marker was
            # gone may have been committed after the first read. Only a batch still without events is dead.
            orphans = sorted(set(orphans) - self._committed_batches())
        for b in orphans:
            self._delete_batch(b)
        return orphans

    def operation(self, op: str):
        """Context manager: run operation ``op`` all or nothing across the tables, under the write lock; see
        :meth:`memviz.store.journal.Journal.operation`. Yields the :class:`Operation`, whose ``commit(events)``
        records it."""
        return self.journal.operation(op)

    def table_versions(self) -> dict[str, int]:
        """The current versions of the memories and links tables: ``{"memories": v, "links": v}``."""
        return {"memories": self.memories.version, "links": self.links.version}

    def has_event(self, event_id: str) -> bool:
        """Whether the log holds the event ``event_id``."""
        return self.events.count_rows(sql.event_where(event_id)) > 0

    def _committed_batches(self) -> set[str]:
        """The batch ids the event log holds (a batch is committed by its events)."""
        col = self.events.search().select(["batch_id"]).limit(None).to_arrow().column("batch_id")
        return set(col.to_pylist())

    # -- events -------------------------------------------------------------------------------------
    def append_events(self, events: Sequence[E]) -> list[E]:
        """Append typed events in one atomic append; returns them with their ``id`` (kept when given, else a new
        one) and ``wall_time_s``."""
        if not events:
            return []
        now = time.time()
        # wall_time_s strictly increasing within one append, so replay order is the order they were given in.
        stored = [replace(e, id=e.id or uuid.uuid4().hex, wall_time_s=now + i * 1e-6) for i, e in enumerate(events)]
        rows = [
            {
                "id": e.id,
                "op": e.op,
                "time_s": float(e.time_s),
                "wall_time_s": e.wall_time_s,
                "memory_ids": list(e.memory_ids),
                "batch_id": e.batch_id,
                "payload": e.payload_json(),
            }
            for e in stored
        ]
        self.events.add(pa.Table.from_pylist(rows, schema=EVENTS_SCHEMA))
        return stored

    def list_events(
        self, memory_id: str | None = None, ops: Sequence[str] | None = None, limit: int | None = None
    ) -> list[Event]:
        """Typed events, oldest first (by ``wall_time_s``); optionally only those touching ``memory_id`` or of
        the given ops, and only the last ``limit``."""
        q = self.events.search()
        if (where := sql.events_where(memory_id, ops)) is not None:
            q = q.where(where)
        tbl = q.limit(None).to_arrow().sort_by([("wall_time_s", "ascending"), ("id", "ascending")])
        if limit is not None:
            tbl = tbl.slice(max(0, tbl.num_rows - limit))
        return [event_from_row(r) for r in tbl.to_pylist()]

    def events_table(self, columns: Sequence[str] | None = None, ops: Sequence[str] | None = None) -> pa.Table:
        """The raw event log (only the events of ``ops`` when given) as Arrow (no payload parsing), in storage
        order."""
        q = self.events.search()
        if ops:
            q = q.where(sql.events_where(None, ops))
        if columns:
            q = q.select(list(columns))
        return q.limit(None).to_arrow()

    # -- memories -----------------------------------------------------------------------------------
    def memories_table(
        self, columns: Sequence[str] | None = None, where: MemoryFilter | None = None, limit: int | None = None
    ) -> pa.Table:
        """Rows of the memories table matching ``where`` as Arrow (default: every column but the vector), in
        table order. A whole-table read of scalar columns is answered from the in-memory index (no scan) when
        it is loaded and current."""
        columns = list(columns or MEMORY_COLUMNS)
        clause = sql.memory_where(where)
        index = self.vector_index() if clause is None and limit is None else None
        if index is not None and set(columns) <= set(index.columns) and (cached := index.current_rows()) is not None:
            return cached.select(columns)
        q = self.memories.search().select(columns)
        if clause is not None:
            q = q.where(clause)
        return q.limit(limit).to_arrow()

    def memories_table_at(
        self, version: int, columns: Sequence[str] | None = None, where: MemoryFilter | None = None
    ) -> pa.Table:
        """Rows of the memories table as they were at LanceDB ``version`` (see :meth:`versions`).

        Reads through a separate, checked-out table handle that is never written to (LanceDB refuses writes on
        an old version anyway); the store's own handle stays on the latest version. Raises StoreError for a
        version that does not exist.
        """
        try:
            tbl = self.db.open_table("memories")
            tbl.checkout(int(version))
        except Exception as e:
            raise StoreError(f"the memories table has no version {version!r}: {e}") from e
        columns = list(columns or MEMORY_COLUMNS)
        have = [c for c in columns if tbl.schema.get_field_index(c) >= 0]  # a version from before an upgrade
        q = tbl.search().select(have)
        if (clause := sql.memory_where(where)) is not None:
            q = q.where(clause)
        rows = q.limit(None).to_arrow()
        for c in columns:
            if c not in have:
                rows = rows.append_column(
                    MEMORIES_SCHEMA.field(c), pa.nulls(rows.num_rows, MEMORIES_SCHEMA.field(c).type)
                )
        return rows.select(columns)

    def get(self, ids: Sequence[str]) -> list[Memory]:
        """Memories by id, in the order asked. Raises UnknownMemoryError if any id is missing."""
        ids = list(ids)
        if not ids:
            return []
        return memories_from_table(self.known_rows(ids))

    def known_rows(self, ids: Sequence[str]) -> pa.Table:
        """The rows of the memories ``ids`` (every column but the vector, in the order given), all of which must
        exist. Raises UnknownMemoryError naming the unknown ones."""
        found, tbl, _ = self.rows(ids)
        if missing := sorted(set(ids) - set(found)):
            raise UnknownMemoryError(missing)
        return tbl

    def rows(self, ids: Sequence[str]) -> tuple[list[str], pa.Table, np.ndarray]:
        """The memories ``ids`` that exist, in the order given (unknown ids dropped): their ids, their rows
        (every column but the vector, Arrow) and their unit vectors (float32, shape (n, dim)). From the
        in-memory index when there is one (a dictionary lookup, no table scan), else by ``id IN (...)``."""
        ids = list(ids)
        if (index := self.vector_index()) is not None:
            found, tbl, vecs = index.rows(ids)
            return (found, tbl, vecs) if vecs is not None else self._with_vectors(found, tbl)
        if not ids:
            return [], empty_memories(MEMORY_COLUMNS), np.zeros((0, self.dim), dtype=np.float32)
        tbl = self.memories_table(columns=["vector", *MEMORY_COLUMNS], where=MemoryFilter(ids=ids))
        row_of = {i: n for n, i in enumerate(tbl.column("id").to_pylist())}
        found = [i for i in ids if i in row_of]
        tbl = tbl.take(pa.array([row_of[i] for i in found], pa.int64()))
        from memviz.vector_index import unit_rows

        flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return found, tbl.select(MEMORY_COLUMNS), unit_rows(flat.reshape(len(found), self.dim))

    def existing_ids(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are stored (forgotten or not): a lookup in the in-memory index when there is one."""
        if not ids:
            return set()
        if (index := self.vector_index()) is not None:
            return index.existing(ids)
        tbl = self.memories_table(columns=["id"], where=MemoryFilter(ids=ids))
        return set(tbl.column("id").to_pylist())

    def vectors(self, where: MemoryFilter | None = None) -> tuple[list[str], np.ndarray]:
        """Ids and vectors (float32, shape (n, dim)) of the memories matching ``where`` (all by default).
        Without a filter, or with only "not forgotten" and scopes, they come from the in-memory vector index
        (read-only, unit-normalised, table order) while it holds them (not once an approximate index serves: a
        table read)."""
        where = where or MemoryFilter()
        if (index := self.vector_index()) is not None and where.only_flag_and_scopes and index.holds_vectors:
            return index.vectors(include_forgotten=where.forgotten is None, scopes=where.scopes)
        tbl = self.memories_table(columns=["id", "vector"], where=where)
        if tbl.num_rows == 0:
            return [], np.zeros((0, self.dim), dtype=np.float32)
        flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
        return tbl.column("id").to_pylist(), flat.reshape(tbl.num_rows, self.dim).astype(np.float32, copy=False)

    def update_memories(self, rows: pa.Table) -> None:
        """Update some columns of existing memories, matched on ``id`` (one commit). The rows are rewritten, so
        they leave the full-text and approximate indexes until their next rebuild (see ``_after_commit``)."""
        if rows.num_rows:
            before = self.memories.version
            after = self.memories.merge_insert("id").when_matched_update_all().execute(rows).version
            if self._vindex is not None:
                self._vindex.note_update(before, after, rows)
            self.journal.step("memories")
            self._after_commit(rows.num_rows)  # updated rows are rewritten: no longer in the indexes

    def delete_memories(self, ids: Sequence[str]) -> dict[str, int]:
        """Delete memories and every link touching them (hard prune). Returns the table versions produced
        (``{"memories", "links"}``), which the prune event records for :meth:`restore_version`."""
        m = self.memories.delete(sql.memory_where(MemoryFilter(ids=ids))).version
        self.journal.step("memories")
        lk = self.links.delete(sql.link_where(LinkFilter(touching=ids))).version
        self.journal.step("links")
        return {"memories": m, "links": lk}

    def restore_version(self, version: int, time_s: float | None = None) -> RestoreVersionEvent:
        """Restore the memories and links tables to their state at memories-table ``version`` and record it,
        all or nothing (one journalled operation); see :func:`memviz.store.versions.restore_version`. Raises
        StoreError for an unknown version."""
        from memviz.store.versions import restore_version

        with self.operation("restore_version") as op:
            return op.commit([restore_version(self, version, time.time() if time_s is None else time_s)])[0]

    # -- links --------------------------------------------------------------------------------------
    def links_table(self, where: LinkFilter | None = None) -> pa.Table:
        """Rows of the links table matching ``where`` (all by default) as Arrow."""
        q = self.links.search()
        if (clause := sql.link_where(where)) is not None:
            q = q.where(clause)
        return q.limit(None).to_arrow()

    def delete_links(self, where: LinkFilter) -> int:
        """Delete the links matching ``where``; returns the links table's new version."""
        version = self.links.delete(sql.link_where(where)).version
        self.journal.step("links")
        return version

    def links_of(self, memory_id: str) -> list[Link]:
        """Every link from or to ``memory_id``."""
        return links_from_table(self.links_table(LinkFilter(touching=(memory_id,))))
