"""Streamlit glue of the Attention sinks page: its cached calls into :mod:`memviz.attention` (one model, capture,
report, KV experiment and prompt per set of inputs and process), its two reads of the memory store and its input
rows (model and thresholds, input text, KV-cache controls, the prompt's memories, the token view's filters) and
sink table. Every text comes with its name (a :class:`memviz.attention.samples.Passage` or a label beside the
memories), which the page puts in its captions and figure titles."""

from __future__ import annotations

import streamlit as st

from memviz.attention.capture import HARD_MAX_TOKENS, AttentionCapture
from memviz.attention.kvcache import KVExperiment
from memviz.attention.metrics import SINK_COLUMNS
from memviz.attention.prompt import stored_memory_line
from memviz.attention.samples import Passage, PromptExample, default_sample, long_sample
from memviz.errors import MemvizError
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.state import get_engine
from memviz.viz import attention_tables as vt
from memviz.viz.attention_lines import MAX_TOP_K

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


def store_text(key: str = "attn_store_pick", limit: int = STORE_LIMIT) -> Passage | None:
    """A pick of the store's first ``limit`` memories (the first five picked), joined as '[date] speaker: text'
    lines and named "N memories picked from the store"; None (with a note) when the store is unavailable or
    empty, or nothing is picked."""
    try:
        df = get_engine().read.table(["id", "text", "speaker", "event_time_s", "created_time_s"]).head(limit)
    except MemvizError as e:
        st.warning(f"Could not read the store: {inert(e)}")
        return None
    if df.empty:
        st.info("The store has no memories yet.")
        return None
    labels = vt.store_memory_labels(df)
    picked = st.multiselect(
        "Memories (in store order)", list(labels), default=list(labels)[:5], format_func=lambda i: labels[i], key=key
    )
    text = vt.memory_lines(df, picked)
    return Passage(text, vt.count_label(len(picked), "memory", "memories") + " picked from the store") if text else None


def recall_texts(query: str, k: int = 5) -> list[str] | None:
    """The top ``k`` memories recalled for ``query`` from the app's store, each as ``"[date] speaker: text"``
    (:func:`memviz.attention.prompt.stored_memory_line`): a pure read (no reinforcement, no event; the store's
    version does not change). None (with a note) when recall fails."""
    try:
        result = get_engine().recall(query, k=k, reinforce=False)
    except MemvizError as e:
        st.warning(f"Recall failed: {inert(e)}")
        return None
    return [stored_memory_line(h.memory) for h in result.hits]


# ------------------------------------------------------------------ input rows of the page


def settings() -> tuple[str, int, float, float]:
    """The model row: model (a folder or id when "custom"; empty until one is typed), max tokens, ε and the min
    share of heads. Returns ``(model_name, max_tokens, epsilon, min_head_share)``."""
    c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
    name = c1.selectbox("Model", list(MODELS), format_func=lambda m: MODELS[m], key="attn_model")
    if name == "custom":
        name = st.text_input("Model folder or Hugging Face id", key="attn_custom_model").strip()
    max_tokens = c2.number_input(
        "Max tokens",
        16,
        HARD_MAX_TOKENS,
        512,
        step=32,
        key="attn_max_tokens",
        help=f"Longer inputs are cut (at most {HARD_MAX_TOKENS})",
    )
    epsilon = c3.slider("ε (sink threshold)", 0.05, 0.95, 0.3, 0.05, key="attn_eps", help="Gu et al. 2024 use 0.3")
    min_head_share = c4.slider(
        "Min share of heads",
        0.05,
        1.0,
        0.25,
        0.05,
        key="attn_mhs",
        help="A token is a sink in a layer when this share of its heads exceed ε",
    )
    return str(name or ""), int(max_tokens), float(epsilon), float(min_head_share)


def input_text() -> Passage:
    """The text to analyse and its name: memories picked from the store (:func:`store_text`) or a text area
    (default :func:`memviz.attention.samples.default_sample`; "typed text" once edited), the latter also when the
    store gives nothing."""
    source = st.radio("Input", ["Text", "Memories from the store"], horizontal=True, key="attn_source")
    picked = store_text() if source == "Memories from the store" else None
    if picked is not None:
        return picked
    default = default_sample()
    text = st.text_area("Text", value=default.text, height=140, key="attn_text", help=f"Default: {default.label}")
    return default.named(text)


KV_SOURCES = ("long", "above")


