"""memviz as an MCP server: a live agent remembers, recalls and forgets through memviz's engine while a person
watches it in the app (``memviz mcp --db DIR``; the official ``mcp`` Python SDK, extra ``memviz[mcp]``).

The tools are thin: each is one call of :class:`memviz.engine.MemoryEngine`, so the store's write lock, its
batch protocol and its intent journal hold as for every other writer, and each call is recorded in the store's
event log as the engine records it:

- ``remember(text, speaker?, session?, time?)``: one write batch (``write`` and ``link`` events); returns the
  memory's id, keywords, importance and the links made;
- ``recall(query, k?, preset?)``: the agent's recall, as :meth:`MemoryEngine.recall` does it by default: the
  hits are strengthened (``reinforce`` events) and the recall is logged with its trace (a ``recall`` event);
  returns the hits and the trace id, which the app's Recall page opens (``/recall?trace=<id>``, or "Past
  traces");
- ``forget(id)``: a soft forget (a ``forget`` event; reversible on the Memories page);
- ``stats()``: the store's counts, a pure read (looking writes nothing, as everywhere in memviz).

Bad input (an empty text or query, an unknown id, a time that is not a date, an unknown preset) comes back as an
MCP tool error (``isError``) with memviz's one-line message, and the store is left unchanged: the engine checks
before it writes. Nothing here imports streamlit.
"""

from __future__ import annotations

import threading
from collections.abc import Callable
from typing import Annotated, Literal, TypeVar

from pydantic import BaseModel, Field

from memviz.engine import MemoryEngine
from memviz.errors import ConfigError, EmptyTextError, MemvizError
from memviz.limits import MAX_K, check_scope
from memviz.models import MemoryInput
from memviz.recall.presets import PresetName, preset_config

try:
    from mcp.server.mcpserver import MCPServer
    from mcp.server.mcpserver.exceptions import ToolError
    from mcp.types import ToolAnnotations
except ImportError as e:  # pragma: no cover - depends on the installation
    raise MemvizError(f"memviz mcp needs the MCP Python SDK ({e.name}): pip install 'memviz[mcp]'") from e

T = TypeVar("T")
DATASET = "mcp"  # the ``dataset`` of every memory written through the server (shown with the memory)
INSTRUCTIONS = (
    "Long-term memory backed by memviz. Call `remember` to store something worth keeping (one fact or utterance "
    "per call, with who said it), `recall` before answering anything that may depend on the past (recalling "
    "strengthens what it finds), `forget` to drop a memory (reversible), `stats` for the store's counts. Every "
    "call is recorded; a person may be watching in the memviz app."
)


class LinkOut(BaseModel):
    to: str = Field(description="id of the older memory linked to")
    kind: str = Field(description="semantic, temporal or keyword")
    weight: float = Field(description="in [0, 1]: cosine similarity, 1 (temporal) or keyword overlap")


class Remembered(BaseModel):
    id: str = Field(description="the new memory's id (for recall hits and forget)")
    text: str = Field(description="the text as stored (normalised)")
    keywords: list[str]
    importance: float = Field(description="in [0, 1]")
    links: list[LinkOut] = Field(description="the links made to memories already stored")


class HitOut(BaseModel):
    id: str
    text: str
    score: float = Field(description="in [0, 1]: the weighted mean of the components")
    components: dict[str, float] = Field(description="each score component, in [0, 1]")
    rank: int
    speaker: str
    session: str
    scope: str = Field(description="whose memory it is ('' the default scope)")


class Recalled(BaseModel):
    hits: list[HitOut]
    trace_id: str = Field(description="the recall's trace: the app's Recall page opens it (/recall?trace=<id>)")
    preset: str
    total_ms: float = Field(description="how long the recall took in the engine")


class Forgotten(BaseModel):
    id: str
    forgotten: bool = Field(description="True: the memory is now left out of recall (kept, reversible)")
    changed: bool = Field(description="False when it was already forgotten (no event then)")


class Stats(BaseModel):
    db: str
    memories: int
    forgotten: int
    links: dict[str, int]
    events: int
    sessions: int
    speakers: int
    scopes: dict[str, int] = Field(description="memories per scope ('' the default scope)")
    version: int = Field(description="the memories table's version: it moves with every change")
    now_s: float = Field(description="the store's clock, POSIX seconds")


