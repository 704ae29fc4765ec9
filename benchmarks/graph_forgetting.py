"""Graph page and forgetting page costs on real stores of 1,000, 5,000 and 10,000 memories.

    .venv/bin/python benchmarks/graph_forgetting.py [--stores /tmp/memviz_bench] [--sizes 1000 5000 10000]

The stores are built once (and reused) from the shared data: the LoCoMo dev conversations first, then the
LongMemEval_S haystacks, in file order, up to each size. Prints one JSON object with, per size:

- ``graph``: the graph page's Python work, split by stage (read + retention, filter, networkx build,
  Louvain communities, analysis, level of detail, vis-network HTML) and its total. Measured cold (nothing
  cached), which is what a user waits for after each change of store version or filter.
- ``graph_summary``: the same with the community-level summary graph as the level of detail.
- ``forgetting``: the forgetting page's population recompute at a new "as of" time or threshold (retention
  of every memory, the distribution figure, the list of what a threshold would suppress).
- ``embedding_map``: fitting the 2-D projection of every vector and drawing it.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

SHARED = Path(__file__).resolve().parents[1] / ".." / "shared" / "data"
LOCOMO = SHARED / "locomo" / "locomo_dev.json"
LONGMEMEVAL_S = SHARED / "longmemeval" / "longmemeval_s_dev30.json"


def real_items(n: int):
    """The first ``n`` non-empty memories of LoCoMo dev followed by LongMemEval_S (every item has a stable id)."""
    from memviz.importers import load

    items = load(LOCOMO, "locomo").items()
    if len(items) < n:
        items += load(LONGMEMEVAL_S, "longmemeval").items()
    items = [i for i in items if i.text.strip()]  # LongMemEval has a few empty turns, which the engine refuses
    if len(items) < n:
        raise SystemExit(f"the shared data holds only {len(items)} memories, fewer than {n}")
    return items[:n]


def build_store(root: Path, n: int, smaller: Path | None = None) -> Path:
    """The store of ``n`` real memories under ``root`` (built once; grown from a smaller one when given)."""
    from memviz.engine import open_engine

    path = root / f"store_{n}"
    done = path / ".complete"
    if done.exists():
        return path
    if smaller is not None and not path.exists():
        shutil.copytree(smaller, path)
        (path / ".complete").unlink(missing_ok=True)
    engine = open_engine(str(path))
    t = time.perf_counter()
    engine.ingest(real_items(n), batch_size=256)
    print(json.dumps({"built": str(path), "memories": engine.store.count(), "seconds": round(time.perf_counter() - t, 1)}),
          flush=True)
    done.touch()
    return path


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="/tmp/memviz_bench", type=Path, help="where the benchmark stores are kept")
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 10000])
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    args.stores.mkdir(parents=True, exist_ok=True)
    paths, prev = {}, None
    for n in sorted(args.sizes):
        paths[n] = prev = build_store(args.stores, n, prev)
    if args.build_only:
        return


if __name__ == "__main__":
    main()
