"""Evaluation in one store: every conversation (haystack) in its own scope of one store, each question recalled in
its scope. With the vector preset (no full-text statistics, which are the store's) the numbers equal those of
one store per conversation; with the default preset BM25's document frequencies are the whole store's, so the
lexical component may differ (docs/performance.md gives LoCoMo dev's numbers both ways)."""

from __future__ import annotations

import json

import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.evaluate.common import ONE_STORE, find_trace, store_dir
from memviz.evaluate.locomo import run_locomo
from memviz.evaluate.longmemeval import run_longmemeval
from memviz.store import MemoryStore


def _ranked(res):
    return {q["id"]: q.get("retrieved") for q in res["questions"]}


def test_locomo_in_one_store_equals_one_store_per_conversation(tiny_files, tmp_path, embedder):
    per = run_locomo(tiny_files["locomo"], tmp_path / "per", ks=(1, 2, 5), preset="vector", embedder=embedder)
    one = run_locomo(
        tiny_files["locomo"], tmp_path / "one", ks=(1, 2, 5), preset="vector", embedder=embedder, one_store=True
    )
    assert one["one_store"] and not per["one_store"]
    assert _ranked(one) == _ranked(per) and one["overall"] == pytest.approx(per["overall"])
    assert one["overall_no_decay"] == pytest.approx(per["overall_no_decay"])
    store = MemoryStore(store_dir(tmp_path / "one", ONE_STORE), create=False)
    assert store.stats()["scopes"] == {"conv-a": 7, "conv-b": 3}
    assert sorted(p.name for p in (tmp_path / "one").iterdir()) == [ONE_STORE]
    for q in one["questions"]:
        if q["status"] == "evaluated":
            assert {i.split(":")[0] for i in q["retrieved"]} == {q["group"]}  # its own conversation only
            trace = find_trace(q["store"], q["trace_id"])
            assert trace.config["scope"] == q["group"]
    again = run_locomo(
        tiny_files["locomo"], tmp_path / "one", ks=(1, 2, 5), preset="vector", embedder=embedder, one_store=True
    )
    assert again["counts"]["memories_written"] == 0 and _ranked(again) == _ranked(one)


@pytest.mark.parametrize("granularity", ["session", "turn"])
def test_longmemeval_in_one_store_equals_one_store_per_question(tiny_files, tmp_path, embedder, granularity):
    args = dict(granularity=granularity, ks=(1, 3), preset="vector", embedder=embedder)
    per = run_longmemeval(tiny_files["longmemeval"], tmp_path / "per", **args)
    one = run_longmemeval(tiny_files["longmemeval"], tmp_path / "one", one_store=True, **args)
    assert _ranked(one) == _ranked(per) and one["overall"] == pytest.approx(per["overall"])
    assert len(list((tmp_path / "one").iterdir())) == 1


def test_eval_cli_one_store(tiny_files, tmp_path):
    res = CliRunner().invoke(
        main, ["eval", "locomo", str(tiny_files["locomo"]), "--db", str(tmp_path / "db"), "--one-store", "--json"]
    )
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["one_store"] is True and {q["store"] for q in out["questions"]} == {
        str(store_dir(tmp_path / "db", ONE_STORE))
    }


def test_a_replayed_conversation_stays_in_its_scope(tiny_files, tmp_path, embedder):
    from memviz.replay import replay

    result = replay(tiny_files["locomo"], "locomo", tmp_path / "replay", embedder=embedder)
    for group in result.groups:
        store = MemoryStore(group.store, create=False)
        assert store.stats()["scopes"] == {group.group: store.count()}
