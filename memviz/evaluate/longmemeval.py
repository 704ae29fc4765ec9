"""LongMemEval retrieval evaluation, the official protocol (Wu et al., ICLR 2025; ``src/retrieval``).

Each question's haystack (~50 sessions, ~500 turns in LongMemEval_S) is ingested into its own store, one
memory per turn; the question is recalled as of its ``question_date`` with the whole haystack ranked (k =
the number of turns). Metrics for k in {1, 3, 5, 10, 30, 50}: recall_any@k, recall_all@k and ndcg_any@k.

- ``session`` granularity: sessions ranked by their best turn (first occurrence in the turn ranking); the
  gold items are the evidence sessions. (The official session index embeds each session's user turns as one
  document, and counts an evidence session as gold only when one of its user turns has the answer, so it skips
  questions answered by assistant turns alone; memviz keeps every turn as a memory, as an agent would, and
  every evidence session is gold.)
- ``turn`` granularity, as the official turn index (``run_retrieval.py``, ``process_item_flat_index``): only the
  user turns are memories, in a store of their own (``<db>/<question_id>.user``), and the gold items are the
  user turns marked ``has_answer``. A question whose evidence is only in assistant turns has no gold item
  there: the official script skips it ("no target turns from the user side"), and so does memviz
  (``no_user_evidence``).

Abstention questions (``_abs``) are skipped, as in the official evaluation; a question without gold items at
the chosen granularity is skipped and counted. Haystack dates are unsorted and some evidence sessions are
dated after the question: no time filter is applied, and decay treats such memories as just written.
"""

from __future__ import annotations

import os
import time
from collections.abc import Sequence
from pathlib import Path
from typing import Any, Literal

from memviz.embed import Embedder
from memviz.errors import ConfigError
from memviz.evaluate import metrics
from memviz.evaluate.common import (
    PrimedEmbedder,
    Progress,
    aggregate,
    as_of,
    config_dict,
    ensure_ingested,
    eval_config,
    group_engine,
    scoped_config,
    setup_info,
    store_dir,
    store_name,
    timing,
)
from memviz.importers import load
from memviz.rerank import Reranker
from memviz.store.settings import StoreSettings

LONGMEMEVAL_KS: tuple[int, ...] = (1, 3, 5, 10, 30, 50)
USER = "user"  # the role whose turns the official turn-level index holds
USER_STORE_SUFFIX = ".user"  # the turn-level store of a question: its user turns only
Granularity = Literal["session", "turn"]


