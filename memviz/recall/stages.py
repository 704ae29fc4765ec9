"""The recall pipeline, one function per stage; each returns its :class:`TraceStage` (and what the next
stage needs). :func:`memviz.recall.pipeline.recall` runs them in order (see :data:`STAGES`)."""

from __future__ import annotations

import time
from concurrent.futures import Future

import numpy as np
import pyarrow as pa

from memviz import scoring
from memviz.embed import Embedder
from memviz.filters import MemoryFilter
from memviz.models import StageCandidate, TraceStage
from memviz.recall.components import ScoringContext, components, gate, keyword_df, ranked
from memviz.recall.config import BASE_COMPONENTS, RecallConfig
from memviz.rerank import RERANK_TOP, Reranker
from memviz.store import MemoryStore
from memviz.workers import ms_since, timed, worker


def model_stage(embedder: Embedder) -> TraceStage | None:
    """Load the embedder's model if this process has not yet (an embedder with a ``load()`` that returns True
    when it loaded): the ``model`` stage with the load's time, so that a cold process's first recall does not
    charge seconds of loading to ``embed``. None when the model was already loaded."""
    load = getattr(embedder, "load", None)
    t = time.perf_counter()
    if load is None or not load():
        return None
    return TraceStage("model", ms_since(t), [], {"model": embedder.name, "note": "loaded once per process"})


def embed_stage(embedder: Embedder, query: str) -> tuple[TraceStage, np.ndarray]:
    """The query's unit vector (dim,) and the stage's record (model, dim, the encoder's time, and ``backend``:
    what ran it, ``onnxruntime`` or ``torch``, when the embedder says)."""
    t = time.perf_counter()
    qvec = embedder.encode([query])[0]
    ms = ms_since(t)
    info = {"model": embedder.name, "dim": int(qvec.shape[0])}
    backend = getattr(embedder, "query_backend", None)
    return TraceStage("embed", ms, [], info | ({"backend": backend} if backend else {})), qvec


def start_fulltext(store: MemoryStore, query: str, cfg: RecallConfig, where: MemoryFilter) -> Future:
    """Start the full-text search in its worker thread, before the query's embedding (it needs only the text):
    the encoder (torch), numpy's dot product and LanceDB's Rust full-text search all spend their time outside
    the GIL, so a recall waits for the slowest of them, not for their sum. :func:`fulltext_stage` collects
    it."""
    return worker("fulltext").submit(timed, store.text_search, query, cfg.candidates, where)


def vector_stage(store: MemoryStore, qvec: np.ndarray, cfg: RecallConfig, where: MemoryFilter) -> TraceStage:
    """The ``candidates`` nearest memories by cosine similarity (``relevance``). The stage's info names the
    index that answered (``index``: ``exact-numpy``, ``lancedb-flat`` or the approximate ``IVF_HNSW_SQ`` with
    its search parameters; see :meth:`memviz.store.MemoryStore.vector_search_traced`)."""
    t = time.perf_counter()
    ids, sims, index = store.vector_search_traced(qvec, cfg.candidates, where)
    return TraceStage(
        "vector",
        ms_since(t),
        [StageCandidate(i, r, {"relevance": float(s)}) for r, (i, s) in enumerate(zip(ids, sims, strict=True), 1)],
        {"metric": "cosine", "limit": cfg.candidates} | index,
    )


def fulltext_stage(job: Future, ctx_of, info: dict) -> tuple[TraceStage, ScoringContext]:
    """The full-text (BM25) candidates of the job :func:`start_fulltext` started, with their lexical
    component; ``ctx_of(bm25)`` builds the scoring context from {id: BM25}, which is returned with the stage.
    ``info``: the index, its columns and tokenizer (:meth:`memviz.store.MemoryStore.text_index_info`), shown in
    the stage's info. Its ``duration_ms`` overlaps the embed and vector stages'."""
    (ids, scores), search_ms = job.result()
    t = time.perf_counter()
    ctx = ctx_of(dict(zip(ids, scores.tolist(), strict=True)))
    lex = ctx.lexical(ids)
    return TraceStage(
        "fulltext",
        search_ms + ms_since(t),
        [
            StageCandidate(i, r, {"bm25": float(s), "lexical": float(x)})
            for r, (i, s, x) in enumerate(zip(ids, scores, lex, strict=True), 1)
        ],
        info | {"limit": ctx.cfg.candidates, "concurrent_with": "embed, vector"},
    ), ctx


