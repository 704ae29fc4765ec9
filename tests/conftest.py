"""Shared fixtures: the real embedding model (loaded once per session) and fresh stores on disk."""

from __future__ import annotations

import os
from datetime import datetime, timezone
from pathlib import Path

import pytest

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")

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


@pytest.fixture(scope="session")
def embedder():
    from memviz.embed import MiniLMEmbedder

    return MiniLMEmbedder()


@pytest.fixture
def make_engine(tmp_path, embedder):
    """Factory: a MemoryEngine on a new store in tmp_path with a SimulatedClock at T0."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    def make(name: str = "db", start_s: float = T0, **kwargs):
        return MemoryEngine(MemoryStore(tmp_path / name), embedder, SimulatedClock(start_s), **kwargs)

    return make


@pytest.fixture
def engine(make_engine):
    return make_engine()
