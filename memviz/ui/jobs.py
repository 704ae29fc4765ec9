"""Background ingest jobs of the app.

An ingest started from a page runs in its own thread, not in the page's script run: Streamlit stops a script
run at its next call whenever the user clicks anything, opens another page or the browser reconnects, which
used to abort an ingest after the batch in flight (LoCoMo by path: 470 of 4,124 memories stored when the
user opened another page at 9 s). Every batch is still written whole or not at all; a page polls the job.

One job per store and process at a time; the latest job of each store is kept until the next one starts.
"""

from __future__ import annotations

import logging
import threading
import time
from dataclasses import dataclass, field

from memviz.engine import MemoryEngine
from memviz.errors import MemvizError, StoreError
from memviz.importers import Dataset
from memviz.models import WriteReport

log = logging.getLogger(__name__)
_JOBS: dict[str, IngestJob] = {}
_LOCK = threading.Lock()


@dataclass
class IngestJob:
    """One ingest of a data file into a store. ``done`` and ``total`` count memories (``done`` after each
    committed batch); ``reports`` is set when it succeeds, ``error`` (a message) when it fails."""

    uri: str
    path: str
    total: int
    n_questions: int
    done: int = 0
    reports: list[WriteReport] = field(default_factory=list)
    error: str | None = None
    started_s: float = field(default_factory=time.monotonic)
    finished_s: float | None = None
    _thread: threading.Thread | None = field(default=None, repr=False)

    @property
    def running(self) -> bool:
        return self.finished_s is None

    @property
    def elapsed_s(self) -> float:
        return (self.finished_s or time.monotonic()) - self.started_s

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (or ``timeout_s`` seconds pass); True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def summary(self) -> str:
        """What a successful job did, in one line."""
        written = sum(len(r.items) for r in self.reports)
        skipped = sum(len(r.skipped_ids) for r in self.reports)
        links = sum(r.n_links for r in self.reports)
        return (f"{self.path}: {written:,} memories written, {skipped:,} already stored, {links:,} links, "
                f"{self.n_questions:,} gold questions in the file ({self.elapsed_s:,.1f} s).")

    def _run(self, engine: MemoryEngine, data: Dataset, source: dict) -> None:
        def progress(done: int, total: int) -> None:
            self.done = done

        try:
            self.reports = engine.ingest(data.items(), source=source, progress=progress)
        except Exception as e:  # shown on the page, never lost in a thread
            if not isinstance(e, MemvizError):
                log.exception("ingest of %s into %s failed", self.path, self.uri)
            self.error = (f"{e if isinstance(e, MemvizError) else f'{type(e).__name__}: {e}'} (the batches before "
                          f"it, {self.done:,} of {self.total:,} memories, were written whole)")
        finally:
            self.finished_s = time.monotonic()


def start_ingest(engine: MemoryEngine, uri: str, data: Dataset, source: dict) -> IngestJob:
    """Start ingesting ``data`` into ``engine``'s store (``uri``) in a background thread and return the job.
    Raises StoreError if an ingest into that store is already running in this process."""
    with _LOCK:
        if (job := _JOBS.get(uri)) is not None and job.running:
            raise StoreError(f"an ingest of {job.path} into this store is running ({job.done:,} of "
                             f"{job.total:,} memories written); wait for it to finish")
        job = IngestJob(uri=uri, path=data.path, total=len(data), n_questions=len(data.questions))
        job._thread = threading.Thread(target=job._run, args=(engine, data, source), daemon=True,
                                       name=f"memviz-ingest {data.path}")
        _JOBS[uri] = job
        job._thread.start()
    return job


def latest(uri: str) -> IngestJob | None:
    """The latest ingest job of the store ``uri`` in this process (running or ended), if any."""
    return _JOBS.get(uri)
