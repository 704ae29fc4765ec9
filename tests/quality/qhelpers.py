"""Helpers of the quality tests: store snapshots and the consistency check of tables against the event log."""

from __future__ import annotations

import json
import subprocess
import sys
from collections import defaultdict
from pathlib import Path

from memviz.models import MemoryInput
from memviz.store import MemoryStore

REPO = Path(__file__).resolve().parents[2]
# ``memviz`` in a fresh Python process: the real entry point (the real model), or the same CLI with the fake
# embedder of tests/fakes.py (the fast tier). Tests that run writers in subprocesses take one of these from the
# ``memviz_cmd`` fixture (tests/quality/conftest.py).
MEMVIZ = [sys.executable, "-m", "memviz.cli"]
MEMVIZ_FAKE = [sys.executable, str(REPO / "tests" / "fakes.py")]

FACTS = [
    "I just moved to Manchester and my new flat is in Ancoats.",
    "My dog Mango loves the canal walks.",
    "Work at Brightwell Labs is going great, I started as a product analyst.",
    "I'm allergic to peanuts, so I always carry an EpiPen.",
    "The pottery class on Thursdays is really relaxing.",
    "My sister Ines is visiting in March.",
]


def facts(session: str = "s1", start_s: float = 1.7e9, texts: list[str] = FACTS) -> list[MemoryInput]:
    return [
        MemoryInput(
            text=t,
            speaker="Maya",
            session_id=session,
            source_id=f"{session}:{n}",
            event_time_s=start_s + 60 * n,
            id=f"{session}:{n}",
        )
        for n, t in enumerate(texts)
    ]


def snapshot(store: MemoryStore) -> tuple[int, int, int, int]:
    """(memories version, memories, links, events): what bad input must leave unchanged."""
    return store.version(), store.count("memories"), store.count("links"), store.count("events")


def check_consistency(store: MemoryStore) -> dict[str, int]:
    """Assert the invariants of the design on the current tables and event log; returns some counts.

    - every memory and every link belongs to a committed batch (one with events);
    - batch <-> write events: the memories of a batch are exactly the ids of its write events, minus the ids
      a later prune or restore_version removed;
    - every memory has a write event; a write event's memory is stored unless a prune / restore_version
      event lists it;
    - no memory id is stored twice; every link's source and target are stored memories.
    """
    mems = store.memories_table(columns=["id", "batch_id"]).to_pylist()
    links = store.links_table().to_pylist()
    events = store.list_events()
    ids = [m["id"] for m in mems]
    assert len(ids) == len(set(ids)), "a memory id is stored twice"
    committed = {e.batch_id for e in events if e.batch_id}
    written_by_batch: dict[str, set[str]] = defaultdict(set)
    for e in events:
        if e.op == "write":
            written_by_batch[e.batch_id].update(e.memory_ids)
    removed = {i for e in events if e.op in ("prune", "restore_version") for i in e.memory_ids}
    stored_by_batch: dict[str, set[str]] = defaultdict(set)
    for m in mems:
        stored_by_batch[m["batch_id"]].add(m["id"])
    for b, stored in stored_by_batch.items():
        assert b in committed, f"memories of uncommitted batch {b}"
        assert stored <= written_by_batch[b], f"batch {b} holds memories its write events do not list"
        missing = written_by_batch[b] - stored - removed
        assert not missing, f"batch {b} lacks memories {sorted(missing)[:3]}"
    for b, written in written_by_batch.items():
        if b not in stored_by_batch:
            assert written <= removed, f"committed batch {b} is absent but no event removed its memories"
    stored_ids = set(ids)
    for lk in links:
        assert lk["batch_id"] in committed, f"link of uncommitted batch {lk['batch_id']}"
        assert lk["source_id"] in stored_ids and lk["target_id"] in stored_ids, f"dangling link {lk}"
    all_written = set().union(*written_by_batch.values()) if written_by_batch else set()
    assert stored_ids <= all_written, "a memory has no write event"
    return {"memories": len(ids), "links": len(links), "batches": len(stored_by_batch), "events": len(events)}


def run_cli(*args: str, timeout: float = 300, cmd: list[str] = MEMVIZ) -> subprocess.CompletedProcess:
    """``memviz ARGS`` in a fresh Python process (default: the real entry point; ``cmd=MEMVIZ_FAKE``: with the
    fake embedder)."""
    return subprocess.run([*cmd, *map(str, args)], capture_output=True, text=True, timeout=timeout, cwd=REPO)


def write_jsonl(path: Path, rows: list[dict]) -> Path:
    path.write_text("\n".join(json.dumps(r, ensure_ascii=False) for r in rows) + "\n", encoding="utf-8")
    return path


def kill_self_on_batch(db: str, kill_at: int, n_items: int, fake: bool = False) -> None:
    """Child process body (spawn): write ``n_items`` facts in batches of 2 with the real model (or the fake
    embedder of tests/fakes.py when ``fake``), and SIGKILL itself inside the ``kill_at``-th batch, after its
    memories and links are appended and before its events (the commit). The one seam replaced:
    MemoryStore.append_events."""
    import os
    import signal

    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine

    if fake:
        sys.path.insert(0, str(REPO / "tests"))
        from fakes import FakeEmbedder as MiniLMEmbedder
    else:
        from memviz.embed import MiniLMEmbedder

    store = MemoryStore(db)
    calls = {"n": 0}
    real = store.append_events

    def append_events(events):
        calls["n"] += 1
        if calls["n"] == kill_at:
            os.kill(os.getpid(), signal.SIGKILL)
        real(events)

    store.append_events = append_events  # type: ignore[method-assign]
    engine = MemoryEngine(store, MiniLMEmbedder(), SimulatedClock(1.7e9))
    engine.ingest(facts("k", texts=(FACTS * 3)[:n_items]), batch_size=2)


def events_reader(db: str):
    """A read-only LanceDB connection that sees other writers' commits (no recover, no table creation)."""
    from datetime import timedelta

    import lancedb

    return lancedb.connect(db, read_consistency_interval=timedelta(0))
