"""Hostile and broken files, for every importer, through load (a path), load_bytes (the web app's upload),
``memviz ingest`` and MemoryEngine.ingest: a clear SchemaError naming the file, the format and the problem,
and a store left exactly as it was (same version, same counts of memories, links and events).

tests/importers/test_bad_input.py already covers, per format, empty / blank / binary / UTF-16 / invalid UTF-8 /
truncated / wrong top level / missing or mistyped turn text / deep nesting through load and load_bytes; the
cases here are the ones it does not try, plus the same inputs end to end into a store.
"""

from __future__ import annotations

import json
from collections.abc import Callable
from pathlib import Path
from typing import Any

import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.errors import ConfigError, DuplicateMemoryError, EmptyTextError, MemvizError, SchemaError
from memviz.importers import FORMATS, load, load_bytes
from memviz.models import MemoryInput
from memviz.store import MemoryStore
from memviz.text import MAX_MEMORY_CHARS, TextTooLongError

from qhelpers import check_consistency, facts, run_cli, snapshot

BIG = 50_000_000  # a 50 MB text field


def _locomo(text: str = "hi there") -> Any:
    turns = [{"speaker": "A", "dia_id": "D1:1", "text": text}, {"speaker": "B", "dia_id": "D1:2", "text": "ok"}]
    return [
        {
            "sample_id": "c1",
            "conversation": {"session_1": turns, "session_1_date_time": "9:00 am on 1 June, 2023"},
            "qa": [{"question": "What?", "answer": "hi", "category": 1, "evidence": ["D1:1"]}],
        }
    ]


def _longmemeval(text: str = "hi there") -> Any:
    return [
        {
            "question_id": "q1",
            "question_type": "single-session-user",
            "question": "Where?",
            "answer": "here",
            "question_date": "2023/05/30 (Tue) 10:18",
            "haystack_session_ids": ["s1"],
            "haystack_dates": ["2023/05/20 (Sat) 09:00"],
            "haystack_sessions": [[{"role": "user", "content": text}, {"role": "assistant", "content": "ok"}]],
            "answer_session_ids": ["s1"],
        }
    ]


def _memorybank(text: str = "hi there") -> Any:
    return {"Amy": {"name": "Amy", "history": {"2023-04-27": [{"query": text, "response": "hello"}]}}}


def _jsonl(text: str = "hi there") -> Any:
    return [{"text": text, "speaker": "A", "session": "s1"}, {"text": "ok", "speaker": "B", "session": "s1"}]


DOCS: dict[str, Callable[..., Any]] = {
    "locomo": _locomo,
    "longmemeval": _longmemeval,
    "memorybank": _memorybank,
    "jsonl": _jsonl,
}
TEXT_KEY = {"locomo": "text", "longmemeval": "content", "memorybank": "query", "jsonl": "text"}


def encode(fmt: str, doc: Any) -> bytes:
    if fmt == "jsonl":
        return "\n".join(json.dumps(r, ensure_ascii=False) for r in doc).encode()
    return json.dumps(doc, ensure_ascii=False).encode()


def _missing_top(fmt: str) -> bytes:
    doc = DOCS[fmt]()
    {
        "locomo": lambda: doc[0].pop("conversation"),
        "longmemeval": lambda: doc[0].pop("haystack_sessions"),
        "memorybank": lambda: doc["Amy"].pop("history"),
        "jsonl": lambda: doc[1].pop("speaker"),
    }[fmt]()
    return encode(fmt, doc)


def _nested_wrong_type(fmt: str) -> bytes:
    doc = DOCS[fmt]()
    if fmt == "locomo":
        doc[0]["conversation"]["session_1"] = "hi there"
    elif fmt == "longmemeval":
        doc[0]["haystack_sessions"][0] = {"role": "user"}
    elif fmt == "memorybank":
        doc["Amy"]["history"]["2023-04-27"] = {"query": "hi"}
    else:
        doc[1] = [doc[1]]
    return encode(fmt, doc)


def _extra_fields(fmt: str) -> bytes:
    doc = DOCS[fmt]()
    items = doc if isinstance(doc, list) else list(doc.values())
    for item in items:
        item["__proto__"] = {"x": [1, {"y": None}]}
        item["zzz"] = None
    return encode(fmt, doc)


