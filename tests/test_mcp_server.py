"""``memviz mcp``: the MCP server's tools, through the official SDK's own clients.

- In process (``mcp.Client`` on the server object, the fake embedder): every tool, each call an event in the
  store's log, and bad input answered as a tool error with the store unchanged.
- Over stdio (``mcp.client.stdio.stdio_client`` + ``ClientSession`` spawning ``memviz mcp --db``): with the fake
  embedder (``tests/fakes.py``) in the fast tier; with the real MiniLM in the slow one, where a client writes 20
  memories and recalls each of them (the issue's target).
"""

from __future__ import annotations

import asyncio
import json
import os
import sys
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path

import pytest

from memviz.engine import open_engine
from memviz.mcp_server import DATASET, build_server
from memviz.store import MemoryStore

REPO = Path(__file__).resolve().parents[1]
FACTS = [
    "Maya moved to Leeds in January for a job at the university library.",
    "Leon adopted a grey cat called Pixel from the shelter.",
    "Maya's sister Ines is a marine biologist in Lisbon.",
    "Leon is training for the Berlin marathon in September.",
    "Maya is allergic to peanuts and carries an epinephrine pen.",
    "Leon's favourite band is Radiohead; he saw them in 2017.",
    "Maya learned to play the cello as a child but stopped at fifteen.",
    "Leon works night shifts as a nurse at St James's hospital.",
    "Maya wants to visit Japan to see the cherry blossoms in April.",
    "Leon's grandmother taught him to bake sourdough bread.",
    "Maya drives an old green Volvo she bought from her uncle.",
    "Leon broke his wrist skateboarding when he was twelve.",
    "Maya volunteers at a food bank every Saturday morning.",
    "Leon is learning Spanish with an app before a trip to Mexico.",
    "Maya's favourite book is One Hundred Years of Solitude.",
    "Leon grows tomatoes and chillies on his balcony.",
    "Maya ran a half marathon in Manchester last spring.",
    "Leon's brother Tomas is an architect in Prague.",
    "Maya is saving up for a flat with a garden.",
    "Leon collects vinyl records from the seventies.",
]


def _run(coroutine):
    """Run ``coroutine`` to its end on an event loop of its own, in a thread of its own: in a whole test run, the
    browser tests' Playwright keeps an event loop running in the main thread, where ``asyncio.run`` refuses."""
    with ThreadPoolExecutor(1) as pool:
        return pool.submit(asyncio.run, coroutine).result()


def _structured(result) -> dict:
    assert not result.is_error, result.content[0].text
    return result.structured_content


async def _errors_leave_the_store_unchanged(call, db: Path, memory_id: str) -> None:
    """Bad input of each tool: an MCP tool error with the clear message, and not one write to the store."""
    store = MemoryStore(db, create=False)
    before = (store.version(), store.stats()["events"], store.table_versions())
    cases = [
        ("remember", {"text": "   "}, "text is empty"),
        ("remember", {"text": "a note", "time": "June 3"}, "incomplete date"),
        ("remember", {"text": "a note", "time": "9999-12-31T23:59:59-12:00"}, "outside the supported range"),
        ("recall", {"query": " "}, "the query is empty"),
        ("recall", {"query": "x", "preset": "nope"}, "preset"),
        ("forget", {"id": "no-such-memory"}, "unknown memory id(s): no-such-memory"),
        ("forget", {"id": " "}, "id is empty"),
        ("remember", {"text": "a note", "scope": "two\nlines"}, "scope 'two\\nlines' may hold only"),
        ("recall", {"query": "x", "scope": "x" * 200}, "scope is 200 characters long"),
    ]
    for tool, args, message in cases:
        result = await call(tool, args)
        assert result.is_error, (tool, args)
        assert message in result.content[0].text, result.content[0].text
    assert (store.version(), store.stats()["events"], store.table_versions()) == before
    assert (await call("forget", {"id": memory_id})).structured_content["changed"] is False  # already forgotten


