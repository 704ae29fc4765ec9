"""Crash safety: a writer killed with SIGKILL mid-ingest leaves a readable store in which every batch is whole
or absent and the event log agrees with the tables; resuming the ingest completes it without duplicates.
Restoring an earlier LanceDB version works and is recorded in the (never rolled back) event log."""

from __future__ import annotations

import multiprocessing as mp
import signal
import subprocess
import time
from pathlib import Path

import pytest

from memviz.demo import DEMO_PATH
from memviz.models import MemoryInput
from memviz.store import MemoryStore

from qhelpers import MEMVIZ_FAKE, REPO, check_consistency, events_reader, facts, kill_self_on_batch, run_cli

# The first 210 turns of the demo conversation: 70 batches of 3. An ingest embeds its whole window (2,048)
# before the first commit and then commits quickly, so it needs many batches for the kill to land mid-ingest.
N_DEMO = 210


def _committed_batches(conn) -> int:
    if "events" not in conn.list_tables().tables:
        return 0
    return conn.open_table("events").count_rows("op = 'import'")


def test_sigkill_mid_ingest_then_resume(tmp_path: Path, memviz_cmd: list[str]):
    db = tmp_path / "db"
    data = tmp_path / "demo_head.jsonl"
    data.write_text("\n".join(DEMO_PATH.read_text().splitlines()[:N_DEMO]) + "\n")
    proc = subprocess.Popen(
        [*memviz_cmd, "ingest", str(data), "--format", "jsonl", "--db", str(db), "--batch-size", "3"],
        cwd=REPO,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        conn, deadline = None, time.monotonic() + 240
        while time.monotonic() < deadline and proc.poll() is None:
            if conn is None and (db / "events.lance").exists():
                conn = events_reader(str(db))
            if conn is not None and _committed_batches(conn) >= 3:
                break
            time.sleep(0.02)
        assert proc.poll() is None, "the ingest ended before it could be killed"
        proc.send_signal(signal.SIGKILL)
        assert proc.wait(timeout=60) == -signal.SIGKILL
    finally:
        if proc.poll() is None:
            proc.kill()

    store = MemoryStore(db)  # reopen: recovers what the killed batch left
    counts = check_consistency(store)
    assert 9 <= counts["memories"] < N_DEMO and counts["memories"] % 3 == 0  # whole batches of 3 only
    assert not store.inflight.markers(), "the killed batch's marker was cleared on reopen"

    res = run_cli("ingest", data, "--format", "jsonl", "--db", db, "--json", cmd=memviz_cmd)
    assert res.returncode == 0, res.stderr
    store = MemoryStore(db)
    counts = check_consistency(store)
    assert counts["memories"] == N_DEMO
    ids = store.memories_table(columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(f"demo_head:{n}" for n in range(1, N_DEMO + 1))


@pytest.mark.parametrize("kill_at", [3])
def test_killed_between_rows_and_commit_is_recovered(tmp_path: Path, kill_at: int, memviz_cmd: list[str]):
    """Deterministic crash inside a batch: memories and links appended, events not. Reopening removes the
    orphan rows (the marker names a dead process); the batches committed before stay whole."""
    db = str(tmp_path / "db")
    ctx = mp.get_context("spawn")
    p = ctx.Process(target=kill_self_on_batch, args=(db, kill_at, 8, memviz_cmd == MEMVIZ_FAKE))
    p.start()
    p.join(240)
    assert p.exitcode == -signal.SIGKILL
    raw = events_reader(db)
    assert raw.open_table("memories").count_rows() == 2 * kill_at, "orphan rows of the killed batch are on disk"
    store = MemoryStore(db)
    counts = check_consistency(store)
    assert counts["memories"] == 2 * (kill_at - 1) and counts["batches"] == kill_at - 1


def test_recover_leaves_a_live_writers_batch_alone(seeded):
    """A batch being written by a live process (its marker names a running pid) is not an orphan."""
    import pyarrow as pa

    store = seeded.store
    row = store.memories.to_arrow().slice(0, 1).to_pylist()[0]
    row.update(id="in-flight", batch_id="live01")
    store.inflight.mark("live01")  # this process: alive
    store.memories.add(pa.Table.from_pylist([row], schema=store.memories.schema))
    assert MemoryStore(store.uri).existing_ids(["in-flight"]) == {"in-flight"}
    store.inflight.table().update(where="batch_id = 'live01'", values={"pid": 999_999_999})  # a pid that does not run
    assert MemoryStore(store.uri).existing_ids(["in-flight"]) == set()
    assert not store.inflight.markers()


def _links(store):
    return sorted((r["source_id"], r["target_id"], r["kind"]) for r in store.links_table().to_pylist())


def test_restore_version_roundtrip_and_event(seeded):
    store = seeded.store
    v0, ids0, links0 = (
        store.version(),
        sorted(store.existing_ids(["s1:0"]) | set(store.memories_table(columns=["id"]).column("id").to_pylist())),
        _links(store),
    )
    events0 = store.count("events")
    seeded.write(facts("s3", texts=["My dog Mango chased a heron at the canal.", "Ines loves pottery too."]))
    seeded.forget(["s1:2"])
    seeded.prune(["s1:4"])
    v1, ids1, links1 = (
        store.version(),
        sorted(store.memories_table(columns=["id"]).column("id").to_pylist()),
        _links(store),
    )
    assert ids1 != ids0 and links1 != links0

    payload = seeded.restore_version(v0).payload
    assert sorted(store.memories_table(columns=["id"]).column("id").to_pylist()) == ids0
    assert _links(store) == links0
    assert not seeded.get("s1:2").forgotten and seeded.get("s1:4").text  # pruned memory is back
    assert sorted(payload["removed_ids"]) == ["s3:0", "s3:1"] and payload["restored_ids"] == ["s1:4"]
    ev = store.list_events(ops=["restore_version"])
    assert len(ev) == 1 and ev[0].payload["version"] == v0 and set(ev[0].memory_ids) == {"s3:0", "s3:1", "s1:4"}
    assert store.count("events") > events0 and store.list_events(ops=["prune"]), "the log is never rolled back"
    check_consistency(store)

    # Forward again to the later state, then keep writing and recalling.
    seeded.restore_version(v1)
    assert sorted(store.memories_table(columns=["id"]).column("id").to_pylist()) == ids1 and _links(store) == links1
    seeded.write([MemoryInput(text="After the restores: Mango met a swan.", id="after", session_id="s3")])
    assert "after" in [h.memory.id for h in seeded.recall("Mango swan", k=3, reinforce=False).hits]
    check_consistency(store)


def test_restore_to_every_version_gives_whole_batches(seeded):
    """Every memories version of a store written in several batches (with forgets and index rebuilds
    between) restores to whole batches whose links are all there."""
    store = seeded.store
    for n in range(3):
        seeded.write(facts(f"b{n}", texts=[f"Batch {n} note about Mango and the canal.", f"Batch {n} second note."]))
        if n == 1:
            seeded.forget([f"b{n}:0"])
    versions = [v["version"] for v in store.versions()]
    final_links = _links(store)
    for v in versions[1:]:
        seeded.restore_version(v)
        check_consistency(store)
        by_batch = {}
        for r in store.memories_table(columns=["id", "batch_id"]).to_pylist():
            by_batch.setdefault(r["batch_id"], []).append(r["id"])
        links = store.links_table().to_pylist()
        for lk in links:
            assert lk["batch_id"] in by_batch, "links of a batch whose memories are absent"
        written_links = {e.batch_id: len(e.payload["links"]) for e in store.list_events(ops=["link"])}
        for b in by_batch:
            assert sum(lk["batch_id"] == b for lk in links) == written_links.get(b, 0), f"batch {b} lacks links"
    seeded.restore_version(versions[-1])
    assert _links(store) == final_links
