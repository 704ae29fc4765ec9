"""Shared pieces of the importers: the result types, byte decoding, field checks and time parsing.

Every malformed input raises :class:`~memviz.errors.SchemaError` through :meth:`Source.error`, so all messages
have one shape: ``<file>: <format>: <location>: <problem>``, e.g.
``locomo_dev.json: locomo: [2].conversation.session_3[5]: missing "text"``.
"""

from __future__ import annotations

import codecs
import json
import re
import shutil
import tempfile
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field, replace
from datetime import UTC, date, datetime
from pathlib import Path
from typing import Any

from dateutil import parser as date_parser

from memviz.errors import ConfigError, SchemaError
from memviz.limits import MAX_CHARS, length_problem, scope_problem, time_problem
from memviz.models import MemoryInput
from memviz.text import MAX_MEMORY_CHARS

# Two far-apart defaults: a date string that leaves out its year, month or day parses differently with each.
_DEFAULTS = (datetime(2000, 1, 1), datetime(2001, 2, 2))

_PLAIN_KEY = re.compile(r"[\w-]+")
_WEEKDAY = re.compile(r"\s*\((?:mon|tue|wed|thu|fri|sat|sun)[a-z]*\)", re.IGNORECASE)

_TYPE_NAMES: dict[type, str] = {
    dict: "an object",
    list: "a list",
    str: "a string",
    int: "an integer",
    float: "a number",
    bool: "a boolean",
    type(None): "null",
}

SCALARS: tuple[type, ...] = (str, int, float, bool)

# Turns of one session all share its date; each is placed this much after the previous one to keep their order.
TURN_SPACING_S = 60.0


@dataclass(frozen=True)
class Question:
    """A gold question of a benchmark: kept apart from the memories and never used for ranking.

    ``evidence_ids`` are memory ids of the gold evidence turns, ``evidence_session_ids`` the session ids of the
    gold evidence sessions; ``malformed_evidence`` holds the raw evidence strings that name no existing turn.
    """

    id: str
    group: str
    question: str
    answer: str
    category: str
    time_s: float | None
    evidence_ids: tuple[str, ...]
    evidence_session_ids: tuple[str, ...]
    malformed_evidence: tuple[str, ...] = ()


@dataclass
class Dataset:
    """An imported data file: its memories by group (store), in file order, and its gold questions.

    ``skipped`` counts the turns left out because the data has them empty (MemoryBank, LongMemEval).
    """

    format: str
    path: str
    groups: dict[str, list[MemoryInput]]
    questions: list[Question] = field(default_factory=list)
    skipped: int = 0

    def items(self, scope: str | None = None) -> list[MemoryInput]:
        """All memories, group after group, in file order; all in ``scope`` when given (``memviz ingest
        --scope``: overrides the scopes the importer gave), else in their own."""
        items = [m for group in self.groups.values() for m in group]
        return items if scope is None else [replace(m, scope=scope) for m in items]

    def __len__(self) -> int:
        return sum(len(group) for group in self.groups.values())


def at(where: str, part: str | int) -> str:
    """The location of ``part`` (a key or a list index) inside ``where``: ``at("[2]", "qa")`` is ``"[2].qa"``.

    A key that is not a plain word is quoted: ``at("", " Jason ")`` is ``'[" Jason "]'``.
    """
    if isinstance(part, int):
        return f"{where}[{part}]"
    if not _PLAIN_KEY.fullmatch(part):
        return f"{where}[{json.dumps(part, ensure_ascii=False)}]"
    return f"{where}.{part}" if where else part


def _describe(value: Any) -> str:
    """A JSON type name for error messages: ``"an object"``, ``"a list"``, ``"null"``..."""
    return _TYPE_NAMES.get(type(value), type(value).__name__)


def _is(value: Any, types: type | tuple[type, ...]) -> bool:
    """``isinstance`` that does not take a boolean for a number."""
    if isinstance(value, bool) and bool not in (types if isinstance(types, tuple) else (types,)):
        return False
    return isinstance(value, types)


def parse_time(text: str) -> float:
    """POSIX seconds of a date/time string (anything dateutil reads; naive times are UTC).

    A bracketed weekday, as in LongMemEval's ``"2023/05/30 (Tue) 10:18"``, is dropped first (dateutil cannot
    read it). Raises ValueError when the string is not a date or leaves out its year, month or day (dateutil
    would silently fill those in from a default date).
    """
    cleaned = _WEEKDAY.sub("", text, count=1)
    try:
        first, second = (date_parser.parse(cleaned, default=d) for d in _DEFAULTS)
    except (ValueError, OverflowError) as e:
        raise ValueError(f"not a date/time: {text!r}") from e
    if first != second:
        raise ValueError(f"incomplete date (needs a year, month and day): {text!r}")
    if first.tzinfo is None:
        first = first.replace(tzinfo=UTC)
    return first.timestamp()


