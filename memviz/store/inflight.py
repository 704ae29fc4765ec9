"""In-flight batch markers, kept in the store itself (the ``_inflight`` LanceDB table) on every backend.

A writer marks a batch before its first row is appended and clears the mark after its events (the commit):
one row per batch in flight, written by one Lance append and removed by one delete, so a marker is either
there whole or absent (a SIGKILL between creating a marker file and writing its pid used to leave an empty
file that recovery could not read). The row names the writer and carries a lease:

| column | meaning |
|---|---|
| ``batch_id`` | the batch being written |
| ``writer`` | ``host:pid:token`` (the token is random per process: a reused pid is another writer) |
| ``host``, ``pid`` | where the writer runs |
| ``started_wall_s`` | when the batch was marked (POSIX s) |
| ``expires_wall_s`` | the lease: :data:`LEASE_S` ahead, renewed before the commit once half of it is gone |

**The rule recovery applies** (:func:`alive`). A marker of this process is live when its token is this
process's. On the same host, a marker is live exactly while its pid runs (``kill(pid, 0)``): a writer paused
for any time stays live, a killed one is dead at once. From another host (object storage, a shared folder)
the pid cannot be checked: the marker is live until its lease expires by this host's clock, so the hosts'
clocks must agree to well within :data:`LEASE_S`. A writer whose marker was removed (judged dead: stalled past
its lease) finds out before it commits and rolls its batch back (:meth:`InFlight.renew`; a marker less than half
its lease old cannot have been judged dead, so it is not read again), so a batch is never committed after
recovery removed its rows; a live writer's batch is never removed.

Stores written before markers moved here kept them as files ``<store>/_inflight/<batch_id>`` holding a pid;
:meth:`InFlight.migrate_files` turns those of running processes into rows and deletes the rest (an empty file
is a writer killed before it wrote its pid: nothing of its batch was written) on the next writable open.
"""

from __future__ import annotations

import os
import socket
import time
import uuid
from contextlib import suppress
from pathlib import Path
from typing import Any

import pyarrow as pa

from memviz.errors import StoreError
from memviz.store import opening, sql

TABLE = "_inflight"
# The folder of the marker files of stores written before markers were rows (migrated on a writable open).
LEGACY_DIR = "_inflight"
# How long a marker stays live for another host without being renewed (s); renewed at every step of a batch.
LEASE_S = 120.0
SCHEMA = pa.schema(
    [
        pa.field("batch_id", pa.string(), nullable=False),
        pa.field("writer", pa.string(), nullable=False),
        pa.field("host", pa.string(), nullable=False),
        pa.field("pid", pa.int64(), nullable=False),
        pa.field("started_wall_s", pa.float64(), nullable=False),
        pa.field("expires_wall_s", pa.float64(), nullable=False),
    ]
)
HOST = socket.gethostname()
# This process's writer token: a new one per process (a pid reused after a restart is not this process).
TOKEN = uuid.uuid4().hex


def writer_id() -> str:
    """This process as a marker's ``writer``: ``host:pid:token``."""
    return f"{HOST}:{os.getpid()}:{TOKEN}"


def alive(marker: dict[str, Any], now_s: float | None = None) -> bool:
    """Whether the writer of ``marker`` (a row of the table) may still be writing its batch: the rule of the
    module docstring (this process by token; same host by pid; another host by lease at ``now_s``, default now)."""
    if marker["host"] != HOST:
        return float(marker["expires_wall_s"]) > (time.time() if now_s is None else now_s)
    pid = int(marker["pid"])
    if pid == os.getpid():
        return marker["writer"] == writer_id()
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except OSError:  # exists, owned by another user
        return True
    return True


