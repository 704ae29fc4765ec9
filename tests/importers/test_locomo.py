"""LoCoMo importer on the real file (7 conversations) and on small hand-made files."""

from __future__ import annotations

import json
import re
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from memviz.errors import SchemaError
from memviz.importers import Dataset, load_bytes


def _utc(*args: int) -> float:
    return datetime(*args, tzinfo=UTC).timestamp()


def _turn_sessions(conversation: dict[str, Any]) -> list[tuple[int, list[dict[str, Any]]]]:
    return [
        (int(key.split("_")[1]), turns)
        for key, turns in conversation.items()
        if re.fullmatch(r"session_\d+", key) and turns
    ]


def test_one_memory_per_dialogue_turn(locomo: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = locomo
    assert [c["sample_id"] for c in raw] == list(ds.groups)
    assert len(ds.groups) == 7
    for conv in raw:
        expected = [t["dia_id"] for _, turns in _turn_sessions(conv["conversation"]) for t in turns]
        assert [m.source_id for m in ds.groups[conv["sample_id"]]] == expected
    assert len(ds) == len(ds.items()) == 4124
    ids = [m.id for m in ds.items()]
    assert len(set(ids)) == len(ids)


def test_memory_fields(locomo: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = locomo
    by_id = {m.id: m for m in ds.items()}
    for conv in raw:
        sample_id = conv["sample_id"]
        for n, turns in _turn_sessions(conv["conversation"]):
            for turn in turns:
                m = by_id[f"{sample_id}:{turn['dia_id']}"]
                assert (m.speaker, m.session_id, m.dataset, m.kind) == (
                    turn["speaker"],
                    f"{sample_id}:S{n}",
                    "locomo",
                    "episodic",
                )
                if turn.get("blip_caption"):
                    assert m.text == f"{turn['text']} [shares an image: {turn['blip_caption']}]"
                else:
                    assert m.text == turn["text"]
    caroline = by_id["conv-26:D1:5"]
    assert caroline.text.endswith("[shares an image: a photo of a dog walking past a wall with a painting of a woman]")


def test_sessions_without_turns_are_ignored(locomo: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = locomo
    conv26 = next(c for c in raw if c["sample_id"] == "conv-26")["conversation"]
    assert "session_35_date_time" in conv26 and "session_35" not in conv26
    sessions = {m.session_id for m in ds.groups["conv-26"]}
    assert sessions == {f"conv-26:S{n}" for n in range(1, 20)}


@pytest.mark.parametrize(
    ("memory_id", "expected"),
    [
        ("conv-26:D1:1", _utc(2023, 5, 8, 13, 56)),  # "1:56 pm on 8 May, 2023"
        ("conv-26:D1:3", _utc(2023, 5, 8, 13, 58)),  # third turn: +2 x 60 s
        ("conv-26:D16:1", _utc(2023, 9, 13, 0, 9)),  # "12:09 am on 13 September, 2023"
        ("conv-30:D3:1", _utc(2023, 2, 1, 0, 48)),  # "12:48 am on 1 February, 2023"
        ("conv-43:D29:1", _utc(2024, 1, 12, 13, 41)),  # "1:41 pm on 12 January, 2024"
    ],
)
def test_event_times_follow_session_dates(locomo: tuple[Path, Any, Dataset], memory_id: str, expected: float) -> None:
    by_id = {m.id: m for m in locomo[2].items()}
    assert by_id[memory_id].event_time_s == expected


def test_turns_are_ordered_in_time_within_sessions(locomo: tuple[Path, Any, Dataset]) -> None:
    for memories in locomo[2].groups.values():
        for a, b in zip(memories, memories[1:]):
            if a.session_id == b.session_id:
                assert b.event_time_s == a.event_time_s + 60


def test_questions(locomo: tuple[Path, Any, Dataset]) -> None:
    _, raw, ds = locomo
    assert len(ds.questions) == sum(len(c["qa"]) for c in raw) == 1347
    assert len({q.id for q in ds.questions}) == len(ds.questions)
    by_id = {q.id: q for q in ds.questions}
    for conv in raw:
        for k, item in enumerate(conv["qa"]):
            q = by_id[f"{conv['sample_id']}:q{k}"]
            assert (q.group, q.question, q.category, q.time_s) == (
                conv["sample_id"],
                item["question"],
                str(item["category"]),
                None,
            )
            assert q.answer == str(item["answer"] if "answer" in item else item["adversarial_answer"])
    assert by_id["conv-26:q1"].answer == "2022"  # an int in the data
    adversarial = [q for q in ds.questions if q.category == "5"]
    assert len(adversarial) == 312 and all(q.answer for q in adversarial)


def test_evidence_resolves_to_memories(locomo: tuple[Path, Any, Dataset]) -> None:
    ds = locomo[2]
    sessions = {m.id: m.session_id for m in ds.items()}
    for q in ds.questions:
        assert all(e in sessions and e.startswith(f"{q.group}:") for e in q.evidence_ids)
        assert q.evidence_session_ids == tuple(dict.fromkeys(sessions[e] for e in q.evidence_ids))


def test_evidence_quirks(locomo: tuple[Path, Any, Dataset]) -> None:
    by_id = {q.id: q for q in locomo[2].questions}
    # "D8:6; D9:17": two ids in one string
    assert by_id["conv-26:q37"].evidence_ids == ("conv-26:D8:6", "conv-26:D9:17")
    assert by_id["conv-26:q37"].evidence_session_ids == ("conv-26:S8", "conv-26:S9")
    # "D:11:26" is normalised to "D11:26"
    assert "conv-43:D11:26" in by_id["conv-43:q18"].evidence_ids
    assert by_id["conv-43:q18"].malformed_evidence == ()
    # empty evidence
    assert by_id["conv-26:q30"].evidence_ids == by_id["conv-26:q30"].malformed_evidence == ()
    # "D", and well-formed ids naming turns that do not exist (session 10 has 16 turns, session 4 has 25)
    malformed = {q.id: q.malformed_evidence for q in by_id.values() if q.malformed_evidence}
    assert malformed == {"conv-42:q88": ("D",), "conv-42:q58": ("D10:19",), "conv-47:q38": ("D4:36",)}


def _tiny_locomo(evidence: list[str]) -> bytes:
    turns = [{"speaker": "A", "dia_id": f"D1:{j}", "text": f"turn {j}"} for j in range(1, 4)]
    conversation = {
        "speaker_a": "A",
        "session_1": turns,
        "session_1_date_time": "9:00 am on 1 June, 2023",
        "session_2": [],
        "session_2_date_time": "not a date, but unused",
    }
    qa = [{"question": "q?", "answer": "a", "evidence": evidence, "category": 4}]
    return json.dumps([{"sample_id": "c1", "conversation": conversation, "qa": qa}]).encode()


@pytest.mark.parametrize(
    ("evidence", "ids", "malformed"),
    [
        (["D1:02"], ("c1:D1:2",), ()),
        (["D:1:3"], ("c1:D1:3",), ()),
        (["D1:1; D1:2", "D1:1"], ("c1:D1:1", "c1:D1:2"), ()),
        (["D1:1,D9:1"], ("c1:D1:1",), ("D9:1",)),
        (["D", "", "D1:x"], (), ("D", "", "D1:x")),
    ],
)
def test_evidence_normalisation(evidence: list[str], ids: tuple[str, ...], malformed: tuple[str, ...]) -> None:
    q = load_bytes(_tiny_locomo(evidence), "locomo", "tiny.json").questions[0]
    assert (q.evidence_ids, q.malformed_evidence) == (ids, malformed)
    assert q.evidence_session_ids == (("c1:S1",) if ids else ())


def test_duplicate_dia_id_is_rejected() -> None:
    data = json.loads(_tiny_locomo([]))
    data[0]["conversation"]["session_1"][2]["dia_id"] = "D1:1"
    expected = r'tiny\.json: locomo: \[0\]\.conversation\.session_1\[2\]: duplicate "dia_id"'
    with pytest.raises(SchemaError, match=expected):
        load_bytes(json.dumps(data).encode(), "locomo", "tiny.json")


@pytest.mark.parametrize(
    ("date", "problem"),
    [(None, 'missing "session_1_date_time"'), ("someday", "not a date/time"), ("1 June", "incomplete date")],
)
def test_bad_session_date_is_rejected(date: str | None, problem: str) -> None:
    data = json.loads(_tiny_locomo([]))
    if date is None:
        del data[0]["conversation"]["session_1_date_time"]
    else:
        data[0]["conversation"]["session_1_date_time"] = date
    with pytest.raises(SchemaError, match=rf"tiny\.json: locomo: \[0\]\.conversation: .*{problem}"):
        load_bytes(json.dumps(data).encode(), "locomo", "tiny.json")
