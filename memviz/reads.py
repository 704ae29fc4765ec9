"""What pages and tools read from a store, beyond recall: memories by id, the links around a memory, the
event log and its timeline, the data's time range, versions and vectors. Read-only; no SQL (filters only)."""

from __future__ import annotations

import json
from collections.abc import Sequence

import numpy as np
import pandas as pd
import pyarrow.compute as pc

from memviz.events import Event, RecallEvent, event_from_row
from memviz.filters import LinkFilter, MemoryFilter
from memviz.models import Link, Memory, Trace
from memviz.store import MemoryStore, memories_from_table
from memviz.store.tables import value_counts


class Reads:
    """Read-only views of ``store`` for pages, the CLI and evaluation."""

    def __init__(self, store: MemoryStore):
        self.store = store

    def count(self, where: MemoryFilter | None = None) -> int:
        """How many memories (matching ``where``)."""
        return self.store.count("memories", where)

    def scope_counts(self, where: MemoryFilter | None = None) -> dict[str, int]:
        """{scope: number of memories matching ``where`` (all by default)}, by scope name (``""``: the default
        scope); one column read (from the in-memory index when it is current), counted by Arrow."""
        return value_counts(self.store.memories_table(columns=["scope"], where=where).column("scope"))

    def version(self) -> int:
        """The memories table's current version (changes with every write, forget, reinforce...)."""
        return self.store.version()

    def change_key(self) -> tuple[int, int]:
        """A cheap value that moves whenever the store changes, whoever changed it (another process too): the
        versions of the memories table and of the event log (a recall without hits, a clock move)."""
        return self.store.version(), self.store.events.version

    def versions(self) -> list[dict]:
        """Every version of the memories table: ``[{"version", "timestamp", "rows"}]``, oldest first."""
        return self.store.versions()

    def memories(self, ids: Sequence[str]) -> list[Memory]:
        """The memories ``ids`` that exist, in the order given; unknown ids are skipped."""
        _, tbl, _ = self.store.rows(list(dict.fromkeys(ids)))
        return memories_from_table(tbl)

    def memories_by_id(self, ids: Sequence[str]) -> dict[str, Memory]:
        """The memories ``ids`` that exist, by id (unknown ids are absent)."""
        return {m.id: m for m in self.memories(ids)}

    def table(self, columns: Sequence[str] | None = None, where: MemoryFilter | None = None) -> pd.DataFrame:
        """Memories (matching ``where``) as a DataFrame of ``columns`` (default: all but the vector)."""
        return self.store.memories_table(columns=columns, where=where).to_pandas()

    def vectors(self, where: MemoryFilter | None = None) -> tuple[list[str], np.ndarray]:
        """Ids and unit vectors (float32, shape (n, dim)) of the memories matching ``where``."""
        return self.store.vectors(where)

    def links(self, where: LinkFilter | None = None) -> pd.DataFrame:
        """Links (matching ``where``) as a DataFrame: source_id, target_id, kind, weight, created_time_s."""
        return self.store.links_table(where).to_pandas()

    def links_around(self, memory_id: str) -> tuple[list[Link], list[Memory]]:
        """Every link from or to ``memory_id`` and the memories at their other ends (those that exist)."""
        links = self.store.links_of(memory_id)
        ends = [e for lk in links for e in (lk.source_id, lk.target_id) if e != memory_id]
        return links, self.memories(ends)

    def events(
        self, memory_id: str | None = None, ops: Sequence[str] | None = None, limit: int | None = None
    ) -> list[Event]:
        """Typed events, oldest first; only those touching ``memory_id`` / of ``ops`` / the last ``limit``."""
        return self.store.list_events(memory_id=memory_id, ops=ops, limit=limit)

    def trace(self, trace_id: str) -> Trace | None:
        """The recorded recall trace ``trace_id`` (from its ``recall`` event), or None when the log has none."""
        ev = self.store.events_table(ops=["recall"])
        found = ev.filter(pc.match_substring(ev.column("payload"), _trace_mark(trace_id)))
        for row in found.to_pylist():
            event = event_from_row(row)
            if isinstance(event, RecallEvent) and event.trace.get("id") == trace_id:
                return event.to_trace()
        return None

    def trace_ids(self) -> set[str]:
        """The ids of every recorded recall trace."""
        payload = self.store.events_table(columns=["payload"], ops=["recall"]).column("payload")
        ids = pc.struct_field(pc.extract_regex(payload, _TRACE_ID_RE), [0])
        return {i for i in ids.to_pylist() if i is not None}

    def event_timeline(self) -> pd.DataFrame:
        """One row per event for a timeline: ``op``, ``time_s`` (engine clock), ``wall_time_s`` (real time)
        and ``n_memories`` (how many memories it touched), oldest first (by wall time)."""
        ev = self.store.events_table(columns=["op", "time_s", "wall_time_s", "memory_ids"])
        df = pd.DataFrame(
            {
                "op": ev.column("op").to_numpy(zero_copy_only=False),
                "time_s": ev.column("time_s").to_numpy(zero_copy_only=False),
                "wall_time_s": ev.column("wall_time_s").to_numpy(zero_copy_only=False),
                "n_memories": pc.list_value_length(ev.column("memory_ids")).fill_null(0).to_numpy(zero_copy_only=False),
            }
        )
        return df.sort_values("wall_time_s", kind="stable").reset_index(drop=True)

    def time_range(self) -> tuple[float, float] | None:
        """The earliest and latest memory time (event time, else creation time; POSIX s), or None when empty."""
        tbl = self.store.memories_table(columns=["event_time_s", "created_time_s"])
        if tbl.num_rows == 0:
            return None
        t = pc.coalesce(tbl.column("event_time_s"), tbl.column("created_time_s"))
        lo, hi = pc.min_max(t).values()
        return float(lo.as_py()), float(hi.as_py())


# How a recall event's payload begins its trace (json.dumps of {"query": ..., "trace": {"id": ...}}): a quote in
# the query is escaped there, so this text can only be the trace's own id.
_TRACE_ID_RE = r'"trace": \{"id": "(?P<id>[^"\\]*)"'


def _trace_mark(trace_id: str) -> str:
    return '"trace": {"id": ' + json.dumps(trace_id)
