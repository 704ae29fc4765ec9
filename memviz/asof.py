"""The store as it was at a time ("as of" t): which memories existed then, and each one's state then.

One definition, used by recall (its pool and scores), why-not, retention frames (the Forgetting page's
population and curves, the Graph and Memories pages) and the CLI's ``recall --as-of``:

- **A memory comes to exist** in the simulated world at its *event time* (when what it records happened), or,
  when it has none, its *creation time* (the engine clock when it was written): :func:`birth_s`, the time decay
  counts from. As of t a memory born after t does not exist yet: it is left out (not given retention 1).
  Searches leave it out through :attr:`memviz.filters.MemoryFilter.existing_at_s`; frames with
  :func:`as_of_rows`.
- **A link exists** when both its ends do (links are made as the newer memory is written; their own creation
  time is the writer's clock, which for imported data is not the data's time). The graph and the recall's graph
  stage keep only links between memories that exist.
- **Its state as of t** comes from the ``reinforce`` events up to t (:func:`restate`): the stability the last
  of them left (``stability_after``), else the stability before the first later one (``stability_before``), else
  the stored one; the last recall is the last reinforcement up to t; the recall count leaves out the later
  reinforcements; a memory soft-forgotten after t is live as of t. ACT-R already ignores accesses after t.
  Computed vectorised (one read of the reinforce events, cached per version of the event log).

Limits: a memory pruned since is gone (read an older version, :meth:`MemoryEngine.retention_frame`), and a
memory forgotten before t and restored after it counts as live (the stored flag only says when it was last
forgotten).
"""

from __future__ import annotations

import io
import weakref

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc
import pyarrow.json as pa_json

from memviz.store import MemoryStore

_REINFORCE_COLUMNS = ["memory_id", "time_s", "stability_before", "stability_after", "trace_id"]
_cache: weakref.WeakKeyDictionary[MemoryStore, tuple[int, pd.DataFrame]] = weakref.WeakKeyDictionary()
_latest: weakref.WeakKeyDictionary[MemoryStore, tuple[int, float]] = weakref.WeakKeyDictionary()


def birth_s(rows: pa.Table) -> np.ndarray:
    """When each memory of a memories-table read came to exist (POSIX s, shape (n,)): its event time, else its
    creation time."""
    t = pc.coalesce(rows.column("event_time_s"), rows.column("created_time_s"))
    return np.asarray(t.fill_null(np.nan).to_numpy(zero_copy_only=False), dtype=np.float64)


def changed_since(store: MemoryStore, t: float) -> bool:
    """Whether the memories table holds anything after clock time ``t`` (POSIX s): a memory born after it, or
    one soft-forgotten after it; when not, the search of a recall as of ``t`` needs no time bound (and keeps the
    in-memory index). Read once per version of the memories table."""
    version = store.version()
    if (hit := _latest.get(store)) is None or hit[0] != version:
        rows = store.memories_table(columns=["event_time_s", "created_time_s", "forgotten_time_s"])
        times = np.concatenate([birth_s(rows), rows.column("forgotten_time_s").fill_null(np.nan).to_numpy()])
        hit = (version, float(np.nanmax(times)) if np.isfinite(times).any() else -np.inf)
        _latest[store] = hit
    return t < hit[1]


def reinforcements(store: MemoryStore) -> pd.DataFrame:
    """Every reinforcement in ``store``'s event log, one row per memory: ``memory_id``, ``time_s`` (engine
    clock, POSIX s), ``stability_before`` / ``stability_after`` (days) and ``trace_id`` (the recall's, or None),
    in clock order (ties in log order). Read once per version of the event log (payloads parsed by Arrow's JSON
    reader, no loop over rows)."""
    version = store.events.version
    if (hit := _cache.get(store)) is not None and hit[0] == version:
        return hit[1]
    ev = store.events_table(columns=["time_s", "wall_time_s", "memory_ids", "payload"], ops=["reinforce"])
    if ev.num_rows == 0:
        df = pd.DataFrame(
            {c: pd.Series(dtype="object" if c in ("memory_id", "trace_id") else "float64") for c in _REINFORCE_COLUMNS}
        )
    else:
        text = "\n".join(ev.column("payload").to_pylist()).encode()
        payload = pa_json.read_json(io.BytesIO(text))
        ids = ev.column("memory_ids").combine_chunks()
        owner = pc.list_parent_indices(ids).to_numpy()
        trace = payload.column("trace_id").to_pandas() if "trace_id" in payload.column_names else None
        df = pd.DataFrame(
            {
                "memory_id": pc.list_flatten(ids).to_numpy(zero_copy_only=False),
                "time_s": ev.column("time_s").to_numpy()[owner],
                "wall_time_s": ev.column("wall_time_s").to_numpy()[owner],
                "stability_before": payload.column("stability_before").to_numpy()[owner].astype(np.float64),
                "stability_after": payload.column("stability_after").to_numpy()[owner].astype(np.float64),
                "trace_id": trace.to_numpy()[owner] if trace is not None else None,
            }
        )
        df = df.sort_values(["time_s", "wall_time_s"], kind="stable")[_REINFORCE_COLUMNS].reset_index(drop=True)
    _cache[store] = (version, df)
    return df


