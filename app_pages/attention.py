"""Attention sinks: the model's own memory (attention, sinks, KV cache) on real weights, tied to recalled memories.

A thin page: it reads widgets, calls one cached memviz.attention function per view (:mod:`memviz.ui.attention`)
and renders memviz.viz figures.
"""

from __future__ import annotations

import pandas as pd
import streamlit as st

from memviz.attention.capture import AttentionCapture
from memviz.attention.kvcache import POLICIES, POLICY_LABELS
from memviz.attention.samples import Passage, prompt_example
from memviz.errors import MemvizError
from memviz.ui import attention as ua
from memviz.ui import widgets as w
from memviz.ui.inert import inert
from memviz.ui.widgets import chart_with_exports as chart
from memviz.viz import attention as va
from memviz.viz import attention_lines as vl
from memviz.viz import attention_tables as vt

VIEWS = ["Sink map", "Head view", "KV cache", "Memories in the prompt"]
HEAD_STYLES = ["Heatmap grid", "Token to token"]

# ------------------------------------------------------------------ views


def sink_map_view(rep, source: str) -> None:
    cap, an = rep.capture, rep.analysis
    lo, hi = w.window_slider("Token window", cap.n_tokens, 160, "attn_map_window")
    fig = va.sink_map_figure(an.received_mean, cap.tokens, (lo, hi), an.sink_mask, source=source)
    chart(fig, "sink-map", "attn_map")
    shares = (an.first_token_share, an.uniform_share, an.heads_with_sink_share, cap.tokens[0])
    chart(va.first_token_share_figure(*shares, source=source), "first-token-share", "attn_first")
    ua.sink_table(an)


def head_view(cap: AttentionCapture, source: str) -> None:
    style = st.radio("Draw", HEAD_STYLES, horizontal=True, key="attn_head_style")
    c1, c2 = st.columns([1, 2])
    layer = c1.slider("Layer", 0, cap.n_layers - 1, min(3, cap.n_layers - 1), key="attn_layer")
    if style == HEAD_STYLES[1]:  # bertviz's head view: lines from query tokens to key tokens
        kw = ua.token_view_controls(cap, c2)
        fig = vl.token_lines_figure(cap.attentions[layer], cap.tokens, layer, **kw, source=source)
        chart(fig, f"tokens-layer{layer}-head{kw['head']}", "attn_lines")
        return
    heads = c2.multiselect(
        "Heads", list(range(cap.n_heads)), default=list(range(min(3, cap.n_heads))), key="attn_heads"
    )
    c3, c4 = st.columns(2)
    q = w.window_slider("Query window", cap.n_tokens, 40, "attn_qwin", c3)
    k = w.window_slider("Key window", cap.n_tokens, 40, "attn_kwin", c4)
    if not heads:
        st.info("Pick at least one head.")
        return
    fig = va.head_view_figure(cap.attentions[layer], cap.tokens, layer, heads, q, k, source=source)
    chart(fig, f"heads-layer{layer}", "attn_heads_fig")


def kv_view(name: str, passage: Passage, max_tokens: int) -> None:
    kv_passage = ua.kv_text(passage)
    kv_text, source = kv_passage.text, kv_passage.label
    cap = ua.capture(name, kv_text, max_tokens)
    n = cap.n_tokens
    if n < 8:
        st.info("The text is too short for a cache simulation.")
        return
    budget, n_sink, n_recent, losses = ua.kv_controls(n)
    exp = ua.kv(name, kv_text, max_tokens, budget, n_sink, n_recent, losses)
    st.caption(vt.kv_caption(n, cap.n_input_tokens, cap.truncated, budget) + f" Text: {source}.")
    st.dataframe(
        pd.DataFrame(exp.summary()),
        key="attn_kv_table",
        column_config=w.number_columns(**vt.KV_TABLE_FORMATS),
        **w.TABLE,
    )
    policy = st.radio(
        "Timeline of", list(POLICIES), format_func=POLICY_LABELS.get, horizontal=True, key="attn_kv_policy", index=2
    )
    layer = None
    if policy == "h2o":
        layer = st.slider("H2O layer", 0, cap.n_layers - 1, min(12, cap.n_layers - 1), key="attn_kv_layer")
    win = w.window_slider("Step window", n, 256, "attn_kv_window")
    timeline = exp.simulation.timeline(policy, layer)
    fig = va.kv_timeline_figure(timeline, cap.tokens, POLICY_LABELS[policy], budget, win, source=source)
    chart(fig, f"kv-{policy}", "attn_kv_tl")
    chart(va.retained_share_figure(exp.simulation.retained, POLICY_LABELS, source), "kv-retained", "attn_kv_ret")
    if exp.losses:
        chart(va.losses_figure(exp.losses, budget, POLICY_LABELS, source), "kv-loss", "attn_kv_loss")


def prompt_view(name: str) -> None:
    example = prompt_example()
    query = st.text_input("Query", value=example.query, key="attn_query")
    memories, source = ua.prompt_memories(query, example)
    if not memories:
        st.info("No memories to put in the prompt.")
        return
    res = ua.prompt(name, tuple(memories), query)
    if not res.capture.causal:
        st.caption("An encoder reads the prompt both ways; the question is what a decoder's answer positions see.")
    chart(va.memory_attention_figure(res.share, res.segments, source), "memories-in-prompt", "attn_prompt")
    st.dataframe(
        pd.DataFrame(res.table()),
        key="attn_prompt_table",
        column_config=w.number_columns(mean_share="%.3f", max_share="%.3f", share_per_token="%.4f"),
        **w.TABLE,
    )
    with st.expander(f"Prompt (memories: {source})"):
        st.text(res.prompt)


# ------------------------------------------------------------------ page

st.title("Attention sinks and the KV cache")
st.caption(
    "The model's own memory: which tokens soak up attention (sinks), what a KV cache can evict, and how "
    "much attention recalled memories get once they are in a prompt. Real weights, CPU, eager attention."
)

model_name, max_tokens, epsilon, min_head_share = ua.settings()
passage = ua.input_text()

view = st.radio("View", VIEWS, horizontal=True, key="attn_view", label_visibility="collapsed")

if not model_name:
    st.info("Enter a model folder or id.")
    st.stop()
try:
    if view == "KV cache":
        if not ua.model(model_name).causal:
            st.info("The KV-cache simulator needs a decoder: pick SmolLM2.")
            st.stop()
        kv_view(model_name, passage, max_tokens)
    elif view == "Memories in the prompt":
        prompt_view(model_name)
    else:
        rep = ua.report(model_name, passage.text, max_tokens, epsilon, min_head_share)
        cap = rep.capture
        meta = (cap.n_tokens, cap.n_input_tokens, cap.truncated, cap.n_layers, cap.n_heads, cap.seconds)
        st.caption(vt.capture_caption(*meta, rep.analysis.gu_first_token) + f" · text: {passage.label}")
        if view == "Sink map":
            sink_map_view(rep, passage.label)
        else:
            head_view(cap, passage.label)
except MemvizError as e:
    st.error(inert(e))
