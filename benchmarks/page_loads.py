"""Start, pages and the CLI as a user meets them: real processes, a real browser (Debian's Chromium), real stores.

    .venv/bin/python benchmarks/page_loads.py [--quick] [--stores /tmp/memviz_bench] [--repeat 3]

Every time is wall seconds, the median of ``--repeat`` runs (each run's numbers are kept too); the machine is
shared, and ``load_average`` says how busy it was. Chromium is launched once, before anything is timed (a
user's browser is already open); each app run gets a new browser context (a new Streamlit session). A page is
"rendered" when the browser tests say so (tests/browser/browser_helpers.py ``_RENDERED``: connected, the
script not running, no skeleton or stale element, the main block shows something) and its title is the page's
own; "drawn" adds what the browser draws after that: every plotly chart's SVG, and on the Graph page the
vis-network canvas laid out (its iframe's ``data-stabilised``).

- ``cold_start``: ``memviz app --db <new empty folder> --port <free port>`` in a new process, each run on a new
  folder. From the process start: ``health_s`` Streamlit answers ``/_stcore/health``; ``usable_s`` the Memories
  page is rendered (it draws at once: the demo conversation is seeded by a background job, whose progress bar
  the page shows); ``seeded_s`` the sidebar counts the demo's 214 memories; ``stages`` when each of the
  seeding's progress texts was first shown ("loading the embedding model", "embedding and writing n of 214").
- ``pages``: per store size (2,000 and 20,000 real memories, built once as benchmarks/graph_forgetting.py
  builds them, :func:`graph_forgetting.build_store`), ``memviz app --db <store>``; the Memories page is opened
  by URL (``open_s``: the request until rendered), then every page of app.py is reached through the sidebar's
  navigation, in app order, once cold (``cold``: the page's first run in this process: models, caches) and then
  ``--repeat`` rounds warm (``warm``: the median; ``warm_runs``). Each time runs from the click on the page's
  link until the page is rendered (``rendered_s``) and drawn (``drawn_s``); ``server_cpu_s``: the CPU seconds
  the app's process used meanwhile (load-independent, unlike wall time on a shared machine).
- ``cli``: new processes on a copy of the 2,000-memory store (a recall reinforces its hits: the benchmark store
  is left as built): ``memviz recall QUERY --db <store> --json`` (wall, and its trace's stages in ms: ``model``
  is the embedding model's load, the process's first recall), ``memviz stats --db <store> --json``, and
  ``memviz --version`` (the interpreter and the CLI's imports, for comparison).

``--quick``: the 2,000-memory store only; ``--parts``: some of cold, pages, cli; ``--sizes``: other store sizes
(100,000: :func:`graph_forgetting.build_store`'s replicated store); ``--pages``: some pages only (the Memories
page is always opened first). Prints one JSON object.
"""

from __future__ import annotations

import argparse
import json
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

from playwright.sync_api import TimeoutError as PlaywrightTimeoutError

REPO = Path(__file__).resolve().parents[1]
sys.path[:0] = [str(REPO / "benchmarks"), str(REPO / "tests"), str(REPO / "tests" / "browser")]

from graph_forgetting import build_store  # noqa: E402

from browser_helpers import _RENDERED, LONG_MS, wait_rendered, wait_until  # noqa: E402

