"""The approximate vector index (memviz.store.ann) on a small store with the threshold lowered: built in the
background after the write that reaches it, answering with the default and other filters as prefilters,
seeing rows written after the build, and leaving exact search serving when a build fails."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from memviz.errors import ConfigError
from memviz.filters import LIVE, MemoryFilter
from memviz.store.ann import AnnSettings

from support import T0, commit_rows, unit_vectors

SMALL = AnnSettings(min_rows=400, rows_per_partition=200, nprobes=2, ef=64)


def _commit(store, ids, vecs, batch):
    commit_rows(store, ids, vecs, batch, sessions=[f"s{n % 4}" for n in range(len(ids))])


@pytest.fixture
def built(tmp_path):
    """A store of 500 memories whose second write crossed the threshold (400) and built the index."""
    from memviz.store import MemoryStore

    rng = np.random.default_rng(3)
    store = MemoryStore(tmp_path / "db", ann=SMALL)
    vecs = unit_vectors(rng, 500)
    _commit(store, [f"m{i}" for i in range(300)], vecs[:300], "b1")
    assert store.ann is not None and not store.ann.building() and not store.ann.ready()  # below the threshold
    assert store.vector_search_traced(vecs[0], 5, LIVE)[2] == {"index": "exact-numpy"}
    assert store.vector_index().holds_vectors
    _commit(store, [f"m{i}" for i in range(300, 500)], vecs[300:], "b2")
    assert store.ann.wait(timeout_s=120) and store.ann.builds == 1 and store.ann.last_error is None
    return store, vecs, rng


def test_the_write_reaching_the_threshold_builds_the_index_and_it_answers(built):
    store, vecs, rng = built
    assert store.ann.ready()
    index = store.vector_index()
    assert not index.holds_vectors  # released once the approximate index serves
    overlap = []
    for q in unit_vectors(rng, 20):
        ids, sims, info = store.vector_search_traced(q, 10, LIVE)
        assert info["index"] == "IVF_HNSW_SQ" and info["indexed_rows"] == 500 and info["unindexed_rows"] == 0
        exact = [f"m{i}" for i in np.argsort(-(vecs @ q))[:10]]
        overlap.append(len(set(ids) & set(exact)) / 10)
        np.testing.assert_allclose(sims, [float(vecs[int(i[1:])] @ q) for i in ids], atol=1e-5)  # exact cosines
    assert np.mean(overlap) >= 0.9


def test_rows_read_their_vectors_from_the_table_when_not_held(built):
    store, vecs, _ = built
    found, rows, got = store.rows(["m499", "nope", "m3", "m3"])
    assert found == ["m499", "m3", "m3"] and rows.column("id").to_pylist() == found
    np.testing.assert_allclose(got, vecs[[499, 3, 3]], atol=1e-6)


def test_a_recalls_candidates_are_scored_with_the_vectors_their_searches_returned(built):
    # The vector and full-text searches' vectors are reused by the scoring's row read at the same table
    # version, and forgotten at the next commit; the rest are read through the B-tree on the ids the build made.
    store, vecs, rng = built
    assert {i.index_type for i in store.memories.list_indices() if i.columns == ["id"]} == {"BTree"}
    ids, _ = store.vector_search(vecs[7], 5, LIVE)
    remembered = store.ann.vectors_of([*ids, "m499", "m498"])
    assert set(remembered) == set(ids) and "m7" in remembered
    np.testing.assert_allclose(remembered["m7"], vecs[7], atol=1e-6)
    assert store.text_search("m499", 3, LIVE)[0] == ["m499"] and store.text_search("nowhere", 3, LIVE)[0] == []
    assert set(store.ann.vectors_of([*ids, "m499", "m498"])) == {*ids, "m499"}
    np.testing.assert_allclose(store.ann.vectors_of(["m499"])["m499"], vecs[499], atol=1e-6)
    found, _, got = store.rows([ids[0], "m499", "m498"])
    np.testing.assert_allclose(got, vecs[[int(ids[0][1:]), 499, 498]], atol=1e-6)
    _commit(store, ["m500"], unit_vectors(rng, 1), "b3")
    assert store.ann.vectors_of(ids) == {}


def test_filters_are_prefilters(built):
    store, vecs, _ = built
    forgotten = [f"m{i}" for i in range(0, 500, 2)]
    store.update_memories(pa.table({"id": forgotten, "forgotten_time_s": pa.array([T0] * 250, pa.float64())}))
    store.ann.wait(timeout_s=120)  # the update left half the rows unindexed: a rebuild
    ids, _, info = store.vector_search_traced(vecs[0], 10, LIVE)
    assert info["index"] == "IVF_HNSW_SQ" and len(ids) == 10 and not set(ids) & set(forgotten)
    ids, _, _ = store.vector_search_traced(vecs[0], 10, MemoryFilter(sessions=["s1"]))
    assert len(ids) == 10 and all(int(i[1:]) % 4 == 1 for i in ids)
    assert store.vector_search(vecs[0], 10, MemoryFilter(ids=["m0", "m7"]))[0] == ["m0", "m7"]


def test_a_few_forgotten_are_dropped_after_the_search_and_a_cluster_of_them_falls_back_to_the_prefilter(built):
    store, vecs, _ = built
    nearest = [f"m{i}" for i in np.argsort(-(vecs @ vecs[0]))[:20]]  # 4% of the rows, all around vecs[0]
    store.update_memories(pa.table({"id": nearest, "forgotten_time_s": pa.array([T0] * 20, pa.float64())}))
    # Around vecs[0] the unfiltered results are the forgotten ones: the prefiltered search answers.
    ids, _, info = store.vector_search_traced(vecs[0], 10, LIVE)
    assert info["filter"] == "prefilter" and len(ids) == 10 and not set(ids) & set(nearest)
    # Elsewhere they are dropped after an unfiltered search, which finds the live nearest as well.
    far = vecs[int(np.argmin(vecs @ vecs[0]))]
    ids, sims, info = store.vector_search_traced(far, 10, LIVE)
    assert info["filter"] == "postfilter" and len(ids) == 10 and not set(ids) & set(nearest)
    exact = [f"m{i}" for i in np.argsort(-(vecs @ far)) if f"m{i}" not in nearest][:10]
    assert len(set(ids) & set(exact)) >= 9
    np.testing.assert_allclose(sims, [float(vecs[int(i[1:])] @ far) for i in ids], atol=1e-5)
    assert store.vector_search_traced(far, 10, MemoryFilter(sessions=["s1"]))[2]["filter"] == "prefilter"
    assert store.vector_search_traced(far, 10, None)[2]["filter"] == "none"


def test_rows_written_after_the_build_are_found(built):
    store, _, rng = built
    new = unit_vectors(rng, 3)
    _commit(store, ["n0", "n1", "n2"], new, "b3")  # 3 of 500: no rebuild
    assert not store.ann.building() and store.ann.builds == 1
    ids, sims, info = store.vector_search_traced(new[1], 1, LIVE)
    assert ids == ["n1"] and sims[0] == pytest.approx(1.0, abs=1e-4) and info["unindexed_rows"] == 3


def test_a_failed_build_is_kept_and_exact_search_serves(tmp_path):
    from memviz.store import MemoryStore

    rng = np.random.default_rng(5)
    store = MemoryStore(tmp_path / "db", ann=SMALL)

    def no_table():  # the one seam: the handle the build commits through
        raise OSError("no space left on device")

    store.ann._open_table = no_table
    vecs = unit_vectors(rng, 450)
    _commit(store, [f"m{i}" for i in range(450)], vecs, "b1")
    assert store.ann.wait(timeout_s=60)
    assert store.ann.last_error == "OSError: no space left on device" and not store.ann.ready()
    ids, _, info = store.vector_search_traced(vecs[7], 1, LIVE)
    assert ids == ["m7"] and info == {"index": "exact-numpy"}


def test_lancedb_flat_for_other_filters_without_an_index(tmp_path):
    from memviz.store import MemoryStore

    rng = np.random.default_rng(6)
    store = MemoryStore(tmp_path / "db", ann=None)
    vecs = unit_vectors(rng, 20)
    _commit(store, [f"m{i}" for i in range(20)], vecs, "b1")
    ids, _, info = store.vector_search_traced(vecs[5], 1, MemoryFilter(sessions=["s1"]))
    assert ids == ["m5"] and info == {"index": "lancedb-flat"}


@pytest.mark.parametrize(
    "bad",
    [
        {"min_rows": 0},
        {"rows_per_partition": 0},
        {"nprobes": 0},
        {"ef": 5},
        {"ef": 0},
        {"refine_factor": 0},
        {"rebuild_lag_fraction": 0.0},
    ],
)
def test_bad_settings_are_one_config_error(bad):
    with pytest.raises(ConfigError):
        AnnSettings(**bad)


def test_partitions_and_ef_follow_the_table_size():
    s = AnnSettings(rows_per_partition=8000)
    assert s.partitions(100) == 1 and s.partitions(1_000_000) == 125
    assert [s.ef_for(n) for n in (500, 200_000, 500_000, 1_000_000, 10**7)] == [64, 80, 200, 400, 400]
    assert AnnSettings(ef=120).ef_for(10**7) == 120 and AnnSettings(ef=120).info(5)["ef"] == 120


def test_all_vectors_come_from_the_table_once_the_index_holds_none(built):
    store, vecs, _ = built
    ids, got = store.vectors(LIVE)
    assert len(ids) == 500
    np.testing.assert_allclose(got[np.argsort(ids)], vecs[np.argsort([f"m{i}" for i in range(500)])], atol=1e-6)
