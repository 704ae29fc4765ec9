"""A memory store on object storage (``s3://bucket/path``), against a local S3-compatible server (moto) on
loopback: ingest, recall, version listing, and storage options from ``$MEMVIZ_STORAGE_OPTIONS``."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest

from support import T0, run_together

pytest.importorskip("boto3", reason="boto3/moto not installed (pip install -c constraints.txt -e '.[test]')")


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


@pytest.fixture(scope="module")
def s3():
    """A moto S3 server on 127.0.0.1 with a bucket ``memviz``; yields the LanceDB storage options."""
    import boto3

    exe = Path(sys.executable).with_name("moto_server")
    if not exe.exists():
        pytest.skip("moto_server not installed (pip install 'moto[server]')")
    port = _free_port()
    proc = subprocess.Popen(
        [str(exe), "-H", "127.0.0.1", "-p", str(port)], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    endpoint = f"http://127.0.0.1:{port}"
    try:
        for _ in range(150):
            try:
                urllib.request.urlopen(endpoint + "/moto-api/", timeout=1)
                break
            except OSError:
                if proc.poll() is not None:
                    pytest.skip("moto_server exited at start")
                time.sleep(0.2)
        boto3.client(
            "s3", endpoint_url=endpoint, aws_access_key_id="x", aws_secret_access_key="x", region_name="us-east-1"
        ).create_bucket(Bucket="memviz")
        yield {
            "aws_endpoint": endpoint,
            "aws_access_key_id": "x",
            "aws_secret_access_key": "x",
            "aws_region": "us-east-1",
            "allow_http": "true",
        }
    finally:
        proc.terminate()
        proc.wait(timeout=10)


def _items():
    from memviz.models import MemoryInput

    texts = [
        "Caroline moved to Lisbon in May to start a new job at a bakery.",
        "Melanie adopted a grey cat called Pixel from the shelter.",
        "The team agreed to ship the release on Friday after the security review.",
        "Caroline's favourite hiking trail is the coastal path near Sintra.",
    ]
    return [
        MemoryInput(text=t, speaker="user", session_id="s1", id=f"m{n}", event_time_s=T0 + n)
        for n, t in enumerate(texts)
    ]


def test_ingest_recall_and_versions_on_s3(s3, embedder):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    uri = "s3://memviz/team/store1"
    engine = MemoryEngine(MemoryStore(uri, storage_options=s3), embedder, SimulatedClock(T0))
    engine.ingest(_items()[:2], batch_size=2)
    engine.ingest(_items(), batch_size=2)  # resumed: the first two are skipped, not duplicated
    assert engine.store.count() == 4
    res = engine.recall("Which pet did Melanie adopt?", k=1, reinforce=False)
    assert res.hits[0].memory.id == "m1"
    versions = engine.store.versions()
    assert len(versions) >= 3 and [v["version"] for v in versions] == sorted(v["version"] for v in versions)
    assert engine.store.stats()["links"]  # links were written on object storage too
    # Nothing was written to a local folder named like the URI.
    assert not Path("s3:").exists()


def test_storage_options_from_env_for_cli(s3, embedder, monkeypatch):
    from click.testing import CliRunner

    from memviz.cli import main
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    uri = "s3://memviz/team/store2"
    MemoryEngine(MemoryStore(uri, storage_options=s3), embedder, SimulatedClock(T0)).ingest(_items())
    monkeypatch.setenv("MEMVIZ_STORAGE_OPTIONS", json.dumps(s3))
    assert MemoryStore(uri).count() == 4  # options taken from the environment
    r = CliRunner().invoke(main, ["stats", "--db", uri, "--json"], env={"MEMVIZ_STORAGE_OPTIONS": json.dumps(s3)})
    assert r.exit_code == 0, r.output
    assert json.loads(r.output)["memories"] == 4


def test_bad_storage_options_env_is_a_clear_error(monkeypatch, tmp_path):
    from memviz.errors import StoreError
    from memviz.store import MemoryStore

    monkeypatch.setenv("MEMVIZ_STORAGE_OPTIONS", "{not json")
    with pytest.raises(StoreError, match="MEMVIZ_STORAGE_OPTIONS"):
        MemoryStore(tmp_path / "db")
    monkeypatch.setenv("MEMVIZ_STORAGE_OPTIONS", '["a list"]')
    with pytest.raises(StoreError, match="JSON object"):
        MemoryStore(tmp_path / "db")


def test_unreachable_object_store_raises_store_error(monkeypatch):
    from memviz.errors import StoreError
    from memviz.store import MemoryStore

    monkeypatch.delenv("MEMVIZ_STORAGE_OPTIONS", raising=False)
    opts = {
        "aws_endpoint": f"http://127.0.0.1:{_free_port()}",
        "aws_access_key_id": "x",
        "aws_secret_access_key": "x",
        "aws_region": "us-east-1",
        "allow_http": "true",
        "client_max_retries": "0",
        "client_retry_timeout": "1",
    }
    with pytest.raises(StoreError, match="cannot open the memory store"):
        MemoryStore("s3://memviz/nowhere", storage_options=opts)
    assert os.environ.get("MEMVIZ_STORAGE_OPTIONS") is None


# -- several writers: s3+ddb:// (LanceDB's DynamoDB commit store) --------------------------------------------
DDB_TABLE = "memviz-commits"
TESTS = Path(__file__).resolve().parent

# A reader in its own process, on "another host" (it judges the writers' in-flight markers by their lease only):
# until the file argv[3] exists, it opens the store (its recovery runs beside the writers), reads every id and
# recalls, and prints what it saw as one JSON line per look.
READER = f"""
import json, sys, time
from pathlib import Path
sys.path.insert(0, {str(TESTS)!r})
import memviz.store.inflight as inflight
inflight.HOST = "reader-host"
from fakes import FakeEmbedder
from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.store import MemoryStore

