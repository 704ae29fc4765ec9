"""Typed events of the append-only event log: one frozen dataclass per kind of change.

Every change to a store is recorded as an event; pages replay the log (a memory's history, its forgetting
curve, past recall traces, time travel) and never need the tables' old versions for it. An event is built
with its own fields (``WriteEvent(time_s=..., memory_ids=(...), text=...)``) and stored as a row of the
``events`` table: ``op`` (:data:`EventOp`), ``time_s`` (the engine clock: simulated or real, POSIX s),
``wall_time_s`` (real time when recorded, POSIX s), ``memory_ids``, ``batch_id`` and a JSON ``payload`` holding
the kind's own fields. :func:`event_from_row` turns a stored row back into its typed event; payload keys an
older memviz wrote and this one no longer knows are ignored.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field, fields
from typing import Any, ClassVar, Literal, get_args

import numpy as np

from memviz.models import Trace

EventOp = Literal[
    "write",
    "update",
    "link",
    "recall",
    "reinforce",
    "forget",
    "restore",
    "prune",
    "import",
    "clock",
    "restore_version",
    "repair",
]
EVENT_OPS: tuple[str, ...] = get_args(EventOp)
# Fields every event has; the rest of a kind's fields are its payload.
_BASE_FIELDS = ("time_s", "memory_ids", "batch_id", "id", "wall_time_s", "store_versions")


@dataclass(frozen=True, kw_only=True)
class Event:
    """What every event has. ``time_s``: the engine clock when it happened (POSIX s). ``memory_ids``: the
    memories it touched. ``batch_id``: the write batch it belongs to ("" for other events). ``id`` and
    ``wall_time_s`` (real time, POSIX s) are given by the store when it appends the event. ``store_versions``
    (``{"memories": v, "links": v}``): the table versions a commit produced, on a batch's first event, a
    prune and a version restore (what :meth:`MemoryStore.restore_version` maps versions with)."""

    op: ClassVar[str] = ""
    time_s: float
    memory_ids: tuple[str, ...] = ()
    batch_id: str = ""
    id: str = ""
    wall_time_s: float = 0.0
    store_versions: dict[str, int] | None = None

    @property
    def payload(self) -> dict[str, Any]:
        """The kind's own fields (and ``store_versions`` when set), as stored in the log's JSON payload."""
        out = {f.name: getattr(self, f.name) for f in fields(self) if f.name not in _BASE_FIELDS}
        if self.store_versions is not None:
            out["store_versions"] = self.store_versions
        return out

    def payload_json(self) -> str:
        return json.dumps(self.payload, default=_json_default)


@dataclass(frozen=True, kw_only=True)
class WriteEvent(Event):
    """A memory was written: its normalised text, keywords, importance in [0, 1], initial stability S (days)
    and the number of links it got."""

    op: ClassVar[str] = "write"
    text: str = ""
    keywords: list[str] = field(default_factory=list)
    importance: float = 0.0
    stability_days: float = 0.0
    n_links: int = 0


@dataclass(frozen=True, kw_only=True)
class UpdateEvent(Event):
    """An imported memory's text changed in its source, at ``time_s`` (the source's own time of the change):
    from ``old_text`` to ``text``. Written with the memory (whose stored text is its latest) from the source's
    history; memviz itself never changes a memory's text. ``reason``: the source's name for the change (e.g.
    ``"mem0 UPDATE"``)."""

    op: ClassVar[str] = "update"
    text: str = ""
    old_text: str = ""
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class LinkEvent(Event):
    """The links a batch created, each ``[source_id, target_id, kind, weight]``."""

    op: ClassVar[str] = "link"
    links: list[list[Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ImportEvent(Event):
    """A batch came from a file: ``source`` (e.g. ``{"path", "format"}``) and what the batch wrote/skipped."""

    op: ClassVar[str] = "import"
    source: dict[str, Any] = field(default_factory=dict)
    n_written: int = 0
    n_skipped: int = 0

    @property
    def payload(self) -> dict[str, Any]:  # the source's keys at the top level, as memviz always stored them
        return (
            dict(self.source)
            | {"n_written": self.n_written, "n_skipped": self.n_skipped}
            | ({"store_versions": self.store_versions} if self.store_versions is not None else {})
        )


@dataclass(frozen=True, kw_only=True)
class RecallEvent(Event):
    """A recall: its query and whole trace (``memory_ids`` are the hits, best first)."""

    op: ClassVar[str] = "recall"
    query: str = ""
    trace: dict[str, Any] = field(default_factory=dict)

    def to_trace(self) -> Trace:
        return Trace.from_dict(self.trace)


@dataclass(frozen=True, kw_only=True)
class ReinforceEvent(Event):
    """One memory strengthened (by a recall or by hand): stability S before and after (days), its retention
    just before (exponential model, [0, 1]), why (``"recall"``, ``"manual"``) and the recall's trace id."""

    op: ClassVar[str] = "reinforce"
    stability_before: float = 0.0
    stability_after: float = 0.0
    retention_before: float = 0.0
    reason: str = ""
    trace_id: str | None = None


