"""Figures and tables of the Recall page: score breakdowns, rank flow across stages, why-not gaps, trace
comparison. Pure functions of traces and memories (no streamlit); they return plotly figures or DataFrames.

Memory text in plotly labels and hover text is HTML-escaped (plotly renders a subset of HTML there).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd
import plotly.graph_objects as go

from memviz.models import Hit, Memory, Trace
from memviz.recall.presets import preset_of
from memviz.scoring import COMPONENTS
from memviz.tracing import (
    STAGE_LABELS,
    TraceDiff,
    WhyNot,
    contributions,
    last_ranking,
    rank_table,
    ranking_stages,
    weights_of,
)
from memviz.viz.plotly_text import plotly_text

# One colour per score component, shared by every figure.
COMPONENT_COLORS: dict[str, str] = {
    "relevance": "#4c78a8",
    "lexical": "#f58518",
    "rrf": "#54a24b",
    "recency": "#b279a2",
    "importance": "#eeca3b",
    "retention": "#72b7b2",
    "entity": "#ff9da6",
    "graph": "#9d755d",
}
COMPONENT_LABELS: dict[str, str] = {
    "relevance": "relevance (cosine)",
    "lexical": "lexical (BM25)",
    "rrf": "rank fusion (RRF)",
    "recency": "recency",
    "importance": "importance",
    "retention": "retention",
    "entity": "entity boost",
    "graph": "link / graph bonus",
}
_SNIPPET = 48


def snippet(text: str, n: int = _SNIPPET) -> str:
    """``text`` cut to ``n`` characters with an ellipsis, as plotly label text (:func:`plotly_text`)."""
    t = " ".join(str(text).split())
    return plotly_text(t if len(t) <= n else t[: n - 1] + "…")


def hits_table(hits: Sequence[Hit], fmt_time=None) -> pd.DataFrame:
    """One row per hit: rank, score, speaker, date (``fmt_time(event_time_s)`` if given, else the POSIX
    seconds), session, source (its source id with its conversation: :attr:`Memory.label`), text and id (the
    memory's source before its text, which is long)."""
    rows = [
        {
            "rank": h.rank,
            "score": h.score,
            "speaker": h.memory.speaker,
            "date": fmt_time(h.memory.event_time_s) if fmt_time else h.memory.event_time_s,
            "session": h.memory.session_id,
            "source": h.memory.label,
            "text": h.memory.text,
            "id": h.memory.id,
        }
        for h in hits
    ]
    return pd.DataFrame(rows, columns=["rank", "score", "speaker", "date", "session", "source", "text", "id"])


def score_breakdown_figure(trace: Trace, memories: Mapping[str, Memory], stage: str = "final") -> go.Figure:
    """Stacked horizontal bars, one per candidate of ``stage`` (best on top): each weighted component's share
    w_c x_c / sum_w of the score (the segments add up to the score). Components with weight 0 are left out."""
    weights = weights_of(trace)
    cands = trace.stage(stage).candidates
    used = [c for c in COMPONENTS if weights[c] > 0]
    labels = [f"{c.rank}. {snippet(memories[c.id].text, 40) if c.id in memories else plotly_text(c.id)}" for c in cands]
    contrib = [contributions(c.scores, weights) for c in cands]
    fig = go.Figure()
    for comp in used:
        raw = [c.scores.get(comp, 0.0) for c in cands]
        fig.add_bar(
            y=labels,
            x=[ct[comp] for ct in contrib],
            orientation="h",
            name=COMPONENT_LABELS[comp],
            marker_color=COMPONENT_COLORS[comp],
            customdata=np.column_stack([raw, [weights[comp]] * len(cands)]),
            hovertemplate=f"{COMPONENT_LABELS[comp]}: %{{customdata[0]:.3f}} × weight %{{customdata[1]:.2f}}"
            " → %{x:.3f}<extra></extra>",
        )
    fig.update_layout(
        barmode="stack",
        height=max(220, 34 * len(cands) + 90),
        margin={"l": 10, "r": 10, "t": 30, "b": 10},
        xaxis_title="score (weighted mean of the components)",
        yaxis={"autorange": "reversed"},
        legend={"orientation": "h", "y": 1.02, "yanchor": "bottom", "x": 0},
        title=None,
    )
    return fig


def trace_table(trace: Trace, memories: Mapping[str, Memory]) -> pd.DataFrame:
    """:func:`memviz.tracing.rank_table` with each memory's speaker and text, stage columns named for people."""
    df = rank_table(trace).reset_index()
    df.insert(1, "speaker", [memories[i].speaker if i in memories else "" for i in df["id"]])
    df.insert(2, "text", [memories[i].text if i in memories else "" for i in df["id"]])
    return df.rename(columns={s: STAGE_LABELS[s] for s in STAGE_LABELS if s in df.columns})


def rank_flow_figure(
    trace: Trace, memories: Mapping[str, Memory], extra: int = 10, highlight: str | None = None
) -> go.Figure:
    """How candidates rise and fall between stages: x = the ranking stages, y = rank (1 on top), one line per
    memory among the final hits, the next ``extra`` of the ranking and ``highlight``; a memory absent from a
    stage has a gap there. Hits are solid, near misses dotted, the highlighted memory thick red; a dashed line
    marks the cut-off (rank k)."""
    stages = ranking_stages(trace)
    names = [STAGE_LABELS[s.name] for s in stages]
    ranked = last_ranking(trace).candidates
    hits = {c.id for c in trace.stage("final").candidates}
    shown = [c.id for c in ranked[: trace.k + extra]]
    if highlight and highlight not in shown:
        shown.append(highlight)
    ranks = {s.name: {c.id: c.rank for c in s.candidates} for s in stages}
    fig = go.Figure()
    for mid in shown:
        y = [ranks[s.name].get(mid) for s in stages]
        label = snippet(memories[mid].text, 60) if mid in memories else plotly_text(mid)
        is_hit, is_hl = mid in hits, mid == highlight
        fig.add_scatter(
            x=names,
            y=y,
            mode="lines+markers",
            connectgaps=False,
            name=label,
            showlegend=False,
            line={
                "width": 4 if is_hl else 2,
                "dash": "solid" if is_hit or is_hl else "dot",
                "color": "#d62728" if is_hl else None,
            },
            opacity=1.0 if is_hit or is_hl else 0.55,
            hovertemplate=f"{label}<br>%{{x}}: rank %{{y}}<extra></extra>",
        )
    fig.add_hline(
        y=trace.k + 0.5,
        line_dash="dash",
        line_color="#888",
        annotation_text=f"cut-off (k = {trace.k})",
        annotation_position="bottom right",
    )
    depth = max([r for s in stages for mid, r in ranks[s.name].items() if mid in shown] + [trace.k + 1])
    fig.update_layout(
        height=460,
        margin={"l": 10, "r": 10, "t": 20, "b": 10},
        yaxis={"title": "rank", "range": [depth + 1, 0]},
        xaxis={"title": None},
    )
    return fig


def why_not_figure(why: WhyNot, weights: Mapping[str, float]) -> go.Figure:
    """Per weighted component, how much of the gap to the cut-off it accounts for: w_c (x_cut - x) / sum_w.
    Bars to the right (red) held the memory back; bars to the left (green) worked in its favour."""
    comps = [c for c in COMPONENTS if weights.get(c, 0) > 0]
    gap = [why.gap.get(c, 0.0) for c in comps]
    fig = go.Figure(
        go.Bar(
            x=gap,
            y=[COMPONENT_LABELS[c] for c in comps],
            orientation="h",
            marker_color=["#d62728" if g > 0 else "#2ca02c" for g in gap],
            hovertemplate="%{y}: %{x:+.4f}<extra></extra>",
        )
    )
    fig.add_vline(x=0, line_color="#444")
    fig.update_layout(
        height=60 + 34 * len(comps),
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis_title=f"share of the gap to rank {why.k} (positive: held it back)",
        yaxis={"autorange": "reversed"},
    )
    return fig


def compare_figure(
    diff: TraceDiff, memories: Mapping[str, Memory], k: int, name_a: str = "A", name_b: str = "B"
) -> go.Figure:
    """A slope chart of the two top-k: each memory's rank in the full ranking of ``a`` (left) and ``b``
    (right); green entered, red left, blue moved or stayed. A dashed line marks the cut-off."""
    colors = {"entered": "#2ca02c", "left": "#d62728", "up": "#1f77b4", "down": "#1f77b4", "same": "#7f7f7f"}
    fig = go.Figure()
    for row in diff.table.itertuples(index=False):
        ra = None if pd.isna(row.full_rank_a) else int(row.full_rank_a)
        rb = None if pd.isna(row.full_rank_b) else int(row.full_rank_b)
        label = snippet(memories[row.id].text, 60) if row.id in memories else plotly_text(row.id)
        fig.add_scatter(
            x=[name_a, name_b],
            y=[ra, rb],
            mode="lines+markers+text",
            showlegend=False,
            cliponaxis=False,
            line={"color": colors[row.status], "width": 2},
            text=["", label if rb is not None else ""],
            textposition="middle right",
            hovertemplate=f"{label}<br>{row.status}<br>%{{x}}: rank %{{y}}<extra></extra>",
        )
    depth = max([int(v) for v in pd.concat([diff.table["full_rank_a"], diff.table["full_rank_b"]]).dropna()] + [k + 1])
    fig.add_hline(y=k + 0.5, line_dash="dash", line_color="#888")
    fig.update_layout(
        height=max(320, 26 * len(diff.table) + 80),
        margin={"l": 10, "r": 260, "t": 10, "b": 10},
        yaxis={"title": "rank in the full ranking", "range": [depth + 1, 0]},
        xaxis={"range": [-0.2, 1.2]},
    )
    return fig


# -- tables and texts of the Recall page (moved out of the page) ---------------------------------------------
_SUMMARY_SKIP = ("gated", "keyword_df", "ranges", "added", "seeds", "weights")  # stage info too long for a cell


def preset_name(trace: Trace) -> str:
    """The preset whose formula ``trace`` used, or ``"custom"``; ``"imported (<provider>)"`` for another
    engine's search read from OpenTelemetry spans (:mod:`memviz.otel`), whose formula memviz does not know."""
    if isinstance(imported := trace.config.get("imported"), dict):
        return f"imported ({imported.get('provider') or 'OTLP'})"
    return preset_of(trace.config) or "custom"


def trace_label(trace: Trace, fmt_time=str) -> str:
    """A one-line label of a past trace: ``time · preset · k=… · query`` (the query cut to 60 characters)."""
    return f"{fmt_time(trace.time_s)} · {preset_name(trace)} · k={trace.k} · {trace.query[:60]}"


def trace_memory_ids(trace: Trace) -> list[str]:
    """Every memory id of any stage of ``trace``, in order of first appearance."""
    return list(dict.fromkeys(c.id for s in trace.stages for c in s.candidates))


def final_hits(trace: Trace, memories: Mapping[str, Memory]) -> list[Hit]:
    """The hits of the final stage as :class:`Hit` objects (a memory no longer stored is left out)."""
    return [
        Hit(memories[c.id], c.scores["score"], c.scores, c.rank)
        for c in trace.stage("final").candidates
        if c.id in memories
    ]


def gated_out(trace: Trace) -> dict[str, dict]:
    """The candidates gated out before scoring, over every stage: ``{id: {"component", "value", "threshold"}}``."""
    return {i: g for s in trace.stages for i, g in s.info.get("gated", {}).items()}


def no_hits_message(trace: Trace) -> str:
    """What to say when a recall returned nothing (and how many candidates a gate removed)."""
    n = sum(len(s.info.get("gated", {})) for s in trace.stages)
    return "No memory was retrieved." + (f" {n} candidate(s) were gated out: see the trace." if n else "")


def gated_caption(trace: Trace, n: int = 3) -> str | None:
    """A caption naming up to ``n`` gated-out candidates and why, or None when no gate removed any."""
    gated = gated_out(trace)
    if not gated:
        return None
    return f"{len(gated)} candidate(s) gated out before scoring, e.g. " + ", ".join(
        f"{i} ({g['component']} {g['value']:.2f} < {g['threshold']:.2f})" for i, g in list(gated.items())[:n]
    )


def stage_summary(trace: Trace) -> pd.DataFrame:
    """One row per stage: ``stage`` (its label), ``candidates``, ``ms`` and ``details`` (its short info)."""
    return pd.DataFrame(
        [
            {
                "stage": STAGE_LABELS.get(s.name, s.name),
                "candidates": len(s.candidates),
                "ms": round(s.duration_ms, 1),
                "details": ", ".join(f"{k}={v}" for k, v in s.info.items() if k not in _SUMMARY_SKIP),
            }
            for s in trace.stages
        ],
        columns=["stage", "candidates", "ms", "details"],
    )


def with_text(table: pd.DataFrame, memories: Mapping[str, Memory], at: int = 1) -> pd.DataFrame:
    """A copy of ``table`` (with an ``id`` column) with each memory's ``text`` inserted at column ``at``
    (empty for a memory not in ``memories``)."""
    out = table.copy()
    out.insert(at, "text", [memories[i].text if i in memories else "" for i in out["id"]])
    return out


def near_misses_table(misses: pd.DataFrame, memories: Mapping[str, Memory]) -> pd.DataFrame:
    """:func:`memviz.tracing.near_misses` for display: rank, id, text, score, margin, deciding."""
    return with_text(misses[["rank", "id", "score", "margin", "deciding"]], memories, at=2)


def final_table(trace: Trace, memories: Mapping[str, Memory]) -> pd.DataFrame:
    """The final hits as ``rank``, ``score`` (3 decimals), ``text`` (the id when the memory is gone)."""
    return pd.DataFrame(
        [
            {
                "rank": c.rank,
                "score": round(c.scores["score"], 3),
                "text": memories[c.id].text if c.id in memories else c.id,
            }
            for c in trace.stage("final").candidates
        ],
        columns=["rank", "score", "text"],
    )


def why_not_options(
    misses: pd.DataFrame, memories: Mapping[str, Memory], found: pd.DataFrame | None = None
) -> dict[str, str]:
    """The why-not picker's ``{id: label}``: the memories ``found`` by a search (``id``, ``speaker``, ``text``)
    first, then the near misses (``id``, ``rank``) labelled ``near miss #rank: text``."""
    options = {
        r.id: f"near miss #{r.rank}: {memories[r.id].text[:70] if r.id in memories else r.id}"
        for r in misses.itertuples(index=False)
    }
    if found is not None:
        options = {r.id: f"{r.id}: {r.speaker}: {r.text[:70]}" for r in found.itertuples(index=False)} | options
    return options


def search_index(index: pd.DataFrame, search: str, limit: int = 200) -> pd.DataFrame:
    """The first ``limit`` rows of ``index`` (``id``, ``speaker``, ``text``) whose text or id contains
    ``search`` (case-insensitive, literal; blank: none)."""
    s = search.strip()
    if not s:
        return index.head(0)
    hit = index["text"].str.contains(s, case=False, regex=False, na=False) | index["id"].str.contains(
        s, case=False, regex=False, na=False
    )
    return index[hit].head(limit)


def why_metrics(why: WhyNot) -> list[tuple[str, str, str | None]]:
    """The why-not headline as ``(label, value, help)``: rank, score, margin to the cut-off, what kept it out."""
    return [
        (
            "Rank in the ranking",
            str(why.rank) if why.rank else "not scored",
            "The complete ranking after scoring (and graph expansion)",
        ),
        ("Score", f"{why.score:.3f}" if why.score is not None else "–", None),
        ("Margin to the cut-off", f"{why.margin:+.3f}" if why.margin is not None else "–", None),
        ("Kept out by", why.deciding or ("gate" if why.gated else "–"), None),
    ]


def diff_metrics(diff: TraceDiff, k: int) -> list[tuple[str, str]]:
    """The headline of a trace comparison as ``(label, value)``: overlap of the top ``k``, Jaccard, entered, left."""
    return [
        ("Overlap of the top k", f"{diff.overlap} / {k}"),
        ("Jaccard", f"{diff.jaccard:.2f}"),
        ("Entered", str(len(diff.entered))),
        ("Left", str(len(diff.left))),
    ]


def why_stages_table(why: WhyNot) -> pd.DataFrame:
    """Where the memory stood at each ranking stage: ``stage``, ``rank``, ``of`` and its scores (4 decimals)."""
    return pd.DataFrame(
        [
            {
                "stage": STAGE_LABELS[s["stage"]],
                "rank": s["rank"],
                "of": s["of"],
                **{k: round(v, 4) for k, v in s["scores"].items()},
            }
            for s in why.stages
        ]
    )


def trace_heading(trace: Trace, fmt_time=str) -> str:
    """The line above a shown trace, after its query (the page shows the query as text, escaped): preset, k,
    clock time and duration. Plain text."""
    return f"{preset_name(trace)} · k={trace.k} · as of {fmt_time(trace.time_s)} UTC · {trace.total_ms:.0f} ms"


__all__ = [
    "COMPONENT_COLORS",
    "COMPONENT_LABELS",
    "compare_figure",
    "diff_metrics",
    "final_hits",
    "final_table",
    "gated_caption",
    "gated_out",
    "hits_table",
    "near_misses_table",
    "no_hits_message",
    "preset_name",
    "rank_flow_figure",
    "score_breakdown_figure",
    "search_index",
    "snippet",
    "stage_summary",
    "trace_heading",
    "trace_label",
    "trace_memory_ids",
    "trace_table",
    "why_metrics",
    "why_not_figure",
    "why_not_options",
    "why_stages_table",
    "with_text",
]
