"""Search over a store's memories: vector search (the in-memory exact index, LanceDB's exact search, or, in a
large store, the approximate index of :mod:`memviz.store.ann`) and full-text (BM25), and the upkeep of the
full-text and approximate indexes."""

from __future__ import annotations

import time
from contextlib import suppress
from datetime import timedelta
from typing import TYPE_CHECKING, Any

import numpy as np
import pyarrow as pa

from memviz.errors import StoreError
from memviz.filters import LIVE, MemoryFilter
from memviz.store import opening, sql
from memviz.store.ann import AnnIndex, AnnSettings
from memviz.store.postfilter import POSTFILTER_MAX_SHARE, postfiltered
from memviz.store.settings import StoreSettings
from memviz.store.tables import CONTEXT_COLUMN, MEMORY_COLUMNS

if TYPE_CHECKING:
    from lancedb.table import AsyncTable

    from memviz.vector_index import VectorIndex

# Rows written or rewritten (updated: reinforced, forgotten) since the last full-text index build (in this
# process) at which a write rebuilds it: this many, or this share of the table if more. Unindexed rows are
# still found (LanceDB scans them) but cost per query, about 20 us each whatever the store's size: 419
# unindexed LoCoMo turns made a search 11 ms against 3.5 ms indexed (a rebuild at that size: 16 ms); at 200k
# memories 2,000 made it 57 against 4 ms (a rebuild: 6.6 s, hence the share). A store written a few rows at a
# time (a replay's sessions, an agent's remembers and reinforcements) stays searchable at the indexed speed.
TEXT_INDEX_LAG_ROWS = 64
TEXT_INDEX_LAG_SHARE = 0.001


