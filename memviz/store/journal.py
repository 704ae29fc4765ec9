"""All or nothing across tables for the operations that change a store after a write: reinforce, forget /
restore, prune, version restore and repair (an ingest batch has its own protocol, by batch id: see
:meth:`memviz.store.MemoryStore.commit_batch`).

Each table commit is atomic in Lance; an operation is several of them (prune deletes memories, then links,
then records its event). The protocol is a write-ahead intent, as in a database journal:

1. **intent**: ``<store>/_journal/<op_id>.json`` records the operation and the memories and links table
   versions before it (written to a temporary file, fsynced and renamed into place: atomic);
2. **apply**: the table changes, each a new Lance version;
3. **commit**: the operation's events in one atomic append, the first with ``id == op_id``;
4. **done**: the intent is removed.

An operation that raises is rolled back at once. One killed between 1 and 4 leaves its intent behind; the next
process (or thread) to take the store's write lock finishes it first (:meth:`Journal.recover`): if the log
holds event ``op_id`` the operation was committed and only the intent goes; otherwise both tables are
restored to the versions the intent recorded. The intent is provably dead then: a writer holds the write lock
from step 1 to step 4, so no intent exists while its writer can still run, and nothing was written on top of
it. The event log is never rolled back. Object storage has no lock file and no journal: there, one writing
process at a time and no protection against a kill mid-operation.

``MEMVIZ_CRASH_AT=<op>:<step>`` makes this process SIGKILL itself at that step boundary, and
``MEMVIZ_PAUSE_AT=<op>:<step>=<folder>`` pause there (:func:`crash_point`); only the crash and interleaving tests
set them (``tests/quality/test_kill_harness.py``).

Readers take no lock: one that reads while an operation runs may see it half applied (Lance commits each table
on its own), never a half-applied one after a crash.
"""

from __future__ import annotations

import json
import os
import signal
import time
import uuid
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from dataclasses import replace
from pathlib import Path
from typing import TYPE_CHECKING, TypeVar

from memviz.errors import StoreError
from memviz.events import Event

if TYPE_CHECKING:
    from memviz.store.store import MemoryStore

E = TypeVar("E", bound=Event)

JOURNAL_DIR = "_journal"
CRASH_ENV = "MEMVIZ_CRASH_AT"
PAUSE_ENV = "MEMVIZ_PAUSE_AT"
TABLES = ("memories", "links")


def crash_point(name: str) -> None:
    """The hook the crash tests stop a writer with at step boundary ``name`` (``"<op>:<step>"``); a no-op
    unless they set one of these: ``$MEMVIZ_CRASH_AT == name`` SIGKILLs this process;
    ``$MEMVIZ_PAUSE_AT == name=FOLDER`` creates ``FOLDER/paused`` and waits until ``FOLDER/resume`` exists."""
    if os.environ.get(CRASH_ENV) == name:
        os.kill(os.getpid(), signal.SIGKILL)
    at, _, folder = os.environ.get(PAUSE_ENV, "").partition("=")
    if at == name:
        (Path(folder) / "paused").touch()
        while not (Path(folder) / "resume").exists():
            time.sleep(0.01)


class Operation:
    """One journalled operation in progress (see the module docstring); made by :meth:`Journal.operation`."""

    def __init__(self, store: MemoryStore, op: str, op_id: str):
        self.store, self.op, self.id = store, op, op_id
        self.committed = False

    def step(self, name: str) -> None:
        """A step boundary: the table change ``name`` is done (a crash point for the tests)."""
        crash_point(f"{self.op}:{name}")

    def commit(self, events: Sequence[E]) -> list[E]:
        """Append the operation's events in one atomic append (the commit; the first event gets the operation's
        id) and return them as stored. Each event without ``store_versions`` records the table versions the
        operation produced, which :func:`memviz.store.check.expected_state` and version restores read."""
        versions = self.store.table_versions()
        events = [
            replace(e, id=self.id if n == 0 else "", store_versions=e.store_versions or versions)
            for n, e in enumerate(events)
        ]
        stored = self.store.append_events(events)
        self.committed = True
        self.step("events")
        return stored


