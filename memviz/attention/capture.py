"""Capture attention weights and hidden-state norms from one forward pass of a real model.

The result is an :class:`AttentionCapture`: attention of shape ``(n_layers, n_heads, q, k)`` (here ``q == k ==
n_tokens``: every token is both a query and a key), with one text label per token.

Long inputs: the input is cut to ``max_tokens`` tokens (default 512, at most :data:`HARD_MAX_TOKENS` and the model's
own limit). The capture says so (``truncated``, ``n_input_tokens``); it never tries to hold more. At 1024 tokens
SmolLM2's attention alone is 30 x 9 x 1024 x 1024 float32 = 1.1 GB, which is why the limit exists.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memviz.attention.models import LoadedModel, load_model
from memviz.errors import ConfigError, EmptyTextError

DEFAULT_MAX_TOKENS = 512
#: The longest input one capture holds (memory: n_layers * n_heads * n^2 * 4 bytes).
HARD_MAX_TOKENS = 1024


@dataclass(frozen=True, eq=False)
class AttentionCapture:
    """Attention of one text through one model.

    - ``attentions``: float32, shape ``(n_layers, n_heads, q, k)`` with ``q == k == n_tokens``; row
      ``[l, h, i, :]`` is query i's attention distribution in layer l, head h (non-negative, sums to 1; for a
      causal model entries with key > query are 0).
    - ``tokens``: the text of each token (the substring of the input it covers; the token itself for special
      tokens such as ``[CLS]``), length ``n_tokens``. Plain text, not escaped.
    - ``token_ids``: int64, shape ``(n_tokens,)``.
    - ``offsets``: int64, shape ``(n_tokens, 2)``: character span ``[start, end)`` of each token in ``text``
      (``(0, 0)`` for special tokens), or None.
    - ``hidden_norms``: float32, shape ``(n_layers, n_tokens)``: l2 norm of the residual-stream hidden state that
      enters layer l (the keys and values of layer l are computed from it).
    - ``mlp_norms``: float32, shape ``(n_layers, n_tokens)``: l2 norm of the MLP (feed-forward) output of layer l,
      the quantity the secondary-sinks paper ties to sink strength; None if the architecture is not recognised.
    - ``n_input_tokens``: tokens in the whole input before truncation; ``truncated`` is True when it exceeds
      ``n_tokens``. ``seconds``: wall time of tokenisation + forward pass.
    """

    model_name: str
    causal: bool
    text: str
    tokens: list[str]
    token_ids: np.ndarray
    attentions: np.ndarray
    hidden_norms: np.ndarray
    mlp_norms: np.ndarray | None
    n_input_tokens: int
    truncated: bool
    seconds: float
    offsets: np.ndarray | None = None
    info: dict[str, Any] = field(default_factory=dict)

    @property
    def n_layers(self) -> int:
        return int(self.attentions.shape[0])

    @property
    def n_heads(self) -> int:
        return int(self.attentions.shape[1])

    @property
    def n_tokens(self) -> int:
        return int(self.attentions.shape[-1])


def token_limit(loaded: LoadedModel, max_tokens: int | None) -> int:
    """The number of tokens a capture keeps: ``max_tokens`` (default 512) bounded by the model and 1024.

    Raises ConfigError when ``max_tokens`` < 2.
    """
    n = DEFAULT_MAX_TOKENS if max_tokens is None else int(max_tokens)
    if n < 2:
        raise ConfigError(f"max_tokens must be at least 2, got {max_tokens}")
    return min(n, HARD_MAX_TOKENS, loaded.max_positions)


def tokenize(loaded: LoadedModel, text: str, max_tokens: int | None = None) -> dict[str, Any]:
    """Tokenise ``text`` for ``loaded`` (with the model's special tokens), cut to :func:`token_limit`.

    Returns ``{"ids": int64 (n,), "offsets": int64 (n, 2), "labels": list[str], "n_input_tokens": int,
    "truncated": bool}``. Raises EmptyTextError for empty or whitespace-only text.
    """
    if text is None or not str(text).strip():
        raise EmptyTextError("the text is empty")
    limit = token_limit(loaded, max_tokens)
    tok = loaded.tokenizer
    full = tok(text, add_special_tokens=True, return_offsets_mapping=True, verbose=False)
    n_input = len(full["input_ids"])
    if n_input > limit:
        full = tok(text, add_special_tokens=True, return_offsets_mapping=True, truncation=True, max_length=limit)
    ids = np.asarray(full["input_ids"], dtype=np.int64)[:limit]
    offsets = np.asarray(full["offset_mapping"], dtype=np.int64).reshape(-1, 2)[:limit]
    raw = tok.convert_ids_to_tokens(ids.tolist())
    labels = [text[s:e] if e > s else raw[i] for i, (s, e) in enumerate(offsets.tolist())]
    return {"ids": ids, "offsets": offsets, "labels": labels, "n_input_tokens": n_input, "truncated": n_input > limit}


def _base_model(model: Any) -> Any:
    base = getattr(model, "base_model", None)
    return base if base is not None else model


def layer_modules(model: Any) -> list[Any]:
    """The transformer blocks of ``model`` in order (Llama-style ``layers``, BERT ``encoder.layer``, GPT-2 ``h``)."""
    base = _base_model(model)
    for path in ("layers", "encoder.layer", "h", "decoder.layers", "model.layers"):
        obj = base
        for part in path.split("."):
            obj = getattr(obj, part, None)
            if obj is None:
                break
        if obj is not None and hasattr(obj, "__len__") and len(obj) > 0:
            return list(obj)
    return []


def _mlp_module(layer: Any) -> Any | None:
    if hasattr(layer, "mlp"):  # Llama, Mistral, Qwen, GPT-2, ...
        return layer.mlp
    out = getattr(layer, "output", None)  # BERT: intermediate -> output.dense (before residual + LayerNorm)
    if out is not None and hasattr(out, "dense"):
        return out.dense
    return None


def capture_token_ids(
    loaded: LoadedModel,
    token_ids: np.ndarray,
    labels: list[str] | None = None,
    *,
    text: str = "",
    offsets: np.ndarray | None = None,
    n_input_tokens: int | None = None,
) -> AttentionCapture:
    """Run one forward pass over ``token_ids`` (int, shape ``(n,)``) and capture attention and norms.

    ``labels`` defaults to the ids as strings. Raises EmptyTextError when ``token_ids`` is empty.
    """
    import torch

    t0 = time.perf_counter()
    ids = np.asarray(token_ids, dtype=np.int64).reshape(-1)
    if ids.size == 0:
        raise EmptyTextError("no tokens to capture")
    labels = list(labels) if labels is not None else [str(i) for i in ids.tolist()]
    base = _base_model(loaded.model)
    layers = layer_modules(loaded.model)
    mlp_out: dict[int, Any] = {}
    hooks = []
    mlps = [m for m in (_mlp_module(layer) for layer in layers) if m is not None]
    if layers and len(mlps) == len(layers):  # hooked only when every layer has an MLP
        for i, m in enumerate(mlps):

            def hook(_mod, _inp, out, i=i):
                mlp_out[i] = (out[0] if isinstance(out, tuple) else out).detach()

            hooks.append(m.register_forward_hook(hook))
    try:
        with loaded.lock, torch.inference_mode():
            out = base(
                input_ids=torch.from_numpy(ids)[None, :],
                output_attentions=True,
                output_hidden_states=True,
                use_cache=False,
            )
    finally:
        for h in hooks:
            h.remove()
    atts = out.attentions
    if not atts:
        raise ConfigError(
            f"model {loaded.name!r} returned no attention weights: it must be loaded with eager attention"
        )
    n_layers, n = len(atts), ids.size
    attentions = np.empty((n_layers, atts[0].shape[1], n, n), dtype=np.float32)
    for li, a in enumerate(atts):
        attentions[li] = a[0].float().numpy()
    hs = torch.stack([h[0] for h in out.hidden_states[:n_layers]]).float()  # (n_layers, n, d)
    hidden_norms = torch.linalg.vector_norm(hs, dim=-1).numpy().astype(np.float32)
    mlp_norms = None
    if len(mlp_out) == n_layers:
        m = torch.stack([mlp_out[i][0] for i in range(n_layers)]).float()
        mlp_norms = torch.linalg.vector_norm(m, dim=-1).numpy().astype(np.float32)
    del out, atts
    n_input = int(n_input_tokens if n_input_tokens is not None else n)
    return AttentionCapture(
        model_name=loaded.name,
        causal=loaded.causal,
        text=text,
        tokens=labels,
        token_ids=ids,
        attentions=attentions,
        hidden_norms=hidden_norms,
        mlp_norms=mlp_norms,
        n_input_tokens=n_input,
        truncated=n_input > n,
        seconds=time.perf_counter() - t0,
        offsets=offsets,
    )


def capture_attention(
    text: str, model: str | LoadedModel = "smollm2", max_tokens: int | None = DEFAULT_MAX_TOKENS
) -> AttentionCapture:
    """Tokenise ``text`` and capture its attention in ``model`` (a built-in name, a folder, an id or a LoadedModel).

    The input is cut to ``max_tokens`` tokens (default 512; at most 1024 and the model's limit): see
    :class:`AttentionCapture` for the shapes. On SmolLM2 (2-core CPU) 512 tokens take about 1.5 s warm.

    Raises EmptyTextError (empty text), ModelNotAvailableError (model cannot be loaded), ConfigError
    (max_tokens < 2, or a model that returns no attention weights).
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    t0 = time.perf_counter()
    enc = tokenize(loaded, text, max_tokens)
    cap = capture_token_ids(
        loaded, enc["ids"], enc["labels"], text=text, offsets=enc["offsets"], n_input_tokens=enc["n_input_tokens"]
    )
    object.__setattr__(cap, "seconds", time.perf_counter() - t0)
    return cap
