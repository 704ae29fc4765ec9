"""Fixtures of the page tests: a real store seeded with the demo conversation, copied fresh for each test, and
an AppTest of the app pointed at it through ``MEMVIZ_DB``.

The store is embedded by the test's embedder: the fake one in the fast tier (where the app's MiniLMEmbedder is
the fake too, see tests/conftest.py), the real model in a test marked slow."""

from __future__ import annotations

import os
import shutil
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from fakes import uses_real_models

REPO = Path(__file__).resolve().parents[2]


def _demo_store(tmp_path_factory, embedder) -> Path:
    """A store holding the built-in demo conversation (214 memories), without contexts: the pages' expected
    links and graphs are those of each memory's own text (a contextual store is made by the test that needs one,
    tests/pages/test_write_page.py)."""
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore
    from memviz.store.settings import StoreSettings

    path = tmp_path_factory.mktemp("demo_store") / "db"
    engine = MemoryEngine(MemoryStore(path, settings=StoreSettings()), embedder, SimulatedClock(0.0))
    assert seed_if_empty(engine) == 214
    return path


@pytest.fixture(scope="session")
def demo_store_template(tmp_path_factory, embedder) -> Path:
    """The demo store embedded by the fake embedder, written once per session."""
    return _demo_store(tmp_path_factory, embedder)


@pytest.fixture(scope="session")
def real_demo_store_template(tmp_path_factory, real_embedder) -> Path:
    """The demo store embedded by the real model, written once per session (for tests marked slow)."""
    return _demo_store(tmp_path_factory, real_embedder)


@pytest.fixture
def demo_db(request, tmp_path, monkeypatch) -> Path:
    """A fresh copy of the demo store for one test, set as ``MEMVIZ_DB`` (the app opens one engine per path);
    embedded by the real model when the test is marked slow, else by the fake."""
    real = uses_real_models(request.node)
    template = request.getfixturevalue("real_demo_store_template" if real else "demo_store_template")
    path = tmp_path / "db"
    shutil.copytree(template, path)
    monkeypatch.setenv("MEMVIZ_DB", str(path))
    return path


class Page:
    """An AppTest of the app switched to one page, with lookups of what the page shows."""

    def __init__(self, page: str):
        self.at = AppTest.from_file(str(REPO / "app.py"), default_timeout=120)
        self.at.run()
        self.at.switch_page(f"app_pages/{page}.py").run()
        self.check()

    def check(self) -> None:
        """Fail if the last run raised."""
        assert not self.at.exception, [e.value for e in self.at.exception]

    def finish_job(self, key: str | None = None) -> None:
        """Wait for the background job that the last click started on ``key`` (default: the store, i.e. an
        ingest) to end, then rerun the page."""
        from memviz.ui import jobs

        job = jobs.latest(key or os.environ["MEMVIZ_DB"])
        assert job is not None and job.wait(120), "no job ended within 120 s"
        self.at.run()

    def metric(self, label: str) -> str:
        """The value shown by the first metric labelled ``label``."""
        for m in self.at.metric:
            if m.label == label:
                return m.value
        raise AssertionError(f"no metric {label!r}; metrics: {[m.label for m in self.at.metric]}")

    def frame(self, key: str):
        """The DataFrame shown by the ``st.dataframe`` with ``key``."""
        for d in self.at.dataframe:
            if d.key == key:
                return d.value
        raise AssertionError(f"no dataframe with key {key!r}; keys: {[d.key for d in self.at.dataframe]}")

    def frame_with(self, *columns: str):
        """The first DataFrame shown that has all of ``columns`` (tables without selection carry no key)."""
        for d in self.at.dataframe:
            df = d.value
            if set(columns) <= set(df.columns):
                return df
        raise AssertionError(f"no dataframe with columns {columns}")


@pytest.fixture
def open_page(demo_db):
    """Factory: ``open_page("memories")`` runs the app on a fresh demo store and switches to that page."""
    return Page


@pytest.fixture
def app_page():
    """Factory as ``open_page``, on whatever store ``MEMVIZ_DB`` names (set by the test's own fixture)."""
    return Page
