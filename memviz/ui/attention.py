"""Streamlit glue of the Attention sinks page: its cached calls into :mod:`memviz.attention` (one model, capture,
report, KV experiment and prompt per set of inputs and process) and its two reads of the memory store."""

from __future__ import annotations

import streamlit as st

from memviz.attention.capture import AttentionCapture
from memviz.attention.kvcache import KVExperiment
from memviz.errors import MemvizError
from memviz.ui.state import get_engine
from memviz.viz import attention as va

STORE_LIMIT = 500  # the store memories offered as input
MODELS = {  # the page's model choices
    "smollm2": "SmolLM2-135M (decoder, 30 x 9)",
    "minilm": "MiniLM-L6 (encoder, 6 x 12)",
    "custom": "Other: a folder or Hugging Face id",
}


@st.cache_resource(show_spinner="Loading the model (SmolLM2's first load builds a cache, ~30 s) ...", max_entries=3)
def model(name: str):
    from memviz.attention.models import load_model

    return load_model(name)


@st.cache_resource(show_spinner="Capturing attention ...", max_entries=4)
def capture(name: str, text: str, max_tokens: int) -> AttentionCapture:
    from memviz.attention.capture import capture_attention

    return capture_attention(text, model(name), max_tokens)


@st.cache_resource(max_entries=8)
def report(name: str, text: str, max_tokens: int, epsilon: float, min_head_share: float):
    from memviz.attention.report import SinkReport, analyze_capture

    cap = capture(name, text, max_tokens)
    return SinkReport(cap, analyze_capture(cap, epsilon, min_head_share))


@st.cache_resource(show_spinner="Simulating the KV cache and measuring the loss under each policy ...", max_entries=4)
def kv(name: str, text: str, max_tokens: int, budget: int, n_sink: int, n_recent: int, losses: bool) -> KVExperiment:
    from memviz.attention.kvcache import run_kv_experiment

    return run_kv_experiment(
        text,
        model(name),
        budget=budget,
        n_sink=n_sink,
        n_recent=n_recent,
        with_losses=losses,
        capture=capture(name, text, max_tokens),
    )


@st.cache_resource(show_spinner="Running the prompt through the model ...", max_entries=4)
def prompt(name: str, memories: tuple[str, ...], query: str):
    from memviz.attention.prompt import memory_prompt_attention

    return memory_prompt_attention(list(memories), query, model(name))


def store_text(key: str = "attn_store_pick", limit: int = STORE_LIMIT) -> str | None:
    """A pick of the store's first ``limit`` memories (the first five picked), joined as 'speaker: text' lines;
    None (with a note) when the store is unavailable or empty, or nothing is picked."""
    try:
        df = get_engine().read.table(["id", "text", "speaker"]).head(limit)
    except MemvizError as e:
        st.warning(f"Could not read the store: {e}")
        return None
    if df.empty:
        st.info("The store has no memories yet.")
        return None
    labels = va.store_memory_labels(df)
    picked = st.multiselect(
        "Memories (in store order)", list(labels), default=list(labels)[:5], format_func=lambda i: labels[i], key=key
    )
    return va.memory_lines(df, picked)


def recall_texts(query: str, k: int = 5) -> list[str] | None:
    """The texts of the top ``k`` memories recalled for ``query`` from the app's store: a pure read (no
    reinforcement, no event; the store's version does not change). None (with a note) when recall fails."""
    try:
        result = get_engine().recall(query, k=k, reinforce=False)
    except MemvizError as e:
        st.warning(f"Recall failed: {e}")
        return None
    return [h.memory.text for h in result.hits]
