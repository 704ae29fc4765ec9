"""Graph page and forgetting page costs on real stores of 1,000, 5,000 and 20,000 memories.

    .venv/bin/python benchmarks/graph_forgetting.py [--stores /tmp/memviz_bench] [--sizes 1000 5000 20000]

The stores are built once (and reused) through the full write pipeline from the shared data
(:func:`memviz.bench.real_items`: LoCoMo dev, then the LongMemEval_S haystacks, then MemoryBank, in file
order, up to each size; 20,112 real memories in all). Prints one JSON object with, per size:

- ``graph``: the Graph page's Python work, per stage (read + retention, filter, analysis graph, Louvain,
  PageRank, analysis tables, vectors + PCA for the positions, level of detail, vis-network HTML), and its
  ``total_s``, cold (nothing cached: what a user waits for after a new store version or filter);
  ``warm_s``: a change of colour, size or level of detail once the analysis is cached; ``summary_graph``:
  the community-level summary graph instead of the top memories; ``browser_draw_s``: Chromium's time to
  draw and stabilise the page (both levels of detail). Every time is given as wall and CPU seconds (``_cpu``):
  the machine is shared, and ``load_average`` says how busy it was.
- ``forgetting``: the Forgetting page's population recompute (retention of every memory at a new "as of"
  time and parameters, what a threshold suppresses, the distribution figure) per decay model, and one
  memory's curve (event-log replay, two models, figure).
- ``pages``: whole page reruns in Streamlit's AppTest (widget moved, everything the page does, including
  Streamlit's caching): see :func:`page_costs`.
"""

from __future__ import annotations

import argparse
import json
import shutil
import time
from pathlib import Path

# The real memories a store larger than the real text is grown from: the short turns of LoCoMo dev and MemoryBank
# (LongMemEval_S's long haystack turns take CPU-quarter-hours to embed on this 2-core machine).
REPLICA_BASE = ("locomo", "memorybank")


def build_store(root: Path, n: int, smaller: Path | None = None) -> Path:
    """The store of ``n`` memories under ``root``, built once. Up to the 20,112 real memories, they are the real
    ones through the full write pipeline (keywords, importance, links, events; grown from a smaller store when
    given). Beyond, the 5,256 real memories of :data:`REPLICA_BASE` through the full write pipeline, then copies of
    them (:func:`memviz.bench.add_copies`: each copy of a conversation a conversation of its own, linked as the
    original, its vectors the original's plus small noise)."""
    from memviz.bench import add_copies, real_items
    from memviz.engine import open_engine

    path = root / f"store_{n}"
    done = path / ".complete"
    if done.exists():
        return path
    items = real_items(n)  # raises FileNotFoundError without the shared data
    replicated = n > len(items)
    if replicated:
        items = real_items(order=REPLICA_BASE)
    elif smaller is not None and not path.exists():
        shutil.copytree(smaller, path)
        (path / ".complete").unlink(missing_ok=True)
    engine = open_engine(str(path))
    t = time.perf_counter()
    engine.ingest(items, batch_size=256)
    copies = add_copies(engine.store, n) if replicated else 0
    print(
        json.dumps(
            {
                "built": str(path),
                "memories": engine.store.count(),
                "copies": copies,
                "seconds": round(time.perf_counter() - t, 1),
            }
        ),
        flush=True,
    )
    done.touch()
    return path


def _timed(fn, *args, **kwargs):
    """``fn``'s result and its (wall, CPU) seconds. CPU time is reported too because this machine is shared:
    under load, wall time measures the neighbours as much as the code."""
    w, c = time.perf_counter(), time.process_time()
    out = fn(*args, **kwargs)
    return out, (time.perf_counter() - w, time.process_time() - c)


def graph_costs(engine, max_nodes: int) -> dict:
    """One cold pass of the Graph page's Python work (nothing cached), seconds per stage, in the page's order:
    ``first_render_s`` is what its first render computes (the whole-store view at its default level of detail:
    the ``max_nodes`` best memories by display score); the Analysis tab's tables (``analysis_tables``) and the
    community summary (``summary_graph``) are computed only when asked for, and ``total_s`` adds the tables."""
    from memviz import graph as mg
    from memviz import graph_views as gv
    from memviz.projection import fit_projection
    from memviz.viz.graph import graph_html, vis_data

    s = {}
    (nodes, links), s["read_retention"] = _timed(mg.graph_frames, engine)
    (nodes, links), s["filter"] = _timed(mg.filter_frames, nodes, links, mg.GraphFilter())
    g, s["analysis_graph"] = _timed(mg.analysis_graph, nodes, links)
    comm, s["louvain"] = _timed(mg.communities, g)
    cent, s["pagerank"] = _timed(mg.centrality, g)
    ids_vecs, s["read_vectors"] = _timed(engine.read.vectors)
    proj, s["pca"] = _timed(fit_projection, *ids_vecs)
    placed, s["place"] = _timed(gv.place_nodes, nodes, comm, proj.ids, proj.coords)
    opts = gv.DisplayOptions(max_nodes=max_nodes)
    detail, s["level_of_detail"] = _timed(opts.detail, placed, links, comm, cent, placed["id"].tolist())
    page, s["html"] = _timed(lambda: graph_html(vis_data(detail.graph, "community", "importance")))
    first = list(s)
    _, s["analysis_tables"] = _timed(mg.analyse, placed, links, comm, cent)
    summary, s["summary_graph"] = _timed(
        lambda: graph_html(vis_data(gv.summary_graph(placed, links, comm, cent), "community", "size"))
    )
    total = [*first, "analysis_tables"]
    return {
        "stages_wall_s": {k: round(v[0], 3) for k, v in s.items()},
        "stages_cpu_s": {k: round(v[1], 3) for k, v in s.items()},
        "first_render_s": round(sum(s[k][0] for k in first), 3),
        "first_render_cpu_s": round(sum(s[k][1] for k in first), 3),
        "total_s": round(sum(s[k][0] for k in total), 3),
        "total_cpu_s": round(sum(s[k][1] for k in total), 3),
        "warm_s": round(s["level_of_detail"][0] + s["html"][0], 3),
        "warm_cpu_s": round(s["level_of_detail"][1] + s["html"][1], 3),
        "memories": len(nodes),
        "links": len(links),
        "shown_nodes": detail.graph.number_of_nodes(),
        "shown_links": detail.graph.number_of_edges(),
        "note": detail.note,
        "communities": int(comm.max()) + 1,
        "html_bytes": len(page),
        "_pages": {"top": page, "summary": summary},
    }


