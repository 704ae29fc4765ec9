"""Constants and helpers shared by the tests (importable as ``support`` from any test module)."""

from __future__ import annotations

import base64
import json
import subprocess
import sys
from datetime import UTC, datetime
from pathlib import Path

import numpy as np
import pytest

from memviz.paths import REPO as REPO  # re-exported for the tests
from memviz.paths import SHARED_DATA

# 2024-01-01 00:00 UTC: a fixed "now" for deterministic decay.
T0 = datetime(2024, 1, 1, tzinfo=UTC).timestamp()
DAY = 86_400.0


def shared_file(*parts: str) -> Path:
    """A file of ../shared/data, or skip the test when the shared data is not there."""
    p = SHARED_DATA.joinpath(*parts)
    if not p.exists():
        pytest.skip(f"shared data file missing: {p}")
    return p


def chart(at, key: str) -> dict:
    """The plotly JSON spec of the AppTest chart whose element id ends with ``key``."""
    for c in at.get("plotly_chart"):
        if c.proto.id.endswith(key):
            return json.loads(c.proto.spec)
    raise AssertionError(f"no chart {key}")


def values(v) -> list:
    """A plotly JSON array: a list, or a typed array {"dtype", "bdata"} (base64)."""
    if isinstance(v, dict) and "bdata" in v:
        return np.frombuffer(base64.b64decode(v["bdata"]), dtype=np.dtype(v["dtype"])).tolist()
    return list(v)


_TINY_TURNS = [
    ("Ann", "D1:1", "Hi Bob! I finally finished painting the kitchen yellow."),
    ("Ann", "D1:2", "Big news: I moved to Lisbon last week for my new job."),
    ("Bob", "D1:3", "Congrats! My dog Rex would love the beaches there."),
    ("Bob", "D1:4", "I started learning the cello in March."),
    ("Ann", "D1:5", "My brother Tom is visiting from Toronto."),
]
# A LoCoMo file of one five-turn conversation and three questions (one gold id malformed).
TINY_LOCOMO = [
    {
        "sample_id": "conv-t",
        "conversation": {
            "speaker_a": "Ann",
            "speaker_b": "Bob",
            "session_1_date_time": "1:56 pm on 8 May, 2023",
            "session_1": [{"speaker": s, "dia_id": d, "text": t} for s, d, t in _TINY_TURNS],
        },
        "qa": [
            {"question": "Where did Ann move to?", "answer": "Lisbon", "evidence": ["D1:2"], "category": 4},
            {"question": "What instrument is Bob learning?", "answer": "cello", "evidence": ["D1:4"], "category": 4},
            {
                "question": "Who is visiting Ann and from where?",
                "answer": "Tom, Toronto",
                "evidence": ["D1:5", "D"],
                "category": 1,
            },
        ],
    }
]


def fingerprint(folder: Path) -> dict[str, tuple[str, int]]:
    """Every file under ``folder`` (relative path) with the SHA-256 of its bytes and its mtime (ns): equal
    before and after means nothing there was written, created or removed."""
    import hashlib

    return {
        str(p.relative_to(folder)): (hashlib.sha256(p.read_bytes()).hexdigest(), p.stat().st_mtime_ns)
        for p in sorted(folder.rglob("*"))
        if p.is_file()
    }


def old_store(make_engine, tmp_path: Path) -> Path:
    """A store in ``tmp_path/old`` of two memories whose memories table lacks ``metadata`` and ``scope``, as an
    older memviz wrote it."""
    import lancedb

    from memviz.models import MemoryInput

    engine = make_engine("old")
    engine.ingest([MemoryInput(text="Maya moved to Leeds.", id="a"), MemoryInput(text="Sam plays chess.", id="b")])
    lancedb.connect(str(tmp_path / "old")).open_table("memories").drop_columns(["metadata", "scope"])
    return tmp_path / "old"


def run_together(script: str, target: str, env: dict[str, str] | None = None, timeout_s: float = 600) -> None:
    """Run the Python ``script`` (argv[1] = ``target``) in two processes released at the same moment: each prints
    "ready", then waits for "go" on stdin. Asserts both exit 0 (their stderr shown otherwise)."""
    procs = [
        subprocess.Popen(
            [sys.executable, "-c", script, target],
            env=env,
            stdin=subprocess.PIPE,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for _ in range(2)
    ]
    for p in procs:
        assert p.stdout is not None and p.stdout.readline().strip() == "ready", p.communicate()[1][-3000:]
    for p in procs:
        assert p.stdin is not None
        p.stdin.write("go\n")
        p.stdin.flush()
    for p in procs:
        _, err = p.communicate(timeout=timeout_s)
        assert p.returncode == 0, err[-3000:]


def unit_vectors(rng: np.random.Generator, n: int, d: int = 384) -> np.ndarray:
    """``n`` random unit vectors (float32, shape (n, d))."""
    v = rng.normal(size=(n, d)).astype(np.float32)
    return v / np.linalg.norm(v, axis=1, keepdims=True)


def commit_rows(store, ids, vecs, batch="b", texts=None, sessions=None) -> None:
    """Commit memories ``ids`` with vectors ``vecs`` (shape (n, 384)) straight to ``store`` as one batch (one
    import event), bypassing the write pipeline; other columns null unless given (texts default "text <id>")."""
    import pyarrow as pa

    from memviz.events import ImportEvent
    from memviz.store import LINKS_SCHEMA, MEMORIES_SCHEMA

    k = len(ids)
    cols = {
        "id": ids,
        "text": texts or [f"text {i}" for i in ids],
        "vector": pa.FixedSizeListArray.from_arrays(pa.array(vecs.reshape(-1), pa.float32()), 384),
        "batch_id": [batch] * k,
    }
    if sessions is not None:
        cols["session_id"] = sessions
    tbl = pa.table({f.name: cols.get(f.name, pa.nulls(k, f.type)) for f in MEMORIES_SCHEMA}, schema=MEMORIES_SCHEMA)
    store.commit_batch(batch, tbl, LINKS_SCHEMA.empty_table(), [ImportEvent(time_s=T0, batch_id=batch)])
