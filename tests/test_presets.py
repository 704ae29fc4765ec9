"""Each scoring preset's formula on small hand-made stores with known answers (the fake embedder of tests/fakes.py)."""

from __future__ import annotations

import math

import numpy as np
import pytest

from memviz.engine import LinkConfig, embedding_text
from memviz.errors import ConfigError
from memviz.models import MemoryInput
from memviz.recall.presets import PRESET_NAMES, PRESETS, preset_config, preset_of
from memviz.scoring import COMPONENTS
from memviz.store.settings import StoreSettings

from support import DAY, T0


@pytest.fixture
def engine(make_engine):
    """Context-free stores (memviz.store.settings.StoreSettings()): the presets' expected ranks below are those
    of each memory's own text."""
    return make_engine(settings=StoreSettings())


FACTS = [
    ("Maya", "I moved to Lisbon last spring and I love the tiled streets."),
    ("Leon", "My sister Ines is allergic to peanuts, so we never cook satay."),
    ("Maya", "The weather was grey all week."),
    ("Leon", "I adopted a rescue greyhound called Pixel."),
    ("Maya", "Our book club is reading a novel about lighthouse keepers."),
    ("Leon", "I switched jobs: I now work as a nurse at the city hospital."),
]
# Only temporal links (previous turn of the same session, weight 1): the graph presets' paths are known.
TEMPORAL_ONLY = LinkConfig(semantic_threshold=1.01, keyword_top_n=0)


def write_facts(engine, facts=FACTS, session="s1", start=T0 - 10 * DAY, step=60.0):
    engine.write(
        [
            MemoryInput(text=t, speaker=s, session_id=session, id=f"{session}:{n}", event_time_s=start + n * step)
            for n, (s, t) in enumerate(facts)
        ]
    )
    engine.store.refresh_text_index()


def recall(engine, name, query, **overrides):
    return engine.recall(query, preset_config(name, reinforce=False, **overrides))


def weighted_mean(scores, weights):
    return sum(weights[c] * scores[c] for c in COMPONENTS) / sum(weights.values())


def test_presets_are_all_listed_and_valid():
    assert tuple(PRESETS) == PRESET_NAMES
    for name in PRESET_NAMES:
        cfg = preset_config(name, k=3)
        assert cfg.k == 3 and preset_of(cfg.__dict__) == name
        assert PRESETS[name].build.__doc__ and PRESETS[name].source
    with pytest.raises(ConfigError):
        preset_config("nope")
    assert preset_of({"weights": {"relevance": 0.3}}) is None


def test_vector_preset_ranks_by_cosine(engine, embedder):
    write_facts(engine)
    q = "Which city does Maya live in now?"
    res = recall(engine, "vector", q, k=6)
    qv = embedder.encode([q])[0]
    vecs = embedder.encode([embedding_text(t, s) for s, t in FACTS])
    cos = {f"s1:{n}": float(v @ qv) for n, v in enumerate(vecs)}
    got = [(h.memory.id, h.score) for h in res.hits]
    assert [i for i, _ in got] == sorted(cos, key=cos.get, reverse=True)
    assert all(s == pytest.approx(max(cos[i], 0.0), abs=1e-5) for i, s in got)
    assert res.trace.stage("fusion").info["method"] == "vector only"


def test_bm25_preset_only_returns_term_matches(engine):
    write_facts(engine)
    res = recall(engine, "bm25", "peanuts satay", k=6)
    assert [h.memory.id for h in res.hits] == ["s1:1"]  # the only memory sharing a term
    assert res.hits[0].score == pytest.approx(1.0)  # BM25 / best BM25
    assert res.hits[0].components["lexical"] == pytest.approx(1.0)


def test_rrf_preset_is_reciprocal_rank_fusion(engine):
    write_facts(engine)
    res = recall(engine, "rrf", "nurse at the hospital", k=6)
    v = {c.id: c.rank for c in res.trace.stage("vector").candidates}
    f = {c.id: c.rank for c in res.trace.stage("fulltext").candidates}
    for c in res.trace.stage("scoring").candidates:
        by_hand = sum(1 / (60 + r[c.id]) for r in (v, f) if c.id in r) / (2 / 61)
        assert c.scores["score"] == pytest.approx(by_hand)
    assert res.hits[0].memory.id == "s1:5"


def test_generative_agents_minmax_normalises_each_component(engine):
    # Three dated memories: recency, importance and relevance each span the pool, so min-max maps them to [0, 1].
    write_facts(engine, start=T0 - 3 * DAY, step=DAY / 2)
    res = recall(engine, "generative_agents", "Tell me about Leon's dog Pixel", k=6)
    scored = res.trace.stage("scoring").candidates
    for comp in ("recency", "importance", "relevance"):
        values = [c.scores[comp] for c in scored]
        assert min(values) == pytest.approx(0.0) and max(values) == pytest.approx(1.0)
    newest = max(scored, key=lambda c: engine.get(c.id).event_time_s)
    assert newest.scores["recency"] == pytest.approx(1.0)
    for c in scored:
        assert c.scores["score"] == pytest.approx(
            (c.scores["recency"] + c.scores["importance"] + c.scores["relevance"]) / 3
        )
    raw = res.trace.stage("scoring").info["ranges"]["recency"]  # the raw 0.995 ** hours range, as the paper defines
    assert raw[1] == pytest.approx(0.995 ** ((T0 - newest_time(engine)) / 3600), rel=1e-6)


