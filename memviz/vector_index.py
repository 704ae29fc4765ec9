"""An exact in-memory index of a store's memories: numpy brute-force vector search, as fast as memory bandwidth
allows, and the scalar columns recall scores candidates with.

LanceDB's own brute-force search reads and scores every row per query (184 ms at 100k x 384-d on the
benchmark machine, against 6.6 ms for a numpy dot product over the same vectors), and fetching 100 candidate
rows with ``id IN (...)`` scans the table (12 ms at 10k, 31-41 ms at 60k). :class:`VectorIndex` keeps the
memories' ids, unit-normalised vectors, forgotten flags and scalar columns (text, times, stability, ...) in
RAM, loaded once per version of the memories table and reloaded when the version changes (another writer, an
update, a forget), so results stay exact and current: the same neighbours and cosine similarities as
LanceDB's exact search, without an approximate index, and the same rows as a read of the table.

Memory cost: 4 bytes x 384 per memory for the vectors (154 MB at 100k memories) plus the scalar columns
(mostly the text: about 20 MB at 100k LoCoMo/LongMemEval turns). A store large enough for an approximate index
(:mod:`memviz.store.ann`) tells the index to hold no vectors (``keep_vectors``): it then keeps only ids, flags
and scalar columns, and the store reads the few vectors a recall scores from the table.
"""

from __future__ import annotations

import threading
from collections.abc import Callable, Sequence

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from memviz.errors import StoreError

# A filtered search gathers its rows before the product only when they are under 1 / this of all rows (the
# crossover measured on 200k x 384 float32 rows: 10-20%).
GATHER_BELOW = 8


def unit_rows(vectors: np.ndarray) -> np.ndarray:
    """``vectors`` (shape (n, d)) as float32 rows of length 1 (zero rows stay zero): ``vectors`` itself (not a
    copy; do not write to it) when its rows already are, as the embedders' are."""
    vectors = np.asarray(vectors, dtype=np.float32)
    # einsum: one pass, no temporary (n, d) array of squares (6 against 170 ms for 100k x 384); and no new
    # (n, d) array when nothing changes (0.45 s of a 100k-memory index load went to dividing by ones).
    norms = np.sqrt(np.einsum("ij,ij->i", vectors, vectors))[:, None]
    if np.all(np.abs(norms - 1.0) <= 1e-6):
        return vectors
    return vectors / np.where(norms > 0, norms, 1.0)


def top_k(scores: np.ndarray, k: int) -> np.ndarray:
    """Positions of the ``k`` largest values along the last axis of ``scores`` (shape (m,) or (n, m)),
    largest first, ties broken by lower position: shape (min(k, m),) or (n, min(k, m)). A partition then a
    sort of the ``k`` chosen values (O(m) per row, not O(m log m) as a full sort). The vector search and the
    write-time links both rank with it."""
    scores = np.asarray(scores)
    m = scores.shape[-1]
    k = min(int(k), m)
    if k <= 0:
        return np.zeros((*scores.shape[:-1], 0), dtype=np.int64)
    if k < m:
        part = np.argpartition(-scores, k - 1, axis=-1)[..., :k]
    else:
        part = np.broadcast_to(np.arange(m), scores.shape).copy()
    vals = np.take_along_axis(scores, part, axis=-1)
    return np.take_along_axis(part, np.lexsort((part, -vals), axis=-1), axis=-1)


