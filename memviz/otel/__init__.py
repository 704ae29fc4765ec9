"""OpenTelemetry memory spans: import OTLP/JSON traces that follow the GenAI memory conventions into a store
(``memviz import-traces FILE``) and export memviz's recall traces the same way (``memviz export-traces``).

What maps to what, and which conventions: :mod:`memviz.otel.memory_spans`; the file format:
:mod:`memviz.otel.otlp` (the ``opentelemetry-proto`` classes, extra ``memviz[otel]``).

An import reads and checks the whole file before it writes anything: a malformed file (not JSON, not OTLP
traces, a memory span with records of the wrong shape, a time out of range, no memory span at all) is a
SchemaError ``<file>: otlp-json: <where>: <problem>`` and the store is unchanged. It writes through the engine's
writer and lifecycle (the store's write lock, batch protocol and journal), at the spans' times. Re-importing a
file adds nothing: memory ids and trace ids already stored are skipped.
"""

from __future__ import annotations

import os
import uuid
from dataclasses import dataclass
from typing import IO, TYPE_CHECKING, Any

from memviz.errors import MemvizError, SchemaError
from memviz.events import RecallEvent
from memviz.otel.memory_spans import (
    DELETE,
    SEARCH,
    WRITES,
    MemoryOp,
    export_span_attributes,
    plan,
    record_memory,
    records_of,
)
from memviz.otel.otlp import FORMAT, Span, attributes, read_spans, traces_data, write_documents

if TYPE_CHECKING:
    from memviz.engine import MemoryEngine
    from memviz.models import MemoryInput, Trace

EXPORT_BATCH = 100  # recall spans per line of an export


@dataclass
class _At:
    """A clock that reads the time of the operation being applied (the writer and lifecycle stamp with it)."""

    t: float = 0.0

    def now(self) -> float:
        return self.t


def read_plan(path: str | os.PathLike[str]) -> list[MemoryOp]:
    """The memory operations of the OTLP/JSON file at ``path``, read and checked whole (SchemaError)."""
    name = str(path)
    return plan(read_spans(_read(name), name), name)


def import_otlp(
    engine: MemoryEngine, path: str | os.PathLike[str], ops: list[MemoryOp] | None = None
) -> dict[str, Any]:
    """Import the OTLP/JSON file at ``path`` into ``engine``'s store (see the module docstring; ``ops``: its
    :func:`read_plan`, when already read). Returns what was done: ``operations`` (per operation name),
    ``written`` (memories), ``recalls`` (traces recorded), ``forgotten``, and ``skipped`` (per reason)."""
    name = str(path)
    ops = read_plan(name) if ops is None else ops
    writes, skipped = _writes(engine, ops, name)
    known = engine.read.trace_ids()
    summary: dict[str, Any] = {"path": name, "format": FORMAT, "operations": {}, "written": 0, "recalls": 0}
    summary |= {"forgotten": 0, "skipped": skipped}
    for op in ops:
        summary["operations"][op.op] = summary["operations"].get(op.op, 0) + 1
    _apply(engine, ops, writes, known, os.path.abspath(name), summary)
    if (summary["written"] or summary["recalls"]) and not engine.read.events(ops=["clock"], limit=1):
        from memviz.clock import SimulatedClock

        if isinstance(engine.clock, SimulatedClock):  # as an ingest does: the clock at the end of the data
            engine.set_clock(max(engine.clock.now(), ops[-1].time_s))
    return summary


def export_otlp(engine: MemoryEngine, out: IO[str], limit: int | None = None) -> dict[str, Any]:
    """Write the store's recorded recall traces (the last ``limit``, default all) to ``out`` as OTLP/JSON, one
    ``TracesData`` line per 100 traces: one ``search_memory`` span each (see
    :func:`memviz.otel.memory_spans.export_span_attributes`), at the recall's clock time. Returns ``{"traces",
    "lines"}``."""
    import memviz

    events = [e for e in engine.read.events(ops=["recall"], limit=limit) if isinstance(e, RecallEvent)]
    resource = {"service.name": "memviz", "service.version": memviz.__version__, "memviz.store": engine.store.uri}
    lines = 0
    for start in range(0, len(events), EXPORT_BATCH):
        chunk = events[start : start + EXPORT_BATCH]
        spans = [_span(engine, e.to_trace(), e.id) for e in chunk]
        for line in write_documents([traces_data(resource, ("memviz", memviz.__version__), spans)]):
            out.write(line)
            lines += 1
    return {"traces": len(events), "lines": lines}


# -- import -------------------------------------------------------------------------------------------------
def _read(name: str) -> str:
    try:
        data = open(name, "rb").read()
    except OSError as e:
        raise SchemaError(f"{name}: {FORMAT}: cannot read file: {e.strerror or e}") from None
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as e:
        raise SchemaError(f"{name}: {FORMAT}: top level: not valid UTF-8 (byte offset {e.start})") from None


