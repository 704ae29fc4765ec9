"""Chroma importer against a real Chroma persistent store, made with the chromadb package from 1,000 LoCoMo
turns with their metadata: everything imports whole, the source folder is not written to, bad input is one
SchemaError and leaves the memviz store as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from memviz.cli import main
from memviz.errors import SchemaError
from memviz.importers import StoreOptions, load
from memviz.store import MemoryStore

from support import fingerprint

N_TURNS = 1000


@pytest.fixture(scope="module")
def chroma_store(tmp_path_factory, locomo):
    """A Chroma persistent folder holding collection ``turns`` (the first 1,000 LoCoMo turns: id, text and
    metadata with speaker, session, dia_id, ISO time and sample id) and a small collection ``notes``; returns
    (folder, {id: (text, metadata)} of ``turns`` as Chroma gives them back)."""
    import chromadb
    from chromadb.config import Settings

    _, _, data = locomo
    turns = data.items()[:N_TURNS]
    folder = tmp_path_factory.mktemp("chroma")
    client = chromadb.PersistentClient(path=str(folder), settings=Settings(anonymized_telemetry=False))
    rng = np.random.default_rng(0)
    col = client.create_collection("turns", embedding_function=None)
    col.add(
        ids=[str(t.id) for t in turns],
        documents=[t.text for t in turns],
        metadatas=[
            {
                "speaker": t.speaker,
                "session": t.session_id,
                "dia_id": t.source_id,
                "time": datetime.fromtimestamp(float(t.event_time_s or 0), UTC).isoformat(),
                "sample": t.session_id.split(":")[0],
                "turn": n,
            }
            for n, t in enumerate(turns)
        ],
        embeddings=rng.normal(size=(len(turns), 8)).astype(np.float32),
    )
    notes = client.create_collection("notes", embedding_function=None)
    notes.add(
        ids=["n1", "n2"], documents=["Buy oat milk.", None], embeddings=rng.normal(size=(2, 8)).astype(np.float32)
    )
    got = col.get(include=["documents", "metadatas"])
    client.close()
    return folder, {i: (d, m) for i, d, m in zip(got["ids"], got["documents"], got["metadatas"], strict=True)}


def test_a_collection_of_1000_locomo_turns_imports_whole(chroma_store, make_engine) -> None:
    folder, source = chroma_store
    before = fingerprint(folder)
    data = load(folder, "chroma", StoreOptions(collection="turns"))
    assert list(data.groups) == ["turns"] and len(data) == N_TURNS
    engine = make_engine()
    engine.ingest(data.items(), source={"path": str(folder), "format": "chroma"})
    stored = {m.id: m for m in engine.store.get(list(source))}
    assert len(stored) == N_TURNS == engine.store.count()
    assert {i: (m.text, m.metadata) for i, m in stored.items()} == source  # ids, texts and metadata equal
    first = stored["conv-26:D1:1"]
    assert first.speaker == source["conv-26:D1:1"][1]["speaker"] and first.session_id == "conv-26:S1"
    assert first.event_time_s == datetime.fromisoformat(source["conv-26:D1:1"][1]["time"]).timestamp()
    assert first.dataset == "chroma:turns" and first.source_id == "conv-26:D1:1"
    assert fingerprint(folder) == before  # the source is never written to


def test_all_collections_are_read_when_none_is_named(chroma_store) -> None:
    folder, _ = chroma_store
    data = load(folder, "chroma")
    assert sorted(data.groups) == ["notes", "turns"]
    assert [m.id for m in data.groups["notes"]] == ["n1"] and data.skipped == 1  # n2 has no document
    assert data.groups["notes"][0].session_id == "notes" and data.groups["notes"][0].event_time_s is None


def test_cli_imports_one_collection_and_shows_its_metadata(chroma_store, tmp_path) -> None:
    from click.testing import CliRunner

    folder, source = chroma_store
    db = tmp_path / "db"
    res = CliRunner().invoke(
        main, ["ingest", str(folder), "--format", "chroma", "--collection", "notes", "--db", str(db)]
    )
    assert res.exit_code == 0, res.output
    store = MemoryStore(db, create=False)
    assert store.get(["n1"])[0].text == "Buy oat milk."
    (event,) = store.list_events(ops=["import"])
    assert event.payload["collection"] == "notes" and event.payload["format"] == "chroma"


@pytest.mark.parametrize(("collection", "message"), [("turnz", "no collection 'turnz'; it has: notes, turns")])
def test_a_missing_collection_is_one_error_and_changes_nothing(chroma_store, tmp_path, collection, message) -> None:
    from click.testing import CliRunner

    folder, _ = chroma_store
    db = tmp_path / "db"
    MemoryStore(db)  # an existing, empty store
    version = MemoryStore(db, create=False).version()
    res = CliRunner().invoke(
        main, ["ingest", str(folder), "--format", "chroma", "--collection", collection, "--db", str(db)]
    )
    assert res.exit_code == 2
    assert res.output.strip() == f"Error: {folder.name}: chroma: top level: {message}"
    store = MemoryStore(db, create=False)
    assert store.version() == version and store.count("events") == 0


def test_a_folder_that_is_not_a_chroma_store_is_refused(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match="chroma: top level: not a Chroma persistent folder"):
        load(tmp_path, "chroma")
    with pytest.raises(SchemaError, match="chroma: top level: not a Chroma persistent folder"):
        load(tmp_path / "nowhere", "chroma")


def test_a_damaged_chroma_database_is_one_error(chroma_store, tmp_path: Path) -> None:
    import shutil

    folder, _ = chroma_store
    broken = tmp_path / "broken"
    shutil.copytree(folder, broken)
    (broken / "chroma.sqlite3").write_bytes(b"not a database at all" * 100)
    with pytest.raises(SchemaError, match="chroma: top level: cannot read the Chroma store: "):
        load(broken, "chroma")
