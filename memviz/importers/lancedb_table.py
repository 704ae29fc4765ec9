"""LanceDB importer: a table of another application's LanceDB database (a folder of ``<table>.lance``
datasets), read with a column mapping. Reading a Lance table writes nothing.

``--text-column`` names the text (required); ``--id-column`` the id (default ``<table>:<row number>``),
``--time-column`` the time (a timestamp or date column, POSIX seconds, or date strings; naive = UTC) and
``--speaker-column`` the speaker. ``--table`` picks the table when the database has more than one. Every
other column that is not a vector (a list of floats) is kept as the memory's metadata. One group, the table;
session = the table's name; dataset ``lancedb:<table>``. Rows with an empty or null text are skipped and
counted. A column the table does not have is refused, naming the columns it has.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pyarrow as pa

from memviz.importers._base import Dataset, Source, StoreOptions, time_value
from memviz.models import MemoryInput


def _is_vector(t: pa.DataType) -> bool:
    """Whether a column of type ``t`` holds vectors (a fixed-size or variable list of numbers)."""
    return (pa.types.is_fixed_size_list(t) or pa.types.is_list(t)) and (
        pa.types.is_floating(t.value_type) or pa.types.is_integer(t.value_type)
    )


def load_lancedb(folder: Path, src: Source, options: StoreOptions) -> Dataset:
    """Read one table of the LanceDB database ``folder`` with the column mapping of ``options``; the whole
    table is checked before anything is returned. Raises SchemaError for a folder that is not a LanceDB
    database, an unknown table or column, a missing ``--text-column``, or a malformed value."""
    if options.text_column is None:
        raise src.error("", "--text-column is required: name the column that holds the memory's text")
    if not folder.is_dir():
        raise src.error("", f"no such folder: {folder}")
    import lancedb

    try:
        db = lancedb.connect(str(folder))
        names = sorted(db.list_tables().tables)
    except Exception as e:
        raise src.error("", f"cannot read the LanceDB database: {e}") from e
    if not names:
        raise src.error("", f"no LanceDB table in {folder}")
    if options.table is None and len(names) > 1:
        raise src.error("", f"the database has {len(names)} tables ({', '.join(names)}): pick one with --table")
    name = options.table or names[0]
    if name not in names:
        raise src.error("", f"no table {name!r}; it has: {', '.join(names)}")
    try:
        table = db.open_table(name)
        schema = table.schema
    except Exception as e:
        raise src.error(f"table {name!r}", f"cannot be opened: {e}") from e
    mapping = {
        "--text-column": options.text_column,
        "--id-column": options.id_column,
        "--time-column": options.time_column,
        "--speaker-column": options.speaker_column,
    }
    for flag, column in mapping.items():
        if column is not None and schema.get_field_index(column) < 0:
            raise src.error(f"table {name!r}", f"{flag} {column!r}: no such column; it has: {', '.join(schema.names)}")
    mapped = {c for c in mapping.values() if c is not None}
    kept = [f.name for f in schema if f.name not in mapped and not _is_vector(f.type)]
    try:
        rows = table.search().select(sorted(mapped) + kept).limit(None).to_arrow().to_pylist()
    except Exception as e:
        raise src.error(f"table {name!r}", f"cannot be read: {e}") from e
    memories: list[MemoryInput] = []
    skipped = 0
    for n, row in enumerate(rows):
        where = f"table {name!r}, row {n}"
        text = row[options.text_column]
        if text is None or (isinstance(text, str) and not text.strip()):
            skipped += 1
            continue
        src.expect(text, str, where, f"a string in --text-column {options.text_column!r}")
        memories.append(src.memory(where, _memory(src, row, n, name, where, options, kept)))
    return src.require_memories(Dataset(format="lancedb", path=src.path, groups={name: memories}, skipped=skipped))


def _memory(
    src: Source, row: dict[str, Any], n: int, table: str, where: str, options: StoreOptions, kept: list[str]
) -> MemoryInput:
    """The memory of one row (its text checked by the caller)."""
    memory_id = f"{table}:{n}" if options.id_column is None else row[options.id_column]
    if memory_id is None or (isinstance(memory_id, str) and not memory_id.strip()):
        raise src.error(where, f"--id-column {options.id_column!r} is empty")
    speaker = "" if options.speaker_column is None else row[options.speaker_column]
    when = None if options.time_column is None else row[options.time_column]
    return MemoryInput(
        text=row[str(options.text_column)],
        speaker="" if speaker is None else str(speaker),
        session_id=table,
        source_id=str(memory_id),
        event_time_s=time_value(src, when, where, str(options.time_column)),
        id=str(memory_id),
        dataset=f"lancedb:{table}",
        verbatim=True,
        metadata={c: row[c] for c in kept} or None,
    )
