"""Every page in a real browser: loads without an exception or error, its main interaction works, no
script smuggled in through memory text runs, and a screenshot is saved in test-artifacts/."""

from __future__ import annotations

import pytest

from browser_helpers import page_paths, screenshot, wait_rendered

pytestmark = pytest.mark.browser


def assert_clean(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, pg.locator('[data-testid="stException"]').first.inner_text()
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert pg.evaluate("() => window.__xss") is None


@pytest.mark.parametrize("path", page_paths())
def test_page_loads_clean(page, app_url, path):
    page.goto(f"{app_url}/{path}")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, f"page-{path}")


def test_hostile_memory_text_is_shown_as_text(page, app_url):
    page.goto(f"{app_url}/memories")
    wait_rendered(page)
    search = page.get_by_label("Search text")
    search.fill("script")
    search.press("Enter")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, "memories-hostile-search")
