"""The only place memviz writes SQL: typed filters (:mod:`memviz.filters`) to LanceDB ``where`` clauses."""

from __future__ import annotations

from collections.abc import Iterable

from memviz.filters import LinkFilter, MemoryFilter


def quote(value: str) -> str:
    """A SQL string literal: ``value`` in single quotes, quotes inside doubled."""
    return "'" + str(value).replace("'", "''") + "'"


def in_list(column: str, values: Iterable[str]) -> str:
    """``column IN ('a', 'b')`` (``FALSE`` for no values)."""
    values = list(values)
    return f"{column} IN ({', '.join(quote(v) for v in values)})" if values else "FALSE"


def not_null(column: str) -> str:
    """``column IS NOT NULL``."""
    return f"{column} IS NOT NULL"


def memory_where(f: MemoryFilter | None) -> str | None:
    """The ``where`` clause of a memory filter, or None when it does not filter."""
    if f is None:
        return None
    conds: list[str] = []
    for column, values in (
        ("id", f.ids),
        ("speaker", f.speakers),
        ("session_id", f.sessions),
        ("dataset", f.datasets),
        ("kind", f.kinds),
        ("scope", f.scopes),
    ):
        if values is not None:
            conds.append(in_list(column, values))
    if f.exclude_ids:
        conds.append(f"NOT ({in_list('id', f.exclude_ids)})")
    when = "COALESCE(event_time_s, created_time_s)"
    if f.time_from_s is not None:
        conds.append(f"{when} >= {float(f.time_from_s)!r}")
    if f.time_to_s is not None:
        conds.append(f"{when} <= {float(f.time_to_s)!r}")
    if f.existing_at_s is not None:
        t = float(f.existing_at_s)
        conds.append(f"{when} <= {t!r}")
        if f.forgotten is not None:  # as it was then: forgotten at or before t
            forgotten = f"(forgotten_time_s IS NOT NULL AND forgotten_time_s <= {t!r})"
            conds.append(forgotten if f.forgotten else f"NOT {forgotten}")
    elif f.forgotten is not None:
        conds.append(f"forgotten_time_s IS {'NOT ' if f.forgotten else ''}NULL")
    return " AND ".join(conds) or None


def link_where(f: LinkFilter | None) -> str | None:
    """The ``where`` clause of a link filter, or None when it does not filter."""
    if f is None:
        return None
    conds: list[str] = []
    if f.touching is not None:
        conds.append(f"({in_list('source_id', f.touching)} OR {in_list('target_id', f.touching)})")
    if f.kinds is not None:
        conds.append(in_list("kind", f.kinds))
    return " AND ".join(conds) or None


def batch_where(batch_id: str) -> str:
    return f"batch_id = {quote(batch_id)}"


def event_where(event_id: str) -> str:
    return f"id = {quote(event_id)}"


def events_where(memory_id: str | None, ops: Iterable[str] | None) -> str | None:
    conds = []
    if memory_id is not None:
        conds.append(f"array_has(memory_ids, {quote(memory_id)})")
    if ops:
        conds.append(in_list("op", ops))
    return " AND ".join(conds) or None
