"""The benchmark functions (memviz.bench) on small inputs: what they build and report is right. They measure;
these tests check shapes and correctness, never times."""

from __future__ import annotations

import json

import numpy as np
import pytest

from support import T0, shared_file


def _items(n):
    from memviz.models import MemoryInput

    topics = ["cats", "hiking", "the release", "bread", "piano", "Lisbon", "taxes", "chess"]
    return [
        MemoryInput(
            text=f"Memory {i} is about {topics[i % len(topics)]} and number {i}.",
            speaker="user",
            session_id=f"s{i // 5}",
            id=f"m{i}",
            event_time_s=T0 + i,
        )
        for i in range(n)
    ]


def test_replicate_keeps_originals_and_adds_close_unit_copies():
    from memviz.bench import replicate

    rng = np.random.default_rng(42)  # not replicate's noise seed (0): that noise would be parallel to v
    v = rng.normal(size=(50, 384)).astype(np.float32)
    v /= np.linalg.norm(v, axis=1, keepdims=True)
    out, src = replicate(v, 180)
    assert out.shape == (180, 384) and out.dtype == np.float32
    np.testing.assert_array_equal(out[:50], v)
    assert list(src[:3]) == [0, 1, 2] and src[179] == 179 % 50
    np.testing.assert_allclose(np.linalg.norm(out, axis=1), 1.0, atol=1e-5)
    cos = np.sum(out[50:] * v[src[50:]], axis=1)
    assert cos.min() > 0.8 and cos.max() < 1.0  # near their source, but not identical


def test_recall_store_is_exact_and_has_unique_ids(tmp_path, embedder):
    from memviz.bench import recall_store
    from memviz.filters import LIVE

    items = _items(40)
    vecs = embedder.encode([i.text for i in items])
    store = recall_store(str(tmp_path / "db"), items, vecs, 100, T0, chunk=30)
    ids = store.memories_table(columns=["id"]).column("id").to_pylist()
    assert len(ids) == 100 == len(set(ids))
    assert "m3#1" in ids and "m19#2" in ids
    got, sims = store.vector_search(vecs[7], 1, LIVE)
    assert got == ["m7"] and sims[0] == pytest.approx(1.0, abs=1e-4)
    assert store.list_events(ops=["import"])  # every chunk is committed by its event


def test_add_copies_grows_a_store_with_copies_linked_as_their_originals(engine):
    from memviz.bench import add_copies
    from memviz.models import MemoryInput

    engine.ingest(
        [
            MemoryInput(f"Turn {i} about {t}.", speaker="Ann", session_id=f"conv-1:S{i // 3}", id=f"c{i}", dataset=d)
            for i, (t, d) in enumerate([("cats", "locomo"), ("cats again", "locomo"), ("bread", "locomo")] * 2)
        ]
    )
    store = engine.store
    links = store.links_table().to_pandas()
    assert len(links) > 0
    assert add_copies(store, 14, chunk=4) == 8 and add_copies(store, 10) == 0
    rows = store.memories_table(columns=["id", "session_id", "text", "dataset"]).to_pandas().set_index("id")
    assert len(rows) == 14 and rows.index.is_unique
    assert rows.loc["c0#1", "session_id"] == "conv-1#1:S0" and rows.loc["c1#2", "session_id"] == "conv-1#2:S0"
    assert rows.loc["c4#1", "text"] == rows.loc["c4", "text"] and "c2#2" not in rows.index  # 14 = 6 + 6 + 2
    ids, vecs = store.vectors()
    v = dict(zip(ids, vecs))
    assert 0.5 < float(v["c0"] @ v["c0#1"]) < 1.0  # near the original, not equal to it
    got = store.links_table().to_pandas()
    copied = got[got["source_id"].str.endswith("#1")]
    expected = {(s + "#1", t + "#1", k) for s, t, k in zip(links["source_id"], links["target_id"], links["kind"])}
    assert set(zip(copied["source_id"], copied["target_id"], copied["kind"])) == expected
    assert set(got["target_id"]) <= set(rows.index)  # no link to a copy not written