class Journal:
    """The intents of a local store's operations in progress, in ``<store>/_journal``; ``folder=None`` (object
    storage) journals nothing."""

    def __init__(self, store: MemoryStore, folder: Path | None):
        self.store = store
        self.folder = folder / JOURNAL_DIR if folder is not None else None
        self.active: Operation | None = None  # the operation in progress (under the write lock)

    def step(self, name: str) -> None:
        """A step boundary of the operation in progress, if any (see :meth:`Operation.step`)."""
        if self.active is not None:
            self.active.step(name)

    def pending(self) -> list[Path]:
        """The intent files present (each an operation started and not finished), oldest first."""
        if self.folder is None or not self.folder.is_dir():
            return []
        return sorted(self.folder.glob("*.json"), key=lambda p: p.stat().st_mtime)

    @contextmanager
    def operation(self, op: str) -> Iterator[Operation]:
        """Run an operation all or nothing under the store's write lock: the block applies the table changes
        and calls :meth:`Operation.commit` with its events. If the block raises, the tables are restored to
        their versions before and the error propagates; a block that commits nothing is rolled back too.
        Raises StoreError when the intent cannot be written (a read-only or full store: nothing changed)."""
        with self.store.lock.hold():
            if self.active is not None:
                raise StoreError(f"{op} inside {self.active.op}: operations do not nest")
            operation = Operation(self.store, op, uuid.uuid4().hex)
            intent = self._write_intent(operation)
            self.active = operation
            try:
                yield operation
            except BaseException:
                self._roll_back(intent)
                raise
            finally:
                self.active = None
            if not operation.committed:
                self._roll_back(intent)
            elif intent is not None:
                intent.unlink(missing_ok=True)

    def recover(self) -> list[dict]:
        """Finish every operation a dead process left (see the module docstring): roll it back, or drop the
        intent of one whose events are in the log. Must run under the write lock (the lock runs it on every
        first acquisition). Returns the intents handled, each with ``"outcome"``: ``"rolled back"`` or
        ``"committed"``."""
        done = []
        for path in self.pending():
            try:
                intent = json.loads(path.read_text())
            except (OSError, ValueError):
                intent = None
            if intent is None:  # a torn intent: killed before its rename, so nothing was applied
                path.unlink(missing_ok=True)
                continue
            if self.store.has_event(intent["op_id"]):
                path.unlink(missing_ok=True)
                done.append(intent | {"outcome": "committed"})
            else:
                self._roll_back(path, intent)
                done.append(intent | {"outcome": "rolled back"})
        return done

    # -- internals ----------------------------------------------------------------------------------
    def _write_intent(self, operation: Operation) -> Path | None:
        if self.folder is None:
            return None
        intent = {
            "op": operation.op,
            "op_id": operation.id,
            "pid": os.getpid(),
            "wall_time_s": time.time(),
            "versions": self.store.table_versions(),
        }
        path = self.folder / f"{operation.id}.json"
        tmp = path.with_suffix(".tmp")
        try:
            self.folder.mkdir(exist_ok=True)
            with open(tmp, "w") as f:
                json.dump(intent, f)
                f.flush()
                os.fsync(f.fileno())
            os.replace(tmp, path)
        except OSError as e:
            tmp.unlink(missing_ok=True)
            raise StoreError(f"cannot record the {operation.op} in {self.folder}: {e.strerror}; nothing changed") from e
        operation.step("intent")
        return path

    def _roll_back(self, path: Path | None, intent: dict | None = None) -> None:
        """Restore each table whose version moved since the intent to the version it recorded, then drop it."""
        if path is None:
            return
        intent = intent or json.loads(path.read_text())
        for name in TABLES:
            before = int(intent["versions"][name])
            table = self.store.tables[name]
            table.checkout_latest()
            if table.version != before:
                table.restore(before)
        path.unlink(missing_ok=True)


__all__ = ["CRASH_ENV", "PAUSE_ENV", "JOURNAL_DIR", "Journal", "Operation", "crash_point"]
