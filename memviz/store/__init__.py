"""The store: three LanceDB tables (``memories``, ``links``, ``events``); the only part of memviz that speaks SQL."""

from memviz.store.location import DEFAULT_DB, default_db_uri, default_storage_options
from memviz.store.store import MemoryStore
from memviz.store.tables import (
    EVENTS_SCHEMA,
    LINKS_SCHEMA,
    MEMORIES_SCHEMA,
    MEMORY_COLUMNS,
    SCHEMAS,
    memories_from_table,
    memory_from_row,
)

__all__ = [
    "DEFAULT_DB",
    "EVENTS_SCHEMA",
    "LINKS_SCHEMA",
    "MEMORIES_SCHEMA",
    "MEMORY_COLUMNS",
    "SCHEMAS",
    "MemoryStore",
    "default_db_uri",
    "default_storage_options",
    "memories_from_table",
    "memory_from_row",
]
