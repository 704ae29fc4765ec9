"""Data importers: read a benchmark or chat file into memories (:class:`~memviz.models.MemoryInput`) by group,
plus the benchmark's gold questions, kept apart from the memories.

Formats: ``"locomo"`` (LoCoMo), ``"longmemeval"`` (LongMemEval oracle / _s / _m), ``"memorybank"`` (MemoryBank,
with its probing questions when they lie next to the file) and ``"jsonl"`` (memviz's plain chat format)
(:data:`FORMATS`); and what other engines wrote (:data:`ENGINE_FORMATS`): ``"letta"`` (a Letta agent file,
``.af``, a file like the others) and their stores (:data:`STORE_FORMATS`, a folder on disk, read with
:class:`StoreOptions`; the source is never written to): ``"chroma"`` (Chroma persistent collections), ``"mem0"``
(a mem0 local store with its history), ``"lancedb"`` (a LanceDB table with a column mapping).
Each importer checks the whole input before returning anything; a malformed input raises
:class:`~memviz.errors.SchemaError` naming the file, the format and where the problem is; an unknown format
raises :class:`~memviz.errors.ConfigError`. Beyond its format's schema, every memory is checked as the engine
will check it (:meth:`~memviz.importers._base.Source.memory`): a final id given to two memories of the file
(naming both locations), an over-long id, speaker, session or source id, or a time outside
:data:`memviz.limits.TIME_RANGE` is a SchemaError, so a file that would fail half-way writes nothing.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from pathlib import Path
from typing import Literal, cast

from memviz.errors import ConfigError
from memviz.importers._base import Dataset, Question, Source, StoreOptions, read_file
from memviz.importers.chroma import load_chroma
from memviz.importers.jsonl import load_jsonl
from memviz.importers.lancedb_table import load_lancedb
from memviz.importers.letta import load_letta
from memviz.importers.locomo import load_locomo
from memviz.importers.longmemeval import load_longmemeval
from memviz.importers.mem0 import load_mem0
from memviz.importers.memorybank import load_memorybank

__all__ = [
    "ALL_FORMATS",
    "ENGINE_FORMATS",
    "FORMATS",
    "STORE_FORMATS",
    "Dataset",
    "Format",
    "Question",
    "StoreOptions",
    "as_format",
    "load",
    "load_bytes",
]

Format = Literal["locomo", "longmemeval", "memorybank", "jsonl", "letta", "chroma", "mem0", "lancedb"]

_LOADERS: dict[str, Callable[[bytes, Source], Dataset]] = {
    "locomo": load_locomo,
    "longmemeval": load_longmemeval,
    "memorybank": load_memorybank,
    "jsonl": load_jsonl,
    "letta": load_letta,
}
# Formats read from a folder (another engine's store), with options: never from uploaded bytes.
_STORE_LOADERS: dict[str, Callable[[Path, Source, StoreOptions], Dataset]] = {
    "chroma": load_chroma,
    "mem0": load_mem0,
    "lancedb": load_lancedb,
}
STORE_FORMATS: tuple[str, ...] = tuple(_STORE_LOADERS)
# Data sets and memviz's own chat format; then what other engines wrote (their stores and Letta's agent files).
FORMATS: tuple[str, ...] = ("locomo", "longmemeval", "memorybank", "jsonl")
ENGINE_FORMATS: tuple[str, ...] = ("letta", *STORE_FORMATS)
ALL_FORMATS: tuple[str, ...] = (*FORMATS, *ENGINE_FORMATS)
# Which options each store format reads; any other option given is refused.
_OPTIONS = {
    "chroma": {"collection"},
    "mem0": {"collection", "vectors"},
    "lancedb": {"table", "text_column", "id_column", "time_column", "speaker_column"},
}


def _loader(fmt: str) -> Callable[[bytes, Source], Dataset]:
    if fmt in _STORE_LOADERS:
        raise ConfigError(f"format {fmt!r} reads a store's folder on disk: give its path, not a file's bytes")
    if fmt not in _LOADERS:
        raise ConfigError(f"unknown import format {fmt!r}; expected one of {', '.join(ALL_FORMATS)}")
    return _LOADERS[fmt]


def as_format(fmt: str) -> Format:
    """``fmt`` as a :data:`Format`; raises ConfigError (as :func:`load` does) when it names no format."""
    if fmt not in ALL_FORMATS:
        raise ConfigError(f"unknown import format {fmt!r}; expected one of {', '.join(ALL_FORMATS)}")
    return cast(Format, fmt)


def load(path: str | os.PathLike[str], fmt: Format, options: StoreOptions | None = None) -> Dataset:
    """Read the file (or, for :data:`STORE_FORMATS`, the store folder) at ``path`` as format ``fmt``.

    Raises ConfigError for an unknown format or an option the format does not read (``options`` are only for
    the store formats), and SchemaError for an input that cannot be read or is malformed.
    """
    options = options or StoreOptions()
    given = set(options.given())
    if extra := sorted(given - _OPTIONS.get(as_format(fmt), set())):
        flags = ", ".join(f"--{k.replace('_', '-')}" for k in extra)
        raise ConfigError(f"{flags} {'does' if len(extra) == 1 else 'do'} not apply to --format {fmt}")
    file = Path(path)
    if fmt in _STORE_LOADERS:
        return _STORE_LOADERS[fmt](file, Source(str(file), fmt, file), options)
    return _loader(fmt)(read_file(file, fmt), Source(str(file), fmt, file))


def load_bytes(data: bytes, fmt: Format, name: str) -> Dataset:
    """Read an uploaded file's bytes as format ``fmt``; ``name`` (the file name) is used in messages and paths.

    Same checks as :func:`load`; no sibling file is looked for (MemoryBank probing questions need :func:`load`).
    """
    return _loader(fmt)(data, Source(name, fmt))
