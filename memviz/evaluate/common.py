"""What both benchmark runners share: one store per conversation/haystack (or one for all, by scope), resumable
ingestion, the questions' embeddings in one batch, the recall configuration, and the traces of past runs.

Evaluation never reinforces (``reinforce=False``): measuring must not change what is measured. Each group
(a LoCoMo conversation, a LongMemEval haystack) lives in its own store ``<db>/<group>``, or, with ``one_store``,
every group lives in the one store ``<db>/all-groups`` in its own scope (the importers give each group's
memories the group's name as their scope) and each question recalls within its group's scope
(:func:`scoped_config`). A store that already holds the group's memories is reused as it is, so a second run
only recalls.
"""

from __future__ import annotations

import os
import re
from collections import defaultdict
from collections.abc import Callable, Mapping, Sequence
from dataclasses import asdict, replace
from pathlib import Path
from typing import Any

import numpy as np

from memviz import text as text_mod
from memviz.clock import SimulatedClock
from memviz.embed import Embedder
from memviz.engine import MemoryEngine, RecallConfig, clock_start_for
from memviz.errors import ConfigError, StoreError, StoreNotFoundError
from memviz.evaluate.metrics import gold_ranks, mean_metrics, recall_at
from memviz.events import RecallEvent
from memviz.models import MemoryInput, Trace
from memviz.recall.presets import preset_config
from memviz.rerank import Reranker
from memviz.store import MemoryStore
from memviz.store.settings import DEFAULT, StoreSettings

# progress(stage, done, total): stage is "ingesting <group>" or "recalling the questions".
Progress = Callable[[str, int, int], None]


class PrimedEmbedder:
    """An :class:`~memviz.embed.Embedder` that encodes the evaluation's questions in one batch ahead of
    their recalls (:meth:`prime`) and serves them from memory; any other text goes to the wrapped model."""

    def __init__(self, inner: Embedder):
        self.inner = inner
        self.dim = inner.dim
        self.name = inner.name
        self._cache: dict[str, np.ndarray] = {}

    def prime(self, queries: Sequence[str]) -> None:
        """Encode the (normalised) ``queries`` not seen yet, in one batch."""
        new = [q for q in dict.fromkeys(text_mod.normalise(q) for q in queries) if q not in self._cache]
        if new:
            self._cache.update(zip(new, self.inner.encode(new)))

    def encode(self, texts: list[str]) -> np.ndarray:
        if texts and all(t in self._cache for t in texts):
            return np.stack([self._cache[t] for t in texts])
        return self.inner.encode(texts)


ONE_STORE = "all-groups"  # the store of every group, under db, with one_store


def store_name(group: str, one_store: bool, suffix: str = "") -> str:
    """The name of the store (its folder under the evaluation's db, :func:`store_dir`) that holds ``group``:
    the group's own, or :data:`ONE_STORE` (``suffix`` added: a store of a subset of each group's memories)."""
    return (ONE_STORE if one_store else group) + suffix


def scoped_config(cfg: RecallConfig, group: str, one_store: bool) -> RecallConfig:
    """``cfg`` recalling within ``group``'s scope when every group shares one store, else ``cfg`` (the group's
    own store holds it alone)."""
    return replace(cfg, scope=group) if one_store else cfg


def store_dir(db: str | os.PathLike[str], group: str) -> Path:
    """The folder of ``group``'s store under ``db`` (characters unsafe in a file name become ``_``)."""
    return Path(db) / re.sub(r"[^\w.-]", "_", group)


def group_engine(
    db: str | os.PathLike[str],
    group: str,
    embedder: Embedder,
    settings: StoreSettings | None = None,
    reranker: Reranker | None = None,
    opened: dict[str, MemoryEngine] | None = None,
) -> MemoryEngine:
    """An engine on ``group``'s own store under ``db`` (created if missing, with ``settings`` and the embedder's
    name; an existing one must have been made with ``settings`` when given), reranking with ``reranker``; the
    one in ``opened`` (engines by store name, added to) when given and there, so that a store every question
    uses is opened, and its vector index loaded, once. Raises StoreError, SettingsMismatchError,
    EmbedderMismatchError."""
    if opened is not None and group in opened:
        return opened[group]
    path = store_dir(db, group)
    if path.exists() and not path.is_dir():
        raise StoreError(f"{path} exists and is not a folder")
    made = (settings or DEFAULT).with_embedder(embedder.name, embedder.dim)
    store = MemoryStore(path, settings=made, require_settings=settings is not None)
    engine = MemoryEngine(store, embedder, SimulatedClock(clock_start_for(store)), reranker=reranker)
    if opened is not None:
        opened[group] = engine
    return engine


