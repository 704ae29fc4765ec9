"""The model's own memory: attention capture, attention-sink metrics and KV-cache policies (no streamlit).

Import the submodules directly; this package imports nothing heavy (torch/transformers load on first use):

- :mod:`memviz.attention.models`: built-in models ("minilm", "smollm2") and any Hugging Face model, cached per process.
- :mod:`memviz.attention.capture`: attention ``(n_layers, n_heads, q, k)`` with token labels.
- :mod:`memviz.attention.metrics`: received attention, Gu et al. 2024 sink metric, primary/secondary sinks.
- :mod:`memviz.attention.kvcache`: full / window / StreamingLLM / H2O caches, retained mass, perplexity.
- :mod:`memviz.attention.prompt`: attention on recalled memories inside a prompt.
- :mod:`memviz.attention.report`: text -> sink report (what ``memviz sinks`` prints).
- :mod:`memviz.attention.cli`: the ``sinks`` click command.
"""

from __future__ import annotations

__all__ = ["analyze_text", "capture_attention", "load_model", "memory_prompt_attention", "run_kv_experiment"]


def __getattr__(name: str):  # lazy re-exports keep ``import memviz.attention`` cheap
    if name == "analyze_text":
        from memviz.attention.report import analyze_text

        return analyze_text
    if name == "capture_attention":
        from memviz.attention.capture import capture_attention

        return capture_attention
    if name == "load_model":
        from memviz.attention.models import load_model

        return load_model
    if name == "memory_prompt_attention":
        from memviz.attention.prompt import memory_prompt_attention

        return memory_prompt_attention
    if name == "run_kv_experiment":
        from memviz.attention.kvcache import run_kv_experiment

        return run_kv_experiment
    raise AttributeError(name)
