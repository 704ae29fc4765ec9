"""The widgets of the Recall page besides its form (:mod:`memviz.ui.recall_form`): the why-not picker and view,
and the pickers of past traces. What they compute is in :mod:`memviz.viz.trace` and :mod:`memviz.tracing`
(pure, tested without streamlit); keys are ``rc_*``."""

from __future__ import annotations

from collections.abc import Callable, Mapping

import pandas as pd
import streamlit as st

from memviz.engine import MemoryEngine
from memviz.models import Memory, Trace
from memviz.recall.presets import PRESET_NAMES, PRESETS
from memviz.tracing import WhyNot
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import fmt_time
from memviz.ui.widgets import metrics_row
from memviz.viz import trace as vt

MAX_PICK = 200  # memories listed by the why-not search


def why_not_picker(
    misses: pd.DataFrame, memories: Mapping[str, Memory], index: Callable[[], pd.DataFrame], limit: int = MAX_PICK
) -> str | None:
    """A search over ``index()`` (``id``, ``speaker``, ``text``; read only when something is searched), a picker
    of the memories found and of the near ``misses``, and a box for an exact id. Returns the id typed, else the
    one picked, else None."""
    c = st.columns([2, 2, 1])
    search = c[0].text_input("Find a memory (text or id)", key="rc_why_search")
    found = vt.search_index(index(), search, limit) if search.strip() else None
    options = vt.why_not_options(misses, memories, found)
    typed = c[2].text_input("…or its exact id", key="rc_why_id").strip()
    pick = c[1].selectbox(
        "Memory (a near miss, or one found by the search)",
        list(options),
        format_func=lambda i: options[i],
        key="rc_why_pick",
        index=None,
        placeholder="pick a memory",
    )
    return typed or pick


def show_why(why: WhyNot, memory: Memory | None, weights: Mapping[str, float]) -> None:
    """Why the memory ``why`` explains was (not) retrieved: its text, the headline, the reasons, where it stood at
    each stage and, when it was not retrieved, what held it back (``weights``: the trace's component weights)."""
    st.markdown(
        f"**{inert(why.memory_id)}** · {inert(memory.speaker if memory else '')} · "
        f"{fmt_time(memory.event_time_s) if memory else ''}"
    )
    st.text(memory.text if memory else "")
    metrics_row(vt.why_metrics(why))
    for r in why.reasons:
        st.markdown(f"- {inert(r)}")
    left, right = st.columns([3, 2])
    left.dataframe(vt.why_stages_table(why), key="rc_why_stages", **w.TABLE)
    if not why.retrieved:
        right.plotly_chart(vt.why_not_figure(why, weights), key="rc_why_fig", width="stretch")


def preset_picker(current: str) -> tuple[str, bool]:
    """A picker of the scoring presets other than ``current`` and a button to run both; returns the preset picked
    and whether the button was pressed."""
    other = st.selectbox(
        "Compare with preset",
        [n for n in PRESET_NAMES if n != current],
        key="rc_cmp_preset",
        format_func=lambda n: PRESETS[n].label,
    )
    return other, st.button("Run both on this query", key="rc_cmp_run")


def open_requested_trace(engine: MemoryEngine) -> None:
    """Open a recorded trace by its id: the one the URL names (``/recall?trace=<id>``, the id an MCP ``recall``
    returns), once, and the one typed in the box this draws (``rc_trace_id``). An unknown id is said in one line."""
    wanted = {"url": st.query_params.get("trace", ""), "box": st.session_state.get("rc_trace_id", "")}
    st.text_input("…or a trace id (e.g. an MCP recall's trace_id)", key="rc_trace_id")
    for source, trace_id in wanted.items():
        trace_id = trace_id.strip()
        if not trace_id or st.session_state.get(f"rc_opened_{source}") == trace_id:
            continue
        st.session_state[f"rc_opened_{source}"] = trace_id
        if (trace := engine.read.trace(trace_id)) is None:
            st.warning(f"No recorded recall trace {inert(trace_id)} in this store.")
        else:
            st.session_state["rc_trace"] = trace.to_dict()
            st.rerun()


def past_pickers(by_id: Mapping[str, Trace]) -> tuple[str | None, str, str, bool]:
    """Pickers of past traces (``by_id``, newest first, not empty): one to reopen, and two to compare.

    Returns ``(the trace to reopen or None, trace A, trace B, whether Compare was pressed)``."""

    def label(i: str) -> str:
        return vt.trace_label(by_id[i], fmt_time)

    c = st.columns([4, 1])
    pick = c[0].selectbox("A past trace", list(by_id), key="rc_past_pick", format_func=label)
    reopen = pick if c[1].button("Reopen", key="rc_reopen") else None
    st.markdown("**Compare two traces** (e.g. one query before and after advancing the clock)")
    ab = st.columns(2)
    a = ab[0].selectbox("Trace A", list(by_id), index=min(1, len(by_id) - 1), key="rc_past_a", format_func=label)
    b = ab[1].selectbox("Trace B", list(by_id), index=0, key="rc_past_b", format_func=label)
    return reopen, a, b, st.button("Compare traces", key="rc_past_cmp")


__all__ = ["MAX_PICK", "open_requested_trace", "past_pickers", "preset_picker", "show_why", "why_not_picker"]
