"""Reading recall traces: ranks across stages, "why was it not retrieved?", near misses, and trace comparison.

Pure functions over :class:`~memviz.models.Trace` objects (as :meth:`MemoryEngine.recall` returns them or
:meth:`MemoryEngine.traces` replays them). The one thing a trace cannot tell, the scores of a memory that no
retriever returned, comes from :meth:`MemoryEngine.explain` and is passed in as ``explained``.

Terms: the *ranking* is the last scored stage (``graph`` when the trace has one, else ``scoring``); the
*cut-off* is its k-th score; a memory's *contribution* of component c is w_c x_c / sum_w, so the contributions
add up to the score and the gap to the cut-off splits into per-component parts.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pandas as pd

from memviz.models import Trace, TraceStage
from memviz.scoring import COMPONENTS

# Stages that rank candidates, in pipeline order, and how to name them for people.
RANKING_STAGES: tuple[str, ...] = ("vector", "fulltext", "fusion", "scoring", "graph", "rerank", "final")
STAGE_LABELS: dict[str, str] = {
    "vector": "vector search",
    "fulltext": "full-text (BM25)",
    "fusion": "after fusion",
    "scoring": "after scoring",
    "graph": "after graph expansion",
    "rerank": "after reranking",
    "final": "final",
}


def ranking_stages(trace: Trace) -> list[TraceStage]:
    """The stages of ``trace`` that rank candidates (all but ``embed``), in pipeline order."""
    return [s for s in trace.stages if s.name in RANKING_STAGES]


def last_ranking(trace: Trace) -> TraceStage:
    """The complete ranking the cut-off is applied to: the ``rerank`` stage if present, else ``graph``, else
    ``scoring``. Raises KeyError if the trace has none of them."""
    names = {s.name: s for s in trace.stages}
    return next((names[n] for n in ("rerank", "graph") if n in names), None) or names["scoring"]


def weights_of(trace: Trace) -> dict[str, float]:
    """The trace's component weights, every component present (0 when the trace predates it)."""
    w = trace.config.get("weights", {})
    return {c: float(w.get(c, 0.0)) for c in COMPONENTS}


def contributions(scores: Mapping[str, float], weights: Mapping[str, float]) -> dict[str, float]:
    """Each component's share of the score: w_c x_c / sum_w (they add up to the weighted-mean score)."""
    total = sum(weights.values()) or 1.0
    return {c: weights.get(c, 0.0) * float(scores.get(c, 0.0)) / total for c in COMPONENTS}


def rank_table(trace: Trace) -> pd.DataFrame:
    """One row per candidate of any stage, one column of ranks (nullable Int64, 1 = best) per ranking stage
    present, plus ``score`` (the ranking's score, NaN for memories that never got one) and ``hit`` (in the
    final top-k). Rows are ordered by final rank, then by rank in the later stages."""
    stages = ranking_stages(trace)
    cols = {s.name: pd.Series({c.id: c.rank for c in s.candidates}, dtype="Int64") for s in stages}
    df = pd.DataFrame(cols)
    if df.empty:
        return pd.DataFrame(columns=[s.name for s in stages] + ["score", "hit"])
    ranked = last_ranking(trace)
    df["score"] = pd.Series({c.id: c.scores.get("score", np.nan) for c in ranked.candidates}, dtype="float64")
    df["hit"] = df["final"].notna() if "final" in df else False
    order = [s.name for s in reversed(stages)]
    df = df.sort_values(order, na_position="last", kind="stable")
    df.index.name = "id"
    return df


@dataclass
class WhyNot:
    """Why a memory was (not) retrieved by one recall.

    - ``stages``: per ranking stage ``{"stage", "rank" (None if absent), "of" (candidates there), "scores"}``.
    - ``rank``: its rank in the ranking (None if it was never scored); ``score`` its score there (or the
      score :meth:`MemoryEngine.explain` computed for it); ``would_rank``: where that score would have put it.
    - ``cutoff_score``: the k-th score; ``margin`` = score - cut-off (< 0: below the cut).
    - ``gap``: per component, how much of the margin it accounts for (w_c (x_cut - x) / sum_w; positive =
      the component held it back); ``deciding``: the component with the largest positive gap.
    - ``gated``: the gate that left it out ({"component", "value", "threshold"}) or None.
    - ``missed``: the retriever cut-offs it missed, as sentences; ``reasons``: the whole answer, as sentences.
    """

    memory_id: str
    retrieved: bool
    k: int
    rank: int | None
    score: float | None
    would_rank: int | None
    cutoff_score: float | None
    margin: float | None
    gap: dict[str, float]
    deciding: str | None
    gated: dict[str, Any] | None
    stages: list[dict[str, Any]]
    missed: list[str] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)


