"""memviz's plain chat format: JSON Lines, one memory per line, all in one group ``"all"``.

Each line is an object with ``text`` (non-empty string), ``speaker`` (string) and ``session`` (string), and
optionally ``time`` (a date/time string dateutil reads, naive = UTC; missing or null = no time), ``id``
(default ``"<file stem>:<line number>"``, stable, so a re-import skips what is stored),
``kind`` (one of :data:`memviz.models.MEMORY_KINDS`, default ``"episodic"``) and ``source_id`` (default
``"<session>#<line number>"``) and ``scope`` (whose memory it is, :attr:`memviz.models.MemoryInput.scope`;
default ``""``, the default scope). Blank lines are skipped; other keys are ignored. The memories' ``dataset`` is
the file name without its extension. Every final id (given or default) must be unique in the file; ids and
sessions are at most 256 characters, speakers 128, source ids 512; times lie within years 1900..2199 UTC
(:mod:`memviz.limits`).
"""

from __future__ import annotations

from pathlib import Path
from typing import cast

from memviz.importers._base import Dataset, Source
from memviz.models import MEMORY_KINDS, MemoryInput, MemoryKind

GROUP = "all"


def load_jsonl(raw: bytes, src: Source) -> Dataset:
    """Read a memviz JSON Lines file (the whole file is checked before anything is returned)."""
    dataset_name = Path(src.name).stem
    memories: list[MemoryInput] = []
    for number, obj in src.json_lines(raw):
        where = f"line {number}"
        src.expect(obj, dict, where, "an object")
        text = src.field(obj, "text", where, str, nonempty=True)
        speaker = src.field(obj, "speaker", where, str)
        session = src.field(obj, "session", where, str)
        time_text = src.field(obj, "time", where, str, required=False)
        kind = src.field(obj, "kind", where, str, required=False) or "episodic"
        if kind not in MEMORY_KINDS:
            raise src.error(where, f'"kind" must be one of {", ".join(MEMORY_KINDS)}, got {kind!r}')
        memory_id = src.field(obj, "id", where, str, required=False, nonempty=True)
        source_id = src.field(obj, "source_id", where, str, required=False, nonempty=True)
        scope = src.field(obj, "scope", where, str, required=False) or ""
        memories.append(
            src.memory(
                where,
                MemoryInput(
                    text=text,
                    speaker=speaker,
                    session_id=session,
                    source_id=source_id if source_id is not None else f"{session}#{number}",
                    event_time_s=None if time_text is None else src.time(time_text, where, "time"),
                    kind=cast(MemoryKind, kind),  # checked against MEMORY_KINDS above
                    # Without an "id", the file name and line number make a stable one, so re-importing the
                    # same file skips what is already stored.
                    id=memory_id if memory_id is not None else f"{dataset_name}:{number}",
                    dataset=dataset_name,
                    scope=scope,
                ),
            )
        )
    return src.require_memories(Dataset(format="jsonl", path=src.path, groups={GROUP: memories}))
