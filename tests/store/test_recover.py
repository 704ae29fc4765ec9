"""Opening a store sweeps the in-flight markers of writers that died, also before their batch wrote a row."""

from __future__ import annotations

import os
import subprocess
import sys

from memviz.store import INFLIGHT_DIR, MemoryStore


def test_a_dead_writers_marker_is_removed_and_a_live_ones_kept(tmp_path):
    MemoryStore(tmp_path / "db")
    dead = subprocess.Popen([sys.executable, "-c", "pass"])
    dead.wait()
    folder = tmp_path / "db" / INFLIGHT_DIR
    folder.mkdir(exist_ok=True)
    (folder / "killed-before-any-row").write_text(str(dead.pid))
    (folder / "still-writing").write_text(str(os.getppid()))  # a live process (not ours: ours is always live)
    MemoryStore(tmp_path / "db")
    assert sorted(p.name for p in folder.iterdir()) == ["still-writing"]
