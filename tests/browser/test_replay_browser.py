"""The Replay and Forgetting pages in a real browser on a replayed LoCoMo dev conversation (conv-26, the real
model): the bands over time, sessions, strongest memories and what decay suppressed; the Forgetting page's
curves and reinforcement rule on the same store. Screenshots in test-artifacts/ (replay-*.png, forgetting-*.png).

$MEMVIZ_REPLAYED_STORE may name a store already replayed (``memviz replay <LOCOMO_DEV> --format locomo --db DIR
--group conv-26``: DIR/conv-26); otherwise the conversation is replayed here first (a minute or two)."""

from __future__ import annotations

import os
from pathlib import Path

import pytest

from browser_helpers import (
    alerts,
    metrics,
    plot_traces,
    screenshot,
    use_store,
    wait_rendered,
    wait_shown,
    wait_until,
)

pytestmark = pytest.mark.browser


@pytest.fixture(scope="module")
def replayed_store(tmp_path_factory, real_embedder) -> Path:
    if given := os.environ.get("MEMVIZ_REPLAYED_STORE"):
        return Path(given)
    from memviz.evaluate.common import store_dir
    from memviz.paths import LOCOMO_DEV
    from memviz.replay import ReplayConfig, replay

    if not LOCOMO_DEV.exists():
        pytest.skip(f"shared data file missing: {LOCOMO_DEV}")
    db = tmp_path_factory.mktemp("replayed")
    replay(LOCOMO_DEV, "locomo", db, ReplayConfig(groups=("conv-26",)), embedder=real_embedder)
    return store_dir(db, "conv-26")


def nav(pg, title: str) -> None:
    """Open another page through the sidebar's navigation (the same session: the store chosen stays)."""
    pg.get_by_test_id("stSidebarNav").get_by_text(title, exact=True).click()
    wait_shown(pg.get_by_role("heading", name=title), f"the {title} page")
    wait_rendered(pg)


def test_replay_and_forgetting_pages_on_a_replayed_conversation(page, app_url, replayed_store):
    use_store(page, app_url, replayed_store, count="419 memories ·")
    nav(page, "Replay")
    wait_until(page, "() => document.querySelectorAll('.js-plotly-plot').length >= 2", "the Replay page's charts")
    assert metrics(page)["Memories then"] == "419"
    charts = plot_traces(page.get_by_test_id("stMain"))
    bands = next(c for c in charts if len(c) == 4)  # the stacked area: one trace per band (y is a typed array)
    assert [t["name"].split(" (")[0] for t in bands] == ["strong", "fading", "below the forget threshold", "forgotten"]
    assert not [a for a in alerts(page) if a["kind"] == "error"]
    wait_shown(page.get_by_text("What decay suppressed at this moment"), "the suppressed section")
    wait_until(
        page,
        "() => /Two pure reads/.test(document.querySelector('[data-testid=stMain]').innerText)",
        "the comparison with and without decay",
    )
    screenshot(page, "replay-end")
    screenshot(page, "replay-end-sessions", at=page.get_by_text("Memories written and recalled per session"))
    screenshot(page, "replay-end-suppressed", at=page.get_by_text("What decay suppressed at this moment"))
    # scrub to the middle of the replay: fewer memories existed then
    slider = page.get_by_test_id("stSlider").first.get_by_role("slider")
    slider.focus()
    for _ in range(30):
        slider.press("ArrowLeft")
    wait_until(
        page,
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => "
        "/Memories then/.test(m.innerText) && !/419/.test(m.innerText))",
        "the scrubbed moment's population",
    )
    wait_rendered(page)
    screenshot(page, "replay-middle")
    screenshot(page, "replay-middle-sessions", at=page.get_by_text("Memories written and recalled per session"))
    screenshot(page, "replay-middle-suppressed", at=page.get_by_text("What decay suppressed at this moment"))

    nav(page, "Forgetting")
    wait_until(page, "() => document.querySelectorAll('.js-plotly-plot').length >= 1", "the retention curve")
    page.get_by_text("Decay parameters and the reinforcement rule").click()
    wait_shown(page.get_by_text("Difficulty D", exact=True), "the reinforcement rule's sliders")
    wait_shown(page.get_by_text("spacing effect", exact=False), "the reinforcement rule's note")
    screenshot(page, "forgetting-replayed-rule")
    screenshot(page, "forgetting-replayed-curve", at=page.get_by_role("tab", name="One memory"))
    page.get_by_role("tab", name="Population").click()
    wait_until(
        page,
        "() => [...document.querySelectorAll('[data-testid=stMetric]')].some(m => /Below threshold/.test(m.innerText))",
        "the population tab",
    )
    wait_rendered(page)
    screenshot(page, "forgetting-replayed-population")
