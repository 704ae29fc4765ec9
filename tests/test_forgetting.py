"""Forgetting: replaying a memory's history, retention curves against hand-computed decay values, what a
threshold suppresses, how it changes a recall, and comparing versions."""

from __future__ import annotations

import json
import math

import numpy as np
import pandas as pd
import pytest

from memviz.decay import DecayParams, initial_stability_days
from memviz.errors import ConfigError
from memviz.events import Event, event_from_row
from memviz.forgetting import (
    MemoryHistory,
    compared_models,
    curve_times,
    forget_reason,
    live_retention,
    memory_history,
    recall_change,
    retention_curve,
    suppressed,
    version_diff,
)
from memviz.models import Memory, MemoryInput

from support import DAY, T0


def _memory(**kw) -> Memory:
    base = {
        "id": "m1",
        "text": "t",
        "kind": "episodic",
        "speaker": "",
        "session_id": "",
        "source_id": "",
        "dataset": "",
        "event_time_s": T0,
        "created_time_s": T0 + 5 * DAY,
        "importance": 0.5,
        "stability_days": 2.0,
        "recall_count": 0,
        "last_recalled_s": None,
        "forgotten_time_s": None,
        "keywords": [],
        "access_times_s": [T0],
        "batch_id": "b",
    }
    return Memory(**(base | kw))


def _event(op, t, ids, payload, n=0) -> Event:
    return event_from_row(
        {
            "id": f"e{n}",
            "op": op,
            "time_s": t,
            "wall_time_s": t,
            "memory_ids": ids,
            "batch_id": "",
            "payload": json.dumps(payload),
        }
    )


def test_history_replays_the_write_and_each_reinforcement():
    events = [
        _event("write", T0 + 5 * DAY, ["m1"], {"stability_days": 2.0}),
        _event("link", T0 + 5 * DAY, ["m1", "m2"], {}),
        _event("reinforce", T0 + 7 * DAY, ["m2"], {"stability_after": 99.0, "reason": "recall"}),  # another memory
        _event("reinforce", T0 + 8 * DAY, ["m1"], {"stability_after": 4.5, "reason": "recall"}),
        _event("reinforce", T0 + 9 * DAY, ["m1"], {"stability_after": 6.0, "reason": "manual"}),
    ]
    h = memory_history(_memory(), events)
    assert h.access_times_s.tolist() == [T0, T0 + 8 * DAY, T0 + 9 * DAY]  # the write counts at the event time
    assert h.stability_days.tolist() == [2.0, 4.5, 6.0]
    assert h.reasons == ("write", "recall", "manual")


def test_history_without_events_starts_from_the_initial_stability():
    h = memory_history(_memory(event_time_s=None, importance=1.0), [])
    assert h.access_times_s.tolist() == [T0 + 5 * DAY]  # no event time: the creation time
    assert h.stability_days.tolist() == [pytest.approx(float(initial_stability_days(1.0)))] == [10.0]


HISTORY = MemoryHistory("m", np.array([T0, T0 + 2 * DAY]), np.array([2.0, 5.0]), ("write", "recall"))


def test_exponential_curve_matches_hand_computed_values_and_jumps():
    t = np.array([T0 - DAY, T0, T0 + DAY, T0 + 2 * DAY - 1, T0 + 2 * DAY, T0 + 7 * DAY])
    r = retention_curve(HISTORY, t, "exponential")
    assert math.isnan(r[0])  # before the memory existed
    # R = exp(-dt/S): S = 2 days until the recall at day 2, then S = 5 days counted from the recall.
    assert r[1:] == pytest.approx([1.0, math.exp(-0.5), math.exp(-(2 - 1 / 86400) / 2), 1.0, math.exp(-1.0)])


def test_power_curve_matches_hand_computed_values():
    t = np.array([T0 + DAY, T0 + 12 * DAY])
    r = retention_curve(HISTORY, t, "power", DecayParams(power_d=0.5))
    # R = (1 + dt/S)^-d: (1 + 1/2)^-0.5 before the recall; (1 + 10/5)^-0.5 after it.
    assert r == pytest.approx([1.5**-0.5, 3.0**-0.5])
    assert retention_curve(HISTORY, t[:1], "power", DecayParams(power_d=2.0)) == pytest.approx([1.5**-2])


