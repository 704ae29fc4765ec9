"""LoCoMo in one store (one scope per conversation) against one store per conversation: the same retrieval
restricted by scope, so recall@k must agree; prints both, the questions whose ranking differs, and the cost.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/scopes_eval.py [--data FILE] [--db DIR] [--presets default vector]

Real data (LoCoMo dev by default) and the real model (the packaged all-MiniLM-L6-v2). Each run reports wall and
CPU seconds (resource.getrusage) and the load average before it: the machine may be shared. Stores are kept
under --db, so a second invocation only recalls.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import time
from pathlib import Path

from memviz.embed import MiniLMEmbedder
from memviz.evaluate.locomo import run_locomo
from memviz.paths import SHARED_DATA

KS = (5, 10, 50)


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def run(path: Path, db: Path, preset: str, one_store: bool, embedder) -> dict:
    load = os.getloadavg()[0]
    t, c = time.perf_counter(), _cpu_s()
    res = run_locomo(
        path, db / ("one" if one_store else "per"), ks=KS, preset=preset, embedder=embedder, one_store=one_store
    )
    return {
        "preset": preset,
        "one_store": one_store,
        "overall": res["overall"],
        "retrieved": {q["id"]: q.get("retrieved") for q in res["questions"]},
        "written": res["counts"]["memories_written"],
        "wall_s": round(time.perf_counter() - t, 1),
        "cpu_s": round(_cpu_s() - c, 1),
        "ingest_s": res["timing"]["ingest_s"],
        "recall_ms_per_question": res["timing"]["recall_ms_per_question"],
        "load_before": load,
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--data", type=Path, default=SHARED_DATA / "locomo" / "locomo_dev.json")
    ap.add_argument("--db", type=Path, default=Path("/tmp/memviz_scopes_eval"))
    ap.add_argument("--presets", nargs="+", default=["default", "vector"])
    args = ap.parse_args()
    embedder = MiniLMEmbedder()
    rows = []
    for preset in args.presets:
        per = run(args.data, args.db, preset, False, embedder)
        one = run(args.data, args.db, preset, True, embedder)
        differ = sorted(q for q, r in per["retrieved"].items() if r != one["retrieved"][q])
        for r in (per, one):
            r.pop("retrieved")
            rows.append(r | {"questions_ranked_differently": len(differ)})
        print(json.dumps(rows[-2:]), flush=True)
    print(
        "| preset | stores | " + " | ".join(f"R@{k}" for k in KS) + " | questions ranked differently | written | "
        "wall s | CPU s | recall ms/question | load |"
    )
    print("|---|---|" + "---|" * (len(KS) + 6))
    for r in rows:
        vals = " | ".join(f"{r['overall'][f'recall@{k}']:.4f}" for k in KS)
        print(
            f"| {r['preset']} | {'one, scoped' if r['one_store'] else 'one per conversation'} | {vals} | "
            f"{r['questions_ranked_differently']} | {r['written']} | {r['wall_s']} | {r['cpu_s']} | "
            f"{r['recall_ms_per_question']} | {r['load_before']:.1f} |"
        )


if __name__ == "__main__":
    main()
