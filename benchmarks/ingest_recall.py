"""Ingest throughput against the raw encoder, and recall latency, on the LoCoMo dev file.

    .venv/bin/python benchmarks/ingest_recall.py [--data ../shared/data/locomo/locomo_dev.json] [--queries 200]

Prints one JSON object. Both throughputs are measured in the same run on the same texts, so the ratio shows
what the write pipeline (keywords, importance, links, LanceDB writes, events) costs on top of the encoder.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import time

import numpy as np

from memviz.clock import SimulatedClock
from memviz.embed import MiniLMEmbedder
from memviz.engine import MemoryEngine, RecallConfig, embedding_text
from memviz.importers import load
from memviz.store import MemoryStore


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--data", default="../shared/data/locomo/locomo_dev.json")
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()

    data = load(args.data, "locomo")
    items = data.items()
    embedder = MiniLMEmbedder()
    embedder.encode(["warm-up"])
    texts = [embedding_text(i.text, i.speaker) for i in items]

    t = time.perf_counter()
    embedder.encode(texts)
    raw_s = time.perf_counter() - t

    with tempfile.TemporaryDirectory() as db:
        engine = MemoryEngine(MemoryStore(db), embedder, SimulatedClock(0.0))
        t = time.perf_counter()
        reports = engine.ingest(items)
        pipe_s = time.perf_counter() - t
        stages = {k: sum(r.timings_ms[k] for r in reports) / 1000 for k in reports[0].timings_ms}

        questions = [q.question for q in data.questions][: args.queries]
        cfg = RecallConfig(k=10, reinforce=False)
        totals, embeds, searches = [], [], []
        for q in questions:
            t = time.perf_counter()
            res = engine.recall(q, cfg)
            totals.append((time.perf_counter() - t) * 1000)
            embeds.append(res.trace.stage("embed").duration_ms)
            searches.append(sum(s.duration_ms for s in res.trace.stages if s.name != "embed"))

    pct = lambda xs, p: round(float(np.percentile(xs, p)), 2)  # noqa: E731
    print(json.dumps({
        "memories": len(items),
        "ingest": {"pipeline_per_s": round(len(items) / pipe_s, 1), "raw_encode_per_s": round(len(items) / raw_s, 1),
                   "ratio": round(raw_s / pipe_s, 3), "stage_seconds": {k: round(v, 2) for k, v in stages.items()}},
        "recall": {"queries": len(questions), "p50_ms": pct(totals, 50), "p95_ms": pct(totals, 95),
                   "embed_p50_ms": pct(embeds, 50), "search_scoring_p50_ms": pct(searches, 50),
                   "search_scoring_p95_ms": pct(searches, 95)},
    }, indent=2))


if __name__ == "__main__":
    main()