def test_bench_recall_at_reports_exact_recall_and_the_numpy_limit(embedder):
    from memviz.bench import bench_recall_at

    items = _items(60)
    vecs = embedder.encode([i.text for i in items])
    r = bench_recall_at(
        150, items, vecs, ["cats", "the release date", "piano lessons"], embedder, exact_queries=3, forgetting=True
    )
    assert r["n"] == 150 and r["replicated"] == 90 and r["queries"] == 3
    assert r["recall_at_10_vs_exact"] == 1.0  # the in-memory index is exact
    for key in ("p50_ms", "p95_ms", "embed_p50_ms", "search_scoring_p50_ms", "numpy_brute_p50_ms", "ratio"):
        assert r[key] is not None and r[key] >= 0
    assert r["p95_ms"] >= r["p50_ms"] and r["forgetting_n"] == 150
    json.dumps(r)


@pytest.mark.slow  # the rounded ratio needs a real model's encode time (the fake is ~300x faster than the pipeline)
def test_bench_ingest_counts_and_stages(real_embedder):
    from memviz.bench import bench_ingest

    r = bench_ingest(_items(30), real_embedder, batch_size=10, queries=["cats"])
    assert r["n"] == 30 and r["pipeline_per_s"] > 0 and r["raw_encode_per_s"] > 0
    # the ratio is pipeline throughput over raw throughput (the rates keep enough digits; the seconds may not)
    assert r["ratio"] == pytest.approx(r["pipeline_per_s"] / r["raw_encode_per_s"], rel=0.01)
    assert {"embed_ms", "keywords_importance_ms", "link_ms", "store_ms"} <= set(r["stage_s"])
    assert r["links"] > 0 and r["recall_p50_ms"] > 0
    # The raw encoder read the texts the pipeline embedded: each memory with its session's previous turns
    # (batches of 10 over sessions of 5: contexts from the batch itself and from turns already stored).
    assert r["same_encoder_texts"] == 1.0
    assert r["cpu_s"]["raw_encode"] > 0 and r["cpu_s"]["pipeline"] > 0


def test_peer_ratios_and_tables():
    from memviz.bench import markdown_tables, peer_ratios

    ratios = peer_ratios(
        {"pipeline_per_s": 300.0, "recall_p50_ms": 20.0}, {"ingest_per_s": 200.0, "recall_p50_ms": 40.0}
    )
    assert ratios == {"ingest_ratio": 1.5, "recall_latency_ratio": 0.5}
    md = markdown_tables(
        {
            "machine": {"cores": 2},
            "ingest": {"n": 5, "pipeline_per_s": 1, "raw_encode_per_s": 2, "ratio": 0.5, "stage_s": {"embed_ms": 1.0}},
        }
    )
    assert "| 5 | 1 | 2 | 0.5 |" in md


@pytest.mark.slow  # reads all of LoCoMo dev and part of LongMemEval_S
def test_real_data_helpers():
    shared_file("locomo", "locomo_dev.json")
    shared_file("longmemeval", "longmemeval_s_dev30.json")
    from memviz.bench import real_items, real_queries

    items = real_items(5000)  # all of LoCoMo dev (4,124), then LongMemEval_S
    assert len(items) == 5000 and items[0].dataset == "locomo" and items[-1].dataset == "longmemeval"
    assert len({i.id for i in items}) == 5000
    qs = real_queries(6)
    assert len(qs) == 6 and all(isinstance(q, str) and q for q in qs)


def test_cli_bench_group_is_registered():
    from click.testing import CliRunner

    from memviz.cli import main

    r = CliRunner().invoke(main, ["bench", "--help"])
    assert r.exit_code == 0 and "ingest" in r.output and "recall" in r.output
    r = CliRunner().invoke(main, ["bench", "recall", "--help"])
    assert "--quick" in r.output and "--json" in r.output


