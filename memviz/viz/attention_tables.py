"""Tables and captions of the Attention sinks page: pure functions of sink reports, KV experiments and store rows,
returning frames and plain text (no streamlit; streamlit shows the text escaped). Its figures are in
:mod:`memviz.viz.attention`."""

from __future__ import annotations

from collections.abc import Sequence

import pandas as pd

from memviz.attention.prompt import stored_memory_line

# Number formats of the page's tables: column -> printf format, or (label, format).
SINK_TABLE_FORMATS: dict[str, str | tuple[str, str]] = {
    "score": "%.3f",
    "peak_score": "%.3f",
    "head_share": "%.2f",
    "hidden_norm": "%.1f",
    "hidden_norm_ratio": ("norm ×", "%.1f"),
    "mlp_norm_ratio": ("MLP norm ×", "%.1f"),
}
KV_TABLE_FORMATS: dict[str, str | tuple[str, str]] = {
    "retained_share": "%.3f",
    "ppl": ("ppl (all)", "%.2f"),
    "ppl_evicted": ("ppl (after the cache is full)", "%.2f"),
}


def sink_table(sinks: Sequence[Sequence], columns: Sequence[str]) -> pd.DataFrame:
    """The sink table: one row per sink (as :func:`memviz.attention.metrics` lists them) under ``columns``."""
    return pd.DataFrame(list(sinks), columns=list(columns))


def sink_caption(epsilon: float, min_head_share: float) -> str:
    """What makes a token a sink (Gu et al. 2024), primary vs secondary, and the norm columns."""
    return (
        f"A token is a sink in a layer when at least {min_head_share:.0%} of its heads give it more than "
        f"ε = {epsilon} of the attention of the queries that see it (Gu et al. 2024). Primary: a sink in at "
        "least half the layers; secondary: fewer (after *On the Existence and Behaviour of Secondary Attention "
        "Sinks*). Norm ×: the token's hidden-state l2 norm over the median token's."
    )


def tokens_note(n_tokens: int, n_input_tokens: int, truncated: bool) -> str:
    """``"N tokens"``, with ``" (cut from M)"`` when the input was truncated."""
    return f"{n_tokens} tokens" + (f" (cut from {n_input_tokens})" if truncated else "")


def capture_caption(
    n_tokens: int,
    n_input_tokens: int,
    truncated: bool,
    n_layers: int,
    n_heads: int,
    seconds: float,
    gu_first_token: float,
) -> str:
    """The line above the sink map / head view: tokens, model shape, capture time and the first token's metric."""
    return (
        f"{tokens_note(n_tokens, n_input_tokens, truncated)} · {n_layers} layers × {n_heads} heads · "
        f"captured in {seconds:.2f} s · first token's Gu et al. sink metric {gu_first_token:.2f}"
    )


def kv_caption(n_tokens: int, n_input_tokens: int, truncated: bool, budget: int) -> str:
    """The line above the KV-cache table."""
    return (
        f"{tokens_note(n_tokens, n_input_tokens, truncated)}, budget {budget}. H2O keeps entries per layer "
        "and head: its timeline shows the share of heads keeping each entry."
    )


def store_memory_labels(memories: pd.DataFrame, max_chars: int = 90) -> dict[str, str]:
    """``{id: "speaker: text"}`` (text cut to ``max_chars``; no speaker: the text alone) of memories
    (``id``, ``text``, ``speaker``), in their order."""
    return {
        str(r.id): f"{r.speaker}: {str(r.text)[:max_chars]}" if r.speaker else str(r.text)[:max_chars]
        for r in memories[["id", "text", "speaker"]].itertuples(index=False)
    }


def memory_lines(memories: pd.DataFrame, ids: Sequence[str]) -> str | None:
    """The memories whose id is in ``ids``, in the frame's order, one line each as the prompt renders them:
    ``"[YYYY-MM-DD] speaker: text"`` (:func:`memviz.attention.prompt.stored_memory_line`; the date when the frame
    has ``event_time_s`` / ``created_time_s``); None when none."""
    rows = memories[memories["id"].astype(str).isin(list(ids))]
    return "\n".join(stored_memory_line(r) for r in rows.itertuples(index=False)) or None


def count_label(n: int, one: str, many: str) -> str:
    """``"1 memory"``, ``"5 memories"``."""
    return f"{n} {one if n == 1 else many}"


def numbered(title: str, items: Sequence[str]) -> str:
    """``title`` then one ``"1. item"`` line per item."""
    return f"{title}\n" + "\n".join(f"{i}. {m}" for i, m in enumerate(items, start=1))
