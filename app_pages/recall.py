"""Recall: a query under a scoring preset; each hit's score breakdown, the stage-by-stage trace, why a memory
was not retrieved, two presets side by side, and past traces reopened or compared."""

from __future__ import annotations

from datetime import datetime, time, timezone

import pandas as pd
import streamlit as st

from memviz import tracing
from memviz.decay import DECAY_MODELS
from memviz.engine import MemoryEngine
from memviz.errors import MemvizError
from memviz.models import Hit, Memory, Trace
from memviz.presets import PRESET_NAMES, PRESETS, preset_config, preset_of
from memviz.scoring import COMPONENTS
from memviz.store import memory_from_row, sql_str_list
from memviz.ui.state import db_uri, fmt_time, get_engine
from memviz.viz.trace import (
    COMPONENT_LABELS,
    compare_figure,
    hits_table,
    rank_flow_figure,
    score_breakdown_figure,
    trace_table,
    why_not_figure,
)

MAX_PICK = 200  # memories listed by the why-not search


def memories_of(engine: MemoryEngine, ids: list[str]) -> dict[str, Memory]:
    """The stored memories among ``ids`` (a pruned one is simply missing)."""
    if not ids:
        return {}
    tbl = engine.store.memories_table(where=f"id IN ({sql_str_list(ids)})")
    return {r["id"]: memory_from_row(r) for r in tbl.to_pylist()}


@st.cache_data(show_spinner=False, max_entries=4)
def memory_index(uri: str, version: int, _engine: MemoryEngine) -> pd.DataFrame:
    """id, speaker and text of every memory, for the why-not search (cached per store version)."""
    return _engine.store.memories_table(columns=["id", "speaker", "text"]).to_pandas()


def trace_label(t: Trace) -> str:
    name = preset_of(t.config) or "custom"
    return f"{fmt_time(t.time_s)} · {name} · k={t.k} · {t.query[:60]}"


def config_form(engine: MemoryEngine):
    """The recall configuration widgets; returns (query, preset, RecallConfig or None, error)."""
    left, right = st.columns([3, 2])
    query = left.text_input("Query", key="rc_query", placeholder="When did Caroline go to the support group?")
    preset = right.selectbox("Scoring preset", PRESET_NAMES, key="rc_preset", format_func=lambda n: PRESETS[n].label)
    p = PRESETS[preset]
    base = p.config()
    left.caption(f"**{p.label}**: {p.formula} · source: {p.source}")
    c = st.columns([1, 1, 1, 2])
    k = c[0].number_input("k (hits)", min_value=1, max_value=200, value=10, key="rc_k")
    decay = c[1].selectbox("Decay model", DECAY_MODELS, index=DECAY_MODELS.index(base.decay_model), key=f"rc_decay_{preset}")
    fusion = c[2].toggle("Fusion (RRF)", value=base.fusion, key=f"rc_fusion_{preset}",
                         help="On: pool the retrievers' candidates by reciprocal rank fusion; off: the first retriever only")
    with c[3]:
        use_clock = st.toggle("As of the simulated clock", value=True, key="rc_use_clock",
                              help=f"Clock: {fmt_time(engine.clock.now())} UTC (move it in the sidebar)")
        as_of = None
        if not use_clock:
            now = datetime.fromtimestamp(engine.clock.now(), tz=timezone.utc)
            d = st.date_input("As of (date, UTC)", value=now.date(), key="rc_asof_date")
            tm = st.time_input("As of (time, UTC)", value=time(now.hour, now.minute), key="rc_asof_time")
            as_of = datetime.combine(d, tm, tzinfo=timezone.utc).timestamp()
    with st.expander("Weights of the score components (weighted mean)"):
        cols = st.columns(4)
        weights = {
            comp: cols[n % 4].slider(COMPONENT_LABELS[comp], 0.0, 2.0, float(base.weights[comp]), 0.05,
                                     key=f"rc_w_{preset}_{comp}")
            for n, comp in enumerate(COMPONENTS)
        }
        g = st.columns([1, 2])
        hops = g[0].number_input("Graph hops (0 = no graph stage)", 0, 3, base.graph_hops, key=f"rc_hops_{preset}",
                                 help="Needs a positive 'link / graph bonus' weight")
        g[1].caption(f"Per-hop decay {base.graph_decay}, aggregate {base.graph_aggregate}, seeds {base.graph_seeds}")
    reinforce = st.checkbox("Reinforce the hits (a recall strengthens what it returns)", value=False,
                            key="rc_reinforce", disabled=as_of is not None,
                            help="Off: exploring does not change the store")
    try:
        cfg = preset_config(preset, k=int(k), decay_model=decay, fusion=fusion, weights=weights, graph_hops=int(hops),
                            as_of_s=as_of, reinforce=reinforce and as_of is None)
        return query, preset, cfg, None
    except MemvizError as e:
        return query, preset, None, str(e)