def setup_info(engine: MemoryEngine) -> dict[str, Any]:
    """What a result records of the stores' making and the reranker: ``{"settings": {...}, "reranker": name}``."""
    return {
        "settings": engine.store.settings.to_dict(),
        "reranker": engine.reranker.name if engine.reranker is not None else None,
    }


def ensure_ingested(
    engine: MemoryEngine,
    items: Sequence[MemoryInput],
    source: dict[str, Any],
    progress: Progress | None = None,
    label: str = "ingesting",
) -> int:
    """Write the ``items`` the store does not hold yet (ids are stable), reporting ``progress(label, done, total)``
    from 0 on (the first window's embedding takes a while before its first batch commits). Returns how many were
    written."""
    have = engine.store.existing_ids([i.id for i in items if i.id])
    todo = [i for i in items if i.id not in have]
    if not todo:
        return 0
    cb = (lambda done, total: progress(label, done, total)) if progress else None
    if cb:
        cb(0, len(todo))
    reports = engine.ingest(todo, source=source, progress=cb)
    return sum(len(r.items) for r in reports)


def eval_config(preset: str, k: int, candidates: int | None = None) -> RecallConfig:
    """The preset's config for evaluation: ``k`` hits, never reinforcing, each recall recorded with its trace
    in the group's own store (so a question's trace can be reopened, :func:`find_trace`). Raises ConfigError."""
    overrides: dict[str, Any] = {"k": k, "reinforce": False, "record": True}
    if candidates is not None:
        overrides["candidates"] = candidates
    return preset_config(preset, **overrides)


def as_of(cfg: RecallConfig, time_s: float) -> RecallConfig:
    """``cfg`` recalling as of ``time_s`` (the simulated "now" of one question: recency and retention then). The
    whole store stays searchable (``as_of_pool=False``): the benchmarks rank the whole haystack, and LongMemEval
    dates some evidence sessions after their question (43 of the oracle's 500 questions, 1 of dev30)."""
    return replace(cfg, as_of_s=float(time_s), as_of_pool=False)


def no_decay_record(
    engine: MemoryEngine,
    question: str,
    cfg: RecallConfig,
    time_s: float,
    gold: Sequence[str],
    ranked: Sequence[str],
    ks: Sequence[int],
) -> dict[str, Any]:
    """The question recalled a second time as of ``time_s`` without decay (:meth:`RecallConfig.without_decay`, as
    the replay asks its questions; a pure read: nothing reinforced or recorded), beside its recall with decay
    (``ranked``): ``retrieved_no_decay``, ``gold_ranks_no_decay``, ``metrics_no_decay`` (recall@k) and
    ``suppressed_by_decay`` ({"k": the gold ids in the top k without decay but not with it})."""
    plain = replace(as_of(cfg, time_s), record=False, reinforce=False).without_decay()
    ranked0 = [c.id for c in engine.recall(question, plain).trace.stage("final").candidates]
    ranks0 = gold_ranks(ranked0, gold)
    return {
        "retrieved_no_decay": ranked0,
        "gold_ranks_no_decay": {g: (int(r) if r != float("inf") else None) for g, r in zip(gold, ranks0)},
        "metrics_no_decay": {f"recall@{k}": float(v) for k, v in zip(ks, recall_at(ranks0, ks))},
        "suppressed_by_decay": {
            str(k): [g for g in gold if g in set(ranked0[:k]) and g not in set(ranked[:k])] for k in ks
        },
    }


