"""Constants and helpers shared by the tests (importable as ``support`` from any test module)."""

from __future__ import annotations

from datetime import datetime, timezone
from pathlib import Path

import pytest

REPO = Path(__file__).resolve().parents[1]
SHARED_DATA = (REPO / ".." / "shared" / "data").resolve()
# 2024-01-01 00:00 UTC: a fixed "now" for deterministic decay.
T0 = datetime(2024, 1, 1, tzinfo=timezone.utc).timestamp()
DAY = 86_400.0


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when the shared data is not there."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data file missing: {p}")
    return p
