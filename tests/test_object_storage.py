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

from support import T0

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
