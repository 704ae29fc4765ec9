"""Widgets shared by the pages: a date-range picker, a memory picker and a flash message.

Each widget is a thin streamlit call; what it computes (day bounds, options, labels) is in pure helpers beside
it, tested without streamlit. Pages may append widgets here.
"""

from __future__ import annotations

import functools
from collections.abc import Mapping, MutableMapping, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Any

import pandas as pd
import streamlit as st

from memviz.viz.memories import filter_memories, memory_labels

FLASH_KINDS = ("success", "info", "warning", "error")

# Every table of the app: no index column, the page's width, and a missing value shown as a blank cell (streamlit
# writes "None" otherwise). ``st.dataframe(frame, key=..., **TABLE)``.
TABLE: dict = {"hide_index": True, "width": "stretch", "placeholder": ""}


# --------------------------------------------------------------------------------------------- date range
def utc_date(t_s: float) -> date:
    """The UTC calendar day of POSIX seconds ``t_s``."""
    return datetime.fromtimestamp(t_s, tz=UTC).date()


def day_range_s(start: date, end: date) -> tuple[float, float]:
    """``(start_s, end_s)``: from the start of day ``start`` to the end of day ``end`` (exclusive: the next
    day's midnight), UTC POSIX seconds."""
    lo = datetime.combine(start, time(), tzinfo=UTC)
    hi = datetime.combine(end, time(), tzinfo=UTC) + timedelta(days=1)
    return lo.timestamp(), hi.timestamp()


def picked_range_s(picked: Sequence[date], lo: date, hi: date) -> tuple[float, float] | None:
    """The time range a date input's value stands for: None while the range is not narrowed (the whole
    ``lo``..``hi``) or half picked (one day chosen of two), else :func:`day_range_s` of the two days."""
    if len(picked) != 2 or tuple(picked) == (lo, hi):
        return None
    return day_range_s(picked[0], picked[1])


def date_range(
    label: str,
    bounds_s: tuple[float, float] | None,
    key: str | None = None,
    help: str | None = None,
    container: Any = None,
) -> tuple[float, float] | None:
    """A date-range input over the UTC days of ``bounds_s`` (earliest, latest POSIX s; None: no input).
    Returns ``(start_s, end_s)`` (end exclusive) once the user narrows the range, else None (no filter)."""
    if bounds_s is None:
        return None
    lo, hi = utc_date(bounds_s[0]), utc_date(bounds_s[1])
    picked = (container or st).date_input(label, value=(lo, hi), min_value=lo, max_value=hi, key=key, help=help)
    return picked_range_s(picked if isinstance(picked, (tuple, list)) else (picked,), lo, hi)


# --------------------------------------------------------------------------------------------- memory picker
def picker_options(
    ids: Sequence[str], current: str | None, known: Sequence[str] | set[str] = (), limit: int | None = None
) -> list[str]:
    """The ids a memory picker offers: the first ``limit`` of ``ids``, with ``current`` (the one picked
    before) put first when it is not among them but still ``known`` (e.g. a memory hidden by a filter since)."""
    options = list(ids[:limit] if limit is not None else ids)
    if current is not None and current not in options and current in known:
        options.insert(0, current)
    return options


def memory_picker(
    label: str,
    memories: pd.DataFrame,
    key: str,
    ids: Sequence[str] | None = None,
    help: str | None = None,
    max_chars: int = 60,
) -> str | None:
    """A selectbox of memory ids labelled ``source · speaker: text`` (see :func:`memviz.viz.memories.memory_labels`;
    ``memories`` needs ``id``, ``text``, ``speaker``, ``source_id``, ``session_id``). ``ids`` (default: every row)
    are the options, in order. A picked id no longer among them is dropped. Returns the picked id (None: no option)."""
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


def pop_flash(state: MutableMapping[str, Any] | Any, key: str = "flash") -> tuple[str, str] | None:
    """Take the flash message kept under ``key`` out of ``state``: ``(kind, message)``, or None."""
    value = state.pop(key, None)
    if value is None:
        return None
    return value if isinstance(value, tuple) else ("success", str(value))


def show_flash(key: str = "flash", container: Any = None) -> str | None:
    """Show the message kept by :func:`flash` (in ``container``, default the page) and forget it; returns it."""
    if (kept := pop_flash(st.session_state, key)) is None:
        return None
    kind, message = kept
    getattr(container or st, kind)(message)
    return message


