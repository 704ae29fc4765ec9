"""Streamlit parts of the Write page: the report of a write (its batch, and each written memory's keywords,
importance, stability, nearest neighbours and links). What they show is computed by :mod:`memviz.viz.write` and
:mod:`memviz.viz.memories`."""

from __future__ import annotations

import streamlit as st

from memviz.engine import MemoryEngine
from memviz.models import WriteItemReport, WriteReport
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import fmt_time
from memviz.viz import memories as vm
from memviz.viz import write as vw


def show_item(engine: MemoryEngine, item: WriteItemReport) -> None:
    """The report of one written memory: keywords, importance, stability, neighbours, links and why."""
    threshold = engine.link_config.semantic_threshold
    m = engine.get(item.id)
    meta = [m.speaker, m.session_id, m.source_id, fmt_time(m.event_time_s), item.id]
    st.html(vm.memory_card_html(item.text, meta, item.keywords))
    settings = engine.store.settings
    if item.context:
        st.caption(inert(f"Embedded with its context ({settings.context.label()}), after its own text:"))
        st.text(item.context)
    elif settings.context.on:
        st.caption(inert(f"No context to embed it with ({settings.context.label()}): no earlier turn, no date."))
    c = st.columns(4)
    c[0].metric("Keywords", len(item.keywords), help="YAKE keywords (Campos et al. 2020), used for keyword links")
    c[1].metric("Importance", f"{item.importance:.2f}", help="Heuristic in [0, 1]; its parts are charted below")
    c[2].metric(
        "Initial stability (days)",
        f"{item.stability_days:.1f}",
        help="S0 = 2 days × (1 + 4 × importance): important memories decay more slowly",
    )
    c[3].metric("Links created", len(item.links))
    left, right = st.columns([2, 3])
    left.plotly_chart(vm.importance_parts_figure(item.importance_parts, item.importance), key=f"imp_{item.id}")
    semantic = {lk.target_id for lk in item.links if lk.kind == "semantic"}
    nb = vm.neighbours_frame(item.neighbours, semantic)
    with right:
        if nb.empty:
            st.caption("No earlier memory to compare with: the store was empty.")
        else:
            st.plotly_chart(vm.neighbours_figure(nb, threshold), key=f"nb_{item.id}")
    st.markdown(
        f"**Links created** ({len(item.links)}): semantic when the cosine similarity ≥ {threshold:.2f} "
        f"(up to {engine.link_config.semantic_top_n}), temporal to the previous turn of the session, "
        f"keyword to up to {engine.link_config.keyword_top_n} memories sharing a keyword (Jaccard overlap × "
        "specificity; none for small talk)."
    )
    if item.links:
        others = engine.read.memories([lk.target_id for lk in item.links])
        st.dataframe(
            vm.links_frame_of(item.id, item.keywords, item.links, others, threshold),
            column_order=["kind", "weight", "other_speaker", "other_text", "why"],
            column_config={
                "weight": st.column_config.NumberColumn("Weight", format="%.2f"),
                "other_speaker": "Speaker",
                "other_text": "Linked memory",
            },
            **w.TABLE,
        )
    else:
        st.caption("No link: no earlier memory was similar enough, shared a keyword or came before it in its session.")
    with st.expander("Nearest neighbours as a table"):
        st.dataframe(
            nb,
            column_order=["text", "similarity", "linked"],
            column_config={"similarity": st.column_config.NumberColumn(format="%.3f")},
            **w.TABLE,
        )


def show_report(engine: MemoryEngine, report: WriteReport) -> None:
    """The report of a batch write: skipped turns, a caption, one written memory (picked when several) in detail
    (:func:`show_item`) and the timings."""
    st.subheader("Write report")
    if report.skipped_ids:
        st.warning(inert(vw.skipped_message(report.skipped_ids)))
    if not report.items:
        return
    st.caption(inert(vw.report_caption(report)))
    item = report.items[0]
    if len(report.items) > 1:
        by_id = {i.id: i for i in report.items}
        labels = vw.item_labels(report)
        picked = st.selectbox("Written memory", list(by_id), format_func=lambda i: labels[i], key="write_report_item")
        item = by_id.get(picked or "", item)
    show_item(engine, item)
    with st.expander("Timings"):
        st.dataframe(
            vm.timings_frame(report.timings_ms),
            column_config={"ms": st.column_config.NumberColumn("ms", format="%.1f")},
            **w.TABLE,
        )
