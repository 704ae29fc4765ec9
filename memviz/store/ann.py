"""An approximate vector index for stores where exact search stops paying: LanceDB's IVF_HNSW_SQ (an IVF
partitioning, an HNSW graph per partition over 8-bit scalar-quantised vectors), built in a background thread.

Below :data:`ANN_MIN_ROWS` memories the store answers vector searches exactly (the in-memory numpy index,
:mod:`memviz.vector_index`). From :data:`ANN_MIN_ROWS` on, a write starts a build of the index in a background
thread (never blocking the write; one build at a time per store object; a failure is logged and kept in
:attr:`AnnIndex.last_error`, and exact search keeps serving). Once an index exists, it answers the vector
stage with any ``where`` clause (forgotten flags, scopes, sessions...) as a prefilter, or, for "not forgotten"
with few forgotten, dropping them after the search (:mod:`memviz.store.postfilter`); rows written after the
build are not in the index, and LanceDB searches them with a flat scan beside it (exact for those rows), so
results stay current. A write rebuilds the index once the unindexed rows exceed
:attr:`AnnSettings.rebuild_lag_fraction` of the indexed ones.

Why these settings, and the threshold: docs/performance.md, "Approximate index" (recall@10 against exact
search and latency against a numpy brute force over the same vectors, on real memories plus noisy copies).
The index type and its parameters: LanceDB's ``IvfHnswSq`` (https://lancedb.com/docs/indexing/vector-index/),
HNSW: Malkov & Yashunin, IEEE TPAMI 2020.
"""

from __future__ import annotations

import logging
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from collections.abc import Set as AbstractSet
from dataclasses import dataclass
from typing import Any

import numpy as np

from memviz.errors import ConfigError
from memviz.store.postfilter import Applied, postfiltered

log = logging.getLogger(__name__)

# From this many memories on, a write builds the approximate index (see docs/performance.md, "Approximate index").
ANN_MIN_ROWS = 200_000
INDEX_NAME = "vector_idx"  # LanceDB's default name of an index on the "vector" column
RECENT_VECTORS = 2_000  # search results' vectors kept for the recalls' scoring (~3 MB at 384-d)
EF_MIN, EF_MAX, ROWS_PER_EF = 64, 400, 2_500  # HNSW's ef by the index's size: see AnnSettings.ef_for


