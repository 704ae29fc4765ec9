"""LoCoMo retrieval evaluation, the paper's protocol (Maharana et al., ACL 2024, Table 3).

Each conversation is ingested into its own store, or with ``one_store`` all into one store, each conversation
in its own scope (one memory per dialogue turn, embedded as ``{speaker} said, "{text}"``); each question is
recalled once, within its conversation (its store, or its scope), as of the end of its conversation, with
k = the largest cut-off; recall@k is the share of the question's evidence turns in the top k. "overall" averages
categories 1-4 (1 multi-hop, 2 temporal, 3 open-domain, 4 single-hop); category 5 (adversarial) is reported
apart. Each question is also recalled without decay (a pure read, :meth:`RecallConfig.without_decay`): its
``metrics_no_decay`` and ``suppressed_by_decay`` (per k, the gold turns in the top k without decay but not with
it). Questions without evidence are skipped; evidence strings that name no turn ("D", "D10:19" in a
conversation without it) are dropped from the gold set and counted, and a question left with no gold turn is
skipped as malformed.

With an audit of the answer key (:mod:`memviz.evaluate.audit`) each evaluated question is scored twice: against
the official evidence (``recall@k``) and against the audited evidence (``recall@k_audited``: the audit's
evidence where it changes the official one, else the official one). The run ends with ``coverage`` and ``hubs``
(:mod:`memviz.evaluate.coverage`).
"""

from __future__ import annotations

import os
import time
from collections import Counter
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from memviz.embed import Embedder
from memviz.engine import clock_start_for
from memviz.errors import SchemaError
from memviz.evaluate import metrics
from memviz.evaluate.audit import AuditEntry, audited_gold, load_audit, same_question
from memviz.evaluate.common import (
    PrimedEmbedder,
    Progress,
    aggregate,
    as_of,
    config_dict,
    ensure_ingested,
    eval_config,
    group_engine,
    no_decay_record,
    no_decay_summary,
    scoped_config,
    setup_info,
    store_dir,
    store_name,
    timing,
)
from memviz.evaluate.coverage import COVERAGE_K, coverage, hubs
from memviz.importers import Question, load
from memviz.models import MemoryInput
from memviz.rerank import Reranker
from memviz.store.settings import StoreSettings

LOCOMO_KS: tuple[int, ...] = (1, 5, 10, 25, 50)
CATEGORIES: dict[str, str] = {
    "1": "multi-hop",
    "2": "temporal",
    "3": "open-domain",
    "4": "single-hop",
    "5": "adversarial",
}
ADVERSARIAL = "5"


