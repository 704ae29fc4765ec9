"""Benchmarks as importable functions (no streamlit): ``core`` (ingest against the raw encoder, recall latency
against a numpy brute force, forgetting recompute), ``peers`` (Chroma side by side, a large streaming ingest,
attention capture) and ``report`` (everything in one run, Markdown tables, the ``memviz bench`` commands).
Benchmarks measure; tests never time."""

from memviz.bench.copies import add_copies, replicate
from memviz.bench.core import (
    FULL,
    QUICK,
    bench_forgetting,
    bench_ingest,
    bench_recall,
    bench_recall_at,
    machine,
    numpy_brute,
    real_items,
    real_queries,
    recall_store,
)
from memviz.bench.peers import bench_attention, bench_chroma, bench_large_ingest, chroma_available, peer_ratios
from memviz.bench.report import bench_group, markdown_tables, run

__all__ = [
    "FULL",
    "QUICK",
    "add_copies",
    "bench_attention",
    "bench_chroma",
    "bench_forgetting",
    "bench_group",
    "bench_ingest",
    "bench_large_ingest",
    "bench_recall",
    "bench_recall_at",
    "chroma_available",
    "machine",
    "markdown_tables",
    "numpy_brute",
    "peer_ratios",
    "real_items",
    "real_queries",
    "recall_store",
    "replicate",
    "run",
]
