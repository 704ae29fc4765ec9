"""A memory's life after it is written: decay (retention now or as of any time), reinforcement, soft forget
and restore, hard prune, the simulated clock, and restoring an earlier version. Every change is recorded as
a typed event (:mod:`memviz.events`), each change all or nothing across the tables and the log, under the store's
write lock (:mod:`memviz.store.journal`)."""

from __future__ import annotations

import time
from collections.abc import Callable, Sequence

import numpy as np
import pandas as pd
import pyarrow as pa
import pyarrow.compute as pc

from memviz import decay as decay_mod
from memviz.asof import as_of_rows
from memviz.clock import Clock, SimulatedClock
from memviz.decay import SECONDS_PER_DAY, DecayModel, DecayParams
from memviz.errors import ConfigError
from memviz.events import ClockEvent, ForgetEvent, PruneEvent, ReinforceEvent, RestoreEvent, RestoreVersionEvent
from memviz.filters import LIVE, MemoryFilter
from memviz.spacing import StabilityRule
from memviz.store import MemoryStore


class Lifecycle:
    """Decay, reinforce, forget, prune and the clock of ``store``; ``decay_params()`` and
    ``reinforce_rule()`` give the engine's current settings."""

    def __init__(
        self,
        store: MemoryStore,
        clock: Clock,
        decay_params: Callable[[], DecayParams],
        reinforce_rule: Callable[[], StabilityRule],
    ):
        self.store, self.clock = store, clock
        self.decay_params, self.reinforce_rule = decay_params, reinforce_rule

    # -- decay --------------------------------------------------------------------------------------
    def retention_frame(
        self,
        model: DecayModel = "exponential",
        now_s: float | None = None,
        where: MemoryFilter | None = None,
        params: DecayParams | None = None,
        version: int | None = None,
    ) -> pd.DataFrame:
        """Every memory (matching ``where``) that existed at ``now_s`` (default: the clock), as it was then, with
        its retention then, vectorised (:func:`memviz.asof.as_of_rows`).
        See :meth:`memviz.engine.MemoryEngine.retention_frame`."""
        now = self.clock.now() if now_s is None else float(now_s)
        tbl = (
            self.store.memories_table(where=where)
            if version is None
            else self.store.memories_table_at(version, where=where)
        )
        tbl = as_of_rows(self.store, tbl, now)
        df = tbl.to_pandas()
        if df.empty:
            for c in ("last_access_s", "elapsed_days", "retention"):
                df[c] = pd.Series(dtype="float64")
            return df
        last = decay_mod.last_access_s(tbl)
        df["last_access_s"] = last
        df["elapsed_days"] = (now - last) / SECONDS_PER_DAY
        df["retention"] = decay_mod.rows_retention(tbl, last, model, now, params or self.decay_params())
        return df

    # -- reinforce ----------------------------------------------------------------------------------
    def reinforce(
        self, ids: Sequence[str], reason: str = "manual", trace_id: str | None = None
    ) -> list[ReinforceEvent]:
        """Strengthen memories as a recall does (by the engine's ``reinforce_rule``, see :mod:`memviz.spacing`):
        stability up, last access = now, one more access; one ``reinforce`` event each, returned. Raises
        UnknownMemoryError."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        with self.store.operation("reinforce") as op:
            now = self.clock.now()
            rows, (events,) = reinforcements(
                self.store.known_rows(ids), [(ids, now, trace_id)], self.reinforce_rule(), reason
            )
            self.store.update_memories(rows)
            return op.commit(events)

    # -- forget / restore / prune -------------------------------------------------------------------
    def set_forgotten(self, ids: Sequence[str], forget: bool, reason: str) -> list[str]:
        """Soft-forget (``forget``) or restore memories; ids already in that state are left as they are.
        Records one ``forget`` / ``restore`` event. Returns the ids changed. Raises UnknownMemoryError."""
        ids = list(dict.fromkeys(ids))
        if not ids:
            return []
        with self.store.operation("forget" if forget else "restore") as op:
            now = self.clock.now()
            tbl = self.store.known_rows(ids)
            state = dict(zip(ids, tbl.column("forgotten_time_s").is_valid().to_pylist(), strict=True))
            changed = [i for i in ids if state[i] != forget]
            if changed:
                value = now if forget else None
                self.store.update_memories(
                    pa.table({"id": changed, "forgotten_time_s": pa.array([value] * len(changed), pa.float64())})
                )
                kind = ForgetEvent if forget else RestoreEvent
                op.commit([kind(time_s=now, memory_ids=tuple(changed), reason=reason)])
            return changed

    def forget_below(self, threshold: float, model: DecayModel = "exponential") -> list[str]:
        """Soft-forget every live memory whose retention now is below ``threshold`` (in [0, 1]); returns
        their ids. Raises ConfigError for a threshold outside [0, 1]."""
        if not 0.0 <= threshold <= 1.0:
            raise ConfigError(f"the retention threshold must be in [0, 1], got {threshold!r}")
        with self.store.lock.hold():
            df = self.retention_frame(model, where=LIVE)
            ids = df.loc[df["retention"] < threshold, "id"].tolist()
            return self.set_forgotten(ids, True, f"retention < {threshold} ({model})")

    def prune(self, ids: Sequence[str]) -> int:
        """Hard-delete memories and their links (irreversible in the current version; older LanceDB versions
        still hold them), recorded in a ``prune`` event with what they were. Returns the number removed.
        Raises UnknownMemoryError (and removes nothing) if any id is unknown."""
        with self.store.operation("prune") as op:
            mems = self.store.get(list(dict.fromkeys(ids)))
            if not mems:
                return 0
            versions = self.store.delete_memories([m.id for m in mems])
            op.commit(
                [
                    PruneEvent(
                        time_s=self.clock.now(),
                        memory_ids=tuple(m.id for m in mems),
                        store_versions=versions,
                        memories=[
                            {
                                "id": m.id,
                                "text": m.text,
                                "speaker": m.speaker,
                                "session_id": m.session_id,
                                "source_id": m.source_id,
                            }
                            for m in mems
                        ],
                    )
                ]
            )
            return len(mems)

    def restore_version(self, version: int) -> RestoreVersionEvent:
        """Restore memories and links to memories-table ``version`` at the engine clock (see
        :func:`memviz.store.versions.restore_version`). Raises StoreError for an unknown version."""
        return self.store.restore_version(version, self.clock.now())

    # -- clock --------------------------------------------------------------------------------------
    # The simulated clock follows the store's saved clock (follow_store_clock): each change below starts from
    # the saved time under the store's write lock, so two processes advancing it by a day each move it two days.
    def set_clock(self, t_s: float) -> float:
        """Set the simulated clock to ``t_s`` (POSIX s) and record a ``clock`` event; returns the new time.
        Raises ConfigError on a real clock, or for a time outside :data:`memviz.limits.TIME_RANGE` (nothing
        is recorded, the clock is unchanged)."""
        with self.store.lock.hold():
            clock = self._simulated("set")
            clock.refresh(force=True)
            before = clock.now()
            clock.set(t_s)
            return self._record_clock(clock, before)

    def advance_clock(self, days: float = 0.0, seconds: float = 0.0) -> float:
        """Advance the simulated clock from the store's saved time (``days`` + ``seconds`` >= 0) and record a
        ``clock`` event; returns the new time. Raises ConfigError on a real clock, for a negative step or one
        past the end of :data:`memviz.limits.TIME_RANGE` (nothing is recorded, the clock is unchanged)."""
        with self.store.lock.hold():
            clock = self._simulated("advanced")
            clock.refresh(force=True)
            before = clock.now()
            clock.advance(days=days, seconds=seconds)
            return self._record_clock(clock, before)

    def reset_clock(self) -> float:
        """Set the simulated clock back to the end of the data (:func:`clock_start_for` without the recorded
        clock: the latest event time, else now) and record a ``clock`` event; returns the new time. Raises
        ConfigError on a real clock or when that time is outside :data:`memviz.limits.TIME_RANGE`."""
        with self.store.lock.hold():
            return self.set_clock(clock_start_for(self.store, recorded=False))

    def _record_clock(self, clock: SimulatedClock, before: float) -> float:
        after = clock.now()
        try:
            (event,) = self.store.append_events([ClockEvent(time_s=after, from_s=before, to_s=after)])
        except BaseException:
            clock.set(before)
            raise
        clock.saved_as(event.id)
        return after

    def _simulated(self, verb: str) -> SimulatedClock:
        if not isinstance(self.clock, SimulatedClock):
            raise ConfigError(f"the engine runs on real time; only a simulated clock can be {verb}")
        return self.clock


class StoreClock:
    """The saved clock of ``store`` (a :class:`memviz.clock.SavedClock`): its latest ``clock`` event, looked up
    again only when the event log's version changes (a version check is ~0.1 ms; the lookup ~3 ms)."""

    def __init__(self, store: MemoryStore):
        self.store = store

    def key(self) -> int:
        return self.store.events.version

    def latest(self) -> tuple[str, float] | None:
        clocks = self.store.list_events(ops=["clock"], limit=1)
        if clocks and isinstance(clocks[-1], ClockEvent):
            return clocks[-1].id or "", clocks[-1].to_s
        return None


