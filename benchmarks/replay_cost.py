"""Cost of a replay against a plain ingest of the same conversation (issue 12's "at most 1.5x").

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/replay_cost.py [--group conv-26] [--rounds 2]

One process, the real all-MiniLM-L6-v2 loaded (and warmed) first. Each round: ``MemoryEngine.ingest`` of the
group's turns into a new store, then :func:`memviz.replay.replay` of the same group (no questions) into another.
Wall seconds and CPU seconds (all threads: ``resource.getrusage``), with the 1-minute load average after each:
on a shared machine the wall time follows the load, the CPU time much less. Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import resource
import tempfile
import time


def _cpu_s() -> float:
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime + r.ru_stime


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--group", default="conv-26")
    ap.add_argument("--rounds", type=int, default=2)
    args = ap.parse_args()

    from memviz.embed import MiniLMEmbedder
    from memviz.evaluate.common import group_engine
    from memviz.importers import load
    from memviz.paths import LOCOMO_DEV
    from memviz.replay import ReplayConfig, replay

    emb = MiniLMEmbedder()
    emb.encode(["warm up"])
    turns = load(LOCOMO_DEV, "locomo").groups[args.group]

    def run(kind: str) -> dict[str, float]:
        with tempfile.TemporaryDirectory() as db:
            t0, c0 = time.perf_counter(), _cpu_s()
            if kind == "ingest":
                group_engine(db, args.group, emb).ingest(turns)
            else:
                replay(LOCOMO_DEV, "locomo", db, ReplayConfig(groups=(args.group,)), embedder=emb)
            wall, cpu = time.perf_counter() - t0, _cpu_s() - c0
        return {"wall_s": round(wall, 2), "cpu_s": round(cpu, 2), "load_1min": round(os.getloadavg()[0], 1)}

    rounds = []
    for _ in range(args.rounds):
        ingest, rep = run("ingest"), run("replay")
        rounds.append(
            {
                "ingest": ingest,
                "replay": rep,
                "ratio_wall": round(rep["wall_s"] / ingest["wall_s"], 2),
                "ratio_cpu": round(rep["cpu_s"] / ingest["cpu_s"], 2),
            }
        )
    print(json.dumps({"replay_cost": {"group": args.group, "turns": len(turns), "rounds": rounds}}, indent=1))


if __name__ == "__main__":
    main()
