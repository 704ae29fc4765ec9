"""All benchmarks in one run, their Markdown tables, and the ``memviz bench`` command group."""

from __future__ import annotations

import os
from collections.abc import Sequence
from typing import Any

from memviz.bench.core import FULL, QUICK, Log, _quiet, bench_ingest, bench_recall, machine, real_items, real_queries
from memviz.bench.peers import bench_attention, bench_chroma, bench_large_ingest, chroma_available, peer_ratios


# -- everything ------------------------------------------------------------------------------------
def run(
    parts: Sequence[str] = ("ingest", "recall"),
    quick: bool = False,
    ingest_n: int | None = None,
    sizes: Sequence[int] | None = None,
    n_queries: int | None = None,
    log: Log = _quiet,
) -> dict[str, Any]:
    """Run the named ``parts`` (``ingest``, ``recall``, ``peer``, ``large``, ``attention``) and return one
    JSON-able dict: ``{"machine", "quick", "ingest": {...}, "recall": [{...} per store size], "peer": {...},
    "large": {...}, "attention": [...]}``
    (only the parts run). ``quick`` uses smaller sizes (a run of a few minutes)."""
    from memviz.embed import MiniLMEmbedder

    conf = (QUICK if quick else FULL).copy()
    embedder = MiniLMEmbedder()
    out: dict[str, Any] = {"machine": machine(), "quick": quick}
    n = ingest_n or conf["ingest_n"]
    queries = real_queries(n_queries or conf["queries"])
    ingest = None
    if "ingest" in parts or "peer" in parts:
        items = real_items(n)
        ingest = bench_ingest(items, embedder, queries=queries if "peer" in parts else (), log=log)
        if "ingest" in parts:
            out["ingest"] = ingest
    if "recall" in parts:
        out["recall"] = bench_recall(
            sizes or conf["sizes"], n_queries or conf["queries"], embedder, conf["exact_queries"], log=log
        )
    if "peer" in parts:
        if chroma_available():
            assert ingest is not None  # measured above whenever "peer" is asked for
            peer = bench_chroma(real_items(n), embedder, queries)
            out["peer"] = (
                peer
                | {"memviz_ingest_per_s": ingest["pipeline_per_s"], "memviz_recall_p50_ms": ingest.get("recall_p50_ms")}
                | peer_ratios(ingest, peer)
            )
        else:
            out["peer"] = {
                "store": "chromadb",
                "error": "chromadb is not installed (pip install -c constraints.txt -e '.[bench]')",
            }
    if "large" in parts:
        out["large"] = bench_large_ingest(log=log)
    if "attention" in parts:
        out["attention"] = bench_attention(log=log)
    out["machine"]["load_avg_end"] = [round(x, 2) for x in os.getloadavg()]
    return out


# -- command line (registered as ``memviz bench`` in memviz/cli.py) -----------------------------------
def _bench_command(parts: tuple[str, ...], doc: str):
    import click

    @click.command(help=doc)
    @click.option("--quick", is_flag=True, help="Smaller sizes: a run of a few minutes.")
    @click.option("--n", "ingest_n", type=click.IntRange(10), default=None, help="Memories to ingest.")
    @click.option("--sizes", default=None, help="Comma-separated store sizes for recall, e.g. 1000,10000,100000.")
    @click.option("--queries", "n_queries", type=click.IntRange(1), default=None, help="Queries per store size.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the stable output).")
    def cmd(quick, ingest_n, sizes, n_queries, as_json):
        import json

        def log(m: str) -> None:
            click.echo(f"[bench] {m}", err=True)

        size_list = [int(s) for s in sizes.split(",")] if sizes else None
        res = run(parts, quick=quick, ingest_n=ingest_n, sizes=size_list, n_queries=n_queries, log=log)
        if as_json:
            click.echo(json.dumps(res))
        else:
            click.echo(markdown_tables(res))

    return cmd