def show_hits(trace: Trace, mems: dict[str, Memory]) -> None:
    final = trace.stage("final").candidates
    if not final:
        gated = sum(len(s.info.get("gated", {})) for s in trace.stages)
        st.warning("No memory was retrieved." + (f" {gated} candidate(s) were gated out: see the trace." if gated else ""))
        return
    hits = [Hit(mems[c.id], c.scores["score"], c.scores, c.rank) for c in final if c.id in mems]
    # Stacked, not side by side: at laptop widths a half-width table cut the text column off.
    st.dataframe(hits_table(hits, fmt_time), hide_index=True, width="stretch", key="rc_hits_table",
                 column_config={"score": st.column_config.NumberColumn(format="%.3f"),
                                "text": st.column_config.TextColumn(width="large")})
    st.plotly_chart(score_breakdown_figure(trace, mems), key="rc_breakdown", width="stretch")


def show_trace(trace: Trace, mems: dict[str, Memory], highlight: str | None = None) -> None:
    summary = pd.DataFrame([
        {"stage": tracing.STAGE_LABELS.get(s.name, s.name), "candidates": len(s.candidates), "ms": round(s.duration_ms, 1),
         "details": ", ".join(f"{k}={v}" for k, v in s.info.items()
                              if k not in ("gated", "keyword_df", "ranges", "added", "seeds", "weights"))}
        for s in trace.stages
    ])
    st.dataframe(summary, hide_index=True, width="stretch", key="rc_stage_summary")
    gated = {i: g for s in trace.stages for i, g in s.info.get("gated", {}).items()}
    if gated:
        st.caption(f"{len(gated)} candidate(s) gated out before scoring, e.g. " + ", ".join(
            f"{i} ({g['component']} {g['value']:.2f} < {g['threshold']:.2f})" for i, g in list(gated.items())[:3]))
    st.plotly_chart(rank_flow_figure(trace, mems, highlight=highlight), key="rc_rank_flow", width="stretch")
    st.dataframe(trace_table(trace, mems), hide_index=True, width="stretch", key="rc_trace_table", height=380)


