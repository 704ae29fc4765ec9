"""Shared fixtures: the embedders and fresh stores on disk.

Two tiers. The fast tier (``-m "not slow and not browser"``) never loads a model: ``embedder`` is the
deterministic :class:`fakes.FakeEmbedder`, and while a test that is not marked ``slow`` or ``browser`` runs,
``memviz.embed.MiniLMEmbedder`` *is* the fake (so the app under AppTest and the in-process CLI use it too) and
loading the real model fails the test. A test whose assertions need the real model's semantics asks for
``real_embedder`` (all-MiniLM-L6-v2, loaded once per session) and must be marked ``slow``: collection refuses
it otherwise.
"""

from __future__ import annotations

import os

import pytest

from fakes import REAL_MODEL_FIXTURES, FakeEmbedder, install_fake_model, uses_real_models
from support import T0

os.environ.setdefault("HF_HUB_OFFLINE", "1")
os.environ.setdefault("TRANSFORMERS_OFFLINE", "1")


def pytest_collection_modifyitems(config, items):
    unmarked = [
        i.nodeid for i in items if REAL_MODEL_FIXTURES & set(getattr(i, "fixturenames", ())) and not uses_real_models(i)
    ]
    if unmarked:
        raise pytest.UsageError("tests that load a real model must be marked slow: " + ", ".join(unmarked))


@pytest.fixture(autouse=True)
def _fast_tier_has_no_model(request, monkeypatch):
    """Outside slow and browser tests: MiniLMEmbedder is the fake, and loading the real model is an error."""
    if uses_real_models(request.node):
        return
    import memviz.embed

    def refuse(*_a, **_k):
        raise AssertionError(
            "a fast-tier test loads the real embedding model: use the fake `embedder` "
            "or mark the test slow and use `real_embedder`"
        )

    install_fake_model(monkeypatch)
    monkeypatch.setattr(memviz.embed, "load_model", refuse)


@pytest.fixture(scope="session")
def fake_embedder():
    return FakeEmbedder()


@pytest.fixture(scope="session")
def real_embedder():
    """The real all-MiniLM-L6-v2 (loaded on first use, once per process); for tests marked slow."""
    from memviz.embed import MiniLMEmbedder

    emb = MiniLMEmbedder()
    emb.model  # noqa: B018 - load now, not inside the first test's timing
    return emb


@pytest.fixture(scope="session")
def embedder(fake_embedder):
    """The embedder of the tests: the deterministic fake (see the module docstring)."""
    return fake_embedder


@pytest.fixture
def make_engine(tmp_path, embedder):
    """Factory: a MemoryEngine on a new store in tmp_path with a SimulatedClock at T0 (and the fake embedder
    unless ``embedder`` is given; made with ``settings``, default memviz.store.settings.DEFAULT)."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    def make(name: str = "db", start_s: float = T0, embedder=embedder, settings=None, **kwargs):
        store = MemoryStore(tmp_path / name, settings=settings)
        return MemoryEngine(store, embedder, SimulatedClock(start_s), **kwargs)

    return make


@pytest.fixture
def engine(make_engine):
    return make_engine()
