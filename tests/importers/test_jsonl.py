"""The memviz JSON Lines chat format."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from memviz.errors import SchemaError
from memviz.importers import load, load_bytes


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


LINES = [
    {"text": "I moved to Lyon", "speaker": "ana", "session": "s1", "time": "2024-03-01T10:00:00"},
    None,  # a blank line
    {"text": "Nice!", "speaker": "bot", "session": "s1", "time": "2024-03-01T10:01:00+02:00", "kind": "episodic"},
    {
        "text": "Ana lives in Lyon",
        "speaker": "",
        "session": "s1",
        "time": None,
        "kind": "semantic",
        "id": "fact-1",
        "source_id": "notes#1",
        "extra": {"ignored": True},
    },
    {"text": "no time at all", "speaker": "ana", "session": "s2"},
    {"text": "a date only", "speaker": "ana", "session": "s2", "time": "1 March 2024"},
]


def _write(path: Path, lines: list[dict | None]) -> Path:
    path.write_text("\n".join("  " if line is None else json.dumps(line) for line in lines) + "\n")
    return path


def test_small_file(tmp_path: Path) -> None:
    ds = load(_write(tmp_path / "chat.jsonl", LINES), "jsonl")
    assert (ds.format, ds.path, list(ds.groups), ds.questions) == ("jsonl", str(tmp_path / "chat.jsonl"), ["all"], [])
    items = ds.items()
    assert [m.text for m in items] == [line["text"] for line in LINES if line]
    assert [m.source_id for m in items] == ["s1#1", "s1#3", "notes#1", "s2#5", "s2#6"]
    assert [m.event_time_s for m in items] == [
        _utc(2024, 3, 1, 10),
        _utc(2024, 3, 1, 8, 1),
        None,
        None,
        _utc(2024, 3, 1),
    ]
    assert [m.kind for m in items] == ["episodic", "episodic", "semantic", "episodic", "episodic"]
    assert [m.id for m in items] == ["chat:1", "chat:3", "fact-1", "chat:5", "chat:6"]  # stable default ids
    assert {m.dataset for m in items} == {"chat"}
    assert (items[2].speaker, items[2].session_id) == ("", "s1")


def test_load_bytes_names_the_dataset_after_the_upload() -> None:
    data = "\r\n".join(json.dumps(line) for line in LINES if line).encode()  # Windows line ends
    ds = load_bytes(data, "jsonl", "uploads/my chat.jsonl")
    assert len(ds) == 5 and ds.items()[0].dataset == "my chat" and ds.path == "uploads/my chat.jsonl"


def test_text_with_unicode_line_separator_stays_one_line(tmp_path: Path) -> None:
    line = {"text": "one\u2028line", "speaker": "a", "session": "s"}
    path = tmp_path / "u.jsonl"
    path.write_text(json.dumps(line, ensure_ascii=False), encoding="utf-8")
    assert [m.text for m in load(path, "jsonl").items()] == ["one\u2028line"]


@pytest.mark.parametrize(
    ("change", "problem"),
    [
        ({"kind": "dream"}, r'line 3: "kind" must be one of episodic, semantic, procedural, reflection, got \'dream\''),
        ({"kind": 3}, r'line 3: "kind" must be a string, got an integer'),
        ({"time": "tomorrow-ish"}, r'line 3: "time": not a date/time'),
        ({"time": "10:30"}, r'line 3: "time": incomplete date'),
        ({"time": 1700000000}, r'line 3: "time" must be a string, got an integer'),
        ({"speaker": None}, r'line 3: "speaker" must be a string, got null'),
        ({"id": ""}, r'line 3: "id" is empty'),
    ],
)
def test_bad_line_is_rejected(tmp_path: Path, change: dict, problem: str) -> None:
    lines = [dict(line) if line else None for line in LINES]
    lines[2].update(change)  # type: ignore[union-attr]
    with pytest.raises(SchemaError, match=rf"chat\.jsonl: jsonl: {problem}"):
        load(_write(tmp_path / "chat.jsonl", lines), "jsonl")


def test_duplicate_id_is_rejected(tmp_path: Path) -> None:
    lines = [*LINES, {"text": "again", "speaker": "a", "session": "s", "id": "fact-1"}]
    with pytest.raises(SchemaError, match=r"chat\.jsonl: jsonl: line 7: id 'fact-1' is also the id of line 4"):
        load(_write(tmp_path / "chat.jsonl", lines), "jsonl")


def test_error_on_the_last_line_rejects_the_whole_file(tmp_path: Path) -> None:
    lines = [*LINES, {"speaker": "a", "session": "s"}]
    with pytest.raises(SchemaError, match=r'chat\.jsonl: jsonl: line 7: missing "text"'):
        load(_write(tmp_path / "chat.jsonl", lines), "jsonl")
