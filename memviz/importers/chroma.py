"""Chroma importer: the collections of a Chroma persistent folder (the one ``chromadb.PersistentClient(path)``
writes, with its ``chroma.sqlite3``), read with the chromadb package from a private copy of the folder (the
source is never opened for writing).

One group per collection; one memory per record that has a document (records with only an embedding are
skipped and counted). A memory keeps the record's id as its id and source id, its document as its text and
its metadata whole (shown on the memory's page). From the metadata, memviz also reads the first present of:

- time: ``time``, ``timestamp``, ``created_at``, ``date`` (a date string, naive = UTC, or POSIX seconds);
- speaker: ``speaker``, ``role``;
- session: ``session_id``, ``session`` (default: the collection's name);
- scope: ``scope``, ``user_id`` (default: ``""``, the default scope).

The memories' dataset is ``chroma:<collection>``. Chroma's vectors are not read: memviz embeds the documents
with its own encoder.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memviz.errors import SchemaError
from memviz.importers._base import Dataset, Source, StoreOptions, engine_package, snapshot, time_value
from memviz.models import MemoryInput

TIME_KEYS = ("time", "timestamp", "created_at", "date")
SPEAKER_KEYS = ("speaker", "role")
SESSION_KEYS = ("session_id", "session")
SCOPE_KEYS = ("scope", "user_id")
PAGE = 5000  # records read per request


def first_key(metadata: dict[str, Any], keys: tuple[str, ...]) -> str | None:
    """The first of ``keys`` that ``metadata`` holds with a value, or None."""
    return next((k for k in keys if metadata.get(k) is not None), None)


def load_chroma(folder: Path, src: Source, options: StoreOptions) -> Dataset:
    """Read the collections of the Chroma persistent folder ``folder`` (only ``options.collection`` when set);
    the whole input is checked before anything is returned. Raises SchemaError for a folder that is not a
    Chroma store, a collection it does not have (naming those it has), or a malformed record."""
    if not (folder / "chroma.sqlite3").is_file():
        raise src.error("", f"not a Chroma persistent folder (no chroma.sqlite3 in {folder})")
    chromadb = engine_package("chromadb", "chroma")
    settings = engine_package("chromadb.config", "chroma").Settings(anonymized_telemetry=False)

    groups: dict[str, list[MemoryInput]] = {}
    skipped = 0
    with snapshot(src, folder) as copy:
        try:
            client = chromadb.PersistentClient(path=str(copy), settings=settings)
        except Exception as e:  # chromadb's own errors: a damaged or foreign store
            raise src.error("", f"cannot read the Chroma store: {_line(e)}") from e
        try:
            names = sorted(c.name for c in client.list_collections())
            wanted = names if options.collection is None else [options.collection]
            if options.collection is not None and options.collection not in names:
                raise src.error("", f"no collection {options.collection!r}; it has: {', '.join(names) or 'none'}")
            for name in wanted:
                groups[name], n_skipped = _collection(src, client.get_collection(name), name)
                skipped += n_skipped
        except SchemaError:
            raise
        except Exception as e:  # chromadb's own errors: a damaged or foreign store
            raise src.error("", f"cannot read the Chroma store: {_line(e)}") from e
        finally:
            client.close()
    dataset = Dataset(format="chroma", path=src.path, groups=groups, skipped=skipped)
    return src.require_memories(dataset)


def _collection(src: Source, collection: Any, name: str) -> tuple[list[MemoryInput], int]:
    """The memories of one collection, in Chroma's order, and the number of records without a document."""
    memories: list[MemoryInput] = []
    skipped = 0
    total = collection.count()
    for offset in range(0, total, PAGE):
        got = collection.get(include=["documents", "metadatas"], limit=PAGE, offset=offset)
        for record_id, text, metadata in zip(got["ids"], got["documents"], got["metadatas"], strict=True):
            where = f"collection {name!r}, id {record_id!r}"
            if text is None or not text.strip():
                skipped += 1
                continue
            metadata = dict(metadata or {})
            time_key = first_key(metadata, TIME_KEYS)
            speaker_key = first_key(metadata, SPEAKER_KEYS)
            session_key = first_key(metadata, SESSION_KEYS)
            scope_key = first_key(metadata, SCOPE_KEYS)
            memories.append(
                src.memory(
                    where,
                    MemoryInput(
                        text=text,
                        speaker="" if speaker_key is None else str(metadata[speaker_key]),
                        session_id=name if session_key is None else str(metadata[session_key]),
                        source_id=record_id,
                        event_time_s=None if time_key is None else time_value(src, metadata[time_key], where, time_key),
                        id=record_id,
                        dataset=f"chroma:{name}",
                        scope="" if scope_key is None else str(metadata[scope_key]),
                        verbatim=True,
                        metadata=metadata,
                    ),
                )
            )
    return memories, skipped


def _line(e: BaseException) -> str:
    """An error of chromadb as one line."""
    return " ".join(str(e).split()) or type(e).__name__
