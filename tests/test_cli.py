"""The CLI contract: ingest / recall --json / stats --json, with bad input giving exit 2 and no change."""

from __future__ import annotations

import json
from datetime import UTC, datetime

import pytest
from click.testing import CliRunner

from memviz.cli import main
from memviz.demo import DEMO_PATH
from memviz.filters import MemoryFilter

from support import shared_file


@pytest.fixture
def run():
    runner = CliRunner()

    def invoke(*args: str):
        return runner.invoke(main, [str(a) for a in args], catch_exceptions=False)

    return invoke


@pytest.fixture(scope="module")
def locomo_db(tmp_path_factory):
    """The whole LoCoMo dev file ingested once by the CLI."""
    db = tmp_path_factory.mktemp("locomo")
    res = CliRunner().invoke(
        main,
        ["ingest", str(shared_file("locomo", "locomo_dev.json")), "--format", "locomo", "--db", str(db), "--json"],
        catch_exceptions=False,
    )
    assert res.exit_code == 0, res.output
    return db, json.loads(res.stdout)


@pytest.mark.slow  # the CLI ingests all of LoCoMo dev with the real model
def test_locomo_ingest_one_memory_per_turn(locomo_db):
    db, summary = locomo_db
    raw = json.loads(shared_file("locomo", "locomo_dev.json").read_text())
    n_turns = sum(
        len(v)
        for conv in raw
        for k, v in conv["conversation"].items()
        if k.startswith("session_") and isinstance(v, list)
    )
    assert summary["written"] == n_turns == summary["store"]["memories"]
    from memviz.store import MemoryStore

    store = MemoryStore(db)
    d = store.memories_table(where=MemoryFilter(ids=["conv-26:D1:3"])).to_pylist()[0]
    # conv-26 session 1: "1:56 pm on 8 May, 2023" (+ 2 minutes: the third turn)
    from datetime import datetime

    assert d["event_time_s"] == datetime(2023, 5, 8, 13, 56, tzinfo=UTC).timestamp() + 120
    assert d["source_id"] == "D1:3" and d["speaker"] == "Caroline"


@pytest.mark.slow  # real questions on the real data: the evidence is found by the real model
@pytest.mark.parametrize(
    "question,evidence",
    [
        ("When did Caroline go to the LGBTQ support group?", "conv-26:D1:3"),
        ("What did Melanie paint recently?", None),
    ],
)
def test_recall_json_contract_finds_evidence(run, locomo_db, question, evidence):
    db, _ = locomo_db
    res = run("recall", question, "--db", db, "-k", "10", "--json", "--no-reinforce")
    assert res.exit_code == 0
    out = json.loads(res.stdout)
    assert set(out) == {"hits", "trace"} and len(out["hits"]) == 10
    for h in out["hits"]:
        assert {"id", "text", "source_id", "score", "components"} <= set(h)
        assert 0 <= h["score"] <= 1 and "relevance" in h["components"]
    assert [s["name"] for s in out["trace"]["stages"]][-1] == "final"
    if evidence:
        assert evidence in [h["id"] for h in out["hits"]]


def test_stats_json(run, tmp_path):
    db = tmp_path / "demo"
    assert run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db).exit_code == 0
    out = json.loads(run("stats", "--db", db, "--json").stdout)
    assert out["memories"] == sum(1 for line in DEMO_PATH.read_text().splitlines() if line.strip())
    assert set(out["links"]) <= {"semantic", "temporal", "keyword"} and out["links"]["temporal"] > 0
    assert out["events"] > out["memories"] and isinstance(out["version"], int)
    # re-ingesting skips what is stored
    again = json.loads(run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db, "--json").stdout)
    assert again["written"] == 0 and again["skipped"] == out["memories"]