def fusion_stage(vector: TraceStage, fulltext: TraceStage, ctx: ScoringContext) -> tuple[TraceStage, list[str]]:
    """The pool: reciprocal rank fusion of the configured retrievers' lists (Cormack et al., SIGIR 2009), or
    the first retriever's list alone without fusion. Sets ``ctx.rrf`` (normalised by its maximum)."""
    cfg = ctx.cfg
    t = time.perf_counter()
    lists = {"vector": [c.id for c in vector.candidates], "fulltext": [c.id for c in fulltext.candidates]}
    active = [lists[r] for r in cfg.retrievers]
    fused = scoring.rrf(active, cfg.rrf_k)
    max_rrf = len(active) / (cfg.rrf_k + 1)
    ctx.rrf = {i: s / max_rrf for i, s in fused.items()}
    pool = sorted(fused, key=lambda i: -fused[i]) if cfg.fusion else list(active[0])
    return TraceStage(
        "fusion",
        ms_since(t),
        [StageCandidate(i, r, {"rrf": ctx.rrf[i]}) for r, i in enumerate(pool, 1)],
        {
            "method": "rrf" if cfg.fusion else f"{cfg.retrievers[0]} only",
            "rrf_k": cfg.rrf_k,
            "retrievers": list(cfg.retrievers),
        },
    ), pool


def scoring_stage(store: MemoryStore, ctx: ScoringContext, pool: list[str]) -> tuple[TraceStage, pa.Table]:
    """Gate the pool (``min_relevance``, ``min_retention``; gated ids in ``info["gated"]``), then rank it by
    the weighted mean of the components (min-max normalised over the pool with ``normalise="minmax"``).
    Returns the stage and the pool's rows (Arrow) of those that passed."""
    cfg = ctx.cfg
    t = time.perf_counter()
    ctx.keyword_df = keyword_df(store, ctx.query_keywords) if cfg.weights["entity"] > 0 else {}
    ids, rows, comps, _ = components(store, ctx, pool)  # a concurrent prune may have removed one
    passed, gated = gate(cfg, ids, comps)
    ctx.gated_ids = set(gated)
    keep = np.flatnonzero(passed)
    ids, rows = [ids[n] for n in keep], rows.take(pa.array(keep, pa.int64()))
    comps = {c: v[passed] for c, v in comps.items()}
    if cfg.normalise == "minmax":
        for c in BASE_COMPONENTS:
            comps[c], lo, hi = scoring.minmax(comps[c])
            ctx.ranges[c] = (lo, hi)
    score = scoring.combine(comps, cfg.weights)
    info = {
        "weights": dict(cfg.weights),
        "decay_model": cfg.decay_model,
        "normalise": cfg.normalise,
        "lexical_norm": cfg.lexical_norm,
        "gated": gated,
    } | ctx.info()
    return TraceStage("scoring", ms_since(t), ranked(ids, comps, score), info), rows


def rerank_stage(reranker: Reranker, query: str, scored: list[StageCandidate], rows: pa.Table) -> TraceStage:
    """The :data:`memviz.rerank.RERANK_TOP` best of ``scored`` ordered by the reranker's score of (query,
    memory text), in [0, 1], which becomes their ``score`` (``rerank`` too; the score before is kept as
    ``score_before_rerank``); the candidates below them follow in their order. ``rows``: the candidates' rows
    (Arrow, with ``id`` and ``text``). The stage's duration is the reranker's."""
    t = time.perf_counter()
    top = scored[:RERANK_TOP]
    text_of = dict(zip(rows.column("id").to_pylist(), rows.column("text").to_pylist(), strict=True))
    scores = reranker.score(query, [text_of[c.id] for c in top])
    order = sorted(range(len(top)), key=lambda n: -scores[n])  # stable: ties keep the order before
    out = [
        StageCandidate(
            top[n].id,
            r,
            top[n].scores
            | {"score_before_rerank": top[n].scores["score"], "rerank": float(scores[n]), "score": float(scores[n])},
        )
        for r, n in enumerate(order, 1)
    ]
    out += [StageCandidate(c.id, r, c.scores) for r, c in enumerate(scored[RERANK_TOP:], len(out) + 1)]
    return TraceStage("rerank", ms_since(t), out, {"model": reranker.name, "top": len(top)})


def final_stage(scored: list[StageCandidate], k: int) -> TraceStage:
    """The top ``k`` of the last ranking."""
    return TraceStage("final", 0.0, scored[:k], {"k": k})