def test_actr_curve_counts_every_access_up_to_each_time():
    t = np.array([T0 + DAY, T0 + 3 * DAY])
    r = retention_curve(HISTORY, t, "actr", DecayParams(actr_d=0.5, actr_tau=0.0, actr_s=0.4))
    # Day 1: one access, 1 day old: B = ln(1) = 0, P = 1 / (1 + e^0) = 0.5.
    # Day 3: accesses 3 and 1 days old: B = ln(3^-0.5 + 1^-0.5) = ln(1.57735) = 0.45575;
    # P = 1 / (1 + exp(-0.45575 / 0.4)) = 1 / (1 + 0.32001) = 0.75757.
    assert r == pytest.approx([0.5, 0.75757], abs=1e-5)


def test_unknown_model_is_a_config_error():
    with pytest.raises(ConfigError):
        retention_curve(HISTORY, np.array([T0]), "hyperbolic")


def test_curve_times_cover_the_history_the_projection_and_both_sides_of_each_jump():
    t = curve_times(HISTORY, now_s=T0 + 4 * DAY, horizon_days=10, n=50)
    assert t[0] == T0 and t[-1] == T0 + 14 * DAY
    assert {T0 + 2 * DAY, T0 + 2 * DAY - 1} <= set(t.tolist())
    assert np.all(np.diff(t) > 0)
    with pytest.raises(ConfigError):
        curve_times(HISTORY, T0, -1)


def test_suppressed_lists_live_memories_below_the_threshold_weakest_first():
    frame = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "retention": [0.05, 0.5, 0.01, 0.02], "forgotten_time_s": [None, None, None, T0]}
    )
    assert suppressed(frame, 0.1)["id"].tolist() == ["c", "a"]  # d is already forgotten
    assert suppressed(frame, 0.0).empty
    with pytest.raises(ConfigError):
        suppressed(frame, 1.5)


def test_version_diff_counts_changes():
    then = pd.DataFrame({"id": ["a", "b", "c"], "recall_count": [0, 1, 0], "forgotten_time_s": [None, None, T0]})
    now = pd.DataFrame({"id": ["b", "c", "d"], "recall_count": [3, 0, 0], "forgotten_time_s": [T0, None, None]})
    assert version_diff(then, now) == {
        "memories_then": 3,
        "memories_now": 3,
        "added": 1,
        "removed": 1,
        "forgotten_then": 1,
        "forgotten_now": 1,
        "reinforced": 1,
    }


def test_recall_change_shows_what_suppressing_memories_would_do(engine):
    texts = [
        "Ann's cat Miso is grey.",
        "Miso the cat likes tuna.",
        "Ann bought Miso a red collar.",
        "Bob plays the cello.",
        "The weather in Oslo was rainy.",
    ]
    engine.write([MemoryInput(t, id=f"m{n}") for n, t in enumerate(texts)])
    version = engine.store.version()
    before = engine.recall("What do we know about Miso the cat?", k=3, reinforce=False)
    top = before.hits[0].memory.id
    change = recall_change(engine, "What do we know about Miso the cat?", [top], k=3)
    t = change.table.set_index("id")
    assert t.loc[top, "change"] == "suppressed" and pd.isna(t.loc[top, "rank_after"])
    assert top not in {h.memory.id for h in change.after.hits}
    assert len(change.after.hits) == 3 and (t["change"] == "new").sum() == 1
    assert change.after.trace.config["excluded"] == 1
    assert engine.store.version() == version  # nothing was reinforced


def test_retention_frame_at_an_old_version_and_with_other_parameters(engine):
    engine.write([MemoryInput("First memory.", id="a", event_time_s=T0 - 2 * DAY)])
    v1 = engine.store.version()
    engine.write([MemoryInput("Second memory.", id="b", event_time_s=T0 - DAY)])
    then = engine.retention_frame("exponential", version=v1)
    assert then["id"].tolist() == ["a"]
    assert sorted(engine.retention_frame("exponential")["id"]) == ["a", "b"]
    p1 = engine.retention_frame("power", params=DecayParams(power_d=0.5)).set_index("id")["retention"]
    p2 = engine.retention_frame("power", params=DecayParams(power_d=2.0)).set_index("id")["retention"]
    assert (p2 < p1).all()  # a what-if with a steeper power law; nothing stored changed
    assert engine.store.version() > v1


# -- the Forgetting page's numbers and texts ----------------------------------------------------------------
def test_as_of_min_days_reaches_back_to_the_first_memory():
    from memviz.forgetting import as_of_min_days

    assert as_of_min_days((T0 - 10.5 * DAY, T0), T0) == -11
    assert as_of_min_days((T0 - 3600, T0), T0) == -1  # at least one day back
    assert as_of_min_days(None, T0) == -1


def test_as_of_min_days_of_a_real_store(engine):
    from memviz.forgetting import as_of_min_days

    engine.write([MemoryInput("An old memory.", event_time_s=engine.clock.now() - 40 * DAY)])
    assert as_of_min_days(engine.read.time_range(), engine.clock.now()) == -40


