"""Why not? Scoring any memory for a past recall's query, whether or not a retriever returned it."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np

from memviz import asof, scoring
from memviz.decay import DecayParams
from memviz.embed import Embedder
from memviz.errors import UnknownMemoryError
from memviz.filters import MemoryFilter
from memviz.models import Trace, TraceStage
from memviz.recall.components import ScoringContext, components, gate
from memviz.recall.config import RecallConfig
from memviz.store import MemoryStore


def _stage(trace: Trace, name: str) -> TraceStage | None:
    return next((s for s in trace.stages if s.name == name), None)


def config_of(trace: Trace) -> RecallConfig:
    """The validated, non-reinforcing config a trace was recalled with (fields it does not know dropped)."""
    cfg = RecallConfig(**{k: v for k, v in trace.config.items() if k in RecallConfig.__dataclass_fields__})
    return replace(cfg, reinforce=False, record=False).validated()


def explain(
    store: MemoryStore, embedder: Embedder, params: DecayParams, trace: Trace, ids: Sequence[str]
) -> dict[str, dict[str, Any]]:
    """Score memories ``ids`` for the query of ``trace`` as its recall would have: the answer to "why was it
    not retrieved?" for memories no stage lists.

    Uses the trace's configuration, clock time, full-text scores, pool ranges and keyword counts, and the
    memories as they were at the trace's clock time, before its own reinforcements (:mod:`memviz.asof`).
    Returns per id: ``cosine`` (raw cosine similarity to the query, the
    vector retriever's measure), ``bm25`` (its full-text score for the query, None when no query term
    matches it), ``forgotten`` (then), ``existed`` (False: written after the recall's time, so no
    retriever could find it), ``components`` (as the scoring stage computes them: lexical and rrf are 0
    outside the full-text and fused candidates), ``graph`` (its graph activation if the graph stage reached
    it), ``score`` (their weighted mean, in [0, 1]) and ``gated`` (the gate that would leave it out, or None).
    Writes nothing. Raises UnknownMemoryError for an unknown id.
    """
    ids = list(dict.fromkeys(ids))
    if not ids:
        return {}
    cfg = config_of(trace)
    fulltext = _stage(trace, "fulltext")
    bm25 = {c.id: c.scores["bm25"] for c in fulltext.candidates} if fulltext else {}
    qvec = embedder.encode([trace.query])[0]
    ctx = ScoringContext.build(trace.query, qvec, trace.time_s, cfg, params, bm25)
    ctx.as_of, ctx.undo_trace = True, trace.id  # as they were when it recalled, before its own reinforcements
    fusion = _stage(trace, "fusion")
    ctx.rrf = {c.id: c.scores["rrf"] for c in fusion.candidates} if fusion else {}
    scoring_stage = _stage(trace, "scoring")
    info = scoring_stage.info if scoring_stage else {}
    ctx.ranges = {c: tuple(v) for c, v in info.get("ranges", {}).items()}
    ctx.keyword_df = info.get("keyword_df", {})
    found, rows, comps, cosine = components(store, ctx, ids)
    forgotten = rows.column("forgotten_time_s").is_valid().to_numpy(zero_copy_only=False)
    existed = asof.birth_s(rows) <= trace.time_s
    if missing := [i for i in ids if i not in set(found)]:
        raise UnknownMemoryError(missing)
    _, gated = gate(cfg, found, comps)
    for c, (lo, hi) in ctx.ranges.items():
        comps[c] = scoring.minmax_scale(comps[c], lo, hi)
    graph_stage = _stage(trace, "graph")
    graph = {c.id: c.scores.get("graph", 0.0) for c in graph_stage.candidates} if graph_stage else {}
    comps["graph"] = np.array([graph.get(i, 0.0) for i in found])
    score = scoring.combine(comps, cfg.weights)
    t_ids, t_scores = store.text_search(trace.query, len(found), MemoryFilter(ids=found))
    text_hits = {i: float(s) for i, s in zip(t_ids, t_scores, strict=True)}
    return {
        i: {
            "cosine": float(cosine[n]),
            "bm25": text_hits.get(i),
            "forgotten": bool(forgotten[n]),
            "existed": bool(existed[n]),
            "components": {c: float(comps[c][n]) for c in scoring.COMPONENTS},
            "graph": graph.get(i),
            "score": float(score[n]),
            "gated": gated.get(i),
        }
        for n, i in enumerate(found)
    }