def newest_time(engine):
    return max(m.event_time_s for m in engine.store.get([f"s1:{n}" for n in range(len(FACTS))]))


def test_mem0_additive_with_threshold_sigmoid_bm25_and_entity_boost(engine):
    write_facts(engine)
    q = "Is Ines allergic to peanuts?"
    res = recall(engine, "mem0", q, k=6)
    info = res.trace.stage("scoring").info
    cfg = res.trace.config
    for c in res.trace.stage("scoring").candidates:
        s = c.scores
        assert s["relevance"] >= 0.1  # the semantic threshold gates first
        assert s["score"] == pytest.approx((s["relevance"] + s["lexical"] + 0.5 * s["entity"]) / 2.5)
    for gated in info["gated"].values():
        assert gated["component"] == "relevance" and gated["value"] < 0.1
    top = res.hits[0]
    assert top.memory.id == "s1:1"
    bm25 = next(c.scores["bm25"] for c in res.trace.stage("fulltext").candidates if c.id == "s1:1")
    n_terms = info["n_terms"]
    m, s = (5.0, 0.7) if n_terms <= 3 else (7.0, 0.6)  # mem0's query-length table
    assert top.components["lexical"] == pytest.approx(1 / (1 + math.exp(-s * (bm25 - m))))
    # entity boost: a query keyword the memory carries, attenuated by how many memories carry it (mem0).
    shared = [kw for kw in info["query_keywords"] if kw in engine.get("s1:1").keywords]
    assert shared, (info["query_keywords"], engine.get("s1:1").keywords)
    df = max(info["keyword_df"][kw] for kw in shared)
    assert top.components["entity"] == pytest.approx(
        max(1 / (1 + 0.001 * (info["keyword_df"][kw] - 1) ** 2) for kw in shared)
    )
    assert df >= 1 and cfg["weights"]["entity"] == 0.5


def test_memorybank_gates_memories_with_low_retention(engine):
    # One memory a day old (kept: R = exp(-1/S) >= exp(-1/2)), one thirty days old (R <= exp(-30/10): gated).
    engine.write(
        [
            MemoryInput("Maya's new flat in Lisbon has a balcony.", "Maya", "s1", id="recent", event_time_s=T0 - DAY),
            MemoryInput(
                "Maya's old flat in Lisbon had no balcony.", "Maya", "s0", id="old", event_time_s=T0 - 30 * DAY
            ),
        ]
    )
    res = recall(engine, "memorybank", "Maya's flat in Lisbon", k=5)
    assert [h.memory.id for h in res.hits] == ["recent"]
    gated = res.trace.stage("scoring").info["gated"]["old"]
    old = engine.get("old")
    assert gated["component"] == "retention" and gated["threshold"] == 0.5
    assert gated["value"] == pytest.approx(math.exp(-30 / old.stability_days))
    recent = engine.get("recent")
    assert res.hits[0].components["retention"] == pytest.approx(math.exp(-1 / recent.stability_days))
    assert res.hits[0].score == pytest.approx(res.hits[0].components["relevance"])


def test_amem_adds_the_one_hop_linked_notes_of_the_best_hit(make_engine):
    engine = make_engine(link_config=TEMPORAL_ONLY, settings=StoreSettings())
    chain = [
        ("Leon", "The weather was fine."),
        ("Maya", "Did you finish the report?"),
        ("Leon", "I adopted a rescue greyhound called Pixel."),
        ("Maya", "Lunch was late today."),
        ("Leon", "The train was delayed again."),
    ]
    write_facts(engine, chain)
    res = recall(engine, "amem", "Leon's greyhound Pixel", k=3, candidates=3, graph_seeds=1)
    ids = [h.memory.id for h in res.hits]
    assert ids[0] == "s1:2" and set(ids) == {"s1:1", "s1:2", "s1:3"}  # the hit, then its two linked turns
    graph = res.trace.stage("graph")
    assert graph.info["seeds"] == ["s1:2"]
    for h in res.hits:
        assert h.components["graph"] == pytest.approx(1.0)  # seed a0 = 1; temporal link weight 1, no decay
        assert h.score == pytest.approx((h.components["relevance"] + 1.0) / 2)


def test_spreading_activation_decays_per_hop(make_engine):
    engine = make_engine(link_config=TEMPORAL_ONLY, settings=StoreSettings())
    chain = [
        ("Leon", "The weather was fine."),
        ("Maya", "Did you finish the report?"),
        ("Leon", "I adopted a rescue greyhound called Pixel."),
        ("Maya", "Lunch was late today."),
        ("Leon", "The train was delayed again."),
    ]
    write_facts(engine, chain)
    res = recall(engine, "spreading", "Leon's greyhound Pixel", k=5, graph_seeds=1)
    g = {c.id: c.scores["graph"] for c in res.trace.stage("graph").candidates}
    # seed 1 (+0.5 echoed back, clipped); one hop 0.5 * 1; two hops 0.5 * 0.5.
    assert g["s1:2"] == pytest.approx(1.0)
    assert g["s1:1"] == pytest.approx(0.5) and g["s1:3"] == pytest.approx(0.5)
    assert g["s1:0"] == pytest.approx(0.25) and g["s1:4"] == pytest.approx(0.25)
    w = res.trace.config["weights"]
    for c in res.trace.stage("graph").candidates:
        assert c.scores["score"] == pytest.approx(weighted_mean(c.scores, w))
    assert np.all(np.diff([c.scores["score"] for c in res.trace.stage("graph").candidates]) <= 1e-12)
