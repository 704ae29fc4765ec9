"""Letta agent files (.af) as Letta exports them: real files from the letta-ai/agent-file repository (see
``data/README.md``), not hand-written ones."""

from __future__ import annotations

import gzip
import json
from pathlib import Path

import pytest

from memviz.cli import main
from memviz.errors import SchemaError
from memviz.importers import load, load_bytes
from memviz.store import MemoryStore
from memviz.text import MAX_MEMORY_CHARS

DATA = Path(__file__).parent / "data"


@pytest.fixture(scope="module")
def lettabot() -> tuple[bytes, dict]:
    raw = gzip.decompress((DATA / "lettabot-builder.af.gz").read_bytes())
    return raw, json.loads(raw)


def _texts(message: dict) -> str:
    return "\n".join(p["text"] for p in message["content"] if p["type"] == "text" and p["text"].strip())


def test_messages_and_memory_blocks_import_with_their_ids_times_and_fields(lettabot, make_engine) -> None:
    raw, af = lettabot
    data = load_bytes(raw, "letta", "lettabot-builder.af")
    messages = [
        (a, m)
        for a in af["agents"]
        for m in a["messages"]
        if m["role"] in ("user", "assistant") and _texts(m) and len(_texts(m)) <= MAX_MEMORY_CHARS
    ]
    blocks = [b for b in af["blocks"] if b["value"].strip()]
    assert len(data) == len(messages) + len(blocks) == 136
    assert data.skipped == sum(len(a["messages"]) for a in af["agents"]) - len(messages) + len(af["blocks"]) - len(
        blocks
    )
    by_id = {m.id: m for m in data.items()}
    for agent, message in messages:
        m = by_id[f"lettabot-builder:{message['id']}"]
        assert m.text == _texts(message) and m.source_id == message["id"]
        assert m.session_id == f"lettabot-builder:{agent['id']}"
        assert m.speaker == (agent["name"] if message["role"] == "assistant" else "user")
        assert m.scope == agent["name"]
        assert m.metadata == {k: v for k, v in message.items() if k != "content" and v is not None}
    block = by_id[f"lettabot-builder:{blocks[0]['id']}"]
    assert block.kind == "semantic" and block.text == blocks[0]["value"] and block.speaker == blocks[0]["label"]
    engine = make_engine()
    engine.ingest(data.items())
    assert engine.store.count() == 136
    assert engine.get(block.id).metadata == {k: v for k, v in blocks[0].items() if k != "value"}


def test_a_file_without_conversation_gives_its_memory_blocks(tmp_path: Path) -> None:
    data = load(DATA / "memgpt_agent_with_convo.af", "letta")
    assert [(m.id, m.speaker) for m in data.items()] == [
        ("memgpt_agent_with_convo:block-0", "human"),
        ("memgpt_agent_with_convo:block-1", "persona"),
    ]
    assert data.skipped == 1  # the system prompt


@pytest.mark.parametrize(
    ("name", "mangle", "message"),
    [
        (
            "customer_service.af",
            lambda b: b,
            "customer_service.af: letta: top level: expected an agent file object, got a string",
        ),
        ("cut.af", lambda b: b[: len(b) // 2], "cut.af: letta: top level: invalid JSON at line"),
        (
            "noagents.af",
            lambda b: json.dumps({k: v for k, v in json.loads(b).items() if k != "agents"}).encode(),
            'noagents.af: letta: top level: missing "agents"',
        ),
    ],
)
def test_a_malformed_agent_file_is_one_error_and_changes_nothing(tmp_path: Path, name, mangle, message) -> None:
    from click.testing import CliRunner

    source = DATA / ("customer_service.af" if name == "customer_service.af" else "memgpt_agent_with_convo.af")
    path = tmp_path / name
    path.write_bytes(mangle(source.read_bytes()))
    with pytest.raises(SchemaError, match="^" + message.replace("(", r"\(")):
        load(path, "letta")
    db = tmp_path / "db"
    MemoryStore(db)
    version = MemoryStore(db, create=False).version()
    res = CliRunner().invoke(main, ["ingest", str(path), "--format", "letta", "--db", str(db)])
    assert res.exit_code == 2 and res.output.startswith(f"Error: {message}") and len(res.output.splitlines()) == 1
    store = MemoryStore(db, create=False)
    assert store.version() == version and store.count("events") == 0
