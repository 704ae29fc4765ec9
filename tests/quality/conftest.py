"""Fixtures of the quality tests: a small store written once per session (by the test embedder, the fake of
tests/fakes.py), copied fresh into each test that may change it; and the ``memviz`` command of the tests that
run writers in subprocesses (with the fake embedder, and again with the real model in the slow tier)."""

from __future__ import annotations

import shutil
import sys
from pathlib import Path

import pytest

sys.path.insert(0, str(Path(__file__).parent))

from qhelpers import FACTS, MEMVIZ, MEMVIZ_FAKE, facts  # noqa: E402

HOSTILE_TEXTS = [
    "<script>alert(1)</script>",
    "<img src=x onerror=alert(1)>",
    "She said \"don't\" and 'won't' — `rm -rf /` & <b>bold</b> &amp; &lt;",
]


@pytest.fixture(params=["fake", pytest.param("real", marks=pytest.mark.slow)])
def memviz_cmd(request) -> list[str]:
    """``memviz`` in a subprocess: with the fake embedder (fast tier), or the real entry point and model (slow)."""
    return MEMVIZ_FAKE if request.param == "fake" else MEMVIZ


@pytest.fixture(scope="session")
def seeded_template(tmp_path_factory, embedder) -> Path:
    """A store with FACTS (session s1, one batch), three hostile texts (session s2, a second batch)."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    path = tmp_path_factory.mktemp("quality") / "db"
    engine = MemoryEngine(MemoryStore(path), embedder, SimulatedClock(1.7e9 + 86_400))
    engine.write(facts("s1"))
    engine.write(facts("s2", texts=HOSTILE_TEXTS))
    return path


@pytest.fixture
def seeded_db(seeded_template, tmp_path) -> Path:
    dst = tmp_path / "db"
    shutil.copytree(seeded_template, dst)
    return dst


@pytest.fixture
def seeded(seeded_db, embedder):
    """An engine on a fresh copy of the seeded store."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    return MemoryEngine(MemoryStore(seeded_db), embedder, SimulatedClock(1.7e9 + 86_400))


__all__ = ["FACTS", "HOSTILE_TEXTS"]
