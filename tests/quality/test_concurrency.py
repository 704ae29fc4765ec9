"""Two writers at once and a reader during their writes, on one store on disk.

What the design can promise a reader: LanceDB tables are versioned separately (no snapshot across tables)
and a batch appends its memories, then its links, then its events (the commit). So a reader that reads the
events, then the memories, then the events again sees:
- every memory of a batch committed in the first read (commits are never lost or partly visible);
- each batch's memories all or none (one append per batch), never a memory of a batch whose write events
  list other ids;
- nothing but the memories of batches committed by the second read, plus at most the one batch per writer
  that is between its memories append and its commit.
After the writers finish, memories and write events agree exactly (check_consistency).
"""

from __future__ import annotations

import json
import subprocess
import time
from collections import defaultdict
from pathlib import Path

from memviz.demo import DEMO_PATH
from memviz.filters import LinkFilter
from memviz.store import MemoryStore

from qhelpers import REPO, check_consistency, events_reader, write_jsonl


def _split_demo(tmp_path: Path) -> tuple[Path, Path, int]:
    rows = [json.loads(line) for line in DEMO_PATH.read_text().splitlines() if line.strip()][:60]
    a = write_jsonl(tmp_path / "part_a.jsonl", [r for r in rows if r["session"] <= "s01"])
    b = write_jsonl(tmp_path / "part_b.jsonl", [r for r in rows if r["session"] > "s01"])
    return a, b, len(rows)


def _read(conn) -> tuple[dict[str, set[str]], dict[str, set[str]], dict[str, set[str]]]:
    """(write ids by batch before, memory ids by batch, write ids by batch after): events, memories, events."""

    def writes():
        out: dict[str, set[str]] = defaultdict(set)
        tbl = (
            conn.open_table("events")
            .search()
            .where("op = 'write'")
            .select(["batch_id", "memory_ids"])
            .limit(None)
            .to_arrow()
        )
        for b, ids in zip(tbl.column("batch_id").to_pylist(), tbl.column("memory_ids").to_pylist()):
            out[b].update(ids)
        return out

    before = writes()
    mem: dict[str, set[str]] = defaultdict(set)
    tbl = conn.open_table("memories").search().select(["id", "batch_id"]).limit(None).to_arrow()
    for i, b in zip(tbl.column("id").to_pylist(), tbl.column("batch_id").to_pylist()):
        mem[b].add(i)
    return before, mem, writes()


def test_two_ingests_at_once_lose_nothing_and_reads_are_consistent(tmp_path: Path, memviz_cmd: list[str]):
    db = tmp_path / "db"
    MemoryStore(db)  # create the tables first so that both writers open them
    a, b, total = _split_demo(tmp_path)
    procs = [
        subprocess.Popen(
            [*memviz_cmd, "ingest", str(p), "--format", "jsonl", "--db", str(db), "--batch-size", "4"],
            cwd=REPO,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for p in (a, b)
    ]
    conn = events_reader(str(db))
    reads = in_flight_seen = 0
    deadline = time.monotonic() + 300
    try:
        while any(p.poll() is None for p in procs) and time.monotonic() < deadline:
            before, mem, after = _read(conn)
            reads += 1
            for batch, ids in before.items():
                assert mem.get(batch) == ids, f"committed batch {batch} not whole in a later read"
            uncommitted = [batch for batch in mem if batch not in after]
            assert len(uncommitted) <= len(procs), "more batches in flight than writers"
            in_flight_seen += bool(uncommitted)
            for batch, ids in mem.items():
                if batch in after:
                    assert ids == after[batch], f"batch {batch}: memories {ids} != its write events"
            time.sleep(0.01)
    finally:
        outs = [p.communicate(timeout=300) for p in procs]
    for p, (_out, err) in zip(procs, outs):
        assert p.returncode == 0, err[-2000:]
    assert reads >= 3, "the reader did not overlap the writers"

    store = MemoryStore(db)
    counts = check_consistency(store)
    assert counts["memories"] == total
    imports = store.list_events(ops=["import"])
    assert {Path(e.payload["path"]).name for e in imports} == {"part_a.jsonl", "part_b.jsonl"}
    assert sum(e.payload["n_written"] for e in imports) == total
    # Each writer's temporal links chain its own sessions: one per turn but the first of each session.
    rows = store.memories_table(columns=["session_id"]).column("session_id").to_pylist()
    temporal = store.count("links", LinkFilter(kinds=["temporal"]))
    assert temporal == len(rows) - len(set(rows))
