"""Helpers of the browser tests."""

from __future__ import annotations

import re
from pathlib import Path

from support import REPO

ARTIFACTS = REPO / "test-artifacts"


def page_paths() -> list[tuple[str, str]]:
    """(name, URL path) of every page registered in app.py; the default page is served at ``/``."""
    pages = re.findall(r'st\.Page\(\s*"app_pages/(\w+)\.py"([^)]*)\)', (REPO / "app.py").read_text())
    return [(name, "" if "default=True" in rest else name) for name, rest in pages]


def wait_rendered(pg, timeout_ms: int = 120_000) -> None:
    """Wait until Streamlit has finished running the page script."""
    pg.wait_for_selector('[data-testid="stApp"]', timeout=timeout_ms)
    pg.wait_for_function(
        "() => !document.querySelector('[data-testid=\"stStatusWidget\"]') && "
        "!document.querySelector('[data-testid=\"stSkeleton\"]') && "
        "document.querySelector('[data-testid=\"stMainBlockContainer\"]')?.innerText.length > 0",
        timeout=timeout_ms,
    )
    pg.wait_for_timeout(500)


def screenshot(pg, name: str) -> Path:
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    pg.screenshot(path=str(path), full_page=True)
    return path
