"""The memory engine: a facade that composes write (:mod:`memviz.write`), linking (:mod:`memviz.linking`),
recall (:mod:`memviz.recall`), decay and the rest of a memory's life (:mod:`memviz.lifecycle`) over one store.

Collaborators are injected: ``MemoryEngine(store, embedder, clock)``. Its changes hold the store's write lock
(:mod:`memviz.store.locking`: the app's sessions and background jobs share one engine, and other processes may
write the same store). It never imports streamlit. ``docs/architecture.md`` maps which module owns what.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import pandas as pd

from memviz.clock import Clock, SimulatedClock
from memviz.decay import DecayModel, DecayParams
from memviz.embed import Embedder
from memviz.events import RecallEvent, ReinforceEvent, RestoreVersionEvent
from memviz.filters import MemoryFilter
from memviz.lifecycle import Lifecycle, clock_start_for, follow_store_clock
from memviz.linking import LinkConfig
from memviz.models import Memory, MemoryInput, RecallResult, Trace, WriteReport
from memviz.reads import Reads
from memviz.recall import explain as explain_mod
from memviz.recall import pipeline
from memviz.recall.config import BASE_COMPONENTS, RETRIEVERS, STAGES, RecallConfig
from memviz.spacing import SpacingRule, StabilityRule
from memviz.store import MemoryStore
from memviz.write import OnDuplicate, Progress, Writer, embedding_text


class MemoryEngine:
    """Write, link, decay, recall and forget memories in a :class:`MemoryStore`.

    ``clock`` gives "now" (POSIX seconds) for creation times, decay and recalls; use a SimulatedClock to
    demonstrate decay: it then follows the store's saved clock (its latest ``clock`` event, whoever recorded it;
    see :func:`memviz.lifecycle.follow_store_clock`), so every engine on one store reads the same time.
    ``link_config`` configures linking, ``decay_params`` the decay models and ``reinforce_rule`` how a recall
    raises stability (default: the FSRS spacing rule, :class:`memviz.spacing.SpacingRule`; MemoryBank's
    :class:`memviz.decay.ReinforceRule` also fits).
    ``read`` (:class:`memviz.reads.Reads`) holds the read-only views pages use.
    """

    def __init__(
        self,
        store: MemoryStore,
        embedder: Embedder,
        clock: Clock,
        link_config: LinkConfig = LinkConfig(),
        decay_params: DecayParams = DecayParams(),
        reinforce_rule: StabilityRule = SpacingRule(),
    ):
        self.store = store
        self.embedder = embedder
        self.clock = clock
        follow_store_clock(clock, store)
        self.link_config = link_config
        self.decay_params = decay_params
        self.reinforce_rule = reinforce_rule
        self.writer = Writer(store, embedder, clock, lambda: self.link_config)
        self.life = Lifecycle(store, clock, lambda: self.decay_params, lambda: self.reinforce_rule)
        self.read = Reads(store)

    def with_rule(self, rule: StabilityRule) -> MemoryEngine:
        """This engine with reinforcement rule ``rule`` (the same store, embedder, clock and settings), or itself
        when the rule is its own: one app session's rule, without changing the engine other sessions share."""
        if rule == self.reinforce_rule:
            return self
        return MemoryEngine(self.store, self.embedder, self.clock, self.link_config, self.decay_params, rule)

    # -- write --------------------------------------------------------------------------------------
    def write(
        self,
        items: Sequence[MemoryInput | str],
        on_duplicate: OnDuplicate = "error",
        source: Mapping[str, Any] | None = None,
    ) -> WriteReport:
        """Write one batch of memories, all or nothing; returns a per-item write report.

        Raises EmptyTextError (naming the item) for an empty text, ConfigError for an unknown kind,
        DuplicateMemoryError for an id already stored or repeated (unless ``on_duplicate="skip"``, which leaves
        existing ids out and lists them in ``skipped_ids``), StoreError if the store write fails (rolled back).
        ``source`` (e.g. ``{"path", "format"}``) adds an ``import`` event to the batch.
        """
        return self.writer.write(items, on_duplicate, source)

    def ingest(
        self,
        items: Sequence[MemoryInput],
        batch_size: int = 256,
        on_duplicate: OnDuplicate = "skip",
        source: Mapping[str, Any] | None = None,
        progress: Progress | None = None,
        embed_window: int = 2048,
    ) -> list[WriteReport]:
        """Write many memories in batches of ``batch_size``, each batch all-or-nothing.

        The texts of ``embed_window`` memories at a time are embedded in one encoder call before their batches
        are committed one by one: the encoder sorts texts by length, so one call over 2,048 texts pads less
        than eight calls over 256 (17% faster on LoCoMo turns). Memory stays bounded by the window.
        ``progress(done, total)`` is called after each batch. Re-ingesting the same data skips the ids already
        stored (importers give stable ids), so an interrupted ingest can be resumed. When no one has set the
        simulated clock yet, it is set to the end of the data (a recorded ``clock`` event): the latest event
        time, or the latest change of an imported history (:attr:`MemoryInput.history`) when that is later.
        """
        reports = self.writer.ingest(items, batch_size, on_duplicate, source, progress, embed_window)
        if any(r.items for r in reports) and isinstance(self.clock, SimulatedClock):  # nothing written: no event
            with self.store.lock.hold():
                if not self.store.list_events(ops=["clock"], limit=1):
                    changed = [c.time_s for i in items for c in i.history]
                    self.set_clock(max([clock_start_for(self.store), *changed]))
        return reports

    # -- recall -------------------------------------------------------------------------------------
    def recall(
        self, query: str, config: RecallConfig | None = None, *, exclude_ids: Sequence[str] = (), **overrides: Any
    ) -> RecallResult:
        """Recall the top-k memories for ``query`` and the full trace of how they were chosen (see
        :func:`memviz.recall.pipeline.recall` for the stages). ``overrides`` replace fields of ``config``
        (default :class:`RecallConfig`).

        This is the agent's path: by default (``reinforce=True``) a recall is a use of memory, so the hits are
        strengthened (``reinforce`` events) and the recall is logged (a ``recall`` event carrying the trace).
        Looking is not using: tools that explore (the app's pages, ``memviz recall`` without ``--reinforce``,
        evaluation, why-not) pass ``reinforce=False`` and write nothing at all (the store's version and event
        count do not change), unless ``record=True`` keeps the trace in the history (a ``recall`` event only).
        ``as_of_s`` recalls from the store as it was then (:mod:`memviz.asof`; never reinforcing).
        ``exclude_ids`` leaves those memories out of every stage, as if they were forgotten. Raises
        EmptyTextError for an empty query, ConfigError for bad settings."""
        cfg = replace(config or RecallConfig(), **overrides).validated()
        result = pipeline.recall(
            self.store, self.embedder, cfg, query, self.clock.now(), self.decay_params, exclude_ids
        )
        if cfg.record or (cfg.reinforce and result.hits):
            with self.store.lock.hold():  # a read-only store: one StoreError saying so, before anything is written
                if cfg.record:
                    self.store.append_events([pipeline.recall_event(result)])
                if cfg.reinforce and result.hits:
                    self.reinforce([h.memory.id for h in result.hits], reason="recall", trace_id=result.trace.id)
        return result

    def explain(self, trace: Trace, ids: Sequence[str]) -> dict[str, dict[str, Any]]:
        """Score any memories for the query of ``trace`` as its recall would have ("why was it not
        retrieved?"); see :func:`memviz.recall.explain.explain`. Writes nothing. Raises UnknownMemoryError."""
        return explain_mod.explain(self.store, self.embedder, self.decay_params, trace, ids)

    def traces(self, limit: int = 50) -> list[Trace]:
        """The most recent recorded recall traces, newest last (replayed from ``recall`` events)."""
        events = self.store.list_events(ops=["recall"], limit=limit)
        return [e.to_trace() for e in events if isinstance(e, RecallEvent)]

    # -- decay and the rest of a memory's life --------------------------------------------------------
    def retention_frame(
        self,
        model: DecayModel = "exponential",
        now_s: float | None = None,
        where: MemoryFilter | None = None,
        params: DecayParams | None = None,
        version: int | None = None,
    ) -> pd.DataFrame:
        """Every memory (matching ``where``) as of ``now_s`` (POSIX s; default: the clock) with its retention then
        under ``model``; one row per memory, vectorised over the whole store. As of a time means as it was then
        (:mod:`memviz.asof`): a memory whose event time (else creation time) is later does not exist yet and is
        left out; stability, last recall, recall count and forgotten flag are those the events up to then left.

        ``params`` overrides the engine's decay parameters (a what-if; nothing is stored). ``version`` reads the
        memories as they were at that version of the memories table (read-only). Columns: the memories
        table's (no vector) plus ``last_access_s``, ``elapsed_days`` and ``retention`` (in [0, 1]). Raises
        StoreError for a version that does not exist.
        """
        return self.life.retention_frame(model, now_s, where, params, version)

    def list_memories(self, model: DecayModel = "exponential", limit: int | None = None) -> pd.DataFrame:
        """The memory table for display: every column but the vector, plus retention now."""
        df = self.retention_frame(model)
        return df.head(limit) if limit is not None else df

    def reinforce(
        self, ids: Sequence[str], reason: str = "manual", trace_id: str | None = None
    ) -> list[ReinforceEvent]:
        """Strengthen memories as a recall does; returns their ``reinforce`` events (stability before/after,
        retention before). Raises UnknownMemoryError."""
        return self.life.reinforce(ids, reason, trace_id)

    def forget(self, ids: Sequence[str], reason: str = "manual") -> list[str]:
        """Soft-forget memories: they leave recall but stay stored and can be restored (a ``forget`` event).
        Already forgotten ids are left as they are. Returns the ids changed. Raises UnknownMemoryError."""
        return self.life.set_forgotten(ids, True, reason)

    def restore(self, ids: Sequence[str]) -> list[str]:
        """Undo a soft forget (a ``restore`` event). Returns the ids changed. Raises UnknownMemoryError."""
        return self.life.set_forgotten(ids, False, "manual")

    def forget_below(self, threshold: float, model: DecayModel = "exponential") -> list[str]:
        """Soft-forget every memory whose retention now is below ``threshold`` (in [0, 1]). Returns their ids."""
        return self.life.forget_below(threshold, model)

    def prune(self, ids: Sequence[str]) -> int:
        """Hard-delete memories and their links, recorded in a ``prune`` event. Returns the number removed."""
        return self.life.prune(ids)

    def restore_version(self, version: int) -> RestoreVersionEvent:
        """Restore the memories and links to memories-table ``version``, recorded as a ``restore_version``
        event at the engine clock (returned). Raises StoreError for an unknown version."""
        return self.life.restore_version(version)

    def advance_clock(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Advance the simulated clock from the store's saved time and record a ``clock`` event; returns the new
        time. Raises ConfigError on a real clock, for a negative step or past the end of
        :data:`memviz.limits.TIME_RANGE` (1900-01-01 up to 2200-01-01 UTC; the clock is then unchanged)."""
        return self.life.advance_clock(days, seconds)

    def set_clock(self, t_s: float) -> float:
        """Set the simulated clock to ``t_s`` (POSIX seconds, within :data:`memviz.limits.TIME_RANGE`) and record
        a ``clock`` event; returns it. Raises ConfigError on a real clock or outside the range."""
        return self.life.set_clock(t_s)

    def reset_clock(self) -> float:
        """Set the simulated clock back to the end of the data (the latest event time; now when empty) and
        record a ``clock`` event; returns the new time. Raises ConfigError on a real clock."""
        return self.life.reset_clock()

    # -- read ---------------------------------------------------------------------------------------
    def stats(self) -> dict[str, Any]:
        """The store's counts (see :meth:`MemoryStore.stats`) and the clock time ``now_s``."""
        return self.store.stats() | {"now_s": self.clock.now()}

    def get(self, memory_id: str) -> Memory:
        """One memory by id. Raises UnknownMemoryError."""
        return self.store.get([memory_id])[0]


def open_engine(
    db: str | None = None, clock: Clock | None = None, embedder: Embedder | None = None, create: bool = True
) -> MemoryEngine:
    """An engine on the store at ``db`` (default: $MEMVIZ_DB or .memviz) with the MiniLM embedder and a
    simulated clock starting at :func:`memviz.lifecycle.clock_start_for`. ``create``: make the store when there
    is none (writers); False for reads, which then raise StoreNotFoundError naming the path and write nothing.
    Raises StoreError for a damaged store (see :class:`MemoryStore`)."""
    from memviz.embed import MiniLMEmbedder

    store = MemoryStore(db, create=create)
    return MemoryEngine(store, embedder or MiniLMEmbedder(), clock or SimulatedClock(clock_start_for(store)))


__all__ = [
    "BASE_COMPONENTS",
    "RETRIEVERS",
    "STAGES",
    "LinkConfig",
    "MemoryEngine",
    "RecallConfig",
    "clock_start_for",
    "embedding_text",
    "open_engine",
]
