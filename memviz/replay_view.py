"""What the Replay page shows of a replayed store (:mod:`memviz.replay`): the population by retention band over
time, the memories written and recalled per session, the strongest memories at a moment, and what decay
suppressed in a recall at that moment. Pure reads; every time is "as of" (:mod:`memviz.asof`).

The bands (labels of the page): **strong** (retention >= 0.5), **fading** (below 0.5, at or above the forget
threshold), **below the forget threshold** (not forgotten yet: what a soft-forget at that threshold would take)
and **forgotten** (soft-forgotten by then). 0.5 is MemoryBank's gate (a memory is more likely kept than lost;
:func:`memviz.recall.presets.memorybank`), a modelling choice of this view.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pandas as pd

from memviz import asof
from memviz import decay as decay_mod
from memviz.decay import DecayModel, DecayParams
from memviz.engine import MemoryEngine
from memviz.errors import ConfigError
from memviz.events import RecallEvent
from memviz.recall.config import RecallConfig

STRONG = 0.5
BANDS = ("strong", "fading", "below the forget threshold", "forgotten")
GRID_POINTS = 60
STATE_COLUMNS = ["id", "session_id", "event_time_s", "created_time_s", "stability_days", "forgotten_time_s"]


def bands(retention: np.ndarray, forgotten: np.ndarray, threshold: float) -> np.ndarray:
    """The band index (into :data:`BANDS`) of each retention (any shape): forgotten first, then below the
    threshold, then strong (>= 0.5), else fading. Raises ConfigError for a threshold outside [0, 1]."""
    if not 0.0 <= threshold <= 1.0:
        raise ConfigError(f"the forget threshold must be in [0, 1], got {threshold!r}")
    r = np.asarray(retention, dtype=np.float64)
    return np.select([np.asarray(forgotten, bool), r < threshold, r >= STRONG], [3, 2, 0], 1)


def time_grid(engine: MemoryEngine, n: int = GRID_POINTS) -> np.ndarray:
    """``n`` times (POSIX s) from the first memory's time to the later of the last one's and the clock; empty for
    an empty store."""
    span = engine.read.time_range()
    if span is None:
        return np.zeros(0)
    return np.linspace(span[0], max(span[1], engine.clock.now()), n)


def states_over_time(engine: MemoryEngine, times: Sequence[float] | np.ndarray) -> dict[str, np.ndarray]:
    """Every memory's state at each of ``times`` (sorted ascending), as :func:`memviz.asof.restate` defines it,
    as (memories x times) arrays: ``exists`` (born by then), ``stability`` (days), ``last_access`` (POSIX s),
    ``forgotten``; and ``ids`` (memories,). Vectorised: each reinforcement lands on the first grid time at or
    after it and is carried forward (a memory's stored last recall without a reinforce event is not seen)."""
    t = np.asarray(times, dtype=np.float64)
    rows = engine.read.table(STATE_COLUMNS)
    n, m = len(rows), len(t)
    birth = rows["event_time_s"].fillna(rows["created_time_s"]).to_numpy(np.float64)
    stab = np.repeat(rows["stability_days"].to_numpy(np.float64)[:, None], m, axis=1)
    after = np.full((n, m), np.nan)
    when = np.full((n, m), np.nan)
    r = asof.reinforcements(engine.store)
    pos = pd.Index(rows["id"].astype(object)).get_indexer(r["memory_id"].to_numpy(dtype=object))
    ev = pd.DataFrame({"pos": pos, "time_s": r["time_s"].to_numpy(), "before": r["stability_before"].to_numpy()})
    ev["after"], ev["j"] = r["stability_after"].to_numpy(), np.searchsorted(t, ev["time_s"].to_numpy(), "left")
    ev = ev[ev["pos"] >= 0]
    first = ev.groupby("pos")["before"].first()  # before its first reinforcement, a memory had this stability
    stab[first.index.to_numpy()] = first.to_numpy()[:, None]
    last = ev[ev["j"] < m].groupby(["pos", "j"])[["after", "time_s"]].last().reset_index()
    after[last["pos"], last["j"]] = last["after"]
    when[last["pos"], last["j"]] = last["time_s"]
    after = pd.DataFrame(after).ffill(axis=1).to_numpy()
    when = pd.DataFrame(when).ffill(axis=1).to_numpy()
    forgotten_s = rows["forgotten_time_s"].to_numpy(np.float64)
    return {
        "ids": rows["id"].to_numpy(dtype=object),
        "exists": birth[:, None] <= t[None, :],
        "stability": np.where(np.isnan(after), stab, after),
        "last_access": np.fmax(birth[:, None], when),
        "forgotten": forgotten_s[:, None] <= t[None, :],
    }


def bands_over_time(
    engine: MemoryEngine,
    times: Sequence[float],
    threshold: float,
    model: DecayModel = "exponential",
    params: DecayParams = DecayParams(),
) -> pd.DataFrame:
    """How many memories were in each band (:data:`BANDS`) at each of ``times``: one row per (time, band) with
    ``time_s``, ``band`` and ``memories`` (only memories that existed then). Exponential or power decay (ACT-R
    needs every access, not a stability: ConfigError). Computed over (memories x times) arrays at once."""
    if model not in ("exponential", "power"):
        raise ConfigError(f"the band view needs the exponential or power decay model, got {model!r}")
    t = np.sort(np.asarray(times, dtype=np.float64))
    st = states_over_time(engine, t)
    now: Any = t[None, :]  # broadcasts: decay.retention computes now - last access elementwise
    ret = decay_mod.retention(model, now, st["last_access"], st["stability"], params=params)
    code = bands(ret, st["forgotten"], threshold)
    counts = np.stack([((code == b) & st["exists"]).sum(axis=0) for b in range(len(BANDS))])  # (bands, times)
    return pd.DataFrame(
        {
            "time_s": np.tile(t, len(BANDS)),
            "band": np.repeat(np.array(BANDS, dtype=object), len(t)),
            "memories": counts.ravel().astype(np.int64),
        }
    )


def session_activity(engine: MemoryEngine, as_of_s: float | None = None) -> pd.DataFrame:
    """Per session, in time order: ``session_id``, ``start_s`` / ``end_s`` (its first and last memory time),
    ``written`` (its memories) and ``recalled`` (distinct memories strengthened by recalls made during it: the
    replay's turn recalls are made at their turns' times), each counted up to ``as_of_s`` (default: all)."""
    until = np.inf if as_of_s is None else float(as_of_s)
    rows = engine.read.table(["id", "session_id", "event_time_s", "created_time_s"])
    rows["birth_s"] = rows["event_time_s"].fillna(rows["created_time_s"])
    rows["session_id"] = rows["session_id"].fillna("")
    sess = rows.groupby("session_id").agg(start_s=("birth_s", "min"), end_s=("birth_s", "max"))
    sess["written"] = rows[rows["birth_s"] <= until].groupby("session_id").size()
    sess = sess.sort_values("start_s").reset_index()
    r = asof.reinforcements(engine.store)
    r = r[r["time_s"] <= until]
    # a recall belongs to the session whose [first, last] turn time holds it (the replay recalls at turn times)
    idx = np.searchsorted(sess["start_s"].to_numpy(), r["time_s"].to_numpy(), "right") - 1
    ok = (idx >= 0) & (r["time_s"].to_numpy() <= sess["end_s"].to_numpy()[np.maximum(idx, 0)])
    hits = pd.DataFrame({"n": idx[ok], "memory_id": r["memory_id"].to_numpy()[ok]}).groupby("n")["memory_id"].nunique()
    sess["recalled"] = hits.reindex(range(len(sess)), fill_value=0).to_numpy()
    sess["written"] = sess["written"].fillna(0).astype(np.int64)
    return sess[["session_id", "start_s", "end_s", "written", "recalled"]]


def strongest(frame: pd.DataFrame, n: int = 20) -> pd.DataFrame:
    """The ``n`` strongest live memories of a retention frame (:meth:`MemoryEngine.retention_frame` as of a time):
    highest stability first, then retention."""
    live = frame[frame["forgotten_time_s"].isna()]
    cols = ["stability_days", "retention", "recall_count", "speaker", "text", "session_id", "id"]
    return live.sort_values(["stability_days", "retention"], ascending=False).head(n)[cols].reset_index(drop=True)


def turn_queries(engine: MemoryEngine) -> pd.DataFrame:
    """The replay's turn recalls (their trace marked ``config.replay.turn``): ``time_s`` and ``query``, in time
    order."""
    events = [
        e
        for e in engine.read.events(ops=["recall"])
        if isinstance(e, RecallEvent) and "turn" in ((e.trace.get("config") or {}).get("replay") or {})
    ]
    df = pd.DataFrame({"time_s": [e.time_s for e in events], "query": [e.query for e in events]})
    return df.sort_values("time_s", kind="stable").reset_index(drop=True)


def query_at(queries: pd.DataFrame, t: float) -> str:
    """The last turn query at or before ``t`` (else the first one; empty when there is none)."""
    if queries.empty:
        return ""
    i = int(np.searchsorted(queries["time_s"].to_numpy(), t, "right")) - 1
    return str(queries["query"].iloc[max(i, 0)])


def suppressed_at(
    engine: MemoryEngine, query: str, t: float, k: int = 10, config: RecallConfig | None = None
) -> pd.DataFrame:
    """What decay suppressed in a recall of ``query`` as of ``t``: the memories in the top ``k`` without decay
    (:meth:`RecallConfig.without_decay`) but not with it. Two pure reads (nothing reinforced or recorded). One
    row each: ``rank_without_decay``, ``rank_with_decay`` (within the top 4k, else blank), ``retention`` and
    ``stability_days`` as of ``t`` (exponential), ``text``, ``speaker``, ``id``. Raises EmptyTextError,
    ConfigError."""
    base = replace(config or RecallConfig(), reinforce=False, record=False, as_of_s=float(t))
    with_decay = engine.recall(query, replace(base, k=4 * k)).trace.stage("final").candidates
    without = engine.recall(query, base.without_decay(), k=k).trace.stage("final").candidates
    rank = {c.id: n + 1 for n, c in enumerate(with_decay)}
    top = {c.id for c in with_decay[:k]}
    gone = [(n + 1, c.id) for n, c in enumerate(without) if c.id not in top]
    out = pd.DataFrame(
        {"rank_without_decay": [n for n, _ in gone], "id": [i for _, i in gone]},
    )
    out["rank_with_decay"] = out["id"].map(rank).astype("Int64")
    cols = ["rank_without_decay", "rank_with_decay", "retention", "stability_days", "text", "speaker", "id"]
    if out.empty:
        return out.reindex(columns=cols)
    frame = engine.retention_frame(now_s=t)
    info = frame.set_index("id").reindex(out["id"])[["retention", "stability_days", "text", "speaker"]]
    return pd.concat([out.reset_index(drop=True), info.reset_index(drop=True)], axis=1)[cols]


__all__ = [
    "BANDS",
    "GRID_POINTS",
    "STRONG",
    "bands",
    "bands_over_time",
    "query_at",
    "session_activity",
    "states_over_time",
    "strongest",
    "suppressed_at",
    "time_grid",
    "turn_queries",
]