def read_file(file: Path, fmt: str) -> bytes:
    """The bytes of ``file``; a missing or unreadable file is a SchemaError naming its path."""
    try:
        return file.read_bytes()
    except OSError as e:
        raise SchemaError(f"{file}: {fmt}: cannot read file: {e.strerror or e}") from e


class Source:
    """One input being read: its display path and format, and helpers that raise uniform SchemaErrors.

    ``file`` is the file on disk when there is one (so a format can look for sibling files), else None.
    """

    def __init__(self, path: str, fmt: str, file: Path | None = None):
        self.path = path
        self.fmt = fmt
        self.file = file
        self.name = Path(path).name or path
        self._id_at: dict[str, str] = {}  # final memory id -> where it was read (see memory())

    def error(self, where: str, problem: str) -> SchemaError:
        """A SchemaError naming this file, its format, the location (``""`` = top level) and the problem."""
        return SchemaError(f"{self.name}: {self.fmt}: {where or 'top level'}: {problem}")

    def text(self, raw: bytes) -> str:
        """The bytes as UTF-8 text (a BOM is dropped); empty, binary or non-UTF-8 data is a SchemaError."""
        if not raw.strip():
            raise self.error("", "empty file")
        if raw.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
            raise self.error("", "UTF-16 text: save the file as UTF-8")
        nul = raw.find(b"\x00")
        if nul >= 0:
            raise self.error("", f"binary data, not text (NUL byte at offset {nul})")
        try:
            return raw.decode("utf-8-sig")
        except UnicodeDecodeError as e:
            raise self.error("", f"not valid UTF-8 (byte offset {e.start})") from None

    def json(self, text: str, where: str = "") -> Any:
        """The JSON value of ``text``; syntax errors, over-long numbers and too deep nesting are SchemaErrors."""
        try:
            return json.loads(text)
        except json.JSONDecodeError as e:
            pos = f"line {e.lineno}, column {e.colno}" if not where else f"column {e.colno}"
            raise self.error(where, f"invalid JSON at {pos}: {e.msg}") from None
        except RecursionError:
            raise self.error(where, "invalid JSON: nested too deeply") from None
        except ValueError as e:  # e.g. an integer literal longer than Python's digit limit
            raise self.error(where, f"invalid JSON: {e}") from None

    def json_lines(self, raw: bytes) -> Iterator[tuple[int, Any]]:
        """``(line number, JSON value)`` for each non-blank line of a JSON Lines file (numbers start at 1).

        Lines end at ``\\n`` only: ``str.splitlines`` would also split at characters JSON strings may hold raw.
        """
        for number, line in enumerate(self.text(raw).split("\n"), start=1):
            if line.strip():
                yield number, self.json(line, f"line {number}")

    def expect(self, value: Any, types: type | tuple[type, ...], where: str, what: str) -> Any:
        """``value`` if it has one of ``types``, else a SchemaError saying ``expected <what>, got <type>``."""
        if not _is(value, types):
            raise self.error(where, f"expected {what}, got {_describe(value)}")
        return value

    def field(
        self,
        obj: dict[str, Any],
        key: str,
        where: str,
        types: type | tuple[type, ...],
        *,
        required: bool = True,
        nonempty: bool = False,
    ) -> Any:
        """``obj[key]`` checked against ``types``; a missing optional field (or null) gives None.

        ``nonempty`` rejects strings that are empty or only whitespace.
        """
        value = obj.get(key)
        if value is None and not required:
            return None
        if key not in obj:
            raise self.error(where, f'missing "{key}"')
        if not _is(value, types):
            names = " or ".join(_TYPE_NAMES[t] for t in (types if isinstance(types, tuple) else (types,)))
            raise self.error(where, f'"{key}" must be {names}, got {_describe(value)}')
        if nonempty and isinstance(value, str) and not value.strip():
            raise self.error(where, f'"{key}" is empty')
        if isinstance(value, str):
            try:
                value.encode("utf-8")
            except UnicodeEncodeError as e:
                raise self.error(where, f'"{key}" holds an invalid \\u escape (lone surrogate at {e.start})') from None
        return value

    def time(self, text: str, where: str, key: str = "") -> float:
        """The POSIX seconds of the date string ``text`` (see :func:`parse_time`) found at ``where`` / ``key``;
        a date outside :data:`memviz.limits.TIME_RANGE` is a SchemaError stating the range."""
        try:
            t_s = parse_time(text)
        except ValueError as e:
            raise self.error(where, f'"{key}": {e}' if key else str(e)) from None
        if (problem := time_problem(t_s)) is not None:
            raise self.error(where, f'"{key}": {text!r}: {problem}' if key else f"{text!r}: {problem}")
        return t_s

    def memory(self, where: str, memory: MemoryInput) -> MemoryInput:
        """``memory``, read at ``where``, checked as the engine will check it before anything is written: its
        final id not given to another memory of this input, its id, speaker, session and source id within the
        lengths of :data:`memviz.limits.MAX_CHARS`, its scope one :func:`memviz.limits.scope_problem` accepts, its
        time in :data:`memviz.limits.TIME_RANGE`. Raises a
        SchemaError naming ``where`` (and, for a repeated id, where the first memory with that id was read).

        Every importer makes its memories through this one method, whatever its ids are made of (an explicit
        JSONL id can equal another line's default ``<file stem>:<line>``; LoCoMo's ``<sample_id>:<dia_id>`` can
        repeat across samples), so a repeated id never reaches the store as "already stored"."""
        for name in MAX_CHARS:
            if (problem := length_problem(name, getattr(memory, name))) is not None:
                raise self.error(where, problem)
        if (problem := scope_problem(memory.scope)) is not None:
            raise self.error(where, problem)
        if memory.id is not None:
            if (first := self._id_at.get(memory.id)) is not None:
                raise self.error(where, f"id {memory.id!r} is also the id of {first}")
            self._id_at[memory.id] = where
        if memory.event_time_s is not None and (problem := time_problem(memory.event_time_s)) is not None:
            raise self.error(where, problem)
        return memory

    def require_memories(self, dataset: Dataset) -> Dataset:
        """``dataset`` unchanged, or a SchemaError if it holds no memory at all or a memory text longer than
        :data:`memviz.text.MAX_MEMORY_CHARS` (the engine would refuse it; refused here, before any write)."""
        if not len(dataset):
            raise self.error("", "no memories found")
        for m in dataset.items():
            if len(m.text) > MAX_MEMORY_CHARS:
                raise self.error(
                    f"memory {m.id}", f"text is {len(m.text):,} characters long; the limit is {MAX_MEMORY_CHARS:,}"
                )
        return dataset


