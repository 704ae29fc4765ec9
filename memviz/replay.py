"""Replay a conversation data set turn by turn, as an agent lives it: recall, reinforce, write, link, decay.

For each group of a data set (a LoCoMo conversation, a LongMemEval haystack, a MemoryBank user, the JSONL
file), in its own store ``<db>/<group>`` as evaluation does (:func:`memviz.evaluate.common.store_dir`):

1. The turns are put in time order: sessions by their first turn's time, turns in their session's order.
2. Before a turn is written, the agent recalls with the turn's text as the query, as an agent fetching
   context for its reply, at the turn's own time. This recall **reinforces** its hits (an agent's recall
   strengthens what it used; :attr:`ReplayConfig.recall` has ``reinforce=True``) and is logged as a
   ``recall`` event with its whole trace, followed by the ``reinforce`` events of its hits.
3. Then the turn is written and linked (``write`` and ``link`` events).

What the replay models, and what it saves (modelling choices, labelled as such):

- **Sessions are written at their end.** The turns of one session are recalled one by one, each at its own
  time, then written together in one batch when the session ends: the current session is the agent's
  context window, long-term memory holds the sessions before it (as MemoryBank writes each day's memory at
  its end). So a turn's recall sees every earlier session, never its own session: a turn never recalls
  itself. The recalls of a session are scored against the store as it was at the session's start; their
  reinforcements are applied in turn order (each from the stability and retention the previous one left).
- **No second encoder pass.** A turn's query vector is its memory vector (``{speaker} said, "{text}"``,
  :func:`memviz.write.embedding_text`), embedded in windows of 2,048 texts as ingest does; the recall's
  full-text (BM25) query is the turn's text.
- **The clock.** Each recall is made, and its event dated, at its turn's time (``trace.time_s``); the
  store's clock is set (one ``clock`` event) to each session's last turn time before the session is written,
  so a session's memories are created then. One clock event per session rather than per turn: for LoCoMo
  conv-26, 19 instead of 419 (see ``docs/performance.md``).
- **Questions** (``questions=True``): each data set question is asked at its own time (LongMemEval's
  ``question_date``, before the first session after it is replayed; LoCoMo's and MemoryBank's after the last
  session), twice: with decay in the score (the replay's weights) and without (the ``retention`` weight and
  ``min_retention`` gate set to 0; recency, which counts hours since the last access, stays). These are
  evaluation: pure reads that never reinforce, recorded with their traces as ``memviz eval`` records its.

Resuming: every step is all or nothing and marked in the log. A session's recalls, their ``recall`` events and
their reinforcements are one journalled operation (:mod:`memviz.store.journal`); each recall event's trace
carries ``config["replay"] = {"turn": <memory id>}``. The session's write is one batch (all or nothing). A
rerun skips the turns whose recall is logged (it never recalls them again) and the turns already stored (never
written again); a stored turn is never recalled. Questions carry ``{"question": id, "decay": bool}`` and are
not asked again; their results are read back from the log. Killed between a session's recalls and its write,
a rerun only writes it. Nothing is done twice.
"""

from __future__ import annotations

import os
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field, replace
from typing import Any

import numpy as np

from memviz.embed import Embedder
from memviz.engine import MemoryEngine
from memviz.evaluate.common import group_engine, store_dir
from memviz.events import RecallEvent
from memviz.importers import Dataset, Format, Question, load
from memviz.lifecycle import reinforcements
from memviz.models import MemoryInput, RecallResult
from memviz.recall import pipeline
from memviz.recall.config import RecallConfig
from memviz.store import MemoryStore
from memviz.text import normalise
from memviz.write import Batch, Embedded

# The Forgetting page's default forget threshold (its "Forget threshold" slider, app_pages/forgetting.py).
FORGET_THRESHOLD = 0.1
QUESTION_K = 10
LOCOMO_ADVERSARIAL = "5"  # left out of the means, as memviz eval does (no answer in the conversation)

Progress = Callable[[int, int], None]


