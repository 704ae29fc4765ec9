"""Every memviz benchmark in one run: ingest vs the raw encoder, recall latency at 1k/10k/100k vs numpy brute
force (with forgetting recompute at 100k), Chroma side by side, attention capture, and the large interrupted +
resumed LongMemEval_S ingest (peak RSS).

    .venv/bin/python benchmarks/run_all.py [--quick] [--parts ingest recall peer attention large] [--out results.json]

The logic lives in memviz/bench.py (also behind ``memviz bench {ingest,recall,all} --json``). Prints the
Markdown tables of docs/performance.md and writes the raw JSON to ``--out``. Graph build + render costs are
measured by benchmarks/graph_forgetting.py (owned with the graph page).
"""

from __future__ import annotations

import argparse
import json
import sys

from memviz.bench import markdown_tables, run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--quick", action="store_true", help="smaller sizes (a few minutes)")
    ap.add_argument(
        "--parts",
        nargs="+",
        default=["ingest", "recall", "peer", "attention", "large"],
        choices=["ingest", "recall", "peer", "attention", "large"],
    )
    ap.add_argument("--sizes", nargs="+", type=int, default=None, help="recall store sizes")
    ap.add_argument("--n", type=int, default=None, help="memories to ingest")
    ap.add_argument("--queries", type=int, default=None)
    ap.add_argument("--out", default=None, help="write the JSON here too")
    args = ap.parse_args()
    res = run(
        args.parts,
        quick=args.quick,
        ingest_n=args.n,
        sizes=args.sizes,
        n_queries=args.queries,
        log=lambda m: print(f"[bench] {m}", file=sys.stderr, flush=True),
    )
    if args.out:
        with open(args.out, "w") as f:
            json.dump(res, f, indent=2)
    print(markdown_tables(res))


if __name__ == "__main__":
    main()
