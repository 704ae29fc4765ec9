"""The engine on real LanceDB tables, with the deterministic fake embedder of tests/fakes.py."""

from __future__ import annotations

import pytest

from memviz.engine import STAGES
from memviz.errors import ConfigError, DuplicateMemoryError, EmptyTextError, StoreError, UnknownMemoryError
from memviz.filters import LinkFilter
from memviz.models import MemoryInput

from support import DAY, T0


def turns(session: str, texts: list[str], start_s: float = T0 - 10 * DAY, speaker: str = "Maya", first: int = 0):
    return [
        MemoryInput(
            text=t,
            speaker=speaker,
            session_id=session,
            source_id=f"{session}:{n}",
            event_time_s=start_s + 60 * n,
            id=f"{session}:{n}",
        )
        for n, t in enumerate(texts, start=first)
    ]


FACTS = [
    "I just moved to Manchester and my new flat is in Ancoats.",
    "My dog Mango loves the canal walks.",
    "Work at Brightwell Labs is going great, I started as a product analyst.",
    "I'm allergic to peanuts, so I always carry an EpiPen.",
    "The pottery class on Thursdays is really relaxing.",
]


def snapshot(engine):
    s = engine.store.stats()
    return s["memories"], s["links"], s["events"], engine.store.version()


def test_write_report_keywords_importance_links(engine):
    engine.write(turns("s1", FACTS))
    report = engine.write(turns("s2", ["Mango the dog is great on the canal walks in Manchester."], start_s=T0 - DAY))
    item = report.items[0]
    assert item.keywords and 0 <= item.importance <= 1 and item.stability_days > 0
    # nearest neighbour is the dog memory, and a semantic link to it exists with its similarity as weight
    assert item.neighbours[0]["id"] == "s1:1"
    sem = [lk for lk in item.links if lk.kind == "semantic"]
    assert sem and sem[0].target_id == "s1:1" and sem[0].weight == pytest.approx(item.neighbours[0]["similarity"])
    assert all(lk.weight >= engine.link_config.semantic_threshold for lk in sem)
    assert set(report.timings_ms) >= {"embed_ms", "link_ms", "store_ms", "total_ms"}


def test_temporal_links_chain_a_session_across_batches(engine):
    engine.write(turns("s1", FACTS[:3]))
    engine.write(turns("s1", FACTS[3:], first=3))
    links = engine.store.links_table(LinkFilter(kinds=["temporal"])).to_pylist()
    # every turn but the first points to the turn before it, also across the two batches
    assert {(lk["source_id"], lk["target_id"]) for lk in links} == {
        ("s1:1", "s1:0"),
        ("s1:2", "s1:1"),
        ("s1:3", "s1:2"),
        ("s1:4", "s1:3"),
    }
    assert all(lk["weight"] == 1.0 for lk in links)


def test_keyword_links_weighted_by_jaccard(engine):
    engine.write(turns("s1", ["Pottery class tonight with the glaze workshop."]))
    r = engine.write(turns("s2", ["The glaze workshop at pottery class was fun."], start_s=T0 - DAY))
    kw = [lk for lk in r.items[0].links if lk.kind == "keyword"]
    assert kw and kw[0].target_id == "s1:0" and 0 < kw[0].weight <= 1


def test_write_events_are_logged(engine):
    engine.write(turns("s1", FACTS), source={"path": "x.jsonl", "format": "jsonl"})
    ops = [e.op for e in engine.store.list_events()]
    assert ops.count("write") == len(FACTS) and "link" in ops and "import" in ops
    assert engine.store.list_events(memory_id="s1:2")[0].payload["text"] == FACTS[2]


def test_empty_text_writes_nothing(engine):
    engine.write(turns("s1", FACTS[:2]))
    before = snapshot(engine)
    with pytest.raises(EmptyTextError, match="item 1"):
        engine.write([MemoryInput("fine text"), MemoryInput("   ")])
    assert snapshot(engine) == before


def test_duplicate_ids(engine):
    engine.write(turns("s1", FACTS[:2]))
    before = snapshot(engine)
    with pytest.raises(DuplicateMemoryError):
        engine.write(turns("s1", FACTS[:3]))
    assert snapshot(engine) == before
    with pytest.raises(DuplicateMemoryError):
        engine.write([MemoryInput("a", id="x"), MemoryInput("b", id="x")])
    r = engine.write(turns("s1", FACTS[:3]), on_duplicate="skip")
    assert r.skipped_ids == ["s1:0", "s1:1"] and [i.id for i in r.items] == ["s1:2"]


