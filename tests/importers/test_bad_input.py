"""Malformed input, format by format: every problem is a SchemaError naming the file, the format and where.

Each case is checked both through :func:`load` (a file in tmp_path) and :func:`load_bytes` (an upload).
"""

from __future__ import annotations

import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest

from memviz.errors import ConfigError, SchemaError
from memviz.importers import FORMATS, Dataset, load, load_bytes

DEEP = b"[" * 100_000 + b"]" * 100_000
PNG = b"\x89PNG\r\n\x1a\n\x00\x00\x00\rIHDR\x00\x00"


def _locomo() -> Any:
    turn = {"speaker": "A", "dia_id": "D1:1", "text": "hi"}
    conversation = {"session_1": [turn], "session_1_date_time": "9:00 am on 1 June, 2023"}
    return [{"sample_id": "c1", "conversation": conversation, "qa": []}]


def _longmemeval() -> Any:
    return [
        {
            "question_id": "q1",
            "question_type": "single-session-user",
            "question": "Where?",
            "answer": "here",
            "question_date": "2023/05/30 (Tue) 10:18",
            "haystack_session_ids": ["s1"],
            "haystack_dates": ["2023/05/20 (Sat) 09:00"],
            "haystack_sessions": [[{"role": "user", "content": "hi"}]],
            "answer_session_ids": ["s1"],
        }
    ]


def _memorybank() -> Any:
    return {"Amy": {"name": "Amy", "history": {"2023-04-27": [{"query": "hi", "response": "hello"}]}}}


def _jsonl() -> Any:
    return [{"text": "hi", "speaker": "A", "session": "s1"}]


# format -> (valid document, its first turn, the turn's text key, the turn's location, a wrong top-level value)
SPECS: dict[str, tuple[Callable[[], Any], Callable[[Any], dict[str, Any]], str, str, Any]] = {
    "locomo": (
        _locomo,
        lambda d: d[0]["conversation"]["session_1"][0],
        "text",
        "[0].conversation.session_1[0]",
        {"c1": {}},
    ),
    "longmemeval": (
        _longmemeval,
        lambda d: d[0]["haystack_sessions"][0][0],
        "content",
        "[0].haystack_sessions[0][0]",
        {"q1": {}},
    ),
    "memorybank": (
        _memorybank,
        lambda d: d["Amy"]["history"]["2023-04-27"][0],
        "query",
        "Amy.history.2023-04-27[0]",
        ["Amy"],
    ),
    "jsonl": (_jsonl, lambda d: d[0], "text", "line 1", ["hi"]),
}


def _encode(fmt: str, doc: Any) -> bytes:
    if fmt == "jsonl":
        return "\n".join(json.dumps(line, ensure_ascii=False) for line in doc).encode()
    return json.dumps(doc, ensure_ascii=False).encode()


def _with_turn(fmt: str, change: Callable[[dict[str, Any], str], None]) -> bytes:
    make, turn, key, _, _ = SPECS[fmt]
    doc = make()
    change(turn(doc), key)
    return _encode(fmt, doc)


def _case(fmt: str, case: str) -> tuple[bytes, str]:
    """The bytes of one malformed input and the message expected after ``<file>: <format>: ``."""
    make, _, key, where, wrong_top = SPECS[fmt]
    valid = _encode(fmt, make())
    top = "line 1" if fmt == "jsonl" else "top level"
    cases: dict[str, tuple[bytes, str]] = {
        "empty": (b"", "top level: empty file"),
        "blank": (b" \n\t\r\n", "top level: empty file"),
        "binary": (PNG, "top level: binary data, not text (NUL byte at offset 8)"),
        "utf16": (valid.decode().encode("utf-16"), "top level: UTF-16 text: save the file as UTF-8"),
        "invalid_utf8": (valid.replace(b'"hi"', b'"caf\xe9"'), "top level: not valid UTF-8 (byte offset "),
        "truncated": (valid[: len(valid) - 7], f"{top}: invalid JSON at "),
        "wrong_top_level": (_encode(fmt, wrong_top if fmt != "jsonl" else [wrong_top]), f"{top}: expected "),
        "missing_field": (_with_turn(fmt, lambda t, k: t.pop(k)), f'{where}: missing "{key}"'),
        "wrong_field_type": (
            _with_turn(fmt, lambda t, k: t.update({k: 5})),
            f'{where}: "{key}" must be a string, got an integer',
        ),
        "empty_text": (_with_turn(fmt, lambda t, k: t.update({k: " "})), f'{where}: "{key}" is empty'),
        "deeply_nested": (DEEP, f"{top}: invalid JSON: nested too deeply"),
        "deeply_nested_field": (valid.replace(b'"hi"', DEEP, 1), f"{top}: invalid JSON: nested too deeply"),
    }
    return cases[case]