def kv_text(text: Passage) -> Passage:
    """The KV-cache view's text: :func:`memviz.attention.samples.long_sample` (LoCoMo conv-26 sessions 1-2, long
    enough for StreamingLLM's effect, when the data is there) or ``text``."""
    long = long_sample(2)
    names = {"long": long.label[:1].upper() + long.label[1:], "above": "The text above"}
    src = st.radio(
        "Text",
        KV_SOURCES,
        format_func=names.get,
        horizontal=True,
        key="attn_kv_src",
        help="StreamingLLM's effect needs a few hundred tokens",
    )
    return long if src == "long" else text


def kv_budget_range(n: int) -> tuple[int, int]:
    """The cache budget slider's ``(maximum, default)`` for ``n >= 8`` tokens: up to ``n - 1`` (at least 5),
    starting at a quarter of the text kept within 4..64."""
    return max(5, n - 1), min(64, max(4, n // 4))


def kv_controls(n: int) -> tuple[int, int, int, bool]:
    """The KV-cache row for ``n`` tokens: ``(budget, StreamingLLM sink tokens, H2O recent tokens, with losses)``."""
    top, default = kv_budget_range(n)
    c1, c2, c3, c4 = st.columns(4)
    budget = c1.slider("Cache budget (tokens)", 4, top, default, key="attn_budget")
    n_sink = c2.number_input("StreamingLLM sink tokens", 0, max(0, budget - 1), min(4, budget - 1), key="attn_nsink")
    n_recent = c3.slider("H2O recent tokens", 1, budget, max(1, budget // 2), key="attn_nrecent")
    losses = c4.toggle(
        "Perplexity with the real weights",
        value=True,
        key="attn_losses",
        help="One forward pass per policy with its cache as the attention mask",
    )
    return int(budget), int(n_sink), int(n_recent), bool(losses)


def prompt_memories(query: str, example: PromptExample) -> tuple[list[str] | None, str]:
    """The memories to put in the prompt and their name: recalled for ``query`` from the store (k = 5; listed,
    each ``"[date] speaker: text"``) or pasted one per line (starting with ``example``'s memories, named by it
    until edited). The memories are None or empty when there are none."""
    src = st.radio(
        "Memories", ["Paste (one per line)", "Recall from the store (k = 5)"], horizontal=True, key="attn_mem_src"
    )
    if src.startswith("Recall"):
        memories = recall_texts(query) if query.strip() else None
        label = vt.count_label(len(memories or []), "memory", "memories") + " recalled from the store for the query"
        if memories:
            st.text(vt.numbered(f"Recalled ({label}):", memories))
        return memories, label
    pasted = st.text_area("Memories, one per line", value="\n".join(example.memories), height=150, key="attn_memories")
    memories = [m for m in pasted.splitlines() if m.strip()]
    return memories, example.label if memories == list(example.memories) else "memories typed on the page"


def token_view_controls(cap: AttentionCapture, column) -> dict:
    """The token-to-token view's row (the head in ``column``): head, top k keys per query, weight threshold,
    token window (the first 128 tokens by default, up to all) and a query token to highlight. Returns the keyword
    arguments of :func:`memviz.viz.attention_lines.token_lines_figure` after ``layer_attention, tokens, layer``."""
    head = column.selectbox("Head", list(range(cap.n_heads)), key="attn_line_head")
    c1, c2, c3 = st.columns(3)
    top_k = c1.slider("Top keys per query", 1, MAX_TOP_K, 3, key="attn_line_topk", help="The heaviest lines only")
    threshold = c2.slider("Min weight", 0.0, 1.0, 0.0, 0.01, key="attn_line_min", help="Attention weight in [0, 1]")
    window = w.window_slider("Tokens", cap.n_tokens, 128, "attn_line_window", c3)
    positions = list(range(window[0], window[1]))
    query = st.selectbox(
        "Highlight the lines of query token",
        [None, *positions],
        format_func=lambda p: "none" if p is None else f"{p} · {cap.tokens[p]!r}",
        key="attn_line_query",
    )
    return {"head": head, "top_k": top_k, "threshold": threshold, "query": query, "window": window}


def sink_table(analysis) -> None:
    """The sink table of a sink analysis (:mod:`memviz.attention.metrics`) under its caption; a note if none."""
    st.subheader("Sink table")
    st.caption(vt.sink_caption(analysis.epsilon, analysis.min_head_share))
    if analysis.sinks:
        st.dataframe(
            vt.sink_table(analysis.sinks, SINK_COLUMNS),
            key="attn_sink_table",
            column_config=w.number_columns(**vt.SINK_TABLE_FORMATS),
            **w.TABLE,
        )
    else:
        st.info("No sink at this threshold.")