# --------------------------------------------------------------------------------------------- tables, charts
def number_columns(**formats: str | tuple[str, str]) -> dict[str, Any]:
    """``st.dataframe`` column configs of number columns: ``name=format`` (e.g. ``"%.3f"``) or
    ``name=(label, format)``."""
    return {
        name: (
            st.column_config.NumberColumn(f[0], format=f[1])
            if isinstance(f, tuple)
            else st.column_config.NumberColumn(format=f)
        )
        for name, f in formats.items()
    }


def window_slider(label: str, n: int, default: int, key: str, container: Any = None) -> tuple[int, int]:
    """A range slider of positions ``0..n`` starting at ``(0, default)`` (in ``container``, default the page);
    no slider (the whole ``(0, n)``) when ``n <= default``."""
    if n <= default:
        return 0, n
    return (container or st).slider(
        label, 0, n, (0, default), key=key, help="Token positions shown (long inputs stay readable)"
    )


def chart_with_exports(fig: Any, name: str, key: str) -> None:
    """A plotly chart (key ``<key>_chart``) and its download buttons: HTML (offline, plotly.js inlined), PNG
    and SVG (kaleido + Chromium, where available; else a hint at the toolbar's camera)."""
    from memviz.viz import attention as va

    st.plotly_chart(fig, config=va.PLOTLY_CONFIG, key=f"{key}_chart")
    cols = st.columns([1, 1, 1, 5])
    cols[0].download_button(
        "HTML",
        lambda: va.figure_html(fig),
        file_name=f"{name}.html",
        mime="text/html",
        key=f"{key}_html",
        on_click="ignore",
        icon=":material/download:",
    )
    if not va.image_export_available():
        cols[1].caption("PNG/SVG: camera icon in the chart toolbar")
        return
    for col, fmt, mime in ((cols[1], "png", "image/png"), (cols[2], "svg", "image/svg+xml")):
        col.download_button(
            fmt.upper(),
            functools.partial(va.figure_image, fig, fmt),
            file_name=f"{name}.{fmt}",
            mime=mime,
            key=f"{key}_{fmt}",
            on_click="ignore",
            icon=":material/download:",
        )


# --------------------------------------------------------------------------------------------- memory table
MEMORY_TABLE_COLUMNS: dict[str, Any] = {
    "text": st.column_config.TextColumn("Text", width="large"),
    "speaker": "Speaker",
    "session_id": "Session",
    "source_id": "Source id",
    "kind": "Kind",
    "event_time": st.column_config.DatetimeColumn("Event time (UTC)", format="YYYY-MM-DD HH:mm"),
    "importance": st.column_config.NumberColumn("Importance", format="%.2f"),
    "stability_days": st.column_config.NumberColumn("Stability (days)", format="%.1f"),
    "recall_count": st.column_config.NumberColumn("Reinforced", help="Times reinforced (by a recall or by hand)"),
    "retention": st.column_config.ProgressColumn("Retention", min_value=0.0, max_value=1.0, format="%.2f"),
    "forgotten": st.column_config.CheckboxColumn("Forgotten"),
}


def table_height_px(n_rows: int, max_px: int = 423) -> int:
    """The height of a dataframe showing ``n_rows`` rows and its header (35 px each), at most ``max_px``."""
    return min(max_px, 3 + 35 * (n_rows + 1))


def memory_table_select(shown: pd.DataFrame, key: str, max_height_px: int = 423) -> str | None:
    """A memory table (:func:`memviz.viz.memories.memory_table`; ``id`` hidden) where a row can be clicked;
    returns the id of the clicked row, if any."""
    event = st.dataframe(
        shown,
        height=table_height_px(len(shown), max_height_px),
        key=key,
        on_select="rerun",
        selection_mode="single-row",
        column_order=[c for c in shown.columns if c != "id"],
        column_config=MEMORY_TABLE_COLUMNS,
        **TABLE,
    )
    rows = event.selection.rows
    return str(shown["id"].iat[rows[0]]) if rows and rows[0] < len(shown) else None


# ------------------------------------------------------------------------------ metrics, query row, "as of"
def metrics_row(items: Sequence[tuple], container: Any = None) -> None:
    """One row of ``st.metric``s, one column each. An item is ``(label, value)`` and optionally, in this order,
    ``help``, ``delta`` and ``delta_color`` (as pure helpers such as :func:`memviz.viz.trace.why_metrics` give them)."""
    for col, (label, value, *rest) in zip((container or st).columns(len(items)), items):
        opts = dict(zip(("help", "delta", "delta_color"), rest))
        col.metric(
            label,
            value,
            help=opts.get("help"),
            delta=opts.get("delta"),
            delta_color=opts.get("delta_color") or "normal",
        )


