"""Child process of the kill harness (tests/quality/test_kill_harness.py): ``python crash_child.py DB OP`` runs
one operation on the store at DB with the fake embedder; ``$MEMVIZ_CRASH_AT`` (``<op>:<step>``) makes it SIGKILL
itself at that step boundary (memviz.store.journal.crash_point)."""

from __future__ import annotations

import sys
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # tests/: fakes
sys.path.insert(0, str(Path(__file__).resolve().parent))  # tests/quality: qhelpers

from memviz.clock import SimulatedClock  # noqa: E402
from memviz.engine import MemoryEngine  # noqa: E402
from memviz.store import MemoryStore  # noqa: E402

from fakes import FakeEmbedder  # noqa: E402
from qhelpers import facts  # noqa: E402


def first_batch_version(store: MemoryStore) -> int:
    """The memories version right after the store's first batch."""
    return min(int(e.store_versions["memories"]) for e in store.list_events(ops=["write"]) if e.store_versions)


def run(db: str, op: str) -> None:
    engine = MemoryEngine(MemoryStore(db), FakeEmbedder(), SimulatedClock(1.7e9 + 86_400))
    if op == "reinforce":
        engine.life.reinforce(["s1:0", "s1:1"])
    elif op == "forget":
        engine.forget(["s1:2", "s1:3"])
    elif op == "restore":
        engine.restore(["s2:0"])  # forgotten by the harness before
    elif op == "prune":
        engine.prune(["s1:4", "s2:1"])
    elif op == "restore_version":
        engine.restore_version(first_batch_version(engine.store))
    elif op == "write":
        engine.write(facts("s3", texts=["Mango met a heron at the canal.", "Ines brought pottery from Porto."]))
    elif op == "repair":
        from memviz.store.check import repair

        repair(engine.store, 1.7e9 + 86_400)
    else:
        raise SystemExit(f"unknown op {op}")


if __name__ == "__main__":
    run(sys.argv[1], sys.argv[2])