def show_why_not(engine: MemoryEngine, trace: Trace, mems: dict[str, Memory]) -> str | None:
    """The why-not view; returns the id of the memory looked at (to highlight it in the rank flow)."""
    misses = tracing.near_misses(trace, 10)
    c = st.columns([2, 2, 1])
    search = c[0].text_input("Find a memory (text or id)", key="rc_why_search")
    options: dict[str, str] = {}
    for row in misses.itertuples(index=False):
        options[row.id] = f"near miss #{row.rank}: {mems[row.id].text[:70] if row.id in mems else row.id}"
    if search.strip():
        idx = memory_index(db_uri(), engine.store.version(), engine)
        hit = idx[idx["text"].str.contains(search.strip(), case=False, regex=False)
                  | idx["id"].str.contains(search.strip(), case=False, regex=False)].head(MAX_PICK)
        options = {r.id: f"{r.id}: {r.speaker}: {r.text[:70]}" for r in hit.itertuples(index=False)} | options
    typed = c[2].text_input("…or its exact id", key="rc_why_id").strip()
    pick = c[1].selectbox("Memory (a near miss, or one found by the search)", list(options), format_func=options.get,
                          key="rc_why_pick", index=None, placeholder="pick a memory")
    target = typed or pick
    if target:
        try:
            explained = engine.explain(trace, [target])[target]
        except MemvizError as e:
            st.error(str(e))
            target = None
        else:
            why = tracing.why_not(trace, target, explained)
            mem = memories_of(engine, [target]).get(target)
            st.markdown(f"**{target}** · {mem.speaker if mem else ''} · {fmt_time(mem.event_time_s) if mem else ''}")
            st.text(mem.text if mem else "")
            m = st.columns(4)
            m[0].metric("Rank in the ranking", why.rank if why.rank else "not scored",
                        help="The complete ranking after scoring (and graph expansion)")
            m[1].metric("Score", f"{why.score:.3f}" if why.score is not None else "–")
            m[2].metric("Margin to the cut-off", f"{why.margin:+.3f}" if why.margin is not None else "–")
            m[3].metric("Kept out by", why.deciding or ("gate" if why.gated else "–"))
            for r in why.reasons:
                st.markdown(f"- {r}")
            left, right = st.columns([3, 2])
            left.dataframe(pd.DataFrame([
                {"stage": tracing.STAGE_LABELS[s["stage"]], "rank": s["rank"], "of": s["of"],
                 **{k: round(v, 4) for k, v in s["scores"].items()}} for s in why.stages
            ]), hide_index=True, width="stretch", key="rc_why_stages")
            if not why.retrieved:
                right.plotly_chart(why_not_figure(why, tracing.weights_of(trace)), key="rc_why_fig", width="stretch")
    st.markdown("**Near misses**: the ten memories just below the cut-off, and what kept each out")
    shown = misses[["rank", "id", "score", "margin", "deciding"]].copy()
    shown.insert(2, "text", [mems[i].text if i in mems else "" for i in shown["id"]])
    st.dataframe(shown, hide_index=True, width="stretch", key="rc_near_misses",
                 column_config={"score": st.column_config.NumberColumn(format="%.3f"),
                                "margin": st.column_config.NumberColumn(format="%+.4f")})
    return target


def show_diff(a: Trace, b: Trace, name_a: str, name_b: str, engine: MemoryEngine, key: str) -> None:
    diff = tracing.compare(a, b)
    m = st.columns(4)
    m[0].metric("Overlap of the top k", f"{diff.overlap} / {max(a.k, b.k)}")
    m[1].metric("Jaccard", f"{diff.jaccard:.2f}")
    m[2].metric("Entered", len(diff.entered))
    m[3].metric("Left", len(diff.left))
    mems = memories_of(engine, diff.table["id"].tolist())
    table = diff.table.copy()
    table.insert(1, "text", [mems[i].text if i in mems else "" for i in table["id"]])
    st.plotly_chart(compare_figure(diff, mems, max(a.k, b.k), name_a, name_b), key=f"{key}_fig", width="stretch")
    st.dataframe(table, hide_index=True, width="stretch", key=f"{key}_table",
                 column_config={"score_a": st.column_config.NumberColumn(format="%.3f"),
                                "score_b": st.column_config.NumberColumn(format="%.3f")})


