"""Looking never writes, in a real browser: the Recall page (a recall, why-not, presets side by side, past
traces) and the Attention page's "Memories in the prompt → Recall from the store" leave the store's version and
event count as they were (read through memviz in this process)."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from browser_helpers import LONG_MS, screenshot, wait_rendered, wait_shown

pytestmark = pytest.mark.browser
QUERY = "When did Caroline go to the LGBTQ support group?"


def assert_clean(pg) -> None:
    """No exception, no error and no script run through memory text on the page."""
    assert pg.locator('[data-testid="stException"]').count() == 0
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert pg.evaluate("() => window.__xss") is None


def store_state(db) -> tuple[int, int]:
    """(memories-table version, number of events) of the store at ``db``, opened read-only here."""
    from memviz.store import MemoryStore

    s = MemoryStore(db, create=False).stats()
    return s["version"], s["events"]


def test_recall_and_attention_pages_only_look(page, app_url, browser_store):
    page.goto(f"{app_url}/recall")
    wait_rendered(page)
    before = store_state(browser_store)

    page.get_by_role("textbox", name="Query").fill(QUERY)
    page.get_by_role("button", name="Recall", exact=True).click()
    wait_shown(page.get_by_role("tabpanel", name="Hits").get_by_test_id("stDataFrame"), "the table of hits")
    wait_rendered(page)
    page.get_by_role("tab", name="Why not?").click()
    page.get_by_role("combobox", name=re.compile(r"^Memory \(a near miss")).click()
    near_miss = page.get_by_role("option").first
    expect(near_miss, "the first near miss").to_have_text(re.compile(r"^near miss #11:"), timeout=LONG_MS)
    near_miss.click()
    why = page.get_by_role("tabpanel", name="Why not?")
    wait_shown(why.get_by_text(re.compile(r"^Ranked 11 of \d+ after scoring")), "the why-not of near miss #11")
    wait_rendered(page)
    page.get_by_role("tab", name="Presets side by side").click()
    page.get_by_role("button", name="Run both on this query").click()
    wait_shown(page.get_by_text(re.compile(r"^B: ")), "the second preset's hits")
    wait_rendered(page)
    page.get_by_role("tab", name="Past traces").click()
    wait_shown(page.get_by_text("No recall kept yet"), "the Past traces tab: nothing kept")
    assert_clean(page)
    screenshot(page, "looking-recall")
    assert store_state(browser_store) == before

    page.goto(f"{app_url}/attention")
    wait_rendered(page)
    page.get_by_text("Memories in the prompt", exact=True).click()
    wait_shown(page.get_by_text("Paste (one per line)"), "the Memories in the prompt view")
    page.get_by_text("Recall from the store (k = 5)", exact=True).click()
    wait_shown(page.get_by_text(re.compile(r"^Recalled \(5 memories")), "the memories recalled from the store")
    prompt = page.get_by_test_id("stExpander").filter(has_text="Prompt")  # shown after the attention table
    wait_shown(prompt, "the attention on the recalled memories and the prompt")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, "looking-attention")
    assert store_state(browser_store) == before
