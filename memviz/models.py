"""Typed domain objects: one per concept (memory, link, write report, recall hit, trace stage; events are in
:mod:`memviz.events`, filters in :mod:`memviz.filters`).

Times are POSIX seconds (UTC) in ``*_s`` fields; stability is in days.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, Literal

MemoryKind = Literal["episodic", "semantic", "procedural", "reflection"]
MEMORY_KINDS: tuple[str, ...] = ("episodic", "semantic", "procedural", "reflection")

LinkKind = Literal["semantic", "temporal", "keyword"]
LINK_KINDS: tuple[str, ...] = ("semantic", "temporal", "keyword")


ChangeOp = Literal["update", "forget"]


@dataclass(frozen=True)
class Change:
    """One later change of an imported memory, as its source's history records it: ``op`` ``"update"`` (its
    text went from ``old_text`` to ``text``) or ``"forget"`` (the source deleted it; ``text`` is what it held
    then), at ``time_s`` (POSIX seconds, the source's own time of the change), and the source's own name for
    it in ``reason`` (e.g. ``"mem0 DELETE"``)."""

    op: ChangeOp
    time_s: float
    text: str = ""
    old_text: str = ""
    reason: str = ""


@dataclass(frozen=True)
class MemoryInput:
    """One memory to write, as an importer or a user gives it.

    ``text`` is the raw utterance; ``speaker`` and ``session_id`` come from the data; ``source_id`` points back
    to the source message (e.g. LoCoMo ``"D1:3"``); ``event_time_s`` is when the data says it happened
    (POSIX seconds, None when the data has no time). ``id`` may be given for a stable, re-importable identity;
    otherwise the engine assigns one. ``dataset`` names where the memory came from (``"locomo"``, ``"demo"``...).
    ``scope`` says whose memory it is (one level: a user ``"alice"``, an agent's run ``"agent:run-7"``, a LoCoMo
    conversation ``"conv-26"``; ``""``, the default scope, when none is given; bounded by
    :func:`memviz.limits.scope_problem`): recall, the graph, forgetting and evaluation can work within one scope,
    and links never join two scopes.

    Imports from another engine's store also give ``metadata`` (the source's own fields, JSON-able; stored as
    JSON text and shown on the memory's page) and, when the source keeps a history, ``written_s`` (when the
    source wrote the memory, POSIX s: its ``write`` event gets this time and ``first_text``, the text it was
    written with, instead of the engine clock and ``text``) and ``history``: its later changes, oldest first,
    each recorded as an event at its own time (an ``update``; a ``forget`` also leaves the memory forgotten
    since then). ``text`` is always the memory's latest text. ``verbatim``: store ``text`` exactly as given (an
    import from another engine keeps its texts equal to the source), not normalised (NFC, control characters
    and runs of whitespace made single spaces); it is still refused when its normalised form is empty or it is
    too long.
    """

    text: str
    speaker: str = ""
    session_id: str = ""
    source_id: str = ""
    event_time_s: float | None = None
    kind: MemoryKind = "episodic"
    id: str | None = None
    dataset: str = ""
    metadata: Mapping[str, Any] | None = None
    written_s: float | None = None
    first_text: str = ""
    history: tuple[Change, ...] = ()
    verbatim: bool = False
    scope: str = ""


@dataclass(frozen=True)
class Memory:
    """A stored memory (a row of the ``memories`` table, without its vector)."""

    id: str
    text: str
    kind: str
    speaker: str
    session_id: str
    source_id: str
    dataset: str
    event_time_s: float | None
    created_time_s: float
    importance: float  # [0, 1]
    stability_days: float  # > 0
    recall_count: int
    last_recalled_s: float | None
    forgotten_time_s: float | None
    keywords: list[str]
    access_times_s: list[float]
    batch_id: str
    metadata: dict[str, Any] | None = None  # the source's own fields of an imported memory (None: none)
    scope: str = ""  # whose memory it is (MemoryInput.scope; "" the default scope)

    @property
    def forgotten(self) -> bool:
        return self.forgotten_time_s is not None

    @property
    def label(self) -> str:
        """The memory's source id with its conversation (see :func:`source_labels`), e.g. ``conv-48:D2:24``."""
        return source_labels([self.id], [self.session_id], [self.source_id])[0]

    @property
    def last_access_s(self) -> float:
        """The time decay counts from: the latest of the event/creation time and the last recall."""
        base = self.event_time_s if self.event_time_s is not None else self.created_time_s
        return max(base, self.last_recalled_s or base)


