"""One call from text to sink report: capture + metrics, and the JSON shape other tools read."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from memviz.attention.capture import DEFAULT_MAX_TOKENS, AttentionCapture, capture_attention
from memviz.attention.metrics import EPSILON, MIN_HEAD_SHARE, SinkAnalysis, analyze_sinks
from memviz.attention.models import LoadedModel


@dataclass(frozen=True, eq=False)
class SinkReport:
    """A capture and its sink analysis (see :class:`AttentionCapture`, :class:`SinkAnalysis`)."""

    capture: AttentionCapture
    analysis: SinkAnalysis

    def to_json(self) -> dict[str, Any]:
        """The ``memviz sinks --json`` object.

        Keys: ``model``, ``causal``, ``n_tokens``, ``n_input_tokens``, ``truncated``, ``n_layers``, ``n_heads``,
        ``epsilon``, ``min_head_share``, ``first_token`` (its text), ``first_token_share`` (list, one value per
        layer: mean attention mass the first token receives, Gu et al. 2024), ``uniform_share`` (the same under
        uniform attention), ``heads_with_sink_share`` (per layer), ``gu_sink_metric_first_token`` (share of all
        heads with a sink at the first token), ``capture_seconds`` and ``sinks`` (the sink table: dicts with
        token, position, kind, first_layer, last_layer, lifetime, score, peak_score, head_share, hidden_norm,
        hidden_norm_ratio, mlp_norm_ratio).
        """
        cap, an = self.capture, self.analysis
        return {
            "model": cap.model_name,
            "causal": cap.causal,
            "n_tokens": cap.n_tokens,
            "n_input_tokens": cap.n_input_tokens,
            "truncated": cap.truncated,
            "n_layers": cap.n_layers,
            "n_heads": cap.n_heads,
            "epsilon": an.epsilon,
            "min_head_share": an.min_head_share,
            "first_token": cap.tokens[0],
            "first_token_share": [round(float(v), 6) for v in an.first_token_share],
            "uniform_share": [round(float(v), 6) for v in an.uniform_share],
            "heads_with_sink_share": [round(float(v), 6) for v in an.heads_with_sink_share],
            "gu_sink_metric_first_token": round(an.gu_first_token, 6),
            "capture_seconds": round(cap.seconds, 3),
            "sinks": [{k: (round(v, 6) if isinstance(v, float) else v) for k, v in row.items()} for row in an.sinks],
        }


def analyze_text(
    text: str,
    model: str | LoadedModel = "smollm2",
    max_tokens: int | None = DEFAULT_MAX_TOKENS,
    epsilon: float = EPSILON,
    min_head_share: float = MIN_HEAD_SHARE,
) -> SinkReport:
    """Capture ``text`` in ``model`` and analyse its sinks (Gu et al. 2024 metric, primary/secondary table).

    Raises EmptyTextError, ModelNotAvailableError, ConfigError (see :func:`capture_attention`, :func:`analyze_sinks`).
    """
    cap = capture_attention(text, model, max_tokens)
    return SinkReport(cap, analyze_capture(cap, epsilon, min_head_share))


def analyze_capture(
    cap: AttentionCapture, epsilon: float = EPSILON, min_head_share: float = MIN_HEAD_SHARE
) -> SinkAnalysis:
    """:func:`analyze_sinks` on a capture, with its token labels and hidden-state / MLP norms."""
    return analyze_sinks(
        cap.attentions,
        cap.causal,
        cap.tokens,
        epsilon=epsilon,
        min_head_share=min_head_share,
        hidden_norms=cap.hidden_norms,
        mlp_norms=cap.mlp_norms,
    )