class InFlight:
    """The markers of one store (``db``: its LanceDB connection, ``uri``: its location). The table is made on
    the first mark; a store without it has no batch in flight. ``lease_s``: the lease of this process's marks
    (default :data:`LEASE_S`)."""

    def __init__(self, db: Any, uri: str, lease_s: float = LEASE_S):
        self.db, self.uri, self.lease_s = db, uri, lease_s
        self._table: Any = None
        self._expires: dict[str, float] = {}  # this object's marks: batch id -> lease end (POSIX s)

    def table(self, create: bool = False) -> Any:
        """The markers table, or None when there is none (and not ``create``)."""
        if self._table is None:
            if TABLE in self.db.list_tables().tables:
                self._table = self.db.open_table(TABLE)
            elif create:
                try:
                    self._table = self.db.create_table(TABLE, schema=SCHEMA, exist_ok=True)
                except Exception:  # another writer made it meanwhile
                    self._table = self.db.open_table(TABLE)
        return self._table

    def markers(self) -> list[dict[str, Any]]:
        """Every marker (rows as dicts)."""
        table = self.table()
        return [] if table is None else table.to_arrow().to_pylist()

    def live_batches(self) -> set[str]:
        """The ids of the batches whose writer may still be writing them (:func:`alive`)."""
        now = time.time()
        return {m["batch_id"] for m in self.markers() if alive(m, now)}

    def mark(self, batch_id: str) -> None:
        """Mark ``batch_id`` in flight for this process (one atomic append). Raises StoreError saying why when
        it cannot be written (no space left, a read-only store): nothing of the batch is written then."""
        now = time.time()
        expires = now + self.lease_s
        row = {
            "batch_id": batch_id,
            "writer": writer_id(),
            "host": HOST,
            "pid": os.getpid(),
            "started_wall_s": now,
            "expires_wall_s": expires,
        }
        try:
            self.table(create=True).add(pa.Table.from_pylist([row], schema=SCHEMA))
        except Exception as e:
            raise opening.write_error(self.uri, e, f"writing batch {batch_id}") from e
        self._expires[batch_id] = expires

    def renew(self, batch_id: str) -> None:
        """Once less than half of the lease of this process's marker of ``batch_id`` is left: check that the
        marker is still there and push its lease ``lease_s`` ahead (before that, nobody can have judged it dead:
        nothing is read). Raises StoreError when the marker is gone: another process judged this writer dead
        (stalled past its lease) and may have removed the batch's rows."""
        now = time.time()
        if now < self._expires.get(batch_id, now) - self.lease_s / 2:
            return
        table = self.table(create=True)
        where = f"{sql.batch_where(batch_id)} AND writer = {sql.quote(writer_id())}"
        rows = table.search().where(where).select(["expires_wall_s"]).limit(None).to_arrow()
        if rows.num_rows == 0:
            raise StoreError(
                f"batch {batch_id} lost its in-flight marker: another process took its writer for dead "
                f"(no renewal within {self.lease_s:.0f} s)"
            )
        self._expires[batch_id] = time.time() + self.lease_s
        table.update(where=where, values={"expires_wall_s": self._expires[batch_id]})

    def clear(self, batch_id: str) -> None:
        """Remove this process's marker of ``batch_id``. A marker that cannot be removed (the disk filled up
        meanwhile) stays: it names this process, and the first writable open after it ended sweeps it."""
        self._expires.pop(batch_id, None)
        table = self.table()
        if table is not None:
            with suppress(Exception):
                table.delete(f"{sql.batch_where(batch_id)} AND writer = {sql.quote(writer_id())}")

    def sweep(self) -> list[str]:
        """Remove the markers of dead writers (:func:`alive`); returns their batch ids."""
        now = time.time()
        dead = sorted({m["batch_id"] for m in self.markers() if not alive(m, now)})
        if dead:
            self.table().delete(sql.in_list("batch_id", dead))
        return dead

    def migrate_files(self) -> None:
        """Turn the marker files of an older memviz (``<store>/_inflight/<batch_id>`` holding a pid; local
        stores only) into rows when their process runs, delete the others, and the folder once empty."""
        if not opening.is_local(self.uri) or not (folder := Path(self.uri) / LEGACY_DIR).is_dir():
            return
        rows = []
        for path in folder.iterdir():
            try:
                pid = int(path.read_text().strip())
            except (OSError, ValueError):  # empty: killed before it wrote its pid, so before any row
                pid = 0
            marker = {"batch_id": path.name, "writer": f"{HOST}:{pid}:legacy", "host": HOST, "pid": pid}
            if pid > 0 and pid != os.getpid() and alive(marker):
                rows.append(marker | {"started_wall_s": time.time(), "expires_wall_s": time.time()})
        if rows:
            self.table(create=True).add(pa.Table.from_pylist(rows, schema=SCHEMA))
        for path in folder.iterdir():
            path.unlink(missing_ok=True)
        folder.rmdir()


__all__ = ["HOST", "LEASE_S", "LEGACY_DIR", "SCHEMA", "TABLE", "InFlight", "alive", "writer_id"]
