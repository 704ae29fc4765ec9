"""Attention sinks: the model's own memory (attention, sinks, KV cache) on real weights, tied to recalled memories.

A thin page: it reads widgets, calls one memviz.attention function per view (cached) and renders memviz.viz figures.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz.attention.capture import HARD_MAX_TOKENS, AttentionCapture
from memviz.attention.kvcache import POLICIES, POLICY_LABELS, KVExperiment
from memviz.attention.metrics import SINK_COLUMNS
from memviz.attention.samples import default_passage, long_passage, recall_example
from memviz.errors import MemvizError
from memviz.ui.state import get_engine
from memviz.viz import attention as va

MODELS = {
    "smollm2": "SmolLM2-135M (decoder, 30 x 9)",
    "minilm": "MiniLM-L6 (encoder, 6 x 12)",
    "custom": "Other: a folder or Hugging Face id",
}
VIEWS = ["Sink map", "Head view", "KV cache", "Memories in the prompt"]
STORE_LIMIT = 500

# ------------------------------------------------------------------ cached engine calls

@st.cache_resource(show_spinner="Loading the model (SmolLM2's first load builds a cache, ~30 s) ...", max_entries=3)
def _model(name: str):
    from memviz.attention.models import load_model

    return load_model(name)


@st.cache_resource(show_spinner="Capturing attention ...", max_entries=4)
def _capture(name: str, text: str, max_tokens: int) -> AttentionCapture:
    from memviz.attention.capture import capture_attention

    return capture_attention(text, _model(name), max_tokens)


@st.cache_resource(max_entries=8)
def _report(name: str, text: str, max_tokens: int, epsilon: float, min_head_share: float):
    from memviz.attention.report import SinkReport, analyze_capture

    cap = _capture(name, text, max_tokens)
    return SinkReport(cap, analyze_capture(cap, epsilon, min_head_share))


@st.cache_resource(show_spinner="Simulating the KV cache and measuring the loss under each policy ...", max_entries=4)
def _kv(name: str, text: str, max_tokens: int, budget: int, n_sink: int, n_recent: int, losses: bool) -> KVExperiment:
    from memviz.attention.kvcache import run_kv_experiment

    return run_kv_experiment(
        text, _model(name), budget=budget, n_sink=n_sink, n_recent=n_recent, with_losses=losses,
        capture=_capture(name, text, max_tokens),
    )


@st.cache_resource(show_spinner="Running the prompt through the model ...", max_entries=4)
def _prompt(name: str, memories: tuple[str, ...], query: str):
    from memviz.attention.prompt import memory_prompt_attention

    return memory_prompt_attention(list(memories), query, _model(name))


# ------------------------------------------------------------------ helpers

def exports(fig, name: str, key: str) -> None:
    """Download buttons for one figure: HTML (offline, plotly.js inlined), PNG and SVG (kaleido + Chromium)."""
    cols = st.columns([1, 1, 1, 5])
    cols[0].download_button("HTML", lambda: va.figure_html(fig), file_name=f"{name}.html", mime="text/html",
                            key=f"{key}_html", on_click="ignore", icon=":material/download:")
    if va.image_export_available():
        cols[1].download_button("PNG", lambda: va.figure_image(fig, "png"), file_name=f"{name}.png",
                                mime="image/png", key=f"{key}_png", on_click="ignore", icon=":material/download:")
        cols[2].download_button("SVG", lambda: va.figure_image(fig, "svg"), file_name=f"{name}.svg",
                                mime="image/svg+xml", key=f"{key}_svg", on_click="ignore", icon=":material/download:")
    else:
        cols[1].caption("PNG/SVG: camera icon in the chart toolbar")


def chart(fig, name: str, key: str) -> None:
    st.plotly_chart(fig, config=va.PLOTLY_CONFIG, key=f"{key}_chart")
    exports(fig, name, key)


def window_slider(label: str, n: int, default: int, key: str) -> tuple[int, int]:
    if n <= default:
        return 0, n
    return st.slider(label, 0, n, (0, default), key=key, help="Token positions shown (long inputs stay readable)")


def store_text() -> str | None:
    """Memories from the store, joined as 'speaker: text' lines; None (with a note) when the store is unavailable."""
    try:
        df = get_engine().list_memories(limit=STORE_LIMIT)
    except MemvizError as e:
        st.warning(f"Could not read the store: {e}")
        return None
    if df.empty:
        st.info("The store has no memories yet.")
        return None
    labels = {
        str(r.id): f"{r.speaker}: {str(r.text)[:90]}" if r.speaker else str(r.text)[:90]
        for r in df[["id", "text", "speaker"]].itertuples(index=False)
    }
    picked = st.multiselect("Memories (in store order)", list(labels), default=list(labels)[:5],
                            format_func=labels.get, key="attn_store_pick")
    rows = df[df["id"].astype(str).isin(picked)]
    lines = [f"{r.speaker}: {r.text}" if r.speaker else str(r.text) for r in rows.itertuples(index=False)]
    return "\n".join(lines) or None


def recall_memories(query: str) -> list[str] | None:
    try:
        result = get_engine().recall(query, k=5)
    except MemvizError as e:
        st.warning(f"Recall failed: {e}")
        return None
    return [h.memory.text for h in result.hits]


# ------------------------------------------------------------------ views

def sink_map_view(rep) -> None:
    cap, an = rep.capture, rep.analysis
    lo, hi = window_slider("Token window", cap.n_tokens, 160, "attn_map_window")
    chart(va.sink_map_figure(an.received_mean, cap.tokens, (lo, hi), an.sink_mask), "sink-map", "attn_map")
    chart(va.first_token_share_figure(an.first_token_share, an.uniform_share, an.heads_with_sink_share,
                                      cap.tokens[0]), "first-token-share", "attn_first")
    st.subheader("Sink table")
    st.caption(
        f"A token is a sink in a layer when at least {an.min_head_share:.0%} of its heads give it more than "
        f"ε = {an.epsilon} of the attention of the queries that see it (Gu et al. 2024). Primary: a sink in at "
        "least half the layers; secondary: fewer (after *On the Existence and Behaviour of Secondary Attention "
        "Sinks*). Norm ×: the token's hidden-state l2 norm over the median token's."
    )
    if an.sinks:
        df = pd.DataFrame(an.sinks, columns=list(SINK_COLUMNS))
        st.dataframe(df, hide_index=True, key="attn_sink_table", column_config={
            "score": st.column_config.NumberColumn(format="%.3f"),
            "peak_score": st.column_config.NumberColumn(format="%.3f"),
            "head_share": st.column_config.NumberColumn(format="%.2f"),
            "hidden_norm": st.column_config.NumberColumn(format="%.1f"),
            "hidden_norm_ratio": st.column_config.NumberColumn("norm ×", format="%.1f"),
            "mlp_norm_ratio": st.column_config.NumberColumn("MLP norm ×", format="%.1f"),
        })
    else:
        st.info("No sink at this threshold.")


def head_view(cap: AttentionCapture) -> None:
    c1, c2 = st.columns([1, 2])
    layer = c1.slider("Layer", 0, cap.n_layers - 1, min(3, cap.n_layers - 1), key="attn_layer")
    heads = c2.multiselect("Heads", list(range(cap.n_heads)), default=list(range(min(3, cap.n_heads))),
                           key="attn_heads")
    c3, c4 = st.columns(2)
    with c3:
        q = window_slider("Query window", cap.n_tokens, 40, "attn_qwin")
    with c4:
        k = window_slider("Key window", cap.n_tokens, 40, "attn_kwin")
    if not heads:
        st.info("Pick at least one head.")
        return
    fig = va.head_view_figure(cap.attentions[layer], cap.tokens, layer, heads, q, k)
    chart(fig, f"heads-layer{layer}", "attn_heads_fig")


def kv_view(name: str, text: str, max_tokens: int) -> None:
    long = long_passage(2)
    src = st.radio("Text", ["LoCoMo conv-26, sessions 1-2", "The text above"], horizontal=True, key="attn_kv_src",
                   help="StreamingLLM's effect needs a few hundred tokens")
    kv_text = long if src.startswith("LoCoMo") else text
    cap = _capture(name, kv_text, max_tokens)
    n = cap.n_tokens
    if n < 8:
        st.info("The text is too short for a cache simulation.")
        return
    c1, c2, c3, c4 = st.columns(4)
    budget = c1.slider("Cache budget (tokens)", 4, max(5, n - 1), min(64, max(4, n // 4)), key="attn_budget")
    n_sink = c2.number_input("StreamingLLM sink tokens", 0, max(0, budget - 1), min(4, budget - 1), key="attn_nsink")
    n_recent = c3.slider("H2O recent tokens", 1, budget, max(1, budget // 2), key="attn_nrecent")
    losses = c4.toggle("Perplexity with the real weights", value=True, key="attn_losses",
                       help="One forward pass per policy with its cache as the attention mask")
    exp = _kv(name, kv_text, max_tokens, int(budget), int(n_sink), int(n_recent), bool(losses))
    st.caption(f"{n} tokens" + (f" (cut from {cap.n_input_tokens})" if cap.truncated else "")
               + f", budget {budget}. H2O keeps entries per layer and head: its timeline shows the share of heads "
               "keeping each entry.")
    rows = pd.DataFrame(exp.summary())
    st.dataframe(rows, hide_index=True, key="attn_kv_table", column_config={
        "retained_share": st.column_config.NumberColumn(format="%.3f"),
        "ppl": st.column_config.NumberColumn("ppl (all)", format="%.2f"),
        "ppl_evicted": st.column_config.NumberColumn("ppl (after the cache is full)", format="%.2f"),
    })
    policy = st.radio("Timeline of", list(POLICIES), format_func=POLICY_LABELS.get, horizontal=True,
                      key="attn_kv_policy", index=2)
    layer = None
    if policy == "h2o":
        layer = st.slider("H2O layer", 0, cap.n_layers - 1, min(12, cap.n_layers - 1), key="attn_kv_layer")
    win = window_slider("Step window", n, 256, "attn_kv_window")
    chart(va.kv_timeline_figure(exp.simulation.timeline(policy, layer), cap.tokens, POLICY_LABELS[policy], budget,
                                win), f"kv-{policy}", "attn_kv_tl")
    chart(va.retained_share_figure(exp.simulation.retained, POLICY_LABELS), "kv-retained", "attn_kv_ret")
    if exp.losses:
        fig = va.policy_loss_figure({p: v.nll for p, v in exp.losses.items()}, budget, labels=POLICY_LABELS,
                                    ppl={p: v.ppl_evicted or v.ppl for p, v in exp.losses.items()})
        chart(fig, "kv-loss", "attn_kv_loss")


def prompt_view(name: str) -> None:
    ex_memories, ex_query = recall_example()
    query = st.text_input("Query", value=ex_query, key="attn_query")
    src = st.radio("Memories", ["Paste (one per line)", "Recall from the store (k = 5)"], horizontal=True,
                   key="attn_mem_src")
    memories: list[str] | None
    if src.startswith("Recall"):
        memories = recall_memories(query) if query.strip() else None
        if memories:
            st.text("Recalled:\n" + "\n".join(f"{i}. {m}" for i, m in enumerate(memories, start=1)))
    else:
        pasted = st.text_area("Memories, one per line", value="\n".join(ex_memories), height=150, key="attn_memories")
        memories = [m for m in pasted.splitlines() if m.strip()]
    if not memories:
        st.info("No memories to put in the prompt.")
        return
    res = _prompt(name, tuple(memories), query)
    if not res.capture.causal:
        st.caption("An encoder reads the prompt both ways; the question is what a decoder's answer positions see.")
    chart(va.memory_attention_figure(res.share, res.segments), "memories-in-prompt", "attn_prompt")
    st.dataframe(pd.DataFrame(res.table()), hide_index=True, key="attn_prompt_table", column_config={
        "mean_share": st.column_config.NumberColumn(format="%.3f"),
        "max_share": st.column_config.NumberColumn(format="%.3f"),
        "share_per_token": st.column_config.NumberColumn(format="%.4f"),
    })
    with st.expander("Prompt"):
        st.text(res.prompt)


# ------------------------------------------------------------------ page

st.title("Attention sinks and the KV cache")
st.caption(
    "The model's own memory: which tokens soak up attention (sinks), what a KV cache can evict, and how much "
    "attention recalled memories get once they are in a prompt. Real weights, CPU, eager attention."
)

c1, c2, c3, c4 = st.columns([2, 1, 1, 1])
choice = c1.selectbox("Model", list(MODELS), format_func=MODELS.get, key="attn_model")
model_name = choice
if choice == "custom":
    model_name = st.text_input("Model folder or Hugging Face id", key="attn_custom_model").strip()
max_tokens = int(c2.number_input("Max tokens", 16, HARD_MAX_TOKENS, 512, step=32, key="attn_max_tokens",
                                 help=f"Longer inputs are cut (at most {HARD_MAX_TOKENS})"))
epsilon = c3.slider("ε (sink threshold)", 0.05, 0.95, 0.3, 0.05, key="attn_eps", help="Gu et al. 2024 use 0.3")
min_head_share = c4.slider("Min share of heads", 0.05, 1.0, 0.25, 0.05, key="attn_mhs",
                           help="A token is a sink in a layer when this share of its heads exceed ε")

source = st.radio("Input", ["Text", "Memories from the store"], horizontal=True, key="attn_source")
text = None
if source == "Memories from the store":
    text = store_text()
if text is None:
    text = st.text_area("Text", value=default_passage(), height=140, key="attn_text",
                        help="Default: the first turns of LoCoMo conv-26 (CC BY-NC 4.0)")

view = st.radio("View", VIEWS, horizontal=True, key="attn_view", label_visibility="collapsed")

if not model_name:
    st.info("Enter a model folder or id.")
    st.stop()
try:
    if view == "KV cache":
        if not _model(model_name).causal:
            st.info("The KV-cache simulator needs a decoder: pick SmolLM2.")
            st.stop()
        kv_view(model_name, text, max_tokens)
    elif view == "Memories in the prompt":
        prompt_view(model_name)
    else:
        rep = _report(model_name, text, max_tokens, float(epsilon), float(min_head_share))
        cap = rep.capture
        st.caption(
            f"{cap.n_tokens} tokens" + (f" (cut from {cap.n_input_tokens})" if cap.truncated else "")
            + f" · {cap.n_layers} layers × {cap.n_heads} heads · captured in {cap.seconds:.2f} s"
            + f" · first token's Gu et al. sink metric {rep.analysis.gu_first_token:.2f}"
        )
        if view == "Sink map":
            sink_map_view(rep)
        else:
            head_view(cap)
except MemvizError as e:
    st.error(str(e))
