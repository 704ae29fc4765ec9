"""The store's write lock: it serialises the read-modify-write operations (a batch's commit, reinforce, forget,
restore, prune, the clock) of the threads of one process and, for a local store or an ``s3+ddb://`` one, of
every process that opens it, so that no update is lost."""

from __future__ import annotations

import fcntl
import os
import threading
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from memviz.store.ddb_lock import DynamoLock

LOCK_FILE = "_lock"


class StoreLock:
    """An exclusive lock, reentrant within a thread: a thread lock shared through this object (one per opened
    store; the app's sessions and background jobs share one engine, hence one store) and, across processes,
    ``fcntl.flock`` on ``<folder>/_lock`` for a local store, or ``remote`` (an ``s3+ddb://`` store's DynamoDB
    lock, :mod:`memviz.store.ddb_lock`). Neither (other object storage, where a lock file cannot serve) keeps
    the thread lock only: one writing process at a time there.

    LanceDB commits each table atomically but a read-modify-write (read a memory's stability and recall count,
    write them back plus one) is two steps: without the lock two processes reinforcing the same memory lost
    21 of 40 updates."""

    def __init__(
        self,
        folder: Path | None,
        uri: str | None = None,
        on_acquire: Callable[[], object] | None = None,
        remote: DynamoLock | None = None,
    ):
        self.uri = uri or str(folder)
        self.path = folder / LOCK_FILE if folder is not None else None
        self.remote = remote
        # Run each time the lock is taken (not re-entered): the store finishes operations a dead writer left
        # (memviz.store.journal) before anything else is written.
        self.on_acquire = on_acquire
        self._thread_lock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None

    @contextmanager
    def hold(self, wait: bool = True) -> Iterator[bool]:
        """Hold the lock for the block; yields True. With ``wait=False`` it does not wait for another process or
        thread holding it: it yields False at once and the block runs without it. Raises StoreError when the lock
        file cannot be opened (a read-only store, a full disk), or the remote lock cannot be reached, saying so."""
        if not self._thread_lock.acquire(blocking=wait):
            yield False
            return
        try:
            if self._depth == 0 and self.path is not None:
                try:
                    fd = os.open(self.path, os.O_RDWR | os.O_CREAT, 0o644)
                except OSError as e:
                    from memviz.store.opening import write_error

                    raise write_error(self.uri, e, f"locking the store for writing ({self.path})") from e
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if wait else fcntl.LOCK_NB))
                except BlockingIOError:
                    os.close(fd)
                    yield False
                    return
                self._fd = fd
            elif self._depth == 0 and self.remote is not None and not self.remote.acquire(wait):
                yield False
                return
            self._depth += 1
            try:
                if self._depth == 1 and self.on_acquire is not None:
                    self.on_acquire()
                yield True
            finally:
                self._depth -= 1
                if self._depth == 0 and self._fd is not None:
                    fcntl.flock(self._fd, fcntl.LOCK_UN)
                    os.close(self._fd)
                    self._fd = None
                elif self._depth == 0 and self.remote is not None:
                    self.remote.release()
        finally:
            self._thread_lock.release()
