"""Linking is a pure function of the new memories and the prior ones: no store, no model."""

from __future__ import annotations

import numpy as np
import pytest

from memviz.linking import LinkConfig, Prior, conversation_of, link, scope_of, specificity
from memviz.models import MemoryInput


def _unit(*rows):
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_semantic_temporal_and_keyword_links():
    prior = Prior(
        ids=["old"],
        vecs=_unit([1, 0, 0]),
        last_in_session={("", "s"): "old"},
        keyword_ids=["old"],
        keywords=[{"pottery", "glaze"}],
    )
    inputs = [
        MemoryInput("Pottery class tonight with my sister Anna", session_id="s", event_time_s=10.0),
        MemoryInput("An unrelated story about taxes and forms", session_id="s", event_time_s=20.0),
    ]
    links, neighbours = link(
        ["n1", "n2"], inputs, [["pottery"], ["other"]], _unit([0.9, 0.1, 0], [0, 0, 1]), prior, LinkConfig(), 100.0, "b"
    )
    got = {(lk.source_id, lk.target_id, lk.kind) for lk in links}
    assert ("n1", "old", "semantic") in got  # cosine 0.99 >= 0.55
    assert ("n2", "old", "semantic") not in got and ("n2", "n1", "semantic") not in got  # orthogonal
    assert {("n1", "old", "temporal"), ("n2", "n1", "temporal")} <= got  # a chain through the session
    kw = [lk for lk in links if lk.kind == "keyword"]
    assert [(lk.source_id, lk.target_id) for lk in kw] == [("n1", "old")] and kw[0].weight == pytest.approx(
        0.5 * specificity(2, 20)
    )  # Jaccard 1/2, damped: "pottery" is in 2 memories
    assert neighbours[0][0]["id"] == "old" and neighbours[0][0]["linked"]
    assert [d["id"] for d in neighbours[1]] == ["old", "n1"]  # never itself or a later memory


def test_links_point_only_to_earlier_memories_of_the_batch():
    v = _unit([1, 0], [1, 0.01], [1, 0.02])
    links, _ = link(
        ["a", "b", "c"], [MemoryInput("x")] * 3, [[], [], []], v, Prior([], np.zeros((0, 2))), LinkConfig(), 0.0, "b"
    )
    assert {(lk.source_id, lk.target_id) for lk in links} == {("b", "a"), ("c", "a"), ("c", "b")}


def test_keyword_specificity_falls_with_frequency():
    assert specificity(1, 20) == 1.0 and specificity(21, 20) == 0.0
    assert specificity(2, 20) > specificity(5, 20) > specificity(15, 20) > 0.0


def test_conversation_of_importer_conversations():
    assert conversation_of("locomo", "conv-26:S3") == "locomo:conv-26"
    assert conversation_of("longmemeval", "q1:s02") == "longmemeval:q1"
    assert conversation_of("memorybank", "Ann:2023-05-01") == "memorybank:Ann"
    assert conversation_of("notes", "work:monday") is None and conversation_of("locomo", "") is None  # no conversation
    assert scope_of("conv-26", "locomo", "conv-26:S3") == ("conv-26", "locomo:conv-26")


LONG = "I finally finished the pottery glaze workshop with my sister Anna in Boston"


def _conversations():
    """Two LoCoMo conversations that say the same things, and a note without a scope, all with one vector."""
    items, kws = [], []
    for conv in ("conv-1", "conv-2"):
        for n, text in enumerate([LONG, "Talk to you later!"]):
            items.append(MemoryInput(text, session_id=f"{conv}:S1", id=f"{conv}:{n}", dataset="locomo"))
            kws.append(["pottery glaze", "anna"] if n == 0 else ["talk", "later"])
    items.append(MemoryInput(LONG, session_id="mine", id="note", dataset="notes"))
    kws.append(["pottery glaze", "anna"])
    vecs = _unit(*([[1.0, 0.0]] * len(items)))
    return items, kws, vecs


def test_no_link_crosses_conversations_but_unscoped_memories_link_freely():
    items, kws, vecs = _conversations()
    ids = [i.id for i in items]
    links, neighbours = link(ids, items, kws, vecs, Prior([], np.zeros((0, 2))), LinkConfig(), 0.0, "b")
    conv = {i.id: i.session_id.split(":")[0] for i in items}
    pairs = {(lk.source_id, lk.target_id, lk.kind) for lk in links}
    assert all(conv[s] == conv[t] or "note" in (s, t) for s, t, _ in pairs)  # semantic, keyword, temporal alike
    assert ("conv-2:0", "conv-1:0", "semantic") not in pairs and ("conv-2:0", "conv-1:0", "keyword") not in pairs
    assert ("note", "conv-1:0", "semantic") in pairs and ("note", "conv-2:0", "keyword") in pairs
    assert "conv-1:0" not in {d["id"] for d in neighbours[ids.index("conv-2:0")]}  # neighbours in scope only
    # Unscoped (scoped=False) the same store links across: what main did.
    links, _ = link(ids, items, kws, vecs, Prior([], np.zeros((0, 2))), LinkConfig(scoped=False), 0.0, "b")
    assert ("conv-2:0", "conv-1:0", "semantic") in {(lk.source_id, lk.target_id, lk.kind) for lk in links}