def test_unknown_kind_is_refused(engine):
    with pytest.raises(ConfigError, match="kind"):
        engine.write([MemoryInput("text", kind="dream")])


def test_batch_is_rolled_back_when_a_table_write_fails(engine, monkeypatch):
    engine.write(turns("s1", FACTS[:2]))
    before = snapshot(engine)
    links_tbl = engine.store.links

    def broken_add(*a, **k):
        raise OSError("disk full")

    monkeypatch.setattr(links_tbl, "add", broken_add)
    with pytest.raises(StoreError, match="rolled back"):
        engine.write(turns("s2", FACTS[2:], start_s=T0 - DAY))
    monkeypatch.undo()
    mems, links, events, _ = snapshot(engine)
    assert (mems, links, events) == before[:3]
    assert engine.store.existing_ids(["s2:0", "s2:1"]) == set()


def test_uncommitted_batch_is_recovered_on_open(engine):
    """A process killed after appending memories but before the batch's events leaves orphans: removed on open."""
    import pyarrow as pa

    from memviz.store import MemoryStore

    engine.write(turns("s1", FACTS[:2]))
    committed = engine.store.count()
    row = engine.store.memories.to_arrow().slice(0, 1).to_pylist()[0]
    row.update(id="orphan", batch_id="deadbeef")
    engine.store.memories.add(pa.Table.from_pylist([row], schema=engine.store.memories.schema))
    assert engine.store.count() == committed + 1
    reopened = MemoryStore(engine.store.uri)
    assert reopened.count() == committed and reopened.existing_ids(["orphan"]) == set()


def test_a_cold_model_load_is_its_own_stage(engine, monkeypatch):
    """The first recall of a process that loads the model charges the load to a "model" stage, not to "embed"."""
    engine.write(turns("s1", FACTS))
    loads = iter([True, False])
    monkeypatch.setattr(engine.embedder, "load", lambda: next(loads), raising=False)
    first = engine.recall("Maya's city", k=3, reinforce=False)
    assert [s.name for s in first.trace.stages] == ["model", *STAGES]
    again = engine.recall("Maya's city", k=3, reinforce=False)
    assert [s.name for s in again.trace.stages] == list(STAGES)


def test_recall_trace_is_complete_and_consistent(engine):
    engine.write(turns("s1", FACTS))
    res = engine.recall("Which city did Maya move to?", k=3, reinforce=False)
    assert [h.memory.id for h in res.hits][0] == "s1:0"
    assert [s.name for s in res.trace.stages] == list(STAGES)
    scored = res.trace.stage("scoring").candidates
    scores = [c.scores["score"] for c in scored]
    assert scores == sorted(scores, reverse=True)
    assert [c.id for c in res.trace.stage("final").candidates] == [h.memory.id for h in res.hits]
    for h in res.hits:
        assert set(h.components) >= {"relevance", "lexical", "recency", "importance", "retention"}
        assert 0 <= h.score <= 1
    fused_ids = {c.id for c in res.trace.stage("fusion").candidates}
    assert {c.id for c in res.trace.stage("vector").candidates} <= fused_ids
    assert res.trace.total_ms > 0 and all(s.duration_ms >= 0 for s in res.trace.stages)


def test_recall_weights_change_the_ranking(make_engine):
    from memviz.store.settings import StoreSettings

    # Without contexts: with one, the turn after the peanut turn carries "peanuts" in its vector too.
    engine = make_engine(settings=StoreSettings())
    engine.write(turns("s1", FACTS))
    rel = engine.recall("peanuts", k=5, reinforce=False, weights={"relevance": 1})
    imp = engine.recall("peanuts", k=5, reinforce=False, weights={"importance": 1})
    assert rel.hits[0].memory.id == "s1:3"
    assert [h.memory.id for h in imp.hits] == sorted(
        [h.memory.id for h in imp.hits], key=lambda i: -engine.get(i).importance
    )


