"""Tables and figures of the Evaluate page: metrics per preset and category, metric-by-k curves, and one
question's gold evidence against what was retrieved. Pure functions of evaluation results (the dicts that
:func:`memviz.evaluate.locomo.run_locomo` and :func:`memviz.evaluate.longmemeval.run_longmemeval` return).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable, Mapping, Sequence
from typing import Any

import pandas as pd
import plotly.graph_objects as go

from memviz.models import Memory, Trace
from memviz.tracing import last_ranking
from memviz.viz.plotly_text import plotly_text

# "recall@10", "ndcg_any@5", "recall@10_audited" (against the audited gold): a family, a cut-off, a variant
_METRIC = re.compile(r"(?P<name>[a-z_]+)@(?P<k>\d+)(?P<variant>_[a-z]+)?")


def metric_k(metric: str) -> int | None:
    """The cut-off of a metric name (``"recall@10"`` -> 10, ``"ndcg_any@5"`` -> 5, ``"recall@10_audited"`` ->
    10); None when it names none."""
    m = _METRIC.fullmatch(metric)
    return int(m["k"]) if m else None


def result_label(result: Mapping[str, Any]) -> str:
    """A short name of a run: benchmark, granularity (LongMemEval), preset and the number of questions."""
    gran = f" ({result['granularity']})" if result.get("granularity") else ""
    return f"{result['benchmark']}{gran} · {result['preset']} · {result['counts']['evaluated']} q"


def metrics_table(results: Sequence[Mapping[str, Any]]) -> pd.DataFrame:
    """One row per run and category (``overall`` first, then each category, adversarial included), one column
    per metric; columns ``run``, ``category``, ``n`` lead."""
    rows = []
    for r in results:
        label = result_label(r)
        rows.append({"run": label, "category": "overall", "n": r["counts"]["evaluated"]} | dict(r["overall"]))
        for cat, row in r["by_category"].items():
            name = row.get("name", cat)
            cat_label = f"{cat} {name}" if name != cat else cat
            rows.append(
                {"run": label, "category": cat_label, "n": row["n"]}
                | {k: v for k, v in row.items() if k not in ("name", "n")}
            )
    return pd.DataFrame(rows)


def metric_curve_figure(results: Sequence[Mapping[str, Any]]) -> go.Figure:
    """The overall metrics against k: one line per run and metric family (recall@k and, with an audit,
    recall@k_audited; or recall_any, recall_all and ndcg_any for LongMemEval), y in [0, 1]."""
    fig = go.Figure()
    dashes = {
        "recall": "solid",
        "recall_audited": "dashdot",
        "recall_any": "solid",
        "recall_all": "dot",
        "ndcg_any": "dash",
    }
    for r in results:
        families: dict[str, list[tuple[int, float]]] = {}
        for key, value in r["overall"].items():
            m = _METRIC.fullmatch(key)
            if m:
                families.setdefault(m["name"] + (m["variant"] or ""), []).append((int(m["k"]), value))
        for fam, points in families.items():
            points.sort()
            fig.add_scatter(
                x=[p[0] for p in points],
                y=[p[1] for p in points],
                mode="lines+markers",
                name=plotly_text(f"{result_label(r)} · {fam}"),
                line={"dash": dashes.get(fam, "solid")},
                hovertemplate=f"{plotly_text(fam)}@%{{x}} = %{{y:.3f}}<extra>{plotly_text(result_label(r))}</extra>",
            )
    ks = sorted({int(m["k"]) for r in results for key in r["overall"] if (m := _METRIC.fullmatch(key))})
    fig.update_layout(
        height=380,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        xaxis={"title": "k", "type": "log", "tickvals": ks, "ticktext": [str(k) for k in ks]},
        yaxis={"title": "value", "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.2},
    )
    return fig


def category_figure(results: Sequence[Mapping[str, Any]], metric: str) -> go.Figure:
    """Grouped bars: ``metric`` per category (and overall), one bar group per run."""
    fig = go.Figure()
    for r in results:
        cats = ["overall"] + [
            f"{c} {row.get('name', c)}" if row.get("name", c) != c else c for c, row in r["by_category"].items()
        ]
        values = [r["overall"].get(metric)] + [row.get(metric) for row in r["by_category"].values()]
        fig.add_bar(
            x=[plotly_text(c) for c in cats],
            y=values,
            name=plotly_text(result_label(r)),
            hovertemplate=f"%{{x}}: {plotly_text(metric)} = %{{y:.3f}}<extra>{plotly_text(result_label(r))}</extra>",
        )
    return _metric_bars_layout(fig, metric)


def _metric_bars_layout(fig: go.Figure, metric: str) -> go.Figure:
    """The layout of the per-category metric bar charts: grouped bars of ``metric`` in [0, 1], legend below."""
    fig.update_layout(
        barmode="group",
        height=360,
        margin={"l": 10, "r": 10, "t": 10, "b": 10},
        yaxis={"title": plotly_text(metric), "range": [0, 1.02]},
        legend={"orientation": "h", "y": -0.25},
    )
    return fig


def questions_frame(result: Mapping[str, Any], metric: str) -> pd.DataFrame:
    """One row per question: ``id``, ``category``, ``status``, ``audit`` (the audit's error type, "" when it does
    not flag the question; only for an audited run), ``question``, ``gold`` (number of gold items),
    ``best_rank`` (rank of the best-ranked gold item, <NA> if none was retrieved) and ``metric``'s value; when
    the evaluation recalled without decay too, ``<metric> without decay`` and ``suppressed by decay`` (the gold
    items decay pushed out of the metric's top k)."""
    rows = []
    for q in result["questions"]:
        ranks = [r for r in (q.get("gold_ranks") or {}).values() if r is not None]
        rows.append(
            {
                "id": q["id"],
                "category": q.get("category_name", q["category"]),
                "status": q["status"],
                "question": q["question"],
                "gold": len(q.get("evidence", [])),
                "best_rank": min(ranks) if ranks else None,
                metric: (q.get("metrics") or {}).get(metric),
            }
        )
    df = pd.DataFrame(rows, columns=["id", "category", "status", "question", "gold", "best_rank", metric])
    df["best_rank"] = df["best_rank"].astype("Int64")
    if "audit" in result:  # the audit's error type of each question it flags ("" for the others)
        df.insert(3, AUDIT, [(q.get("audit") or {}).get("error_type", "") for q in result["questions"]])
    if has_no_decay(result):
        k = metric_k(metric)
        df[f"{metric} without decay"] = [(q.get("metrics_no_decay") or {}).get(metric) for q in result["questions"]]
        df[SUPPRESSED] = pd.array(
            [len(suppressed_by_decay(q, k)) if q["status"] == "evaluated" else None for q in result["questions"]],
            dtype="Int64",
        )
    return df


SUPPRESSED = "suppressed by decay"
AUDIT = "audit"


def has_no_decay(result: Mapping[str, Any]) -> bool:
    """Whether the evaluation also recalled its questions without decay (``metrics_no_decay`` per question)."""
    return any("metrics_no_decay" in q for q in result.get("questions", []))


def suppressed_by_decay(question: Mapping[str, Any], k: int | None) -> list[str]:
    """The question's gold ids that decay pushed out of the top ``k``: in the top k without decay, not with it
    (from ``gold_ranks`` and ``gold_ranks_no_decay``; none for a question recalled only with decay)."""
    if k is None:
        return []
    ranks, ranks0 = question.get("gold_ranks") or {}, question.get("gold_ranks_no_decay") or {}
    return [
        g
        for g in question.get("evidence", [])
        if ranks0.get(g) is not None and ranks0[g] <= k and (ranks.get(g) is None or ranks[g] > k)
    ]


def suppressed_frame(result: Mapping[str, Any], metric: str, memories: Mapping[str, Memory] | None = None):
    """One row per gold item decay pushed out of the top k of ``metric``: ``question id``, ``category``,
    ``question``, ``gold``, ``rank with decay`` (<NA>: not retrieved), ``rank without decay``, ``speaker`` and
    ``text`` (from ``memories`` when given)."""
    k, mems = metric_k(metric), memories or {}
    rows = [
        {
            "question id": q["id"],
            "category": q.get("category_name", q["category"]),
            "question": q["question"],
            "gold": g,
            "rank with decay": (q.get("gold_ranks") or {}).get(g),
            "rank without decay": (q.get("gold_ranks_no_decay") or {}).get(g),
            "speaker": mems[g].speaker if g in mems else "",
            "text": mems[g].text if g in mems else "",
        }
        for q in result.get("questions", [])
        if q["status"] == "evaluated"
        for g in suppressed_by_decay(q, k)
    ]
    cols = ["question id", "category", "question", "gold", "rank with decay", "rank without decay", "speaker", "text"]
    df = pd.DataFrame(rows, columns=cols)
    for c in ("rank with decay", "rank without decay"):
        df[c] = df[c].astype("Int64")
    return df


def decay_category_figure(results: Sequence[Mapping[str, Any]], metric: str) -> go.Figure:
    """Grouped bars per category (and overall): ``metric`` with decay and without, for each run that has both
    (``overall_no_decay`` / ``by_category_no_decay``); the without-decay bars hatched."""
    fig = go.Figure()
    for r in results:
        if "by_category_no_decay" not in r:
            continue
        cats = ["overall"] + [
            f"{c} {row.get('name', c)}" if row.get("name", c) != c else c for c, row in r["by_category"].items()
        ]
        nd = r["by_category_no_decay"]
        for label, overall, by_cat, pattern in (
            ("with decay", r["overall"], r["by_category"], ""),
            ("without decay", r.get("overall_no_decay", {}), nd, "/"),
        ):
            name = plotly_text(f"{result_label(r)} · {label}")
            fig.add_bar(
                x=[plotly_text(c) for c in cats],
                y=[overall.get(metric)] + [(by_cat.get(c) or {}).get(metric) for c in r["by_category"]],
                name=name,
                marker={"pattern": {"shape": pattern}},
                hovertemplate=f"%{{x}}: {plotly_text(metric)} = %{{y:.3f}}<extra>{name}</extra>",
            )
    return _metric_bars_layout(fig, metric)


def gold_table(
    question: Mapping[str, Any], memories: Mapping[str, Memory], session_texts: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The question's gold items: ``gold`` id, ``rank`` where it was retrieved (<NA>: not in the retrieved
    list), ``rank without decay`` (when the evaluation recalled without decay too), ``speaker`` and ``text``
    (for a session: ``session_texts`` gives a preview)."""
    ranks, ranks0 = question.get("gold_ranks") or {}, question.get("gold_ranks_no_decay")
    rows = []
    for g in question.get("evidence", []):
        m = memories.get(g)
        rows.append(
            {
                "gold": g,
                "rank": ranks.get(g),
                "rank without decay": (ranks0 or {}).get(g),
                "speaker": m.speaker if m else "",
                "text": m.text if m else (session_texts or {}).get(g, ""),
            }
        )
    df = pd.DataFrame(rows, columns=["gold", "rank", "rank without decay", "speaker", "text"])
    for c in ("rank", "rank without decay"):
        df[c] = df[c].astype("Int64")
    return df if ranks0 is not None else df.drop(columns="rank without decay")


def retrieved_table(
    question: Mapping[str, Any], memories: Mapping[str, Memory], k: int, session_texts: Mapping[str, str] | None = None
) -> pd.DataFrame:
    """The top ``k`` retrieved items: ``rank``, ``gold`` (is it gold evidence), ``audited gold`` (only when the
    audit changes the question's evidence), ``id``, ``speaker``, ``text``."""
    gold = set(question.get("evidence", []))
    audited = set(question["evidence_audited"]) if "gold_ranks_audited" in question else None
    rows = []
    for rank, i in enumerate((question.get("retrieved") or [])[:k], 1):
        m = memories.get(i)
        rows.append(
            {
                "rank": rank,
                "gold": i in gold,
                "audited gold": audited is not None and i in audited,
                "id": i,
                "speaker": m.speaker if m else "",
                "text": m.text if m else (session_texts or {}).get(i, ""),
            }
        )
    df = pd.DataFrame(rows, columns=["rank", "gold", "audited gold", "id", "speaker", "text"])
    return df if audited is not None else df.drop(columns="audited gold")


# -- added for the thin Evaluate page ---------------------------------------------------------------------
RESULT_KEYS = frozenset({"overall", "by_category", "questions", "benchmark"})
QUESTION_FILTERS = ("misses first", "all", "evaluated only", "suppressed by decay", "audited")
PREVIEW_COLUMNS = ("session_id", "source_id", "speaker", "text")  # what session_previews reads


def check_result(result: Any) -> dict[str, Any]:
    """``result`` if it is a memviz evaluation result (a dict with :data:`RESULT_KEYS`), else ValueError."""
    if not isinstance(result, dict) or not RESULT_KEYS <= set(result):
        raise ValueError("not a memviz evaluation result (expected the JSON of `memviz eval ... --json`)")
    return result


def parse_result(raw: str) -> dict[str, Any]:
    """An evaluation result from its JSON text (``memviz eval ... --json``). Raises ValueError."""
    return check_result(json.loads(raw))


def default_metric(metrics: Sequence[str], preferred: Sequence[str] = ("recall@10", "recall_any@10")) -> int:
    """The index in ``metrics`` of the first ``preferred`` metric present, else 0."""
    return next((metrics.index(m) for m in preferred if m in metrics), 0)


def filter_questions(frame: pd.DataFrame, show: str, metric: str) -> pd.DataFrame:
    """The questions listed (a :func:`questions_frame`): ``"all"``, ``"evaluated only"``, or ``"misses
    first"`` (evaluated ones, lowest ``metric`` first, ties in file order), ``"suppressed by decay"`` (those
    with gold items decay pushed out of the top k), ``"audited"`` (those the audit flags)."""
    if show == "suppressed by decay":  # the questions whose gold decay pushed out of the top k
        return frame[frame[SUPPRESSED].fillna(0) > 0] if SUPPRESSED in frame else frame.iloc[0:0]
    if show == "audited":
        return frame[frame[AUDIT] != ""] if AUDIT in frame else frame.iloc[0:0]
    if show != "all":
        frame = frame[frame["status"] == "evaluated"]
    if show == "misses first":
        frame = frame.sort_values(metric, kind="stable")
    return frame


def session_previews(turns: pd.DataFrame, n_turns: int = 3, max_chars: int = 90) -> dict[str, str]:
    """A preview of each session of ``turns`` (``session_id``, ``source_id``, ``speaker``, ``text``): its first
    ``n_turns`` turns by source id, as ``speaker: text`` (each text cut to ``max_chars``) joined by `` / ``."""
    if turns.empty:
        return {}
    df = turns.sort_values("source_id", kind="stable")
    return {
        s: " / ".join(f"{r.speaker}: {r.text[:max_chars]}" for r in g.head(n_turns).itertuples())
        for s, g in df.groupby("session_id")
    }


def question_trace(question: Mapping[str, Any], find: Callable[[str, str], Trace | None]) -> Trace | None:
    """A question's recall trace: kept in the result (``trace``), else looked up by ``trace_id`` in its store
    with ``find(store, trace_id)`` (e.g. :func:`memviz.evaluate.common.find_trace`); None when neither."""
    if "trace" in question:
        return Trace.from_dict(question["trace"])
    return find(question["store"], question["trace_id"]) if question.get("trace_id") else None


def trace_memory_ids(trace: Trace, limit: int = 400) -> list[str]:
    """The ids of a trace's candidates, every stage, first seen first, at most ``limit``."""
    return list(dict.fromkeys(c.id for s in trace.stages for c in s.candidates))[:limit]


def by_final_rank(trace: Trace, ids: Sequence[str]) -> list[str]:
    """``ids`` ordered by their rank in the trace's complete ranking (see :func:`memviz.tracing.last_ranking`);
    ids it did not rank last, in the order given."""
    ranking = {c.id: c.rank for c in last_ranking(trace).candidates}
    return sorted(ids, key=lambda i: ranking.get(i, 10**9))


def run_labels(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """``"1. <result label>"``, ``"2. ..."``: the runs in a picker."""
    return [f"{n}. {result_label(r)}" for n, r in enumerate(results, 1)]


def metric_names(results: Sequence[Mapping[str, Any]]) -> list[str]:
    """Every overall metric of ``results``, first seen first."""
    return list(dict.fromkeys(m for r in results for m in r["overall"]))


def question_header(question: Mapping[str, Any]) -> list[str]:
    """The captions under a question: its category, answer and status, then its malformed gold ids if any."""
    q = question
    lines = [f"category {q.get('category_name', q['category'])} · answer: {q.get('answer', '')} · status {q['status']}"]
    if q.get("malformed_evidence"):
        lines.append(f"malformed evidence ids (dropped): {', '.join(q['malformed_evidence'])}")
    return lines


__all__ = [
    "AUDIT",
    "PREVIEW_COLUMNS",
    "QUESTION_FILTERS",
    "RESULT_KEYS",
    "by_final_rank",
    "SUPPRESSED",
    "category_figure",
    "decay_category_figure",
    "check_result",
    "default_metric",
    "filter_questions",
    "gold_table",
    "has_no_decay",
    "metric_curve_figure",
    "metric_names",
    "metrics_table",
    "parse_result",
    "question_header",
    "question_trace",
    "questions_frame",
    "result_label",
    "retrieved_table",
    "run_labels",
    "session_previews",
    "suppressed_by_decay",
    "suppressed_frame",
    "trace_memory_ids",
]