class VectorIndex:
    """Exact cosine search over one memories table, and its rows by id, cached per table version. Thread-safe.

    ``table`` is a LanceDB table with ``id`` (string), ``vector`` (fixed-size list of float32, ``dim``) and
    ``forgotten_time_s`` columns; ``columns`` are the scalar columns kept for :meth:`rows` (``id`` and
    ``forgotten_time_s`` among them). :meth:`search`, :meth:`vectors` and :meth:`rows` reload it only when
    ``table.version`` differs from the version loaded; :meth:`note_append` keeps it current across appends
    without a reload. ``keep_vectors()`` is asked at each load whether to hold the vectors (default: always);
    without them (:attr:`holds_vectors` False) :meth:`search` and :meth:`vectors` are not available and the
    store searches elsewhere.
    """

    def __init__(
        self,
        table,
        dim: int,
        columns: Sequence[str] = ("id", "forgotten_time_s"),
        keep_vectors: Callable[[], bool] = lambda: True,
    ):
        self.table = table
        self.dim = dim
        self.columns = list(dict.fromkeys(["id", "forgotten_time_s", *columns]))
        self.version: int | None = None
        self.ids: list[str] = []
        self.matrix: np.ndarray | None = np.zeros((0, dim), dtype=np.float32)  # unit rows; None: not held
        self._keep_vectors = keep_vectors
        self.forgotten = np.zeros(0, dtype=bool)
        self._forgotten_ids: frozenset[str] | None = None
        self.table_rows: pa.Table | None = None  # the scalar columns, same row order as ids and matrix
        self._position: dict[str, int] | None = None  # id -> row, built on first use
        self._scope_rows: dict[tuple[str, ...], np.ndarray] = {}  # scopes -> their rows, at self.version
        self._scope_rows_version: int | None = None
        self.loads = 0  # full (re)loads so far: for tests and benchmarks
        self._lock = threading.RLock()

    # -- keeping current ----------------------------------------------------------------------------
    def _load(self, version: int) -> None:
        keep = self._keep_vectors()
        tbl = self.table.search().select(["vector", *self.columns] if keep else self.columns).limit(None).to_arrow()
        n = tbl.num_rows
        matrix: np.ndarray | None = None
        if keep:
            if n:
                flat = tbl.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
                matrix = unit_rows(flat.reshape(n, self.dim))
            else:
                matrix = np.zeros((0, self.dim), dtype=np.float32)
            matrix.setflags(write=False)
        self.ids = tbl.column("id").to_pylist()
        self.matrix = matrix
        self.forgotten = tbl.column("forgotten_time_s").is_valid().to_numpy(zero_copy_only=False)
        self._forgotten_ids = None
        self.table_rows = tbl.select(self.columns)
        self._position = None
        self.version = version
        self.loads += 1

    def current(self) -> int:
        """Bring the index to the table's latest version (reloading if needed); returns that version."""
        with self._lock:
            version = self.table.version
            if version != self.version:
                self._load(version)
            return version

    def note_append(self, before: int, after: int, rows: pa.Table | None = None) -> None:
        """Tell the index that the commit ``before`` -> ``after`` appended ``rows`` (memories-table rows with
        ``vector`` and the index's columns), or, with ``rows=None``, changed no rows (an index build). When the
        index is at ``before`` and ``after == before + 1`` (no other writer in between) it moves to ``after``
        without a reload; otherwise it is left to reload at the next use."""
        with self._lock:
            if self.version != before or after != before + 1:
                return
            if rows is not None and rows.num_rows:
                n = rows.num_rows
                if self.matrix is not None:
                    flat = rows.column("vector").combine_chunks().flatten().to_numpy(zero_copy_only=False)
                    matrix = np.concatenate([self.matrix, unit_rows(flat.reshape(n, self.dim))])
                    matrix.setflags(write=False)
                    self.matrix = matrix
                self.ids = self.ids + rows.column("id").to_pylist()
                self.forgotten = np.concatenate(
                    [self.forgotten, rows.column("forgotten_time_s").is_valid().to_numpy(zero_copy_only=False)]
                )
                self._forgotten_ids = None
                table_rows = self._loaded_rows()
                new = rows.select(self.columns).cast(table_rows.schema)
                self.table_rows = pa.concat_tables([table_rows, new])
                self._position = None
            self.version = after

    def note_update(self, before: int, after: int, rows: pa.Table) -> None:
        """Tell the index that the commit ``before`` -> ``after`` updated some scalar columns (``rows``: ``id``
        plus the new values, e.g. a reinforce or a forget) of existing memories. Patched in place under the
        same conditions as :meth:`note_append` (a reinforcing recall then costs no reload: 154 MB of vectors
        at 100k); an update of vectors or of unknown ids is left to a reload."""
        with self._lock:
            if self.version != before or after != before + 1:
                return
            if "vector" in rows.column_names or not set(rows.column_names) <= set(self.columns):
                return
            position = self._positions()
            changed = rows.column("id").to_pylist()
            if any(i not in position for i in changed):
                return
            n = len(self.ids)
            at = np.fromiter((position[i] for i in changed), dtype=np.int64, count=len(changed))
            # Row r of the result takes the update's row j where at[j] == r, else its own old value.
            take = np.arange(n, dtype=np.int64)
            take[at] = n + np.arange(len(changed))
            table_rows = self._loaded_rows()
            for name in rows.column_names:
                if name == "id":
                    continue
                old = table_rows.column(name).combine_chunks()
                merged = pa.concat_arrays([old, rows.column(name).combine_chunks().cast(old.type)])
                table_rows = table_rows.set_column(table_rows.schema.get_field_index(name), name, merged.take(take))
            self.table_rows = table_rows
            if "forgotten_time_s" in rows.column_names:
                forgotten = self.forgotten.copy()
                forgotten[at] = rows.column("forgotten_time_s").is_valid().to_numpy(zero_copy_only=False)
                self.forgotten = forgotten
                self._forgotten_ids = None
            self.version = after

    @property
    def holds_vectors(self) -> bool:
        """Whether the vectors are in memory (:meth:`search` and :meth:`vectors` available) at the table's
        latest version."""
        with self._lock:
            self.current()
            return self.matrix is not None

    def release_vectors(self) -> None:
        """Stop holding the vectors (an approximate index now answers searches); the scalar columns stay."""
        with self._lock:
            self.matrix = None

    def _matrix(self) -> np.ndarray:
        """The held vectors; raises StoreError when they are not held (call with the lock held)."""
        if self.matrix is None:
            raise StoreError("the in-memory index holds no vectors (an approximate index serves this store)")
        return self.matrix

    # -- reading ------------------------------------------------------------------------------------
    def vectors(
        self, include_forgotten: bool = False, scopes: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """Ids and unit vectors (read-only float32, shape (n, dim)) of the table's memories, in table order;
        without forgotten ones unless ``include_forgotten``; only those of ``scopes`` when given. Raises StoreError
        when the vectors are not held (:attr:`holds_vectors`)."""
        with self._lock:
            self.current()
            ids, matrix = self.ids, self._matrix()
            keep = self._kept_rows(include_forgotten, scopes)
        if keep is None:
            return list(ids), matrix
        return [ids[i] for i in keep], matrix[keep]

    def _kept_rows(self, include_forgotten: bool, scopes: Sequence[str] | None) -> np.ndarray | None:
        """Rows (ascending) of the memories of ``scopes`` (all: None), without the forgotten ones unless
        ``include_forgotten``; None when that is every row. The rows of a set of scopes are found once per table
        version (an Arrow ``is_in`` over the ``scope`` column, a null read as ``""``). Call with the lock held."""
        rows = None
        if scopes is not None:
            if self._scope_rows_version != self.version:
                self._scope_rows, self._scope_rows_version = {}, self.version
            key = tuple(scopes)
            if (rows := self._scope_rows.get(key)) is None:
                column = pc.fill_null(self._loaded_rows().column("scope"), "")
                mask = pc.is_in(column, value_set=pa.array(key, pa.string())).to_numpy(zero_copy_only=False)
                rows = self._scope_rows[key] = np.flatnonzero(mask)
        if include_forgotten or not self.forgotten.any():
            return rows
        if rows is None:
            return np.flatnonzero(~self.forgotten)
        return rows[~self.forgotten[rows]]

    def rows(self, ids: Sequence[str]) -> tuple[list[str], pa.Table, np.ndarray | None]:
        """The memories ``ids`` that exist (in the order given, duplicates kept, unknown ids dropped): their
        ids, their rows (the index's scalar columns, Arrow) and their unit vectors (float32, shape (n, dim);
        None when the index holds no vectors: the store reads them), all from one consistent version of the
        table."""
        with self._lock:
            self.current()
            position, table_rows, matrix = self._positions(), self._loaded_rows(), self.matrix
        found = [i for i in ids if i in position]
        at = np.fromiter((position[i] for i in found), dtype=np.int64, count=len(found))
        return found, table_rows.take(pa.array(at)), None if matrix is None else matrix[at]

    def existing(self, ids: Sequence[str]) -> set[str]:
        """Which of ``ids`` are rows of the table's latest version."""
        with self._lock:
            self.current()
            position = self._positions()
        return {i for i in ids if i in position}

    def _positions(self) -> dict[str, int]:
        """id -> row, built once per change of rows; the rows are then made one chunk per column (take()
        across LanceDB's many record batches, or an append's, is ~9x slower). Call with the lock held."""
        if self._position is None:
            self._position = {i: n for n, i in enumerate(self.ids)}
            self.table_rows = self._loaded_rows().combine_chunks()
        return self._position

    def _loaded_rows(self) -> pa.Table:
        """The scalar columns; only called once the index has loaded (its version is set)."""
        assert self.table_rows is not None, "the index has not loaded yet"
        return self.table_rows

    def forgotten_ids(self) -> frozenset[str]:
        """Ids of the soft-forgotten memories at the table's latest version."""
        with self._lock:
            self.current()
            if self._forgotten_ids is None:
                self._forgotten_ids = frozenset(self.ids[i] for i in np.flatnonzero(self.forgotten))
            return self._forgotten_ids

    def current_rows(self) -> pa.Table | None:
        """Every memory's scalar columns (Arrow, table order) if the index is loaded at the table's latest
        version, else None (a whole-table read is then cheaper from LanceDB than loading every vector too)."""
        with self._lock:
            return self.table_rows if self.version is not None and self.version == self.table.version else None

    def search(
        self, vector: np.ndarray, limit: int, include_forgotten: bool = False, scopes: Sequence[str] | None = None
    ) -> tuple[list[str], np.ndarray]:
        """The ``limit`` memories most cosine-similar to ``vector`` (shape (dim,)): ids and similarities
        (float64 in [-1, 1], shape (<= limit,)), best first. Exact. Only the memories of ``scopes`` when given
        (the index needs the ``scope`` column): their rows alone are scored, so a search in a small scope of a
        large store costs in proportion to the scope. Raises ValueError for a vector of another dimension,
        StoreError when the vectors are not held (:attr:`holds_vectors`)."""
        q = np.asarray(vector, dtype=np.float32).reshape(-1)
        if q.shape[0] != self.dim:
            raise ValueError(f"query vector has {q.shape[0]} dimensions, the index {self.dim}")
        norm = float(np.linalg.norm(q))
        if norm > 0:
            q = q / norm
        with self._lock:
            self.current()
            ids, matrix = self.ids, self._matrix()
            keep = self._kept_rows(include_forgotten, scopes)
        if not ids:
            return [], np.zeros(0)
        if keep is None:
            sims = matrix @ q
            order = top_k(sims, limit)
            return [ids[i] for i in order], sims[order].astype(np.float64)
        # A gather copies its rows (~5x the product's time per row): only worth it for a small share of them
        # (a scope of a large store); otherwise score all rows and keep those (200k rows, 1% forgotten: 64
        # against 12 ms).
        sims = matrix[keep] @ q if len(keep) * GATHER_BELOW < len(ids) else (matrix @ q)[keep]
        order = top_k(sims, limit)
        return [ids[i] for i in keep[order]], sims[order].astype(np.float64)