def run_locomo(
    path: str | os.PathLike[str],
    db: str | os.PathLike[str],
    ks: Sequence[int] = LOCOMO_KS,
    preset: str = "default",
    limit: int | None = None,
    progress: Progress | None = None,
    embedder: Embedder | None = None,
    keep_traces: bool = False,
    audit_path: str | os.PathLike[str] | None = None,
    coverage_k: int = COVERAGE_K,
    settings: StoreSettings | None = None,
    reranker: Reranker | None = None,
    one_store: bool = False,
) -> dict[str, Any]:
    """Evaluate recall@k on the LoCoMo file at ``path`` with scoring ``preset``; stores go under ``db``: one per
    conversation, or with ``one_store`` one for all (:func:`memviz.evaluate.common.store_name`), each question
    recalling in its conversation's scope.

    ``limit``: only the first N questions of the file (and only the conversations they need are ingested).
    ``keep_traces`` adds each question's full trace to its record. ``audit_path``: an audit of the answer key
    (:mod:`memviz.evaluate.audit`); each question is then scored against the official evidence and, where the
    audit changes it, against the audited evidence too (``recall@k_audited``). ``coverage_k``: the cut-off of
    ``coverage`` and ``hubs`` (:mod:`memviz.evaluate.coverage`). Returns the result object (see
    ``docs/recall_and_evaluation.md``): ``overall`` maps ``"recall@k"`` (and ``"recall@k_audited"``) to the mean
    over categories 1-4. ``settings``: the stores' (new ones are made with them, existing ones must have them;
    see :func:`memviz.evaluate.common.group_engine`); ``reranker``: a rerank stage in each recall; the result's
    ``settings`` and ``reranker`` say what was used. Raises SchemaError (bad file or audit, an audit entry whose
    question differs from the file's), ConfigError (bad preset or k), StoreError.
    """
    from memviz.embed import MiniLMEmbedder

    t0 = time.perf_counter()
    ks = tuple(ks)
    data = load(path, "locomo")
    questions = data.questions[:limit] if limit else data.questions
    audit = _checked_audit(audit_path, questions) if audit_path is not None else None
    emb = PrimedEmbedder(embedder or MiniLMEmbedder())
    cfg = eval_config(preset, k=max(ks))
    records: list[dict[str, Any]] = []
    setup: dict[str, Any] = {}
    ingest_s = recall_s = 0.0
    written = 0
    done = 0
    opened: dict[str, Any] = {}
    groups = list(dict.fromkeys(q.group for q in questions))
    for group in groups:
        t = time.perf_counter()
        store = store_name(group, one_store)
        engine = group_engine(db, store, emb, settings, reranker, opened)
        setup = setup_info(engine)
        source = {"path": os.path.abspath(path), "format": "locomo"}
        written += ensure_ingested(engine, data.groups[group], source, progress, f"ingesting {group}")
        now = clock_start_for(engine.store, scope=group if one_store else None)
        group_cfg = scoped_config(cfg, group, one_store)
        ingest_s += time.perf_counter() - t
        t = time.perf_counter()
        turns = {str(m.source_id): m for m in data.groups[group]}
        qs = [q for q in questions if q.group == group]
        emb.prime([q.question for q in qs])
        for q in qs:
            rec: dict[str, Any] = {
                "id": q.id,
                "group": q.group,
                "category": q.category,
                "category_name": CATEGORIES.get(q.category, q.category),
                "question": q.question,
                "answer": q.answer,
                "evidence": list(q.evidence_ids),
                "malformed_evidence": list(q.malformed_evidence),
                "store": str(store_dir(db, store)),
            }
            if not q.evidence_ids:
                rec |= {"status": "malformed" if q.malformed_evidence else "no_evidence", "metrics": None}
            else:
                res = engine.recall(q.question, as_of(group_cfg, now))
                ranked = [c.id for c in res.trace.stage("final").candidates]
                rec |= {"status": "evaluated", "retrieved": ranked} | _scores(ranked, q.evidence_ids, ks)
                rec |= {"trace_id": res.trace.id, "as_of_s": now}
                if audit is not None:
                    rec |= _audited(audit.get(q.id), q.evidence_ids, turns, ranked, ks, rec["metrics"])
                rec |= no_decay_record(engine, q.question, group_cfg, now, q.evidence_ids, ranked, ks)
                if keep_traces:
                    rec["trace"] = res.trace.to_dict()
            records.append(rec)
            done += 1
            if progress:
                progress("recalling the questions", done, len(questions))
        recall_s += time.perf_counter() - t
    memories = {str(m.id): m.text for g in groups for m in data.groups[g]}
    result = (
        setup
        | {"one_store": one_store}
        | _summary(
            records,
            ks,
            path,
            db,
            preset,
            cfg,
            emb.name,
            (written, data.skipped),
            ingest_s,
            recall_s,
            time.perf_counter() - t0,
        )
    )
    if audit_path is not None and audit is not None:
        result["audit"] = _audit_summary(audit_path, audit, records)
    return result | {"coverage": coverage(records, memories, coverage_k), "hubs": hubs(records, memories, coverage_k)}


def _checked_audit(audit_path: str | os.PathLike[str], questions: Sequence[Question]) -> dict[str, AuditEntry]:
    """The audit at ``audit_path``; SchemaError if an entry names a question of ``questions`` whose text differs
    (the audit of another file)."""
    audit = load_audit(audit_path)
    for q in questions:
        entry = audit.get(q.id)
        if entry is not None and not same_question(entry.question, q.question):
            raise SchemaError(
                f"{Path(audit_path).name}: {entry.audit_id} asks {entry.question!r} but {q.id} of the data file "
                f"asks {q.question!r}: is it the audit of this file?"
            )
    return audit


