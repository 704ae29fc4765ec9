"""Helpers of the attention tests (a module with a unique name, importable from any test file)."""

from __future__ import annotations


def make_tiny_llama(attn: str = "eager", n_layers: int = 3, n_heads: int = 4, n_kv_heads: int = 2):
    """A randomly initialised 3-layer Llama (no weights needed), wrapped as a LoadedModel without tokenizer."""
    import torch
    from transformers import LlamaConfig, LlamaForCausalLM

    from memviz.attention.models import LoadedModel

    torch.manual_seed(0)
    cfg = LlamaConfig(
        vocab_size=64,
        hidden_size=32,
        intermediate_size=64,
        num_hidden_layers=n_layers,
        num_attention_heads=n_heads,
        num_key_value_heads=n_kv_heads,
        max_position_embeddings=128,
    )
    cfg._attn_implementation = attn
    model = LlamaForCausalLM(cfg).eval()
    return LoadedModel(
        name=f"tiny-llama-{attn}",
        source="random",
        model=model,
        tokenizer=None,
        causal=True,
        n_layers=n_layers,
        n_heads=n_heads,
        max_positions=128,
    )
