"""Domain objects: labels that name a memory across conversations."""

from __future__ import annotations

from memviz.models import source_labels


def test_source_labels_carry_the_conversation():
    ids = ["conv-26:D2:24", "conv-48:D2:24", "demo:3", "x"]
    sessions = ["conv-26:S2", "conv-48:S2", "s1", ""]
    sources = ["D2:24", "D2:24", "s1#3", ""]
    # LoCoMo's turn ids repeat in every conversation: the scope tells them apart; a source that already starts
    # with its scope is kept; no source id: the memory id.
    assert source_labels(ids, sessions, sources) == ["conv-26:D2:24", "conv-48:D2:24", "s1#3", "x"]