def run_longmemeval(
    path: str | os.PathLike[str],
    db: str | os.PathLike[str],
    granularity: Granularity = "session",
    ks: Sequence[int] = LONGMEMEVAL_KS,
    preset: str = "default",
    limit: int | None = None,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    keep_traces: bool = False,
    settings: StoreSettings | None = None,
    reranker: Reranker | None = None,
    one_store: bool = False,
) -> dict[str, Any]:
    """Evaluate the LongMemEval file at ``path`` (oracle, _s or _m) with scoring ``preset``; one store per
    question under ``db``, or with ``one_store`` one for all, each question recalling in its haystack's scope.
    ``limit``: only the first N questions of the file. ``overall`` maps
    ``"recall_any@k"``, ``"recall_all@k"`` and ``"ndcg_any@k"`` to their means over the evaluated questions.
    ``settings`` and ``reranker`` as :func:`memviz.evaluate.locomo.run_locomo` (the result's ``settings`` and
    ``reranker`` say what was used). Raises ConfigError (bad granularity, preset or k), SchemaError (bad file),
    StoreError.
    """
    from memviz.embed import MiniLMEmbedder

    if granularity not in ("session", "turn"):
        raise ConfigError(f"granularity must be 'session' or 'turn', got {granularity!r}")
    t0 = time.perf_counter()
    ks = tuple(ks)
    data = load(path, "longmemeval")
    questions = data.questions[:limit] if limit else data.questions
    emb = PrimedEmbedder(embedder or MiniLMEmbedder())
    base = eval_config(preset, k=max(ks))  # checks the preset before any work
    emb.prime([q.question for q in questions if not q.id.endswith("_abs")])
    records: list[dict[str, Any]] = []
    times = {"ingest": 0.0, "recall": 0.0, "written": 0}
    info: dict[str, Any] = {}  # what the stores were made with (setup_info)
    opened: dict[str, Any] = {}  # with one_store: the one store, opened once
    setup = (settings, reranker, info, one_store, opened)
    for n, q in enumerate(questions, 1):
        rec: dict[str, Any] = {
            "id": q.id,
            "group": q.group,
            "category": q.category,
            "category_name": q.category,
            "question": q.question,
            "answer": q.answer,
        }
        items, store = data.groups[q.group], store_name(q.group, one_store)
        gold: Sequence[str] = q.evidence_session_ids
        if granularity == "turn":
            items, store = [m for m in items if m.speaker == USER], store_name(q.group, one_store, USER_STORE_SUFFIX)
            user_ids = {m.id for m in items}
            gold = [g for g in q.evidence_ids if g in user_ids]
        rec |= {"evidence": list(gold), "store": str(store_dir(db, store))}
        if q.id.endswith("_abs"):
            rec |= {"status": "abstention", "metrics": None}
        elif not gold:
            no_user = granularity == "turn" and bool(q.evidence_ids)
            rec |= {"status": "no_user_evidence" if no_user else "no_evidence", "metrics": None}
        else:
            cfg = eval_config(preset, k=len(items), candidates=len(items))
            args = (granularity, ks, cfg, db, store, emb, path, progress, times, keep_traces, setup)
            rec |= _evaluate(q, items, gold, *args)
        records.append(rec)
        if progress:
            progress("recalling the questions", n, len(questions))
    overall, by_category = aggregate(records)
    evaluated = [r for r in records if r["status"] == "evaluated"]
    return {
        **info,
        "one_store": one_store,
        "benchmark": "longmemeval",
        "file": str(Path(path).resolve()),
        "db": str(Path(db).resolve()),
        "granularity": granularity,
        "preset": preset,
        "config": config_dict(base) | {"k": "haystack size", "candidates": "haystack size"},
        "embedder": emb.name,
        "ks": list(ks),
        "overall": overall,
        "by_category": by_category,
        "counts": {
            "questions": len(records),
            "evaluated": len(evaluated),
            "abstention_skipped": sum(r["status"] == "abstention" for r in records),
            "no_evidence": sum(r["status"] == "no_evidence" for r in records),
            "no_user_evidence": sum(r["status"] == "no_user_evidence" for r in records),
            "memories_written": times["written"],
            "memories_left_out_empty": data.skipped,  # turns with no visible text (see the importer)
        },
        "timing": timing(time.perf_counter() - t0, times["ingest"], times["recall"], len(evaluated)),
        "questions": records,
    }


def _evaluate(
    q, items, gold, granularity, ks, cfg, db, store, emb, path, progress, times, keep_traces, setup
) -> dict[str, Any]:
    """Ingest one question's haystack ``items`` into the store ``store`` under ``db`` (if needed), recall it and
    score the ranking; updates ``times``. ``setup``: (settings, reranker, info, one_store, opened), info updated
    with :func:`memviz.evaluate.common.setup_info`; with ``one_store`` the store is opened once (``opened``) and
    the question recalls in its haystack's scope."""
    t = time.perf_counter()
    settings, reranker, info, one_store, opened = setup
    engine = group_engine(db, store, emb, settings, reranker, opened if one_store else None)
    info |= setup_info(engine)
    times["written"] += ensure_ingested(
        engine, items, {"path": os.path.abspath(path), "format": "longmemeval"}, progress, f"ingesting {store}"
    )
    times["ingest"] += time.perf_counter() - t
    t = time.perf_counter()
    cfg = scoped_config(cfg, q.group, one_store)
    res = engine.recall(q.question, as_of(cfg, q.time_s) if q.time_s is not None else cfg)
    turns = [c.id for c in res.trace.stage("final").candidates]
    if granularity == "session":
        session_of = {m.id: m.session_id for m in items}
        ranked = metrics.dedupe([session_of[i] for i in turns])
    else:
        ranked = turns
    ranks = metrics.gold_ranks(ranked, gold)
    values = {
        "recall_any": metrics.recall_any_at(ranks, ks),
        "recall_all": metrics.recall_all_at(ranks, ks),
        "ndcg_any": metrics.ndcg_any_at(ranks, ks),
    }
    rec = {
        "status": "evaluated",
        "retrieved": ranked[: max(ks)],
        "gold_ranks": {g: (int(r) if r != float("inf") else None) for g, r in zip(gold, ranks)},
        "metrics": {f"{m}@{k}": float(v[j]) for m, v in values.items() for j, k in enumerate(ks)},
        "trace_id": res.trace.id,
        "as_of_s": res.trace.time_s,
    }
    if keep_traces:
        rec["trace"] = res.trace.to_dict()
    times["recall"] += time.perf_counter() - t
    return rec


__all__ = ["LONGMEMEVAL_KS", "USER_STORE_SUFFIX", "run_longmemeval"]