@pytest.mark.parametrize(
    "content",
    [
        b"",
        b"\x00\x01\xff\xfe binary",
        b'{"speaker": "a", "text": "x"',
        b'{"speaker": "a", "session": "s", "time": null}\n',
    ],
)
def test_bad_file_exit_2_store_unchanged(run, tmp_path, content):
    db = tmp_path / "db"
    run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db)
    before = json.loads(run("stats", "--db", db, "--json").stdout)
    bad = tmp_path / "bad.jsonl"
    bad.write_bytes(content)
    res = CliRunner().invoke(main, ["ingest", str(bad), "--format", "jsonl", "--db", str(db)])
    assert res.exit_code == 2 and "bad.jsonl" in res.stderr
    assert json.loads(run("stats", "--db", db, "--json").stdout) == before


def test_bad_recall_input(tmp_path):
    runner = CliRunner()
    assert runner.invoke(main, ["recall", "  ", "--db", str(tmp_path)]).exit_code == 2
    res = runner.invoke(main, ["recall", "dog", "-k", "0", "--db", str(tmp_path)])
    assert res.exit_code == 2 and "k must be" in res.stderr
    res = runner.invoke(main, ["stats", "--db", str(tmp_path / "missing")])
    assert res.exit_code == 2 and "no memory store" in res.stderr


def test_app_listens_on_this_machine_only_unless_told(monkeypatch):
    import os

    from click.testing import CliRunner

    from memviz.cli import main

    calls = []
    monkeypatch.setattr(os, "execve", lambda path, cmd, env: calls.append(cmd))
    assert CliRunner().invoke(main, ["app", "--port", "8600"]).exit_code == 0
    assert CliRunner().invoke(main, ["app", "--host", "0.0.0.0"]).exit_code == 0
    addresses = [cmd[cmd.index("--server.address") + 1] for cmd in calls]
    assert addresses == ["127.0.0.1", "0.0.0.0"] and "8600" in calls[0]
    assert calls[0][calls[0].index("--server.fileWatcherType") + 1] == "none"


def test_sigterm_to_memviz_app_leaves_no_streamlit_running(tmp_path):
    """``memviz app`` becomes the Streamlit server (exec): SIGTERM to the pid it was started as stops the server
    and frees the port (before, the Streamlit child kept running)."""
    import signal
    import socket
    import subprocess
    import sys
    import time
    import urllib.request

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    proc = subprocess.Popen(
        [sys.executable, "-m", "memviz.cli", "app", "--port", str(port), "--db", str(tmp_path / "db")],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        deadline = time.monotonic() + 180
        while True:  # waits on the server's state: its health endpoint answers
            assert proc.poll() is None, "the app exited before serving"
            try:
                urllib.request.urlopen(f"http://127.0.0.1:{port}/_stcore/health", timeout=5)
                break
            except OSError:
                assert time.monotonic() < deadline, "the app did not start"
                time.sleep(0.2)
        proc.send_signal(signal.SIGTERM)
        assert proc.wait(timeout=120) is not None
    finally:
        if proc.poll() is None:
            proc.kill()
    with socket.socket() as s:  # nothing listens on the port any more
        assert s.connect_ex(("127.0.0.1", port)) != 0


def _state(run, db) -> tuple[int, int]:
    out = json.loads(run("stats", "--db", db, "--json").stdout)
    return out["version"], out["events"]


def test_recall_is_a_pure_read_unless_reinforce_is_asked(run, tmp_path):
    """Looking writes nothing: by default (and with --no-reinforce, kept for scripts, and --as-of) the store's
    version and event count are unchanged; --reinforce records the recall and strengthens the hits."""
    db = tmp_path / "demo"
    assert run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db).exit_code == 0
    before = _state(run, db)
    for flags in ([], ["--no-reinforce"], ["--as-of", "2026-02-01"]):
        res = run("recall", "Where does Maya live?", "--db", db, "-k", "3", "--json", *flags)
        assert res.exit_code == 0, res.output
        assert _state(run, db) == before, flags
    res = run("recall", "Where does Maya live?", "--db", db, "-k", "3", "--json", "--reinforce")
    assert res.exit_code == 0 and len(json.loads(res.stdout)["hits"]) == 3
    version, events = _state(run, db)
    assert version > before[0] and events == before[1] + 1 + 3  # one recall event, three reinforce events


