"""The OpenTelemetry GenAI memory spans in memviz terms: import another engine's memory operations as memviz
events, export memviz's recall traces as ``search_memory`` spans.

The conventions (``stability: development``) are those of open-telemetry/semantic-conventions-genai
(``model/gen-ai/spans.yaml``, span ``gen_ai.memory.client``; ``model/gen-ai/registry.yaml``; the records' JSON
schema ``gen-ai-memory-records.json``; added by its PR #140, which carried over semantic-conventions PR #3250):

- ``gen_ai.operation.name``: ``search_memory``, ``create_memory``, ``update_memory``, ``upsert_memory``,
  ``delete_memory`` (and ``create_memory_store`` / ``delete_memory_store``, which hold no memory: skipped);
- ``gen_ai.memory.store.id``, ``gen_ai.memory.record.id``, ``gen_ai.memory.record.count``,
  ``gen_ai.memory.query.text`` (opt-in) and ``gen_ai.memory.records`` (opt-in): a list of records
  ``{"content" (required, any JSON), "id", "score", "metadata"}``, structured or as a JSON string;
- ``gen_ai.provider.name``; span name ``{gen_ai.operation.name}``.

How they map (:func:`plan`, then :func:`apply`):

- a **search** becomes a ``recall`` event whose trace has a ``scoring`` and a ``final`` stage listing the
  returned records in order, each with the source's score (as ``score`` and ``relevance``); its time is the
  span's start. The Recall page lists it under "Past traces" (labelled ``imported``). Records it returned that
  the store does not hold yet are written first (their content as text, at the search's time), so the trace
  shows their texts; a record without an id gets ``otel:<sha1 of its content>``.
- a **create / upsert / update** of records with content becomes a write batch at the span's time; a record
  whose id is already stored is left as it is (memviz does not change a stored text).
- a **delete** of known record ids becomes a soft ``forget`` at the span's time.
- A span memviz exported carries ``memviz.trace`` (the whole trace), which is imported as it is: exporting and
  importing into a fresh store gives the same traces.

Times are the spans' start times, checked against :data:`memviz.limits.TIME_RANGE`.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from memviz.errors import SchemaError
from memviz.limits import time_problem
from memviz.models import MemoryInput, Trace
from memviz.otel.otlp import FORMAT, SpanView

OPERATION = "gen_ai.operation.name"
PROVIDER = "gen_ai.provider.name"
STORE_ID = "gen_ai.memory.store.id"
RECORD_ID = "gen_ai.memory.record.id"
RECORD_COUNT = "gen_ai.memory.record.count"
QUERY = "gen_ai.memory.query.text"
RECORDS = "gen_ai.memory.records"
MEMVIZ_TRACE = "memviz.trace"  # memviz's own: the whole recall trace, for a lossless round trip
SEARCH, WRITES, DELETE = "search_memory", ("create_memory", "update_memory", "upsert_memory"), "delete_memory"
STORE_LIFECYCLE = ("create_memory_store", "delete_memory_store")
NO_QUERY = "(query not recorded)"


@dataclass(frozen=True)
class Record:
    """One memory record of a span: id (given or derived), text (its content; None when not recorded), score
    and metadata."""

    id: str
    text: str | None
    score: float | None
    metadata: dict[str, Any]


@dataclass
class MemoryOp:
    """One memory operation span, read and checked: what :func:`apply` turns into events."""

    op: str
    time_s: float
    span: SpanView
    records: list[Record] = field(default_factory=list)
    trace: dict[str, Any] | None = None  # searches: the trace to record

    @property
    def provider(self) -> str:
        return str(self.span.attributes.get(PROVIDER) or self.span.resource.get("service.name") or "otel")


def plan(spans: Sequence[SpanView], name: str) -> list[MemoryOp]:
    """The memory operations among ``spans``, checked whole and sorted by time (file order within a time).
    Raises SchemaError naming the file and the span for a malformed memory span, or when the file holds no
    memory operation at all."""
    ops = []
    for span in spans:
        op = span.attributes.get(OPERATION)
        if op in STORE_LIFECYCLE or (op != SEARCH and op not in WRITES and op != DELETE):
            continue
        problem = time_problem(span.start_s) if span.start_s > 0 else "the span has no start time"
        if problem is not None:
            raise SchemaError(f"{name}: {FORMAT}: {span.where}: {problem}")
        mop = MemoryOp(str(op), span.start_s, span, _records(span, name))
        if op == SEARCH:
            mop.trace = _search_trace(mop, name)
        ops.append(mop)
    if not ops:
        found = f"{len(spans)} span(s), none" if spans else "no span at all, so none"
        raise SchemaError(
            f"{name}: {FORMAT}: top level: {found} a GenAI memory operation "
            f"({OPERATION} = {SEARCH}, {', '.join(WRITES)} or {DELETE})"
        )
    return sorted(ops, key=lambda o: o.time_s)


def record_memory(r: Record, op: MemoryOp) -> MemoryInput:
    """The memory to write for record ``r`` of ``op`` (which has content): its id and text; speaker, session,
    source id, kind and time from memviz's own metadata keys when a memviz export wrote them, else the common
    ones (``speaker`` / ``role``, ``session_id`` / ``session`` / ``conversation_id``); the time defaults to
    the span's."""
    md = r.metadata
    t = md.get("event_time_s")
    return MemoryInput(
        text=r.text or "",
        id=r.id,
        speaker=_str(md, "speaker", "role", "user_id"),
        session_id=_str(md, "session_id", "session", "conversation_id"),
        source_id=_str(md, "source_id") or r.id,
        kind=md["kind"] if md.get("kind") in ("episodic", "semantic", "procedural", "reflection") else "episodic",
        event_time_s=float(t) if isinstance(t, int | float) and time_problem(float(t)) is None else op.time_s,
        dataset=md["dataset"] if isinstance(md.get("dataset"), str) else op.provider,
    )


