"""Letta agent file importer (``.af``): the JSON a Letta server exports for one or more agents
(``letta.schemas.agent_file.AgentFileSchema``: ``agents``, ``blocks``, ``groups``, ``files``, ``sources``,
``tools``, ``mcp_servers``, ``metadata``, ``created_at``).

What memviz reads:

- each agent's ``messages`` with role ``user`` or ``assistant`` and text content (their ``content`` parts of
  type ``text``, joined): one memory each; id ``<file stem>:<message id>`` (an agent file's ids are its own,
  ``message-12``: the stem keeps two files apart), source id the message id, time its ``created_at``, speaker
  its role (an assistant message: the agent's name), session ``<file stem>:<agent id>``; metadata the
  message's other fields (``agent_id``, ``model``, ``name``, ``tool_calls``, ...); scope the agent's name;
- the memory ``blocks`` (core memory: ``persona``, ``human``, ...) with a value: one ``semantic`` memory each,
  id ``<file stem>:<block id>``, speaker the block's label, session ``<file stem>:blocks``, time the file's
  ``created_at`` (blocks carry none); metadata the block's other fields; scope the agent's name when the file
  holds one agent (blocks are the file's, not an agent's), else the default scope ``""``.

Left out and counted as skipped: system prompts, tool calls and returns, reasoning, messages without text, and
messages longer than memviz's limit of :data:`memviz.text.MAX_MEMORY_CHARS` characters (an agent's pasted file).
Archival passages are not in the agent-file schema (the agent-file README: "We currently do not support
Passages"), so an ``.af`` file has none to import.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from memviz.importers._base import Dataset, Source, at
from memviz.models import MemoryInput
from memviz.text import MAX_MEMORY_CHARS

ROLES = ("user", "assistant")


def load_letta(raw: bytes, src: Source) -> Dataset:
    """Read a Letta agent file (the whole file is checked before anything is returned)."""
    data = src.expect(src.json(src.text(raw)), dict, "", "an agent file object")
    stem = Path(src.name).stem
    agents = src.field(data, "agents", "", list)
    file_time = src.field(data, "created_at", "", str, required=False)
    groups: dict[str, list[MemoryInput]] = {}
    names: list[str] = []
    skipped = 0
    for i, agent in enumerate(agents):
        where = at("agents", i)
        src.expect(agent, dict, where, "an agent object")
        agent_id = src.field(agent, "id", where, str, nonempty=True)
        name = src.field(agent, "name", where, str, required=False) or agent_id
        names.append(name)
        memories: list[MemoryInput] = []
        for j, message in enumerate(src.field(agent, "messages", where, list, required=False) or []):
            m_where = at(at(where, "messages"), j)
            src.expect(message, dict, m_where, "a message object")
            memory = _message(src, message, m_where, stem, agent_id, name)
            if memory is None:
                skipped += 1
            else:
                memories.append(memory)
        groups[f"{stem}:{agent_id}"] = memories
    blocks = []
    for k, block in enumerate(src.field(data, "blocks", "", list, required=False) or []):
        b_where = at("blocks", k)
        src.expect(block, dict, b_where, "a block object")
        value = src.field(block, "value", b_where, str, required=False)
        if not value or not value.strip():
            skipped += 1
            continue
        block_id = src.field(block, "id", b_where, str, nonempty=True)
        label = src.field(block, "label", b_where, str, required=False) or ""
        blocks.append(
            src.memory(
                b_where,
                MemoryInput(
                    text=value,
                    speaker=label,
                    session_id=f"{stem}:blocks",
                    source_id=block_id,
                    event_time_s=None if file_time is None else src.time(file_time, "", "created_at"),
                    kind="semantic",
                    id=f"{stem}:{block_id}",
                    dataset="letta",
                    scope=names[0] if len(names) == 1 else "",
                    verbatim=True,
                    metadata={k: v for k, v in block.items() if k != "value"},
                ),
            )
        )
    if blocks:
        groups[f"{stem}:blocks"] = blocks
    return src.require_memories(Dataset(format="letta", path=src.path, groups=groups, skipped=skipped))


def _message(
    src: Source, message: dict[str, Any], where: str, stem: str, agent_id: str, name: str
) -> MemoryInput | None:
    """The memory of one message, or None when it is not a user or assistant message with text (or its text is
    over memviz's length limit)."""
    role = src.field(message, "role", where, str)
    content = src.field(message, "content", where, (list, str), required=False) or []
    if isinstance(content, str):
        parts = [content]
    else:
        parts = []
        for n, part in enumerate(content):
            src.expect(part, dict, at(at(where, "content"), n), "a content part object")
            if part.get("type") == "text":
                parts.append(src.field(part, "text", at(at(where, "content"), n), str))
    text = "\n".join(p for p in parts if p.strip())
    if role not in ROLES or not text or len(text) > MAX_MEMORY_CHARS:
        return None
    message_id = src.field(message, "id", where, str, nonempty=True)
    created = src.field(message, "created_at", where, str, required=False)
    return src.memory(
        where,
        MemoryInput(
            text=text,
            speaker=name if role == "assistant" else role,
            session_id=f"{stem}:{agent_id}",
            source_id=message_id,
            event_time_s=None if created is None else src.time(created, where, "created_at"),
            id=f"{stem}:{message_id}",
            dataset="letta",
            scope=name,
            verbatim=True,
            metadata={k: v for k, v in message.items() if k != "content" and v is not None},
        ),
    )