@dataclass(frozen=True)
class AnnSettings:
    """How the approximate index is built and searched.

    - ``min_rows``: memories (rows, forgotten included) from which a write starts a build (>= 1).
    - ``rows_per_partition``: IVF partitions = rows // this (at least 1); LanceDB's own default target is
      ~8,000 rows per partition for HNSW variants.
    - ``nprobes``: IVF partitions searched per query (>= 1); ``ef``: HNSW candidate list size per partition
      (>= 10; None: :meth:`ef_for` the indexed rows); ``refine_factor``: ``limit`` x this candidates are
      re-scored with the full vectors (>= 1; at 1 the similarities returned are exact cosines, not the quantised
      ones, which are on another scale).
    - ``rebuild_lag_fraction``: unindexed rows / indexed rows above which a write starts a rebuild (> 0).
    """

    min_rows: int = ANN_MIN_ROWS
    rows_per_partition: int = 8_000
    nprobes: int = 25
    ef: int | None = None
    refine_factor: int = 1
    rebuild_lag_fraction: float = 0.1

    def __post_init__(self) -> None:
        if min(self.min_rows, self.rows_per_partition, self.nprobes, self.refine_factor) < 1 or (
            self.ef is not None and self.ef < 10
        ):
            raise ConfigError(f"invalid approximate index settings: {self}")
        if not self.rebuild_lag_fraction > 0:
            raise ConfigError(f"rebuild_lag_fraction must be > 0, not {self.rebuild_lag_fraction}")

    def partitions(self, n_rows: int) -> int:
        """IVF partitions for a table of ``n_rows`` rows: ``max(1, n_rows // rows_per_partition)``."""
        return max(1, n_rows // self.rows_per_partition)

    def ef_for(self, n_rows: int) -> int:
        """HNSW's ``ef`` for an index of ``n_rows`` rows: ``ef`` when set, else ``n_rows // 2,500`` within
        [64, 400]. The benchmark store's neighbours grow with it (noisy copies of the same texts, ~10 per text
        at 200k, ~50 at 1M), and so does the candidate list HNSW needs to find them: recall@10 against exact
        search 0.986 with 64 and 0.99 with 100 at 200k, 0.93-0.95 with 200 and 0.97 with 400 at 1M
        (docs/performance.md, "Approximate index")."""
        return self.ef if self.ef is not None else min(EF_MAX, max(EF_MIN, n_rows // ROWS_PER_EF))

    def info(self, n_rows: int) -> dict[str, Any]:
        """The search parameters for an index of ``n_rows`` rows, as a trace shows them."""
        return {"nprobes": self.nprobes, "ef": self.ef_for(n_rows), "refine_factor": self.refine_factor}


DEFAULT_ANN = AnnSettings()


class AnnIndex:
    """The approximate index of one memories table: whether it is ready, (re)building it, searching it.

    ``table()`` returns the store's current LanceDB memories table; ``open_table()`` a new handle on it (the
    build commits through its own handle, whose version then is the build's commit); ``search_table()`` an
    async handle on it that searches go through (one call into LanceDB, as the full-text search:
    :meth:`memviz.store.search.Search.search_table`). ``on_built(before,
    after)`` is called after a successful build with the versions around its commit (``after - 1``, ``after``:
    a commit adds one version and changes no rows) so the in-memory index can follow without a reload.
    Thread-safe.
    """

    index_type = "IVF_HNSW_SQ"

    def __init__(
        self,
        table: Callable[[], Any],
        open_table: Callable[[], Any],
        search_table: Callable[[], Any],
        settings: AnnSettings,
        on_built: Callable[[int, int], None] | None = None,
    ):
        self._table = table
        self._search_table = search_table
        self._open_table = open_table
        self.settings = settings
        self._on_built = on_built
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None
        self._stats: tuple[int, Any] | None = None  # (table version, IndexStatistics or None)
        self.last_error: str | None = None
        # The vectors of recent search results, by id, and the table version they were read at: a recall
        # scores its vector candidates with them instead of reading them again (see vectors_of).
        self._recent: OrderedDict[str, np.ndarray] = OrderedDict()
        self._recent_version: int | None = None
        self.builds = 0  # finished builds so far: for tests and benchmarks
        self.last_build_s: float | None = None

    # -- state --------------------------------------------------------------------------------------
    def stats(self, version: int | None = None) -> Any:
        """LanceDB's ``IndexStatistics`` of the vector index at the table's current version (cached per
        version), or None when there is none. ``version``: that version when the caller has just read it
        (each read looks for a newer version on disk, ~0.2 ms)."""
        table = self._table()
        version = table.version if version is None else version
        cached = self._stats
        if cached is not None and cached[0] == version:
            return cached[1]
        try:
            stats = table.index_stats(INDEX_NAME)
        except Exception:  # no such index (a store before any build, or restored to a version before it)
            stats = None
        self._stats = (version, stats)
        return stats

    def indexed_rows(self, version: int | None = None) -> int:
        """Rows in the approximate index at the table's current version (0 without one); ``version`` as in
        :meth:`stats`."""
        stats = self.stats(version)
        return 0 if stats is None else int(stats.num_indexed_rows)

    def ready(self) -> bool:
        """Whether an approximate index exists at the table's current version."""
        return self.stats() is not None

    def building(self) -> bool:
        """Whether a background build is running."""
        return self._thread is not None and self._thread.is_alive()

    def needs_build(self, n_rows: int) -> bool:
        """Whether a table of ``n_rows`` rows should (re)build: at least ``min_rows`` rows and either no index
        or more unindexed rows than ``rebuild_lag_fraction`` of the indexed ones."""
        if n_rows < self.settings.min_rows:
            return False
        stats = self.stats()
        if stats is None:
            return True
        return stats.num_unindexed_rows > self.settings.rebuild_lag_fraction * max(1, stats.num_indexed_rows)

    # -- building -----------------------------------------------------------------------------------
    def after_write(self) -> bool:
        """Called after a write: start a background build when :meth:`needs_build` and none is running.
        Never blocks on the build. Returns whether a build was started."""
        with self._lock:
            if self.building() or not self.needs_build(self._table().count_rows()):
                return False
            self._thread = threading.Thread(target=self._build_logged, name="memviz-ann-build", daemon=True)
            self._thread.start()
            return True

    def wait(self, timeout_s: float | None = None) -> bool:
        """Wait for a running background build (at most ``timeout_s`` seconds); returns whether none runs."""
        thread = self._thread
        if thread is not None:
            thread.join(timeout_s)
        return not self.building()

    def build(self) -> float:
        """Build (or rebuild) the index over the table's rows now, in this thread; returns the build's wall
        seconds. Raises what LanceDB raises (e.g. a commit conflict with a concurrent writer)."""
        from lancedb.index import BTree, IvfHnswSq

        table = self._open_table()
        t = time.perf_counter()
        config = IvfHnswSq(distance_type="cosine", num_partitions=self.settings.partitions(table.count_rows()))
        table.create_index("vector", config=config, replace=True)
        self._built(table.version)
        # A B-tree on the ids: the rows a recall scores (its full-text candidates) are read by ``id IN (...)``,
        # which without it scans the table (100 ids: 62 against 19 ms at 1M memories; built in 0.3 s).
        table.create_index("id", config=BTree(), replace=True)
        self._built(table.version)
        build_s = time.perf_counter() - t
        self.builds += 1
        self.last_build_s = build_s
        self.last_error = None
        return build_s

    def _built(self, after: int) -> None:
        """An index commit made version ``after`` (one version, no rows changed)."""
        self._stats = None
        if self._on_built is not None:
            self._on_built(after - 1, after)

    def _build_logged(self) -> None:
        try:
            build_s = self.build()
            log.info("approximate vector index built in %.1f s", build_s)
        except Exception as e:  # exact search keeps serving; the next write tries again
            self.last_error = f"{type(e).__name__}: {e}"
            log.warning("building the approximate vector index failed: %s", self.last_error)

    # -- searching ----------------------------------------------------------------------------------
    def search(
        self, vector: np.ndarray, limit: int, clause: str | None, excluded: AbstractSet[str] | None = None
    ) -> tuple[list[str], np.ndarray, Applied]:
        """The ``limit`` approximate nearest memories to ``vector`` (shape (dim,)) by cosine among the rows
        matching the SQL ``clause`` (None: all rows): ids and cosine similarities (float64, shape (<= limit,)),
        best first, and how the clause was applied (``"prefilter"``, ``"postfilter"`` or ``"none"``). Rows not
        yet indexed are searched exactly (LanceDB's flat scan of them). The similarities are exact (re-scored
        with the full vectors).

        ``excluded``: when given, exactly the ids ``clause`` leaves out, and few (e.g. the forgotten ones of a
        "not forgotten" search): they are dropped after an unfiltered search
        (:func:`memviz.store.postfilter.postfiltered`)."""
        return postfiltered(lambda n, where: self._search(vector, n, where), limit, clause, excluded)

    def _search(self, vector: np.ndarray, limit: int, clause: str | None) -> tuple[list[str], np.ndarray]:
        s = self.settings
        version = self._table().version  # before the search: a commit meanwhile makes the remembered vectors a miss
        vector = np.asarray(vector, dtype=np.float32)
        from lancedb.background_loop import LOOP

        q = self._search_table().query().nearest_to(vector).distance_type("cosine").nprobes(s.nprobes)
        q = q.ef(s.ef_for(self.indexed_rows(version))).refine_factor(s.refine_factor)
        q = q.select(["id", "vector", "_distance"]).limit(limit)
        tbl = LOOP.run((q.where(clause) if clause is not None else q).to_arrow())  # where: a prefilter
        ids = tbl.column("id").to_pylist()
        self.remember(version, ids, tbl.column("vector"))
        return ids, 1.0 - tbl.column("_distance").to_numpy().astype(np.float64)

    def remember(self, version: int, ids: list[str], column: Any) -> None:
        """Keep the vectors of a search's results (``column``: their Arrow fixed-size-list ``vector`` column,
        read at table ``version``) for :meth:`vectors_of`; the oldest beyond :data:`RECENT_VECTORS` go."""
        if not ids:
            return
        flat = column.combine_chunks().flatten().to_numpy(zero_copy_only=False)
        vectors = flat.reshape(len(ids), -1)
        with self._lock:
            if version != self._recent_version:
                self._recent.clear()
                self._recent_version = version
            for i, v in zip(ids, vectors, strict=True):
                self._recent[i] = v
                self._recent.move_to_end(i)
            while len(self._recent) > RECENT_VECTORS:
                self._recent.popitem(last=False)

    def vectors_of(self, ids: list[str]) -> dict[str, np.ndarray]:
        """The vectors (float32, shape (dim,), as stored) of those of ``ids`` that recent searches returned at
        the table's current version (:meth:`remember`): a recall's candidates, which its scoring then need not
        read."""
        version = self._table().version
        with self._lock:
            if version != self._recent_version:
                return {}
            return {i: self._recent[i] for i in ids if i in self._recent}

    def info(self) -> dict[str, Any]:
        """What a trace shows of the approximate index: its type, search parameters, indexed and unindexed
        rows (the latter searched by a flat scan)."""
        stats = self.stats()
        indexed = 0 if stats is None else int(stats.num_indexed_rows)
        out: dict[str, Any] = {"index": self.index_type} | self.settings.info(indexed)
        if stats is not None:
            out |= {"indexed_rows": stats.num_indexed_rows, "unindexed_rows": stats.num_unindexed_rows}
        return out
