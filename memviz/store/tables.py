"""The store's three LanceDB tables: their Arrow schemas and how a row becomes a typed object."""

from __future__ import annotations

import json
from typing import Any

import pyarrow as pa
import pyarrow.compute as pc

from memviz.embed import EMBEDDING_DIM
from memviz.models import Link, Memory
from memviz.store.settings import StoreSettings

MEMORIES_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string(), nullable=False),
        pa.field("text", pa.string(), nullable=False),
        pa.field("vector", pa.list_(pa.float32(), EMBEDDING_DIM)),
        pa.field("kind", pa.string()),
        pa.field("speaker", pa.string()),
        pa.field("session_id", pa.string()),
        pa.field("source_id", pa.string()),
        pa.field("dataset", pa.string()),
        pa.field("event_time_s", pa.float64()),
        pa.field("created_time_s", pa.float64()),
        pa.field("importance", pa.float32()),
        pa.field("stability_days", pa.float64()),
        pa.field("recall_count", pa.int32()),
        pa.field("last_recalled_s", pa.float64()),
        pa.field("forgotten_time_s", pa.float64()),
        pa.field("keywords", pa.list_(pa.string())),
        pa.field("access_times_s", pa.list_(pa.float64())),
        pa.field("batch_id", pa.string()),
        # The source's own fields of an imported memory, as a JSON object (null: none). Stores written before it
        # existed get it, all null, when first opened writable (see memviz.store.opening.upgrade).
        pa.field("metadata", pa.string()),
        # Whose memory it is (MemoryInput.scope; "" the default scope). Stores written before it existed get it,
        # all "", when first opened writable (ADDED_DEFAULTS).
        pa.field("scope", pa.string()),
    ]
)
LINKS_SCHEMA = pa.schema(
    [
        pa.field("source_id", pa.string()),
        pa.field("target_id", pa.string()),
        pa.field("kind", pa.string()),
        pa.field("weight", pa.float32()),
        pa.field("created_time_s", pa.float64()),
        pa.field("batch_id", pa.string()),
    ]
)
EVENTS_SCHEMA = pa.schema(
    [
        pa.field("id", pa.string()),
        pa.field("op", pa.string()),
        pa.field("time_s", pa.float64()),
        pa.field("wall_time_s", pa.float64()),
        pa.field("memory_ids", pa.list_(pa.string())),
        pa.field("batch_id", pa.string()),
        pa.field("payload", pa.string()),  # JSON
    ]
)
SCHEMAS = {"memories": MEMORIES_SCHEMA, "links": LINKS_SCHEMA, "events": EVENTS_SCHEMA}
# Columns of the memories table without the vector: what pages and scoring read.
MEMORY_COLUMNS = [f.name for f in MEMORIES_SCHEMA if f.name != "vector"]
# The text a memory was embedded with besides its own (memviz.store.settings.ContextSettings); a column of
# every store made since contexts exist, absent from older ones (which have no context).
CONTEXT_COLUMN = "context"


def memories_schema(settings: StoreSettings) -> pa.Schema:
    """The memories table of a new store made with ``settings``: vectors of ``settings.dim``, the settings in
    the ``vector`` and ``text`` fields' metadata (:mod:`memviz.store.settings`), and the context column."""
    fields = []
    for f in MEMORIES_SCHEMA:
        if f.name == "vector":
            f = pa.field("vector", pa.list_(pa.float32(), settings.dim), metadata=settings.vector_metadata())
        elif f.name == "text":
            f = f.with_metadata(settings.text_metadata())
        fields.append(f)
    return pa.schema([*fields, pa.field(CONTEXT_COLUMN, pa.string())])


def memory_from_row(r: dict[str, Any]) -> Memory:
    """A :class:`Memory` from one memories-table row (a dict; the vector, if present, is ignored; the
    ``metadata`` JSON text is parsed)."""
    return Memory(
        **{k: r.get(k) for k in Memory.__dataclass_fields__}
        | {
            "keywords": list(r.get("keywords") or []),
            "access_times_s": list(r.get("access_times_s") or []),
            "metadata": json.loads(r["metadata"]) if r.get("metadata") else None,
            "scope": r.get("scope") or "",
        }
    )


def memories_from_table(tbl: pa.Table) -> list[Memory]:
    """Every row of a memories-table read as a :class:`Memory`, in order."""
    return [memory_from_row(r) for r in tbl.to_pylist()]


def links_from_table(tbl: pa.Table) -> list[Link]:
    """Every row of a links-table read as a :class:`Link`, in order."""
    return [Link(**r) for r in tbl.select(LINKS_SCHEMA.names).to_pylist()]


def value_counts(column: pa.ChunkedArray) -> dict[str, int]:
    """{value: count} of a string column (a null counted as ``""``), sorted by value: e.g. the memories per
    scope."""
    counts = pc.value_counts(pc.fill_null(column, "")).to_pylist() if len(column) else []
    return {str(v["values"]): int(v["counts"]) for v in sorted(counts, key=lambda v: v["values"])}


def empty_memories(columns: list[str]) -> pa.Table:
    """A memories table with no rows and the given columns."""
    return pa.table({c: pa.array([], MEMORIES_SCHEMA.field(c).type) for c in columns})


# Columns added to a table after stores were first written: a store without them is upgraded (the column added,
# all null, or all ADDED_DEFAULTS's SQL value) when opened writable; see memviz.store.opening.upgrade.
ADDED_COLUMNS: dict[str, tuple[str, ...]] = {"memories": ("metadata", "scope"), "links": (), "events": ()}
ADDED_DEFAULTS: dict[str, str] = {"scope": "''"}  # every older memory is in the default scope


def schema_compatible(actual: pa.Schema, expected: pa.Schema, added: tuple[str, ...] = ()) -> bool:
    """True when ``actual`` has every column of ``expected`` with the same type (extra columns allowed), the
    columns ``added`` later possibly missing; a ``vector`` column may have any dimension (the store's embedder
    decides it)."""

    def same(a: pa.DataType, e: pa.DataType) -> bool:
        if pa.types.is_fixed_size_list(e) and pa.types.is_fixed_size_list(a):
            return a.value_type == e.value_type
        return a == e

    return all(
        same(actual.field(f.name).type, f.type) if actual.get_field_index(f.name) >= 0 else f.name in added
        for f in expected
    )


def missing_columns(actual: pa.Schema, expected: pa.Schema) -> list[pa.Field]:
    """The fields of ``expected`` that ``actual`` lacks, in schema order."""
    return [f for f in expected if actual.get_field_index(f.name) < 0]
