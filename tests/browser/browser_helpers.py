"""Helpers of the browser tests.

Every wait is on a condition: what the page shows (an element, a text, a count, Streamlit's own "script not
running" state), never a fixed sleep. Timeouts are one generous upper bound, LONG_MS, that only matters when
something is really broken (a model load or a background job on a busy machine takes well under it); a wait
that runs out fails with what it was waiting for and what the page showed then.
"""

from __future__ import annotations

import re
from pathlib import Path

from playwright.sync_api import Error as PlaywrightError
from playwright.sync_api import TimeoutError as PlaywrightTimeoutError
from playwright.sync_api import expect

from support import REPO

ARTIFACTS = REPO / "test-artifacts"
# Plotly charts of a Streamlit page: each is a `.js-plotly-plot` element holding its figure as `data` / `layout`.
PLOTS = ".js-plotly-plot"
# The upper bound of every wait (ms): far above what any step takes on a busy 2-core machine.
LONG_MS = 180_000

# Streamlit has finished running the page script: connected, the script is not running (Streamlit's own
# attributes on stApp), no running-man status widget, no skeleton and no stale (greyed, about to be replaced)
# element, and the main block shows something.
_RENDERED = """() => {
    const app = document.querySelector('[data-testid="stApp"]');
    return !!app && app.dataset.testConnectionState === 'CONNECTED' && app.dataset.testScriptState === 'notRunning'
        && !document.querySelector('[data-testid="stStatusWidget"]')
        && !document.querySelector('[data-testid="stSkeleton"]')
        && !document.querySelector('[data-stale="true"]')
        && (document.querySelector('[data-testid="stMainBlockContainer"]')?.innerText.length ?? 0) > 0;
}"""


# Run in every page before its scripts (conftest's ``page``): records each success or error alert as it is
# added, so that a test sees a message that came and went (Streamlit switches pages without reloading).
RECORD_ALERTS = """
window.__alerts = [];
const seen = new WeakSet();
new MutationObserver(() => {
    const sel = '[data-testid=stAlertContentSuccess], [data-testid=stAlertContentError]';
    for (const e of document.querySelectorAll(sel)) {
        if (!seen.has(e)) { seen.add(e); window.__alerts.push(e); }
    }
}).observe(document, {childList: true, subtree: true});
"""


def alerts(pg) -> list[dict]:
    """Every success or error alert added to the page so far, in order: {"kind": "success"|"error", "text"}."""
    return pg.evaluate(
        "() => window.__alerts.map(e => ({kind: e.dataset.testid === 'stAlertContentSuccess' ? "
        "'success' : 'error', text: e.textContent.trim()}))"
    )


def page_paths() -> list[tuple[str, str]]:
    """(name, URL path) of every page registered in app.py; the default page is served at ``/``."""
    pages = re.findall(r'st\.Page\(\s*"app_pages/(\w+)\.py"([^)]*)\)', (REPO / "app.py").read_text())
    return [(name, "" if "default=True" in rest else name) for name, rest in pages]


def shown_text(pg, limit: int = 1500) -> str:
    """What the page's main block shows (for failure messages)."""
    try:
        return pg.locator('[data-testid="stMainBlockContainer"]').first.inner_text(timeout=5_000)[:limit]
    except PlaywrightError as e:  # the page itself is broken
        return f"(could not read the page: {e})"


def wait_until(pg, js: str, what: str, arg=None, timeout_ms: int = LONG_MS) -> None:
    """Wait until the JavaScript predicate ``js`` (called with ``arg``) is true on ``pg`` (a page or a frame)."""
    try:
        pg.wait_for_function(js, arg=arg, timeout=timeout_ms)
    except PlaywrightTimeoutError:
        page = getattr(pg, "page", pg)  # a frame's page
        raise AssertionError(
            f"waited {timeout_ms / 1000:.0f} s for {what}; the page shows:\n{shown_text(page)}"
        ) from None


def wait_shown(locator, what: str, timeout_ms: int = LONG_MS) -> None:
    """Wait until ``locator`` (its first match) is visible."""
    expect(locator.first, f"waited {timeout_ms / 1000:.0f} s for {what} to be shown").to_be_visible(timeout=timeout_ms)


def wait_rendered(pg, timeout_ms: int = LONG_MS) -> None:
    """Wait until Streamlit has finished running the page script. After an interaction, first wait for
    something the rerun shows (the script may not have started yet), then for this."""
    wait_until(pg, _RENDERED, "Streamlit to finish running the page script", timeout_ms=timeout_ms)


def screenshot(pg, name: str, at=None) -> Path:
    """Save a screenshot in test-artifacts/; ``at``: a locator scrolled to the top of the view first (below
    Streamlit's header)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if at is not None:
        at.first.evaluate(
            "e => { e.style.scrollMarginTop = '72px'; e.scrollIntoView({block: 'start'}); }", timeout=LONG_MS
        )
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True, timeout=LONG_MS)
    return path


def metrics(pg) -> dict[str, str]:
    """Every ``st.metric`` on the page (hidden tabs included): {label: value as shown}."""
    return pg.get_by_test_id("stMetric").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.querySelector('[data-testid=stMetricLabel]').innerText.trim(), "
        "e.querySelector('[data-testid=stMetricValue]').innerText.trim()]))"
    )


def grid_rows(frame) -> int:
    """The number of data rows of an ``st.dataframe`` (its grid's aria-rowcount counts the header too)."""
    grid = frame.locator("[role=grid]").first
    expect(grid, "waited for the dataframe's grid").to_have_attribute(
        "aria-rowcount", re.compile(r"^\d+$"), timeout=LONG_MS
    )
    return int(grid.get_attribute("aria-rowcount")) - 1


def plot_traces(scope) -> list[list[dict]]:
    """Per plotly chart inside ``scope``, its traces as {"type", "name", "y"} (y as drawn, decoded by plotly.js);
    waits until every chart in ``scope`` is drawn (plotly has added its SVG)."""
    plots = scope.locator(PLOTS)
    expect(plots.first, "waited for a plotly chart").to_be_attached(timeout=LONG_MS)
    n = plots.count()
    for i in range(n):
        expect(
            plots.nth(i).locator(".main-svg").first, f"waited for plotly chart {i + 1} of {n} to be drawn"
        ).to_be_attached(timeout=LONG_MS)
    return plots.evaluate_all(
        "els => els.map(e => (e._fullData || []).map(t => ({type: t.type, name: t.name, "
        "y: Array.isArray(t.y) ? t.y : null})))"
    )


def wait_for_trace(pg, trace_type: str, timeout_ms: int = LONG_MS) -> None:
    """Wait until a plotly chart with a trace of ``trace_type`` (e.g. "heatmap") is drawn."""
    wait_until(
        pg,
        f"t => [...document.querySelectorAll('{PLOTS}')].some(e => (e._fullData || []).some(d => d.type === t))",
        f"a plotly chart with a {trace_type} trace",
        arg=trace_type,
        timeout_ms=timeout_ms,
    )


def use_store(pg, app_url: str, db, count: str = "1 memory ·") -> None:
    """Point this browser session at the store ``db`` through the sidebar, until the sidebar's counts start with
    ``count`` (e.g. ``"1 memory ·"``)."""
    pg.goto(app_url)
    wait_rendered(pg)
    store = pg.get_by_role("textbox", name="Store")
    store.fill(str(db))
    store.press("Enter")
    wait_shown(pg.get_by_test_id("stSidebar").get_by_text(count), f"the sidebar to count {count!r} of {db}")
    store.blur()  # a focused input left behind commits again when a later click takes the focus
    wait_rendered(pg)
