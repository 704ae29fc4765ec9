"""``memviz check`` and ``memviz repair``: whether a store's tables agree with each other and with its event log,
and rebuilding what can be derived from them.

The invariants (what the write protocol, :mod:`memviz.store.journal` and recovery guarantee):

- no operation is left unfinished (no intent in ``_journal``);
- every memory and link belongs to a committed batch (one whose events are in the log);
- no memory id is stored twice, and every memory has a write event;
- no link has an end that is not a stored memory;
- each memory's soft-forgotten flag and recall count equal what replaying the log gives
  (:func:`expected_state`);
- a store with memories has its full-text index.
"""

from __future__ import annotations

from collections import Counter
from dataclasses import asdict, dataclass, field
from typing import TYPE_CHECKING, Any

import pyarrow as pa

from memviz.events import Event, RepairEvent
from memviz.filters import LinkFilter

if TYPE_CHECKING:
    from memviz.store.store import MemoryStore

# How many ids a finding lists (the count is always whole).
SHOWN = 10


@dataclass(frozen=True)
class Finding:
    """One broken invariant: ``kind`` (e.g. ``"dangling_links"``), how many rows it touches, some of the ids,
    and whether :func:`repair` can rebuild it from what the store holds."""

    kind: str
    count: int
    detail: str
    ids: list[str] = field(default_factory=list)
    repairable: bool = False


@dataclass(frozen=True)
class CheckReport:
    """The counts checked and the findings (none: the store is consistent)."""

    memories: int
    links: int
    events: int
    findings: list[Finding]

    @property
    def ok(self) -> bool:
        return not self.findings

    def to_dict(self) -> dict[str, Any]:
        return asdict(self) | {"ok": self.ok}


def expected_state(events: list[Event], version_times: dict[int, float]) -> dict[str, tuple[bool, int]]:
    """Each stored memory's ``(forgotten, recall_count)`` by replaying the log ``events`` (oldest first): a write
    starts at (False, 0), reinforce adds one, forget / restore set the flag, prune removes, and a version restore
    to memories version v resets the state to what it was at v: the replay of the events whose changes that
    version held (an event's memories version is its ``store_versions``, its batch's, or else the newest
    version written before it; ``version_times`` maps each memories version to its POSIX time)."""
    batch_version = {e.batch_id: int(e.store_versions["memories"]) for e in events if e.batch_id and e.store_versions}
    ordered = sorted(version_times.items(), key=lambda kv: kv[1])

    def version_of(e: Event) -> int:
        if e.store_versions and "memories" in e.store_versions:
            return int(e.store_versions["memories"])
        if e.batch_id in batch_version:
            return batch_version[e.batch_id]
        return max([v for v, t in ordered if t <= e.wall_time_s] or [0])

    versions = [version_of(e) for e in events]
    memo: dict[int, dict[str, tuple[bool, int]]] = {}

    def replay(upto: int) -> dict[str, tuple[bool, int]]:
        """The state after events[:upto]."""
        if upto in memo:
            return memo[upto]
        state: dict[str, tuple[bool, int]] = {}
        for n in range(upto):
            e = events[n]
            if e.op == "write":
                state.update({i: (False, 0) for i in e.memory_ids})
            elif e.op == "reinforce":
                for i in e.memory_ids:
                    if i in state:
                        state[i] = (state[i][0], state[i][1] + 1)
            elif e.op in ("forget", "restore"):
                for i in e.memory_ids:
                    if i in state:
                        state[i] = (e.op == "forget", state[i][1])
            elif e.op == "prune":
                for i in e.memory_ids:
                    state.pop(i, None)
            elif e.op == "restore_version":
                target = int(e.payload["version"])
                last = max([j for j in range(n) if versions[j] <= target] or [-1])
                state = dict(replay(last + 1))
        memo[upto] = state
        return state

    return replay(len(events))


