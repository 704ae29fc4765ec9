"""Typed filters become SQL only in the store: one quoting function, and the fast path chosen from the fields."""

from __future__ import annotations

from memviz.filters import LIVE, LinkFilter, MemoryFilter
from memviz.store.sql import link_where, memory_where, quote


def test_quote_doubles_single_quotes():
    assert quote("O'Brien") == "'O''Brien'" and quote("x') OR 1=1 --") == "'x'') OR 1=1 --'"


def test_memory_filter_fields_are_anded():
    f = MemoryFilter(ids=["a", "b"], speakers=["Maya"], forgotten=False, time_from_s=1.5, exclude_ids=["c"])
    assert memory_where(f) == (
        "id IN ('a', 'b') AND speaker IN ('Maya') AND NOT (id IN ('c')) AND "
        "COALESCE(event_time_s, created_time_s) >= 1.5 AND forgotten_time_s IS NULL"
    )
    assert memory_where(MemoryFilter(forgotten=True)) == "forgotten_time_s IS NOT NULL"
    assert memory_where(MemoryFilter()) is None and memory_where(None) is None


def test_an_empty_value_list_matches_nothing():
    assert memory_where(MemoryFilter(ids=[])) == "FALSE" and MemoryFilter(sessions=[]).matches_nothing


def test_a_lone_string_is_one_value_not_its_characters():
    assert MemoryFilter(ids="abc").ids == ("abc",)


def test_the_index_answers_only_the_forgotten_flag():
    assert LIVE.only_flag_and_scopes and MemoryFilter().only_flag_and_scopes
    assert MemoryFilter(forgotten=False, scopes=["a"]).only_flag_and_scopes
    assert not MemoryFilter(forgotten=True).only_flag_and_scopes
    assert not MemoryFilter(exclude_ids=["x"], forgotten=False).only_flag_and_scopes


def test_link_filter():
    assert link_where(LinkFilter(touching=["a"], kinds=["semantic"])) == (
        "(source_id IN ('a') OR target_id IN ('a')) AND kind IN ('semantic')"
    )
    assert link_where(LinkFilter()) is None