def _scores(ranked: Sequence[str], gold: Sequence[str], ks: Sequence[int]) -> dict[str, Any]:
    """``gold_ranks`` (gold id -> 1-based rank, None when not retrieved) and ``metrics`` (recall@k) of ``gold``."""
    ranks = metrics.gold_ranks(ranked, gold)
    return {
        "gold_ranks": {g: (int(r) if r != float("inf") else None) for g, r in zip(gold, ranks)},
        "metrics": {f"recall@{k}": float(v) for k, v in zip(ks, metrics.recall_at(ranks, ks))},
    }


def _audited(
    entry: AuditEntry | None,
    official: Sequence[str],
    turns: Mapping[str, MemoryInput],
    ranked: Sequence[str],
    ks: Sequence[int],
    official_metrics: Mapping[str, float],
) -> dict[str, Any]:
    """What an audit adds to a question's record: ``evidence_audited``, the entry (``audit``), the audited
    gold's ranks (``gold_ranks_audited``, when the audit changes the evidence) and ``metrics`` with each
    ``recall@k_audited`` beside ``recall@k`` (the same value when the audit keeps the evidence; left out when
    the auditors cite no turn)."""
    gold, malformed = audited_gold(entry, official, turns)
    out: dict[str, Any] = {"evidence_audited": gold}
    audited_metrics: Mapping[str, float] = official_metrics
    if entry is not None:
        out["audit"] = entry.to_dict() | {"malformed_evidence": malformed}
        if entry.changes_evidence:
            scored = _scores(ranked, gold, ks) if gold else {"gold_ranks": {}, "metrics": {}}
            out["gold_ranks_audited"], audited_metrics = scored["gold_ranks"], scored["metrics"]
    out["metrics"] = dict(official_metrics) | {f"{m}_audited": v for m, v in audited_metrics.items()}
    return out


def _audit_summary(
    audit_path: str | os.PathLike[str], audit: Mapping[str, AuditEntry], records: Sequence[Mapping[str, Any]]
) -> dict[str, Any]:
    """The audit's file and how it met the evaluated questions: ``entries`` in the file, ``audited`` (evaluated
    questions it flags), ``evidence_changed``, ``no_audited_evidence`` (the auditors cite no turn: out of the
    audited means), ``by_error_type`` and ``not_in_run`` (entries naming no question evaluated here)."""
    flagged = [r for r in records if "audit" in r]
    changed = [r for r in flagged if r["audit"]["changes_evidence"]]
    return {
        "file": str(Path(audit_path).resolve()),
        "entries": len(audit),
        "audited": len(flagged),
        "evidence_changed": len(changed),
        "no_audited_evidence": sum(not r["evidence_audited"] for r in changed),
        "by_error_type": dict(Counter(r["audit"]["error_type"] for r in flagged).most_common()),
        "not_in_run": len(audit) - len(flagged),
    }


def _summary(records, ks, path, db, preset, cfg, embedder_name, written, ingest_s, recall_s, total_s) -> dict[str, Any]:
    overall, by_category = aggregate(records, CATEGORIES, apart=[ADVERSARIAL])
    evaluated = [r for r in records if r["status"] == "evaluated"]
    return {
        "benchmark": "locomo",
        "file": str(Path(path).resolve()),
        "db": str(Path(db).resolve()),
        "preset": preset,
        "config": config_dict(cfg),
        "embedder": embedder_name,
        "ks": list(ks),
        "overall": overall,
        "by_category": by_category,
        "adversarial": by_category.get(ADVERSARIAL, {}),
        **no_decay_summary(records, CATEGORIES, [ADVERSARIAL]),
        "counts": {
            "questions": len(records),
            "evaluated": sum(r["category"] != ADVERSARIAL for r in evaluated),
            "adversarial": sum(r["category"] == ADVERSARIAL for r in evaluated),
            "no_evidence": sum(r["status"] == "no_evidence" for r in records),
            "malformed_skipped": sum(r["status"] == "malformed" for r in records),
            "with_malformed_ids": sum(bool(r["malformed_evidence"]) for r in records),
            "malformed_ids": sum(len(r["malformed_evidence"]) for r in records),
            "memories_written": written[0],
            "memories_left_out_empty": written[1],
        },
        "timing": timing(total_s, ingest_s, recall_s, len(evaluated)),
        "questions": records,
    }


__all__ = ["CATEGORIES", "LOCOMO_KS", "run_locomo"]