CASES = [
    "empty",
    "blank",
    "binary",
    "utf16",
    "invalid_utf8",
    "truncated",
    "wrong_top_level",
    "missing_field",
    "wrong_field_type",
    "empty_text",
    "deeply_nested",
    "deeply_nested_field",
]
PARAMS = [
    pytest.param(fmt, case, id=f"{fmt}-{case}")
    for fmt in FORMATS
    for case in CASES
    if not (fmt == "memorybank" and case == "empty_text")  # MemoryBank skips and counts empty turns instead
]


@pytest.mark.parametrize(("fmt", "case"), PARAMS)
def test_load_bytes_rejects(fmt: str, case: str) -> None:
    data, expected = _case(fmt, case)
    with pytest.raises(SchemaError) as info:
        load_bytes(data, fmt, f"bad_{case}.data")  # type: ignore[arg-type]
    assert str(info.value).startswith(f"bad_{case}.data: {fmt}: {expected}")


@pytest.mark.parametrize(("fmt", "case"), PARAMS)
def test_load_rejects(tmp_path: Path, fmt: str, case: str) -> None:
    data, expected = _case(fmt, case)
    path = tmp_path / f"bad_{case}.data"
    path.write_bytes(data)
    with pytest.raises(SchemaError, match=re.escape(f"bad_{case}.data: {fmt}: {expected}")):
        load(path, fmt)  # type: ignore[arg-type]


@pytest.mark.parametrize("fmt", FORMATS)
def test_valid_documents_load(fmt: str) -> None:
    ds = load_bytes(_encode(fmt, SPECS[fmt][0]()), fmt, "ok.data")  # type: ignore[arg-type]
    assert isinstance(ds, Dataset) and len(ds) >= 1


@pytest.mark.parametrize("fmt", FORMATS)
def test_missing_file(tmp_path: Path, fmt: str) -> None:
    path = tmp_path / "nowhere.json"
    with pytest.raises(SchemaError, match=re.escape(f"{path}: {fmt}: cannot read file: No such file")):
        load(path, fmt)  # type: ignore[arg-type]


def test_directory_is_not_a_file(tmp_path: Path) -> None:
    with pytest.raises(SchemaError, match=re.escape(f"{tmp_path}: locomo: cannot read file")):
        load(tmp_path, "locomo")


@pytest.mark.parametrize("fmt", ["csv", "", "LOCOMO"])
def test_unknown_format(tmp_path: Path, fmt: str) -> None:
    with pytest.raises(ConfigError, match="unknown import format"):
        load(tmp_path / "missing.json", fmt)  # type: ignore[arg-type]
    with pytest.raises(ConfigError, match="locomo, longmemeval, memorybank, jsonl"):
        load_bytes(b"[]", fmt, "x.json")  # type: ignore[arg-type]


@pytest.mark.parametrize(("fmt", "doc"), [("locomo", []), ("longmemeval", []), ("memorybank", {})])
def test_no_memories(fmt: str, doc: Any) -> None:
    with pytest.raises(SchemaError, match=f"empty.json: {fmt}: top level: no memories found"):
        load_bytes(json.dumps(doc).encode(), fmt, "empty.json")  # type: ignore[arg-type]


def test_huge_integer_literal() -> None:
    with pytest.raises(SchemaError, match="big.json: locomo: top level: invalid JSON: "):
        load_bytes(b"[" + b"9" * 5000 + b"]", "locomo", "big.json")


def test_utf8_bom_is_accepted() -> None:
    ds = load_bytes(b"\xef\xbb\xbf" + _encode("jsonl", _jsonl()), "jsonl", "bom.jsonl")
    assert ds.items()[0].text == "hi"


def test_extra_fields_are_ignored() -> None:
    doc = _locomo()
    doc[0]["conversation"]["session_1"][0]["mood"] = {"nested": [1, 2]}
    doc[0]["unknown"] = None
    assert load_bytes(_encode("locomo", doc), "locomo", "x.json").items()[0].text == "hi"


# -- ids, lengths and times: checked for the whole file before anything is returned (memviz.limits) -------
def _two_samples(second_sample: str, second_dia: str) -> Any:
    doc = _locomo() + _locomo()
    doc[1]["sample_id"] = second_sample
    doc[1]["conversation"]["session_1"][0]["dia_id"] = second_dia
    doc[0]["conversation"]["session_1"][0]["dia_id"] = "x:D1:1"
    return doc


def test_jsonl_explicit_id_equal_to_another_lines_default_id_names_both_lines() -> None:
    lines = [{"text": f"fact {n}", "speaker": "A", "session": "s"} for n in range(1, 8)]
    lines[6]["id"] = "data:3"  # line 7's id is line 3's default id ("<file stem>:<line>")
    with pytest.raises(SchemaError) as info:
        load_bytes(_encode("jsonl", lines), "jsonl", "data.jsonl")
    assert str(info.value) == "data.jsonl: jsonl: line 7: id 'data:3' is also the id of line 3"
    lines[2]["id"] = "data:7"  # ... and the other way round: an early explicit id taken by a later default
    del lines[6]["id"]
    with pytest.raises(SchemaError, match="data.jsonl: jsonl: line 7: id 'data:7' is also the id of line 3"):
        load_bytes(_encode("jsonl", lines), "jsonl", "data.jsonl")


