"""``memviz sinks``: the attention-sink table of a text, as JSON or as a readable table.

Register on the main group with ``main.add_command(sinks)`` (``from memviz.attention.cli import sinks``).
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

import click

from memviz.errors import MemvizError


class SinksError(click.ClickException):
    """A MemvizError shown as one line (``Error: ...``) on stderr, exit code 2."""

    exit_code = 2


def _read_input(text_or_file: str) -> str:
    if text_or_file == "-":
        return sys.stdin.read()
    try:
        p = Path(text_or_file).expanduser()
        is_file = "\n" not in text_or_file and p.is_file()
    except (OSError, ValueError):  # too long or not a valid path: it is the text
        return text_or_file
    if not is_file:
        return text_or_file
    try:
        return p.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as e:
        raise SinksError(f"cannot read {text_or_file}: {e}") from e


def _fmt(v, nd: int = 3) -> str:
    if v is None:
        return "-"
    if isinstance(v, float):
        return f"{v:.{nd}f}"
    return str(v)


def render_table(report: dict) -> str:
    """The readable (non-JSON) form of a ``sinks`` report dict."""
    lines = [
        f"model {report['model']} ({'decoder' if report['causal'] else 'encoder'}, {report['n_layers']} layers x "
        f"{report['n_heads']} heads), {report['n_tokens']} tokens"
        + (f" (cut from {report['n_input_tokens']})" if report["truncated"] else "")
        + f", epsilon {report['epsilon']}, capture {report['capture_seconds']:.2f} s",
        f"first token {report['first_token']!r}: Gu et al. sink metric {report['gu_sink_metric_first_token']:.2f}"
        " (share of all heads with attention > epsilon on it)",
        "",
        f"{'layer':>5}  {'first-token share':>17}  {'uniform':>8}  {'heads with a sink':>17}",
    ]
    for layer, (f, u, h) in enumerate(
        zip(report["first_token_share"], report["uniform_share"], report["heads_with_sink_share"], strict=True)
    ):
        lines.append(f"{layer:>5}  {f:>17.3f}  {u:>8.3f}  {h:>17.2f}")
    lines += ["", "sinks:"]
    if not report["sinks"]:
        lines.append("  (none at this threshold)")
    else:
        head = (
            f"  {'token':<16} {'pos':>5} {'kind':<9} {'layers':<18} {'life':>4} {'score':>6} {'heads':>5} {'norm x':>7}"
        )
        lines.append(head)
        for r in report["sinks"]:
            tok = json.dumps(r["token"], ensure_ascii=False)[1:-1][:16]
            lines.append(
                f"  {tok:<16} {r['position']:>5} {r['kind']:<9} {r['layers']:<18} {r['lifetime']:>4} "
                f"{_fmt(r['score']):>6} {_fmt(r['head_share'], 2):>5} {_fmt(r['hidden_norm_ratio'], 1):>7}"
            )
        lines.append("  (life: layers in which it is a sink; score: mean attention it receives there; heads: share")
        lines.append("   of heads over epsilon; norm x: its hidden-state l2 norm / the median token's)")
    return "\n".join(lines)


@click.command("sinks")
@click.argument("text_or_file")
@click.option(
    "--model",
    "model",
    default="smollm2",
    show_default=True,
    help="minilm, smollm2, a local model folder or a Hugging Face model id.",
)
@click.option("--json", "as_json", is_flag=True, help="Print one JSON object instead of a table.")
@click.option(
    "--max-tokens", default=512, show_default=True, type=int, help="Cut the input to this many tokens (<= 1024)."
)
@click.option("--epsilon", default=0.3, show_default=True, type=float, help="Sink threshold (Gu et al. 2024).")
@click.option(
    "--min-head-share",
    default=0.25,
    show_default=True,
    type=float,
    help="Share of a layer's heads that must exceed epsilon for a token to count as a sink there.",
)
def sinks(text_or_file: str, model: str, as_json: bool, max_tokens: int, epsilon: float, min_head_share: float) -> None:
    """Attention sinks of TEXT_OR_FILE (a text, a file path, or - for stdin).

    Prints the first token's attention share per layer against uniform attention, and the sink table
    (primary sinks persist across layers; secondary sinks arise in middle layers for a few layers).
    """
    from memviz.attention.report import analyze_text

    text = _read_input(text_or_file)
    try:
        report = analyze_text(text, model, max_tokens=max_tokens, epsilon=epsilon, min_head_share=min_head_share)
    except MemvizError as e:
        raise SinksError(" ".join(str(e).split())) from e
    data = report.to_json()
    if as_json:
        click.echo(json.dumps(data, ensure_ascii=False))
    else:
        click.echo(render_table(data))