@dataclass(frozen=True)
class ReplayConfig:
    """A replay's settings.

    - ``recall_k``: hits of each turn's recall (>= 1), all reinforced.
    - ``recall``: the recall settings of the turns (default :class:`RecallConfig` with ``k = recall_k``,
      reinforcing and recorded) and, with ``reinforce=False``, of the questions.
    - ``questions``: ask the data set's questions at their time, with and without decay.
    - ``batch_size``: most turns per write batch (a session longer than that is written in several).
    - ``embed_window``: texts per encoder call (2,048, as ingest).
    - ``groups``: only these groups (all when empty).
    """

    recall_k: int = 5
    recall: RecallConfig = field(default_factory=RecallConfig)
    questions: bool = False
    batch_size: int = 256
    embed_window: int = 2048
    groups: tuple[str, ...] = ()

    def turn_config(self) -> RecallConfig:
        return replace(self.recall, k=self.recall_k, reinforce=True, record=True, as_of_s=None).validated()

    def question_configs(self, time_s: float) -> tuple[RecallConfig, RecallConfig]:
        """The question recalls at ``time_s``: (with decay, without decay), pure reads that are recorded."""
        base = replace(self.recall, k=QUESTION_K, reinforce=False, record=True, as_of_s=float(time_s))
        return base.validated(), base.without_decay().validated()


@dataclass
class QuestionResult:
    """One question asked with and without decay: the top-10 ids of each, gold ids, recall@10 of each (None
    without gold), and ``suppressed``: the gold ids in the no-decay top 10 but not in the decay top 10."""

    id: str
    group: str
    category: str
    time_s: float
    gold: list[str]
    decay_top: list[str]
    no_decay_top: list[str]
    trace_ids: tuple[str, str]
    evaluated: bool

    @property
    def suppressed(self) -> list[str]:
        top = set(self.decay_top)
        return [g for g in self.gold if g in self.no_decay_top and g not in top]

    def recall_at_10(self, decay: bool) -> float | None:
        if not self.gold:
            return None
        top = set(self.decay_top if decay else self.no_decay_top)
        return sum(g in top for g in self.gold) / len(self.gold)


@dataclass
class GroupResult:
    """One group's replay: its store, turns in the data, memories stored, turn recalls logged (all runs),
    memories recalled at least once, the end time and every memory's retention then."""

    group: str
    store: str
    turns: int
    memories: int
    recalls: int
    reinforced: int
    end_s: float
    retention_end: np.ndarray


@dataclass
class ReplayResult:
    """A replay's result; :meth:`summary` is the ``replay --json`` object."""

    groups: list[GroupResult]
    questions: list[QuestionResult]
    duration_s: float
    threshold: float = FORGET_THRESHOLD

    def summary(self) -> dict[str, Any]:
        """``{"memories", "turns", "recalls", "reinforced_memories", "share_above_forget_threshold",
        "retention_end": {"p10", "p50", "p90"}, "duration_s", "questions": {"n", "recall@10_decay",
        "recall@10_no_decay", "gold_suppressed_by_decay"}}``; recall@10 means over the evaluated questions
        (None when there are none)."""
        ret = np.concatenate([g.retention_end for g in self.groups]) if self.groups else np.zeros(0)
        pct = np.percentile(ret, [10, 50, 90]).tolist() if ret.size else [None] * 3
        qs = [q for q in self.questions if q.evaluated]

        def mean(decay: bool) -> float | None:
            return round(float(np.mean([q.recall_at_10(decay) for q in qs])), 4) if qs else None

        return {
            "memories": sum(g.memories for g in self.groups),
            "turns": sum(g.turns for g in self.groups),
            "recalls": sum(g.recalls for g in self.groups),
            "reinforced_memories": sum(g.reinforced for g in self.groups),
            "share_above_forget_threshold": round(float((ret >= self.threshold).mean()), 4) if ret.size else None,
            "retention_end": dict(zip(("p10", "p50", "p90"), [None if p is None else round(p, 4) for p in pct])),
            "duration_s": round(self.duration_s, 2),
            "questions": {
                "n": len(qs),
                "recall@10_decay": mean(True),
                "recall@10_no_decay": mean(False),
                "gold_suppressed_by_decay": sum(len(q.suppressed) for q in qs),
            },
        }