def export_span_attributes(trace: Trace, records: list[dict[str, Any]], store_id: str) -> dict[str, Any]:
    """The attributes of the ``search_memory`` span of one memviz recall ``trace`` with its hit ``records``."""
    return {
        OPERATION: SEARCH,
        PROVIDER: "memviz",
        STORE_ID: store_id,
        QUERY: trace.query,
        RECORD_COUNT: len(records),
        RECORDS: records,
        MEMVIZ_TRACE: json.dumps(trace.to_dict(), separators=(",", ":")),
    }


# -- reading a span -----------------------------------------------------------------------------------------
def _records(span: SpanView, name: str) -> list[Record]:
    """The span's records (``gen_ai.memory.records``, structured or a JSON string), else the bare
    ``gen_ai.memory.record.id`` as a record without content. Raises SchemaError for records of the wrong shape."""
    raw = span.attributes.get(RECORDS)
    where = f"{name}: {FORMAT}: {span.where}: {RECORDS}"
    if isinstance(raw, str):
        try:
            raw = json.loads(raw)
        except json.JSONDecodeError as e:
            raise SchemaError(f"{where}: invalid JSON at column {e.colno}: {e.msg}") from None
    if raw is None:
        rid = span.attributes.get(RECORD_ID)
        return [Record(str(rid), None, None, {})] if rid not in (None, "") else []
    if not isinstance(raw, list):
        raise SchemaError(f"{where}: expected a list of records, got {type(raw).__name__}")
    out = []
    for n, item in enumerate(raw):
        if not isinstance(item, dict):
            raise SchemaError(f"{where}[{n}]: expected a record object, got {type(item).__name__}")
        content = item.get("content")
        text = None if content is None else content if isinstance(content, str) else json.dumps(content)
        rid = item.get("id")
        if rid in (None, ""):
            if text is None:
                raise SchemaError(f"{where}[{n}]: a record needs its content or its id")
            rid = "otel:" + hashlib.sha1(text.encode()).hexdigest()[:16]
        score = item.get("score")
        if score is not None and (isinstance(score, bool) or not isinstance(score, int | float)):
            raise SchemaError(f"{where}[{n}]: score must be a number, got {score!r}")
        md = item.get("metadata") or {}
        if not isinstance(md, dict):
            raise SchemaError(f"{where}[{n}]: metadata must be an object, got {type(md).__name__}")
        out.append(Record(str(rid), text, None if score is None else float(score), md))
    return out


def _search_trace(op: MemoryOp, name: str) -> dict[str, Any]:
    """The trace dict of a search: memviz's own (``memviz.trace``) when the span has one, else one built from
    the span (see the module docstring)."""
    span = op.span
    own = span.attributes.get(MEMVIZ_TRACE)
    if own is not None:
        try:
            trace = Trace.from_dict(json.loads(own)).to_dict()  # checked: a well-formed memviz trace
        except (TypeError, ValueError, KeyError) as e:
            raise SchemaError(f"{name}: {FORMAT}: {span.where}: {MEMVIZ_TRACE}: not a memviz trace: {e}") from None
        return trace
    query = span.attributes.get(QUERY)
    ranked = [
        {"id": r.id, "rank": n, "scores": {"score": r.score or 0.0, "relevance": r.score or 0.0}}
        for n, r in enumerate(op.records, 1)
    ]
    count = span.attributes.get(RECORD_COUNT)
    info = {
        "records": len(ranked),
        "scores": "the source's" if any(r.score is not None for r in op.records) else "none",
    }
    if isinstance(count, int) and count != len(ranked):
        info["record_count"] = count  # e.g. records not captured (opt-in)
    ms = max(0.0, (span.end_s - span.start_s) * 1000.0) if span.end_s else 0.0
    return {
        "id": span.trace_id + span.span_id,
        "query": str(query) if isinstance(query, str) and query.strip() else NO_QUERY,
        "k": max(1, len(ranked)),
        "time_s": op.time_s,
        "config": {
            "k": max(1, len(ranked)),
            "weights": {"relevance": 1.0},
            "retrievers": ["vector"],
            "fusion": False,
            "reinforce": False,
            "record": True,
            "imported": {
                "format": FORMAT,
                "provider": op.provider,
                "store_id": span.attributes.get(STORE_ID),
                "trace_id": span.trace_id,
                "span_id": span.span_id,
            },
        },
        "stages": [
            {"name": "scoring", "duration_ms": ms, "info": info, "candidates": ranked},
            {"name": "final", "duration_ms": 0.0, "info": {}, "candidates": ranked},
        ],
        "total_ms": ms,
    }


def _str(md: Mapping[str, Any], *keys: str) -> str:
    for k in keys:
        if isinstance(md.get(k), str) and md[k]:
            return md[k]
    return ""


def records_of(ops: Sequence[MemoryOp]) -> Iterator[tuple[MemoryOp, Record]]:
    """Every record with content, in the order the operations run."""
    for op in ops:
        if op.op == SEARCH or op.op in WRITES:
            for r in op.records:
                if r.text is not None:
                    yield op, r


__all__ = [
    "DELETE",
    "MEMVIZ_TRACE",
    "SEARCH",
    "WRITES",
    "MemoryOp",
    "Record",
    "export_span_attributes",
    "plan",
    "record_memory",
    "records_of",
]
