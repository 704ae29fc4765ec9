"""LanceDB importer against a real LanceDB database another application wrote with the lancedb package (a
``notes`` table with a vector column, and a second table): the column mapping, metadata, clear errors for an
unknown table or column, and a source left as it was."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pyarrow as pa
import pytest

from memviz.cli import main
from memviz.errors import ConfigError, SchemaError
from memviz.importers import StoreOptions, load
from memviz.store import MemoryStore

from support import fingerprint

MAPPING = StoreOptions(table="notes", text_column="body", id_column="note_id", time_column="at", speaker_column="who")


@pytest.fixture
def app_db(tmp_path: Path) -> Path:
    """A LanceDB database of another application: ``notes`` (note_id, body, at: timestamp, who, tags, score,
    vector) and ``users``."""
    import lancedb

    folder = tmp_path / "app.lancedb"
    db = lancedb.connect(str(folder))
    at = [datetime(2025, 3, d, 9, 30, tzinfo=UTC) for d in (1, 2, 3)]
    db.create_table(
        "notes",
        pa.table(
            {
                "note_id": ["n-1", "n-2", "n-3"],
                "body": ["Maya moved to Leeds.", "  Two  spaces kept.  ", None],
                "at": pa.array(at, pa.timestamp("us", tz="UTC")),
                "who": ["maya", "sam", "maya"],
                "tags": [["move"], [], ["none"]],
                "score": [0.5, 1.0, 2.0],
                "vector": pa.FixedSizeListArray.from_arrays(pa.array(np.ones(12, np.float32)), 4),
            }
        ),
    )
    db.create_table("users", pa.table({"name": ["maya"]}))
    return folder


def test_a_table_imports_with_its_column_mapping(app_db: Path, make_engine) -> None:
    before = fingerprint(app_db)
    data = load(app_db, "lancedb", MAPPING)
    assert list(data.groups) == ["notes"] and data.skipped == 1  # n-3 has no text
    first, second = data.items()
    assert (first.id, first.text, first.speaker, first.session_id) == ("n-1", "Maya moved to Leeds.", "maya", "notes")
    assert first.event_time_s == datetime(2025, 3, 1, 9, 30, tzinfo=UTC).timestamp()
    assert first.metadata == {"tags": ["move"], "score": 0.5}  # the other columns, not the vector
    engine = make_engine()
    engine.ingest(data.items())
    assert engine.get("n-2").text == "  Two  spaces kept.  " and engine.get("n-1").metadata == first.metadata
    assert fingerprint(app_db) == before


def test_ids_default_to_table_and_row_and_text_is_required(app_db: Path) -> None:
    data = load(app_db, "lancedb", StoreOptions(table="notes", text_column="body"))
    assert [m.id for m in data.items()] == ["notes:0", "notes:1"] and data.items()[0].event_time_s is None
    with pytest.raises(SchemaError, match="lancedb: top level: --text-column is required"):
        load(app_db, "lancedb", StoreOptions(table="notes"))


@pytest.mark.parametrize(
    ("options", "message"),
    [
        (
            StoreOptions(table="notes", text_column="text"),
            "table 'notes': --text-column 'text': no such column; it has: note_id, body, at, who, tags, score, vector",
        ),
        (StoreOptions(table="notes", text_column="body", time_column="when"), "--time-column 'when': no such column"),
        (StoreOptions(table="note", text_column="body"), "top level: no table 'note'; it has: notes, users"),
        (StoreOptions(text_column="body"), "the database has 2 tables (notes, users): pick one with --table"),
        (StoreOptions(table="notes", text_column="score"), "expected a string in --text-column 'score', got a number"),
    ],
)
def test_bad_mappings_are_one_clear_error(app_db: Path, options: StoreOptions, message: str) -> None:
    with pytest.raises(SchemaError) as info:
        load(app_db, "lancedb", options)
    assert message in str(info.value) and str(info.value).startswith("app.lancedb: lancedb: ")


def test_an_unknown_column_on_the_command_line_changes_nothing(app_db: Path, tmp_path: Path) -> None:
    from click.testing import CliRunner

    db = tmp_path / "db"
    MemoryStore(db)
    version = MemoryStore(db, create=False).version()
    args = ["ingest", str(app_db), "--format", "lancedb", "--table", "notes", "--text-column", "txt", "--db", str(db)]
    res = CliRunner().invoke(main, args)
    assert res.exit_code == 2 and len(res.output.strip().splitlines()) == 1
    assert "--text-column 'txt': no such column" in res.output
    store = MemoryStore(db, create=False)
    assert store.version() == version and store.count("events") == 0


def test_options_of_another_format_are_refused(app_db: Path) -> None:
    with pytest.raises(ConfigError, match="--text-column does not apply to --format chroma"):
        load(app_db, "chroma", StoreOptions(text_column="body"))
    with pytest.raises(ConfigError, match="--collection does not apply to --format jsonl"):
        load(app_db, "jsonl", StoreOptions(collection="x"))
