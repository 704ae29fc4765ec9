"""One recall, stage by stage, with its trace: the composition of :mod:`memviz.recall.stages`."""

from __future__ import annotations

import time
import uuid
from collections.abc import Sequence
from dataclasses import asdict

import pyarrow as pa

from memviz import asof
from memviz.decay import DecayParams
from memviz.embed import Embedder
from memviz.errors import EmptyTextError
from memviz.events import RecallEvent
from memviz.filters import MemoryFilter
from memviz.models import Hit, RecallResult, Trace, TraceStage
from memviz.recall.components import ScoringContext
from memviz.recall.config import RecallConfig
from memviz.recall.graph import graph_stage
from memviz.recall.stages import (
    embed_stage,
    final_stage,
    fulltext_stage,
    fusion_stage,
    model_stage,
    rerank_stage,
    scoring_stage,
    start_fulltext,
    vector_stage,
)
from memviz.rerank import Reranker
from memviz.store import MemoryStore, memory_from_row
from memviz.text import normalise
from memviz.workers import ms_since


def search_filter(cfg: RecallConfig, exclude_ids: Sequence[str] = (), store: MemoryStore | None = None) -> MemoryFilter:
    """The memories a recall with ``cfg`` searches: the live ones (all with ``include_forgotten``) of
    ``cfg.scope`` (every scope when None), without ``exclude_ids``; as of ``cfg.as_of_s``, only those that
    existed then, live as they were then (see
    :mod:`memviz.asof`; the bound is left out when ``store`` holds nothing after that time, or without
    ``cfg.as_of_pool``)."""
    as_of = cfg.as_of_s if cfg.as_of_pool else None
    if as_of is not None and store is not None and not asof.changed_since(store, float(as_of)):
        as_of = None
    return MemoryFilter(
        forgotten=None if cfg.include_forgotten else False,
        exclude_ids=tuple(exclude_ids) or None,
        existing_at_s=None if as_of is None else float(as_of),
        scopes=None if cfg.scope is None else (cfg.scope,),
    )


def recall(
    store: MemoryStore,
    embedder: Embedder,
    cfg: RecallConfig,
    query: str,
    now_s: float,
    params: DecayParams,
    exclude_ids: Sequence[str] = (),
    reranker: Reranker | None = None,
) -> RecallResult:
    """Recall the top ``cfg.k`` memories for ``query`` with the full trace of how they were chosen.

    ``cfg`` is a validated config; ``now_s`` the clock time (POSIX s) recency and retention are measured at
    (``cfg.as_of_s`` when set); ``params`` the decay parameters. Stages: embed the query; vector candidates
    (exact cosine); full-text candidates (LanceDB native BM25, in a worker thread started before the query's
    embedding, so its ``duration_ms`` overlaps the embed and vector stages' and ``Trace.total_ms`` is less than
    the stages' sum);
    fusion (the pool); scoring (gates, then the weighted mean of :data:`memviz.scoring.COMPONENTS`); graph,
    only when ``graph_hops`` > 0; rerank, only with a ``reranker`` (:func:`memviz.recall.stages.rerank_stage`);
    final top-k. With ``cfg.as_of_s`` the store is seen as it was then
    (:mod:`memviz.asof`): memories written later do not exist, later reinforcements and forgets are undone;
    at the engine clock it is seen as it is. ``exclude_ids`` leaves those memories out of every stage, as if
    they were forgotten (e.g. to preview what a forget would change). Writes nothing: the caller records
    the recall (:func:`recall_event`) and reinforces. Raises EmptyTextError for an empty query.
    """
    try:
        query = normalise(query)
    except EmptyTextError:
        raise EmptyTextError("the query is empty") from None
    t_start = time.perf_counter()
    now = now_s if cfg.as_of_s is None else float(cfg.as_of_s)
    where = search_filter(cfg, exclude_ids, store)

    model = model_stage(embedder)
    job = start_fulltext(store, query, cfg, where)  # needs no vector: it runs while the query is embedded
    embed, qvec = embed_stage(embedder, query)
    vector = vector_stage(store, qvec, cfg, where)
    fulltext, ctx = fulltext_stage(
        job, lambda bm25: ScoringContext.build(query, qvec, now, cfg, params, bm25), store.text_index_info()
    )
    fusion, pool = fusion_stage(vector, fulltext, ctx)
    scoring, rows = scoring_stage(store, ctx, pool)
    stages = [*([model] if model else []), embed, vector, fulltext, fusion, scoring]
    scored = scoring.candidates
    if cfg.graph_hops:
        t = time.perf_counter()
        scored, g_info, added_rows = graph_stage(store, ctx, scored, where)
        rows = pa.concat_tables([rows, added_rows])
        stages.append(TraceStage("graph", ms_since(t), scored, g_info))
    if reranker is not None:
        stages.append(rerank_stage(reranker, query, scored, rows))
        scored = stages[-1].candidates
    final = final_stage(scored, cfg.k)
    stages.append(final)

    row_at = {i: n for n, i in enumerate(rows.column("id").to_pylist())}
    hit_rows = rows.take(pa.array([row_at[c.id] for c in final.candidates], pa.int64())).to_pylist()
    hits = [
        Hit(memory_from_row(r), c.scores["score"], {k: v for k, v in c.scores.items() if k != "score"}, c.rank)
        for c, r in zip(final.candidates, hit_rows, strict=True)
    ]
    cfg_dict = asdict(cfg) | {
        "weights": dict(cfg.weights),
        "retrievers": list(cfg.retrievers),
        "excluded": len(set(exclude_ids)),
    }
    return RecallResult(hits, Trace(uuid.uuid4().hex, query, cfg.k, now, cfg_dict, stages, ms_since(t_start)), qvec)


def recall_event(result: RecallResult) -> RecallEvent:
    """The ``recall`` event that records ``result`` (its hits and whole trace)."""
    trace = result.trace
    return RecallEvent(
        time_s=trace.time_s,
        memory_ids=tuple(h.memory.id for h in result.hits),
        query=trace.query,
        trace=trace.to_dict(),
    )
