"""Opening is read-only, a damaged store is named, a full disk is an error with nothing half-written.

- Reads (``memviz stats``, ``recall --no-reinforce``, the engine's views) write nothing: the store's files keep
  their bytes and mtimes, and they work on a store bind-mounted read-only (a real read-only file system: as
  root, chmod would not stop a write).
- A read never creates a store: a path without one is named (exit 2); writers (ingest) still create it.
- A refused ingest leaves the store's version unchanged.
- A damaged store (a data file deleted or cut short, a table's manifests or index missing) is one StoreError
  naming the table and the file, exit 2 from the CLI, and the store is left as it was.
- A full disk: reads still work, an ingest fails with "no space left on the device at ..." and the store is
  consistent afterwards.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine, open_engine
from memviz.errors import DuplicateMemoryError, StoreError, StoreNotFoundError
from memviz.store import MemoryStore
from memviz.store.inflight import LEGACY_DIR

from qhelpers import FACTS, check_consistency, facts, snapshot, write_jsonl
from support import old_store


def files_state(root: Path) -> dict[str, tuple]:
    """Every file and folder under ``root``: (size, mtime_ns, sha1 of the bytes) per path."""
    out = {}
    for p in sorted(root.rglob("*")):
        st = p.lstat()
        digest = hashlib.sha1(p.read_bytes()).hexdigest() if p.is_file() else None
        out[str(p.relative_to(root))] = (st.st_size if p.is_file() else None, st.st_mtime_ns, digest)
    return out


def cli(*args) -> tuple[int, str, str]:
    res = CliRunner().invoke(main, [str(a) for a in args])
    return res.exit_code, res.stdout, res.stderr


def _mount(*args: str) -> None:
    subprocess.run(["mount", *args], check=True, capture_output=True, text=True)


@contextmanager
def read_only_mount(src: Path, dst: Path) -> Iterator[Path]:
    """``src`` bind-mounted read-only at ``dst``; skips the test when mounting is not permitted."""
    dst.mkdir()
    try:
        _mount("--bind", str(src), str(dst))
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"bind mount not permitted here ({getattr(e, 'stderr', '') or e})")
    try:
        _mount("-o", "remount,bind,ro", str(dst))
        yield dst
    finally:
        subprocess.run(["umount", str(dst)], check=False)


@contextmanager
def small_tmpfs(dst: Path, size: str = "20m") -> Iterator[Path]:
    """A tmpfs of ``size`` at ``dst``; skips the test when mounting is not permitted."""
    dst.mkdir()
    try:
        _mount("-t", "tmpfs", "-o", f"size={size}", "tmpfs", str(dst))
    except (OSError, subprocess.CalledProcessError) as e:
        pytest.skip(f"tmpfs mount not permitted here ({getattr(e, 'stderr', '') or e})")
    try:
        yield dst
    finally:
        subprocess.run(["umount", str(dst)], check=False)


def _reads(db: Path) -> dict:
    """Every read command and engine view on ``db``; returns what they answered."""
    code, out, err = cli("stats", "--db", db, "--json")
    assert code == 0, err
    code, rec, err = cli("recall", "Mango canal walks", "--db", db, "--no-reinforce", "--json", "-k", "3")
    assert code == 0, err
    engine = open_engine(str(db), create=False)
    engine.list_memories()
    engine.read.events()
    engine.traces()
    engine.recall("pottery", k=2, reinforce=False)
    return {"stats": json.loads(out), "hits": [h["id"] for h in json.loads(rec)["hits"]]}


# -- reads write nothing --------------------------------------------------------------------------------
def test_reads_leave_every_file_of_a_writable_store_untouched(seeded_db):
    before = files_state(seeded_db)
    answered = _reads(seeded_db)
    assert answered["stats"]["memories"] == len(FACTS) + 3 and answered["hits"]
    assert files_state(seeded_db) == before
    # A reinforcing recall (asked for: --reinforce) is a write: one recall event and the hits' reinforce events.
    events = answered["stats"]["events"]
    assert cli("recall", "Mango", "--db", seeded_db, "-k", "2", "--reinforce")[0] == 0
    assert MemoryStore(seeded_db, create=False).count("events") == events + 1 + 2


def test_read_commands_work_on_a_read_only_mount(seeded_db, tmp_path):
    # What a writer of an older memviz killed before its batch wrote a row leaves: a marker file naming a dead
    # process (migrated only on a writable open).
    dead = subprocess.Popen(["true"])
    dead.wait()
    (seeded_db / LEGACY_DIR).mkdir(exist_ok=True)
    (seeded_db / LEGACY_DIR / "killed").write_text(str(dead.pid))
    before = files_state(seeded_db)
    with read_only_mount(seeded_db, tmp_path / "ro") as ro:
        assert not os.access(ro, os.W_OK)
        answered = _reads(ro)
        assert answered["stats"]["memories"] == len(FACTS) + 3
        # Writes are refused with one line saying why, nothing half-done.
        code, _, err = cli("recall", "Mango", "--db", ro, "-k", "2", "--reinforce")
        assert code == 2 and err.startswith("Error: ") and "read-only file system" in err and len(err.splitlines()) == 1
        data = write_jsonl(tmp_path / "new.jsonl", [{"speaker": "Maya", "session": "s9", "text": "A new note."}])
        code, _, err = cli("ingest", data, "--format", "jsonl", "--db", ro)
        assert code == 2 and "read-only file system" in err and len(err.splitlines()) == 1
    assert files_state(seeded_db) == before, "the read-only store was changed"


# -- reads never create a store -------------------------------------------------------------------------
def test_a_read_on_a_missing_store_names_the_path_and_creates_nothing(tmp_path):
    typo = tmp_path / "typo"
    for args in (["stats"], ["stats", "--json"], ["recall", "q"], ["recall", "q", "--no-reinforce"]):
        code, _, err = cli(*args, "--db", typo)
        assert code == 2 and err == f"Error: no memory store at {typo} " + (
            f"(create one with `memviz ingest FILE --format jsonl --db {typo}`, or start `memviz app` on it)\n"
        )
    assert not typo.exists()
    empty = tmp_path / "empty"
    empty.mkdir()
    with pytest.raises(StoreNotFoundError, match="no memory store at"):
        open_engine(str(empty), create=False)
    with pytest.raises(StoreNotFoundError):
        MemoryStore(typo, create=False)
    assert not typo.exists() and not any(empty.iterdir())
    # A writer creates it.
    data = write_jsonl(tmp_path / "d.jsonl", [{"speaker": "Maya", "session": "s1", "text": "My dog is Mango."}])
    assert cli("ingest", data, "--format", "jsonl", "--db", typo)[0] == 0
    assert MemoryStore(typo, create=False).count() == 1


def test_a_store_with_only_empty_tables_is_completed_by_writers_only(tmp_path):
    MemoryStore(tmp_path / "db")
    shutil.rmtree(tmp_path / "db" / "links.lance")  # a creation cut short: one table not made yet
    before = files_state(tmp_path / "db")
    with pytest.raises(StoreNotFoundError):
        MemoryStore(tmp_path / "db", create=False)
    assert files_state(tmp_path / "db") == before
    assert MemoryStore(tmp_path / "db").count("links") == 0  # a writer completes it
    assert (tmp_path / "db" / "links.lance").is_dir()


# -- a refused ingest changes nothing --------------------------------------------------------------------
def test_a_refused_ingest_leaves_the_version_unchanged(seeded, embedder):
    store = seeded.store
    before = snapshot(store)
    repeated = facts("n1") + facts("n1")[:1]  # an id twice in one batch: refused
    with pytest.raises(DuplicateMemoryError):
        seeded.ingest(repeated, batch_size=64)
    assert snapshot(store) == before
    # Re-ingesting what is stored writes nothing and leaves the version too (no index rebuild).
    assert all(not r.items for r in seeded.ingest(facts("s1")))
    assert snapshot(MemoryStore(store.uri, create=False)) == before


def test_a_refused_cli_ingest_leaves_the_version_unchanged(seeded_db, tmp_path):
    before = snapshot(MemoryStore(seeded_db, create=False))
    rows = [{"id": "dup", "speaker": "Maya", "session": "s9", "text": f"Note {n}."} for n in range(2)]
    code, _, err = cli("ingest", write_jsonl(tmp_path / "dup.jsonl", rows), "--format", "jsonl", "--db", seeded_db)
    assert code == 2 and "dup" in err
    assert snapshot(MemoryStore(seeded_db, create=False)) == before


# -- a damaged store is named, never reset ---------------------------------------------------------------
def _data_file(db: Path, table: str) -> Path:
    return sorted((db / f"{table}.lance" / "data").glob("*.lance"))[-1]


def _cut(p: Path) -> None:
    with p.open("r+b") as f:
        f.truncate(p.stat().st_size // 2)


DAMAGE = {
    "memories data file deleted": (lambda db: _data_file(db, "memories").unlink(), "memories", "lacks its data file"),
    "links data file deleted": (lambda db: _data_file(db, "links").unlink(), "links", "lacks its data file"),
    "events data file deleted": (lambda db: _data_file(db, "events").unlink(), "events", "lacks its data file"),
    "memories data file cut short": (lambda db: _cut(_data_file(db, "memories")), "memories", "cut short"),
    "events data file cut short": (lambda db: _cut(_data_file(db, "events")), "events", "cut short"),
    "memories manifests missing": (
        lambda db: shutil.rmtree(db / "memories.lance" / "_versions"),
        "memories",
        "memories.lance/_versions is missing",
    ),
    "links manifests missing": (
        lambda db: shutil.rmtree(db / "links.lance" / "_versions"),
        "links",
        "links.lance/_versions is missing",
    ),
    "full-text index missing": (
        lambda db: shutil.rmtree(db / "memories.lance" / "_indices"),
        "memories",
        "FTS index memories.lance/_indices/",
    ),
    "events table missing": (lambda db: shutil.rmtree(db / "events.lance"), "events", "missing beside"),
}


@pytest.mark.parametrize("damage", list(DAMAGE))
def test_a_damaged_store_is_named_and_left_alone(seeded_db, damage):
    harm, table, says = DAMAGE[damage]
    harm(seeded_db)
    before = files_state(seeded_db)
    for create in (False, True):
        with pytest.raises(StoreError) as info:
            MemoryStore(seeded_db, create=create)
        message = str(info.value)
        assert f"the memory store at {seeded_db} is damaged" in message and table in message and says in message
        assert "from a copy" in message and "\n" not in message
    if "data file" in damage:  # the file itself is named, relative to the store
        assert f"{table}.lance/data/" in message and ".lance" in message.split(f"{table}.lance/data/")[1]
    for args in (["stats"], ["recall", "Mango", "--no-reinforce"], ["recall", "Mango"]):
        code, _, err = cli(*args, "--db", seeded_db)
        assert code == 2 and err.startswith("Error: the memory store at") and len(err.splitlines()) == 1, err
    data = write_jsonl(seeded_db.parent / "new.jsonl", [{"speaker": "Maya", "session": "s9", "text": "A new note."}])
    code, _, err = cli("ingest", data, "--format", "jsonl", "--db", seeded_db)
    assert code == 2 and "damaged" in err
    assert files_state(seeded_db) == before, "a damaged store was changed"


# -- a full disk -----------------------------------------------------------------------------------------
def _fill(folder: Path, leave_bytes: int = 0) -> None:
    """Fill the file system of ``folder`` up to ``leave_bytes`` free."""
    with (folder / "ballast").open("wb") as f:
        chunk = b"\0" * (1 << 20)
        try:
            while (free := shutil.disk_usage(folder).free - leave_bytes) > 0:
                f.write(chunk[: min(len(chunk), free)])
                f.flush()
        except OSError:
            pass


@pytest.mark.parametrize("leave_kb", [0, 64, 256])
def test_a_full_disk_gives_a_clear_error_and_nothing_half_written(seeded_template, tmp_path, leave_kb):
    with small_tmpfs(tmp_path / "disk") as disk:
        db = disk / "db"
        shutil.copytree(seeded_template, db)
        ids_before = sorted(MemoryStore(db, create=False).memories_table(columns=["id"]).column("id").to_pylist())
        _fill(disk, leave_kb * 1024)
        before = files_state(db)
        code, out, err = cli("stats", "--db", db, "--json")
        assert code == 0 and json.loads(out)["memories"] == len(ids_before), err
        assert files_state(db) == before
        rows = [{"speaker": "Maya", "session": "s9", "text": f"A new note {n} about Mango. " * 20} for n in range(300)]
        code, _, err = cli("ingest", write_jsonl(tmp_path / "new.jsonl", rows), "--format", "jsonl", "--db", db)
        assert code == 2 and err.startswith("Error: ") and len(err.splitlines()) == 1, err
        assert f"no space left on the device at {db}" in err
        (disk / "ballast").unlink()
        store = MemoryStore(db, create=False)
        counts = check_consistency(store)  # every batch whole or absent, the log agrees with the tables
        ids = set(store.memories_table(columns=["id"]).column("id").to_pylist())
        assert set(ids_before) <= ids and counts["memories"] in (len(ids_before), len(ids_before) + 300)
        assert not store.inflight.markers(), "a marker of the failed batch was left"


def test_an_engine_on_a_store_that_must_exist(seeded_db, embedder):
    engine = MemoryEngine(MemoryStore(seeded_db, create=False), embedder, SimulatedClock(1.7e9))
    assert engine.read.count() == len(FACTS) + 3


def test_a_store_of_an_older_memviz_on_a_read_only_mount_is_refused_in_one_line(make_engine, tmp_path):
    folder = old_store(make_engine, tmp_path)
    with read_only_mount(folder, tmp_path / "ro") as ro:
        before = files_state(ro)
        code, _, err = cli("stats", "--db", ro)
        assert code == 2 and len(err.splitlines()) == 1, err
        assert "was written by an older memviz and lacks the column(s) memories.metadata" in err
        assert files_state(ro) == before