class _GivenVector:
    """An embedder that returns the vector it was given for the next single-text encode (the turn's own
    memory vector) and sends anything else to ``inner``."""

    def __init__(self, inner: Embedder):
        self.inner, self.dim, self.name = inner, inner.dim, inner.name
        self.pending: np.ndarray | None = None
        self.known: dict[str, np.ndarray] = {}  # the questions' vectors, encoded in one call

    def encode(self, texts: list[str]) -> np.ndarray:
        vec, self.pending = self.pending, None
        if vec is not None and len(texts) == 1:
            return vec[None, :]
        return self.inner.encode(texts)


def time_ordered_steps(items: Sequence[MemoryInput], batch_size: int = 256) -> list[list[MemoryInput]]:
    """``items`` as steps in time order: one step per session (sessions by their earliest turn time, turns in
    file order; a turn without a session is a step of its own; a step longer than ``batch_size`` is split).
    A turn without a time takes the time of the turn before it in the file."""
    times, last = [], -np.inf
    for m in items:
        last = m.event_time_s if m.event_time_s is not None else last
        times.append(last)
    keys = [m.session_id or f"#{n}" for n, m in enumerate(items)]
    start: dict[str, tuple[float, int]] = {}
    for n, (k, t) in enumerate(zip(keys, times, strict=True)):
        start[k] = min(start.get(k, (t, n)), (t, n))
    order = sorted(range(len(items)), key=lambda n: (start[keys[n]], n))
    steps: list[list[MemoryInput]] = []
    prev = None
    for n in order:
        if keys[n] != prev or len(steps[-1]) >= batch_size:
            steps.append([])
        steps[-1].append(items[n])
        prev = keys[n]
    return steps


def replay(
    path: str | os.PathLike[str],
    fmt: Format,
    db: str | os.PathLike[str],
    config: ReplayConfig = ReplayConfig(),
    embedder: Embedder | None = None,
    progress: Progress | None = None,
    engine_factory: Callable[[str, Embedder], MemoryEngine] | None = None,
) -> ReplayResult:
    """Replay the data set at ``path`` (format ``fmt``) into one store per group under ``db`` (see the
    module docstring); a rerun resumes. ``progress(done, total)`` counts turns. ``engine_factory(group,
    embedder)`` makes a group's engine (default: :func:`memviz.evaluate.common.group_engine`, whose engine
    reinforces by :class:`memviz.spacing.SpacingRule`). Raises SchemaError, ConfigError, StoreError."""
    from memviz.embed import MiniLMEmbedder

    t0 = time.perf_counter()
    data = load(path, fmt)
    groups = [g for g in data.groups if not config.groups or g in config.groups]
    emb = embedder or MiniLMEmbedder()
    make = engine_factory or (lambda g, e: group_engine(db, g, e))
    total = sum(len(data.groups[g]) for g in groups)
    done = [0]

    def tick(n: int) -> None:
        done[0] += n
        if progress:
            progress(done[0], total)

    if progress:
        progress(0, total)
    source = {"path": os.path.abspath(path), "format": fmt, "replay": True}
    results, questions = [], []
    for g in groups:
        engine = make(g, emb)
        qs = [q for q in data.questions if q.group == g] if config.questions else []
        r, q = _replay_group(engine, g, data.groups[g], qs, data, config, source, tick)
        r.store = str(store_dir(db, g)) if engine_factory is None else engine.store.uri
        results.append(r)
        questions += q
    return ReplayResult(results, questions, time.perf_counter() - t0)


