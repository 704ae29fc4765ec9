"""Every importer puts its memories in a scope: a LoCoMo conversation, a LongMemEval question, a MemoryBank user,
a JSONL line's own; ``--scope`` puts a whole file in one. One store then holds a whole benchmark."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.errors import SchemaError
from memviz.importers import Dataset, load_bytes
from memviz.store import MemoryStore


def _scopes_are_groups(ds: Dataset) -> None:
    for group, memories in ds.groups.items():
        assert {m.scope for m in memories} == {group}


def test_locomo_scope_is_the_sample_id(locomo: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = locomo
    _scopes_are_groups(ds)
    assert list(ds.groups) == [c["sample_id"] for c in raw] and ds.items()[0].scope == "conv-26"


def test_longmemeval_scope_is_the_question_id(longmemeval: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = longmemeval
    _scopes_are_groups(ds)
    assert set(ds.groups) <= {q["question_id"] for q in raw}


def test_memorybank_scope_is_the_user(memorybank: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = memorybank
    _scopes_are_groups(ds)
    assert set(ds.groups) == {k.strip() for k in raw}


def _jsonl(*lines: dict) -> bytes:
    return "\n".join(json.dumps(x) for x in lines).encode()


def test_jsonl_takes_an_optional_scope_and_ingest_scope_overrides_it(tmp_path: Path) -> None:
    raw = _jsonl(
        {"text": "Maya moved to Leeds.", "speaker": "Maya", "session": "s1", "scope": "alice"},
        {"text": "Sam plays chess on Sundays.", "speaker": "Sam", "session": "s1", "scope": "agent:run-7"},
        {"text": "The build is green again.", "speaker": "bot", "session": "s1"},
    )
    ds = load_bytes(raw, "jsonl", "notes.jsonl")
    assert [m.scope for m in ds.items()] == ["alice", "agent:run-7", ""]
    assert {m.scope for m in ds.items("bob")} == {"bob"}
    path = tmp_path / "notes.jsonl"
    path.write_bytes(raw)
    cli = CliRunner()
    res = cli.invoke(main, ["ingest", str(path), "--format", "jsonl", "--db", str(tmp_path / "a"), "--json"])
    assert res.exit_code == 0, res.output
    assert json.loads(res.stdout)["store"]["scopes"] == {"": 1, "agent:run-7": 1, "alice": 1}
    res = cli.invoke(
        main, ["ingest", str(path), "--format", "jsonl", "--db", str(tmp_path / "b"), "--scope", "bob", "--json"]
    )
    assert res.exit_code == 0, res.output
    assert MemoryStore(tmp_path / "b", create=False).stats()["scopes"] == {"bob": 3}


@pytest.mark.parametrize("scope", ["two\nlines", " padded", "x" * 129, "semi;colon"])
def test_a_bad_scope_is_one_error_naming_the_line(scope: str, tmp_path: Path) -> None:
    raw = _jsonl(
        {"text": "Fine.", "speaker": "a", "session": "s"},
        {"text": "Bad.", "speaker": "a", "session": "s", "scope": scope},
    )
    with pytest.raises(SchemaError, match="line 2: scope"):
        load_bytes(raw, "jsonl", "bad.jsonl")
    path = tmp_path / "ok.jsonl"
    path.write_bytes(_jsonl({"text": "Fine.", "speaker": "a", "session": "s"}))
    res = CliRunner().invoke(
        main, ["ingest", str(path), "--format", "jsonl", "--db", str(tmp_path / "db"), "--scope", scope]
    )
    assert res.exit_code == 2 and "scope" in res.output and not (tmp_path / "db").exists()