@dataclass(frozen=True)
class StoreOptions:
    """What an import from another engine's store needs beyond its path (``memviz ingest --collection`` ...):
    ``collection`` (chroma: one collection, default all; mem0: its vector-store collection, default ``mem0``),
    ``table`` (lancedb: default the only table), the lancedb column mapping ``text_column`` (required there),
    ``id_column``, ``time_column``, ``speaker_column``, and ``vectors`` (mem0: the folder of its vector store
    when it does not lie beside the history file)."""

    collection: str | None = None
    table: str | None = None
    text_column: str | None = None
    id_column: str | None = None
    time_column: str | None = None
    speaker_column: str | None = None
    vectors: str | None = None

    def given(self) -> dict[str, str]:
        """The options that are set (``{"collection": "turns"}``): what the import event records."""
        return {k: v for k, v in self.__dict__.items() if v is not None}


@contextmanager
def snapshot(src: Source, folder: Path) -> Iterator[Path]:
    """A private copy of ``folder`` (another engine's store), removed after the block: the engines' own
    clients may write as they open a store (a lock file, a schema migration), and the source must never be
    written to. A missing or unreadable folder is a SchemaError naming it."""
    if not folder.is_dir():
        raise src.error("", f"no such folder: {folder}")
    with tempfile.TemporaryDirectory(prefix="memviz-import-") as tmp:
        copy = Path(tmp) / folder.name
        try:
            shutil.copytree(folder, copy, ignore=shutil.ignore_patterns("*.lock", ".lock"))
        except (OSError, shutil.Error) as e:
            raise src.error("", f"cannot read the folder {folder}: {e}") from e
        yield copy


def time_value(src: Source, value: Any, where: str, key: str) -> float | None:
    """POSIX seconds of a time field of another engine's record: a date string (anything dateutil reads; naive =
    UTC), a number of POSIX seconds, or a datetime or date (naive = UTC); None stays None. Anything else, or a time
    outside :data:`memviz.limits.TIME_RANGE`, is a SchemaError naming ``where`` and ``key``."""
    if value is None:
        return None
    if isinstance(value, str):
        return src.time(value, where, key)
    if isinstance(value, date) and not isinstance(value, datetime):
        value = datetime(value.year, value.month, value.day)
    if isinstance(value, datetime):
        t_s = (value if value.tzinfo else value.replace(tzinfo=UTC)).timestamp()
    elif _is(value, (int, float)):
        t_s = float(value)
    else:
        raise src.error(where, f'"{key}" must be a date string or POSIX seconds, got {_describe(value)}')
    if (problem := time_problem(t_s)) is not None:
        raise src.error(where, f'"{key}": {value!r}: {problem}')
    return t_s


def engine_package(module: str, fmt: str) -> Any:
    """The module ``module`` of another engine's client package, imported; a ConfigError saying how to install
    it (memviz's ``engines`` extra) when it is not installed."""
    import importlib

    try:
        return importlib.import_module(module)
    except ImportError as e:
        raise ConfigError(
            f"--format {fmt} needs the {module.split('.')[0]} package: pip install 'memviz[engines]' ({e})"
        ) from None
