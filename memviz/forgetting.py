"""Forgetting made visible: per-memory retention curves replayed from the event log, what a forget threshold
would suppress and how that would change a recall, and the store's versions compared with today.

The retention values all come from :func:`memviz.decay.retention` (no formula is re-implemented here): a
curve of one memory over many times is computed in one vectorised call by treating each time as its own
"memory" whose accesses are shifted so that its age is measured at that time (see :func:`retention_curve`).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np
import pandas as pd

from memviz.decay import (
    SECONDS_PER_DAY,
    DecayModel,
    DecayParams,
    initial_stability_days,
    retention,
)
from memviz.errors import ConfigError
from memviz.events import Event, ReinforceEvent, WriteEvent
from memviz.models import Memory, RecallResult

DEFAULT_PARAMS = DecayParams()


@dataclass(frozen=True)
class MemoryHistory:
    """One memory's accesses, replayed from the event log.

    ``access_times_s`` (shape (m,), POSIX seconds of the engine clock, ascending): the write (the memory's
    event time, else its creation time), then every reinforcement (recall or manual). ``stability_days``
    (m,): the stability S in force after each access (the write's initial S, then each ``stability_after``).
    ``reasons`` (m,): ``"write"``, then each reinforcement's reason (``"recall"``, ``"manual"``, ...).
    """

    memory_id: str
    access_times_s: np.ndarray
    stability_days: np.ndarray
    reasons: tuple[str, ...]


def memory_history(memory: Memory, events: Sequence[Event], as_of_s: float | None = None) -> MemoryHistory:
    """Replay ``events`` (the event log, oldest first; events of other memories are ignored) for ``memory``.

    The initial stability is the ``write`` event's ``stability_days``; without a write event (a store
    written before events carried it), :func:`memviz.decay.initial_stability_days` of the importance.
    ``as_of_s`` (POSIX s): the history as it was then, reinforcements after it ignored (:mod:`memviz.asof`).
    """
    mine = [e for e in events if memory.id in e.memory_ids and (as_of_s is None or e.time_s <= as_of_s)]
    writes = [e for e in mine if isinstance(e, WriteEvent) and e.stability_days > 0]
    s0 = writes[0].stability_days if writes else float(initial_stability_days(memory.importance))
    t0 = memory.event_time_s if memory.event_time_s is not None else memory.created_time_s
    reinf = [e for e in mine if isinstance(e, ReinforceEvent)]
    times = np.array([t0] + [e.time_s for e in reinf], dtype=np.float64)
    stab = np.array([s0] + [e.stability_after for e in reinf], dtype=np.float64)
    reasons = ("write", *(e.reason for e in reinf))
    order = np.argsort(times, kind="stable")  # a clock set backwards may record a recall "before" the write
    return MemoryHistory(memory.id, times[order], stab[order], tuple(reasons[i] for i in order))


def retention_curve(
    history: MemoryHistory, times_s: np.ndarray, model: DecayModel, params: DecayParams = DEFAULT_PARAMS
) -> np.ndarray:
    """Retention R of the memory at each of ``times_s`` (POSIX seconds), shape (len(times_s),), in [0, 1];
    NaN before the memory existed.

    At time t, the accesses up to t count: for ``exponential`` and ``power`` the last one (elapsed time) and
    the stability it left; for ``actr`` all of them. Each reinforcement therefore shows as a jump. Computed by
    :func:`memviz.decay.retention` in one call: time t_i becomes a pseudo-memory whose accesses are shifted by
    -t_i, evaluated at "now" = 0, so its ages are t_i - t_j. Raises ConfigError for an unknown model.
    """
    t = np.asarray(times_s, dtype=np.float64)
    a = history.access_times_s
    idx = np.searchsorted(a, t, side="right") - 1
    existed = idx >= 0
    last = a[np.maximum(idx, 0)]
    stab = history.stability_days[np.maximum(idx, 0)]
    shifted = (a[None, :] - t[:, None]).ravel()  # accesses after t get a negative age and are ignored
    offsets = np.arange(len(t) + 1) * len(a)
    r = retention(model, 0.0, last - t, stab, shifted, offsets, params)
    return np.where(existed, r, np.nan)


def curve_times(history: MemoryHistory, now_s: float, horizon_days: float, n: int = 400) -> np.ndarray:
    """Times (POSIX s, ascending) to draw a curve at: ``n`` evenly spaced from the write to ``now_s`` +
    ``horizon_days``, plus each access and one second before it (so jumps are drawn sharp)."""
    if horizon_days < 0:
        raise ConfigError(f"the projection horizon must be >= 0 days, got {horizon_days!r}")
    start = float(history.access_times_s[0])
    end = max(float(now_s), float(history.access_times_s[-1])) + horizon_days * SECONDS_PER_DAY
    grid = np.linspace(start, max(end, start + 1.0), n)
    return np.unique(np.concatenate([grid, history.access_times_s, history.access_times_s[1:] - 1.0]))


def suppressed(frame: pd.DataFrame, threshold: float) -> pd.DataFrame:
    """What decay would suppress: the rows of a retention frame (:meth:`MemoryEngine.retention_frame`) not yet
    forgotten whose ``retention`` is below ``threshold`` (in [0, 1]), weakest first.
    Raises ConfigError for a threshold outside [0, 1]."""
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"the forget threshold must be in [0, 1], got {threshold!r}")
    below = frame[(frame["retention"] < threshold) & frame["forgotten_time_s"].isna()]
    return below.sort_values(["retention", "id"], kind="stable")


@dataclass
class RecallChange:
    """A recall with and without some memories. ``table``: one row per memory in either top-k: ``id``,
    ``text``, ``rank_before``, ``rank_after`` (NaN when absent) and ``change`` (``"suppressed"``: it was a hit
    and is excluded; ``"new"``: it enters the top-k; ``"dropped"``: not excluded but out of the top-k;
    ``"moved"`` or ``"same"``), ordered by rank before, then rank after."""

    before: RecallResult
    after: RecallResult
    table: pd.DataFrame


def recall_change(
    engine,
    query: str,
    exclude_ids: Sequence[str],
    k: int = 10,
    model: DecayModel = "exponential",
    as_of_s: float | None = None,
    scope: str | None = None,
) -> RecallChange:
    """Recall ``query`` as it is (soft-forgotten memories included) and with ``exclude_ids`` left out: what
    suppressing them would change. Both are pure reads (neither reinforced nor recorded), a what-if.
    ``as_of_s`` scores both as of that clock time (default: the engine clock); both recall within ``scope``
    (None: every scope).
    Raises EmptyTextError for an empty query and ConfigError for bad settings (see :meth:`MemoryEngine.recall`).
    """
    kw = {
        "k": k,
        "reinforce": False,
        "include_forgotten": True,
        "decay_model": model,
        "as_of_s": as_of_s,
        "scope": scope,
    }
    before = engine.recall(query, **kw)
    after = engine.recall(query, exclude_ids=exclude_ids, **kw)
    excluded = set(exclude_ids)
    rb = {h.memory.id: h.rank for h in before.hits}
    ra = {h.memory.id: h.rank for h in after.hits}
    texts = {h.memory.id: h.memory.text for h in before.hits + after.hits}
    ids = list(dict.fromkeys([*rb, *ra]))
    table = pd.DataFrame(
        {
            "id": ids,
            "text": [texts[i] for i in ids],
            "rank_before": pd.array([rb.get(i) for i in ids], dtype="Int64"),
            "rank_after": pd.array([ra.get(i) for i in ids], dtype="Int64"),
        }
    )
    table["change"] = [
        "suppressed"
        if i in excluded
        else "new"
        if i not in rb
        else "dropped"
        if i not in ra
        else "same"
        if rb[i] == ra[i]
        else "moved"
        for i in ids
    ]
    return RecallChange(before, after, table)


def version_diff(then: pd.DataFrame, now: pd.DataFrame) -> dict[str, int]:
    """Compare two memory frames (the store at an old version, and now; columns ``id``, ``recall_count``,
    ``forgotten_time_s``): counts of ``memories_then``, ``memories_now``, ``added`` since, ``removed``
    (pruned) since, ``forgotten_then``, ``forgotten_now`` and ``reinforced`` since (recalled more often now)."""
    both = then[["id", "recall_count"]].merge(now[["id", "recall_count"]], on="id", suffixes=("_then", "_now"))
    return {
        "memories_then": len(then),
        "memories_now": len(now),
        "added": int((~now["id"].isin(then["id"])).sum()),
        "removed": int((~then["id"].isin(now["id"])).sum()),
        "forgotten_then": int(then["forgotten_time_s"].notna().sum()),
        "forgotten_now": int(now["forgotten_time_s"].notna().sum()),
        "reinforced": int((both["recall_count_now"] > both["recall_count_then"]).sum()),
    }


# -- numbers and texts of the Forgetting page (moved out of the page) -----------------------------------------
Metric = tuple  # (label, value[, help[, delta[, delta_color]]]), as memviz.ui.widgets.metrics_row shows them


def as_of_min_days(time_range: tuple[float, float] | None, now_s: float) -> int:
    """The earliest "as of" offset (whole days from ``now_s``, <= -1) worth offering: back to the data's first
    time (:meth:`memviz.reads.Reads.time_range`), at least one day back."""
    if time_range is None:
        return -1
    return min(-1, int((time_range[0] - now_s) // SECONDS_PER_DAY))


def memory_metrics(
    history: MemoryHistory,
    now_s: float,
    models: Sequence[DecayModel],
    params: DecayParams = DEFAULT_PARAMS,
    when: str = "now",
) -> list[Metric]:
    """One memory's headline at ``now_s`` (labelled ``when``: "now", or "then" for another "as of" time): its
    retention under each of ``models``, its stability, its reinforcements up to then."""
    out: list[Metric] = [
        (f"Retention {when} ({m})", f"{float(retention_curve(history, np.array([now_s]), m, params)[0]):.3f}")
        for m in models
    ]
    upto = max(int(np.searchsorted(history.access_times_s, now_s, side="right")), 1)
    return out + [
        (f"Stability {when}", f"{history.stability_days[upto - 1]:.1f} days"),
        ("Reinforcements", f"{upto - 1}"),
    ]


def reinforce_message(event: ReinforceEvent) -> str:
    """What a manual reinforcement did, in one sentence."""
    return (
        f"Reinforced: stability {event.stability_before:.1f} → {event.stability_after:.1f} days "
        f"(retention was {event.retention_before:.2f})."
    )


def population_metrics(frame: pd.DataFrame, below: pd.DataFrame) -> list[Metric]:
    """The population's headline: memories, how many (and what share of the live ones) are ``below`` the
    threshold (:func:`suppressed`), the live memories' median retention, how many are already forgotten."""
    live = frame[frame["forgotten_time_s"].isna()]
    return [
        ("Memories", f"{len(frame):,}"),
        ("Below threshold", f"{len(below):,}", "Not yet forgotten, retention below the threshold"),
        ("Share below", f"{len(below) / max(len(live), 1):.1%}"),
        ("Median retention", f"{live['retention'].median():.3f}" if len(live) else "–"),
        ("Already forgotten", f"{len(frame) - len(live):,}"),
    ]