def test_tools_in_process_each_call_an_event(tmp_path, embedder):
    from mcp import Client

    db = tmp_path / "db"
    engine = open_engine(str(db), embedder=embedder)
    events = lambda: MemoryStore(db, create=False).stats()["events"]  # noqa: E731

    async def run():
        async with Client(build_server(engine, preload=False)) as client:
            tools = {t.name: t for t in (await client.list_tools()).tools}
            assert set(tools) == {"remember", "recall", "forget", "stats"}
            assert tools["stats"].annotations.read_only_hint is True
            assert "preset" in tools["recall"].input_schema["properties"]

            n = events()
            first = _structured(await client.call_tool("remember", {"text": FACTS[0], "speaker": "Maya"}))
            assert events() > n, "a remember is a write event"
            second = _structured(
                await client.call_tool(
                    "remember", {"text": FACTS[2], "speaker": "Maya", "session": "s1", "time": "2024-03-01 10:00"}
                )
            )
            third = _structured(await client.call_tool("remember", {"text": FACTS[4], "session": "s1"}))
            assert [lk["to"] for lk in third["links"] if lk["kind"] == "temporal"] == [second["id"]]
            stored = engine.get(second["id"])
            assert (stored.speaker, stored.session_id, stored.dataset) == ("Maya", "s1", DATASET)
            assert stored.event_time_s == pytest.approx(1709287200.0)

            n = events()
            recalled = _structured(await client.call_tool("recall", {"query": "Where did Maya move?", "k": 2}))
            assert recalled["hits"][0]["id"] == first["id"] and len(recalled["hits"]) == 2
            assert set(recalled["hits"][0]["components"]) >= {"relevance", "lexical", "recency", "retention"}
            assert events() == n + 1 + 2, "one recall event and one reinforce event per hit"
            assert engine.get(first["id"]).recall_count == 1, "an agent's recall strengthens what it finds"
            trace = engine.read.trace(recalled["trace_id"])
            assert trace is not None and trace.query == "Where did Maya move?"

            n = events()
            assert _structured(await client.call_tool("forget", {"id": third["id"]}))["changed"] is True
            assert events() == n + 1 and engine.get(third["id"]).forgotten
            again = _structured(await client.call_tool("recall", {"query": FACTS[4], "k": 3}))
            assert third["id"] not in [h["id"] for h in again["hits"]], "a forgotten memory leaves recall"

            n = events()
            stats = _structured(await client.call_tool("stats", {}))
            assert (stats["memories"], stats["forgotten"], stats["db"]) == (3, 1, str(db))
            assert events() == n, "stats is a pure read"
            await _errors_leave_the_store_unchanged(client.call_tool, db, third["id"])

    _run(run())


def test_remember_and_recall_in_scopes(tmp_path, embedder):
    from mcp import Client

    engine = open_engine(str(tmp_path / "db"), embedder=embedder)

    async def run():
        async with Client(build_server(engine, preload=False)) as client:
            for n, fact in enumerate(FACTS[:6]):
                scope = "alice" if n % 2 == 0 else "agent:run-1"
                await client.call_tool("remember", {"text": fact, "session": "s1", "scope": scope})
            for scope in ("alice", "agent:run-1"):
                got = _structured(await client.call_tool("recall", {"query": "Maya and Leon", "k": 6, "scope": scope}))
                assert len(got["hits"]) == 3 and {h["scope"] for h in got["hits"]} == {scope}
            both = _structured(await client.call_tool("recall", {"query": "Maya and Leon", "k": 6}))
            assert {h["scope"] for h in both["hits"]} == {"alice", "agent:run-1"}
            assert _structured(await client.call_tool("stats", {}))["scopes"] == {"agent:run-1": 3, "alice": 3}
        scope = dict(
            zip(*(engine.store.memories_table(columns=["id", "scope"]).column(c).to_pylist() for c in ("id", "scope")))
        )
        links = engine.store.links_table().to_pylist()
        assert links and all(scope[lk["source_id"]] == scope[lk["target_id"]] for lk in links)  # temporal: per scope

    _run(run())


def _stdio_params(db: Path, fake: bool):
    from mcp import StdioServerParameters

    entry = [str(REPO / "tests" / "fakes.py")] if fake else ["-m", "memviz"]
    env = {k: v for k, v in os.environ.items() if k != "MEMVIZ_DB"} | {"PYTHONPATH": str(REPO)}
    return StdioServerParameters(command=sys.executable, args=[*entry, "mcp", "--db", str(db)], env=env, cwd=REPO)


async def _stdio_session(db: Path, fake: bool, body) -> None:
    from mcp import ClientSession
    from mcp.client.stdio import stdio_client

    async with stdio_client(_stdio_params(db, fake)) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            await body(session)


