"""memviz check / repair: each invariant is found broken when it is, repaired when it can be, and a store
written and changed only through memviz (including version restores) checks clean."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import pyarrow as pa
import pytest

from memviz.errors import StoreError
from memviz.models import MemoryInput
from memviz.store import MemoryStore
from memviz.store.check import check, repair

from fakes import FakeEmbedder

FAKE_CLI = [sys.executable, str(Path(__file__).parents[1] / "fakes.py")]


def facts(session: str, texts: list[str]) -> list[MemoryInput]:
    return [
        MemoryInput(text=t, speaker="Maya", session_id=session, event_time_s=1.7e9 + 60 * n, id=f"{session}:{n}")
        for n, t in enumerate(texts)
    ]


def run_cli(*args: str) -> subprocess.CompletedProcess:
    return subprocess.run([*FAKE_CLI, *args], capture_output=True, text=True, timeout=300)


@pytest.fixture
def engine(tmp_path):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine

    e = MemoryEngine(MemoryStore(tmp_path / "db"), FakeEmbedder(), SimulatedClock(1.7e9 + 86_400))
    e.write(facts("s1", [f"Note {n} about Mango, the canal and Manchester." for n in range(6)]))
    e.write(facts("s2", texts=["Mango met a heron.", "Ines likes pottery.", "The canal froze."]))
    return e


def kinds(store) -> set[str]:
    return {f.kind for f in check(store).findings}


def test_a_store_changed_only_through_memviz_checks_clean(engine):
    v1 = min(int(e.store_versions["memories"]) for e in engine.store.list_events(ops=["write"]) if e.store_versions)
    engine.recall("Mango canal", k=3, reinforce=True)
    engine.forget(["s1:1"])
    engine.life.reinforce(["s1:1", "s2:0"])
    engine.prune(["s1:4"])
    assert check(engine.store).ok
    engine.restore_version(v1)  # the flags and counts of then: replayed, not the last ones
    assert check(engine.store).ok, check(engine.store).findings
    engine.restore(["s1:1"])
    engine.life.reinforce(["s1:1"])
    assert check(engine.store).ok


def test_each_broken_invariant_is_found_and_the_derivable_ones_repaired(engine):
    store = engine.store
    store.update_memories(pa.table({"id": ["s1:0"], "recall_count": pa.array([7], pa.int32())}))
    store.update_memories(pa.table({"id": ["s1:2"], "forgotten_time_s": pa.array([1.0], pa.float64())}))
    store.memories.delete("id = 's1:5'")  # behind memviz's back: its links dangle
    store.memories.drop_index("text_idx")
    report = check(store)
    assert {f.kind for f in report.findings} == {
        "recall_count_vs_log",
        "forgotten_flag_vs_log",
        "dangling_links",
        "full_text_index_missing",
    }
    assert all(f.repairable for f in report.findings)
    after, event = repair(store, 1.7e9 + 90_000)
    assert after.ok, after.findings
    assert event is not None and event.payload["fixed"]["recall_counts"] == 1
    assert event.payload["fixed"]["forgotten_flags"] == 1 and event.payload["fixed"]["dangling_links"] > 0
    assert store.get(["s1:0"])[0].recall_count == 0 and not store.get(["s1:2"])[0].forgotten
    assert store.list_events(ops=["repair"]), "a repair is recorded"
    assert repair(store, 1.7e9)[1] is None, "nothing left to repair"


def test_what_cannot_be_derived_is_named_not_repaired(engine):
    store = engine.store
    row = store.memories.to_arrow().slice(0, 1).to_pylist()[0]
    row.update(id="ghost")  # a row with a committed batch id but no write event
    store.memories.add(pa.Table.from_pylist([row], schema=store.memories.schema))
    report, event = repair(store, 1.7e9)
    assert [f.kind for f in report.findings] == ["memories_without_write_event"] and event is None
    assert not report.findings[0].repairable and report.findings[0].ids == ["ghost"]


def test_a_failed_operation_is_rolled_back_across_tables(engine, monkeypatch):
    store = engine.store
    links, ids, version = store.count("links"), store.count(), store.version()

    def fail(events):
        raise OSError("No space left on device")

    monkeypatch.setattr(store, "append_events", fail)  # the seam: the commit fails after both tables changed
    with pytest.raises(OSError):
        engine.prune(["s1:0"])
    monkeypatch.undo()
    assert (store.count(), store.count("links")) == (ids, links) and store.version() > version
    assert check(store).ok and not list((store.journal.folder or []).glob("*.json"))


def test_operations_do_not_nest(engine):
    with engine.store.operation("forget"), pytest.raises(StoreError, match="do not nest"):
        with engine.store.operation("prune"):
            pass


def test_cli_check_and_repair(engine):
    db = engine.store.uri
    res = run_cli("check", "--db", db, "--json")
    assert res.returncode == 0 and json.loads(res.stdout)["ok"]
    engine.store.update_memories(pa.table({"id": ["s1:0"], "recall_count": pa.array([3], pa.int32())}))
    res = run_cli("check", "--db", db)
    assert res.returncode == 1 and "recall_count_vs_log: 1" in res.stdout
    res = run_cli("repair", "--db", db, "--json")
    assert res.returncode == 0, res.stdout + res.stderr
    out = json.loads(res.stdout)
    assert out["ok"] and out["repaired"]["recall_counts"] == 1
    assert run_cli("check", "--db", db + "-typo").returncode == 2
