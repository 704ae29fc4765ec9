"""The kill harness: a child process runs one operation and is SIGKILLed at every step boundary of it
(``MEMVIZ_CRASH_AT``, see memviz.store.journal); the store is then reopened and must be whole: ``check`` finds
nothing, full-text search works, and what the operation changes is either all there (killed after its commit)
or not at all (killed before)."""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.store import MemoryStore
from memviz.store.check import check
from memviz.store.journal import CRASH_ENV, PAUSE_ENV

CHILD = Path(__file__).with_name("crash_child.py")

# Every step boundary of every operation (memviz.store.journal and MemoryStore.commit_batch).
STEPS = {
    "reinforce": ["intent", "memories", "events"],
    "forget": ["intent", "memories", "events"],
    "restore": ["intent", "memories", "events"],
    "prune": ["intent", "memories", "links", "events"],
    "restore_version": ["intent", "memories", "links", "fts", "events"],
    "write": ["memories", "links", "events"],
    "repair": ["intent", "links", "memories", "events"],
}
CASES = [(op, step) for op, steps in STEPS.items() for step in steps]


def snapshot(db: Path) -> dict:
    """What an operation can change: ids, forgotten ids, recall counts, links; and that text search works."""
    store = MemoryStore(db)
    mems = store.memories_table(columns=["id", "forgotten_time_s", "recall_count"]).to_pylist()
    links = store.links_table().to_pylist()
    assert store.text_search("Mango canal", 5)[0] is not None
    return {
        "ids": sorted(m["id"] for m in mems),
        "forgotten": sorted(m["id"] for m in mems if m["forgotten_time_s"] is not None),
        "counts": {m["id"]: m["recall_count"] for m in mems},
        "links": sorted((lk["source_id"], lk["target_id"], lk["kind"]) for lk in links),
    }


def run_child(db: Path, op: str, crash_at: str | None) -> subprocess.CompletedProcess:
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV} | ({CRASH_ENV: crash_at} if crash_at else {})
    return subprocess.run(
        [sys.executable, str(CHILD), str(db), op], env=env, capture_output=True, text=True, timeout=300
    )


@pytest.fixture(scope="module")
def prepared(seeded_template, tmp_path_factory, embedder) -> dict[str, tuple[Path, dict, dict]]:
    """Per operation: a store ready for it, its snapshot before, and its snapshot after the operation ran whole."""
    out = {}
    root = tmp_path_factory.mktemp("kill")
    for op in STEPS:
        db = root / op / "before"
        shutil.copytree(seeded_template, db)
        engine = MemoryEngine(MemoryStore(db), embedder, SimulatedClock(1.7e9 + 86_400))
        if op == "restore":
            engine.forget(["s2:0"])
        if op == "repair":  # break it the way a bug or a hand edit would: a wrong count, a memory row gone
            import pyarrow as pa

            engine.store.update_memories(pa.table({"id": ["s1:0"], "recall_count": pa.array([7], pa.int32())}))
            engine.store.memories.delete("id = 's1:5'")
        done = root / op / "after"
        shutil.copytree(db, done)
        res = run_child(done, op, None)
        assert res.returncode == 0, res.stderr
        out[op] = (db, snapshot(db), snapshot(done))
        assert out[op][1] != out[op][2], f"{op} changed nothing: the harness would prove nothing"
    return out


@pytest.mark.parametrize(("op", "step"), CASES, ids=[f"{o}:{s}" for o, s in CASES])
def test_killed_at_every_step_boundary_leaves_a_whole_store(prepared, tmp_path: Path, op: str, step: str):
    before_db, before, after = prepared[op]
    db = tmp_path / "db"
    shutil.copytree(before_db, db)
    res = run_child(db, op, f"{op}:{step}")
    assert res.returncode == -signal.SIGKILL, f"the child was not killed at {op}:{step}: {res.stderr[-2000:]}"

    state = snapshot(db)  # reopening recovers
    committed = step == "events"
    assert state == (after if committed else before), f"{op} killed at {step} is neither whole nor absent"
    report = check(MemoryStore(db))
    if op == "repair" and not committed:  # rolled back: the damage it was repairing is still there, nothing else
        assert {f.kind for f in report.findings} <= {"dangling_links", "recall_count_vs_log"}
    else:
        assert report.ok, report.findings
    assert not list((db / "_journal").glob("*.json")), "the intent was finished"


@pytest.mark.slow
@pytest.mark.parametrize(("op", "step"), CASES, ids=[f"{o}:{s}" for o, s in CASES])
def test_an_opener_at_every_step_boundary_neither_blocks_nor_undoes_a_live_writer(
    prepared, tmp_path: Path, op: str, step: str
):
    """The writer pauses at the boundary (``MEMVIZ_PAUSE_AT``); another process opens the store (its recovery
    runs) and checks it meanwhile; the writer then finishes and the store is whole, the operation all there."""
    before_db, _, after = prepared[op]
    db, gate = tmp_path / "db", tmp_path / "gate"
    shutil.copytree(before_db, db)
    gate.mkdir()
    env = {k: v for k, v in os.environ.items() if k != CRASH_ENV} | {PAUSE_ENV: f"{op}:{step}={gate}"}
    writer = subprocess.Popen(
        [sys.executable, str(CHILD), str(db), op], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
    )
    try:
        while not (gate / "paused").exists():  # waits on the writer's state; it must not end first
            assert writer.poll() is None, f"the writer ended before {op}:{step}: {writer.stderr.read()[-2000:]}"
            time.sleep(0.05)
        opener = subprocess.run(
            [sys.executable, str(CHILD.parent.parent / "fakes.py"), "check", "--db", str(db), "--json"],
            capture_output=True,
            text=True,
            timeout=240,  # an opener that waited on the writer's lock would hang here
        )
        assert opener.returncode in (0, 1), opener.stderr
    finally:
        (gate / "resume").touch()
    assert writer.wait(timeout=240) == 0, writer.stderr.read()[-2000:]
    assert snapshot(db) == after
    assert check(MemoryStore(db)).ok or op == "repair"
