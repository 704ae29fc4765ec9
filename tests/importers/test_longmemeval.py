"""LongMemEval importer on the oracle file, the LongMemEval_S 30-question file and small hand-made files."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memviz.errors import SchemaError
from memviz.importers import Dataset, load_bytes


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_one_memory_per_turn(longmemeval: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = longmemeval
    assert list(ds.groups) == [q["question_id"] for q in raw]
    blank = 0
    for item in raw:
        memories = ds.groups[item["question_id"]]
        turns = [t for s in item["haystack_sessions"] for t in s]
        visible = [t for t in turns if t["content"].replace("\u200b", "").strip()]
        blank += len(turns) - len(visible)
        assert [m.text for m in memories] == [t["content"] for t in visible]
        assert [m.speaker for m in memories] == [t["role"] for t in visible]
    assert ds.skipped == blank
    ids = [m.id for m in ds.items()]
    assert len(set(ids)) == len(ids) == len(ds)
    assert {m.dataset for m in ds.items()} == {"longmemeval"}


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_counts(lme_oracle: tuple[Path, Any, Dataset], lme_s_dev30: tuple[Path, Any, Dataset]) -> None:
    assert (len(lme_oracle[2]), len(lme_oracle[2].questions)) == (10960, 500)
    # 14,860 turns, 4 of them a lone zero-width space (skipped)
    assert (len(lme_s_dev30[2]), len(lme_s_dev30[2].questions), lme_s_dev30[2].skipped) == (14856, 30, 4)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_no_answer_labels_in_memories(longmemeval: tuple[Path, Any, Dataset]) -> None:
    for m in longmemeval[2].items():
        for name, value in dataclasses.asdict(m).items():
            assert "answer_" not in str(value) and "has_answer" not in str(value), (name, m.id)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_neutral_ids(lme_s_dev30: tuple[Path, Any, Dataset]) -> None:
    m = lme_s_dev30[2].groups["01493427"][9]
    assert (m.id, m.session_id, m.source_id) == ("01493427:s00:t09", "01493427:s00", "s00:t09")


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_evidence_sessions_and_turns(longmemeval: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = longmemeval
    memories = {m.id: m for m in ds.items()}
    by_id = {q.id: q for q in ds.questions}
    for item in raw:
        q = by_id[item["question_id"]]
        assert len(q.evidence_session_ids) == len(item["answer_session_ids"])
        for i, sid in enumerate(item["haystack_session_ids"]):
            assert (f"{q.id}:s{i:02d}" in q.evidence_session_ids) == (sid in item["answer_session_ids"])
        flagged = [
            f"{q.id}:s{i:02d}:t{j:02d}"
            for i, session in enumerate(item["haystack_sessions"])
            for j, turn in enumerate(session)
            if turn.get("has_answer")
        ]
        assert list(q.evidence_ids) == flagged
        assert all(memories[e].session_id in q.evidence_session_ids for e in q.evidence_ids)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_one_question_by_hand(lme_s_dev30: tuple[Path, Any, Dataset]) -> None:
    # answer_session_ids ["answer_a7b44747_1", "answer_a7b44747_2"] are haystack sessions 0 and 27 of 47;
    # the turns flagged has_answer are turn 6 of each.
    q = next(q for q in lme_s_dev30[2].questions if q.id == "01493427")
    assert q.evidence_session_ids == ("01493427:s00", "01493427:s27")
    assert q.evidence_ids == ("01493427:s00:t06", "01493427:s27:t06")
    assert (q.group, q.answer, q.category) == ("01493427", "25", "knowledge-update")
    assert q.time_s == _utc(2023, 12, 21, 21, 31)  # "2023/12/21 (Thu) 21:31"
    session_27 = [m for m in lme_s_dev30[2].groups["01493427"] if m.session_id == "01493427:s27"]
    assert session_27[0].event_time_s == _utc(2023, 11, 30, 18, 35)  # "2023/11/30 (Thu) 18:35"
    assert session_27[3].event_time_s == _utc(2023, 11, 30, 18, 38)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_oracle_question_by_hand(lme_oracle: tuple[Path, Any, Dataset]) -> None:
    q = next(q for q in lme_oracle[2].questions if q.id == "001be529")
    assert q.evidence_session_ids == ("001be529:s00",)
    assert q.evidence_ids == ("001be529:s00:t04",)
    assert q.time_s == _utc(2023, 5, 28, 19, 47)
    assert lme_oracle[2].groups["001be529"][0].event_time_s == _utc(2023, 5, 21, 19, 50)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_abstention_questions(lme_oracle: tuple[Path, Any, Dataset], lme_s_dev30: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = lme_oracle
    types = {item["question_id"]: item["question_type"] for item in raw}
    abstention = [q for q in ds.questions if q.id.endswith("_abs")]
    assert len(abstention) == 30
    for q in ds.questions:
        suffix = " (abstention)" if q.id.endswith("_abs") else ""
        assert q.category == types[q.id] + suffix
    assert not any(q.category.endswith("(abstention)") for q in lme_s_dev30[2].questions)


@pytest.mark.slow  # parses the real LongMemEval files (~10 s)
def test_int_answers_become_strings(lme_oracle: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = lme_oracle
    answers = {q.id: q.answer for q in ds.questions}
    ints = [item for item in raw if isinstance(item["answer"], int)]
    assert ints and all(answers[item["question_id"]] == str(item["answer"]) for item in ints)


def _tiny(**changes: Any) -> dict[str, Any]:
    item = {
        "question_id": "q1",
        "question_type": "single-session-user",
        "question": "Where?",
        "answer": "Paris",
        "question_date": "2023/05/30 (Tue) 10:18",
        "haystack_session_ids": ["x1", "answer_x2"],
        "haystack_dates": ["2023/05/20 (Sat) 09:00", "2023/05/21 (Sun) 09:00"],
        "haystack_sessions": [
            [{"role": "user", "content": "hello"}],
            [
                {"role": "user", "content": "I live in Paris", "has_answer": True},
                {"role": "assistant", "content": "nice", "has_answer": False},
            ],
        ],
        "answer_session_ids": ["answer_x2"],
    }
    item.update(changes)
    return item


def test_tiny_file() -> None:
    ds = load_bytes(json.dumps([_tiny()]).encode(), "longmemeval", "tiny.json")
    assert [m.id for m in ds.items()] == ["q1:s00:t00", "q1:s01:t00", "q1:s01:t01"]
    assert ds.questions[0].evidence_ids == ("q1:s01:t00",)
    assert ds.questions[0].evidence_session_ids == ("q1:s01",)


@pytest.mark.parametrize(
    ("changes", "problem"),
    [
        ({"haystack_dates": ["2023/05/20 (Sat) 09:00"]}, r"\[0\]: haystack lists differ in length"),
        (
            {"answer_session_ids": ["answer_zz"]},
            r'\[0\]\.answer_session_ids\[0\]: not one of the "haystack_session_ids"',
        ),
        ({"question_date": "soon"}, r'\[0\]: "question_date": not a date/time'),
        ({"haystack_dates": ["2023/05/20 (Sat) 09:00", 5]}, r"\[0\]\.haystack_dates\[1\]: expected a date string"),
        (
            {"haystack_sessions": [[], [{"role": "user", "content": "x", "has_answer": "yes"}]]},
            r'\[0\]\.haystack_sessions\[1\]\[0\]: "has_answer" must be a boolean',
        ),
    ],
)
def test_inconsistent_question_is_rejected(changes: dict[str, Any], problem: str) -> None:
    with pytest.raises(SchemaError, match=rf"tiny\.json: longmemeval: {problem}"):
        load_bytes(json.dumps([_tiny(**changes)]).encode(), "longmemeval", "tiny.json")


def test_duplicate_question_id_is_rejected() -> None:
    with pytest.raises(SchemaError, match=r'\[1\]: duplicate "question_id"'):
        load_bytes(json.dumps([_tiny(), _tiny()]).encode(), "longmemeval", "tiny.json")


def test_turns_without_visible_text_are_skipped_and_counted(tmp_path):
    """LongMemEval_S has turns made of one zero-width space: they cannot be written, so they are left out."""
    import json

    item = {
        "question_id": "q1",
        "question_type": "multi-session",
        "question": "?",
        "answer": "a",
        "question_date": "2023/05/30 (Tue) 10:18",
        "answer_session_ids": ["x"],
        "haystack_session_ids": ["x"],
        "haystack_dates": ["2023/05/20 (Sat) 10:00"],
        "haystack_sessions": [[{"role": "user", "content": "\u200b"}, {"role": "assistant", "content": "hi"}]],
    }
    path = tmp_path / "lme.json"
    path.write_text(json.dumps([item]))
    ds = load_bytes(path.read_bytes(), "longmemeval", path.name)
    assert [m.text for m in ds.items()] == ["hi"] and ds.skipped == 1