MEMVIZ = str(Path(sys.executable).with_name("memviz"))
CHROMIUM = "/usr/bin/chromium"
QUERY = "When did Caroline go to the LGBTQ support group?"
DEMO_MEMORIES = 214
# Each page of app.py: its link in the sidebar's navigation, and its st.title.
PAGES = {
    "memories": ("Memories", "Memories"),
    "write": ("Write", "Write"),
    "recall": ("Recall", "Recall"),
    "graph": ("Graph", "Memory graph"),
    "forgetting": ("Forgetting", "Forgetting curves"),
    "attention": ("Attention sinks", "Attention sinks and the KV cache"),
    "evaluate": ("Evaluate", "Evaluate"),
}
# Run in every page before its scripts: notes each start of a script run (``window.__ran``, reset before a
# click, so that a wait does not end on the page shown before the click), and the time each distinct progress
# text was first shown (``window.__progress``: [[epoch ms, text]]).
OBSERVE = """
window.__ran = false;
window.__progress = [];
const texts = new Set();
new MutationObserver(ms => {
    if (ms.some(m => m.type === 'attributes' && m.target.dataset?.testScriptState === 'running')
        || document.querySelector('[data-test-script-state=running]')) window.__ran = true;
    for (const e of document.querySelectorAll('[data-testid=stProgress]')) {
        const t = e.innerText.trim().replace(/ \\(\\d[\\d,]* s\\)$/, '');
        if (t && !texts.has(t)) { texts.add(t); window.__progress.push([Date.now(), t]); }
    }
}).observe(document, {childList: true, subtree: true, characterData: true, attributes: true,
                      attributeFilter: ['data-test-script-state']});
"""
# The page titled ``arg`` is rendered: _RENDERED, and the main block's h1 is that title.
TITLED = (
    "t => (" + _RENDERED + ")() && [...document.querySelectorAll('[data-testid=stMainBlockContainer] h1')]"
    ".some(h => h.innerText.trim() === t)"
)
# Everything drawn: every plotly chart has its SVG; every vis-network page (an iframe holding #mynetwork) has its
# canvas and has stabilised its layout. Returns [charts, graphs] once drawn, else null.
DRAWN = """() => {
    const plots = [...document.querySelectorAll('[data-testid=stPlotlyChart]')];
    if (!plots.every(p => p.querySelector('.js-plotly-plot .main-svg'))) return null;
    let graphs = 0;
    for (const f of document.querySelectorAll('iframe')) {
        const d = f.contentDocument;
        if (!d || !d.body) return null;
        if (!d.querySelector('#mynetwork')) continue;
        if (d.body.dataset.stabilised !== '1' || !d.querySelector('#mynetwork canvas')) return null;
        graphs++;
    }
    return [plots.length, graphs];
}"""
# What a page draws at least (its first view at these stores): a chart not yet mounted is not waited for otherwise.
MIN_DRAWN = {"forgetting": (1, 0), "attention": (1, 0), "graph": (0, 1)}


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def _median(xs: list[float]) -> float:
    return round(statistics.median(xs), 3)


def _cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux /proc): the app's own work on a page,
    whatever the machine's load."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def _load() -> list[float]:
    return [round(x, 2) for x in os.getloadavg()]


class App:
    """``memviz app --db <db> --port <free port>`` in a new process (headless: no browser opened, no prompt);
    ``started``: perf_counter at the start, ``health_s``: seconds until /_stcore/health answered."""

    def __init__(self, db: Path, log: Path):
        self.port = _free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log = open(log, "w")
        env = os.environ | {"HF_HUB_OFFLINE": "1"}
        self.started = time.perf_counter()
        self.proc = subprocess.Popen(
            [MEMVIZ, "app", "--db", str(db), "--port", str(self.port), "--server.headless", "true"],
            cwd=db.parent,
            env=env,
            stdin=subprocess.DEVNULL,
            stdout=self.log,
            stderr=subprocess.STDOUT,
        )
        deadline = self.started + LONG_MS / 1000
        while True:
            try:
                if urllib.request.urlopen(f"{self.url}/_stcore/health", timeout=5).status == 200:
                    break
            except OSError:
                pass
            if self.proc.poll() is not None or time.perf_counter() > deadline:
                self.close()
                raise RuntimeError(f"memviz app did not answer (exit {self.proc.poll()}): see {log}")
            time.sleep(0.05)
        self.health_s = time.perf_counter() - self.started

    def close(self) -> None:
        self.proc.terminate()
        try:
            self.proc.wait(timeout=30)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
        self.log.close()


def _context(browser):
    ctx = browser.new_context(viewport={"width": 1280, "height": 800})
    ctx.set_default_timeout(LONG_MS)
    ctx.set_default_navigation_timeout(LONG_MS)
    ctx.add_init_script(OBSERVE)
    return ctx, ctx.new_page()


def _check_clean(pg, name: str) -> None:
    """A page that raised or shows an error is not a load time: fail with what it showed."""
    bad = pg.locator('[data-testid="stException"], [data-testid="stAlertContentError"]')
    if bad.count():
        raise RuntimeError(f"the {name} page shows an error: {bad.first.inner_text()[:500]}")