def test_recall_reinforces_hits_and_logs_it(engine):
    engine.write(turns("s1", FACTS))
    before = engine.get("s1:3")
    engine.clock.advance(days=3)
    res = engine.recall("peanut allergy", k=1)
    after = engine.get("s1:3")
    assert res.hits[0].memory.id == "s1:3"
    assert after.recall_count == 1 and after.stability_days > before.stability_days
    assert after.last_recalled_s == engine.clock.now() and after.access_times_s[-1] == engine.clock.now()
    ops = [e.op for e in engine.store.list_events(memory_id="s1:3")]
    assert ops[-2:] == ["recall", "reinforce"]
    assert engine.traces()[-1].query == "peanut allergy"


def test_decay_lowers_retention_and_recall_resets_it(engine):
    engine.write(turns("s1", FACTS, start_s=T0))
    r0 = engine.retention_frame().set_index("id")["retention"]
    assert (r0 == 1.0).all()
    engine.clock.advance(days=7)
    r7 = engine.retention_frame().set_index("id")["retention"]
    assert (r7 < 1.0).all()
    engine.reinforce(["s1:0"])
    r = engine.retention_frame().set_index("id")["retention"]
    assert r["s1:0"] == 1.0 and r["s1:1"] == r7["s1:1"]
    for model in ("power", "actr"):
        df = engine.retention_frame(model)
        assert df["retention"].between(0, 1).all()


def test_forget_restore_prune(engine):
    engine.write(turns("s1", FACTS))
    assert engine.forget(["s1:3"]) == ["s1:3"]
    assert engine.get("s1:3").forgotten
    assert "s1:3" not in [h.memory.id for h in engine.recall("peanuts", k=5, reinforce=False).hits]
    assert "s1:3" in [h.memory.id for h in engine.recall("peanuts", k=5, reinforce=False, include_forgotten=True).hits]
    assert engine.restore(["s1:3"]) == ["s1:3"] and not engine.get("s1:3").forgotten
    assert engine.prune(["s1:3"]) == 1
    with pytest.raises(UnknownMemoryError):
        engine.get("s1:3")
    assert not engine.store.links_table(LinkFilter(touching=["s1:3"])).num_rows
    prune = engine.store.list_events(ops=["prune"])[0]
    assert prune.payload["memories"][0]["text"] == FACTS[3]
    ops = [e.op for e in engine.store.list_events(memory_id="s1:3")]
    assert ops[:1] == ["write"] and {"forget", "restore", "prune"} <= set(ops)


def test_forget_below_threshold(engine):
    engine.write(turns("s1", FACTS, start_s=T0))
    engine.clock.advance(days=30)
    df = engine.retention_frame()
    expected = sorted(df.loc[df["retention"] < 0.05, "id"])
    assert expected and sorted(engine.forget_below(0.05)) == expected
    with pytest.raises(ConfigError):
        engine.forget_below(1.5)


@pytest.mark.parametrize("ids", [["nope"], ["s1:0", "nope"]])
def test_unknown_ids(engine, ids):
    engine.write(turns("s1", FACTS[:1]))
    for op in (engine.forget, engine.restore, engine.reinforce, engine.prune):
        with pytest.raises(UnknownMemoryError, match="nope"):
            op(ids)
    assert not engine.get("s1:0").forgotten


@pytest.mark.parametrize(
    "kwargs,err",
    [
        ({"k": 0}, ConfigError),
        ({"k": -3}, ConfigError),
        ({"decay_model": "linear"}, ConfigError),
        ({"weights": {"relevance": -1}}, ConfigError),
    ],
)
def test_bad_recall_config(engine, kwargs, err):
    engine.write(turns("s1", FACTS[:2]))
    with pytest.raises(err):
        engine.recall("dog", **kwargs)


def test_empty_query_and_k_beyond_store(engine):
    engine.write(turns("s1", FACTS))
    with pytest.raises(EmptyTextError):
        engine.recall("   ")
    assert len(engine.recall("dog", k=100, reinforce=False).hits) == len(FACTS)


def test_recall_on_empty_store(engine):
    res = engine.recall("anything", reinforce=False)
    assert res.hits == [] and res.trace.stage("final").candidates == []


def test_clock_events_and_real_clock(engine):
    t = engine.advance_clock(days=2)
    assert t == T0 + 2 * DAY and engine.store.list_events(ops=["clock"])[-1].payload["to_s"] == t
    with pytest.raises(ConfigError):
        engine.advance_clock(days=-1)