def forgotten_ids(frame: pd.DataFrame) -> list[str]:
    """The ids of the soft-forgotten memories of a retention frame."""
    return frame.loc[frame["forgotten_time_s"].notna(), "id"].tolist()


def change_summary(change: pd.DataFrame, k: int) -> str:
    """One sentence on a :class:`RecallChange` table: hits suppressed, memories entering the top ``k``, moved."""
    counts = change["change"].value_counts()
    return (
        f"{counts.get('suppressed', 0)} of the hits would be suppressed, {counts.get('new', 0)} memories would "
        f"enter the top {int(k)}, {counts.get('moved', 0)} would move."
    )


def version_label(version: dict) -> str:
    """A version of :meth:`memviz.reads.Reads.versions` as ``version · timestamp · rows``."""
    return f"{version['version']} · {version['timestamp']:%Y-%m-%d %H:%M:%S} · {version['rows']} rows"


def _change(n: int) -> str | None:
    return f"{n:+,} now" if n else None


def version_metrics(diff: dict[str, int], then: pd.DataFrame) -> list[Metric]:
    """The time-travel headline of :func:`version_diff` (with the change since as a delta) and ``then``'s median
    retention (the memories as they were then, at the same "as of" time)."""
    return [
        ("Memories then", f"{diff['memories_then']:,}", None, _change(diff["memories_now"] - diff["memories_then"])),
        ("Added since", f"{diff['added']:,}"),
        ("Pruned since", f"{diff['removed']:,}"),
        (
            "Forgotten then",
            f"{diff['forgotten_then']:,}",
            None,
            _change(diff["forgotten_now"] - diff["forgotten_then"]),
            "off",
        ),
        ("Reinforced since", f"{diff['reinforced']:,}"),
        (
            "Median retention then",
            f"{then['retention'].median():.3f}" if len(then) else "–",
            "Of the memories as they were then (stability, recalls), at the same 'as of' time",
        ),
    ]


def compared_models(model: str, other: str) -> list[str]:
    """The decay models to draw: ``model``, and ``other`` when it is one ("none": no overlay) and differs."""
    return [model] + ([other] if other not in ("none", model) else [])


def live_retention(frame: pd.DataFrame) -> np.ndarray:
    """The retention of the memories of a retention frame that are not soft-forgotten."""
    return frame.loc[frame["forgotten_time_s"].isna(), "retention"].to_numpy()


def forget_reason(threshold: float, model: str, as_of_s: float, fmt_time=str) -> str:
    """The reason recorded with a soft-forget of what the page lists below ``threshold`` (by ``model``, as of
    ``as_of_s``, formatted by ``fmt_time``)."""
    return f"retention < {threshold:.2f} ({model}) as of {fmt_time(as_of_s)}"