def source_labels(ids: Sequence[str], session_ids: Sequence[str], source_ids: Sequence[str]) -> list[str]:
    """Labels that name a memory unambiguously across conversations: its source id (a data set's own turn id,
    e.g. LoCoMo's ``D2:24``, which every conversation has) prefixed by its conversation scope (the part of its
    session id before the first ``:``, e.g. ``conv-48`` of ``conv-48:S2``) unless the source id starts with it;
    the memory id when it has no source id."""
    out = []
    for i, session, source in zip(ids, session_ids, source_ids, strict=True):
        scope = (session or "").split(":", 1)[0]
        if not source:
            out.append(i)
        elif scope and not source.startswith(scope):
            out.append(f"{scope}:{source}")
        else:
            out.append(source)
    return out


@dataclass(frozen=True)
class Link:
    """A directed link from a newer memory (``source_id``) to an older one (``target_id``)."""

    source_id: str
    target_id: str
    kind: str  # one of LINK_KINDS
    weight: float  # [0, 1]: cosine similarity (semantic), 1 (temporal), keyword Jaccard x specificity (keyword)
    created_time_s: float
    batch_id: str = ""


@dataclass
class WriteItemReport:
    """What writing one memory did: its keywords, importance, nearest neighbours and the links created."""

    id: str
    text: str
    keywords: list[str]
    importance: float
    importance_parts: dict[str, float]
    stability_days: float
    neighbours: list[dict[str, Any]]  # [{"id", "text", "similarity"}], best first, whether linked or not
    links: list[Link]
    context: str | None = None  # what it was embedded with besides its text (memviz.context), None without


@dataclass
class WriteReport:
    """The outcome of one batch write (all-or-nothing)."""

    batch_id: str
    items: list[WriteItemReport]
    timings_ms: dict[str, float]
    skipped_ids: list[str] = field(default_factory=list)

    @property
    def n_links(self) -> int:
        return sum(len(i.links) for i in self.items)


@dataclass
class StageCandidate:
    """One candidate at one recall stage: its rank there (1-based) and the scores known at that stage."""

    id: str
    rank: int
    scores: dict[str, float]


@dataclass
class TraceStage:
    """One stage of a recall: its name, its candidates in rank order, and how long it took."""

    name: str
    duration_ms: float
    candidates: list[StageCandidate]
    info: dict[str, Any] = field(default_factory=dict)


@dataclass
class Trace:
    """The structured record of one recall: query, configuration, clock time and every stage."""

    id: str
    query: str
    k: int
    time_s: float
    config: dict[str, Any]
    stages: list[TraceStage]
    total_ms: float

    def stage(self, name: str) -> TraceStage:
        for s in self.stages:
            if s.name == name:
                return s
        raise KeyError(name)

    def to_dict(self) -> dict[str, Any]:
        """As plain dicts and lists (JSON-able; the inverse of :meth:`from_dict`). Written out by hand:
        ``dataclasses.asdict`` deep-copies every candidate and cost 20 ms per recall at 50 candidates."""
        return {
            "id": self.id,
            "query": self.query,
            "k": self.k,
            "time_s": self.time_s,
            "config": self.config,
            "stages": [
                {
                    "name": s.name,
                    "duration_ms": s.duration_ms,
                    "info": s.info,
                    "candidates": [{"id": c.id, "rank": c.rank, "scores": c.scores} for c in s.candidates],
                }
                for s in self.stages
            ],
            "total_ms": self.total_ms,
        }

    @classmethod
    def from_dict(cls, d: dict[str, Any]) -> Trace:
        stages = [
            TraceStage(
                name=s["name"],
                duration_ms=s["duration_ms"],
                candidates=[StageCandidate(**c) for c in s["candidates"]],
                info=s.get("info", {}),
            )
            for s in d["stages"]
        ]
        return cls(
            id=d["id"],
            query=d["query"],
            k=d["k"],
            time_s=d["time_s"],
            config=d["config"],
            stages=stages,
            total_ms=d["total_ms"],
        )


@dataclass
class Hit:
    """One recalled memory with its final score and the named components it is made of."""

    memory: Memory
    score: float
    components: dict[str, float]
    rank: int


@dataclass
class RecallResult:
    """The hits of one recall, its trace and ``query_vector``: the query's unit vector (dim,) as the recall
    embedded it (e.g. to place the query on the embedding map without embedding it again)."""

    hits: list[Hit]
    trace: Trace
    query_vector: Any = field(default=None, repr=False)