def follow_store_clock(clock: Clock, store: MemoryStore) -> None:
    """Make a simulated ``clock`` read its time from ``store``'s saved clock (one clock per store, whatever the
    process); a real clock is left as it is."""
    if isinstance(clock, SimulatedClock):
        clock.follow(StoreClock(store))


def reinforcements(
    tbl: pa.Table, steps: Sequence[tuple[Sequence[str], float, str | None]], rule: StabilityRule, reason: str
) -> tuple[pa.Table, list[list[ReinforceEvent]]]:
    """Apply recalls to the memory rows ``tbl`` (every column but the vector) in order: each step
    ``(ids, time_s, trace_id)`` strengthens its ``ids`` (distinct, all in ``tbl``) by ``rule`` at their
    exponential retention at ``time_s``, from what the steps before it left, and sets their last access to
    ``time_s``, one more access. Returns the updated rows (``id``, ``stability_days``, ``recall_count``,
    ``last_recalled_s``, ``access_times_s``: for :meth:`MemoryStore.update_memories`) and each step's
    ``reinforce`` events (reason ``reason``)."""
    ids = tbl.column("id").to_pylist()
    at = {i: n for n, i in enumerate(ids)}
    s = tbl.column("stability_days").to_numpy().astype(np.float64)
    last = decay_mod.last_access_s(tbl).astype(np.float64)
    recalled = tbl.column("last_recalled_s").to_numpy().astype(np.float64)
    count = tbl.column("recall_count").fill_null(0).to_numpy().astype(np.int64)
    access = [list(a or []) for a in tbl.column("access_times_s").to_pylist()]
    per_step: list[list[ReinforceEvent]] = []
    for step_ids, t, trace_id in steps:
        idx = np.array([at[i] for i in step_ids], dtype=np.int64)
        r_now = decay_mod.exponential_retention((t - last[idx]) / SECONDS_PER_DAY, s[idx])
        s_new = np.asarray(rule.apply(s[idx], r_now), dtype=np.float64)
        per_step.append(
            [
                ReinforceEvent(
                    time_s=t,
                    memory_ids=(ids[i],),
                    stability_before=float(a),
                    stability_after=float(b),
                    retention_before=float(r),
                    reason=reason,
                    trace_id=trace_id,
                )
                for i, a, b, r in zip(idx.tolist(), s[idx], s_new, r_now, strict=True)
            ]
        )
        s[idx], last[idx], recalled[idx], count[idx] = s_new, t, t, count[idx] + 1
        for i in idx.tolist():
            access[i].append(t)
    rows = pa.table(
        {
            "id": ids,
            "stability_days": s,
            "recall_count": pa.array(count, pa.int32()),
            "last_recalled_s": pa.array(recalled, pa.float64(), from_pandas=True),  # NaN: never recalled
            "access_times_s": pa.array(access, pa.list_(pa.float64())),
        }
    )
    return rows, per_step


def clock_start_for(store: MemoryStore, recorded: bool = True, scope: str | None = None) -> float:
    """Where a simulated clock starts for ``store`` (POSIX s): the last recorded clock time (unless not
    ``recorded``), else the latest event time in the data (so decay is seen "as of" the end of the data; of the
    memories of ``scope`` only when given: the end of one conversation of a store holding many), else now."""
    clocks = store.list_events(ops=["clock"], limit=1) if recorded else []
    if clocks and isinstance(clocks[-1], ClockEvent):
        return clocks[-1].to_s
    where = None if scope is None else MemoryFilter(scopes=[scope])
    if store.count(where=where):
        tbl = store.memories_table(columns=["event_time_s", "created_time_s"], where=where)
        t = pc.max(tbl.column("event_time_s")).as_py()
        return t if t is not None else pc.max(tbl.column("created_time_s")).as_py()
    return time.time()


__all__ = ["Lifecycle", "StoreClock", "clock_start_for", "follow_store_clock", "reinforcements"]
