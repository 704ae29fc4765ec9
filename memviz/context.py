"""Contextual memories: the context a memory is embedded with (its session's previous turns, its date), and
the text the encoder sees.

A reply often names its subject only in the turn before it ("I bought it a year ago in Paris." answers a
question about Seraphim, the pet named in the previous turn), so its own embedding cannot match a question
about that subject. Contextual retrieval (Anthropic, "Introducing Contextual Retrieval", 2024) embeds a chunk
together with its context; here the context is taken from the conversation itself (no model writes it): the
``turns`` previous turns of the memory's session, each as ``{speaker} said, "{text}"``, and with ``date`` the
memory's day. The memory's own text is stored verbatim; the context is stored beside it (the ``context``
column) and shown in the write report.

The encoder sees the memory first and its context after it (:func:`encoder_text`): an encoder truncates long
inputs at the end (MiniLM at 256 word pieces), so a long context is cut, never the memory.
"""

from __future__ import annotations

from collections import defaultdict, deque
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime

from memviz.filters import MemoryFilter
from memviz.models import MemoryInput
from memviz.store import MemoryStore
from memviz.store.settings import ContextSettings

# A session of a scope: (scope, session id). A session id names a session within its scope only.
SessionKey = tuple[str, str]
# stored(sessions, n): {(scope, session): [(speaker, text), ...]}, the n latest stored turns of each session,
# oldest first.
StoredTurns = Callable[[list[SessionKey], int], Mapping[SessionKey, list[tuple[str, str]]]]


def embedding_text(text: str, speaker: str | None) -> str:
    """What is embedded for a memory: the LoCoMo protocol's ``{speaker} said, "{text}"`` when a speaker is known."""
    return f'{speaker} said, "{text}"' if speaker else text


def encoder_text(text: str, speaker: str | None, context: str | None) -> str:
    """The encoder's input for a memory: :func:`embedding_text`, then its context on the next line (if any)."""
    own = embedding_text(text, speaker)
    return f"{own}\n{context}" if context else own


def contexts(
    inputs: Sequence[MemoryInput], texts: Sequence[str], settings: ContextSettings, stored: StoredTurns
) -> list[str | None]:
    """The context of each memory of a write (None when there is none, or contexts are off).

    ``inputs`` are in the write's order (a conversation's turns in order); ``texts`` their normalised texts.
    A memory's previous turns are the turns of its session (of its scope) before it in ``inputs``, preceded, when
    there are fewer than ``settings.turns``, by the session's latest turns already stored (``stored``, read once
    for all sessions). A memory without a session has no previous turns. The date is the memory's event time (UTC day,
    e.g. ``Date: 8 May 2023``)."""
    if not settings.on:
        return [None] * len(inputs)
    n_turns = settings.turns
    sessions = sorted({(i.scope, i.session_id) for i in inputs if i.session_id})
    before = stored(sessions, n_turns) if n_turns and sessions else {}
    recent: dict[SessionKey, deque[tuple[str, str]]] = defaultdict(lambda: deque(maxlen=n_turns))
    for s in sessions:
        recent[s].extend(before.get(s, []))
    out: list[str | None] = []
    for item, text in zip(inputs, texts, strict=True):
        lines = []
        if settings.date and item.event_time_s is not None:
            lines.append(f"Date: {datetime.fromtimestamp(float(item.event_time_s), UTC):%-d %B %Y}")
        if n_turns and item.session_id:
            key = (item.scope, item.session_id)
            lines += [embedding_text(t, sp) for sp, t in recent[key]]
            recent[key].append((item.speaker or "", text))
        out.append("\n".join(lines) or None)
    return out


def stored_turns(store: MemoryStore, sessions: list[SessionKey], n: int) -> dict[SessionKey, list[tuple[str, str]]]:
    """The ``n`` latest turns ``store`` holds of each of ``sessions`` ((scope, session id) pairs; by event time,
    else creation time), oldest first, as (speaker, text): the context of a write's first turns in a session
    begun earlier."""
    tbl = store.memories_table(
        columns=["speaker", "text", "scope", "session_id", "event_time_s", "created_time_s"],
        where=MemoryFilter(sessions=sorted({s for _, s in sessions}), scopes=sorted({sc for sc, _ in sessions})),
    )
    if not tbl.num_rows:
        return {}
    df = tbl.to_pandas()
    df["t"] = df["event_time_s"].fillna(df["created_time_s"])
    df = df.sort_values("t", kind="stable").groupby(["scope", "session_id"]).tail(n)
    out: dict[SessionKey, list[tuple[str, str]]] = defaultdict(list)
    for sc, s, sp, tx in zip(df["scope"], df["session_id"], df["speaker"], df["text"], strict=True):
        out[(sc, s)].append((sp or "", tx))
    return out


__all__ = ["SessionKey", "StoredTurns", "contexts", "embedding_text", "encoder_text", "stored_turns"]
