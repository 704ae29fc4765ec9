"""An MCP client's recall through ``memviz mcp`` over stdio against the same recall in process.

    .venv/bin/python benchmarks/mcp_roundtrip.py [--stores /tmp/memviz_bench] [--n 2000] [--queries 200]

The store: ``--n`` real memories built once through the full write pipeline (benchmarks/graph_forgetting.py
``build_store``: LoCoMo dev, then the LongMemEval_S haystacks), one copy per side below, since the agent's recall
writes (it strengthens its hits and logs its trace). The queries: ``--queries`` real questions (LongMemEval_S
and LoCoMo, :func:`memviz.bench.real_queries`), each asked once on each side after 5 warm-up recalls, the sides
taking turns query by query (the machine is shared: all see the same load):

- ``in_process``: the agent's recall in this process, ``MemoryEngine.recall`` with the default preset, k = 10,
  reinforcing and recorded (``engine_ms``), and the same through the MCP tool's own method
  (``MemoryTools.recall``: the engine call and the tool's result model, ``tool_ms``);
- ``mcp_stdio``: the official SDK's client (``stdio_client`` + ``ClientSession``) spawning ``memviz mcp --db``
  in a new process, one ``call_tool("recall", {"query", "k": 10})`` per query, timed from the call to the
  parsed result (JSON-RPC over the pipes, the tool's argument validation, the engine, the result's JSON);
  ``start_s``: from the spawn to ``initialize`` answered, and ``first_call_s``: the first call (the model's load).

Prints one JSON object; ``ratio_p50`` = MCP p50 / in-process (engine) p50 (target <= 2); ``paired_ratio_p50``:
the median of the per-query ratios; ``overhead_ms``: MCP minus in-process, per query.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks")]

from graph_forgetting import build_store  # noqa: E402

from memviz.bench.core import machine, pct, real_queries  # noqa: E402


def _summary(ms: list[float]) -> dict:
    return {"n": len(ms), "p50_ms": pct(ms, 50), "p95_ms": pct(ms, 95), "mean_ms": round(statistics.mean(ms), 2)}


async def measure(dbs: dict[str, Path], queries: list[str], warmup: list[str]) -> dict:
    """The three at once, one query after the other (engine, tool, MCP), so that all see the same load of this
    shared machine; each on its own copy of the store, so that each store takes the same writes."""
    from mcp import ClientSession, StdioServerParameters
    from mcp.client.stdio import stdio_client

    from memviz.engine import open_engine
    from memviz.mcp_server import MemoryTools
    from memviz.recall.presets import preset_config

    engine = open_engine(str(dbs["engine"]))
    tools = MemoryTools(open_engine(str(dbs["tool"])))
    cfg = preset_config("default", k=10, reinforce=True)
    args = ["-m", "memviz", "mcp", "--db", str(dbs["mcp"])]
    params = StdioServerParameters(command=sys.executable, args=args, cwd=REPO)
    t0 = time.perf_counter()
    async with stdio_client(params) as (read, write):
        async with ClientSession(read, write) as session:
            await session.initialize()
            start_s = time.perf_counter() - t0
            engine_ms, tool_ms, mcp_ms = [], [], []
            for n, q in enumerate([*warmup, *queries]):
                t = time.perf_counter()
                engine.recall(q, cfg)
                e = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                tools.recall(q, 10)
                tl = (time.perf_counter() - t) * 1000
                t = time.perf_counter()
                result = await session.call_tool("recall", {"query": q, "k": 10})
                m = (time.perf_counter() - t) * 1000
                assert not result.is_error and len(result.structured_content["hits"]) == 10, result.content
                if n == 0:
                    first_call_s = m / 1000
                if n >= len(warmup):
                    engine_ms.append(e)
                    tool_ms.append(tl)
                    mcp_ms.append(m)
    ratios = [m / e for m, e in zip(mcp_ms, engine_ms)]
    return {
        "in_process": {"engine": _summary(engine_ms), "tool": _summary(tool_ms)},
        "mcp_stdio": {"start_s": round(start_s, 2), "first_call_s": round(first_call_s, 2), **_summary(mcp_ms)},
        "paired_ratio_p50": pct(ratios, 50),
        "overhead_ms": _summary([m - e for m, e in zip(mcp_ms, engine_ms)]),
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--stores", type=Path, default=Path(tempfile.gettempdir()) / "memviz_bench")
    ap.add_argument("--n", type=int, default=2000)
    ap.add_argument("--queries", type=int, default=200)
    args = ap.parse_args()
    args.stores.mkdir(parents=True, exist_ok=True)
    built = build_store(args.stores, args.n)
    queries = real_queries(args.queries + 5)
    warmup, queries = queries[:5], queries[5:]
    out: dict = {"machine_start": machine(), "n": args.n, "queries": len(queries), "k": 10}
    with tempfile.TemporaryDirectory() as tmp:
        dbs = {side: Path(tmp) / side for side in ("engine", "tool", "mcp")}
        for path in dbs.values():
            shutil.copytree(built, path)
        out |= asyncio.run(measure(dbs, queries, warmup))
    out["ratio_p50"] = round(out["mcp_stdio"]["p50_ms"] / out["in_process"]["engine"]["p50_ms"], 2)
    out["machine_end"] = machine()["load_avg"]
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