def show_side_by_side(engine: MemoryEngine, trace: Trace) -> None:
    name_a = preset_of(trace.config) or "custom"
    others = [n for n in PRESET_NAMES if n != name_a]
    b = st.selectbox("Compare with preset", others, key="rc_cmp_preset", format_func=lambda n: PRESETS[n].label)
    if st.button("Run both on this query", key="rc_cmp_run"):
        try:
            other = engine.recall(trace.query, preset_config(b, k=trace.k, as_of_s=trace.time_s, reinforce=False))
        except MemvizError as e:
            st.error(str(e))
        else:
            st.session_state["rc_cmp_trace"] = other.trace.to_dict()
    data = st.session_state.get("rc_cmp_trace")
    if not data or data["query"] != trace.query:
        st.caption("Runs the chosen preset on the same query, at the same clock time, without reinforcing.")
        return
    other = Trace.from_dict(data)
    name_b = preset_of(other.config) or "custom"
    la, lb = f"A: {name_a}", f"B: {name_b}"
    cols = st.columns(2)
    for col, t, label in ((cols[0], trace, la), (cols[1], other, lb)):
        mems = memories_of(engine, [c.id for c in t.stage("final").candidates])
        col.markdown(f"**{label}**")
        col.dataframe(pd.DataFrame([{"rank": c.rank, "score": round(c.scores["score"], 3),
                                     "text": mems[c.id].text if c.id in mems else c.id}
                                    for c in t.stage("final").candidates]),
                      hide_index=True, width="stretch", key=f"rc_side_{label[0]}")
    show_diff(trace, other, la, lb, engine, "rc_cmp")


def show_past(engine: MemoryEngine) -> None:
    past = list(reversed(engine.traces(limit=50)))
    if not past:
        st.caption("No recall recorded yet.")
        return
    by_id = {t.id: t for t in past}
    c = st.columns([4, 1])
    pick = c[0].selectbox("A past trace", list(by_id), key="rc_past_pick", format_func=lambda i: trace_label(by_id[i]))
    if c[1].button("Reopen", key="rc_reopen"):
        st.session_state["rc_trace"] = by_id[pick].to_dict()
        st.rerun()
    st.markdown("**Compare two traces** (e.g. one query before and after advancing the clock)")
    c = st.columns(2)
    a = c[0].selectbox("Trace A", list(by_id), index=min(1, len(by_id) - 1), key="rc_past_a",
                       format_func=lambda i: trace_label(by_id[i]))
    b = c[1].selectbox("Trace B", list(by_id), index=0, key="rc_past_b", format_func=lambda i: trace_label(by_id[i]))
    if st.button("Compare traces", key="rc_past_cmp") or st.session_state.get("rc_past_shown") == (a, b):
        st.session_state["rc_past_shown"] = (a, b)
        show_diff(by_id[a], by_id[b], f"A: {fmt_time(by_id[a].time_s)}", f"B: {fmt_time(by_id[b].time_s)}", engine,
                  "rc_past")


engine = get_engine()
st.title("Recall")
st.caption("Why did it recall that, and why not the memory it needed? Every stage, every score component.")
query, preset, cfg, error = config_form(engine)
if error:
    st.error(error)
if st.button("Recall", key="rc_run", type="primary", disabled=cfg is None):
    try:
        st.session_state["rc_trace"] = engine.recall(query, cfg).trace.to_dict()
        st.session_state.pop("rc_cmp_trace", None)
    except MemvizError as e:
        st.error(str(e))

if "rc_trace" not in st.session_state:
    st.info("Type a query and press Recall.")
    st.stop()
trace = Trace.from_dict(st.session_state["rc_trace"])
ids = list(dict.fromkeys(c.id for s in trace.stages for c in s.candidates))
mems = memories_of(engine, ids)
st.markdown(f"**{trace.query}** · {preset_of(trace.config) or 'custom'} · k={trace.k} · as of "
            f"{fmt_time(trace.time_s)} UTC · {trace.total_ms:.0f} ms")
tabs = st.tabs(["Hits", "Trace", "Why not?", "Presets side by side", "Past traces"])
with tabs[2]:
    looked_at = show_why_not(engine, trace, mems)
with tabs[0]:
    show_hits(trace, mems)
with tabs[1]:
    show_trace(trace, mems, highlight=looked_at)
with tabs[3]:
    show_side_by_side(engine, trace)
with tabs[4]:
    show_past(engine)