def _replay_group(
    engine: MemoryEngine,
    group: str,
    items: list[MemoryInput],
    questions: list[Question],
    data: Dataset,
    config: ReplayConfig,
    source: dict[str, Any],
    tick: Callable[[int], None],
) -> tuple[GroupResult, list[QuestionResult]]:
    store = engine.store
    given = _GivenVector(engine.embedder)
    turn_cfg = config.turn_config()
    recalled, asked = _replay_marks(store)
    steps = time_ordered_steps(items, config.batch_size)
    stored = store.existing_ids([m.id for m in items if m.id])
    pending = sorted(questions, key=lambda q: (q.time_s is None, q.time_s or 0.0))
    answers: list[QuestionResult] = []
    todo_q = list(dict.fromkeys(normalise(q.question) for q in pending if (q.id, True) not in asked))
    given.known = dict(zip(todo_q, engine.embedder.encode(todo_q))) if todo_q else {}  # one encoder call
    end_s = max((m.event_time_s for m in items if m.event_time_s is not None), default=engine.clock.now())
    # No deferred full-text index (as ingest has): the turns search the store between writes, and a write
    # rebuilds the index once TEXT_INDEX_LAG_ROWS rows wait for it (memviz.store.search).
    window: list[list[MemoryInput]] = []
    for n, step in enumerate(steps):
        window.append(step)
        size = sum(len(s) for s in window)
        if n + 1 < len(steps) and size + len(steps[n + 1]) <= config.embed_window:
            continue
        _run_window(engine, given, window, stored, recalled, turn_cfg, source, pending, answers, asked, config, tick)
        window = []
    while pending:  # the questions after the last session
        q = pending.pop(0)
        answers.append(_ask(engine, given, q, end_s if q.time_s is None else q.time_s, config, asked, data.format))
    frame = engine.retention_frame(now_s=end_s)
    result = GroupResult(
        group=group,
        store=store.uri,
        turns=len(items),
        memories=len(frame),
        recalls=len(recalled),  # this run's and the earlier runs' turn recalls
        reinforced=int((frame["recall_count"].fillna(0) > 0).sum()) if len(frame) else 0,
        end_s=end_s,
        retention_end=frame["retention"].to_numpy(dtype=np.float64) if len(frame) else np.zeros(0),
    )
    return result, answers


def _run_window(
    engine: MemoryEngine,
    given: _GivenVector,
    window: list[list[MemoryInput]],
    stored: set[str],
    recalled: set[str],
    turn_cfg: RecallConfig,
    source: dict[str, Any],
    pending: list[Question],
    answers: list[QuestionResult],
    asked: dict[tuple[str, bool], dict[str, Any]],
    config: ReplayConfig,
    tick: Callable[[int], None],
) -> None:
    """Embed the window's unstored turns in one encoder call, then replay its steps one by one."""
    writer = engine.writer
    todo = [[m for m in step if m.id not in stored] for step in window]
    batches = [writer.prepare(t, "skip") for t in todo if t]
    emb = writer.embed(batches) if batches else None
    at = 0
    b = 0
    for step, t in zip(window, todo, strict=True):
        step_start = min((m.event_time_s for m in step if m.event_time_s is not None), default=None)
        while pending and step_start is not None and (q_time := pending[0].time_s) is not None and q_time < step_start:
            answers.append(_ask(engine, given, pending.pop(0), q_time, config, asked, str(source["format"])))
        if not t or emb is None:
            tick(len(step))
            continue
        batch = batches[b]
        vecs = emb.vecs[at : at + len(batch.ids)]
        _recall_step(engine, given, batch, vecs, recalled, turn_cfg)
        _write_step(engine, batch, emb.slice(slice(at, at + len(batch.ids))), source)
        stored.update(batch.ids)
        at += len(batch.ids)
        b += 1
        tick(len(step))


def _write_step(engine: MemoryEngine, batch: Batch, emb: Embedded, source: dict[str, Any]) -> None:
    """Set the store clock to the step's last turn time (a ``clock`` event, only when it moves) and write the
    step's turns in one batch, all or nothing."""
    last_t = max((m.event_time_s for m in batch.inputs if m.event_time_s is not None), default=None)
    if last_t is not None and engine.clock.now() != last_t:
        engine.set_clock(last_t)
    engine.writer.commit(batch, emb, source)