def test_locomo_sample_and_dia_ids_colliding_across_samples_name_both_turns() -> None:
    doc = _two_samples("c1:x", "D1:1")  # "c1" + "x:D1:1" and "c1:x" + "D1:1" are both "c1:x:D1:1"
    with pytest.raises(SchemaError) as info:
        load_bytes(_encode("locomo", doc), "locomo", "lc.json")
    assert str(info.value) == (
        "lc.json: locomo: [1].conversation.session_1[0]: id 'c1:x:D1:1' is also the id of [0].conversation.session_1[0]"
    )
    assert len(load_bytes(_encode("locomo", _two_samples("c2", "D1:1")), "locomo", "lc.json")) == 2


LONG = {"speaker": 129, "session": 257, "id": 257}
# format -> (document, what to make too long -> how, expected location)
LENGTH_CASES = [
    ("jsonl", "speaker", lambda d, v: d[0].update(speaker=v), "line 1"),
    ("jsonl", "session", lambda d, v: d[0].update(session=v), "line 1"),
    ("jsonl", "id", lambda d, v: d[0].update(id=v), "line 1"),
    ("locomo", "speaker", lambda d, v: d[0]["conversation"]["session_1"][0].update(speaker=v), "[0].conversation"),
    ("locomo", "id", lambda d, v: d[0]["conversation"]["session_1"][0].update(dia_id=v), "[0].conversation"),
    ("longmemeval", "speaker", lambda d, v: d[0]["haystack_sessions"][0][0].update(role=v), "[0].haystack_sessions"),
    ("memorybank", "speaker", lambda d, v: d["Amy"].update(name=v), "Amy.history.2023-04-27[0].query"),
]


@pytest.mark.parametrize(
    ("fmt", "what", "change", "where"), LENGTH_CASES, ids=lambda x: x if isinstance(x, str) else ""
)
def test_over_long_speaker_session_and_id_are_refused_with_their_location(fmt, what, change, where) -> None:
    doc = SPECS[fmt][0]()
    change(doc, "w" * LONG[what])
    with pytest.raises(SchemaError) as info:
        load_bytes(_encode(fmt, doc), fmt, "long.data")
    msg = str(info.value)
    assert msg.startswith(f"long.data: {fmt}: {where}") and len(msg) < 300, msg
    assert f"{what} is {LONG[what] if what != 'id' or fmt == 'jsonl' else LONG[what] + 3:,} characters long" in msg
    doc = SPECS[fmt][0]()
    change(doc, "w" * (LONG[what] - 1 - (3 if what == "id" and fmt == "locomo" else 0)))  # at the limit: kept
    assert len(load_bytes(_encode(fmt, doc), fmt, "ok.data")) >= 1


# format -> (document with a date out of range, expected location)
TIME_CASES = [
    ("jsonl", lambda d: d[0].update(time="9999-12-31T23:59:59-12:00"), "line 1: \"time\": '9999-12-31T23:59:59-12:00'"),
    ("jsonl", lambda d: d[0].update(time="1899-12-31T23:59:59Z"), "line 1: \"time\": '1899-12-31T23:59:59Z'"),
    (
        "locomo",
        lambda d: d[0]["conversation"].update(session_1_date_time="9:00 am on 1 June, 2300"),
        '[0].conversation: "session_1_date_time"',
    ),
    ("longmemeval", lambda d: d[0].update(haystack_dates=["2300/05/20 (Sat) 09:00"]), "[0].haystack_dates[0]"),
    ("memorybank", lambda d: d["Amy"].update(history={"2300-04-27": [{"query": "a", "response": "b"}]}), "Amy.history"),
]


@pytest.mark.parametrize(("fmt", "change", "where"), TIME_CASES)
def test_times_outside_the_supported_range_are_refused_stating_it(fmt, change, where) -> None:
    doc = SPECS[fmt][0]()
    change(doc)
    with pytest.raises(SchemaError) as info:
        load_bytes(_encode(fmt, doc), fmt, "when.data")
    msg = str(info.value)
    assert msg.startswith(f"when.data: {fmt}: {where}"), msg
    assert "is outside the supported range, 1900-01-01 00:00 UTC up to (not including) 2200-01-01 00:00 UTC" in msg


def test_last_turn_pushed_past_the_range_by_the_turn_spacing_is_refused() -> None:
    doc = _locomo()
    turns = [{"speaker": "A", "dia_id": f"D1:{j}", "text": "hi"} for j in range(1, 4)]
    doc[0]["conversation"].update(session_1=turns, session_1_date_time="11:59 pm on 31 December, 2199")
    with pytest.raises(
        SchemaError, match=r"\[0\]\.conversation\.session_1\[1\]: time 2200-01-01 00:00:00 UTC is outside"
    ):
        load_bytes(_encode("locomo", doc), "locomo", "late.json")
