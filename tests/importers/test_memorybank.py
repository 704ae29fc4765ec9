"""MemoryBank importer on the real file (15 users, with its probing questions) and on small hand-made files."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memviz.errors import SchemaError
from memviz.importers import Dataset, load, load_bytes
from memviz.importers.memorybank import PROBING_FILE


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def test_two_memories_per_exchange(memorybank: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = memorybank
    assert len(ds.groups) == 15
    assert list(ds.groups) == [key.strip() for key in raw]
    exchanges = [e for user in raw.values() for day in user["history"].values() for e in day]
    assert len(exchanges) == 566
    non_empty = sum(bool(e["query"].strip()) + bool(e["response"].strip()) for e in exchanges)
    assert len(ds) == non_empty == 1132
    assert ds.skipped == 2 * len(exchanges) - non_empty == 0
    ids = [m.id for m in ds.items()]
    assert len(set(ids)) == len(ids)


def test_user_names_are_stripped(memorybank: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = memorybank
    assert " Jason " in raw and "Jason" in ds.groups
    assert all(m.session_id.startswith("Jason:") for m in ds.groups["Jason"])


def test_memory_fields(memorybank: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = memorybank
    emily = ds.groups["Emily"]
    first_day = raw["Emily"]["history"]["2023-04-27"]
    assert [m.text for m in emily[:4]] == [
        first_day[0]["query"],
        first_day[0]["response"],
        first_day[1]["query"],
        first_day[1]["response"],
    ]
    assert [m.id for m in emily[:3]] == ["Emily:2023-04-27:00:q", "Emily:2023-04-27:00:r", "Emily:2023-04-27:01:q"]
    assert [m.source_id for m in emily[:2]] == ["2023-04-27#0q", "2023-04-27#0r"]
    assert [m.speaker for m in emily[:2]] == ["Emily", "AI"]
    assert {m.session_id for m in emily[:8]} == {"Emily:2023-04-27"}
    assert {(m.dataset, m.kind) for m in ds.items()} == {("memorybank", "episodic")}


def test_dates_are_parsed(memorybank: tuple[Path, Any, Dataset]) -> None:
    by_id = {m.id: m for m in memorybank[2].items()}
    assert by_id["Emily:2023-04-27:00:q"].event_time_s == _utc(2023, 4, 27)
    assert by_id["Emily:2023-04-27:00:r"].event_time_s == _utc(2023, 4, 27, 0, 1)
    assert by_id["Emily:2023-04-27:01:q"].event_time_s == _utc(2023, 4, 27, 0, 2)
    assert by_id["Leo:2023-05-06:02:r"].event_time_s == _utc(2023, 5, 6, 0, 5)


def test_probing_questions(memorybank: tuple[Path, Any, Dataset]) -> None:
    path, _, ds = memorybank
    lines = [json.loads(line) for line in (path.parent / PROBING_FILE).read_text().splitlines() if line.strip()]
    expected = [(user.strip(), text) for line in lines for user, texts in line.items() for text in texts]
    assert len(ds.questions) == len(expected) == 100
    assert [(q.group, q.question) for q in ds.questions] == expected
    assert ds.questions[0].id == "Emily:q0" and ds.questions[6].id == "Emily:q6"
    assert len({q.id for q in ds.questions}) == 100
    assert {(q.category, q.answer, q.time_s, q.evidence_ids, q.evidence_session_ids) for q in ds.questions} == {
        ("probing", "", None, (), ())
    }


def test_no_probing_questions_without_sibling_file(memorybank: tuple[Path, Any, Dataset]) -> None:
    path, _, ds = memorybank
    uploaded = load_bytes(path.read_bytes(), "memorybank", path.name)
    assert uploaded.questions == [] and uploaded.groups == ds.groups


def _tiny(query: str = "hi", response: str = "hello") -> bytes:
    history = {"2023-04-27": [{"query": query, "response": response}, {"query": "bye", "response": "ciao"}]}
    return json.dumps({"Amy": {"name": "Amy", "history": history}}).encode()


def test_empty_turns_are_skipped_and_counted() -> None:
    ds = load_bytes(_tiny(query="", response="  "), "memorybank", "tiny.json")
    assert ds.skipped == 2
    assert [m.id for m in ds.items()] == ["Amy:2023-04-27:01:q", "Amy:2023-04-27:01:r"]
    assert ds.items()[0].event_time_s == _utc(2023, 4, 27, 0, 2)


def test_file_with_only_empty_turns_is_rejected() -> None:
    data = json.dumps({"Amy": {"name": "Amy", "history": {"2023-04-27": [{"query": "", "response": ""}]}}})
    with pytest.raises(SchemaError, match="tiny.json: memorybank: top level: no memories found"):
        load_bytes(data.encode(), "memorybank", "tiny.json")


def test_bad_probing_file_is_rejected(tmp_path: Path) -> None:
    (tmp_path / "bank.json").write_bytes(_tiny())
    (tmp_path / PROBING_FILE).write_text('{"Amy": ["What did I say?"]}\n\n{"Bob": ["Who am I?"]}\n')
    with pytest.raises(SchemaError, match=rf"{PROBING_FILE}: memorybank: line 3\.Bob: unknown user"):
        load(tmp_path / "bank.json", "memorybank")
    (tmp_path / PROBING_FILE).write_text('{"Amy": ["What did I say?"]}\n')
    assert [q.id for q in load(tmp_path / "bank.json", "memorybank").questions] == ["Amy:q0"]


@pytest.mark.parametrize(
    ("data", "problem"),
    [
        ({"Amy": {"name": "Amy", "history": {"27 April": []}}}, r"Amy\.history\[\"27 April\"\]: incomplete date"),
        ({"Amy": {"name": "Amy", "history": {"2023-04-27": {}}}}, r"Amy\.history\.2023-04-27: expected a list"),
        ({"Amy": {"name": "Amy", "history": []}}, r'Amy: "history" must be an object, got a list'),
        ({"Amy": {"name": "A", "history": {}}, " Amy": {"name": "A", "history": {}}}, r'\[" Amy"\]: duplicate user'),
    ],
)
def test_bad_user_is_rejected(data: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError, match=rf"tiny\.json: memorybank: {problem}"):
        load_bytes(json.dumps(data).encode(), "memorybank", "tiny.json")
