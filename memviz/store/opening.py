"""Opening a store without changing it: is there a store at all, are its tables readable, can it be written.

A read (``memviz stats``, a recall without reinforcement, the app's views) opens the store with
``MemoryStore(uri, create=False)``: a missing store is named (:class:`memviz.errors.StoreNotFoundError`), never
created, and nothing is written. A damaged store (a table's folder, its version manifests, a data file or its
full-text index missing or cut short) is named by table and file with what to do, never reset. Lance may open
a damaged table and fail only on its first read, so :func:`probe` reads every data file's footer at open: one
filtered count over a small column per table (6 ms for the three tables of a store of 4,000 memories, whose
whole open takes 42 ms with or without it).
"""

from __future__ import annotations

import errno
import os
import re
from pathlib import Path
from typing import Any

from memviz.errors import StoreError, StoreNotFoundError
from memviz.store import sql
from memviz.store.settings import StoreSettings
from memviz.store.tables import (
    ADDED_COLUMNS,
    ADDED_DEFAULTS,
    SCHEMAS,
    memories_schema,
    missing_columns,
    schema_compatible,
)

# Per table, a small column whose filtered count reads the footer of every data file of the latest version
# (a count without a filter is answered from the manifest alone and would not notice a missing file).
PROBE_COLUMNS = {"memories": "created_time_s", "links": "weight", "events": "time_s"}
# Every Lance file (data, index, manifest) ends with these four bytes; a file cut short does not.
LANCE_MAGIC = b"LANC"
_RUST_LOCATION = re.compile(r",?\s*/\S+\.rs:\d+:\d+")
_NOT_FOUND = re.compile(r"Not found: (\S+?\.lance\b\S*?)(?:,|\s|$)")


def is_local(uri: str) -> bool:
    """Whether ``uri`` is a folder on this machine (not an object-storage URI)."""
    return "://" not in uri


def missing(uri: str) -> StoreNotFoundError:
    """The error of a read on a location that holds no store."""
    return StoreNotFoundError(
        f"no memory store at {uri} (create one with `memviz ingest FILE --format jsonl --db {uri}`, "
        "or start `memviz app` on it)"
    )


def writable(uri: str) -> bool:
    """Whether this process may write the store's folder (False on a read-only file system or folder; always
    True for object storage, whose writes fail with their own error)."""
    return not is_local(uri) or os.access(uri, os.W_OK)


def short(e: BaseException) -> str:
    """A Lance / OS error as one readable line (no Rust source locations)."""
    text = str(e).replace("lance error: ", "").replace("LanceError(IO): ", "").splitlines()
    return _RUST_LOCATION.sub("", text[0] if text else type(e).__name__).strip() or type(e).__name__


def _damaged(uri: str, name: str, what: str) -> StoreError:
    return StoreError(
        f"the memory store at {uri} is damaged: table {name!r} {what}; nothing was changed. Restore the "
        f"folder {name}.lance (or the whole store) from a copy"
    )


def _relative(uri: str, path: str) -> str:
    """``path`` (as Lance names it, often without its leading slash) relative to the store folder."""
    root = str(Path(uri).resolve()).lstrip("/")
    path = path.lstrip("/")
    return path[len(root) :].lstrip("/") if path.startswith(root) else path


def _cut_short(uri: str, name: str, sub: str = "data") -> list[str]:
    """The Lance files under ``<name>.lance/<sub>`` that do not end with the Lance magic (truncated)."""
    bad = []
    for p in sorted((Path(uri) / f"{name}.lance" / sub).rglob("*.lance")):
        try:
            with p.open("rb") as f:
                f.seek(-len(LANCE_MAGIC), os.SEEK_END)
                ok = f.read() == LANCE_MAGIC
        except OSError:
            ok = False
        if not ok:
            bad.append(str(p.relative_to(uri)))
    return bad


def open_table(db: Any, uri: str, name: str) -> Any:
    """Open an existing table, or raise StoreError naming what of it is missing (e.g. its ``_versions``)."""
    try:
        return db.open_table(name)
    except Exception as e:
        folder = Path(uri) / f"{name}.lance"
        if is_local(uri) and not (folder / "_versions").is_dir():
            what = f"has no version manifests (the folder {name}.lance/_versions is missing)"
        else:
            what = f"cannot be opened ({short(e)})"
        raise _damaged(uri, name, what) from e


def probe(uri: str, name: str, table: Any) -> None:
    """Read the footer of every data file of ``table``'s latest version and check its full-text index files
    exist (local stores); raise StoreError naming the table and file when one is missing or cut short."""
    try:
        table.count_rows(sql.not_null(PROBE_COLUMNS[name]))
    except Exception as e:
        message = short(e)
        if found := _NOT_FOUND.search(str(e)):
            what = f"lacks its data file {_relative(uri, found.group(1))}"
        elif is_local(uri) and (cut := _cut_short(uri, name)):
            what = f"has data file(s) cut short: {', '.join(cut[:3])}"
        else:
            what = f"cannot be read ({message})"
        raise _damaged(uri, name, what) from e
    if not is_local(uri):
        return
    for index in table.list_indices():
        folder = Path(uri) / f"{name}.lance" / "_indices" / str(getattr(index, "index_uuid", "") or "")
        if getattr(index, "index_uuid", None) and not folder.is_dir():
            raise _damaged(uri, name, f"lacks the folder of its {index.index_type} index {folder.relative_to(uri)}")