class MemoryTools:
    """The four tools over one engine, as plain methods (what the MCP tools call; the tests call them too).
    Each raises MemvizError for bad input, having written nothing."""

    def __init__(self, engine: MemoryEngine):
        self.engine = engine

    def remember(
        self, text: str, speaker: str = "", session: str = "", time: str | None = None, scope: str = ""
    ) -> Remembered:
        item = MemoryInput(
            text=text,
            speaker=speaker,
            session_id=session,
            event_time_s=_event_time(time),
            dataset=DATASET,
            scope=check_scope(scope),
        )
        try:
            report = self.engine.write([item])
        except EmptyTextError:
            raise EmptyTextError("text is empty: give the memory's text") from None
        r = report.items[0]
        links = [LinkOut(to=lk.target_id, kind=lk.kind, weight=round(lk.weight, 4)) for lk in r.links]
        return Remembered(id=r.id, text=r.text, keywords=r.keywords, importance=r.importance, links=links)

    def recall(self, query: str, k: int = 10, preset: str = "default", scope: str | None = None) -> Recalled:
        # The agent's path: strengthen the hits, log the trace.
        cfg = preset_config(preset, k=k, reinforce=True, scope=scope)
        result = self.engine.recall(query, cfg)
        hits = [
            HitOut(
                id=h.memory.id,
                text=h.memory.text,
                score=h.score,
                components=h.components,
                rank=h.rank,
                speaker=h.memory.speaker,
                session=h.memory.session_id,
                scope=h.memory.scope,
            )
            for h in result.hits
        ]
        return Recalled(hits=hits, trace_id=result.trace.id, preset=preset, total_ms=result.trace.total_ms)

    def forget(self, id: str) -> Forgotten:  # noqa: A002 - the tool's argument name
        if not id.strip():
            raise ConfigError("id is empty: give the id of a memory (from remember or recall)")
        changed = self.engine.forget([id], reason="mcp")
        return Forgotten(id=id, forgotten=True, changed=bool(changed))

    def stats(self) -> Stats:
        s = self.engine.stats()
        return Stats(db=self.engine.store.uri, **{k: s[k] for k in Stats.model_fields if k != "db"})


def _event_time(text: str | None) -> float | None:
    """POSIX seconds of a ``time`` argument (dateutil; naive = UTC) in the supported range, or None."""
    if text is None or not text.strip():
        return None
    from memviz.importers._base import parse_time
    from memviz.limits import check_time

    try:
        t = parse_time(text)
    except ValueError as e:
        raise ConfigError(f"time: {e}; give a date such as 2023-05-08 or '8 May 2023 13:56' (UTC)") from None
    return check_time(t, "time")


def build_server(engine: MemoryEngine, preload: bool = True) -> MCPServer:
    """The MCP server of ``engine``'s store. ``preload``: load the embedding model in a background thread at
    once, so that ``initialize`` answers at once and the first tool call waits only for what is left of the load."""
    import memviz

    tools = MemoryTools(engine)
    loading = threading.Thread(target=getattr(engine.embedder, "load", lambda: None), daemon=True)
    if preload:
        loading.start()

    def call(fn: Callable[[], T]) -> T:
        if loading.is_alive():
            loading.join()
        try:
            return fn()
        except MemvizError as e:  # bad input: the message, for the model to read; nothing was written
            raise ToolError(str(e)) from None

    # Tool failures are the caller's (bad input), answered in the result: no log line for each on stderr.
    server: MCPServer = MCPServer("memviz", instructions=INSTRUCTIONS, version=memviz.__version__, log_level="WARNING")

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False))
    def remember(
        text: Annotated[str, Field(description="what to remember: one fact or utterance")],
        speaker: Annotated[str, Field(description="who said it (embedded with the text)")] = "",
        session: Annotated[str, Field(description="the conversation it belongs to (links its turns)")] = "",
        time: Annotated[
            str | None, Field(description="when it happened: a date/time, ISO 8601 safest, UTC without a zone")
        ] = None,
        scope: Annotated[
            str, Field(description="whose memory it is: a user, an agent or 'agent:run' ('' the default scope)")
        ] = "",
    ) -> Remembered:
        """Store one memory. Returns its id and the links made to memories already stored (of its scope only)."""
        return call(lambda: tools.remember(text, speaker, session, time, scope))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=False))
    def recall(
        query: Annotated[str, Field(description="what to look for")],
        k: Annotated[int, Field(ge=1, le=MAX_K, description="how many memories to return")] = 10,
        preset: Annotated[PresetName, Field(description="the scoring formula (memviz's presets)")] = "default",
        scope: Annotated[
            str | None, Field(description="recall only this scope's memories (a user, an agent...); null: all")
        ] = None,
    ) -> Recalled:
        """Recall the k memories that best match the query, with each one's score and its components. Like a
        person's recall, it strengthens what it finds; the recall is kept with its trace (trace_id)."""
        return call(lambda: tools.recall(query, k, preset, scope))

    @server.tool(annotations=ToolAnnotations(read_only_hint=False, destructive_hint=False, idempotent_hint=True))
    def forget(id: Annotated[str, Field(description="the memory's id")]) -> Forgotten:  # noqa: A002
        """Forget a memory: it is left out of recall from now on, but kept, and can be restored."""
        return call(lambda: tools.forget(id))

    @server.tool(annotations=ToolAnnotations(read_only_hint=True))
    def stats() -> Stats:
        """The store's counts: memories, forgotten, links by kind, events, sessions, speakers, memories per scope,
        version, clock."""
        return call(tools.stats)

    return server


def serve(
    engine: MemoryEngine, transport: Literal["stdio", "http"] = "stdio", host: str = "127.0.0.1", port: int = 8000
):
    """Serve ``engine``'s store until the client disconnects (stdio) or the process is stopped (http: Streamable
    HTTP at ``http://host:port/mcp``). Over stdio, stdout carries only the protocol (the SDK points fd 1 at
    stderr while it serves, so stray output cannot corrupt it)."""
    server = build_server(engine)
    if transport == "stdio":
        server.run("stdio")
    else:
        server.run("streamable-http", host=host, port=port)


__all__ = ["DATASET", "MemoryTools", "build_server", "serve"]
