"""The exact in-memory vector index behind MemoryStore.vector_search: same answers as LanceDB's exact search,
kept current across appends, reloaded on other writers' commits and on forgets."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from memviz.filters import LIVE, MemoryFilter

from support import T0, commit_rows, unit_vectors


@pytest.fixture
def stores(tmp_path):
    from memviz.store import MemoryStore

    rng = np.random.default_rng(7)
    s = MemoryStore(tmp_path / "db")
    vecs = unit_vectors(rng, 300)
    commit_rows(s, [f"m{i}" for i in range(300)], vecs)
    return s, MemoryStore(tmp_path / "db", vector_index=False), rng


def test_same_neighbours_and_similarities_as_lancedb_exact_search(stores):
    indexed, plain, rng = stores
    for q in unit_vectors(rng, 5):
        a_ids, a_sims = indexed.vector_search(q, 10, LIVE)
        b_ids, b_sims = plain.vector_search(q, 10, LIVE)
        assert a_ids == b_ids
        np.testing.assert_allclose(a_sims, b_sims, atol=1e-5)
        assert list(a_sims) == sorted(a_sims, reverse=True)


def test_appends_keep_the_index_current_without_a_reload(stores):
    indexed, _, rng = stores
    index = indexed.vector_index()
    index.current()
    loads = index.loads
    new = unit_vectors(rng, 3)
    commit_rows(indexed, ["n0", "n1", "n2"], new, batch="b2")
    ids, sims = indexed.vector_search(new[1], 1, None)
    assert ids == ["n1"] and sims[0] == pytest.approx(1.0, abs=1e-5)
    assert index.loads == loads and index.version == indexed.version()


def test_another_writer_and_a_forget_are_seen(tmp_path, stores):
    from memviz.store import MemoryStore

    indexed, _, rng = stores
    indexed.vector_search(unit_vectors(rng, 1)[0], 5, None)
    other = MemoryStore(indexed.uri)  # a second process/tab writing to the same store
    v = unit_vectors(rng, 1)
    commit_rows(other, ["x"], v, batch="other")
    assert indexed.vector_search(v[0], 1, None)[0] == ["x"]
    # Soft-forget "x" (an update, not an append): the default filter must leave it out, None keeps it.
    other.update_memories(pa.table({"id": ["x"], "forgotten_time_s": pa.array([T0], pa.float64())}))
    assert "x" not in indexed.vector_search(v[0], 5, LIVE)[0]
    assert indexed.vector_search(v[0], 1, None)[0] == ["x"]
    ids, vecs = indexed.vectors(LIVE)
    assert "x" not in ids and vecs.shape == (300, 384)
    assert len(indexed.vectors()[0]) == 301


@pytest.mark.parametrize("gather_below", [1, 10**9])  # score every row then keep; gather the kept rows first
def test_forgotten_rows_are_left_out_the_same_way_either_side_of_the_gather_crossover(
    stores, monkeypatch, gather_below
):
    from memviz import vector_index

    indexed, plain, rng = stores
    forgotten = [f"m{i}" for i in range(0, 300, 3)]
    indexed.update_memories(pa.table({"id": forgotten, "forgotten_time_s": pa.array([T0] * 100, pa.float64())}))
    monkeypatch.setattr(vector_index, "GATHER_BELOW", gather_below)
    for q in unit_vectors(rng, 5):
        a_ids, a_sims = indexed.vector_search(q, 20, LIVE)
        b_ids, b_sims = plain.vector_search(q, 20, LIVE)
        assert a_ids == b_ids and not set(a_ids) & set(forgotten)
        np.testing.assert_allclose(a_sims, b_sims, atol=1e-5)


def test_other_filters_go_to_lancedb(stores):
    indexed, _, rng = stores
    q = unit_vectors(rng, 1)[0]
    top = indexed.vector_search(q, 3, None)[0]
    ids, _ = indexed.vector_search(q, 3, MemoryFilter(exclude_ids=[top[0]]))
    assert top[0] not in ids and ids[:2] == top[1:]


def test_limit_larger_than_store_and_empty_store(tmp_path, stores):
    from memviz.store import MemoryStore

    indexed, _, rng = stores
    ids, sims = indexed.vector_search(unit_vectors(rng, 1)[0], 1000, None)
    assert len(ids) == 300 == len(set(ids)) and sims.shape == (300,)
    empty = MemoryStore(tmp_path / "empty")
    ids, sims = empty.vector_search(unit_vectors(rng, 1)[0], 10, LIVE)
    assert ids == [] and sims.shape == (0,)


def test_wrong_dimension_is_refused(stores):
    indexed, _, _ = stores
    with pytest.raises(ValueError, match="dimensions"):
        indexed.vector_index().search(np.ones(10, dtype=np.float32), 5)


def test_top_k_matches_a_full_sort():
    from memviz.vector_index import top_k

    rng = np.random.default_rng(1)
    x = rng.normal(size=1000)
    assert list(top_k(x, 10)) == list(np.argsort(-x)[:10])
    assert list(top_k(np.array([1.0, 3.0, 3.0, 2.0]), 3)) == [1, 2, 3]  # ties: lower position first
    assert len(top_k(x, 0)) == 0 and len(top_k(x, 5000)) == 1000


def test_engine_recall_uses_the_index_and_forget_hides(make_engine):
    engine = make_engine()
    engine.write(["I adopted a grey cat called Pixel.", "The release ships on Friday.", "I love hiking in Sintra."])
    first = engine.recall("my cat", k=1, reinforce=False).hits[0].memory
    assert "Pixel" in first.text
    assert engine.store.vector_index().version == engine.store.version()
    engine.forget([first.id])
    assert first.id not in [h.memory.id for h in engine.recall("my cat", k=3, reinforce=False).hits]


def test_rows_come_back_in_the_order_asked_as_stored(stores):
    indexed, plain, _ = stores
    ask = ["m7", "nope", "m3", "m250", "m3"]
    for store in (indexed, plain):
        found, rows, vecs = store.rows(ask)
        assert found == ["m7", "m3", "m250", "m3"] == rows.column("id").to_pylist()
        assert rows.column("text").to_pylist() == [f"text {i}" for i in found]
        assert vecs.shape == (4, 384)
        np.testing.assert_allclose(np.linalg.norm(vecs, axis=1), 1.0, atol=1e-5)
    np.testing.assert_allclose(indexed.rows(ask)[2], plain.rows(ask)[2], atol=1e-6)


def test_updates_through_the_store_patch_the_index_without_a_reload(make_engine):
    from memviz.store import MemoryStore

    engine = make_engine()
    engine.write(["I adopted a grey cat called Pixel.", "The release ships on Friday.", "I love hiking in Sintra."])
    index = engine.store.vector_index()
    hit = engine.recall("my cat", k=1, reinforce=False).hits[0].memory
    loads = index.loads
    engine.reinforce([hit.id])
    engine.forget([engine.recall("release", k=1, reinforce=False).hits[0].memory.id])
    assert index.loads == loads and index.version == engine.store.version()
    fresh = MemoryStore(engine.store.uri, vector_index=False)  # what a plain read of the table says
    cached = engine.store.memories_table().sort_by("id")
    assert cached.equals(fresh.memories_table().sort_by("id").cast(cached.schema))
    assert engine.store.get([hit.id])[0].recall_count == 1
    assert "Friday" not in " ".join(h.memory.text for h in engine.recall("release", k=3, reinforce=False).hits)


def test_not_forgotten_text_search_filters_after_searching_with_the_same_answer(tmp_path):
    from memviz.store import MemoryStore

    rng = np.random.default_rng(3)
    indexed = MemoryStore(tmp_path / "db")
    # Longer texts score lower (BM25 length normalisation): every score distinct, the order unique.
    texts = [f"cat {'word ' * i}" if i < 60 else f"dog {i}" for i in range(200)]
    commit_rows(indexed, [f"m{i}" for i in range(200)], unit_vectors(rng, 200), texts=texts)
    plain = MemoryStore(tmp_path / "db", vector_index=False)
    where = LIVE
    top, scores = indexed.text_search("cat", 40, None)
    assert (np.diff(scores) < 0).all()
    # Forget 25 of the best matches, so an unfiltered top 10 would be made of them.
    forgotten = top[:25:2] + top[1:25:2]
    indexed.update_memories(pa.table({"id": forgotten, "forgotten_time_s": pa.array([T0] * 25, pa.float64())}))
    a_ids, a_scores = indexed.text_search("cat", 10, where)
    b_ids, b_scores = plain.text_search("cat", 10, where)  # LanceDB's prefilter
    assert a_ids == b_ids == top[25:35]
    np.testing.assert_allclose(a_scores, b_scores, rtol=1e-6)


def test_unit_rows_normalises_and_leaves_unit_rows_as_they_are():
    from memviz.vector_index import unit_rows

    unit = unit_vectors(np.random.default_rng(0), 5)
    assert unit_rows(unit) is unit  # already unit: no copy
    raw = np.array([[3.0, 4.0], [0.0, 0.0]], dtype=np.float32)
    np.testing.assert_allclose(unit_rows(raw), [[0.6, 0.8], [0.0, 0.0]])  # zero rows stay zero
    np.testing.assert_allclose(raw, [[3.0, 4.0], [0.0, 0.0]])  # the input is not changed