def _writes(engine: MemoryEngine, ops: list[MemoryOp], name: str) -> tuple[dict[int, list[MemoryInput]], dict]:
    """The memories each operation writes (its records with content that are not stored and not written by an
    earlier operation), all checked as the engine will check them; and what is skipped, per reason."""
    from memviz.write import checked_text

    pairs = list(records_of(ops))
    stored = engine.store.existing_ids([r.id for _, r in pairs])
    skipped = {"already_stored": 0, "no_content": 0}
    seen: set[str] = set()
    writes: dict[int, list[MemoryInput]] = {}
    for op, r in pairs:
        if r.id in stored or r.id in seen:
            skipped["already_stored"] += op.op != SEARCH  # a search finding a stored memory is not a skip
            continue
        seen.add(r.id)
        item = record_memory(r, op)
        try:
            checked_text(0, item)
        except MemvizError as e:
            raise SchemaError(f"{name}: {FORMAT}: {op.span.where}: record {r.id!r}: {e}") from None
        writes.setdefault(id(op), []).append(item)
    skipped["no_content"] = sum(1 for op in ops if op.op in WRITES for r in op.records if r.text is None)
    return writes, skipped


def _apply(engine, ops, writes, known: set[str], path: str, summary: dict[str, Any]) -> None:
    """Run the planned operations in time order: write batches, recall events (appended together between
    writes), soft forgets; each at its span's time."""
    from memviz.lifecycle import Lifecycle
    from memviz.write import Writer

    at, store = _At(), engine.store
    writer = Writer(store, engine.embedder, at, lambda: engine.link_config)
    life = Lifecycle(store, at, lambda: engine.decay_params, lambda: engine.reinforce_rule)
    pending: list[RecallEvent] = []

    def flush() -> None:
        if pending:
            with store.lock.hold():
                store.append_events(pending)
            pending.clear()

    for op in ops:
        at.t = op.time_s
        if items := writes.get(id(op)):
            flush()
            source = {"path": path, "format": FORMAT, "operation": op.op, "provider": op.provider}
            report = writer.write(items, on_duplicate="skip", source=source | {"span_id": op.span.span_id})
            summary["written"] += len(report.items)
        if op.op == SEARCH and op.trace is not None and op.trace["id"] not in known:
            known.add(op.trace["id"])
            hits = tuple(c["id"] for s in op.trace["stages"] if s["name"] == "final" for c in s["candidates"])
            pending.append(
                RecallEvent(time_s=op.trace["time_s"], memory_ids=hits, query=op.trace["query"], trace=op.trace)
            )
            summary["recalls"] += 1
        elif op.op == DELETE:
            ids = [r.id for r in op.records]
            found = sorted(engine.store.existing_ids(ids))
            summary["skipped"]["unknown_ids"] = summary["skipped"].get("unknown_ids", 0) + len(set(ids) - set(found))
            if found:
                flush()
                summary["forgotten"] += len(life.set_forgotten(found, True, f"{op.provider} {DELETE} (OTLP)"))
    flush()


# -- export -------------------------------------------------------------------------------------------------
def _span(engine: MemoryEngine, trace: Trace, event_id: str) -> Span:
    final = trace.stage("final").candidates if any(s.name == "final" for s in trace.stages) else []
    mems = engine.read.memories_by_id([c.id for c in final])
    records = [_record(c, mems.get(c.id)) for c in final]
    start = int(round(trace.time_s * 1e9))
    return Span(
        trace_id=_id_bytes(trace.id, 16),
        span_id=_id_bytes(event_id or trace.id, 8),
        name=SEARCH,
        kind=Span.SpanKind.SPAN_KIND_INTERNAL,
        start_time_unix_nano=start,
        end_time_unix_nano=start + int(round(trace.total_ms * 1e6)),
        attributes=attributes(export_span_attributes(trace, records, engine.store.uri)),
    )


def _record(c, m) -> dict[str, Any]:
    """A ``gen_ai.memory.records`` entry of one hit; memviz's own fields in ``metadata``."""
    md: dict[str, Any] = {"rank": c.rank, "components": {k: v for k, v in c.scores.items() if k != "score"}}
    if m is not None:
        md |= {"speaker": m.speaker, "session_id": m.session_id, "source_id": m.source_id, "dataset": m.dataset}
        md |= {"kind": m.kind, "event_time_s": m.event_time_s, "forgotten": m.forgotten}
    return {"id": c.id, "content": m.text if m is not None else None, "score": c.scores.get("score"), "metadata": md}


def _id_bytes(text: str, n: int) -> bytes:
    """``n`` bytes of an id: the id itself when it is ``2n`` hex digits (memviz's trace ids are uuid4 hex, as
    long as an OTLP trace id), else the leading bytes of a name-based UUID of it."""
    try:
        raw = bytes.fromhex(text)
        if len(raw) == n:
            return raw
    except ValueError:
        pass
    return uuid.uuid5(uuid.NAMESPACE_URL, f"memviz:{text}").bytes[:n]


__all__ = ["FORMAT", "export_otlp", "import_otlp", "read_plan"]