def query_row(
    key: str, button: str, button_key: str, placeholder: str = "", primary: bool = False, k_max: int = 50
) -> tuple[str, int, bool]:
    """A query, a k (1..``k_max``, default 10) and a button in one row; keys ``<key>_query``, ``<key>_k`` and
    ``button_key``. Returns ``(query, k, clicked)``."""
    c = st.columns([4, 1, 1])
    query = c[0].text_input("Query", key=f"{key}_query", placeholder=placeholder)
    k = c[1].number_input("k", 1, k_max, 10, key=f"{key}_k")
    c[2].write("")
    clicked = c[2].button(button, key=button_key, type="primary" if primary else "secondary", width="stretch")
    return query, int(k), clicked


def done(message: str, key: str = "flash", kind: str = "success") -> None:
    """End an action: keep ``message`` to show on the next run (:func:`flash`) and rerun the page now."""
    flash(message, kind, key)
    st.rerun()


def memory_search(
    memories: pd.DataFrame,
    label: str,
    key: str,
    search_key: str,
    limit: int = 2000,
    columns: Sequence[Any] | None = None,
) -> str | None:
    """A search box (words of a memory's text or its source id, :func:`memviz.viz.memories.filter_memories`) and a
    :func:`memory_picker` over the first ``limit`` matching rows of ``memories``, in their order, in two ``columns``
    (default: new ones). Returns the picked id, None when nothing matches."""
    left, right = columns if columns is not None else st.columns([2, 3])
    search = left.text_input("Find a memory", key=search_key, placeholder="words of its text or its source id")
    shown = filter_memories(memories, search, show_forgotten=True)
    if shown.empty:
        right.info("No memory matches.")
    with right:
        return memory_picker(label, shown, key=key, ids=shown["id"].head(limit).tolist())


def download_row(files: Sequence[tuple[str, Any, str, str, str]], container: Any = None) -> None:
    """One download button per column: ``(label, data, file_name, mime, key)``; ``data`` may be a callable,
    called only when its button is pressed (``on_click="ignore"``: a download does not rerun the page)."""
    for col, (label, data, file_name, mime, key) in zip((container or st).columns(len(files)), files):
        col.download_button(label, data, file_name, mime, key=key, on_click="ignore")


def table_grid(tables: Sequence[tuple[str, pd.DataFrame, Mapping[str, str] | None]], n_columns: int = 2) -> None:
    """Titled tables in ``n_columns`` columns, filled left to right: ``(markdown title, frame, formats)``, where
    ``formats`` maps number columns to a printf format (e.g. ``{"pagerank": "%.4f"}``)."""
    cols = st.columns(n_columns)
    for n, (title, frame, formats) in enumerate(tables):
        cols[n % n_columns].markdown(title)
        cols[n % n_columns].dataframe(
            frame,
            column_config={c: st.column_config.NumberColumn(format=f) for c, f in (formats or {}).items()},
            **TABLE,
        )


def utc_timestamp(day: date, at: time) -> float:
    """POSIX seconds of ``day`` at ``at`` (UTC)."""
    return datetime.combine(day, at, tzinfo=UTC).timestamp()


def as_of_input(now_s: float, key: str) -> float:
    """A date and a time input (UTC; keys ``<key>_date``, ``<key>_time``) starting at ``now_s`` (to the minute);
    returns the POSIX seconds picked."""
    now = datetime.fromtimestamp(now_s, tz=UTC)
    day = st.date_input("As of (date, UTC)", value=now.date(), key=f"{key}_date")
    at = st.time_input("As of (time, UTC)", value=time(now.hour, now.minute), key=f"{key}_time")
    return utc_timestamp(day, at)


__all__ = [
    "FLASH_KINDS",
    "MEMORY_TABLE_COLUMNS",
    "chart_with_exports",
    "date_range",
    "day_range_s",
    "flash",
    "memory_picker",
    "memory_table_select",
    "number_columns",
    "picked_range_s",
    "picker_options",
    "pop_flash",
    "show_flash",
    "table_height_px",
    "utc_date",
    "window_slider",
]
