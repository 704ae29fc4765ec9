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


@pytest.mark.parametrize("name,path", page_paths())
def test_page_loads_clean(page, app_url, name, path):
    page.goto(f"{app_url}/{path}")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, f"page-{name}")


def test_hostile_memory_text_is_shown_as_text(page, app_url):
    page.goto(app_url)
    wait_rendered(page)
    search = page.get_by_label("Search text")
    search.fill("script")
    search.press("Enter")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, "memories-hostile-search")


def test_graph_draws_nodes_inside_its_frame(page, app_url):
    """What AppTest cannot see: the pyvis graph (vis-network, inlined, no CDN) draws nodes in its iframe."""
    page.goto(f"{app_url}/graph")
    wait_rendered(page)
    frames = [f for f in page.frames if f is not page.main_frame]
    drawn = []
    for f in frames:
        if f.locator("canvas").count():
            drawn.append(f.evaluate("() => (typeof nodes !== 'undefined') ? nodes.length : 0"))
    assert drawn and max(drawn) > 0, "no vis-network canvas with nodes in any frame"
    assert_clean(page)
    screenshot(page, "graph-drawn")