def cold_start(browser, work: Path, run: int) -> dict:
    """One cold start on a new empty store (see the module docstring); seconds from the process start."""
    db = work / f"cold_{run}" / "store"
    db.parent.mkdir(parents=True)
    ctx, pg = _context(browser)
    app = App(db, db.parent / "streamlit.log")
    try:
        epoch0 = time.time() - (time.perf_counter() - app.started)
        pg.goto(app.url)
        wait_until(pg, TITLED, "the Memories page", arg="Memories")
        usable = time.perf_counter() - app.started
        _check_clean(pg, "memories")
        bar_shown = pg.get_by_test_id("stProgress").count() > 0
        caption = f"{DEMO_MEMORIES} memories ·"
        sidebar = pg.get_by_test_id("stSidebar").get_by_text(caption)
        try:
            sidebar.first.wait_for(state="visible", timeout=LONG_MS)
            seeded = time.perf_counter() - app.started
            wait_rendered(pg)
        except PlaywrightTimeoutError:  # a miss is a result: say so, and how long was waited
            seeded = None
        stages = [[round(ms / 1000 - epoch0, 2), t] for ms, t in pg.evaluate("() => window.__progress")]
    finally:
        ctx.close()
        app.close()
    return {
        "health_s": round(app.health_s, 3),
        "usable_s": round(usable, 3),
        "seeded_s": None if seeded is None else round(seeded, 3),
        "waited_s": round(time.perf_counter() - app.started, 3),
        "progress_bar_when_usable": bar_shown,
        "stages": stages,
    }


def _arrive(pg, name: str, t0: float) -> dict:
    """Wait for page ``name`` to be rendered, then drawn; seconds since ``t0``."""
    wait_until(pg, "() => window.__ran", f"the {name} page's script to start")
    wait_until(pg, TITLED, f"the {name} page", arg=PAGES[name][1])
    rendered = time.perf_counter() - t0
    charts, graphs = MIN_DRAWN.get(name, (0, 0))
    wait_until(
        pg,
        f"() => {{ const d = ({DRAWN})(); return d !== null && d[0] >= {charts} && d[1] >= {graphs}; }}",
        f"the {name} page's charts and graph to be drawn",
    )
    drawn = time.perf_counter() - t0
    got = pg.evaluate(DRAWN)
    _check_clean(pg, name)
    return {"rendered_s": round(rendered, 3), "drawn_s": round(drawn, 3), "charts": got[0], "graphs": got[1]}


def page_loads(browser, store: Path, repeat: int, pages: tuple[str, ...] = tuple(PAGES)) -> dict:
    """The ``pages`` of app.py (default: every page) on ``store``: opened once cold, then ``repeat`` warm rounds
    (module docstring)."""
    ctx, pg = _context(browser)
    app = App(store, store.parent / f"{store.name}.streamlit.log")
    out: dict = {"health_s": round(app.health_s, 3)}
    try:
        t0 = time.perf_counter()
        pg.goto(app.url)
        out["open_s"] = _arrive(pg, "memories", t0)
        nav = pg.get_by_test_id("stSidebarNav")

        def visit(name: str) -> dict:
            link = nav.get_by_role("link", name=PAGES[name][0], exact=True)
            link.wait_for(state="visible")
            pg.evaluate("() => { window.__ran = false; }")
            t, cpu = time.perf_counter(), _cpu_s(app.proc.pid)
            link.click()
            return _arrive(pg, name, t) | {"server_cpu_s": round(_cpu_s(app.proc.pid) - cpu, 2)}

        order = [p for p in pages if p != "memories"] + ["memories"]
        out["cold"] = {name: visit(name) for name in order}
        rounds = [{name: visit(name) for name in order} for _ in range(repeat)]
        out["warm"] = {
            name: {k: _median([r[name][k] for r in rounds]) for k in ("rendered_s", "drawn_s", "server_cpu_s")}
            for name in order
        }
        out["warm_runs"] = {name: [r[name]["drawn_s"] for r in rounds] for name in order}
        out["drawn"] = {name: [rounds[-1][name]["charts"], rounds[-1][name]["graphs"]] for name in order}
    finally:
        ctx.close()
        app.close()
    return out


