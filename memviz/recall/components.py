"""Scoring candidates for one query: the named components in [0, 1], the gates and the ranking.

Used by the scoring stage, the graph stage (linked memories from outside the pool) and ``explain`` (any
memory), so a memory gets the same components whichever of them scores it.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np
import pyarrow as pa
import pyarrow.compute as pc

from memviz import asof, scoring
from memviz import text as text_mod
from memviz.decay import DecayParams, last_access_s, rows_retention
from memviz.models import StageCandidate
from memviz.recall.config import RecallConfig
from memviz.store import MemoryStore


@dataclass
class ScoringContext:
    """What scoring a memory for one query needs besides the memory: the query and its unit vector (384,),
    the clock time (POSIX s), the config, the decay parameters, the full-text candidates' BM25, the fused
    candidates' RRF (normalised to [0, 1]), keyword counts and the pool's min-max ranges."""

    query: str
    qvec: np.ndarray
    now: float
    cfg: RecallConfig
    params: DecayParams
    bm25: dict[str, float]
    n_terms: int
    query_keywords: list[str]
    rrf: dict[str, float] = field(default_factory=dict)
    keyword_df: dict[str, int] = field(default_factory=dict)
    ranges: dict[str, tuple[float, float]] = field(default_factory=dict)
    gated_ids: set[str] = field(default_factory=set)
    as_of: bool = False  # score memories as they were at ``now`` (memviz.asof.restate), not as stored
    undo_trace: str | None = None  # ... without that recall's own reinforcements (why-not of a past recall)

    @classmethod
    def build(
        cls, query: str, qvec: np.ndarray, now: float, cfg: RecallConfig, params: DecayParams, bm25: dict[str, float]
    ) -> ScoringContext:
        keywords = text_mod.keywords(query) if cfg.weights["entity"] > 0 else []
        ctx = cls(query, qvec, now, cfg, params, bm25, len(text_mod.content_words(query)), keywords)
        ctx.as_of = cfg.as_of_s is not None
        return ctx

    def lexical(self, ids: Sequence[str]) -> np.ndarray:
        """The lexical component: full-text candidates' BM25, max- or sigmoid-normalised; 0 for others."""
        raw = np.array([self.bm25.get(i, 0.0) for i in ids], dtype=np.float64)
        if self.cfg.lexical_norm == "sigmoid":
            matched = np.array([i in self.bm25 for i in ids], dtype=bool)
            return np.where(matched, scoring.sigmoid_bm25(raw, self.n_terms), 0.0)
        return scoring.squash_bm25(raw, max(self.bm25.values(), default=0.0))

    def entity(self, keyword_lists: Sequence[Sequence[str]]) -> np.ndarray:
        """mem0's entity boost with keywords as entities (a modelling choice: mem0 extracts entities with
        spaCy): the best spread-attenuated weight of a query keyword the memory carries; 0 if none."""
        weight = {kw: float(scoring.entity_spread(df)) for kw, df in self.keyword_df.items() if df > 0}
        if not weight:
            return np.zeros(len(keyword_lists))
        return np.array([max((weight.get(k, 0.0) for k in kws), default=0.0) for kws in keyword_lists])

    def info(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "n_terms": self.n_terms,
            "query_keywords": self.query_keywords,
            "keyword_df": self.keyword_df,
        }
        if self.ranges:
            out["ranges"] = {c: list(v) for c, v in self.ranges.items()}
        return out


def components(
    store: MemoryStore, ctx: ScoringContext, ids: Sequence[str]
) -> tuple[list[str], pa.Table, dict[str, np.ndarray], np.ndarray]:
    """Rows and raw components of the memories ``ids`` (those found, in the order given) for ``ctx``'s query.
    Returns (ids, rows (Arrow, every column but the vector), {component: array (n,)}, raw cosine (n,));
    ``graph`` is all zeros. The rows come from the store's in-memory index: no table scan; with ``ctx.as_of``
    they are restated as they were at ``ctx.now`` (:func:`memviz.asof.restate`)."""
    ids, tbl, vecs = store.rows(ids)
    if ctx.as_of:
        tbl = asof.restate(store, tbl, ctx.now, ctx.undo_trace)
    cosine = vecs.astype(np.float64) @ ctx.qvec.astype(np.float64)
    last = last_access_s(tbl)
    keywords = tbl.column("keywords").to_pylist() if ctx.keyword_df else [[]] * len(ids)
    comps = {
        "relevance": np.clip(cosine, 0.0, 1.0),
        "lexical": ctx.lexical(ids),
        "rrf": np.array([ctx.rrf.get(i, 0.0) for i in ids]),
        "recency": scoring.recency((ctx.now - last) / 3600.0),
        "importance": tbl.column("importance").to_numpy(zero_copy_only=False).astype(np.float64),
        "retention": rows_retention(tbl, last, ctx.cfg.decay_model, ctx.now, ctx.params),
        "entity": ctx.entity([k or [] for k in keywords]),
        "graph": np.zeros(len(ids)),
    }
    return ids, tbl, comps, cosine


def keyword_df(store: MemoryStore, keywords: Sequence[str]) -> dict[str, int]:
    """How many stored memories carry each keyword (mem0's "linked memories" of an entity); one scan."""
    if not keywords:
        return {}
    flat = pc.list_flatten(store.memories_table(columns=["keywords"]).column("keywords"))
    counts = pc.value_counts(pc.filter(flat, pc.is_in(flat, pa.array(list(keywords), pa.string()))))
    found = {str(v["values"]): int(v["counts"]) for v in counts.to_pylist()}
    return {kw: found.get(kw, 0) for kw in keywords}


def gate(cfg: RecallConfig, ids: Sequence[str], comps: Mapping[str, np.ndarray]) -> tuple[np.ndarray, dict[str, Any]]:
    """Apply ``min_relevance`` and ``min_retention`` to raw components: (passed mask (n,), {id: why gated})."""
    passed = np.ones(len(ids), dtype=bool)
    gated: dict[str, Any] = {}
    for comp, threshold in (("relevance", cfg.min_relevance), ("retention", cfg.min_retention)):
        if threshold > 0:
            low = np.asarray(comps[comp]) < threshold
            for n in np.flatnonzero(low & passed).tolist():
                gated[ids[n]] = {"component": comp, "value": float(comps[comp][n]), "threshold": float(threshold)}
            passed &= ~low
    return passed, gated


def ranked(ids: Sequence[str], comps: Mapping[str, np.ndarray], score: np.ndarray) -> list[StageCandidate]:
    """Candidates sorted by score (ties keep their order), with every component and the score."""
    order = np.argsort(-score, kind="stable")
    return [
        StageCandidate(ids[n], rank, {c: float(comps[c][n]) for c in scoring.COMPONENTS} | {"score": float(score[n])})
        for rank, n in enumerate(order, 1)
    ]
