"""Background jobs of the app: an ingest or an evaluation started from a page runs in its own thread.

Streamlit stops a script run at its next call whenever the user clicks anything, opens another page or the
browser reconnects. Run inside the page, an ingest stopped after the batch in flight (LoCoMo by path: 256 of
4,124 memories stored when the user opened another page at 9 s). As a job it goes on; the page polls it with
a fragment and says once, to the session that started it, how it ended.

One job per key (a store) and process at a time; the latest job of each key is kept until the next starts.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

import streamlit as st

from memviz.engine import MemoryEngine
from memviz.errors import ConfigError, MemvizError, StoreError
from memviz.importers import Dataset, Format, StoreOptions
from memviz.ui.inert import inert

if TYPE_CHECKING:
    from memviz.evaluate.longmemeval import Granularity

log = logging.getLogger(__name__)
_JOBS: dict[str, Job] = {}
_LOCK = threading.Lock()


@dataclass
class Job:
    """One background job on ``key``. ``done`` of ``total`` units so far (``stage`` names the current step);
    when it ends, ``result`` and a one-line ``message`` are set if it succeeded, else ``error``."""

    key: str
    label: str
    total: int
    done: int = 0
    stage: str = ""
    result: Any = None
    message: str = ""
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

    def progress(self, done: int, total: int, stage: str = "") -> None:
        self.done, self.total, self.stage = done, total, stage

    def wait(self, timeout_s: float | None = None) -> bool:
        """Block until the job ends (or ``timeout_s`` seconds pass); True if it has ended."""
        if self._thread is not None:
            self._thread.join(timeout_s)
        return not self.running

    def _run(self, work: Callable[[Job], tuple[Any, str]]) -> None:
        try:
            self.result, self.message = work(self)
        except Exception as e:  # shown on the page, never lost in a thread
            if not isinstance(e, MemvizError):
                log.exception("%s failed", self.label)
            self.error = (
                f"{e if isinstance(e, MemvizError) else f'{type(e).__name__}: {e}'} "
                f"({self.done:,} of {self.total:,} done before it)"
            )
        finally:
            self.finished_s = time.monotonic()


def start(key: str, label: str, total: int, work: Callable[[Job], tuple[Any, str]]) -> Job:
    """Run ``work(job)`` (returning the result and a one-line message; it reports through ``job.progress``) in
    a background thread. Raises StoreError if a job on ``key`` is running in this process."""
    with _LOCK:
        if (job := _JOBS.get(key)) is not None and job.running:
            raise StoreError(
                f"{job.label} is running on this store ({job.done:,} of {job.total:,} done); wait for it to finish"
            )
        job = Job(key=key, label=label, total=total)
        job._thread = threading.Thread(target=job._run, args=(work,), daemon=True, name=f"memviz {label}")
        _JOBS[key] = job
        job._thread.start()
    return job


def latest(key: str) -> Job | None:
    """The latest job on ``key`` in this process (running or ended), if any."""
    return _JOBS.get(key)


def start_ingest(engine: MemoryEngine, uri: str, data: Dataset, source: dict) -> Job:
    """Ingest ``data`` into ``engine``'s store (``uri``) as a job (see :meth:`MemoryEngine.ingest`); its result
    is the write reports."""

    def work(job: Job) -> tuple[Any, str]:
        reports = engine.ingest(data.items(), source=source, progress=job.progress)
        written = sum(len(r.items) for r in reports)
        skipped = sum(len(r.skipped_ids) for r in reports)
        links = sum(r.n_links for r in reports)
        return reports, (
            f"{data.path}: {written:,} memories written, {skipped:,} already stored, {links:,} links, "
            f"{len(data.questions):,} gold questions in the file ({job.elapsed_s:,.1f} s)."
        )

    return start(uri, f"the ingest of {data.path}", len(data), work)


def load_source(
    source: str,
    path: str = "",
    fmt: Format = "jsonl",
    upload: tuple[str, bytes] | None = None,
    options: StoreOptions | None = None,
) -> tuple[Dataset, dict]:
    """Read the data set to ingest and describe where it came from: ``source`` ``"demo"`` (the built-in
    conversation), ``"upload"`` (``upload`` = (file name, bytes)) or ``"path"`` (``path`` on disk: a file, or
    another engine's store folder read with ``options``), in format ``fmt``. Returns (data, source dict for the
    import event). Raises ConfigError when no file or path is given, and the importer's errors for an input
    that cannot be read (nothing is written)."""
    from memviz.demo import DEMO_FORMAT, DEMO_PATH
    from memviz.importers import load, load_bytes

    if source == "demo":
        return load(DEMO_PATH, DEMO_FORMAT), {"path": str(DEMO_PATH), "format": DEMO_FORMAT, "demo": True}
    if source == "upload":
        if upload is None:
            raise ConfigError("Choose a file to upload first.")
        name, raw = upload
        return load_bytes(raw, fmt, name), {"path": name, "format": fmt}
    if source != "path":
        raise ConfigError(f"unknown data source {source!r}")
    if not path.strip():
        raise ConfigError("Type the path of a data file first.")
    given = options.given() if options is not None else {}
    return load(path.strip(), fmt, options), {"path": path.strip(), "format": fmt} | given


def start_eval(
    bench: str,
    path: str,
    db: str,
    preset: str,
    limit: int,
    granularity: Granularity = "session",
    audit: str | None = None,
) -> Job:
    """Run a retrieval evaluation (``bench`` ``"locomo"`` or ``"longmemeval"``, the first ``limit`` questions of
    ``path``, stores under ``db``; for LoCoMo also against the ``audit`` of its answer key when given) as a job
    on key ``eval:<db>``; its result is the evaluation dict (traces kept)."""
    from memviz.viz.evaluate import result_label

    def work(job: Job) -> tuple[Any, str]:
        def progress(stage: str, done: int, total: int) -> None:
            job.progress(done, total, stage)

        job.progress(0, int(limit), "reading the data set and loading the embedding model")

        if bench == "locomo":
            from memviz.evaluate.locomo import run_locomo

            result = run_locomo(
                path, db, preset=preset, limit=int(limit), progress=progress, keep_traces=True, audit_path=audit
            )
        else:
            from memviz.evaluate.longmemeval import run_longmemeval

            result = run_longmemeval(
                path, db, granularity, preset=preset, limit=int(limit), progress=progress, keep_traces=True
            )
        return result, f"{result_label(result)} in {result['timing']['total_s']} s ({path}, stores in {db})"

    return start(f"eval:{db}", f"the {bench} evaluation", int(limit), work)


def start_replay(
    path: str, fmt: Format, db: str, recall_k: int, questions: bool, groups: tuple[str, ...], engine: MemoryEngine
) -> Job:
    """Replay the data set at ``path`` into one store per group under ``db`` (:func:`memviz.replay.replay`) as a
    job on key ``replay:<db>``, with ``engine``'s embedding model and reinforcement rule (the session's, from
    :func:`memviz.ui.state.acting_engine`); its result is the :class:`memviz.replay.ReplayResult`. A rerun resumes."""
    from memviz.evaluate.common import group_engine
    from memviz.replay import ReplayConfig, replay

    if not path.strip() or not db.strip():
        raise ConfigError("Type the data file and the store folder first.")
    rule = engine.reinforce_rule

    def make(group: str, embedder: Any) -> MemoryEngine:
        e = group_engine(db.strip(), group, embedder)
        e.reinforce_rule = rule
        return e

    def work(job: Job) -> tuple[Any, str]:
        job.progress(0, 0, "reading the data set and loading the embedding model")
        cfg = ReplayConfig(recall_k=int(recall_k), questions=questions, groups=groups)
        result = replay(
            path.strip(),
            fmt,
            db.strip(),
            cfg,
            embedder=engine.embedder,
            progress=lambda done, total: job.progress(done, total, "recalling, writing and linking the turns"),
            engine_factory=make,
        )
        s = result.summary()
        return result, (
            f"{path.strip()}: {s['turns']:,} turns replayed into {len(result.groups)} store(s) under {db.strip()}: "
            f"{s['recalls']:,} recalls, {s['reinforced_memories']:,} memories reinforced, "
            f"{s['share_above_forget_threshold'] or 0:.0%} above the forget threshold at the end "
            f"({job.elapsed_s:,.1f} s)."
        )

    return start(f"replay:{db.strip()}", f"the replay of {path.strip()}", 0, work)


# --------------------------------------------------------------------------------------------- in a page
def launch(job_start: Callable[[], Job], slot: str) -> None:
    """Start a job from a page (``job_start`` raises MemvizError to refuse) and remember it as this session's
    job in ``slot``; then rerun, so that the page shows its progress."""
    st.session_state[slot] = job_start()
    st.rerun()


def run_button(
    label: str, key: str, job_key: str, slot: str, job_start: Callable[[], Job], help: str | None = None
) -> Job | None:
    """A page's "run" button for a background job on ``job_key``: the job's progress while it runs (the button
    disabled), its error or its one-line message once it ends (see :func:`status`), and a click starts
    ``job_start`` (see :func:`launch`; a MemvizError it raises is shown). Returns this session's job when it
    has just succeeded (the caller keeps its result)."""
    running, ended = status(job_key, slot)
    if ended is not None:
        st.success(inert(ended.message))
    if st.button(label, key=key, type="primary", disabled=running, help=help):
        try:
            launch(job_start, slot)
        except MemvizError as e:
            st.error(inert(e))
    return ended


def status(key: str, slot: str) -> tuple[bool, Job | None]:
    """Show the job this session started (remembered in ``slot``), else the job running on ``key``: a progress
    bar redrawn every second while it runs; once it has ended, its error, once. Returns (whether that job is
    running, this session's job if it has just succeeded: the caller shows its result)."""
    mine = st.session_state.get(slot)  # followed even if the page's inputs now name another key
    job = mine if mine is not None else latest(key)
    if job is not None and job.running:
        progress_bar(job)
        return True, None
    if mine is None:
        return False, None
    del st.session_state[slot]  # say it once
    if mine.error:
        st.error(inert(mine.error))
        return False, None
    return False, mine


@st.fragment(run_every=1.0)
def progress_bar(job: Job) -> None:
    """A running job's progress bar with its stage, redrawn every second; the whole page reruns when it ends."""
    if not job.running:
        st.rerun()  # the whole page: its counts, tables and the job's result
    stage = f" · {job.stage}" if job.stage else ""  # e.g. "ingesting conv-26", "recalling the questions"
    st.progress(
        min(job.done / max(1, job.total), 1.0),
        text=f"Running {inert(job.label)}{inert(stage)}: {job.done:,} of {job.total:,} ({job.elapsed_s:,.0f} s)",
    )