def open_tables(db: Any, uri: str, existing: set[str], create: bool, settings: StoreSettings) -> dict[str, Any]:
    """The three tables of the store at ``uri`` (``existing``: the names LanceDB lists there), each opened,
    schema-checked and probed; missing ones are created only when ``create`` and no table holds a row (the
    memories table with ``settings`` recorded in its schema, :func:`memviz.store.tables.memories_schema`).

    Raises StoreNotFoundError (no table, or only empty ones, and not ``create``), StoreError: damaged (see
    :func:`refuse_if_damaged`, :func:`open_table`, :func:`probe`), a wrong schema, or creation failed."""
    tables = {name: open_table(db, uri, name) for name in sorted(set(SCHEMAS) & existing)}
    refuse_if_damaged(uri, tables, create)
    for name, schema in SCHEMAS.items():
        if name not in tables:
            try:
                made = memories_schema(settings) if name == "memories" else schema
                tables[name] = db.create_table(name, schema=made, exist_ok=True)
            except Exception as e:
                raise write_error(uri, e, f"creating the memory store at {uri}") from e
            continue
        if not schema_compatible(tables[name].schema, schema, ADDED_COLUMNS[name]):
            raise StoreError(
                f"table {name!r} in {uri} has an unexpected schema; it was not written by this "
                f"memviz version (expected columns: {', '.join(schema.names)})"
            )
        probe(uri, name, tables[name])
    return {name: tables[name] for name in SCHEMAS}


def upgrade(store: Any) -> list[str]:
    """Add to ``store``'s tables the columns of :data:`memviz.store.tables.ADDED_COLUMNS` they lack (a store
    written by an older memviz), all null (one metadata-only Lance commit) or, for those of
    :data:`memviz.store.tables.ADDED_DEFAULTS`, all that value (``memories.scope``: ``""``, one commit writing the
    column), under the write lock. Returns the columns added (``"memories.metadata"``, ``"memories.scope"``). A
    store this process cannot write is refused with a StoreError that says so (its reads would need the columns);
    a store that has them is not touched."""
    todo = {name: missing_columns(t.schema, SCHEMAS[name]) for name, t in store.tables.items()}
    if not any(todo.values()):
        return []
    if not writable(store.uri):
        raise StoreError(
            f"the memory store at {store.uri} was written by an older memviz and lacks the column(s) "
            f"{', '.join(f'{n}.{f.name}' for n, fs in todo.items() for f in fs)}; open it once where it can be "
            "written to upgrade it (the column is added, empty; nothing else changes)"
        )
    added = []
    with store.lock.hold():
        for name, table in store.tables.items():
            table.checkout_latest()
            for f in missing_columns(table.schema, SCHEMAS[name]):  # again: another opener may have added it
                try:
                    table.add_columns({f.name: ADDED_DEFAULTS[f.name]} if f.name in ADDED_DEFAULTS else f)
                except Exception as e:
                    raise write_error(store.uri, e, f"upgrading table {name!r} (adding column {f.name})") from e
                added.append(f"{name}.{f.name}")
    return added


def refuse_if_damaged(uri: str, tables: dict[str, Any], create: bool) -> None:
    """Raise StoreError when some of the three tables exist with rows and others are missing: recovery
    would take every batch for uncommitted (no events) and delete it. A store is created (its missing tables
    added) only when ``create`` and none exists or those that exist are empty (another process creating it);
    without ``create`` such a store is missing (StoreNotFoundError)."""
    absent = sorted(set(SCHEMAS) - set(tables))
    present = sorted(tables)
    if not absent:
        return
    if present and any(tables[t].count_rows() for t in present):
        raise StoreError(
            f"the memory store at {uri} is damaged: table(s) {', '.join(absent)} missing beside "
            f"{', '.join(present)}; nothing was changed (restore the missing folder(s) "
            f"{', '.join(t + '.lance' for t in absent)} from a copy)"
        )
    if not create:
        raise missing(uri)


def write_error(uri: str, e: BaseException, doing: str) -> StoreError:
    """A failed write as a StoreError that says why in words: no space left, a read-only store, no permission
    (``doing`` says what was being written, e.g. "writing batch 3f2a..."); other errors are passed on as
    they are."""
    text = f"{e} {getattr(e, 'strerror', '') or ''}"
    code = getattr(e, "errno", None)
    if code == errno.ENOSPC or "os error 28" in text or "No space left" in text:
        why = f"no space left on the device at {uri}; free some space and try again"
    elif code == errno.EROFS or "os error 30" in text or "Read-only file system" in text:
        why = f"the memory store at {uri} is on a read-only file system: it can be read, not changed"
    elif code == errno.EACCES or "os error 13" in text or "Permission denied" in text:
        why = f"no permission to write the memory store at {uri}"
    else:
        why = short(e)
    return StoreError(f"{doing} failed: {why}")


__all__ = [
    "PROBE_COLUMNS",
    "missing",
    "open_table",
    "open_tables",
    "probe",
    "refuse_if_damaged",
    "upgrade",
    "writable",
    "write_error",
]