def restate(store: MemoryStore, rows: pa.Table, t: float, undo_trace: str | None = None) -> pa.Table:
    """``rows`` (a memories-table read with ``id``, ``stability_days``, ``recall_count``, ``last_recalled_s``,
    ``forgotten_time_s``) as they were at clock time ``t`` (POSIX s): the same rows, in the same order, with
    those four columns as the events up to ``t`` left them (see the module). ``undo_trace`` also undoes the
    reinforcements of that recall (its own, at ``t``: why-not scores memories as that recall saw them).
    Existence is not checked here (see :func:`as_of_rows`)."""
    if rows.num_rows == 0:
        return rows
    r = reinforcements(store)
    forgotten = rows.column("forgotten_time_s").fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    if undo_trace is None and not (r["time_s"] > t).any() and not (forgotten > t).any():
        return rows  # nothing happened after t: the stored state is the state then
    # each reinforcement's row in ``rows`` (a hash lookup), then per row: pandas group-bys over the few events
    pos = pd.Index(rows.column("id").to_numpy(zero_copy_only=False).astype(object)).get_indexer(
        r["memory_id"].to_numpy(dtype=object)
    )
    mine = pos >= 0
    ev = pd.DataFrame(
        {
            "pos": pos[mine],
            "time_s": r["time_s"].to_numpy()[mine],
            "before": r["stability_before"].to_numpy()[mine],
            "after": r["stability_after"].to_numpy()[mine],
            "undone": (r["time_s"].to_numpy() > t)[mine]
            | ((r["trace_id"].to_numpy(dtype=object) == undo_trace)[mine] if undo_trace is not None else False),
        }
    )
    later, upto = ev[ev["undone"]], ev[~ev["undone"]]
    stab = rows.column("stability_days").to_numpy().astype(np.float64, copy=True)
    first_later = later.groupby("pos")["before"].first()
    stab[first_later.index.to_numpy()] = first_later.to_numpy()
    last_upto = upto.groupby("pos")["after"].last()
    stab[last_upto.index.to_numpy()] = last_upto.to_numpy()
    count = rows.column("recall_count").fill_null(0).to_numpy(zero_copy_only=False).astype(np.int64)
    count = np.maximum(count - np.bincount(later["pos"].to_numpy(), minlength=rows.num_rows), 0)
    last = rows.column("last_recalled_s").fill_null(np.nan).to_numpy(zero_copy_only=False).astype(np.float64)
    last = np.where(last <= t, last, np.nan)  # NaN compares False: stays NaN
    last[ev["pos"].unique()] = np.nan  # with events, the last recall is the last one up to t
    last_time = upto.groupby("pos")["time_s"].max()
    last[last_time.index.to_numpy()] = last_time.to_numpy()
    columns = {
        "stability_days": stab,
        "recall_count": count,
        "last_recalled_s": last,
        "forgotten_time_s": np.where(forgotten <= t, forgotten, np.nan),
    }
    for name, values in columns.items():
        i = rows.schema.get_field_index(name)
        arr = pa.array(values, from_pandas=True).cast(rows.schema.field(name).type)
        rows = rows.set_column(i, rows.schema.field(name), arr)
    return rows


def as_of_rows(store: MemoryStore, rows: pa.Table, t: float) -> pa.Table:
    """The memories of ``rows`` that existed at ``t`` (:func:`birth_s` <= ``t``), as they were then
    (:func:`restate`), in the same order."""
    exists = birth_s(rows) <= t
    if not exists.all():
        rows = rows.filter(pa.array(exists))
    return restate(store, rows, t)


__all__ = ["as_of_rows", "birth_s", "changed_since", "reinforcements", "restate"]
