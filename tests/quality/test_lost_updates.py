"""Read-modify-write operations in two processes at once lose nothing: every reinforcement of the same memory
is counted (recall_count, stability, access times) and logged, whoever ran it."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.models import MemoryInput
from memviz.store import MemoryStore

from fakes import FakeEmbedder
from support import T0

TESTS = Path(__file__).resolve().parents[1]
N = 20  # reinforcements per process

SCRIPT = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from fakes import FakeEmbedder
from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.store import MemoryStore

engine = MemoryEngine(MemoryStore(sys.argv[1]), FakeEmbedder(), SimulatedClock({T0!r}))
print("ready", flush=True)
sys.stdin.readline()  # both start together
for _ in range({N}):
    engine.reinforce(["m0", "m1"])
"""


def test_two_processes_reinforcing_the_same_memories_lose_no_update(tmp_path):
    db = tmp_path / "db"
    engine = MemoryEngine(MemoryStore(db), FakeEmbedder(), SimulatedClock(T0))
    engine.write([MemoryInput("My dog is called Mango.", id="m0"), MemoryInput("I moved to Leeds.", id="m1")])
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", SCRIPT, str(db)],
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout.readline().strip() == "ready"
    for p in procs:
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=300)
        assert p.returncode == 0, err[-2000:]
    store = MemoryStore(db)
    for m in store.get(["m0", "m1"]):
        assert m.recall_count == 2 * N and len(m.access_times_s) == 2 * N + 1, m
    assert len(store.list_events(ops=["reinforce"])) == 2 * 2 * N
