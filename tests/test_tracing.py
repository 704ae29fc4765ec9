"""Trace invariants, why-not answers (for scored, gated and never-retrieved memories), near misses and
trace comparison, on small real stores."""

from __future__ import annotations

import pytest

from memviz import tracing
from memviz.engine import STAGES, RecallConfig
from memviz.models import MemoryInput
from memviz.recall.presets import PRESET_NAMES, preset_config
from memviz.scoring import COMPONENTS

from support import DAY, T0

FACTS = [
    "Maya moved to Lisbon last spring and loves the tiled streets.",
    "Leon's sister Ines is allergic to peanuts.",
    "The weather in Manchester was grey all week.",
    "Leon adopted a rescue greyhound called Pixel.",
    "Maya's book club is reading a novel about lighthouse keepers.",
    "Leon now works as a nurse at the city hospital.",
    "Maya booked flights to Porto for the first week of April.",
    "Ines started climbing lessons at an indoor wall.",
    "The bakery on Maya's street sells custard tarts.",
    "Leon's greyhound Pixel hates thunderstorms.",
]


@pytest.fixture
def store(engine):
    engine.write(
        [
            MemoryInput(
                t, "Maya" if n % 2 else "Leon", f"s{n // 4}", id=f"m{n}", event_time_s=T0 - (len(FACTS) - n) * DAY
            )
            for n, t in enumerate(FACTS)
        ]
    )
    engine.store.refresh_text_index()
    return engine


@pytest.mark.parametrize("preset", PRESET_NAMES)
def test_trace_invariants(store, preset):
    res = store.recall("Where does Maya live?", preset_config(preset, k=3, reinforce=False))
    names = [s.name for s in res.trace.stages]
    assert names[0] == "embed" and names[-1] == "final"
    assert [n for n in names if n != "graph"] == list(STAGES)  # "graph" only adds itself before "final"
    assert ("graph" in names) == (res.trace.config["graph_hops"] > 0)
    for s in tracing.ranking_stages(res.trace):
        assert [c.rank for c in s.candidates] == list(range(1, len(s.candidates) + 1))
    ranked = tracing.last_ranking(res.trace).candidates
    scores = [c.scores["score"] for c in ranked]
    assert scores == sorted(scores, reverse=True)
    weights = tracing.weights_of(res.trace)
    for c in ranked:  # the score is the weighted mean of the components the trace shows
        assert c.scores["score"] == pytest.approx(sum(tracing.contributions(c.scores, weights).values()))
    assert [c.id for c in res.trace.stage("final").candidates] == [c.id for c in ranked[:3]]
    assert [h.memory.id for h in res.hits] == [c.id for c in ranked[:3]]
    assert all(set(COMPONENTS) <= set(h.components) for h in res.hits)


def test_default_config_keeps_its_stages_and_scores(store):
    res = store.recall("Where does Maya live?", RecallConfig(k=3, reinforce=False))
    assert [s.name for s in res.trace.stages] == list(STAGES)
    assert res.trace.stage("fusion").info["method"] == "rrf"
    for c in res.trace.stage("scoring").candidates:
        s = c.scores
        by_hand = (
            s["relevance"] + 0.25 * s["lexical"] + 0.05 * s["recency"] + 0.05 * s["importance"] + 0.01 * s["retention"]
        ) / 1.36
        assert s["score"] == pytest.approx(by_hand)


def test_why_not_a_scored_memory_below_the_cut(store):
    res = store.recall("Leon's dog", RecallConfig(k=1, reinforce=False))
    ranked = tracing.last_ranking(res.trace).candidates
    below = ranked[2]
    why = tracing.why_not(res.trace, below.id)
    assert not why.retrieved and why.rank == 3
    assert why.cutoff_score == pytest.approx(ranked[0].scores["score"])
    assert why.margin == pytest.approx(below.scores["score"] - ranked[0].scores["score"]) and why.margin < 0
    assert sum(why.gap.values()) == pytest.approx(-why.margin)  # the gap splits into components
    assert why.deciding in COMPONENTS and why.gap[why.deciding] == max(why.gap.values())
    assert [s["stage"] for s in why.stages] == ["vector", "fulltext", "fusion", "scoring", "final"]
    assert why.stages[-1]["rank"] is None and why.stages[3]["rank"] == 3
    assert any("below the cut-off" in r for r in why.reasons)


