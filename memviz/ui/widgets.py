"""Widgets shared by the pages: a date-range picker, a memory picker and a flash message.

Each widget is a thin streamlit call; what it computes (day bounds, options, labels) is in pure helpers beside
it, tested without streamlit. Pages may append widgets here.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import date, datetime, time, timedelta, timezone
from typing import Any

import pandas as pd
import streamlit as st

from memviz.viz.memories import memory_labels

FLASH_KINDS = ("success", "info", "warning", "error")


# --------------------------------------------------------------------------------------------- date range
def utc_date(t_s: float) -> date:
    """The UTC calendar day of POSIX seconds ``t_s``."""
    return datetime.fromtimestamp(t_s, tz=timezone.utc).date()


def day_range_s(start: date, end: date) -> tuple[float, float]:
    """``(start_s, end_s)``: from the start of day ``start`` to the end of day ``end`` (exclusive: the next
    day's midnight), UTC POSIX seconds."""
    lo = datetime.combine(start, time(), tzinfo=timezone.utc)
    hi = datetime.combine(end, time(), tzinfo=timezone.utc) + timedelta(days=1)
    return lo.timestamp(), hi.timestamp()


def picked_range_s(picked: Sequence[date], lo: date, hi: date) -> tuple[float, float] | None:
    """The time range a date input's value stands for: None while the range is not narrowed (the whole
    ``lo``..``hi``) or half picked (one day chosen of two), else :func:`day_range_s` of the two days."""
    if len(picked) != 2 or tuple(picked) == (lo, hi):
        return None
    return day_range_s(picked[0], picked[1])


def date_range(label: str, bounds_s: tuple[float, float] | None, key: str | None = None,
               help: str | None = None, container: Any = None) -> tuple[float, float] | None:
    """A date-range input over the UTC days of ``bounds_s`` (earliest, latest POSIX s; None: no input).
    Returns ``(start_s, end_s)`` (end exclusive) once the user narrows the range, else None (no filter)."""
    if bounds_s is None:
        return None
    lo, hi = utc_date(bounds_s[0]), utc_date(bounds_s[1])
    picked = (container or st).date_input(label, value=(lo, hi), min_value=lo, max_value=hi, key=key, help=help)
    return picked_range_s(picked if isinstance(picked, (tuple, list)) else (picked,), lo, hi)


# --------------------------------------------------------------------------------------------- memory picker
def picker_options(ids: Sequence[str], current: str | None, known: Sequence[str] | set[str] = (),
                   limit: int | None = None) -> list[str]:
    """The ids a memory picker offers: the first ``limit`` of ``ids``, with ``current`` (the one picked
    before) put first when it is not among them but still ``known`` (e.g. a memory hidden by a filter since)."""
    options = list(ids[:limit] if limit is not None else ids)
    if current is not None and current not in options and current in known:
        options.insert(0, current)
    return options


def memory_picker(label: str, memories: pd.DataFrame, key: str, ids: Sequence[str] | None = None,
                  help: str | None = None, max_chars: int = 60) -> str | None:
    """A selectbox of memory ids labelled ``source · speaker: text`` (see :func:`memviz.viz.memories.memory_labels`;
    ``memories`` needs ``id``, ``text``, ``speaker``, ``source_id``). ``ids`` (default: every row) are the
    options, in order. A picked id no longer among them is dropped. Returns the picked id (None: no option)."""
    options = list(memories["id"]) if ids is None else list(ids)
    if st.session_state.get(key) is not None and st.session_state[key] not in options:
        del st.session_state[key]
    if not options:
        return None
    labels = memory_labels(memories[memories["id"].isin(options)], max_chars=max_chars)
    return st.selectbox(label, options, key=key, format_func=lambda i: labels.get(i, i), help=help)


# --------------------------------------------------------------------------------------------- flash message
def flash(message: str, kind: str = "success", key: str = "flash") -> None:
    """Keep ``message`` to show once, on the next run (call before ``st.rerun()``); ``kind`` is one of
    :data:`FLASH_KINDS`."""
    if kind not in FLASH_KINDS:
        raise ValueError(f"flash kind must be one of {FLASH_KINDS}, not {kind!r}")
    st.session_state[key] = (kind, message)


def pop_flash(state: Mapping[str, Any] | Any, key: str = "flash") -> tuple[str, str] | None:
    """Take the flash message kept under ``key`` out of ``state``: ``(kind, message)``, or None."""
    value = state.pop(key, None)
    if value is None:
        return None
    return (value if isinstance(value, tuple) else ("success", str(value)))


def show_flash(key: str = "flash", container: Any = None) -> str | None:
    """Show the message kept by :func:`flash` (in ``container``, default the page) and forget it; returns it."""
    if (kept := pop_flash(st.session_state, key)) is None:
        return None
    kind, message = kept
    getattr(container or st, kind)(message)
    return message


__all__ = [
    "FLASH_KINDS", "date_range", "day_range_s", "flash", "memory_picker", "picked_range_s", "picker_options",
    "pop_flash", "show_flash", "utc_date",
]