class Search:
    """The search half of :class:`memviz.store.MemoryStore` (a mixin: it uses the store's tables)."""

    memories: Any  # the LanceDB memories table
    uri: str
    storage_options: dict[str, str] | None
    _search_table: AsyncTable | None = None  # the memories table's search handle (see search_table)
    db: Any  # the LanceDB connection
    _text_index_stale: bool = False  # batches committed under deferred_text_index since its last rebuild
    _unindexed_rows: int = 0  # rows this process wrote since its last full-text index build
    _use_vector_index: bool
    settings: StoreSettings
    ann: AnnIndex | None  # the approximate index (memviz.store.ann); None: exact search only

    @property
    def dim(self) -> int:
        """The dimension of the store's vectors (its embedder's, :mod:`memviz.store.settings`)."""
        return self.settings.dim

    _vindex: VectorIndex | None

    def vector_search(
        self, vector: np.ndarray, limit: int, where: MemoryFilter | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Cosine nearest neighbours among the memories matching ``where``: ids and cosine similarities
        (shape (n,)), best first. See :meth:`vector_search_traced` for which index answers."""
        ids, sims, _ = self.vector_search_traced(vector, limit, where)
        return ids, sims

    def vector_search_traced(
        self, vector: np.ndarray, limit: int, where: MemoryFilter | None = None
    ) -> tuple[list[str], np.ndarray, dict[str, Any]]:
        """:meth:`vector_search`, and what answered it (``{"index": ..., ...}``, for the trace).

        - ``"IVF_HNSW_SQ"``: the approximate index once one exists (a store of at least
          :data:`memviz.store.ann.ANN_MIN_ROWS` memories); its info adds the search parameters, the indexed /
          unindexed rows and ``filter``: how ``where`` was applied (``"postfilter"`` for "not forgotten" with
          at most :data:`memviz.store.postfilter.POSTFILTER_MAX_SHARE` of the memories forgotten, the forgotten ids
          dropped after the search; else ``"prefilter"``; ``"none"`` without a filter).
        - ``"exact-numpy"``: without a filter, or with only "not forgotten" and scopes, the in-memory numpy index
          (:class:`memviz.vector_index.VectorIndex`, reloaded when the table version changes). Exact.
        - ``"lancedb-flat"``: other filters, or no vectors in memory: LanceDB's exact (brute-force) search.
        """
        where = where or MemoryFilter()
        if where.matches_nothing:
            return [], np.zeros(0), {"index": "none (the filter matches nothing)"}
        index = self.vector_index()
        if self.ann is not None and self.ann.ready():
            ids, sims, how = self.ann.search(vector, limit, sql.memory_where(where), self._few_excluded(where))
            return ids, sims, self.ann.info() | {"filter": how}
        if index is not None and where.only_flag_and_scopes and index.holds_vectors:
            ids, sims = index.search(vector, limit, include_forgotten=where.forgotten is None, scopes=where.scopes)
            return ids, sims, {"index": "exact-numpy"}
        q = self.memories.search(vector.astype(np.float32)).metric("cosine").select(["id", "_distance"]).limit(limit)
        if (clause := sql.memory_where(where)) is not None:
            q = q.where(clause, prefilter=True)
        tbl = q.bypass_vector_index().to_arrow()  # exact even where an approximate index exists
        sims = 1.0 - tbl.column("_distance").to_numpy().astype(np.float64)
        return tbl.column("id").to_pylist(), sims, {"index": "lancedb-flat"}

    def vector_index(self) -> VectorIndex | None:
        """The store's in-memory :class:`memviz.vector_index.VectorIndex` (created on first use), or None
        when the store was opened with ``vector_index=False``."""
        if not self._use_vector_index:
            return None
        if self._vindex is None:
            from memviz.vector_index import VectorIndex

            ann = self.ann
            keep = (lambda: not ann.ready()) if ann is not None else (lambda: True)
            self._vindex = VectorIndex(self.memories, self.dim, MEMORY_COLUMNS, keep_vectors=keep)
        return self._vindex

    # -- the approximate index --------------------------------------------------------------------------
    def _open_ann(self, settings: AnnSettings | None) -> None:
        """Set :attr:`ann`: the store's approximate index with ``settings``, None without."""
        self.ann = None
        if settings is not None:
            self.ann = AnnIndex(
                lambda: self.memories,
                lambda: self.db.open_table("memories"),
                self.search_table,
                settings,
                self._ann_built,
            )

    def _ann_after_write(self) -> None:
        """After rows were added or rewritten: (re)build the approximate index in the background if it is due
        (:meth:`memviz.store.ann.AnnIndex.after_write`; never blocks)."""
        if self.ann is not None:
            self.ann.after_write()

    def _with_vectors(self, ids: list[str], rows: pa.Table) -> tuple[list[str], pa.Table, np.ndarray]:
        """``ids`` and their ``rows`` (same order) with their unit vectors: those the approximate index's and the
        full-text index's recent searches returned (a recall's candidates), the rest read from the table by
        ``id IN`` (a B-tree lookup once the approximate index is built; LanceDB's ``take_offsets`` took 2 s); ids
        a concurrent prune removed meanwhile are dropped from all three."""
        from memviz.vector_index import unit_rows

        known = self.ann.vectors_of(ids) if self.ann is not None else {}
        if missing := [i for i in ids if i not in known]:
            tbl = self.memories.search().where(sql.memory_where(MemoryFilter(ids=missing))).select(["id", "vector"])
            tbl = tbl.limit(None).to_arrow()
            flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
            known |= dict(zip(tbl.column("id").to_pylist(), flat.reshape(tbl.num_rows, self.dim), strict=True))
        keep = [n for n, i in enumerate(ids) if i in known]
        vecs = unit_rows(np.stack([known[ids[n]] for n in keep]) if keep else np.zeros((0, self.dim), np.float32))
        return [ids[n] for n in keep], rows.take(pa.array(keep, pa.int64())), vecs

    def _ann_built(self, before: int, after: int) -> None:
        """An approximate index build committed ``before`` -> ``after`` (no rows changed): the in-memory index
        follows without a reload and stops holding the vectors."""
        if self._vindex is not None:
            self._vindex.note_append(before, after)
            self._vindex.release_vectors()

    def text_search(self, query: str, limit: int, where: MemoryFilter | None = None) -> tuple[list[str], np.ndarray]:
        """Native full-text (BM25) search: ids and BM25 scores, best first. Empty when nothing matches.

        The query is a bag of terms (LanceDB's tokenizer drops punctuation): quotes, ``AND``/``OR``/``NOT``,
        ``*``, ``(``, ``:`` have no query-syntax meaning, so any text can be searched. It is tokenized as the
        store's :class:`memviz.store.settings.FulltextSettings` say; with a full-text context
        (:class:`memviz.store.settings.ContextSettings` ``fulltext``) the text and context columns are searched
        together (a memory's score: the sum of its two columns' BM25)."""
        # A MatchQuery is matched term by term and never parsed: a plain string query wrapped in double
        # quotes ('"hello"', '""') would be a phrase query, which the index (no positions) refuses.
        from lancedb.query import MatchQuery, MultiMatchQuery

        where = where or MemoryFilter()
        if where.matches_nothing:
            return [], np.zeros(0)
        columns = self.text_columns()
        # lancedb gives MatchQuery's defaults positionally (pydantic.Field(1.0, kw_only=True)), which mypy's
        # dataclass_transform does not read, so it thinks boost, fuzziness, ... are required.
        match = MatchQuery(query, "text") if len(columns) == 1 else MultiMatchQuery(query, columns)  # type: ignore[call-arg]
        from lancedb.background_loop import LOOP

        excluded = self._few_excluded(where)  # first: it brings the in-memory index to the latest version
        # With the approximate index the vectors are not in memory: the search returns its candidates' vectors
        # too, for the recall's scoring (<1 ms more at 200k memories, against ~4 ms for reading them after).
        # While the in-memory index holds them, no version read (~0.2 ms) to ask the approximate index.
        index = self._vindex
        holds = index is not None and index.matrix is not None
        ann = self.ann if self.ann is not None and not holds and self.ann.ready() else None
        columns_out = ["id", "_score", "vector"] if ann is not None else ["id", "_score"]

        def search(n: int, clause: str | None) -> tuple[list[str], np.ndarray]:
            version = self.memories.version if ann is not None else 0
            q = self.search_table().query().nearest_to_text(match).select(columns_out).limit(n)
            if clause is not None:
                q = q.where(clause)  # a prefilter (LanceDB's default for a full-text query)
            try:
                tbl = LOOP.run(q.to_arrow())
            except Exception as e:  # no index on an empty table; a query made only of operators
                if self.memories.count_rows() == 0:
                    return [], np.zeros(0)
                raise StoreError(f"full-text search failed for {query!r}: {e}") from e
            ids = tbl.column("id").to_pylist()
            if ann is not None:
                ann.remember(version, ids, tbl.column("vector"))
            return ids, tbl.column("_score").to_numpy().astype(np.float64)

        # Exact after filtering too: BM25 scores do not depend on the filter (only ties may order differently).
        ids, scores, _ = postfiltered(search, limit, sql.memory_where(where), excluded)
        return ids, scores

    def _few_excluded(self, where: MemoryFilter) -> frozenset[str] | None:
        """For the default filter ("not forgotten"), the forgotten ids when they are at most
        :data:`memviz.store.postfilter.POSTFILTER_MAX_SHARE` of the memories (a search then drops them after
        searching); else None."""
        if where != LIVE or (index := self.vector_index()) is None:
            return None
        forgotten = index.forgotten_ids()
        return forgotten if len(forgotten) <= POSTFILTER_MAX_SHARE * len(index.ids) else None

    def search_table(self) -> AsyncTable:
        """The memories table opened a second time, through LanceDB's async API, for :meth:`text_search` and the
        approximate index's searches (made on first use). A search is then one call into LanceDB instead of
        eight: the sync query builder reads the table's schema three times per query (its blob-column checks)
        and each read, at ``read_consistency_interval=0``, first looks for a newer version
        (docs/performance.md). It sees every commit as the store's own handle does
        (``read_consistency_interval=0``): no refresh is needed."""
        if self._search_table is None:
            import lancedb
            from lancedb.background_loop import LOOP

            async def _open() -> AsyncTable:
                db = await lancedb.connect_async(
                    self.uri, read_consistency_interval=timedelta(0), storage_options=self.storage_options
                )
                return await db.open_table("memories")

            self._search_table = LOOP.run(_open())
        return self._search_table

    # -- the full-text index ------------------------------------------------------------------------
    @property
    def has_context(self) -> bool:
        """Whether the memories table has the ``context`` column (stores made before contexts have not)."""
        return CONTEXT_COLUMN in self.memories.schema.names

    def text_columns(self) -> list[str]:
        """The columns the full-text index covers: ``text``, and ``context`` when the store's context is
        searched too."""
        return ["text", "context"] if self.settings.context.fulltext else ["text"]

    def text_index_info(self) -> dict:
        """What a trace shows of the full-text search: the index, its columns and its tokenizer settings."""
        return {
            "index": "lancedb-fts",
            "columns": self.text_columns(),
            "tokenizer": self.settings.fulltext.fts_kwargs(),
        }

    def _has_text_index(self) -> bool:
        indexed = {c for i in self.memories.list_indices() if i.index_type == "FTS" for c in i.columns}
        return set(self.text_columns()) <= indexed

    def refresh_text_index(self) -> None:
        """(Re)build the native full-text (BM25) index on :meth:`text_columns` with the store's tokenizer.
        Rows added or updated later are still searched (LanceDB scans unindexed rows), only more slowly, so a
        write rebuilds it only once enough rows wait for it (``TEXT_INDEX_LAG_ROWS``, ``TEXT_INDEX_LAG_SHARE``)."""
        from lancedb.index import FTS

        if self.memories.count_rows() == 0:
            return
        before = self.memories.version
        config = FTS(**self.settings.fulltext.fts_kwargs())
        for column in self.text_columns():
            for attempt in range(5):
                try:
                    self.memories.create_index(column, config=config, replace=True)
                    break
                except RuntimeError as e:  # two writers rebuilt it at once: Lance asks the later one to retry
                    if "Retryable commit conflict" not in str(e) or attempt == 4:
                        raise
                    time.sleep(0.05 * 2**attempt)
        if self._vindex is not None:  # an index build changes no rows
            self._vindex.note_append(before, self.memories.version)
        self._unindexed_rows = 0

    def _after_commit(self, n_rows: int) -> None:
        """The indexes' upkeep after ``n_rows`` memories were written (a batch) or rewritten (an update): the
        full-text index rebuilt once ``TEXT_INDEX_LAG_ROWS`` rows, or ``TEXT_INDEX_LAG_SHARE`` of the table,
        wait for it (or marked stale under :meth:`deferred_text_index`), the approximate index built when
        due."""
        deferred = getattr(self, "_defer_text_index", False)  # see deferred_text_index
        self._unindexed_rows += n_rows
        lag = TEXT_INDEX_LAG_ROWS
        if self._unindexed_rows >= lag:
            lag = max(lag, int(TEXT_INDEX_LAG_SHARE * self.memories.count_rows()))
        if (self._unindexed_rows >= lag and not deferred) or not self._has_text_index():
            self._index_committed()
        elif deferred and n_rows:
            self._text_index_stale = True
        if n_rows:
            self._ann_after_write()

    def _index_committed(self) -> None:
        """Rebuild the full-text index over committed rows; a failure (e.g. a full disk) is a StoreError that
        says the memories are written."""
        try:
            self.refresh_text_index()
        except Exception as e:
            raise opening.write_error(self.uri, e, "rebuilding the full-text index (the memories are stored)") from e
        self._text_index_stale = False

    def deferred_text_index(self):
        """Context manager: batches committed inside it do not rebuild the full-text index (a rebuild reads the
        whole table, so per batch it makes a long ingest O(n^2)); it is rebuilt once on exit, only if a batch was
        committed (a refused ingest changes nothing, not even the table version). When the block fails, the
        rebuild is tried and its own failure never hides the block's error. Rows not yet indexed are still
        found by text search (LanceDB scans them), only more slowly."""
        from contextlib import contextmanager

        @contextmanager
        def _deferred():
            outer = getattr(self, "_defer_text_index", False)
            self._defer_text_index = True
            if not outer:
                self._text_index_stale = False
            try:
                yield self
            except BaseException:
                self._defer_text_index = outer
                if not outer and self._text_index_stale:
                    with suppress(Exception):
                        self.refresh_text_index()
                raise
            self._defer_text_index = outer
            if not outer and self._text_index_stale:
                self._index_committed()

        return _deferred()
