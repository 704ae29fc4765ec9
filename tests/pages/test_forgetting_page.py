"""The Forgetting page on a real demo store (214 memories): the curves, the population at a threshold and an
"as of" time, the decay parameters, the actions (clock, reinforce, soft-forget with undo, prune) and time travel."""

from __future__ import annotations

import pytest

from memviz.store import MemoryStore

from support import chart, values


def open_tab(page, name: str):
    """Open a tab of the page (its tabs are lazy: only the open one runs)."""
    page.at.session_state["fg_tab"] = name
    page.at.run()
    page.check()
    return page


def count(page, label: str) -> int:
    return int(page.metric(label).replace(",", ""))


def test_threshold_and_as_of_time_change_what_would_be_suppressed(open_page):
    page = open_tab(open_page("forgetting"), "Population")
    at = page.at
    assert count(page, "Memories") == 214
    low = count(page, "Below threshold")
    bars = chart(at, "fg_distribution")["data"][0]
    assert sum(values(bars["y"])) == 214  # the histogram holds every memory
    at.slider(key="fg_threshold").set_value(0.9).run()
    page.check()
    high = count(page, "Below threshold")
    assert low < high <= 214
    assert len(page.frame_with("retention", "elapsed_days")) == high
    assert (page.frame_with("retention", "elapsed_days")["retention"] < 0.9).all()

    at.slider(key="fg_threshold").set_value(0.1)
    at.slider(key="fg_as_of_days").set_value(-60).run()  # two months earlier: fewer have faded
    assert count(page, "Below threshold") < low


def test_decay_parameters_move_the_numbers_at_once(open_page):
    page = open_tab(open_page("forgetting"), "Population")
    at = page.at
    at.selectbox(key="fg_model").set_value("power").run()
    median = float(page.metric("Median retention"))
    at.slider(key="fg_power_d").set_value(1.5).run()
    page.check()
    assert float(page.metric("Median retention")) < median  # a steeper power law
    at.selectbox(key="fg_model").set_value("actr").run()
    actr = float(page.metric("Median retention"))
    at.slider(key="fg_actr_tau").set_value(-2.0).run()
    assert float(page.metric("Median retention")) > actr  # a lower threshold: more retrievable


def test_one_memory_curve_two_models_and_reinforce(open_page, demo_db):
    page = open_page("forgetting")
    at = page.at
    at.text_input(key="fg_search").set_value("pottery").run()
    at.selectbox(key="fg_model_b").set_value("power").run()
    page.check()
    labels = [m.label for m in at.metric]
    assert "Retention now (exponential)" in labels and "Retention now (power)" in labels
    names = {d.get("name") for d in chart(at, "fg_curve")["data"]}
    assert {"exponential (Ebbinghaus)", "power law (Wixted &amp; Ebbesen)"} <= names
    before = float(page.metric("Retention now (exponential)"))
    assert page.metric("Reinforcements") == "0"
    version = MemoryStore(demo_db).version()

    at.button(key="fg_reinforce").click().run()
    page.check()
    assert any("Reinforced" in s.value for s in at.success)
    assert page.metric("Reinforcements") == "1"
    assert float(page.metric("Retention now (exponential)")) == 1.0 > before
    marks = next(d for d in chart(at, "fg_curve")["data"] if d.get("name") == "reinforcements")
    assert len(values(marks["y"])) == 1 and "manual" in marks["hovertext"][0]
    assert MemoryStore(demo_db).version() > version


def test_advance_clock_fades_more_memories(open_page):
    page = open_tab(open_page("forgetting"), "Population")
    at = page.at
    at.slider(key="fg_threshold").set_value(0.01).run()
    below = count(page, "Below threshold")
    at.number_input(key="fg_advance_days").set_value(30)
    at.button(key="fg_advance").click().run()
    page.check()
    assert any("Clock advanced by 30 days" in s.value for s in at.success)
    assert below < count(page, "Below threshold") < 214


def test_soft_forget_undo_and_prune(open_page, demo_db):
    page = open_tab(open_page("forgetting"), "Population")
    at = page.at
    at.slider(key="fg_threshold").set_value(0.5).run()
    below = count(page, "Below threshold")
    assert 0 < below < 214

    at.button(key="fg_forget").click().run()
    page.check()
    assert count(page, "Already forgotten") == below and count(page, "Below threshold") == 0
    assert MemoryStore(demo_db).stats()["forgotten"] == below
    at.button(key="fg_undo_button").click().run()
    assert count(page, "Already forgotten") == 0 and count(page, "Below threshold") == below

    at.button(key="fg_forget").click().run()
    assert at.button(key="fg_prune").disabled  # not confirmed yet
    at.checkbox(key="fg_prune_confirm").check().run()
    at.button(key="fg_prune").click().run()
    page.check()
    assert count(page, "Memories") == 214 - below
    assert MemoryStore(demo_db).count() == 214 - below