def _case(fmt: str, case: str) -> tuple[bytes, str | None]:
    """Bytes of one hostile input and a fragment its error message must hold (None: accepted)."""
    valid = encode(fmt, DOCS[fmt]())
    key = TEXT_KEY[fmt]
    top = "line 1" if fmt == "jsonl" else "top level"
    if case.startswith("as_"):  # a valid file of another format
        other = case[3:]
        return encode(other, DOCS[other]()), ": "  # the first mismatch: a missing key or a wrong type
    return {
        "json_null": (b"null", f"{top}: expected "),
        "bom_only": (
            b"\xef\xbb\xbf",
            "top level: no memories found" if fmt == "jsonl" else "top level: invalid JSON at ",
        ),
        "truncated_in_string": (valid[: valid.index(b"hi there") + 3], ": invalid JSON at "),
        "invalid_utf8_mid": (valid.replace(b"hi there", b"hi \xff\xfe there", 1), "not valid UTF-8 (byte offset"),
        "text_nan": (valid.replace(b'"hi there"', b"NaN", 1), f'"{key}" must be a string, got a number'),
        "text_object": (valid.replace(b'"hi there"', b'{"a": [1]}', 1), f'"{key}" must be a string, got an object'),
        "lone_surrogate": (valid.replace(b"hi there", b"hi \\ud800 there", 1), f'"{key}" holds an invalid \\u escape'),
        "missing_top_field": (_missing_top(fmt), "missing "),
        "nested_wrong_type": (_nested_wrong_type(fmt), ": expected "),
        "text_50mb": (encode(fmt, DOCS[fmt]("x" * BIG)), f"text is {BIG:,} characters long; the limit is 100,000"),
        "extra_fields": (_extra_fields(fmt), None),
        "text_at_limit": (encode(fmt, DOCS[fmt]("y" * MAX_MEMORY_CHARS)), None),
    }[case]


CASES = [
    "json_null",
    "bom_only",
    "truncated_in_string",
    "invalid_utf8_mid",
    "text_nan",
    "text_object",
    "lone_surrogate",
    "missing_top_field",
    "nested_wrong_type",
    "text_50mb",
    "extra_fields",
    "text_at_limit",
]
PARAMS = [
    pytest.param(fmt, case, id=f"{fmt}-{case}")
    for fmt in FORMATS
    for case in CASES + [f"as_{o}" for o in FORMATS if o != fmt]
]
# Inputs that must be refused (the two accepted ones are checked to import whole instead).
REFUSED = [p for p in PARAMS if p.values[1] not in ("extra_fields", "text_at_limit")]


@pytest.mark.parametrize(("fmt", "case"), PARAMS)
def test_load_bytes_and_load(tmp_path: Path, fmt: str, case: str) -> None:
    data, expected = _case(fmt, case)
    path = tmp_path / f"{case}.data"
    path.write_bytes(data)
    for read in (lambda: load_bytes(data, fmt, path.name), lambda: load(path, fmt)):
        if expected is None:
            ds = read()
            first = ds.items()[0]
            assert first.text in ("hi there", "y" * MAX_MEMORY_CHARS) and len(ds) >= 2
        else:
            with pytest.raises(SchemaError) as info:
                read()
            msg = str(info.value)
            assert msg.startswith(f"{path.name}: {fmt}: ") and expected in msg, msg
            assert "\n" not in msg and len(msg) < 500, "one short line, not a dump of the input"


@pytest.fixture
def cli():
    runner = CliRunner()
    return lambda *a: runner.invoke(main, [str(x) for x in a])


@pytest.mark.parametrize(
    ("fmt", "case"),
    [
        p
        for p in REFUSED
        if p.values[1]
        in (
            "truncated_in_string",
            "invalid_utf8_mid",
            "lone_surrogate",
            "missing_top_field",
            "nested_wrong_type",
            "text_50mb",
            "json_null",
        )
        or p.values[1].startswith("as_")
    ],
)
def test_cli_ingest_refuses_and_store_unchanged(seeded_db: Path, tmp_path: Path, cli, fmt: str, case: str) -> None:
    data, expected = _case(fmt, case)
    bad = tmp_path / f"bad_{case}.json"
    bad.write_bytes(data)
    before = snapshot(MemoryStore(seeded_db))
    res = cli("ingest", bad, "--format", fmt, "--db", seeded_db, "--batch-size", "1")
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith(f"Error: bad_{case}.json: {fmt}: ") and expected in err and "\n" not in err
    store = MemoryStore(seeded_db)
    assert snapshot(store) == before
    check_consistency(store)


