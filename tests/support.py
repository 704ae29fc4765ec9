"""Constants and helpers shared by the tests (importable as ``support`` from any test module)."""

from __future__ import annotations

import base64
import json
from datetime import datetime, timezone
from pathlib import Path

import numpy as np
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


def chart(at, key: str) -> dict:
    """The plotly JSON spec of the AppTest chart whose element id ends with ``key``."""
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}")


def values(v) -> list:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata"} (base64)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)