def forgetting_costs(engine) -> dict:
    """The Forgetting page's population recompute (a new "as of" time or parameter) per decay model, and one
    memory's curve; seconds."""
    from memviz.decay import SECONDS_PER_DAY, DecayParams
    from memviz.forgetting import curve_times, memory_history, retention_curve, suppressed
    from memviz.viz.forgetting import Curve, curve_figure, distribution_figure

    out = {}
    now = engine.clock.now()

    def population(model, as_of_s):
        frame = engine.retention_frame(model, as_of_s, params=DecayParams(power_d=0.6))
        below = suppressed(frame, 0.3)
        live = frame[frame["forgotten_time_s"].isna()]
        distribution_figure(live["retention"].to_numpy(), 0.3).to_json()
        below.head(500).to_json()
        return frame

    for n, model in enumerate(("exponential", "power", "actr")):
        frame, (out[f"population_{model}_s"], out[f"population_{model}_cpu_s"]) = _timed(
            population, model, now + (n + 1) * SECONDS_PER_DAY
        )
    top = frame.sort_values("recall_count").iloc[-1]["id"]

    def curve():
        h = memory_history(engine.get(top), engine.store.list_events(memory_id=top))
        times = curve_times(h, now, 60)
        return curve_figure(
            [Curve(m, m, times, retention_curve(h, times, m)) for m in ("exponential", "actr")], h, now
        ).to_json()

    _, (out["one_memory_curve_s"], out["one_memory_curve_cpu_s"]) = _timed(curve)
    return {k: round(v, 3) for k, v in out.items()}


def page_costs(path: Path) -> dict:
    """Whole page reruns in Streamlit's AppTest on the store at ``path`` (engine already loaded; wall seconds):
    the Forgetting page's Population tab after a threshold move and after an "as of" move; the Graph page (its
    Analysis tab open) after a filter change (cold analysis of the new filter) and after a colour change."""
    import os

    from streamlit.testing.v1 import AppTest

    os.environ["MEMVIZ_DB"] = str(path)
    at = AppTest.from_file(str(Path(__file__).resolve().parents[1] / "app.py"), default_timeout=600)
    at.run()
    out = {}

    def rerun(name, widget):
        t = time.perf_counter()
        widget.run()
        assert not at.exception, [e.value for e in at.exception]
        out[name] = round(time.perf_counter() - t, 3)

    at.switch_page("app_pages/forgetting.py").run()
    at.session_state["fg_tab"] = "Population"
    at.run()
    rerun("forgetting_threshold_s", at.slider(key="fg_threshold").set_value(0.3))
    rerun("forgetting_as_of_s", at.slider(key="fg_as_of_days").set_value(30))
    at.switch_page("app_pages/graph.py").run()
    rerun("graph_filter_cold_s", at.slider(key="graph_min_weight").set_value(0.6))
    rerun("graph_colour_warm_s", at.selectbox(key="graph_colour").set_value("speaker"))
    return out


def browser_draw_s(page_html: str) -> float | None:
    """Seconds Chromium takes to draw and stabilise a graph page (None without Chromium)."""
    if not Path("/usr/bin/chromium").exists():
        return None
    from playwright.sync_api import sync_playwright

    with sync_playwright() as p:
        b = p.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage"],
        )
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
    ap.add_argument("--sizes", nargs="+", type=int, default=[1000, 5000, 20000])
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

    import os

    import numpy as np

    from memviz.engine import open_engine

    load = {"start": os.getloadavg()[0]}
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
        best["total_runs_cpu_s"] = [r["total_cpu_s"] for r in runs]
        best["browser_draw_s"] = {k: browser_draw_s(v) for k, v in pages.items()}
        fg = [forgetting_costs(engine) for _ in range(args.repeat)]
        results[n] = {
            "graph": best,
            "forgetting": {k: float(np.median([f[k] for f in fg])) for k in fg[0]},
            "pages": page_costs(path),
        }
    load["end"] = os.getloadavg()[0]
    print(
        json.dumps(
            {"max_nodes": args.max_nodes, "repeat": args.repeat, "load_average": load, "results": results}, indent=1
        )
    )


if __name__ == "__main__":
    main()