uri, stop = sys.argv[1], Path(sys.argv[3])
while True:
    last = stop.exists()
    store = MemoryStore(uri, create=False)
    ids = store.memories_table(columns=["id"]).column("id").to_pylist()
    engine = MemoryEngine(store, FakeEmbedder(), SimulatedClock({T0!r}))
    hits = engine.recall("a note about Mango", k=3, reinforce=False)
    print(json.dumps({{"ids": len(ids), "unique": len(set(ids)), "hits": len(hits.hits)}}), flush=True)
    if last:
        break
"""


@pytest.fixture(scope="module")
def s3_ddb(s3):
    """The moto server's DynamoDB with LanceDB's commit table (hash key ``base_uri``, range key ``version``);
    yields the storage options of an ``s3+ddb://`` store."""
    import boto3

    boto3.client(
        "dynamodb",
        endpoint_url=s3["aws_endpoint"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    ).create_table(
        TableName=DDB_TABLE,
        KeySchema=[{"AttributeName": "base_uri", "KeyType": "HASH"}, {"AttributeName": "version", "KeyType": "RANGE"}],
        AttributeDefinitions=[
            {"AttributeName": "base_uri", "AttributeType": "S"},
            {"AttributeName": "version", "AttributeType": "N"},
        ],
        BillingMode="PAY_PER_REQUEST",
    )
    return s3 | {"dynamodb_endpoint": s3["aws_endpoint"]}


def _notes(prefix: str, n: int) -> list[dict]:
    return [
        {
            "id": f"{prefix}{k}",
            "speaker": "user",
            "session": prefix,
            "text": f"Note {k} of {prefix}: Mango walked {k} km.",
        }
        for k in range(n)
    ]


@pytest.mark.slow  # about a minute: every batch is a dozen requests to moto, the writers take turns at the lock
def test_two_writers_and_a_reader_on_s3_ddb_lose_and_duplicate_nothing(s3_ddb, tmp_path):
    """Writer 1 ingests A; writer 2 at the same time ingests the second half of A (overlapping writer 1: a
    resumed ingest) and then B; a reader on another host opens, reads and recalls meanwhile. Every memory of A
    and B is stored once, ``check`` finds nothing, no marker and no lock is left."""
    import boto3

    from memviz.store import MemoryStore
    from memviz.store.ddb_lock import DynamoLock

    uri = f"s3+ddb://memviz/team/shared?ddbTableName={DDB_TABLE}"
    MemoryStore(uri, storage_options=s3_ddb)  # made first: the writers open an existing store
    a, b = _notes("a", 24), _notes("b", 24)
    files = [tmp_path / "a.jsonl", tmp_path / "a_half_b.jsonl"]
    for f, rows in zip(files, [a, a[12:] + b], strict=True):
        f.write_text("".join(json.dumps(r) + "\n" for r in rows))
    env = os.environ | {"MEMVIZ_STORAGE_OPTIONS": json.dumps(s3_ddb)}
    stop = tmp_path / "stop"
    reader = subprocess.Popen(
        [sys.executable, "-c", READER, uri, "", str(stop)],
        env=env,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
    )
    writers = [
        subprocess.Popen(
            [
                sys.executable,
                str(TESTS / "fakes.py"),
                "ingest",
                str(f),
                "--format",
                "jsonl",
                "--db",
                uri,
                "--batch-size",
                "3",
            ],
            env=env,
            stdout=subprocess.PIPE,
            stderr=subprocess.PIPE,
            text=True,
        )
        for f in files
    ]
    try:
        for w in writers:
            _, err = w.communicate(timeout=600)
            assert w.returncode == 0, err[-3000:]
    finally:
        stop.touch()
        out, err = reader.communicate(timeout=600)
    assert reader.returncode == 0, err[-3000:]

    store = MemoryStore(uri, storage_options=s3_ddb, create=False)
    ids = store.memories_table(columns=["id"]).column("id").to_pylist()
    assert sorted(ids) == sorted(m["id"] for m in a + b)  # none lost, none twice
    cli_check = [sys.executable, str(TESTS / "fakes.py"), "check", "--db", uri, "--json"]
    checked = subprocess.run(cli_check, env=env, capture_output=True, text=True)  # `memviz check`: 0, consistent
    assert checked.returncode == 0, checked.stdout[-3000:] + checked.stderr[-3000:]
    assert store.inflight.markers() == []
    looks = [json.loads(line) for line in out.splitlines()]
    assert len(looks) >= 2 and all(look["ids"] == look["unique"] for look in looks)
    assert [look["ids"] for look in looks] == sorted(look["ids"] for look in looks)  # nothing a reader saw went
    assert looks[-1]["ids"] == len(a + b) and looks[-1]["hits"] == 3
    lock = DynamoLock(uri, DDB_TABLE, s3_ddb)
    item = boto3.client(
        "dynamodb",
        endpoint_url=s3_ddb["aws_endpoint"],
        aws_access_key_id="x",
        aws_secret_access_key="x",
        region_name="us-east-1",
    ).get_item(TableName=DDB_TABLE, Key=lock.key)
    assert "Item" not in item, "the write lock was left taken"


def test_the_s3_ddb_write_lock_excludes_another_store_object(s3_ddb):
    from memviz.store import MemoryStore

    uri = f"s3+ddb://memviz/team/locked?ddbTableName={DDB_TABLE}"
    first, second = MemoryStore(uri, storage_options=s3_ddb), MemoryStore(uri, storage_options=s3_ddb)
    with first.lock.hold() as held:
        assert held
        with second.lock.hold(wait=False) as other:
            assert not other
    with second.lock.hold(wait=False) as other:
        assert other


REINFORCER = f"""
import sys
sys.path.insert(0, {str(TESTS)!r})
from fakes import FakeEmbedder
from memviz.clock import SimulatedClock
from memviz.engine import MemoryEngine
from memviz.store import MemoryStore

engine = MemoryEngine(MemoryStore(sys.argv[1]), FakeEmbedder(), SimulatedClock({T0!r}))
print("ready", flush=True)
sys.stdin.readline()  # both start together
for _ in range(8):
    engine.reinforce(["m0", "m1"])
"""


def test_two_processes_reinforcing_on_s3_ddb_lose_no_update(s3_ddb):
    """The read-modify-write of a reinforcement holds the DynamoDB write lock: 2 x 8 reinforcements of the same
    memories from two processes are all counted (the same test on plain s3://, which has no cross-process lock,
    counted 10 of 16)."""
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.models import MemoryInput
    from memviz.store import MemoryStore

    from fakes import FakeEmbedder

    uri = f"s3+ddb://memviz/team/reinforced?ddbTableName={DDB_TABLE}"
    engine = MemoryEngine(MemoryStore(uri, storage_options=s3_ddb), FakeEmbedder(), SimulatedClock(T0))
    engine.write([MemoryInput("My dog is called Mango.", id="m0"), MemoryInput("I moved to Leeds.", id="m1")])
    env = os.environ | {"MEMVIZ_STORAGE_OPTIONS": json.dumps(s3_ddb)}
    run_together(REINFORCER, uri, env=env)
    store = MemoryStore(uri, storage_options=s3_ddb, create=False)
    assert [m.recall_count for m in store.get(["m0", "m1"])] == [16, 16]
    assert len(store.list_events(ops=["reinforce"])) == 2 * 2 * 8