def test_cli_subprocess_50mb_line_is_refused_quickly(seeded_db: Path, tmp_path: Path) -> None:
    """The real entry point on a 50 MB JSONL line: exit 2 with the limit named, nothing written (no hang:
    the subprocess has a timeout)."""
    bad = tmp_path / "huge.jsonl"
    bad.write_bytes(encode("jsonl", _jsonl("word " * (BIG // 5))))
    before = snapshot(MemoryStore(seeded_db))
    res = run_cli("ingest", bad, "--format", "jsonl", "--db", seeded_db, timeout=120)
    assert res.returncode == 2
    assert res.stderr.strip().splitlines()[-1].startswith("Error: huge.jsonl: jsonl: memory huge:1: text is 50,000,000")
    assert snapshot(MemoryStore(seeded_db)) == before


def _bad_items(case: str) -> list[MemoryInput]:
    """Six good items and one hostile one in the second batch (batch size 3)."""
    items = facts("new")
    bad = {
        "empty_text": MemoryInput(text=" \u200b\n\x00 ", id="bad"),
        "text_too_long": MemoryInput(text="z" * (MAX_MEMORY_CHARS + 1), id="bad"),
        "text_50mb": MemoryInput(text="z" * BIG, id="bad"),
        "not_a_string": MemoryInput(text=b"bytes", id="bad"),  # type: ignore[arg-type]
        "unknown_kind": MemoryInput(text="fine", kind="dream", id="bad"),  # type: ignore[arg-type]
        "surrogate_id": MemoryInput(text="fine", id="bad\udfff"),
        "surrogate_speaker": MemoryInput(text="fine", speaker="\ud800", id="bad"),
        "long_speaker": MemoryInput(text="fine", speaker="s" * 3600, id="bad"),
        "long_session": MemoryInput(text="fine", session_id="s" * 257, id="bad"),
        "long_id": MemoryInput(text="fine", id="i" * 257),
        "year_10000": MemoryInput(text="fine", event_time_s=253402343999.0, id="bad"),
        "nan_time": MemoryInput(text="fine", event_time_s=float("nan"), id="bad"),
        "repeated_id": MemoryInput(text="fine", id="new:1"),
    }[case]
    return items[:4] + [bad] + items[4:]


ENGINE_CASES = {
    "empty_text": EmptyTextError,
    "text_too_long": TextTooLongError,
    "text_50mb": TextTooLongError,
    "not_a_string": EmptyTextError,
    "unknown_kind": ConfigError,
    "surrogate_id": ConfigError,
    "surrogate_speaker": ConfigError,
    "long_speaker": ConfigError,
    "long_session": ConfigError,
    "long_id": ConfigError,
    "year_10000": ConfigError,
    "nan_time": ConfigError,
    "repeated_id": DuplicateMemoryError,
}


@pytest.mark.parametrize("case", ENGINE_CASES)
def test_engine_ingest_refuses_bad_item_in_a_late_batch(seeded, case: str) -> None:
    """Every item is checked before the first batch: a bad fifth item (second batch) writes nothing at all."""
    before = snapshot(seeded.store)
    with pytest.raises(ENGINE_CASES[case]) as info:
        seeded.ingest(_bad_items(case), batch_size=3)
    assert isinstance(info.value, MemvizError) and "item 4" in str(info.value)
    assert snapshot(seeded.store) == before
    check_consistency(seeded.store)


def test_text_at_the_limit_is_stored_whole(seeded) -> None:
    text = "Mango " * (MAX_MEMORY_CHARS // 6) + "end"
    assert len(text) <= MAX_MEMORY_CHARS
    seeded.write([MemoryInput(text=text, id="long")])
    assert seeded.get("long").text == text
    assert seeded.store.list_events(memory_id="long", ops=["write"])[0].payload["text"] == text


def _lines(n: int) -> list[dict[str, Any]]:
    return [
        {"text": f"fact number {k} about topic {k % 37}", "speaker": "A", "session": f"s{k // 50}"}
        for k in range(1, n + 1)
    ]


@pytest.mark.parametrize(
    ("case", "change", "expected"),
    [
        # line 2,100's explicit id is line 3's default id: 2,099 written and the last skipped as "already stored"
        ("collision", lambda ls: ls[2099].update(id="data:3"), "line 2100: id 'data:3' is also the id of line 3"),
        # a repeat inside the last batch: refused after the first window's 2,048 memories were committed
        (
            "same_batch",
            lambda ls: ls[2099].update(id="data:2060"),
            "line 2100: id 'data:2060' is also the id of line 2060",
        ),
        ("year_10000", lambda ls: ls[2099].update(time="9999-12-31T23:59:59-12:00"), "outside the supported range"),
        ("long_speaker", lambda ls: ls[2099].update(speaker="A" * 3600), "speaker is 3,600 characters long"),
    ],
)
def test_cli_ingest_of_a_file_with_a_late_bad_line_writes_nothing(
    seeded_db: Path, tmp_path: Path, cli, case, change, expected
):
    lines = _lines(2100)
    change(lines)
    bad = tmp_path / "data.jsonl"
    bad.write_bytes(encode("jsonl", lines))
    before = snapshot(MemoryStore(seeded_db))
    res = cli("ingest", bad, "--format", "jsonl", "--db", seeded_db)
    assert res.exit_code == 2, res.output
    err = res.stderr.strip()
    assert err.startswith("Error: data.jsonl: jsonl: line 2100: ") and expected in err and "\n" not in err, err
    assert snapshot(MemoryStore(seeded_db)) == before


def test_reingest_skips_stored_ids_but_not_a_collision_within_the_file(seeded, tmp_path: Path) -> None:
    """Ids already stored keep their documented behaviour (skipped: an ingest can be resumed); only an id
    repeated inside the file is refused."""
    path = tmp_path / "data.jsonl"
    path.write_bytes(encode("jsonl", _lines(30)))
    first = seeded.ingest(load(path, "jsonl").items(), batch_size=8)
    again = seeded.ingest(load(path, "jsonl").items(), batch_size=8)
    assert sum(len(r.items) for r in first) == 30 and sum(len(r.skipped_ids) for r in again) == 30
    assert sum(len(r.items) for r in again) == 0
    check_consistency(seeded.store)