def _cli(args: list[str]) -> tuple[float, str]:
    t = time.perf_counter()
    done = subprocess.run(
        [MEMVIZ, *args],
        env=os.environ | {"HF_HUB_OFFLINE": "1"},
        capture_output=True,
        text=True,
        check=True,
        stdin=subprocess.DEVNULL,
    )
    return time.perf_counter() - t, done.stdout


def cli_costs(store: Path, work: Path, repeat: int) -> dict:
    """Cold CLI processes on a copy of ``store`` (module docstring)."""
    db = work / "cli_store"
    shutil.copytree(store, db)
    recalls, stats, version = [], [], []
    for _ in range(repeat):
        wall, out = _cli(["recall", QUERY, "--db", str(db), "--json"])
        trace = json.loads(out)["trace"]
        recalls.append(
            {
                "wall_s": round(wall, 3),
                "trace_total_ms": round(trace["total_ms"], 1),
                "stages_ms": {s["name"]: round(s["duration_ms"], 1) for s in trace["stages"]},
            }
        )
        stats.append(round(_cli(["stats", "--db", str(db), "--json"])[0], 3))
        version.append(round(_cli(["--version"])[0], 3))
    stages = recalls[0]["stages_ms"]
    return {
        "recall": {
            "wall_s": _median([r["wall_s"] for r in recalls]),
            "trace_total_ms": _median([r["trace_total_ms"] for r in recalls]),
            "stages_ms": {k: _median([r["stages_ms"].get(k, 0.0) for r in recalls]) for k in stages},
            "runs": recalls,
        },
        "stats": {"wall_s": _median(stats), "runs": stats},
        "version": {"wall_s": _median(version), "runs": version},
    }


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--stores", default="/tmp/memviz_bench", type=Path, help="where the benchmark stores are kept")
    ap.add_argument("--quick", action="store_true", help="the 2,000-memory store only")
    ap.add_argument("--repeat", type=int, default=3, help="runs per measurement; the median is reported")
    ap.add_argument(
        "--parts", nargs="+", default=["cold", "pages", "cli"], choices=["cold", "pages", "cli"], help="what to run"
    )
    ap.add_argument("--sizes", nargs="+", type=int, help="store sizes of the pages part (default 2000 20000)")
    ap.add_argument("--pages", nargs="+", choices=list(PAGES), default=list(PAGES), help="pages visited")
    args = ap.parse_args()
    if not Path(CHROMIUM).exists():
        sys.exit(f"{CHROMIUM} missing: `bash run.sh test` installs Debian's chromium")
    sizes = [2000] if args.quick else args.sizes or [2000, 20000]
    args.stores.mkdir(parents=True, exist_ok=True)
    stores, prev = {}, None
    for n in sizes:
        stores[n] = prev = build_store(args.stores, n, prev)

    import streamlit
    from playwright.sync_api import sync_playwright

    load = {"start": _load()}
    res: dict = {
        "machine": {"cpus": os.cpu_count(), "python": sys.version.split()[0], "streamlit": streamlit.__version__},
        "repeat": args.repeat,
        "targets_s": {"usable": 25, "warm_page_2000": 2, "warm_page_20000": 5, "cli_recall": 10, "cli_stats": 3},
    }
    with tempfile.TemporaryDirectory(prefix="memviz_page_loads_") as tmp, sync_playwright() as p:
        work = Path(tmp)
        browser = p.chromium.launch(
            executable_path=CHROMIUM,
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--disable-quic", "--no-first-run"],
        )
        res["machine"]["chromium"] = browser.version
        if "cold" in args.parts:
            runs = [cold_start(browser, work, r) for r in range(args.repeat)]
            res["cold_start"] = {
                **{k: _median([r[k] for r in runs]) for k in ("health_s", "usable_s")},
                "seeded_s": None if None in (s := [r["seeded_s"] for r in runs]) else _median(s),
                "runs": runs,
            }
            load["after_cold_start"] = _load()
        if "pages" in args.parts:
            res["pages"] = {}
            for n, store in stores.items():
                res["pages"][n] = page_loads(browser, store, args.repeat, tuple(args.pages))
                load[f"after_pages_{n}"] = _load()
        browser.close()
        if "cli" in args.parts:
            res["cli"] = cli_costs(stores[2000], work, args.repeat)
    load["end"] = _load()
    res["load_average"] = load
    print(json.dumps(res, indent=1))


if __name__ == "__main__":
    main()
