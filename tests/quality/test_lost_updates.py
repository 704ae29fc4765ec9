"""Read-modify-write operations in two processes at once lose nothing: every reinforcement of the same memory
is counted (recall_count, stability, access times) and logged, whoever ran it; every advance of the simulated
clock adds to the store's one clock."""

from __future__ import annotations

from pathlib import Path

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.models import MemoryInput
from memviz.store import MemoryStore

from fakes import FakeEmbedder
from support import T0, run_together

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
    run_together(SCRIPT, str(db))
    store = MemoryStore(db)
    for m in store.get(["m0", "m1"]):
        assert m.recall_count == 2 * N and len(m.access_times_s) == 2 * N + 1, m
    assert len(store.list_events(ops=["reinforce"])) == 2 * 2 * N


CLOCK_SCRIPT = SCRIPT.replace('engine.reinforce(["m0", "m1"])', "engine.advance_clock(days=1)").replace(
    f"range({N})", "range(5)"
)


def test_two_processes_advancing_the_clock_move_the_one_store_clock(tmp_path):
    """Each process starts its own SimulatedClock at T0 (as two apps opened before either moved it): the
    store's saved clock is still the one they read and advance. Before, each advanced its own copy and saved
    it, so the store ended 5 days on instead of 10 (and an app 29 days on went back 28 days)."""
    db = tmp_path / "db"
    engine = MemoryEngine(MemoryStore(db), FakeEmbedder(), SimulatedClock(T0))
    engine.set_clock(T0)
    run_together(CLOCK_SCRIPT, str(db))
    clocks = MemoryStore(db).list_events(ops=["clock"])
    assert len(clocks) == 11 and clocks[-1].to_s == T0 + 10 * 86_400
    assert all(later.from_s == earlier.to_s for earlier, later in zip(clocks, clocks[1:]))  # nothing went back
    assert engine.clock.now() == T0 + 10 * 86_400  # seen by an engine that did nothing
