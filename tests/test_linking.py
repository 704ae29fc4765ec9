"""Linking is a pure function of the new memories and the prior ones: no store, no model."""

from __future__ import annotations

import numpy as np

from memviz.linking import LinkConfig, Prior, link
from memviz.models import MemoryInput


def _unit(*rows):
    v = np.array(rows, dtype=np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def test_semantic_temporal_and_keyword_links():
    prior = Prior(
        ids=["old"],
        vecs=_unit([1, 0, 0]),
        last_in_session={"s": "old"},
        keyword_ids=["old"],
        keywords=[{"pottery", "glaze"}],
    )
    inputs = [
        MemoryInput("pottery tonight", session_id="s", event_time_s=10.0),
        MemoryInput("unrelated", session_id="s", event_time_s=20.0),
    ]
    links, neighbours = link(
        ["n1", "n2"], inputs, [["pottery"], ["other"]], _unit([0.9, 0.1, 0], [0, 0, 1]), prior, LinkConfig(), 100.0, "b"
    )
    got = {(lk.source_id, lk.target_id, lk.kind) for lk in links}
    assert ("n1", "old", "semantic") in got  # cosine 0.99 >= 0.55
    assert ("n2", "old", "semantic") not in got and ("n2", "n1", "semantic") not in got  # orthogonal
    assert {("n1", "old", "temporal"), ("n2", "n1", "temporal")} <= got  # a chain through the session
    kw = [lk for lk in links if lk.kind == "keyword"]
    assert [(lk.source_id, lk.target_id) for lk in kw] == [("n1", "old")] and kw[0].weight == 0.5  # Jaccard 1/2
    assert neighbours[0][0]["id"] == "old" and neighbours[0][0]["linked"]
    assert [d["id"] for d in neighbours[1]] == ["old", "n1"]  # never itself or a later memory


def test_links_point_only_to_earlier_memories_of_the_batch():
    v = _unit([1, 0], [1, 0.01], [1, 0.02])
    links, _ = link(
        ["a", "b", "c"], [MemoryInput("x")] * 3, [[], [], []], v, Prior([], np.zeros((0, 2))), LinkConfig(), 0.0, "b"
    )
    assert {(lk.source_id, lk.target_id) for lk in links} == {("b", "a"), ("c", "a"), ("c", "b")}