def why_not(trace: Trace, memory_id: str, explained: Mapping[str, Any] | None = None, k: int | None = None) -> WhyNot:
    """Explain where ``memory_id`` stood at every stage of ``trace`` and what kept it out of the top ``k``.

    ``k``: the cut-off being explained, e.g. the 10 of a recall@10 over a trace recorded with k=50 (default: the
    trace's own k; at most it, since the trace ranks no further). Every rank label and the verdict use it, so
    that a memory at rank 23 is "left out" of a recall@10 (the metric's 0), not "retrieved".

    ``explained`` is :meth:`MemoryEngine.explain`'s entry for this memory; it is needed (and used) only for a
    memory that no stage scored: it supplies its cosine, BM25 and would-be components. Without it such a
    memory only gets its (empty) stage ranks and "the vector / full-text search did not return it"."""
    weights = weights_of(trace)
    ranked = last_ranking(trace)
    by_stage = {s.name: {c.id: c for c in s.candidates} for s in ranking_stages(trace)}
    stages: list[dict[str, Any]] = []
    for s in ranking_stages(trace):
        here = by_stage[s.name].get(memory_id)
        stages.append(
            {
                "stage": s.name,
                "rank": here.rank if here else None,
                "of": len(s.candidates),
                "scores": dict(here.scores) if here else {},
            }
        )
    k = cutoff_k(trace, k)
    mine_final = by_stage.get("final", {}).get(memory_id)
    retrieved = mine_final is not None and mine_final.rank <= k
    scores = [c.scores["score"] for c in ranked.candidates]
    cutoff = scores[k - 1] if len(scores) >= k else (scores[-1] if scores else None)
    mine = by_stage[ranked.name].get(memory_id)
    comps = dict(mine.scores) if mine else dict((explained or {}).get("components", {}))
    score = mine.scores["score"] if mine else (explained or {}).get("score")
    gated = _gated(trace, memory_id) or (explained or {}).get("gated")
    reasons: list[str] = []
    missed: list[str] = []

    if retrieved:
        # The final stage is the top k of the last ranking, so a retrieved memory was scored there.
        assert mine is not None and score is not None
        nxt = scores[k] if len(scores) > k else None
        margin = score - nxt if nxt is not None else None
        reasons.append(
            f"Retrieved at rank {mine.rank} of {k}"
            + (f", {margin:.3f} above the first memory left out (score {nxt:.3f})." if margin is not None else ".")
        )
        gap = {c: 0.0 for c in COMPONENTS}
        return WhyNot(
            memory_id, True, k, mine.rank, score, mine.rank, cutoff, margin, gap, None, None, stages, [], reasons
        )

    if gated:
        reasons.append(
            f"Gated out before scoring: its {gated['component']} {gated['value']:.3f} is below the "
            f"threshold {gated['threshold']:.3f}."
        )
    elif not mine:
        missed = _missed_retrievers(trace, memory_id, by_stage, explained)
        reasons += missed
    would_rank = None
    if score is not None:
        would_rank = mine.rank if mine else 1 + int(np.sum(np.asarray(scores) > score))
    margin = score - cutoff if score is not None and cutoff is not None else None
    gap, deciding = {c: 0.0 for c in COMPONENTS}, None
    if comps and cutoff is not None and len(ranked.candidates) >= 1:
        ref = ranked.candidates[min(k, len(ranked.candidates)) - 1].scores
        mine_c, ref_c = contributions(comps, weights), contributions(ref, weights)
        gap = {c: ref_c[c] - mine_c[c] for c in COMPONENTS}
        positive = {c: g for c, g in gap.items() if g > 0 and weights[c] > 0}
        deciding = max(positive, key=positive.__getitem__) if positive else None
    if mine:
        assert margin is not None  # it was scored in a non-empty ranking, so score and cutoff are known
        reasons.append(
            f"Ranked {mine.rank} of {len(ranked.candidates)} {STAGE_LABELS[ranked.name]}, "
            f"{-margin:.3f} below the cut-off (rank {k}, score {cutoff:.3f})."
        )
    elif score is not None and would_rank is not None and not gated and cutoff is not None:
        verdict = "would have made the top k" if would_rank <= k else "would still have been left out"
        reasons.append(
            f"Had it been scored, its score {score:.3f} would rank about {would_rank}: it "
            f"{verdict} (cut-off {cutoff:.3f})."
        )
    if deciding and margin is not None and margin < 0:
        reasons.append(
            f"The component that kept it out: {deciding}, which alone puts it {gap[deciding]:.3f} "
            f"behind rank {k} (the whole gap, all components together, is {-margin:.3f})."
        )
    return WhyNot(
        memory_id,
        False,
        k,
        mine.rank if mine else None,
        score,
        would_rank,
        cutoff,
        margin,
        gap,
        deciding,
        gated,
        stages,
        missed,
        reasons,
    )