def markdown_tables(res: dict[str, Any]) -> str:
    """The result of :func:`run` as Markdown tables (the ones in docs/performance.md)."""
    lines = []
    m = res.get("machine", {})
    lines.append(
        f"Machine: {m.get('cores')} cores, {m.get('cpu')}, {m.get('ram_gb')} GB RAM; load average "
        f"{m.get('load_avg')} at start, {m.get('load_avg_end')} at end; {m.get('time_utc')} UTC.\n"
    )
    if ing := res.get("ingest"):
        lines += [
            "| memories | pipeline /s | raw encode /s | ratio (goal >= 0.85) | stage seconds |",
            "|---:|---:|---:|---:|---|",
            f"| {ing['n']} | {ing['pipeline_per_s']} | {ing['raw_encode_per_s']} | {ing['ratio']} | "
            + ", ".join(f"{k} {v}" for k, v in ing["stage_s"].items())
            + " |",
            "",
        ]
    if rec := res.get("recall"):
        lines += [
            "| n | p50 ms | p95 ms | embed p50 | search+scoring p50 / p95 | vector stage p50 | numpy brute p50 |"
            " ratio (goal <= 2) | vector ratio | LanceDB brute p50 | recall@10 vs exact | forgetting ms |",
            "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
        ]
        for r in rec:
            lines.append(
                f"| {r['n']} | {r['p50_ms']} | {r['p95_ms']} | {r['embed_p50_ms']} | {r['search_scoring_p50_ms']} / "
                f"{r['search_scoring_p95_ms']} | {r['vector_p50_ms']} | {r['numpy_brute_p50_ms']} | {r['ratio']} | "
                f"{r['vector_ratio']} | {r['lancedb_brute_p50_ms']} | {r['recall_at_10_vs_exact']} | "
                f"{r.get('forgetting_recompute_ms', '')} |"
            )
        lines.append("")
        lines += [
            f"- n={r['n']}: stage p50 ms " + ", ".join(f"{k} {v}" for k, v in r.get("stages_p50_ms", {}).items())
            for r in rec
        ]
        lines.append("")
    if peer := res.get("peer"):
        if "error" in peer:
            lines.append(f"Peer: {peer['error']}\n")
        else:
            lines += [
                "| store | memories | ingest /s | recall p50 ms | recall p95 ms |",
                "|---|---:|---:|---:|---:|",
                f"| memviz | {peer['n']} | {peer['memviz_ingest_per_s']} | {peer['memviz_recall_p50_ms']} | |",
                f"| {peer['store']} {peer['version']} | {peer['n']} | {peer['ingest_per_s']} | "
                f"{peer['recall_p50_ms']} | {peer['recall_p95_ms']} |",
                f"\nmemviz/peer: ingest rate x{peer['ingest_ratio']}, recall latency x{peer['recall_latency_ratio']}\n",
            ]
    if att := res.get("attention"):
        lines += ["| model | tokens | capture p50 ms (warm) | model load s |", "|---|---:|---:|---:|"]
        lines += [
            f"| {a['model']} | {a.get('tokens', '')} | {a.get('capture_p50_ms', a.get('error'))} | "
            f"{a.get('load_s', '')} |"
            for a in att
        ]
        lines.append("")
    if large := res.get("large"):
        lines.append("Large ingest: " + ", ".join(f"{k}={v}" for k, v in large.items()) + "\n")
    return "\n".join(lines)


def _bench_group():
    import click

    @click.group(name="bench")
    def group() -> None:
        """Benchmarks on the shared real data (not part of the tests). See docs/performance.md."""

    group.add_command(
        _bench_command(("ingest",), "Ingest memories/s against the raw encoder (same texts, same run)."), name="ingest"
    )
    group.add_command(
        _bench_command(("recall",), "Recall latency p50/p95 per store size against numpy brute force."), name="recall"
    )
    group.add_command(
        _bench_command(("ingest", "recall", "peer"), "Ingest, recall and the peer (Chroma) side by side."), name="all"
    )
    group.add_command(_scale_command(), name="scale")
    return group


def _scale_command():
    import click

    @click.command(help="The approximate vector index on 1M memories (--quick: 200k) against a numpy brute force.")
    @click.option("--quick", is_flag=True, help="200k memories instead of 1M.")
    @click.option("--n", type=click.IntRange(1000), default=None, help="Memories in the store (overrides --quick).")
    @click.option("--queries", "n_queries", type=click.IntRange(1), default=200, help="Real questions asked.")
    @click.option("--json", "as_json", is_flag=True, help="Print one JSON object (the stable output).")
    def cmd(quick, n, n_queries, as_json):
        import json

        from memviz.bench.scale import bench_scale

        res = bench_scale(quick=quick, n=n, n_queries=n_queries, log=lambda m: click.echo(f"[bench] {m}", err=True))
        if as_json:
            click.echo(json.dumps(res))
        else:
            r = res["scale"]
            click.echo("\n".join(f"{k}: {v}" for k, v in r.items()))

    return cmd


bench_group = _bench_group()