def test_why_not_a_memory_no_retriever_returned(store):
    cfg = RecallConfig(k=1, candidates=2, reinforce=False)
    res = store.recall("Leon's greyhound Pixel", cfg)
    seen = {c.id for s in res.trace.stages for c in s.candidates}
    outsider = next(m for m in (f"m{n}" for n in range(len(FACTS))) if m not in seen)
    explained = store.explain(res.trace, [outsider])[outsider]
    vector_cut = res.trace.stage("vector").candidates[-1].scores["relevance"]
    assert explained["cosine"] < vector_cut  # below the vector retriever's cut-off
    why = tracing.why_not(res.trace, outsider, explained)
    assert why.rank is None and not why.retrieved
    assert why.would_rank is not None and why.would_rank > 1 and why.margin < 0
    assert all(s["rank"] is None for s in why.stages)
    assert any("vector search" in r and f"{explained['cosine']:.3f}" in r for r in why.missed)
    fulltext = [r for r in why.missed if "full-text" in r]
    assert len(fulltext) == 1
    if explained["bm25"] is None:
        assert "shares no term" in fulltext[0]
    # explain() agrees with the trace for a memory the trace did score
    top = res.hits[0]
    again = store.explain(res.trace, [top.memory.id])[top.memory.id]
    assert again["score"] == pytest.approx(top.score)
    assert again["components"]["relevance"] == pytest.approx(top.components["relevance"], abs=1e-6)


def test_why_not_a_gated_memory(store):
    store.clock.set(T0 + 40 * DAY)  # every memory is now weeks old: MemoryBank's gate drops the old ones
    res = store.recall("Lisbon", preset_config("memorybank", k=3))
    gated = res.trace.stage("scoring").info["gated"]
    assert gated
    mid = next(iter(gated))
    why = tracing.why_not(res.trace, mid, store.explain(res.trace, [mid])[mid])
    assert why.gated["component"] == "retention" and why.gated["value"] < 0.5
    assert "Gated out" in why.reasons[0]


def test_why_not_at_a_metric_cutoff_below_the_traces_k(store):
    """A trace recorded with k=5 explained at a recall@2: rank 4 is left out, with rank 2 as the cut-off."""
    res = store.recall("Leon", RecallConfig(k=5, reinforce=False))
    ranked = tracing.last_ranking(res.trace).candidates
    fourth = ranked[3]
    assert tracing.why_not(res.trace, fourth.id).retrieved  # in the trace's own top 5
    why = tracing.why_not(res.trace, fourth.id, k=2)
    assert not why.retrieved and why.k == 2 and why.rank == 4
    assert why.cutoff_score == pytest.approx(ranked[1].scores["score"])
    assert any("cut-off (rank 2," in r for r in why.reasons) and not any("Retrieved" in r for r in why.reasons)
    assert "Retrieved at rank 2 of 2" in tracing.why_not(res.trace, ranked[1].id, k=2).reasons[0]
    assert tracing.near_misses(res.trace, 3, k=2)["rank"].tolist() == [3, 4, 5]
    assert tracing.why_not(res.trace, fourth.id, k=50).k == 5  # no further than the trace ranks


def test_near_misses_are_the_next_ranks_below_the_cut(store):
    res = store.recall("Leon", RecallConfig(k=2, reinforce=False))
    nm = tracing.near_misses(res.trace, 5)
    ranked = tracing.last_ranking(res.trace).candidates
    assert nm["rank"].tolist() == [c.rank for c in ranked[2:7]]
    assert (nm["margin"] <= 0).all() and nm["margin"].is_monotonic_decreasing
    cut = ranked[1].scores["score"]
    assert nm["margin"].tolist() == pytest.approx([c.scores["score"] - cut for c in ranked[2:7]])
    weighted = [c for c in COMPONENTS if tracing.weights_of(res.trace)[c] > 0]
    assert set(nm["deciding"]) <= set(weighted) | {""}


def test_compare_before_and_after_advancing_the_clock(store):
    # Recency-heavy weights: after the clock moves on, the recency of all memories falls, but relative order
    # holds; identical traces compare as identical.
    cfg = RecallConfig(k=3, reinforce=False, weights={"relevance": 1.0, "retention": 1.0})
    a = store.recall("Maya", cfg)
    same = tracing.compare(a.trace, a.trace)
    assert same.jaccard == 1.0 and not same.entered and not same.left and not same.moved
    store.advance_clock(days=30)
    b = store.recall("Maya", cfg)
    diff = tracing.compare(a.trace, b.trace)
    fa = [c.id for c in a.trace.stage("final").candidates]
    fb = [c.id for c in b.trace.stage("final").candidates]
    assert set(diff.entered) == set(fb) - set(fa) and set(diff.left) == set(fa) - set(fb)
    assert diff.overlap == len(set(fa) & set(fb))
    for row in diff.table.itertuples():
        if row.status in ("up", "down", "same"):
            assert row.delta == row.rank_a - row.rank_b
    changed = diff.table[diff.table["status"] != "same"]
    assert set(changed["driver"]) <= {"retention", "relevance"}


def test_compare_two_presets_and_replayed_traces(store):
    a = store.recall("Leon's dog Pixel", preset_config("vector", k=3, reinforce=False, record=True))
    b = store.recall("Leon's dog Pixel", preset_config("bm25", k=3, reinforce=False, record=True))
    replayed = {t.id: t for t in store.traces(limit=5)}
    assert replayed[a.trace.id].to_dict() == a.trace.to_dict()  # stored traces reopen unchanged
    diff = tracing.compare(replayed[a.trace.id], replayed[b.trace.id])
    assert diff.overlap + len(diff.entered) == len(b.hits)
    assert diff.overlap + len(diff.left) == len(a.hits)