def test_ingest_window_embeds_once_and_commits_per_batch(make_engine):
    engine = make_engine()
    calls = []
    encode = engine.embedder.encode
    engine.embedder.encode = lambda texts: calls.append(len(texts)) or encode(texts)
    items = [MemoryInput(text=f"note number {n} about topic {n % 3}", id=f"m{n}") for n in range(10)]
    reports = engine.ingest(items, batch_size=4, embed_window=8)
    assert calls == [8, 2]  # one encoder call per window of 8
    assert [len(r.items) for r in reports] == [4, 4, 2] and engine.store.count() == 10
    assert len({r.batch_id for r in reports}) == 3 and len(engine.store.list_events(ops=["write"])) == 10


def test_ingest_refuses_an_id_repeated_in_a_later_batch_before_writing_anything(make_engine):
    """A repeat in a later batch (or window) used to be skipped as "already stored" (the first one kept, the
    second lost without a word) or, inside one batch, refused after earlier windows were committed."""
    engine = make_engine()
    items = [MemoryInput(text=f"note number {n} about topic {n % 3}", id=f"m{n}") for n in range(10)]
    items.append(MemoryInput(text="the same id again", id="m2"))  # in a later batch and window
    version = engine.store.version()
    with pytest.raises(DuplicateMemoryError, match="item 10: id 'm2' is also the id of item 2; .*nothing was written"):
        engine.ingest(items, batch_size=4, embed_window=8)
    assert engine.store.count() == 0 and engine.store.version() == version and not engine.store.count("events")
    # ids already stored are still skipped: re-running an ingest resumes it
    engine.ingest(items[:6], batch_size=4)
    reports = engine.ingest(items[:10], batch_size=4)
    assert sum(len(r.skipped_ids) for r in reports) == 6 and engine.store.count() == 10