def test_stdio_remember_recall_forget_stats_errors(tmp_path):
    """The SDK's stdio client against ``memviz mcp`` in its own process (fake embedder: no model load)."""
    db = tmp_path / "db"

    async def body(session):
        ids = [_structured(await session.call_tool("remember", {"text": t}))["id"] for t in FACTS[:5]]
        hit = _structured(await session.call_tool("recall", {"query": FACTS[3], "k": 3}))
        assert hit["hits"][0]["id"] == ids[3]
        assert _structured(await session.call_tool("forget", {"id": ids[0]}))["forgotten"] is True
        stats = _structured(await session.call_tool("stats", {}))
        assert (stats["memories"], stats["forgotten"]) == (5, 1)
        await _errors_leave_the_store_unchanged(session.call_tool, db, ids[0])

    _run(_stdio_session(db, True, body))
    events = MemoryStore(db, create=False).list_events()
    assert {e.op for e in events} >= {"write", "recall", "reinforce", "forget"}


@pytest.mark.slow
def test_stdio_client_writes_20_memories_and_recalls_them(tmp_path):
    """The issue's target, with the real MiniLM in the server: an MCP client writes 20 memories and recalls each
    one by a paraphrase-free query (its own text) at rank 1; the recalls are traces the Recall page opens."""
    db = tmp_path / "db"
    found: list[tuple[str, str, str]] = []

    async def body(session):
        ids, links = [], 0
        for text in FACTS:
            r = _structured(await session.call_tool("remember", {"text": text, "session": "chat"}))
            ids.append(r["id"])
            links += len(r["links"])
            assert r["text"] == text
        assert links >= len(FACTS) - 1, "each memory after the first is linked (at least to the turn before)"
        for text, memory_id in zip(FACTS, ids):
            r = _structured(await session.call_tool("recall", {"query": text, "k": 3}))
            found.append((memory_id, r["hits"][0]["id"], r["trace_id"]))
        question = _structured(await session.call_tool("recall", {"query": "Who has a pet cat?", "k": 3}))
        assert question["hits"][0]["id"] == ids[1], json.dumps(question["hits"][0])
        assert _structured(await session.call_tool("forget", {"id": ids[1]}))["changed"] is True
        after = _structured(await session.call_tool("recall", {"query": "Who has a pet cat?", "k": 3}))
        assert ids[1] not in [h["id"] for h in after["hits"]]
        stats = _structured(await session.call_tool("stats", {}))
        assert (stats["memories"], stats["forgotten"]) == (20, 1)
        bad = await session.call_tool("forget", {"id": "nope"})
        assert bad.is_error and "unknown memory id(s): nope" in bad.content[0].text

    _run(_stdio_session(db, False, body))
    assert [want for want, _, _ in found] == [got for _, got, _ in found], "each memory recalled by its own text"
    engine = open_engine(str(db), create=False)
    assert all(engine.read.trace(t) is not None for _, _, t in found)
    assert len(engine.traces(limit=100)) == 22


def test_http_transport_serves_the_same_tools(tmp_path):
    """``--transport http``: Streamable HTTP on the loopback address, through the SDK's URL client."""
    import socket
    import subprocess
    import time

    from mcp import Client

    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    params = _stdio_params(tmp_path / "db", fake=True)
    cmd = [params.command, *params.args, "--transport", "http", "--port", str(port)]
    server = subprocess.Popen(cmd, env=params.env, cwd=REPO, stderr=subprocess.PIPE, stdout=subprocess.DEVNULL)

    async def run():
        async with Client(f"http://127.0.0.1:{port}/mcp") as client:
            r = _structured(await client.call_tool("remember", {"text": FACTS[0]}))
            return r, _structured(await client.call_tool("stats", {}))

    try:
        deadline = time.monotonic() + 120
        while True:
            assert server.poll() is None, server.stderr.read().decode() if server.stderr else ""
            try:
                with socket.create_connection(("127.0.0.1", port), timeout=1):
                    break
            except OSError:
                assert time.monotonic() < deadline, "the http server did not listen within 120 s"
                time.sleep(0.5)
        remembered, stats = _run(run())
    finally:
        server.terminate()
        server.wait(30)
    assert stats["memories"] == 1 and stats["db"] == str(tmp_path / "db")
    assert open_engine(str(tmp_path / "db"), create=False).get(remembered["id"]).text == FACTS[0]
