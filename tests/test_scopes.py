"""Scopes: many users' and agents' memories in one store. A scoped recall finds only its scope's memories, with
the same vector ranking as a store holding that scope alone; links never cross scopes; stats count them."""

from __future__ import annotations

import json

import numpy as np
import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.errors import ConfigError
from memviz.filters import LIVE, MemoryFilter, scoped
from memviz.models import MemoryInput
from memviz.recall.config import RecallConfig
from memviz.store import MemoryStore

TEXTS = [
    "Maya moved to Leeds for a new job at the hospital",
    "Maya adopted a grey cat called Pixel",
    "The pottery class meets on Thursday evenings",
    "Sam plays chess at the club every Sunday",
    "Sam is learning to bake sourdough bread",
    "The hospital in Leeds is hiring nurses",
]


def _items(scope: str) -> list[MemoryInput]:
    """The same conversation (texts, session) in ``scope``: scopes only differ by their name."""
    return [
        MemoryInput(
            t, speaker="user", session_id="s1", id=f"{scope or 'default'}:{n}", scope=scope, event_time_s=1e9 + n
        )
        for n, t in enumerate(TEXTS)
    ]


@pytest.fixture
def mixed(make_engine):
    engine = make_engine("mixed")
    engine.ingest(_items("alice") + _items("bob") + _items(""))  # one mixed batch
    return engine


def test_a_scoped_recall_finds_only_its_scope_and_the_trace_says_so(mixed) -> None:
    for scope in ("alice", "bob", ""):
        result = mixed.recall("Who moved to Leeds?", RecallConfig(k=20, reinforce=False, scope=scope))
        assert len(result.hits) == len(TEXTS) and {h.memory.scope for h in result.hits} == {scope}
        assert result.trace.config["scope"] == scope
        assert all(c.id.startswith(f"{scope or 'default'}:") for s in result.trace.stages for c in s.candidates)
    everything = mixed.recall("Who moved to Leeds?", RecallConfig(k=20, reinforce=False))
    assert {h.memory.scope for h in everything.hits} == {"alice", "bob", ""}
    assert everything.trace.config["scope"] is None


def test_a_scoped_recall_ranks_as_a_store_of_that_scope_alone(mixed, make_engine) -> None:
    alone = make_engine("alone")
    alone.ingest(_items("bob"))
    cfg = RecallConfig(k=6, reinforce=False, scope="bob", weights={"relevance": 1.0})
    for query in ("Leeds hospital", "a cat", "weekend hobbies"):
        got = mixed.recall(query, cfg)
        want = alone.recall(query, cfg)
        assert [h.memory.id for h in got.hits] == [h.memory.id for h in want.hits]
        assert [h.score for h in got.hits] == pytest.approx([h.score for h in want.hits])


def test_the_index_answers_a_scoped_search_exactly_as_lancedb(mixed) -> None:
    plain = MemoryStore(mixed.store.uri, vector_index=False)
    mixed.forget([f"alice:{n}" for n in (0, 3)])
    q = mixed.embedder.encode(["hospital in Leeds"])[0]
    for where in (scoped(LIVE, "alice"), MemoryFilter(scopes=["alice", ""]), MemoryFilter(scopes=["alice"])):
        got, got_sims = mixed.store.vector_search(q, 20, where)
        want, want_sims = plain.vector_search(q, 20, where)  # the scopes' twins tie: compare id -> similarity
        assert sorted(got) == sorted(want) and np.allclose(got_sims, want_sims, atol=1e-5)
        want_sim = dict(zip(want, want_sims, strict=True))
        assert all(abs(s - want_sim[i]) < 1e-5 for i, s in zip(got, got_sims, strict=True))
    assert not {"alice:0", "alice:3"} & set(mixed.store.vector_search(q, 10, scoped(LIVE, "alice"))[0])
    loads = mixed.store.vector_index().loads
    mixed.store.vector_search(q, 10, scoped(LIVE, "bob"))
    assert mixed.store.vector_index().loads == loads  # answered by the index, not reloaded or scanned
    ids, vecs = mixed.store.vectors(scoped(LIVE, "alice"))
    assert sorted(ids) == [f"alice:{n}" for n in (1, 2, 4, 5)] and vecs.shape == (4, mixed.store.dim)
    found = mixed.store.text_search("Leeds", 20, scoped(LIVE, "bob"))[0]
    assert {"bob:0", "bob:5"} <= set(found) and {i.split(":")[0] for i in found} == {"bob"}


def test_no_stored_link_crosses_scopes(mixed) -> None:
    mixed.write(_items("carol")[:3])  # a later batch, with scopes stored before it
    scope = dict(
        zip(*(mixed.store.memories_table(columns=["id", "scope"]).column(c).to_pylist() for c in ("id", "scope")))
    )
    links = mixed.store.links_table().to_pylist()
    assert {lk["kind"] for lk in links} >= {"semantic", "temporal"}
    assert all(scope[lk["source_id"]] == scope[lk["target_id"]] for lk in links)


def test_a_scope_links_as_a_store_of_its_own(mixed, make_engine) -> None:
    """A batch links only to its scopes' memories, read alone: the same links (and weights: keyword frequencies
    are the scope's) as in a store holding that scope only."""
    alone = make_engine("alone")
    alone.ingest(_items("bob"))

    def links(engine, scope):
        rows = engine.store.links_table().to_pylist()
        return sorted(
            (r["source_id"], r["target_id"], r["kind"], round(r["weight"], 5))
            for r in rows
            if r["source_id"].startswith(scope)
        )

    assert links(mixed, "bob:") == links(alone, "bob:") != []


def test_stats_count_the_scopes(mixed, tmp_path) -> None:
    assert mixed.stats()["scopes"] == {"": 6, "alice": 6, "bob": 6}
    assert mixed.read.scope_counts(LIVE) == {"": 6, "alice": 6, "bob": 6}
    res = CliRunner().invoke(main, ["stats", "--db", mixed.store.uri, "--json"])
    assert res.exit_code == 0 and json.loads(res.stdout)["scopes"] == {"": 6, "alice": 6, "bob": 6}


def test_recall_cli_scope(mixed) -> None:
    res = CliRunner().invoke(main, ["recall", "Leeds", "--db", mixed.store.uri, "--scope", "bob", "--json", "-k", "50"])
    assert res.exit_code == 0, res.output
    assert {h["scope"] for h in json.loads(res.stdout)["hits"]} == {"bob"}
    res = CliRunner().invoke(main, ["recall", "Leeds", "--db", mixed.store.uri, "--scope", "bad;scope"])
    assert res.exit_code == 2 and "scope" in res.output


def test_bad_scopes_are_refused_before_anything_is_written(engine) -> None:
    with pytest.raises(ConfigError, match="item 1 .*scope"):
        engine.write([MemoryInput("fine"), MemoryInput("bad", scope="a\tb")])
    assert engine.store.count() == 0
    with pytest.raises(ConfigError, match="scope"):
        RecallConfig(scope="x" * 200, reinforce=False).validated()