def _gated(trace: Trace, memory_id: str) -> dict[str, Any] | None:
    for s in trace.stages:
        if s.name in ("scoring", "graph") and memory_id in s.info.get("gated", {}):
            return s.info["gated"][memory_id]
    return None


def _missed_retrievers(trace: Trace, memory_id: str, by_stage, explained) -> list[str]:
    """Sentences on each retriever that did not bring ``memory_id`` into the pool."""
    out: list[str] = []
    retrievers = trace.config.get("retrievers", ["vector", "fulltext"])
    pooled = retrievers if trace.config.get("fusion", True) else retrievers[:1]
    if explained and explained.get("existed") is False:
        return ["It did not exist yet at the recall's time (it was written later), so no retriever searched it."]
    if explained and explained.get("forgotten") and not trace.config.get("include_forgotten"):
        return ["It is soft-forgotten, so no retriever searched it (include forgotten memories to see it)."]
    for name in ("vector", "fulltext"):
        stage = next((s for s in trace.stages if s.name == name), None)
        if stage is None:
            continue
        cand = by_stage.get(name, {}).get(memory_id)
        if cand is not None:
            if name not in pooled:
                out.append(
                    f"The {STAGE_LABELS[name]} returned it at rank {cand.rank}, but this configuration "
                    f"pools only the {' and '.join(pooled)} candidates."
                )
            continue
        limit = stage.info.get("limit", len(stage.candidates))
        last = stage.candidates[-1].scores if stage.candidates else {}
        if name == "vector":
            cos = (explained or {}).get("cosine")
            if cos is None:
                out.append("The vector search did not return it.")
            else:
                cut = last.get("relevance")
                out.append(
                    f"The vector search returned the {limit} nearest memories; its cosine similarity "
                    f"{cos:.3f} is below the last of them ({cut:.3f})."
                    if cut is not None
                    else f"The vector search did not return it (cosine similarity {cos:.3f})."
                )
        else:
            if explained is None:
                out.append("The full-text search did not return it.")
            elif explained.get("bm25") is None:
                out.append("The full-text search cannot find it: it shares no term with the query.")
            else:
                cut = last.get("bm25")
                out.append(
                    f"The full-text search returned the {limit} best BM25 matches; its BM25 "
                    f"{explained['bm25']:.2f} is below the last of them ({cut:.2f})."
                    if cut is not None
                    else f"The full-text search did not return it (BM25 {explained['bm25']:.2f})."
                )
    return out


def cutoff_k(trace: Trace, k: int | None = None) -> int:
    """The cut-off a view of ``trace`` explains: ``k`` (e.g. a metric's) bounded by the trace's own k, which is
    as far as its final stage ranks; default the trace's k. Raises ValueError for k < 1."""
    if k is None:
        return trace.k
    if k < 1:
        raise ValueError(f"k must be >= 1, got {k}")
    return min(int(k), trace.k)


def near_misses(trace: Trace, n: int = 10, k: int | None = None) -> pd.DataFrame:
    """The ``n`` memories ranked just below the cut-off ``k`` (default the trace's, see :func:`cutoff_k`):
    columns ``id``, ``rank``, ``score``, ``margin`` (score - cut-off, <= 0), ``deciding`` (the component with
    the largest share of the gap to rank k) and one column per component with its contribution gap (positive =
    held it back)."""
    weights = weights_of(trace)
    ranked = last_ranking(trace).candidates
    k = cutoff_k(trace, k)
    misses = ranked[k : k + n]
    cols = ["id", "rank", "score", "margin", "deciding", *COMPONENTS]
    if not misses or len(ranked) < k:
        return pd.DataFrame(columns=cols)
    w = np.array([weights[c] for c in COMPONENTS]) / (sum(weights.values()) or 1.0)
    x = np.array([[m.scores.get(c, 0.0) for c in COMPONENTS] for m in misses])
    ref = np.array([ranked[k - 1].scores.get(c, 0.0) for c in COMPONENTS])
    gap = (ref[None, :] - x) * w[None, :]
    masked = np.where(w[None, :] > 0, gap, -np.inf)
    deciding = np.where(masked.max(axis=1) > 0, np.array(COMPONENTS)[masked.argmax(axis=1)], "")
    df = pd.DataFrame(gap, columns=list(COMPONENTS))
    df.insert(0, "id", [m.id for m in misses])
    df.insert(1, "rank", [m.rank for m in misses])
    df.insert(2, "score", [m.scores["score"] for m in misses])
    df.insert(3, "margin", df["score"] - ranked[k - 1].scores["score"])
    df.insert(4, "deciding", deciding)
    return df[cols]


