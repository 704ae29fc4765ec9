"""Helpers of the browser tests."""

from __future__ import annotations

import re
from pathlib import Path

from support import REPO

ARTIFACTS = REPO / "test-artifacts"
# Plotly charts of a Streamlit page: each is a `.js-plotly-plot` element holding its figure as `data` / `layout`.
PLOTS = ".js-plotly-plot"


def page_paths() -> list[tuple[str, str]]:
    """(name, URL path) of every page registered in app.py; the default page is served at ``/``."""
    pages = re.findall(r'st\.Page\(\s*"app_pages/(\w+)\.py"([^)]*)\)', (REPO / "app.py").read_text())
    return [(name, "" if "default=True" in rest else name) for name, rest in pages]


def wait_rendered(pg, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished running the page script. After an interaction, first wait for
    something the rerun shows (the script may not have started yet), then for this."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-testid=\"stSkeleton\"]') && "
        "document.querySelector('[data-testid=\"stMainBlockContainer\"]')?.innerText.length > 0",
        timeout=timeout_ms,
    )
    pg.wait_for_timeout(500)


def screenshot(pg, name: str, at=None) -> Path:
    """Save a screenshot in test-artifacts/; ``at``: a locator scrolled to the top of the view first (below
    Streamlit's header)."""
    ARTIFACTS.mkdir(exist_ok=True)
    if at is not None:
        at.evaluate("e => { e.style.scrollMarginTop = '72px'; e.scrollIntoView({block: 'start'}); }")
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path


def metrics(pg) -> dict[str, str]:
    """Every ``st.metric`` on the page (hidden tabs included): {label: value as shown}."""
    return pg.get_by_test_id("stMetric").evaluate_all(
        "els => Object.fromEntries(els.map(e => [e.querySelector('[data-testid=stMetricLabel]').innerText.trim(), "
        "e.querySelector('[data-testid=stMetricValue]').innerText.trim()]))"
    )


def grid_rows(frame) -> int:
    """The number of data rows of an ``st.dataframe`` (its grid's aria-rowcount counts the header too)."""
    return int(frame.locator("[role=grid]").get_attribute("aria-rowcount")) - 1


def plot_traces(scope) -> list[list[dict]]:
    """Per plotly chart inside ``scope``, its traces as {"type", "name", "y"} (y as drawn, decoded by plotly.js)."""
    return scope.locator(PLOTS).evaluate_all(
        "els => els.map(e => (e._fullData || []).map(t => ({type: t.type, name: t.name, "
        "y: Array.isArray(t.y) ? t.y : null})))"
    )


def wait_for_trace(pg, trace_type: str, timeout_ms: int = 120_000) -> None:
    """Wait until a plotly chart with a trace of ``trace_type`` (e.g. "heatmap") is drawn."""
    pg.wait_for_function(
        f"t => [...document.querySelectorAll('{PLOTS}')].some(e => (e._fullData || []).some(d => d.type === t))",
        arg=trace_type, timeout=timeout_ms,
    )