def test_memory_metrics_and_reinforce_message():
    from memviz.events import ReinforceEvent
    from memviz.forgetting import MemoryHistory, memory_metrics, reinforce_message

    h = MemoryHistory("m", np.array([T0, T0 + DAY]), np.array([2.0, 5.0]), ("write", "recall"))
    metrics = memory_metrics(h, T0 + DAY, ["exponential", "power"])
    assert [m[0] for m in metrics] == [
        "Retention now (exponential)",
        "Retention now (power)",
        "Stability now",
        "Reinforcements",
    ]
    assert metrics[0][1] == "1.000" and metrics[2][1] == "5.0 days" and metrics[3][1] == "1"
    ev = ReinforceEvent(
        time_s=T0, memory_ids=("m",), reason="manual", stability_before=2.0, stability_after=5.25, retention_before=0.4
    )
    assert reinforce_message(ev) == "Reinforced: stability 2.0 → 5.2 days (retention was 0.40)."


def test_population_metrics_count_what_is_below_among_the_live_memories():
    from memviz.forgetting import forgotten_ids, population_metrics

    frame = pd.DataFrame(
        {"id": ["a", "b", "c", "d"], "retention": [0.05, 0.5, 0.01, 0.02], "forgotten_time_s": [None, None, None, T0]}
    )
    metrics = {m[0]: m[1] for m in population_metrics(frame, suppressed(frame, 0.1))}
    assert metrics == {
        "Memories": "4",
        "Below threshold": "2",
        "Share below": "66.7%",
        "Median retention": "0.050",
        "Already forgotten": "1",
    }
    assert forgotten_ids(frame) == ["d"]
    empty = {m[0]: m[1] for m in population_metrics(frame.iloc[3:], suppressed(frame.iloc[3:], 0.1))}
    assert empty["Median retention"] == "–" and empty["Share below"] == "0.0%"


def test_change_summary_and_version_texts():
    from datetime import UTC, datetime

    from memviz.forgetting import change_summary, version_label, version_metrics

    change = pd.DataFrame({"change": ["suppressed", "suppressed", "new", "moved", "same"]})
    assert (
        change_summary(change, 5)
        == "2 of the hits would be suppressed, 1 memories would enter the top 5, 1 would move."
    )
    assert (
        version_label({"version": 3, "timestamp": datetime(2024, 1, 2, 3, 4, 5, tzinfo=UTC), "rows": 10})
        == "3 · 2024-01-02 03:04:05 · 10 rows"
    )
    then = pd.DataFrame(
        {"id": ["a", "b"], "recall_count": [0, 0], "forgotten_time_s": [None, None], "retention": [0.2, 0.4]}
    )
    now = pd.DataFrame({"id": ["b", "c", "d"], "recall_count": [1, 0, 0], "forgotten_time_s": [T0, None, None]})
    metrics = {m[0]: m[1:] for m in version_metrics(version_diff(then, now), then)}
    assert metrics["Memories then"] == ("2", None, "+1 now")
    assert metrics["Forgotten then"] == ("0", None, "+1 now", "off")
    assert (
        metrics["Added since"] == ("2",) and metrics["Pruned since"] == ("1",) and metrics["Reinforced since"] == ("1",)
    )
    assert metrics["Median retention then"][0] == "0.300"
    same = {m[0]: m[1:] for m in version_metrics(version_diff(then, then), then)}
    assert same["Memories then"][2] is None  # no change: no delta


def test_recall_change_is_a_pure_read(engine):
    engine.write([MemoryInput(t, id=f"m{n}") for n, t in enumerate(["Ann's cat Miso is grey.", "Bob plays cello."])])
    n_events, version = len(engine.read.events()), engine.read.version()
    recall_change(engine, "Who is Miso?", ["m0"], k=1)
    assert len(engine.read.events()) == n_events and engine.read.version() == version  # nothing recorded


def test_compared_models_live_retention_and_forget_reason():
    assert compared_models("power", "none") == ["power"]
    assert compared_models("power", "power") == ["power"]
    assert compared_models("power", "actr") == ["power", "actr"]
    frame = pd.DataFrame({"retention": [0.9, 0.1, 0.5], "forgotten_time_s": [None, T0, None]})
    assert live_retention(frame).tolist() == [0.9, 0.5]
    assert (
        forget_reason(0.1, "power", T0, fmt_time=lambda t: f"t={t:.0f}") == f"retention < 0.10 (power) as of t={T0:.0f}"
    )
