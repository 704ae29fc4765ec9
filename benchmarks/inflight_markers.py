"""Cost of the in-flight batch markers (rows of the store's ``_inflight`` table) in an ingest.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/inflight_markers.py [--group conv-26] [--batch-sizes 8,64]

One process, the real all-MiniLM-L6-v2 loaded (and warmed) first. Per batch size: ``MemoryEngine.ingest`` of the
LoCoMo dev group's turns into a new local store, with the store's marker calls (``mark``, ``renew``, ``clear``)
timed. Reports the markers' wall seconds against the batches' store stage (``timings_ms["store_ms"]``: links,
rows, events and the markers, summed) and the whole ingest, in the same run; CPU seconds of the process
(``resource.getrusage``) and the 1-minute load average beside them. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time
from collections.abc import Callable
from typing import Any


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def _timed(fn: Callable[..., Any], spent: list[float]) -> Callable[..., Any]:
    def run(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return fn(*args, **kwargs)
        finally:
            spent.append(time.perf_counter() - t0)

    return run


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default="conv-26")
    ap.add_argument("--batch-sizes", default="8,64")
    args = ap.parse_args()

    from memviz.embed import MiniLMEmbedder
    from memviz.evaluate.common import group_engine
    from memviz.importers import load
    from memviz.paths import LOCOMO_DEV

    emb = MiniLMEmbedder()
    emb.encode(["warm up"])
    turns = load(LOCOMO_DEV, "locomo").groups[args.group]
    runs = []
    for batch_size in (int(b) for b in args.batch_sizes.split(",")):
        with tempfile.TemporaryDirectory() as db:
            engine = group_engine(db, args.group, emb)
            marker_s: list[float] = []
            inflight = engine.store.inflight
            for name in ("mark", "renew", "clear"):
                setattr(inflight, name, _timed(getattr(inflight, name), marker_s))
            t0, c0 = time.perf_counter(), _cpu_s()
            reports = engine.ingest(turns, batch_size=batch_size)
            wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
            store_s = sum(r.timings_ms.get("store_ms", 0.0) for r in reports) / 1000
            batches = len(reports)
            runs.append(
                {
                    "memories": len(turns),
                    "batch_size": batch_size,
                    "batches": batches,
                    "ingest_wall_s": round(wall, 2),
                    "ingest_cpu_s": round(cpu, 2),
                    "store_stage_s": round(store_s, 2),
                    "markers_s": round(sum(marker_s), 3),
                    "markers_ms_per_batch": round(1000 * sum(marker_s) / max(1, batches), 2),
                    "markers_share_of_store": round(sum(marker_s) / store_s, 3) if store_s else None,
                    "markers_share_of_ingest": round(sum(marker_s) / wall, 4),
                    "load_1min": round(os.getloadavg()[0], 1),
                }
            )
    print(json.dumps({"group": args.group, "runs": runs}, indent=1))


if __name__ == "__main__":
    main()
