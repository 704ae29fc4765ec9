"""KV-cache eviction policies, simulated on real attention and checked with real weights.

A *keep mask* says which keys each query may attend to: ``keep[..., i, j]`` is True when the KV entry of token j
is in the cache while token i is processed. The budget ``B`` counts every entry the query attends to, its own
included, so ``keep[..., i, :].sum() <= B`` and ``keep[..., i, i]`` is always True. Policies:

- ``full``: every earlier token (the causal mask).
- ``window``: the B most recent tokens ``i-B+1 .. i`` (window-only eviction).
- ``streaming``: StreamingLLM (Xiao et al. 2023, "Efficient Streaming Language Models with Attention Sinks"): the
  first ``n_sink`` tokens (default 4, the "attention sinks") plus the ``B - n_sink`` most recent.
- ``h2o``: H2O (Zhang et al. 2023, "H2O: Heavy-Hitter Oracle for Efficient Generative Inference of Large Language
  Models"): the ``n_recent`` most recent tokens (default B // 2) plus the heavy hitters, the entries with the
  largest attention accumulated so far; when the cache is over budget, the non-recent entry with the smallest
  accumulated attention is evicted. Simulated per layer and per attention head, as in the paper. The accumulated
  attention is taken from the full-cache attention renormalised over the entries kept (memviz's approximation:
  real H2O accumulates the attention computed under its own cache).

Perplexity under a policy (:func:`policy_losses`) runs the real model once per policy with the keep mask put into
every attention layer: token i's hidden states at every layer are then exactly what a streaming KV cache with that
policy would hold. Positions keep their original indices (StreamingLLM re-indexes positions inside the cache;
that matters only past the model's trained context, 8192 tokens for SmolLM2, beyond the 1024-token limit here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memviz.attention.capture import AttentionCapture, capture_attention, layer_modules
from memviz.attention.models import LoadedModel, load_model
from memviz.errors import ConfigError

POLICIES: tuple[str, ...] = ("full", "window", "streaming", "h2o")
POLICY_LABELS: dict[str, str] = {
    "full": "full cache",
    "window": "sliding window",
    "streaming": "StreamingLLM (sinks + window)",
    "h2o": "H2O (heavy hitters + recent)",
}
DEFAULT_N_SINK = 4


def validate_policy_args(
    budget: int, n_sink: int = DEFAULT_N_SINK, n_recent: int | None = None
) -> tuple[int, int, int]:
    """Check the cache settings; returns ``(budget, n_sink, n_recent)`` with ``n_recent`` defaulting to budget // 2.

    Raises ConfigError unless ``budget >= 2``, ``0 <= n_sink < budget`` and ``1 <= n_recent <= budget``.
    """
    budget, n_sink = int(budget), int(n_sink)
    if budget < 2:
        raise ConfigError(f"the cache budget must be at least 2 tokens, got {budget}")
    if not 0 <= n_sink < budget:
        raise ConfigError(f"n_sink must be in [0, budget), got {n_sink} with budget {budget}")
    n_recent = max(1, budget // 2) if n_recent is None else int(n_recent)
    if not 1 <= n_recent <= budget:
        raise ConfigError(f"n_recent must be in [1, budget], got {n_recent} with budget {budget}")
    return budget, n_sink, n_recent


def keep_mask(policy: str, n_tokens: int, budget: int, n_sink: int = DEFAULT_N_SINK) -> np.ndarray:
    """Keep mask of a static policy (``full``, ``window``, ``streaming``): bool, shape ``(n_tokens, n_tokens)``.

    Raises ConfigError for an unknown policy (``h2o`` needs attention: use :func:`h2o_keep_mask`).
    """
    budget, n_sink, _ = validate_policy_args(budget, n_sink if policy == "streaming" else 0)
    i = np.arange(n_tokens)[:, None]
    j = np.arange(n_tokens)[None, :]
    causal = j <= i
    if policy == "full":
        return causal
    if policy == "window":
        return causal & (j > i - budget)
    if policy == "streaming":
        return causal & ((j < n_sink) | (j > i - (budget - n_sink)))
    raise ConfigError(f"unknown cache policy {policy!r}: use one of {', '.join(POLICIES)}")


def h2o_keep_mask(att: np.ndarray, budget: int, n_recent: int | None = None) -> np.ndarray:
    """H2O keep mask per layer and head: bool, shape ``(n_layers, n_heads, n, n)``.

    ``att``: full-cache causal attention ``(n_layers, n_heads, n, n)``. At step i the cache is the previous cache
    plus token i; query i's attention over it (``att[..., i, :]`` restricted to the cache and renormalised) is
    added to each entry's accumulated score; then, if the cache holds ``budget`` entries, the entry outside the
    recent window with the lowest score is evicted, so that the next token again finds ``budget - 1`` entries.
    All layers and heads advance together (one vectorised step per token; the steps are sequential by nature).
    """
    budget, _, n_recent = validate_policy_args(budget, 0, n_recent)
    att = np.asarray(att, dtype=np.float32)
    n_layers, n_heads, n, _ = att.shape
    keep = np.zeros((n_layers, n_heads, n, n), dtype=bool)
    cache = np.zeros((n_layers, n_heads, n), dtype=bool)
    score = np.zeros((n_layers, n_heads, n), dtype=np.float64)
    pos = np.arange(n)
    li, hi = np.meshgrid(np.arange(n_layers), np.arange(n_heads), indexing="ij")
    for i in range(n):  # sequential: each eviction depends on the previous ones
        cache[:, :, i] = True
        keep[:, :, i, :] = cache
        w = np.where(cache, att[:, :, i, :], 0.0)
        score += w / np.maximum(w.sum(axis=-1, keepdims=True), 1e-12)
        if i + 1 >= budget:  # the next token would overflow: evict one entry per (layer, head)
            # the next step's recent window is i+2-n_recent .. i+1, so entries <= i+1-n_recent may go
            candidate = cache & (pos <= i + 1 - n_recent)
            if candidate.any():
                masked = np.where(candidate, score, np.inf)
                victim = masked.argmin(axis=-1)
                has = candidate.any(axis=-1)
                cache[li[has], hi[has], victim[has]] = False
    return keep


def retained_share(att: np.ndarray, keep: np.ndarray, budget: int) -> np.ndarray:
    """Share of the full attention mass that falls on kept entries, per layer: float32 ``(n_layers,)`` in [0, 1].

    ``att``: ``(n_layers, n_heads, n, n)`` full-cache attention; ``keep``: bool, broadcastable to it. Averaged over
    heads and over the queries whose cache has overflowed (``i >= budget``); 1.0 when there are none.
    """
    att = np.asarray(att)
    n = att.shape[-1]
    if n <= budget:
        return np.ones(att.shape[0], dtype=np.float32)
    kept = (att[:, :, budget:, :] * np.broadcast_to(keep, att.shape)[:, :, budget:, :]).sum(axis=-1)
    return kept.mean(axis=(1, 2)).astype(np.float32)


@dataclass(frozen=True, eq=False)
class KVSimulation:
    """Which KV entries each policy keeps, and how much attention mass that retains.

    ``keep[policy]``: bool ``(n, n)`` for full / window / streaming, ``(n_layers, n_heads, n, n)`` for h2o.
    ``retained[policy]``: float32 ``(n_layers,)`` (see :func:`retained_share`).
    """

    budget: int
    n_sink: int
    n_recent: int
    n_tokens: int
    policies: tuple[str, ...]
    keep: dict[str, np.ndarray]
    retained: dict[str, np.ndarray]

    def timeline(self, policy: str, layer: int | None = None, head: int | None = None) -> np.ndarray:
        """Step x position matrix for plotting: float32 ``(n, n)``, 1 where query i's cache holds token j.

        For h2o, the given layer and head, or the share of heads keeping the entry (averaged over the layer's
        heads when ``head`` is None, over all layers too when ``layer`` is None).
        """
        k = self.keep[policy]
        if k.ndim == 2:
            return k.astype(np.float32)
        if layer is None:
            return k.mean(axis=(0, 1), dtype=np.float32)
        if head is None:
            return k[layer].mean(axis=0, dtype=np.float32)
        return k[layer, head].astype(np.float32)


def simulate_cache(
    capture: AttentionCapture,
    budget: int,
    n_sink: int = DEFAULT_N_SINK,
    n_recent: int | None = None,
    policies: tuple[str, ...] = POLICIES,
) -> KVSimulation:
    """Keep masks and retained attention mass of each policy on a decoder's capture.

    Raises ConfigError for an encoder capture (a KV cache only exists for causal decoding), an unknown policy or
    invalid settings (see :func:`validate_policy_args`).
    """
    if not capture.causal:
        raise ConfigError("the KV-cache simulator needs a decoder (causal) model, e.g. smollm2")
    budget, n_sink, n_recent = validate_policy_args(budget, n_sink, n_recent)
    for p in policies:
        if p not in POLICIES:
            raise ConfigError(f"unknown cache policy {p!r}: use one of {', '.join(POLICIES)}")
    n = capture.n_tokens
    keep: dict[str, np.ndarray] = {}
    for p in policies:
        keep[p] = h2o_keep_mask(capture.attentions, budget, n_recent) if p == "h2o" else keep_mask(p, n, budget, n_sink)
    retained = {p: retained_share(capture.attentions, k, budget) for p, k in keep.items()}
    return KVSimulation(budget, n_sink, n_recent, n, tuple(policies), keep, retained)


@dataclass(frozen=True)
class PolicyLoss:
    """Next-token loss of the real model when attention is restricted to one policy's cache.

    ``nll``: float32 ``(n - 1,)``, nats; ``nll[t]`` is -log p(token t+1 | what query t sees). ``ppl`` =
    exp(mean nll) over all predictions; ``ppl_evicted`` over the predictions made once the cache had
    overflowed (query position >= budget), None when there are none.
    """

    policy: str
    nll: np.ndarray
    ppl: float
    ppl_evicted: float | None


def _attention_modules(model: Any) -> list[Any]:
    mods = [getattr(layer, "self_attn", None) for layer in layer_modules(model)]
    if not mods or any(m is None for m in mods):
        raise ConfigError(
            "restricting attention to a cache policy needs a Llama-style decoder (layers[i].self_attn), "
            f"which {type(model).__name__} is not"
        )
    return mods


def masked_nll(loaded: LoadedModel, token_ids: np.ndarray, keep: np.ndarray | None) -> np.ndarray:
    """Per-token next-token loss (nats, float32 ``(n - 1,)``) with attention restricted by ``keep``.

    ``keep``: bool ``(n, n)`` (the same for every layer and head), ``(n_layers, n_heads, n, n)`` (per head) or
    None (the model's own causal mask). The mask is put into each attention layer by a forward pre-hook that
    replaces its ``attention_mask`` (additive: 0 where kept, the float32 minimum elsewhere), for one forward pass.
    """
    import torch

    ids = torch.as_tensor(np.asarray(token_ids, dtype=np.int64))[None, :]
    n = ids.shape[1]
    hooks = []
    if keep is not None:
        keep = np.asarray(keep, dtype=bool)
        if keep.shape[-2:] != (n, n):
            raise ConfigError(f"keep mask shape {keep.shape} does not match {n} tokens")
        mods = _attention_modules(loaded.model)
        neg = torch.finfo(torch.float32).min
        for li, mod in enumerate(mods):
            k = keep if keep.ndim == 2 else keep[li]
            kt = torch.from_numpy(np.ascontiguousarray(k)).reshape((1, -1, n, n))

            def pre_hook(_mod, args, kwargs, kt=kt):
                kwargs["attention_mask"] = torch.zeros(kt.shape, dtype=torch.float32).masked_fill_(~kt, neg)
                return args, kwargs

            hooks.append(mod.register_forward_pre_hook(pre_hook, with_kwargs=True))
    try:
        with loaded.lock, torch.inference_mode():
            logits = loaded.model(input_ids=ids, use_cache=False).logits[0].float()
    finally:
        for h in hooks:
            h.remove()
    logp = torch.log_softmax(logits[:-1], dim=-1)
    nll = -logp.gather(-1, ids[0, 1:, None])[:, 0]
    return nll.numpy().astype(np.float32)


def policy_losses(loaded: LoadedModel, capture: AttentionCapture, sim: KVSimulation) -> dict[str, PolicyLoss]:
    """Per-token loss and perplexity of the real decoder under each simulated policy (one forward pass each).

    Raises ConfigError for an encoder or a model whose attention layers cannot take a custom mask.
    """
    if not loaded.causal:
        raise ConfigError("perplexity under a cache policy needs a decoder (causal) model")
    out: dict[str, PolicyLoss] = {}
    evicted_from = sim.budget  # prediction t uses query position t; the cache overflows from position budget on
    for p in sim.policies:
        nll = masked_nll(loaded, capture.token_ids, None if p == "full" else sim.keep[p])
        tail = nll[evicted_from:]
        out[p] = PolicyLoss(
            policy=p,
            nll=nll,
            ppl=float(np.exp(nll.mean())),
            ppl_evicted=float(np.exp(tail.mean())) if tail.size else None,
        )
    return out


@dataclass(frozen=True, eq=False)
class KVExperiment:
    """A KV-cache experiment on one text: the capture, the simulation and (decoder) per-policy losses."""

    capture: AttentionCapture
    simulation: KVSimulation
    losses: dict[str, PolicyLoss] = field(default_factory=dict)

    def summary(self) -> list[dict[str, Any]]:
        """One row per policy: policy, label, budget, n_tokens, mean retained share, ppl, ppl_evicted."""
        rows = []
        for p in self.simulation.policies:
            loss = self.losses.get(p)
            rows.append(
                {
                    "policy": p,
                    "label": POLICY_LABELS[p],
                    "budget": self.simulation.budget,
                    "n_tokens": self.simulation.n_tokens,
                    "retained_share": float(self.simulation.retained[p].mean()),
                    "ppl": loss.ppl if loss else None,
                    "ppl_evicted": loss.ppl_evicted if loss else None,
                }
            )
        return rows


def run_kv_experiment(
    text: str,
    model: str | LoadedModel = "smollm2",
    budget: int = 64,
    n_sink: int = DEFAULT_N_SINK,
    n_recent: int | None = None,
    max_tokens: int | None = 512,
    with_losses: bool = True,
    capture: AttentionCapture | None = None,
) -> KVExperiment:
    """Capture ``text`` (or reuse ``capture``), simulate every policy and, when ``with_losses``, measure the
    real decoder's loss under each (5 forward passes; ~1.5 s each for 512 tokens on SmolLM2, 2-core CPU).

    Raises EmptyTextError, ModelNotAvailableError, ConfigError (encoder model, invalid settings).
    """
    loaded = model if isinstance(model, LoadedModel) else load_model(model)
    if not loaded.causal:
        raise ConfigError("the KV-cache simulator needs a decoder (causal) model, e.g. smollm2")
    cap = capture if capture is not None else capture_attention(text, loaded, max_tokens)
    sim = simulate_cache(cap, budget, n_sink, n_recent)
    losses = policy_losses(loaded, cap, sim) if with_losses else {}
    return KVExperiment(cap, sim, losses)
