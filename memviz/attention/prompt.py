"""Memories in the prompt: how much attention recalled memories get, next to the sink token and the query.

The prompt is assembled as::

    Relevant memories:
    - <memory 1>
    - <memory 2>
    ...
    Question: <query>
    Answer:

and run through the model once. The *readers* are the query tokens (``Question: ... Answer:``, the positions that
would produce the answer). For each layer, the share of the readers' attention that lands on each segment is
``share[l, s] = mean over heads h and readers i of sum_{j in segment s} A[l, h, i, j]``; the segments are the
first token (the primary sink in decoders), each memory (its bullet included), the query itself, and the
template's other tokens. The shares of one layer sum to 1.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import numpy as np

from memviz.attention.capture import AttentionCapture, capture_token_ids, token_limit
from memviz.attention.metrics import analyze_sinks
from memviz.attention.models import LoadedModel, load_model
from memviz.errors import ConfigError, EmptyTextError

HEADER = "Relevant memories:\n"
SINK = "first token (sink)"
QUERY = "query"
TEMPLATE = "template"


def memory_line(text: str, speaker: str = "", time_s: float | None = None) -> str:
    """One memory as it goes into the prompt and onto the page: ``"[2023-05-08] Caroline: text"``.

    ``time_s``: POSIX seconds, shown as the UTC date (the date memviz stores, ``limits.py``); no date without it,
    no ``"speaker: "`` without a speaker. The text is kept as is (plain text, not escaped).
    """
    date = f"[{datetime.fromtimestamp(time_s, UTC):%Y-%m-%d}] " if time_s is not None else ""
    return f"{date}{speaker}: {text}" if speaker else f"{date}{text}"


def stored_memory_line(memory: Any) -> str:
    """:func:`memory_line` of a stored memory (a :class:`memviz.models.Memory` or a row with its ``text``,
    ``speaker``, ``event_time_s`` and ``created_time_s``), dated when it happened, else when it was written."""
    t = getattr(memory, "event_time_s", None)
    if t is None or t != t:  # None or NaN (a missing time in a DataFrame)
        t = getattr(memory, "created_time_s", None)
    return memory_line(str(memory.text), str(memory.speaker or ""), None if t is None or t != t else float(t))


def build_prompt(memories: list[str], query: str) -> tuple[str, list[tuple[str, int, int]]]:
    """The prompt text and its segments ``(name, start, end)`` (character spans, end exclusive).

    Memories are stripped and put on one line each (inner newlines become spaces). Raises EmptyTextError for an
    empty query or an empty memory.
    """
    if query is None or not query.strip():
        raise EmptyTextError("the query is empty")
    parts: list[tuple[str, int, int]] = []
    text = HEADER
    for n, m in enumerate(memories, start=1):
        m = " ".join((m or "").split())
        if not m:
            raise EmptyTextError(f"memory {n} is empty")
        line = f"- {m}\n"
        parts.append((f"memory {n}", len(text), len(text) + len(line) - 1))
        text += line
    q = " ".join(query.split())
    line = f"Question: {q}\nAnswer:"
    parts.append((QUERY, len(text), len(text) + len(line)))
    text += line
    return text, parts


@dataclass(frozen=True, eq=False)
class PromptAttention:
    """Attention the query pays to each part of a memory-augmented prompt.

    - ``segments``: names, in prompt order: the sink, ``memory 1..n``, ``query``, ``template``.
    - ``share``: float32 ``(n_layers, n_segments)``, share of the readers' attention per segment, rows sum to 1.
    - ``per_token``: float32 ``(n_layers, n_segments)``, ``share`` divided by the segment's token count.
    - ``n_segment_tokens``: int64 ``(n_segments,)``; ``segment_of_token``: int64 ``(n_tokens,)``.
    - ``memories``: the memory texts; ``capture``: the underlying :class:`AttentionCapture`.
    - ``sinks``: the sink table of the prompt (:func:`memviz.attention.metrics.analyze_sinks`, default thresholds),
      so a memory that holds a (secondary) sink token can be told apart from one the query reads.
    """

    prompt: str
    query: str
    memories: list[str]
    segments: list[str]
    share: np.ndarray
    per_token: np.ndarray
    n_segment_tokens: np.ndarray
    segment_of_token: np.ndarray
    capture: AttentionCapture
    sinks: list[dict] = field(default_factory=list)

    def table(self) -> list[dict]:
        """One row per segment: segment, tokens, mean share over layers, max share, mean share per token, and
        the sink tokens it holds (``"text"·position kind layers``, "; "-separated; plain text)."""
        held: dict[int, list[str]] = {}
        for r in self.sinks:
            seg = int(self.segment_of_token[r["position"]])
            held.setdefault(seg, []).append(f"{r['token']!r}·{r['position']} {r['kind']} {r['layers']}")
        return [
            {
                "segment": s,
                "tokens": int(self.n_segment_tokens[i]),
                "mean_share": float(self.share[:, i].mean()),
                "max_share": float(self.share[:, i].max()),
                "share_per_token": float(self.per_token[:, i].mean()),
                "sink_tokens": "; ".join(held.get(i, [])),
            }
            for i, s in enumerate(self.segments)
        ]


def segment_attention(
    att: np.ndarray, segment_of_token: np.ndarray, n_segments: int, readers: np.ndarray
) -> np.ndarray:
    """Share of the readers' attention on each segment: float32 ``(n_layers, n_segments)``.

    ``att``: ``(n_layers, n_heads, q, k)``; ``segment_of_token``: int ``(k,)`` in ``[0, n_segments)``;
    ``readers``: int array of query positions. Averaged over heads and readers.
    """
    onehot = np.zeros((att.shape[-1], n_segments), dtype=np.float32)
    onehot[np.arange(att.shape[-1]), segment_of_token] = 1.0
    rows = att[:, :, readers, :]  # (L, H, r, k)
    return np.einsum("lhrk,ks->ls", rows, onehot, optimize=True) / (att.shape[1] * len(readers))


def memory_prompt_attention(
    memories: list[str], query: str, model: str | LoadedModel = "smollm2", max_tokens: int | None = 1024
) -> PromptAttention:
    """Assemble the prompt (memories, then the query), run the model, and measure per layer how much of the
    query's attention each memory, the sink token, the query itself and the template receive.

    Raises EmptyTextError (empty query or memory), ConfigError (the prompt is longer than ``max_tokens`` (at most
    1024): use fewer or shorter memories), ModelNotAvailableError.
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    prompt, parts = build_prompt(list(memories), query)
    limit = token_limit(loaded, max_tokens)
    enc = loaded.tokenizer(prompt, add_special_tokens=True, return_offsets_mapping=True, verbose=False)
    ids = np.asarray(enc["input_ids"], dtype=np.int64)
    if ids.size > limit:
        raise ConfigError(
            f"the prompt has {ids.size} tokens, more than the limit of {limit}: use fewer or shorter memories"
        )
    offsets = np.asarray(enc["offset_mapping"], dtype=np.int64).reshape(-1, 2)
    raw = loaded.tokenizer.convert_ids_to_tokens(ids.tolist())
    labels = [prompt[s:e] if e > s else raw[i] for i, (s, e) in enumerate(offsets.tolist())]
    names = [SINK] + [p[0] for p in parts] + [TEMPLATE]
    # a token belongs to the part its first character falls in (special tokens and glue: template)
    starts = np.array([p[1] for p in parts])
    ends = np.array([p[2] for p in parts])
    tok_start = offsets[:, 0]
    has_text = offsets[:, 1] > offsets[:, 0]
    inside = (tok_start[:, None] >= starts[None, :]) & (tok_start[:, None] < ends[None, :]) & has_text[:, None]
    seg = np.where(inside.any(axis=1), inside.argmax(axis=1) + 1, len(names) - 1)
    seg[0] = 0  # the first token: the primary sink of decoders ([CLS] in BERT-style encoders)
    readers = np.nonzero(seg == len(parts))[0]  # the query's tokens
    if readers.size == 0:
        raise ConfigError("the query has no tokens in the prompt")
    cap = capture_token_ids(loaded, ids, labels, text=prompt, offsets=offsets)
    share = segment_attention(cap.attentions, seg, len(names), readers).astype(np.float32)
    counts = np.bincount(seg, minlength=len(names)).astype(np.int64)
    per_token = (share / np.maximum(counts, 1)[None, :]).astype(np.float32)
    sinks = analyze_sinks(cap.attentions, cap.causal, cap.tokens, hidden_norms=cap.hidden_norms).sinks
    return PromptAttention(
        prompt=prompt,
        query=query,
        memories=list(memories),
        segments=names,
        share=share,
        per_token=per_token,
        n_segment_tokens=counts,
        segment_of_token=seg.astype(np.int64),
        capture=cap,
        sinks=sinks,
    )
