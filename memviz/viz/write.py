"""Tables and messages of the Write page: pure functions of data-set turns and write reports (no streamlit)."""

from __future__ import annotations

from collections.abc import Collection, Mapping, Sequence
from dataclasses import asdict, replace
from typing import Literal

import pandas as pd

from memviz.models import MemoryInput, WriteReport


def turn_sources(
    demo: tuple[str, str], locomo: tuple[str, Sequence[str]] | None = None
) -> dict[str, tuple[str, str, str]]:
    """``{label: (path, format, group)}`` of the conversations one can pick turns from: the demo
    (``demo`` = (path, format), all of it) and, when ``locomo`` = (path, its groups) is given, each LoCoMo
    conversation."""
    sources = {"Demo conversation": (demo[0], demo[1], "all")}
    if locomo is not None:
        for group in locomo[1]:
            sources[f"LoCoMo {group}"] = (locomo[0], "locomo", group)
    return sources


def sessions_of(turns: Sequence[MemoryInput]) -> list[str]:
    """The session ids of ``turns``, in order of first appearance."""
    return list(dict.fromkeys(m.session_id for m in turns))


def session_turns(turns: Sequence[MemoryInput], session: str) -> pd.DataFrame:
    """The turns of ``session`` as a frame for a picker: every MemoryInput field, with ``id`` replaced by the
    turn's position in the session (``"0"``, ``"1"``...)."""
    rows = [asdict(m) for m in turns if m.session_id == session]
    df = pd.DataFrame(rows, columns=list(MemoryInput.__dataclass_fields__))
    df["id"] = [str(n) for n in range(len(df))]
    return df


def picked_turns(
    turns: Sequence[MemoryInput], session: str, chosen: Collection[str], copies: bool
) -> tuple[list[MemoryInput], Literal["error", "skip"]]:
    """The turns of ``session`` at the positions ``chosen`` (as :func:`session_turns` numbers them), in session
    order, and how to write them: as new copies (ids dropped; ``"error"`` on a duplicate) or under their data
    set ids (``"skip"`` those already stored)."""
    picked = [m for n, m in enumerate(m for m in turns if m.session_id == session) if str(n) in set(chosen)]
    return ([replace(m, id=None) for m in picked], "error") if copies else (picked, "skip")


def skipped_message(skipped_ids: Sequence[str], shown: int = 5) -> str:
    """The warning about turns skipped because their ids are stored (the first ``shown`` ids listed)."""
    more = " ..." if len(skipped_ids) > shown else ""
    return (
        f"{len(skipped_ids)} turn(s) already stored were skipped: {', '.join(skipped_ids[:shown])}{more}. "
        "Tick “Write as new copies” to write them again."
    )


def report_caption(report: WriteReport) -> str:
    """One line about a batch write: its id, how many memories, links and milliseconds."""
    n = len(report.items)
    return (
        f"Batch {report.batch_id}: {n} memor{'y' if n == 1 else 'ies'} written with {report.n_links} link(s) "
        f"in {report.timings_ms.get('total_ms', 0.0):.0f} ms."
    )


def item_labels(report: WriteReport, max_chars: int = 100) -> Mapping[str, str]:
    """``{id: text}`` (cut to ``max_chars``) of a report's written memories, for a picker."""
    return {i.id: i.text[:max_chars] for i in report.items}


__all__ = [
    "item_labels",
    "picked_turns",
    "report_caption",
    "session_turns",
    "sessions_of",
    "skipped_message",
    "turn_sources",
]
