"""Filtering after a search (memviz.store.postfilter): the same answer as filtering before, a filtered search
when too few results remain, and the full-text search of a store with a few forgotten memories."""

from __future__ import annotations

import numpy as np
import pyarrow as pa
import pytest

from memviz.filters import LIVE
from memviz.store.postfilter import postfilter_limit, postfiltered

from support import T0, commit_rows, unit_vectors

SCORES = {f"m{i}": 100.0 - i for i in range(100)}  # m0 best


def _search(excluded, calls):
    def search(n, clause):
        calls.append((n, clause))
        ids = [i for i in SCORES if clause is None or i not in excluded][:n]
        return ids, np.array([SCORES[i] for i in ids])

    return search


@pytest.mark.parametrize(
    ("excluded", "how", "searches"),
    [
        ({"m1", "m4"}, "postfilter", [(12, None)]),  # two left out: asks for 2 more, exact
        ({f"m{i}" for i in range(0, 100, 9)}, "postfilter", [(20, None)]),  # 12 spread: 10 more suffice
        ({f"m{i}" for i in range(15)}, "prefilter", [(20, None), (10, "not forgotten")]),  # clustered: falls back
    ],
)
def test_same_answer_as_the_filtered_search(excluded, how, searches):
    calls: list = []
    ids, scores, applied = postfiltered(_search(excluded, calls), 10, "not forgotten", frozenset(excluded))
    assert ids == [i for i in SCORES if i not in excluded][:10] and applied == how and calls == searches
    assert list(scores) == [SCORES[i] for i in ids]


def test_no_clause_and_no_excluded_ids_search_once_as_asked():
    calls: list = []
    assert postfiltered(_search(set(), calls), 5, None, frozenset({"m0"}))[2] == "none" and calls == [(5, None)]
    assert postfiltered(_search({"m0"}, calls), 5, "c", None)[0][0] == "m1" and calls[-1] == (5, "c")
    assert postfilter_limit(50, 3) == 53 and postfilter_limit(50, 500) == 60 and postfilter_limit(100, 500) == 120


def test_a_full_text_search_drops_a_few_forgotten_after_searching_with_the_prefilters_answer(tmp_path, monkeypatch):
    from memviz.store import MemoryStore, search

    store = MemoryStore(tmp_path / "db")
    ids = [f"a{i}" for i in range(400)]
    texts = [f"mango {'canal ' * (i % 7)}harbour {i}" for i in range(400)]
    commit_rows(store, ids, unit_vectors(np.random.default_rng(1), 400), texts=texts)
    forgotten = ids[::40]  # 10 of 400: 2.5%
    store.update_memories(pa.table({"id": forgotten, "forgotten_time_s": pa.array([T0] * 10, pa.float64())}))
    got, scores = store.text_search("canal harbour", 30, LIVE)
    monkeypatch.setattr(search, "POSTFILTER_MAX_SHARE", 0.0)  # the prefiltered search
    expected, expected_scores = store.text_search("canal harbour", 30, LIVE)
    assert len(got) == 30 and not set(got) & set(forgotten)
    assert set(got) == set(expected) and sorted(scores) == pytest.approx(sorted(expected_scores))  # ties may swap