@dataclass
class TraceDiff:
    """How the final top-k of trace ``b`` differs from trace ``a``.

    ``table`` has one row per memory in either top-k: ``id``, ``rank_a``, ``rank_b`` (final ranks, <NA> if
    not in that top-k), ``full_rank_a``/``full_rank_b`` (ranks in each full ranking), ``score_a``/``score_b``,
    ``status`` (``"entered"``, ``"left"``, ``"up"``, ``"down"``, ``"same"``), ``delta`` (rank_a - rank_b,
    positive = rose) and ``driver``: the component whose contribution changed most (b minus a).
    """

    table: pd.DataFrame
    entered: list[str]
    left: list[str]
    moved: list[str]
    overlap: int
    jaccard: float


def compare(a: Trace, b: Trace) -> TraceDiff:
    """Compare two traces' top-k (e.g. one query before and after advancing the clock, or under two presets):
    what entered, what left, what moved, and which component drove each change."""
    wa, wb = weights_of(a), weights_of(b)
    fa = {c.id: c for c in a.stage("final").candidates}
    fb = {c.id: c for c in b.stage("final").candidates}
    ra = {c.id: c for c in last_ranking(a).candidates}
    rb = {c.id: c for c in last_ranking(b).candidates}
    ids = list(dict.fromkeys([*fa, *fb]))
    rows = []
    for i in ids:
        ca, cb = ra.get(i), rb.get(i)
        contrib_a = contributions(ca.scores, wa) if ca else {c: 0.0 for c in COMPONENTS}
        contrib_b = contributions(cb.scores, wb) if cb else {c: 0.0 for c in COMPONENTS}
        change = {c: contrib_b[c] - contrib_a[c] for c in COMPONENTS}
        driver = max(change, key=lambda c: abs(change[c])) if any(change.values()) else ""
        rank_a, rank_b = (fa[i].rank if i in fa else None), (fb[i].rank if i in fb else None)
        if rank_a is None:
            status = "entered"
        elif rank_b is None:
            status = "left"
        else:
            status = "up" if rank_b < rank_a else "down" if rank_b > rank_a else "same"
        rows.append(
            {
                "id": i,
                "rank_a": rank_a,
                "rank_b": rank_b,
                "full_rank_a": ca.rank if ca else None,
                "full_rank_b": cb.rank if cb else None,
                "score_a": ca.scores["score"] if ca else np.nan,
                "score_b": cb.scores["score"] if cb else np.nan,
                "status": status,
                "delta": (rank_a - rank_b) if rank_a is not None and rank_b is not None else None,
                "driver": driver,
            }
        )
    table = pd.DataFrame(
        rows,
        columns=[
            "id",
            "rank_a",
            "rank_b",
            "full_rank_a",
            "full_rank_b",
            "score_a",
            "score_b",
            "status",
            "delta",
            "driver",
        ],
    )
    for c in ("rank_a", "rank_b", "full_rank_a", "full_rank_b", "delta"):
        table[c] = table[c].astype("Int64")
    overlap = len(set(fa) & set(fb))
    union = len(set(fa) | set(fb))
    return TraceDiff(
        table=table,
        entered=table.loc[table["status"] == "entered", "id"].tolist(),
        left=table.loc[table["status"] == "left", "id"].tolist(),
        moved=table.loc[table["status"].isin(["up", "down"]), "id"].tolist(),
        overlap=overlap,
        jaccard=overlap / union if union else 1.0,
    )


__all__ = [
    "RANKING_STAGES",
    "STAGE_LABELS",
    "TraceDiff",
    "WhyNot",
    "compare",
    "contributions",
    "cutoff_k",
    "last_ranking",
    "near_misses",
    "rank_table",
    "ranking_stages",
    "weights_of",
    "why_not",
]