@dataclass(frozen=True, kw_only=True)
class ForgetEvent(Event):
    """Memories soft-forgotten (left out of recall, kept, reversible), and why."""

    op: ClassVar[str] = "forget"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class RestoreEvent(Event):
    """Soft-forgotten memories restored."""

    op: ClassVar[str] = "restore"
    reason: str = ""


@dataclass(frozen=True, kw_only=True)
class PruneEvent(Event):
    """Memories hard-deleted with their links; ``memories`` keeps what they were (id, text, speaker, ...)."""

    op: ClassVar[str] = "prune"
    memories: list[dict[str, Any]] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class ClockEvent(Event):
    """The simulated clock moved from ``from_s`` to ``to_s`` (POSIX s)."""

    op: ClassVar[str] = "clock"
    from_s: float = 0.0
    to_s: float = 0.0


@dataclass(frozen=True, kw_only=True)
class RestoreVersionEvent(Event):
    """The memories and links tables were restored to memories-table ``version`` (see
    :meth:`MemoryStore.restore_version` for the fields)."""

    op: ClassVar[str] = "restore_version"
    version: int = 0
    links_version: int = 0
    from_version: int = 0
    removed_ids: list[str] = field(default_factory=list)
    restored_ids: list[str] = field(default_factory=list)
    dangling_links_removed_for: list[str] = field(default_factory=list)


@dataclass(frozen=True, kw_only=True)
class RepairEvent(Event):
    """``memviz repair`` rebuilt what the tables and the log determine: ``fixed`` counts what it changed
    (``dangling_links``, ``forgotten_flags``, ``recall_counts``, ``full_text_index``)."""

    op: ClassVar[str] = "repair"
    fixed: dict[str, int] = field(default_factory=dict)


EVENT_TYPES: dict[str, type[Event]] = {
    cls.op: cls
    for cls in (
        WriteEvent,
        UpdateEvent,
        LinkEvent,
        ImportEvent,
        RecallEvent,
        ReinforceEvent,
        ForgetEvent,
        RestoreEvent,
        PruneEvent,
        ClockEvent,
        RestoreVersionEvent,
        RepairEvent,
    )
}
assert set(EVENT_TYPES) == set(EVENT_OPS)


def event_from_row(row: dict[str, Any]) -> Event:
    """The typed event of one stored ``events`` row (``op``, ``time_s``, ``wall_time_s``, ``memory_ids``,
    ``batch_id``, ``payload`` JSON). Raises ValueError for an unknown op."""
    cls = EVENT_TYPES.get(row["op"])
    if cls is None:
        raise ValueError(f"unknown event op {row['op']!r}")
    payload = json.loads(row["payload"] or "{}")
    known = {f.name for f in fields(cls)} - set(_BASE_FIELDS)
    own = {k: v for k, v in payload.items() if k in known}
    if cls is ImportEvent:
        own["source"] = {k: v for k, v in payload.items() if k not in known and k != "store_versions"}
    return cls(
        time_s=row["time_s"],
        memory_ids=tuple(row["memory_ids"] or ()),
        batch_id=row["batch_id"] or "",
        id=row["id"],
        wall_time_s=row["wall_time_s"],
        store_versions=payload.get("store_versions"),
        **own,
    )


def _json_default(o: Any) -> Any:
    if isinstance(o, np.generic):
        return o.item()
    if isinstance(o, np.ndarray):
        return o.tolist()
    raise TypeError(f"not JSON serialisable: {type(o).__name__}")


__all__ = [
    "EVENT_OPS",
    "EVENT_TYPES",
    "ClockEvent",
    "Event",
    "EventOp",
    "ForgetEvent",
    "ImportEvent",
    "LinkEvent",
    "PruneEvent",
    "RecallEvent",
    "ReinforceEvent",
    "RepairEvent",
    "RestoreEvent",
    "RestoreVersionEvent",
    "UpdateEvent",
    "WriteEvent",
    "event_from_row",
]