def test_link_top_k_of_rows_matches_full_sort():
    from memviz.vector_index import top_k

    rng = np.random.default_rng(3)
    sims = rng.normal(size=(7, 500))
    sims[:, -3:] = -np.inf
    np.testing.assert_array_equal(top_k(sims, 5), np.argsort(-sims, axis=1)[:, :5])
    assert top_k(sims[:, :4], 5).shape == (7, 4)
    assert top_k(np.zeros((0, 0)), 5).shape == (0, 0)


def test_ingest_defers_the_text_index_but_text_search_still_finds_every_batch(make_engine):
    engine = make_engine()
    items = _items(70)
    calls = []
    orig = engine.store.refresh_text_index
    engine.store.refresh_text_index = lambda: (calls.append(engine.store.count()), orig())[1]
    reports = engine.ingest(items, batch_size=64)
    assert len(reports) == 2
    assert calls == [64, 70]  # the first batch (no index yet) and once at the end, not per batch
    with engine.store.deferred_text_index():
        engine.write(_items(140)[70:])  # 70 more rows, not indexed until the block ends
        ids, _ = engine.store.text_search("Memory 139", 5, None)
        assert "m139" in ids  # unindexed rows are scanned
    assert calls[-1] == 140


def test_write_overlaps_keywords_and_still_reports_them(engine):
    rep = engine.write(["Caroline moved to Lisbon to open a bakery with her sister."])
    assert rep.items[0].keywords and 0 < rep.items[0].importance <= 1
    assert {"keywords_wait_ms", "keywords_importance_ms", "embed_ms"} <= set(rep.timings_ms)


def test_small_writes_rebuild_the_text_index_once_enough_rows_wait(make_engine):
    from memviz.store.search import TEXT_INDEX_LAG_ROWS

    engine = make_engine()
    items = _items(3 * TEXT_INDEX_LAG_ROWS)
    calls = []
    orig = engine.store.refresh_text_index
    engine.store.refresh_text_index = lambda: (calls.append(engine.store.count()), orig())[1]
    step = 10  # a replay's session, a few remembers: each far smaller than the lag
    for n in range(0, len(items), step):
        engine.write(items[n : n + step])
    # The first write builds the index; later ones only once TEXT_INDEX_LAG_ROWS rows wait for it.
    assert calls[0] == step
    assert all(b - a >= TEXT_INDEX_LAG_ROWS for a, b in zip(calls, calls[1:]))
    assert len(calls) == 1 + (len(items) - step) // (TEXT_INDEX_LAG_ROWS + (-TEXT_INDEX_LAG_ROWS) % step)
    ids, _ = engine.store.text_search(f"Memory {len(items) - 1}", 5, None)
    assert f"m{len(items) - 1}" in ids  # the rows still waiting are found


def test_bench_scale_at_reports_the_approximate_index_against_exact_search(embedder):
    from memviz.bench.scale import FORGOTTEN_EVERY, bench_scale_at
    from memviz.store.ann import AnnSettings

    items = _items(60)
    vecs = embedder.encode([i.text for i in items])
    small = AnnSettings(min_rows=10**6, rows_per_partition=200, nprobes=3, ef=64)
    r = bench_scale_at(600, items, vecs, ["cats", "the release date", "piano lessons", "bread"], embedder, small)
    assert r["n"] == 600 and r["queries"] == 4 and r["settings"]["min_rows"] == 600  # lowered to the store
    assert r["index"] == "IVF_HNSW_SQ" and r["holds_vectors"] is False
    assert 0.9 <= r["recall_at_10_vs_exact"] <= 1.0  # 3 of 3 partitions probed: near exact
    for key in ("build_s", "search_scoring_p50_ms", "numpy_brute_p50_ms", "ratio_vs_numpy", "peak_rss_mb"):
        assert r[key] is not None and r[key] >= 0
    assert [s["index"] for s in r["serving"]] == ["IVF_HNSW_SQ", "exact-numpy"]
    assert r["search"] == {"nprobes": 3, "ef": 64, "refine_factor": 1, "filter": "postfilter"}  # 1% forgotten
    assert FORGOTTEN_EVERY == 100
    json.dumps(r)
