"""Shared fixtures: the real embedding model (loaded once per session) and fresh stores on disk."""

from __future__ import annotations

import os

import pytest

from support import T0

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


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