def _recall_step(engine, given, batch, vecs, recalled: set[str], cfg: RecallConfig) -> None:
    """The recalls of one step's turns (those not recalled yet), each at its turn's time, then their events and
    reinforcements in one journalled operation."""
    store = engine.store
    if store.count() == 0:
        return
    results: list[tuple[RecallResult, float]] = []
    for m, tx, vec, mid in zip(batch.inputs, batch.texts, vecs, batch.ids, strict=True):
        if mid in recalled:
            continue
        t = m.event_time_s if m.event_time_s is not None else engine.clock.now()
        given.pending = vec
        res = pipeline.recall(store, given, cfg, tx, t, engine.decay_params)
        res.trace.config["replay"] = {"turn": mid}
        results.append((res, t))
    if results:
        _commit_recalls(engine, results)
        recalled.update(r.trace.config["replay"]["turn"] for r, _ in results)


def _commit_recalls(engine: MemoryEngine, results: list[tuple[RecallResult, float]]) -> None:
    """Log the recalls and apply their reinforcements in order, all or nothing (one ``reinforce`` operation):
    each hit's stability goes through the engine's ``reinforce_rule`` at its retention at that recall's time
    (exponential model), from what the recalls before it left."""
    store = engine.store
    ids = list(dict.fromkeys(h.memory.id for r, _ in results for h in r.hits))
    if not ids:
        with store.lock.hold():
            store.append_events([pipeline.recall_event(r) for r, _ in results])
        return
    with store.operation("reinforce") as op:
        steps = [([h.memory.id for h in r.hits], t, r.trace.id) for r, t in results]
        rows, reinforced = reinforcements(store.known_rows(ids), steps, engine.reinforce_rule, "recall")
        store.update_memories(rows)
        op.commit(
            [e for (r, _), step in zip(results, reinforced, strict=True) for e in (pipeline.recall_event(r), *step)]
        )


def _ask(engine, given, q: Question, time_s: float, config: ReplayConfig, asked, fmt: str) -> QuestionResult:
    """Ask ``q`` at ``time_s`` with and without decay (recorded pure reads), or read its answers back from
    the log when a previous run asked it."""
    tops, trace_ids = [], []
    new: list[RecallEvent] = []
    for decay, cfg in zip((True, False), config.question_configs(time_s), strict=True):
        if (q.id, decay) in asked:
            trace = asked[(q.id, decay)]
        else:
            text = normalise(q.question)
            given.pending = given.known[text] if text in given.known else engine.embedder.encode([text])[0]
            res = pipeline.recall(engine.store, given, cfg, q.question, time_s, engine.decay_params)
            res.trace.config["replay"] = {"question": q.id, "decay": decay}
            new.append(pipeline.recall_event(res))
            trace = res.trace.to_dict()
        final: dict[str, Any] = next((st for st in trace.get("stages", []) if st.get("name") == "final"), {})
        tops.append([c["id"] for c in final.get("candidates", [])])
        trace_ids.append(trace["id"])
    if new:
        with engine.store.lock.hold():
            engine.store.append_events(new)
    evaluated = bool(q.evidence_ids) and not (fmt == "locomo" and q.category == LOCOMO_ADVERSARIAL)
    gold = list(q.evidence_ids)
    return QuestionResult(
        q.id, q.group, q.category, time_s, gold, tops[0], tops[1], (trace_ids[0], trace_ids[1]), evaluated
    )


def _replay_marks(store: MemoryStore) -> tuple[set[str], dict[tuple[str, bool], dict[str, Any]]]:
    """What earlier runs of a replay logged in ``store``: the turn ids recalled, and the questions asked
    ({(question id, decay): trace})."""
    turns: set[str] = set()
    asked: dict[tuple[str, bool], dict[str, Any]] = {}
    for e in store.list_events(ops=["recall"]):
        if not isinstance(e, RecallEvent):
            continue
        mark = (e.trace.get("config") or {}).get("replay")
        if not mark:
            continue
        if "turn" in mark:
            turns.add(mark["turn"])
        elif "question" in mark:
            asked[(mark["question"], bool(mark["decay"]))] = e.trace
    return turns, asked


__all__ = [
    "FORGET_THRESHOLD",
    "GroupResult",
    "QuestionResult",
    "ReplayConfig",
    "ReplayResult",
    "replay",
    "time_ordered_steps",
]