@pytest.mark.parametrize(
    "as_of,t",
    [
        ("2026-02-01", datetime(2026, 2, 1, tzinfo=UTC)),  # naive: UTC
        ("1 Feb 2026 13:30", datetime(2026, 2, 1, 13, 30, tzinfo=UTC)),
        ("2026-02-01T02:00:00+02:00", datetime(2026, 2, 1, tzinfo=UTC)),
    ],
)
def test_recall_as_of_a_date_sees_the_store_as_it_was_then(run, tmp_path, as_of, t):
    db = tmp_path / "demo"
    assert run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db).exit_code == 0
    res = run("recall", "Maya", "--db", db, "-k", "20", "--json", "--as-of", as_of)
    assert res.exit_code == 0, res.output
    out = json.loads(res.stdout)
    assert out["trace"]["time_s"] == t.timestamp() and out["trace"]["config"]["as_of_s"] == t.timestamp()
    from memviz.engine import open_engine

    mems = open_engine(str(db), create=False).read.memories([h["id"] for h in out["hits"]])
    assert mems and all((m.event_time_s or m.created_time_s) <= t.timestamp() for m in mems)


@pytest.mark.parametrize(
    "flags,says",
    [
        (["--as-of", "not a date"], "--as-of: not a date/time"),
        (["--as-of", "May 2023"], "--as-of: incomplete date"),
        (["--as-of", "2300-01-01"], "--as-of: time 2300-01-01"),
        (["--as-of", "2026-02-01", "--reinforce"], "cannot reinforce"),
    ],
)
def test_recall_refuses_a_bad_as_of_date_and_writes_nothing(run, tmp_path, flags, says):
    db = tmp_path / "demo"
    assert run("ingest", DEMO_PATH, "--format", "jsonl", "--db", db).exit_code == 0
    before = _state(run, db)
    res = CliRunner().invoke(main, ["recall", "Maya", "--db", str(db), *flags])
    assert res.exit_code == 2 and says in res.stderr, res.stderr
    assert _state(run, db) == before


def test_ingest_makes_a_store_with_the_settings_asked_shows_them_and_refuses_others(run, tmp_path):
    db = tmp_path / "ctx"
    args = ("ingest", DEMO_PATH, "--format", "jsonl", "--db", db)
    out = json.loads(run(*args, "--context-turns", "2", "--context-date", "--no-fts-stem", "--json").stdout)
    assert out["settings"]["context"] == {"turns": 2, "date": True, "fulltext": True}  # full-text: the default
    assert out["settings"]["fulltext"]["stem"] is False and out["settings"]["embedder"] == "all-MiniLM-L6-v2"
    text = run(*args).stdout  # no settings given: the store's own are used, and shown
    assert "context 2 previous turns + date (embedding and full-text); full-text English: stop words" in text
    before = json.loads(run("stats", "--db", db, "--json").stdout)
    res = CliRunner().invoke(main, [str(a) for a in (*args, "--context-turns", "1")])
    assert res.exit_code == 2 and "was made with context settings 2 previous turns + date" in res.stderr
    res = CliRunner().invoke(main, [str(a) for a in (*args, "--context-fulltext", "--context-turns", "0")])
    assert res.exit_code == 2 and "only when there is one" in res.stderr
    assert json.loads(run("stats", "--db", db, "--json").stdout) == before
    trace = json.loads(run("recall", "Lisbon", "--db", db, "--json").stdout)["trace"]
    fts = next(s for s in trace["stages"] if s["name"] == "fulltext")
    assert fts["info"]["tokenizer"]["stem"] is False and fts["info"]["columns"] == ["text", "context"]