def test_compare_recall_shows_the_suppressed_hits(open_page):
    page = open_tab(open_page("forgetting"), "Population")
    at = page.at
    at.slider(key="fg_threshold").set_value(1.0).run()  # everything not yet forgotten would be suppressed
    at.text_input(key="fg_query").set_value("What does Maya make in her pottery class?")
    at.number_input(key="fg_k").set_value(5)
    at.button(key="fg_compare").click().run()
    page.check()
    table = page.frame_with("rank_before", "rank_after", "change")
    assert (table["change"] == "suppressed").sum() == 5  # every hit falls below the threshold
    assert any("5 of the hits would be suppressed" in c.value for c in at.caption)
    at.slider(key="fg_threshold").set_value(0.5).run()  # the comparison no longer matches the settings
    assert any("press Compare again" in c.value for c in at.caption)
    assert not any("rank_before" in d.value.columns for d in at.dataframe)


def test_time_travel_to_an_older_version(open_page, demo_db):
    page = open_tab(open_page("forgetting"), "Time travel")
    at = page.at
    store = MemoryStore(demo_db)
    versions = [v["version"] for v in store.versions()]
    assert at.selectbox(key="fg_version").value == versions[-1]
    assert page.metric("Memories then") == "214" and page.metric("Added since") == "0"

    open_tab(page, "Population")
    at.slider(key="fg_threshold").set_value(0.5).run()
    at.button(key="fg_forget").click().run()
    forgotten = count(page, "Already forgotten")
    assert forgotten > 0
    open_tab(page, "Time travel")
    latest = MemoryStore(demo_db).version()  # the forget's, or the full-text index rebuild it set off
    assert latest > versions[-1] and at.selectbox(key="fg_version").value == latest
    assert count(page, "Forgotten then") == forgotten
    at.selectbox(key="fg_version").set_value(versions[-1]).run()  # the version before the forget
    page.check()
    assert count(page, "Forgotten then") == 0 and count(page, "Memories then") == 214
    empty = next(v["version"] for v in store.versions() if v["rows"] == 0)
    at.selectbox(key="fg_version").set_value(empty).run()
    assert count(page, "Memories then") == 0 and count(page, "Added since") == 214
    timeline = chart(at, "fg_timeline")
    assert "memories version" in values(timeline["data"][1]["y"])
    assert set(values(timeline["data"][0]["y"])) >= {"write", "link", "import", "forget"}
    assert MemoryStore(demo_db).version() == latest  # viewing old versions wrote nothing


def test_only_the_open_tab_runs(open_page):
    page = open_page("forgetting")  # "One memory" is open
    labels = [m.label for m in page.at.metric]
    assert "Stability now" in labels and "Below threshold" not in labels and "Memories then" not in labels
    open_tab(page, "Time travel")
    labels = [m.label for m in page.at.metric]
    assert "Memories then" in labels and "Stability now" not in labels


def test_the_reinforcement_rule_is_shown_and_set_from_its_sliders(open_page, demo_db):
    """The spacing rule's fields as sliders with their documented ranges (memviz.spacing.SPACING_FIELDS); a
    changed value is this session's rule for its next reinforcement, and only this session's."""
    from memviz.events import ReinforceEvent
    from memviz.spacing import SPACING_FIELDS, SpacingRule

    page = open_page("forgetting")
    at = page.at
    for field, (low, high, _) in SPACING_FIELDS.items():
        s = at.slider(key=f"fg_rule_{field}")
        assert (s.min, s.max) == (low, high) and s.value == getattr(SpacingRule(), field)
        assert "FSRS" in s.help and "Ye, Su & Cao 2022" in s.help
    note = next(c.value for c in at.caption if "spacing effect" in c.value)
    assert "17 / 82 / 195 days" in note  # the documented example of the defaults
    at.slider(key="fg_rule_w8").set_value(0.0)
    at.slider(key="fg_rule_difficulty").set_value(10.0).run()
    page.check()
    assert not any("17 / 82 / 195 days" in c.value for c in at.caption)
    at.text_input(key="fg_search").set_value("pottery").run()
    at.button(key="fg_reinforce").click().run()
    page.check()
    event = [e for e in MemoryStore(demo_db).list_events(ops=["reinforce"]) if isinstance(e, ReinforceEvent)][-1]
    want = SpacingRule(difficulty=10.0, w8=0.0).apply(event.stability_before, event.retention_before)
    assert event.stability_after == pytest.approx(float(want))
    assert event.stability_after != pytest.approx(
        float(SpacingRule().apply(event.stability_before, event.retention_before))
    )
    other = open_page("forgetting").at  # another browser session of the same app (one engine per store)
    assert other.slider(key="fg_rule_difficulty").value == SpacingRule().difficulty