def test_two_threads_ingesting_the_same_items_store_each_once(engine):
    """The app shares one engine between sessions and background ingests: ids stored by another thread after a
    batch was prepared are skipped at commit (or refused by a write that asked for errors), never doubled."""
    import threading

    items = [MemoryInput(text=f"note {n} on the garden", id=f"g{n}") for n in range(200)]
    reports: list = []
    threads = [threading.Thread(target=lambda: reports.extend(engine.ingest(items, batch_size=50))) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    ids = engine.store.memories_table(columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(i.id for i in items)  # each once
    assert sum(len(r.items) for r in reports) == 200 and sum(len(r.skipped_ids) for r in reports) == 200
    assert len(engine.store.list_events(ops=["write"])) == 200


def test_a_write_refuses_ids_stored_after_it_was_checked(engine):
    batch = engine.writer.prepare([MemoryInput(text="a late twin", id="twin")], "error")
    engine.write([MemoryInput(text="the first twin", id="twin")])
    with pytest.raises(DuplicateMemoryError, match="stored meanwhile, e.g. twin; nothing was written"):
        engine.writer.commit(batch, engine.writer.embed([batch]), None)
    assert engine.get("twin").text == "the first twin" and engine.store.count() == 1


def test_a_recall_without_reinforcement_is_a_pure_read(engine):
    engine.write(turns("s1", FACTS))
    before = (engine.store.version(), engine.store.count("events"), engine.store.links.version)
    engine.recall("Where does Maya live?", k=3, reinforce=False)
    engine.explain(engine.recall("dog", k=1, reinforce=False).trace, ["s1:0"])
    assert (engine.store.version(), engine.store.count("events"), engine.store.links.version) == before
    res = engine.recall("Where does Maya live?", k=3, reinforce=False, record=True)  # asked for: logged, no reinforce
    assert [t.id for t in engine.traces(limit=1)] == [res.trace.id] and engine.store.version() == before[0]


def test_an_ingest_that_moves_the_clock_records_it(make_engine):
    engine = make_engine(start_s=T0 + 100 * DAY)
    engine.ingest(turns("s1", FACTS, start_s=T0 - 10 * DAY))
    clocks = engine.store.list_events(ops=["clock"])
    assert len(clocks) == 1 and clocks[0].to_s == engine.clock.now() == T0 - 10 * DAY + 60 * 4
    engine.ingest(turns("s2", FACTS, start_s=T0))  # the clock was set once: a later ingest leaves it
    assert len(engine.store.list_events(ops=["clock"])) == 1


# -- the clock: one per store, within the supported time range, resettable --------------------------
def test_clock_outside_the_supported_range_is_refused_and_left_unchanged(engine):
    from memviz.limits import MAX_TIME_S, MIN_TIME_S

    n = engine.store.count("events")
    for t in (MAX_TIME_S, 253402343999.0, MIN_TIME_S - 1, float("nan"), float("inf")):
        with pytest.raises(ConfigError, match="outside the supported range, 1900-01-01 00:00 UTC up to"):
            engine.set_clock(t)
    assert engine.clock.now() == T0 and engine.store.count("events") == n
    end = engine.set_clock(MAX_TIME_S - 3600)  # an hour before the end: settable
    with pytest.raises(ConfigError, match="cannot advance by 1 days: time 2200-01-01 23:00:00 UTC is outside"):
        engine.advance_clock(days=1)
    assert engine.clock.now() == end and engine.store.count("events") == n + 1
    assert engine.advance_clock(seconds=3599) == MAX_TIME_S - 1


def test_two_engines_on_one_store_share_its_clock(make_engine, tmp_path, embedder):
    """Two MemoryStore objects on one folder stand for two processes (two app windows)."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    a = make_engine("db")
    b = MemoryEngine(MemoryStore(tmp_path / "db"), embedder, SimulatedClock(T0))
    a.advance_clock(days=29)
    assert b.clock.now() == T0 + 29 * DAY  # read from the store's clock, no action needed
    assert b.advance_clock(days=1) == T0 + 30 * DAY  # before: T0 + 1 day, the saved clock went back 28 days
    assert a.clock.now() == T0 + 30 * DAY and a.advance_clock(days=1) == T0 + 31 * DAY
    clocks = a.store.list_events(ops=["clock"])
    assert [(c.from_s - T0) / DAY for c in clocks] == [0, 29, 30] and clocks[-1].to_s == T0 + 31 * DAY
    b.set_clock(T0 + 2 * DAY)  # going back is a deliberate setting, and everyone follows it
    assert a.clock.now() == T0 + 2 * DAY
    c = MemoryEngine(MemoryStore(tmp_path / "db"), embedder, SimulatedClock(0.0))  # a new process: the store's time
    assert c.clock.now() == T0 + 2 * DAY


def test_reading_the_shared_clock_is_cached_by_the_event_log_version(engine, monkeypatch):
    engine.advance_clock(days=1)
    engine.clock.now()  # the log changed (its own clock event): looked up once
    calls = []
    latest = engine.clock._saved.latest
    monkeypatch.setattr(engine.clock._saved, "latest", lambda: calls.append(1) or latest())
    for _ in range(50):
        engine.clock.now()
    assert calls == []  # nothing appended since: no lookup
    engine.recall("anything", reinforce=False, record=True)  # a new event: one lookup, the same time
    assert engine.clock.now() == T0 + DAY and len(calls) == 1


def test_reset_clock_goes_back_to_the_end_of_the_data_and_records_it(engine):
    engine.write([MemoryInput(f"note {n}", event_time_s=T0 - (5 - n) * DAY) for n in range(3)])
    engine.advance_clock(days=40)
    assert engine.reset_clock() == T0 - 3 * DAY == engine.clock.now()  # the latest event time
    last = engine.store.list_events(ops=["clock"])[-1]
    assert last.from_s == T0 + 40 * DAY and last.to_s == T0 - 3 * DAY


def test_k_is_capped_and_the_pool_never_exceeds_the_live_memories(engine):
    import json

    from memviz.limits import MAX_K

    engine.write([MemoryInput(f"note {n} on the garden") for n in range(30)])
    with pytest.raises(ConfigError, match="k must be at most 1,000 for a recall that reinforces"):
        engine.recall("garden", k=1_000_000)
    with pytest.raises(ConfigError, match="k must be at most 100,000"):
        engine.recall("garden", k=1_000_000, reinforce=False)
    assert engine.store.count("events") == 31  # nothing recorded
    result = engine.recall("garden", k=MAX_K)
    assert len(result.hits) == 30 and all(len(s.candidates) <= 30 for s in result.trace.stages)
    assert len(json.dumps(result.trace.to_dict())) < 50_000