def test_stored_memories_of_another_scope_are_not_linked():
    prior = Prior(
        ["old"],
        _unit([1, 0]),
        keyword_ids=["old"],
        keywords=[{"pottery glaze"}],
        scopes={"old": ("", "locomo:conv-1")},
    )
    new = MemoryInput(LONG, session_id="conv-2:S1", dataset="locomo")
    links, _ = link(["new"], [new], [["pottery glaze"]], _unit([1, 0]), prior, LinkConfig(), 0.0, "b")
    assert links == []


def test_small_talk_is_not_a_hub():
    """A pleasantry gets no keyword links and only weak semantic ones to other pleasantries; its degree and
    weight stay below a substantive memory's."""
    texts = ["Talk to you later!", "Bye! Talk to you later!", "Thanks, Evan!", LONG, LONG + " again"]
    items = [MemoryInput(t, session_id="conv-1:S1", id=f"m{n}", dataset="locomo") for n, t in enumerate(texts)]
    kws = [["talk", "later"], ["talk", "later"], ["evan"], ["pottery glaze", "anna"], ["pottery glaze", "anna"]]
    vecs = _unit([1, 0.01], [1, 0.02], [1, 0.03], [0.8, 0.6], [0.8, 0.61])
    links, _ = link([i.id for i in items], items, kws, vecs, Prior([], np.zeros((0, 2))), LinkConfig(), 0.0, "b")
    assert not [lk for lk in links if lk.kind == "keyword" and {lk.source_id, lk.target_id} & {"m0", "m1", "m2"}]
    small = [lk for lk in links if lk.kind == "semantic" and {lk.source_id, lk.target_id} <= {"m0", "m1", "m2"}]
    assert small and all(lk.weight <= 0.25 for lk in small)  # near-identical (cosine ~1) but damped
    big = [lk for lk in links if (lk.source_id, lk.target_id) == ("m4", "m3") and lk.kind != "temporal"]
    assert {lk.kind for lk in big} == {"semantic", "keyword"} and max(lk.weight for lk in big) > 0.9


def _scoped_batch():
    """The same texts, sessions and vectors in the scopes "alice", "bob" and the default one, in one batch."""
    items, kws = [], []
    for scope in ("alice", "bob", ""):
        for n, text in enumerate([LONG, LONG + " again"]):
            items.append(MemoryInput(text, session_id="s1", id=f"{scope or 'default'}:{n}", scope=scope))
            kws.append(["pottery glaze", "anna"])
    return items, kws, _unit(*([[1.0, 0.0]] * len(items)))


@pytest.mark.parametrize("scoped", [True, False])
def test_no_link_crosses_scopes_in_one_mixed_batch(scoped):
    items, kws, vecs = _scoped_batch()
    ids = [i.id for i in items]
    links, neighbours = link(ids, items, kws, vecs, Prior([], np.zeros((0, 2))), LinkConfig(scoped=scoped), 0.0, "b")
    scope = {i.id: i.scope for i in items}
    kinds = {lk.kind for lk in links}
    assert kinds == {"semantic", "temporal", "keyword"}  # every kind was made...
    assert all(scope[lk.source_id] == scope[lk.target_id] for lk in links)  # ...and none across scopes
    assert len([lk for lk in links if lk.kind == "temporal"]) == 3  # one per scope's session "s1"
    assert {d["id"] for d in neighbours[ids.index("bob:1")]} == {"bob:0"}


def test_stored_memories_of_another_scope_get_no_link_of_any_kind():
    prior = Prior(
        ["old", "mine"],
        _unit([1, 0], [1, 0]),
        last_in_session={("alice", "s1"): "old", ("bob", "s1"): "mine"},
        keyword_ids=["old", "mine"],
        keywords=[{"pottery glaze"}, {"pottery glaze"}],
        scopes={"old": ("alice", None), "mine": ("bob", None)},
    )
    new = MemoryInput(LONG, session_id="s1", scope="bob")
    links, _ = link(["new"], [new], [["pottery glaze"]], _unit([1, 0]), prior, LinkConfig(), 0.0, "b")
    assert {(lk.target_id, lk.kind) for lk in links} == {
        ("mine", "semantic"),
        ("mine", "temporal"),
        ("mine", "keyword"),
    }