def no_decay_summary(
    records: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None, apart: Sequence[str] = ()
) -> dict[str, Any]:
    """``overall_no_decay`` and ``by_category_no_decay`` (as :func:`aggregate`, over ``metrics_no_decay``) and
    ``gold_suppressed_by_decay`` ({"k": gold ids suppressed over the evaluated questions, ``apart`` left out})."""
    with_nd = [r for r in records if r["status"] == "evaluated" and "metrics_no_decay" in r]
    if not with_nd:
        return {}
    overall, by_category = aggregate([dict(r) | {"metrics": r["metrics_no_decay"]} for r in with_nd], names, apart)
    ks = list(with_nd[0]["suppressed_by_decay"])
    kept = [r for r in with_nd if r["category"] not in apart]
    return {
        "overall_no_decay": overall,
        "by_category_no_decay": by_category,
        "gold_suppressed_by_decay": {k: sum(len(r["suppressed_by_decay"][k]) for r in kept) for k in ks},
    }


def config_dict(cfg: RecallConfig) -> dict[str, Any]:
    """The evaluation config as JSON-ready data (without the per-question ``as_of_s``)."""
    out = asdict(cfg) | {"weights": dict(cfg.weights), "retrievers": list(cfg.retrievers)}
    out.pop("as_of_s")
    return out


def aggregate(
    records: Sequence[Mapping[str, Any]], names: Mapping[str, str] | None = None, apart: Sequence[str] = ()
) -> tuple[dict[str, float], dict[str, dict[str, Any]]]:
    """(overall, by_category) means of the evaluated records' ``metrics``; categories in ``apart`` are left
    out of ``overall``. Each category entry has ``name``, ``n`` and the metric means."""
    by_cat: dict[str, list[Mapping[str, float]]] = defaultdict(list)
    main = []
    for r in records:
        if r["status"] == "evaluated":
            by_cat[r["category"]].append(r["metrics"])
            if r["category"] not in apart:
                main.append(r["metrics"])
    by_category = {
        c: {"name": (names or {}).get(c, c), "n": len(rows)} | mean_metrics(rows) for c, rows in sorted(by_cat.items())
    }
    return mean_metrics(main), by_category


def timing(total_s: float, ingest_s: float, recall_s: float, n_recalls: int) -> dict[str, float]:
    """Run times in seconds, and the mean recall time per question in ms."""
    return {
        "total_s": round(total_s, 2),
        "ingest_s": round(ingest_s, 2),
        "recall_s": round(recall_s, 2),
        "recall_ms_per_question": round(1000 * recall_s / max(n_recalls, 1), 1),
    }


def parse_ks(text: str | Sequence[int]) -> tuple[int, ...]:
    """Cut-offs from ``"1,5,10"`` (or a sequence): sorted, distinct, each >= 1. Raises ConfigError."""
    try:
        ks = [int(x) for x in (text.split(",") if isinstance(text, str) else text) if str(x).strip()]
    except ValueError:
        raise ConfigError(f"k values must be whole numbers separated by commas, got {text!r}") from None
    if not ks or min(ks) < 1:
        raise ConfigError(f"k values must be whole numbers >= 1, got {text!r}")
    return tuple(sorted(set(ks)))


def find_trace(store_path: str | Path, trace_id: str) -> Trace | None:
    """The trace ``trace_id`` recorded in the store at ``store_path`` (from its recall events), or None."""
    path = Path(store_path)
    if not path.is_dir():
        return None
    try:
        store = MemoryStore(path, create=False)  # a read: a folder without a store is not made one
    except StoreNotFoundError:
        return None
    for event in reversed(store.list_events(ops=["recall"])):
        if isinstance(event, RecallEvent) and event.trace.get("id") == trace_id:
            return event.to_trace()
    return None


__all__ = [
    "ONE_STORE",
    "PrimedEmbedder",
    "Progress",
    "aggregate",
    "as_of",
    "config_dict",
    "ensure_ingested",
    "eval_config",
    "find_trace",
    "group_engine",
    "setup_info",
    "no_decay_record",
    "no_decay_summary",
    "parse_ks",
    "scoped_config",
    "store_dir",
    "store_name",
    "timing",
]
