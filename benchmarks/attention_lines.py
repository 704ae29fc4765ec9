"""Cost of the Attention page's token-to-token head view at 512 tokens, on real SmolLM2 attention.

    HF_HUB_OFFLINE=1 .venv/bin/python benchmarks/attention_lines.py [--tokens 512] [--browser]

The text is :func:`memviz.attention.samples.long_sample` (LoCoMo conv-26 sessions 1-2 when the shared data is there)
cut to ``--tokens``; layer 5, head 4. Per filter: the lines drawn, the figure's build time
(:func:`memviz.viz.attention_lines.token_lines_figure`, median of 5, wall and CPU), its serialisation
(``fig.to_json``, what ``st.plotly_chart`` sends) and its size. ``--browser``: Chromium's time to draw it
(``Plotly.newPlot`` on the offline HTML export, median of 3). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import time


def _timed(fn, n: int = 5) -> tuple[float, float, object]:
    wall, cpu, out = [], [], None
    for _ in range(n):
        t0, c0 = time.perf_counter(), time.process_time()
        out = fn()
        wall.append(time.perf_counter() - t0)
        cpu.append(time.process_time() - c0)
    return statistics.median(wall), statistics.median(cpu), out


def _browser_draw_ms(fig, runs: int = 3) -> float:
    from playwright.sync_api import sync_playwright

    from memviz.viz.attention import figure_html

    path = os.path.abspath("test-artifacts/attention-lines-bench.html")
    os.makedirs(os.path.dirname(path), exist_ok=True)
    with open(path, "w", encoding="utf-8") as f:
        f.write(figure_html(fig))
    js = """async () => { const gd = document.querySelector('.plotly-graph-div');
        const t0 = performance.now(); await Plotly.newPlot(gd, gd.data, gd.layout); return performance.now() - t0; }"""
    with sync_playwright() as p:
        b = p.chromium.launch(executable_path="/usr/bin/chromium", args=["--no-sandbox", "--disable-gpu"])
        pg = b.new_page()
        pg.goto(f"file://{path}")
        pg.wait_for_selector(".plotly-graph-div .main-svg")
        times = [pg.evaluate(js) for _ in range(runs)]
        b.close()
    return statistics.median(times)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--tokens", type=int, default=512)
    ap.add_argument("--browser", action="store_true")
    args = ap.parse_args()
    from memviz.attention.capture import capture_attention
    from memviz.attention.models import load_model
    from memviz.attention.samples import long_sample
    from memviz.viz import attention_lines as vl

    passage = long_sample(2)
    cap = capture_attention(passage.text, load_model("smollm2"), max_tokens=args.tokens)
    layer, head = 5, 4
    out: dict = {"text": passage.label, "tokens": cap.n_tokens, "layer": layer, "head": head, "cores": os.cpu_count()}
    rows = []
    for top_k, threshold, query in (
        (3, 0.0, None),
        (3, 0.0, 300),
        (8, 0.0, None),
        (16, 0.0, None),
        (None, 0.0, None),
        (None, 0.05, None),
    ):

        def build(top_k=top_k, threshold=threshold, query=query):
            return vl.token_lines_figure(
                cap.attentions[layer],
                cap.tokens,
                layer,
                head,
                top_k=top_k,
                threshold=threshold,
                query=query,
                source=passage.label,
            )

        wall, cpu, fig = _timed(build)
        js_wall, _, js = _timed(fig.to_json)
        edges = vl.token_edges(cap.attentions[layer, head], top_k, threshold)
        row = {
            "top_k": top_k,
            "threshold": threshold,
            "query": query,
            "lines": len(edges),
            "candidates": edges.n_candidates,
            "traces": len(fig.data),
            "build_ms": round(1000 * wall, 1),
            "build_cpu_ms": round(1000 * cpu, 1),
            "to_json_ms": round(1000 * js_wall, 1),
            "json_kb": round(len(js) / 1024, 1),
        }
        if args.browser and top_k in (3, None) and query is None and threshold == 0.0:
            row["browser_draw_ms"] = round(_browser_draw_ms(fig), 1)
        rows.append(row)
    out["rows"] = rows
    out["load_average"] = os.getloadavg()
    print(json.dumps(out, indent=1))


if __name__ == "__main__":
    main()
