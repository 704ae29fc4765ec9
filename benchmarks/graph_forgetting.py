"""Graph page and forgetting page costs on real stores of 1,000, 5,000 and 10,000 memories.

    .venv/bin/python benchmarks/graph_forgetting.py [--stores /tmp/memviz_bench] [--sizes 1000 5000 10000]

The stores are built once (and reused) from the shared data: the LoCoMo dev conversations first, then the
LongMemEval_S haystacks, in file order, up to each size. Prints one JSON object with, per size:

- ``graph``: the Graph page's Python work, per stage (read + retention, filter, analysis graph, Louvain,
  PageRank, analysis tables, vectors + PCA for the positions, level of detail, vis-network HTML), and its
  ``total_s``, cold (nothing cached: what a user waits for after a new store version or filter);
  ``warm_s``: a change of colour, size or level of detail once the analysis is cached; ``summary_graph``:
  the community-level summary graph instead of the top memories; ``browser_draw_s``: Chromium's time to
  draw and stabilise the page (both levels of detail).
- ``forgetting``: the Forgetting page's population recompute (retention of every memory at a new "as of"
  time and parameters, what a threshold suppresses, the distribution figure) per decay model, and one
  memory's curve (event-log replay, two models, figure).
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
    items = [i for i in items if _writable(i.text)]  # LongMemEval has a few empty turns, which the engine refuses
    if len(items) < n:
        raise SystemExit(f"the shared data holds only {len(items)} memories, fewer than {n}")
    return items[:n]


def _writable(text: str) -> bool:
    from memviz.errors import MemvizError
    from memviz.text import normalise

    try:
        normalise(text)
    except MemvizError:
        return False
    return True


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


def _timed(fn, *args, **kwargs):
    t = time.perf_counter()
    out = fn(*args, **kwargs)
    return out, time.perf_counter() - t


def graph_costs(engine, max_nodes: int) -> dict:
    """One cold pass of the Graph page's Python work (nothing cached), seconds per stage."""
    import pandas as pd

    from memviz import graph as mg
    from memviz.projection import fit_projection
    from memviz.viz.graph import graph_html, vis_data

    s = {}
    (nodes, links), s["read_retention"] = _timed(mg.graph_frames, engine)
    (nodes, links), s["filter"] = _timed(mg.filter_frames, nodes, links, mg.GraphFilter())
    g, s["analysis_graph"] = _timed(mg.analysis_graph, nodes, links)
    comm, s["louvain"] = _timed(mg.communities, g)
    cent, s["pagerank"] = _timed(mg.centrality, g)
    _, s["analysis_tables"] = _timed(mg.analyse, nodes, links, comm, cent)
    ids_vecs, s["read_vectors"] = _timed(engine.store.vectors)
    proj, s["pca"] = _timed(fit_projection, *ids_vecs)
    t = time.perf_counter()
    xy = pd.DataFrame(proj.coords, index=pd.Index(proj.ids, name="id"), columns=["x", "y"])
    nodes = nodes.assign(community=nodes["id"].map(comm)).join(xy, on="id")
    shown = mg.build_graph(nodes[nodes["id"].isin(mg.top_ids(cent["pagerank"], max_nodes))], links)
    s["level_of_detail"] = time.perf_counter() - t
    page, s["html"] = _timed(lambda: graph_html(vis_data(shown, "community", "importance")))
    summary, s["summary_graph"] = _timed(lambda: graph_html(vis_data(mg.summary_graph(nodes, links, comm, cent),
                                                                    "community", "size")))
    stages = {k: round(v, 3) for k, v in s.items()}
    total = sum(v for k, v in s.items() if k != "summary_graph")
    return {"stages_s": stages, "total_s": round(total, 3),
            "warm_s": round(s["level_of_detail"] + s["html"], 3),
            "memories": len(nodes), "links": len(links), "shown_nodes": shown.number_of_nodes(),
            "shown_links": shown.number_of_edges(), "communities": int(comm.max()) + 1, "html_bytes": len(page),
            "_pages": {"top": page, "summary": summary}}


def forgetting_costs(engine) -> dict:
    """The Forgetting page's population recompute (a new "as of" time or parameter) per decay model, and one
    memory's curve; seconds."""
    from memviz.decay import SECONDS_PER_DAY, DecayParams
    from memviz.forgetting import curve_times, memory_history, retention_curve, suppressed
    from memviz.viz.forgetting import Curve, curve_figure, distribution_figure

    out = {}
    now = engine.clock.now()
    for n, model in enumerate(("exponential", "power", "actr")):
        t = time.perf_counter()
        frame = engine.retention_frame(model, now + (n + 1) * SECONDS_PER_DAY, params=DecayParams(power_d=0.6))
        below = suppressed(frame, 0.3)
        live = frame[frame["forgotten_time_s"].isna()]
        distribution_figure(live["retention"].to_numpy(), 0.3).to_json()
        below.head(500).to_json()
        out[f"population_{model}_s"] = round(time.perf_counter() - t, 3)
    top = frame.sort_values("recall_count").iloc[-1]["id"]
    t = time.perf_counter()
    h = memory_history(engine.get(top), engine.store.list_events(memory_id=top))
    times = curve_times(h, now, 60)
    curve_figure([Curve(m, m, times, retention_curve(h, times, m)) for m in ("exponential", "actr")], h, now).to_json()
    out["one_memory_curve_s"] = round(time.perf_counter() - t, 3)
    return out


def browser_draw_s(page_html: str) -> float | None:
    """Seconds Chromium takes to draw and stabilise a graph page (None without Chromium)."""
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", headless=True,
                              args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"])
        page = b.new_page(viewport={"width": 1200, "height": 800})
        t = time.perf_counter()
        page.set_content(page_html)
        page.wait_for_function("document.body.dataset.stabilised === '1'", timeout=120_000)
        elapsed = time.perf_counter() - t
        b.close()
    return round(elapsed, 2)


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="/tmp/memviz_bench", type=Path, help="where the benchmark stores are kept")
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 10000])
    ap.add_argument("--max-nodes", type=int, default=300, help="the graph page's level of detail (default 300)")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    ap.add_argument("--build-only", action="store_true")
    args = ap.parse_args()
    args.stores.mkdir(parents=True, exist_ok=True)
    paths, prev = {}, None
    for n in sorted(args.sizes):
        paths[n] = prev = build_store(args.stores, n, prev)
    if args.build_only:
        return

    import numpy as np

    from memviz.engine import open_engine

    results = {}
    for n, path in paths.items():
        engine = open_engine(str(path))
        graph_costs(engine, args.max_nodes)  # warm-up: imports, LanceDB caches
        runs = [graph_costs(engine, args.max_nodes) for _ in range(args.repeat)]
        best = sorted(runs, key=lambda r: r["total_s"])[len(runs) // 2]
        pages = best.pop("_pages")
        for r in runs:
            r.pop("_pages", None)
        best["total_runs_s"] = [r["total_s"] for r in runs]
        best["browser_draw_s"] = {k: browser_draw_s(v) for k, v in pages.items()}
        fg = [forgetting_costs(engine) for _ in range(args.repeat)]
        results[n] = {"graph": best, "forgetting": {k: float(np.median([f[k] for f in fg])) for k in fg[0]}}
    print(json.dumps({"max_nodes": args.max_nodes, "repeat": args.repeat, "results": results}, indent=1))


if __name__ == "__main__":
    main()
