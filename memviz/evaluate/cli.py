"""``memviz eval``: retrieval evaluation on LoCoMo and LongMemEval from the command line.

With ``--json`` stdout is one JSON object (a stable contract: ``"overall"`` maps metric names such as
``"recall@10"`` or ``"ndcg_any@10"`` to values in [0, 1]); progress always goes to stderr.
"""

from __future__ import annotations

import json
import sys
from typing import TYPE_CHECKING, Any

import click

from memviz.cli_options import EMBEDDER_OPTION, RERANKER_OPTION, pop_settings, settings_options
from memviz.recall.presets import PRESET_NAMES

if TYPE_CHECKING:
    from memviz.evaluate.longmemeval import Granularity

PRESET_OPTION = click.option(
    "--preset",
    default="default",
    show_default=True,
    type=click.Choice(PRESET_NAMES),
    help="Scoring preset (see docs/recall_and_evaluation.md).",
)
DB_OPTION = click.option(
    "--db",
    "db",
    required=True,
    type=click.Path(file_okay=False),
    help="Folder of the evaluation stores (one per conversation/haystack; reused when present).",
)
LIMIT_OPTION = click.option("--limit", type=click.IntRange(1), default=None, help="Only the first N questions.")
JSON_OPTION = click.option("--json", "as_json", is_flag=True, help="Print the result as one JSON object.")
TRACES_OPTION = click.option("--traces", is_flag=True, help="Include each question's full trace in the JSON.")
ONE_STORE_OPTION = click.option(
    "--one-store",
    is_flag=True,
    help="One store (<db>/all-groups) for every conversation, each in its own scope; each question recalls within "
    "its conversation's scope. Default: one store per conversation.",
)


@click.group(name="eval")
def eval_group() -> None:
    """Evaluate recall on LoCoMo or LongMemEval (never reinforces; each group in its own store)."""


class _Progress:
    """tqdm bars on stderr, one per stage name (hidden when stderr is not a terminal: then one line per stage)."""

    def __init__(self):
        self.bars: dict[str, Any] = {}

    def __call__(self, stage: str, done: int, total: int) -> None:
        from tqdm import tqdm

        if stage not in self.bars:
            if not sys.stderr.isatty():
                click.echo(f"{stage}: {total} ...", err=True)
            leave = stage.startswith("recalling")
            self.bars[stage] = tqdm(total=total, desc=stage, file=sys.stderr, disable=None, leave=leave)
        bar = self.bars[stage]
        bar.update(done - bar.n)
        if done >= total:
            bar.close()

    def close(self) -> None:
        for bar in self.bars.values():
            bar.close()


def _models(options: dict[str, Any]) -> dict[str, Any]:
    """The runners' ``embedder``, ``reranker`` and ``settings`` from the command's options (models loaded now:
    one not on this machine is named before any work)."""
    from memviz.embed import make_embedder
    from memviz.rerank import make_reranker

    settings = pop_settings(options)
    embedder = options.get("embedder")
    return {
        "embedder": make_embedder(embedder) if embedder else None,
        "reranker": make_reranker(options.get("reranker")),
        "settings": settings,
    }


def _emit(result: dict[str, Any], as_json: bool) -> None:
    if as_json:
        click.echo(json.dumps(result))
        return
    c = result["counts"]
    click.echo(
        f"{result['benchmark']} · preset {result['preset']} · {c['evaluated']} questions evaluated "
        f"of {c['questions']} · {result['timing']['total_s']} s"
    )
    click.echo("overall: " + "  ".join(f"{k}={v:.3f}" for k, v in result["overall"].items()))
    for cat, row in result["by_category"].items():
        values = "  ".join(f"{k}={v:.3f}" for k, v in row.items() if k not in ("name", "n"))
        click.echo(f"  {cat:>2} {row['name']:<28} n={row['n']:<4} {values}")
    if "audit" in result:
        a = result["audit"]
        click.echo(f"audit: {a['audited']} questions flagged, {a['evidence_changed']} with other evidence")
    if "coverage" in result:
        cov = result["coverage"]
        click.echo(
            f"coverage@{cov['k']}: {cov['never_retrieved']} of {cov['memories']} memories never retrieved, "
            f"{cov['gold_never_retrieved']} of them gold"
        )
        for h in result["hubs"][:5]:
            click.echo(f"  hub {h['id']}: top {cov['k']} of {h['n_questions']} questions not its own")


@eval_group.command("locomo")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@DB_OPTION
@click.option("--k", "ks", default="1,5,10,25,50", show_default=True, help="Cut-offs, comma-separated.")
@PRESET_OPTION
@LIMIT_OPTION
@JSON_OPTION
@TRACES_OPTION
@EMBEDDER_OPTION
@RERANKER_OPTION
@settings_options
@ONE_STORE_OPTION
@click.option(
    "--audit",
    "audit",
    type=click.Path(exists=True, dir_okay=False),
    default=None,
    help="An audit of the answer key (locomo-audit errors.json): also score against the audited evidence.",
)
@click.option(
    "--coverage-k", type=click.IntRange(1), default=10, show_default=True, help="The cut-off of coverage and hubs."
)
def locomo_cmd(
    path: str,
    db: str,
    ks: str,
    preset: str,
    limit: int | None,
    as_json: bool,
    traces: bool,
    audit: str | None,
    coverage_k: int,
    one_store: bool,
    **options: Any,
) -> None:
    """LoCoMo recall@k (the paper's protocol): overall over categories 1-4, adversarial (5) apart; with
    --audit also recall@k_audited; coverage and hubs at --coverage-k. The stores under --db are made with the
    embedder and settings given (an existing one must have them)."""
    from memviz.evaluate.common import parse_ks
    from memviz.evaluate.locomo import run_locomo

    models = _models(options)
    progress = _Progress()
    try:
        result = run_locomo(
            path,
            db,
            parse_ks(ks),
            preset,
            limit,
            progress,
            keep_traces=traces,
            audit_path=audit,
            coverage_k=coverage_k,
            one_store=one_store,
            **models,
        )
    finally:
        progress.close()
    _emit(result, as_json)


@eval_group.command("longmemeval")
@click.argument("path", type=click.Path(exists=True, dir_okay=False))
@click.option("--granularity", default="session", show_default=True, type=click.Choice(["session", "turn"]))
@DB_OPTION
@click.option("--k", "ks", default="1,3,5,10,30,50", show_default=True, help="Cut-offs, comma-separated.")
@PRESET_OPTION
@LIMIT_OPTION
@JSON_OPTION
@TRACES_OPTION
@EMBEDDER_OPTION
@RERANKER_OPTION
@settings_options
@ONE_STORE_OPTION
def longmemeval_cmd(
    path: str,
    granularity: Granularity,
    db: str,
    ks: str,
    preset: str,
    limit: int | None,
    as_json: bool,
    traces: bool,
    one_store: bool,
    **options: Any,
) -> None:
    """LongMemEval recall_any@k, recall_all@k, ndcg_any@k (the official protocol; abstention skipped)."""
    from memviz.evaluate.common import parse_ks
    from memviz.evaluate.longmemeval import run_longmemeval

    models = _models(options)
    progress = _Progress()
    try:
        result = run_longmemeval(
            path,
            db,
            granularity,
            parse_ks(ks),
            preset,
            limit,
            progress,
            keep_traces=traces,
            one_store=one_store,
            **models,
        )
    finally:
        progress.close()
    _emit(result, as_json)


__all__ = ["eval_group"]