def check(store: MemoryStore) -> CheckReport:
    """Check every invariant of the module docstring on ``store`` as it is (after the recovery its opening ran)."""
    mems = store.memories_table(columns=["id", "batch_id", "forgotten_time_s", "recall_count"])
    links = store.links_table().select(["source_id", "target_id", "batch_id"])
    events = store.list_events()
    findings: list[Finding] = []

    def add(kind: str, ids: list[str], detail: str, repairable: bool = False) -> None:
        if ids:
            findings.append(Finding(kind, len(ids), detail, sorted(ids)[:SHOWN], repairable))

    add(
        "unfinished_operations",
        [p.stem for p in store.journal.pending()],
        "operations started and not finished (open the store writable: the next writer finishes them)",
    )
    committed = {e.batch_id for e in events if e.batch_id}
    batches = set(mems.column("batch_id").to_pylist()) | set(links.column("batch_id").to_pylist())
    add(
        "uncommitted_batches",
        sorted(batches - committed - {""} - store.inflight.live_batches()),
        "rows of batches without events and whose writer is dead (opening the store writable removes them)",
    )
    ids = mems.column("id").to_pylist()
    add("duplicate_ids", [i for i, c in Counter(ids).items() if c > 1], "memory ids stored more than once")
    written = {i for e in events if e.op == "write" for i in e.memory_ids}
    add("memories_without_write_event", sorted(set(ids) - written), "memories the log never saw written")
    stored = set(ids)
    ends = set(links.column("source_id").to_pylist()) | set(links.column("target_id").to_pylist())
    add("dangling_links", sorted(ends - stored), "memory ids links point to that are not stored", repairable=True)
    expected = expected_state(events, _version_times(store))
    flags = dict(zip(ids, mems.column("forgotten_time_s").is_valid().to_pylist(), strict=True))
    counts = dict(zip(ids, mems.column("recall_count").fill_null(0).to_pylist(), strict=True))
    add(
        "forgotten_flag_vs_log",
        [i for i in ids if i in expected and expected[i][0] != flags[i]],
        "soft-forgotten flags that differ from the log's forget / restore events",
        repairable=True,
    )
    add(
        "recall_count_vs_log",
        [i for i in ids if i in expected and expected[i][1] != counts[i]],
        "recall counts that differ from the log's reinforce events",
        repairable=True,
    )
    if mems.num_rows and not store._has_text_index():
        add("full_text_index_missing", ["memories.text"], "no full-text (BM25) index on memories", repairable=True)
    return CheckReport(mems.num_rows, links.num_rows, len(events), findings)


def repair(store: MemoryStore, time_s: float) -> tuple[CheckReport, RepairEvent | None]:
    """Rebuild what can be derived, as one journalled operation recorded in a ``repair`` event (at clock time
    ``time_s``): delete dangling links, set forgotten flags and recall counts to the log's, rebuild the
    full-text index. Returns the check after it (what it could not repair stays listed) and the event (None
    when there was nothing to repair). Raises StoreError when the store cannot be written."""
    before = check(store)
    todo = {f.kind: f for f in before.findings if f.repairable}
    if not todo:
        return before, None
    with store.operation("repair") as op:
        mems = store.memories_table(columns=["id", "forgotten_time_s", "recall_count"])
        fixed: dict[str, int] = {}
        if "dangling_links" in todo:
            stored = set(mems.column("id").to_pylist())
            links = store.links_table()
            ends = set(links.column("source_id").to_pylist()) | set(links.column("target_id").to_pylist())
            before_n = links.num_rows
            store.delete_links(LinkFilter(touching=sorted(ends - stored)))
            fixed["dangling_links"] = before_n - store.count("links")
        if "forgotten_flag_vs_log" in todo or "recall_count_vs_log" in todo:
            fixed |= _reset_to_log(store, mems, expected_state(store.list_events(), _version_times(store)), time_s)
        if "full_text_index_missing" in todo:
            store.refresh_text_index()
            fixed["full_text_index"] = 1
        event = op.commit([RepairEvent(time_s=time_s, fixed=fixed)])[0]
    return check(store), event


def _reset_to_log(
    store: MemoryStore, mems: pa.Table, expected: dict[str, tuple[bool, int]], time_s: float
) -> dict[str, int]:
    """Set the flags and counts that differ from ``expected`` (a memory forgotten by the log keeps its time if
    it has one, else gets ``time_s``). Returns how many of each were changed."""
    rows: dict[str, list] = {"id": [], "forgotten_time_s": [], "recall_count": []}
    n_flags = n_counts = 0
    for r in mems.to_pylist():
        if r["id"] not in expected:
            continue
        forgotten, count = expected[r["id"]]
        flag_ok = (r["forgotten_time_s"] is not None) == forgotten
        count_ok = (r["recall_count"] or 0) == count
        if flag_ok and count_ok:
            continue
        n_flags += not flag_ok
        n_counts += not count_ok
        rows["id"].append(r["id"])
        rows["forgotten_time_s"].append((r["forgotten_time_s"] or time_s) if forgotten else None)
        rows["recall_count"].append(count)
    store.update_memories(
        pa.table(
            {
                "id": rows["id"],
                "forgotten_time_s": pa.array(rows["forgotten_time_s"], pa.float64()),
                "recall_count": pa.array(rows["recall_count"], pa.int32()),
            }
        )
    )
    return {"forgotten_flags": n_flags, "recall_counts": n_counts}


def _version_times(store: MemoryStore) -> dict[int, float]:
    return {int(v["version"]): v["timestamp"].timestamp() for v in store.memories.list_versions()}


__all__ = ["CheckReport", "Finding", "check", "expected_state", "repair"]
