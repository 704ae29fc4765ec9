"""'As of' means 'as it was then' (memviz.asof): memories written later do not exist, later reinforcements,
recall counts and forgets are undone; recall's pool, retention frames, why-not, the graph and a memory's
history agree."""

from __future__ import annotations

import pytest

from memviz import asof, tracing
from memviz.filters import MemoryFilter
from memviz.graph import graph_frames
from memviz.models import MemoryInput

from support import DAY, T0

T1, T2 = T0 - 20 * DAY, T0 - 5 * DAY  # an early memory, a later one; "as of" falls between them


def two_memories(engine):
    engine.write(
        [
            MemoryInput(
                "Maya adopted a dog called Mango.", speaker="Maya", session_id="s", id="early", event_time_s=T1
            ),
            MemoryInput("Maya's dog Mango won a prize.", speaker="Maya", session_id="s", id="late", event_time_s=T2),
        ]
    )


def test_a_memory_written_after_the_as_of_time_is_not_recalled_nor_counted(engine):
    two_memories(engine)
    t = T1 + 10 * DAY
    res = engine.recall("Mango the dog", k=2, reinforce=False, as_of_s=t)
    assert [h.memory.id for h in res.hits] == ["early"]  # "late" does not exist yet
    assert res.hits[0].components["retention"] < 1.0 and res.trace.time_s == t
    frame = engine.retention_frame(now_s=t)
    assert frame["id"].tolist() == ["early"] and (frame["retention"] < 1.0).all()
    assert sorted(engine.retention_frame()["id"]) == ["early", "late"]  # at the clock both exist
    # the bound applies only when the store holds something later: as of the clock, the fast path is kept
    assert asof.changed_since(engine.store, t) and not asof.changed_since(engine.store, engine.clock.now())
    nodes, links = graph_frames(engine, now_s=t)
    assert nodes["id"].tolist() == ["early"]


def test_stability_and_recall_count_as_of_a_time_before_a_reinforcement(engine):
    two_memories(engine)
    s0 = engine.get("early").stability_days
    engine.clock.set(T0)
    (first,) = engine.reinforce(["early"])
    engine.clock.advance(days=3)
    (second,) = engine.reinforce(["early"])
    assert first.stability_before == pytest.approx(s0)
    rows = engine.store.known_rows(["early"])
    before = asof.restate(engine.store, rows, T0 - DAY).to_pylist()[0]
    assert before["stability_days"] == pytest.approx(first.stability_before)
    assert before["recall_count"] == 0 and before["last_recalled_s"] is None
    between = asof.restate(engine.store, rows, T0 + DAY).to_pylist()[0]
    assert between["stability_days"] == pytest.approx(first.stability_after) == pytest.approx(second.stability_before)
    assert between["recall_count"] == 1 and between["last_recalled_s"] == T0
    now = asof.restate(engine.store, rows, engine.clock.now()).to_pylist()[0]
    assert now["stability_days"] == pytest.approx(second.stability_after) and now["recall_count"] == 2
    frame = engine.retention_frame(now_s=T0 - DAY).set_index("id")
    assert frame.loc["early", "stability_days"] == pytest.approx(s0) and frame.loc["early", "recall_count"] == 0


def test_a_memory_forgotten_later_is_live_as_of_before(engine):
    two_memories(engine)
    engine.forget(["early"])  # at the clock, T0
    assert engine.recall("Mango the dog", k=2, reinforce=False).hits[0].memory.id == "late"
    as_of = engine.recall("Mango the dog", k=2, reinforce=False, as_of_s=T2 + DAY)
    assert {h.memory.id for h in as_of.hits} == {"early", "late"}
    frame = engine.retention_frame(now_s=T2 + DAY)
    assert frame["forgotten_time_s"].isna().all()
    where = MemoryFilter(forgotten=False, existing_at_s=T2 + DAY)
    assert engine.read.count(where) == 2 and engine.read.count(MemoryFilter(forgotten=True, existing_at_s=T0)) == 1


def test_why_not_a_memory_that_did_not_exist_yet(engine):
    two_memories(engine)
    res = engine.recall("Mango the dog", k=1, reinforce=False, as_of_s=T1 + DAY)
    explained = engine.explain(res.trace, ["late"])["late"]
    assert explained["existed"] is False
    why = tracing.why_not(res.trace, "late", explained)
    assert any("did not exist yet" in r for r in why.reasons)


def test_why_not_scores_memories_as_the_recall_saw_them_before_its_own_reinforcement(engine):
    two_memories(engine)
    res = engine.recall("Mango the dog", k=2)  # the agent's path: reinforces and records
    assert engine.get(res.hits[0].memory.id).recall_count == 1
    explained = engine.explain(res.trace, [h.memory.id for h in res.hits])
    for h in res.hits:
        assert explained[h.memory.id]["score"] == pytest.approx(h.score)
        assert explained[h.memory.id]["components"]["retention"] == pytest.approx(h.components["retention"])


def test_a_memory_history_as_of_a_time_ignores_later_reinforcements(engine):
    from memviz.forgetting import memory_history, memory_metrics

    two_memories(engine)
    engine.clock.set(T0)
    engine.reinforce(["early"])
    events = engine.read.events(memory_id="early")
    assert len(memory_history(engine.get("early"), events).access_times_s) == 2
    then = memory_history(engine.get("early"), events, as_of_s=T0 - DAY)
    assert len(then.access_times_s) == 1
    metrics = dict((m[0], m[1]) for m in memory_metrics(then, T0 - DAY, ["exponential"], when="then"))
    assert metrics["Reinforcements"] == "0" and "Retention then (exponential)" in metrics
