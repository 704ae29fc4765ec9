"""Data importers: read a benchmark or chat file into memories (:class:`~memviz.models.MemoryInput`) by group,
plus the benchmark's gold questions, kept apart from the memories.

Formats: ``"locomo"`` (LoCoMo), ``"longmemeval"`` (LongMemEval oracle / _s / _m), ``"memorybank"`` (MemoryBank,
with its probing questions when they lie next to the file) and ``"jsonl"`` (memviz's plain chat format).
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
from memviz.importers._base import Dataset, Question, Source, read_file
from memviz.importers.jsonl import load_jsonl
from memviz.importers.locomo import load_locomo
from memviz.importers.longmemeval import load_longmemeval
from memviz.importers.memorybank import load_memorybank

__all__ = ["FORMATS", "Dataset", "Format", "Question", "as_format", "load", "load_bytes"]

Format = Literal["locomo", "longmemeval", "memorybank", "jsonl"]

_LOADERS: dict[str, Callable[[bytes, Source], Dataset]] = {
    "locomo": load_locomo,
    "longmemeval": load_longmemeval,
    "memorybank": load_memorybank,
    "jsonl": load_jsonl,
}
FORMATS: tuple[str, ...] = tuple(_LOADERS)


def _loader(fmt: str) -> Callable[[bytes, Source], Dataset]:
    if fmt not in _LOADERS:
        raise ConfigError(f"unknown import format {fmt!r}; expected one of {', '.join(FORMATS)}")
    return _LOADERS[fmt]


def as_format(fmt: str) -> Format:
    """``fmt`` as a :data:`Format`; raises ConfigError (as :func:`load` does) when it names no format."""
    _loader(fmt)
    return cast(Format, fmt)


def load(path: str | os.PathLike[str], fmt: Format) -> Dataset:
    """Read the file at ``path`` as format ``fmt``.

    Raises ConfigError for an unknown format and SchemaError for a file that cannot be read or is malformed.
    """
    loader = _loader(fmt)
    file = Path(path)
    return loader(read_file(file, fmt), Source(str(file), fmt, file))


def load_bytes(data: bytes, fmt: Format, name: str) -> Dataset:
    """Read an uploaded file's bytes as format ``fmt``; ``name`` (the file name) is used in messages and paths.

    Same checks as :func:`load`; no sibling file is looked for (MemoryBank probing questions need :func:`load`).
    """
    return _loader(fmt)(data, Source(name, fmt))
