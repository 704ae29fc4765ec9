"""Local and inert by default: a data set whose texts, speakers, ids, session and source ids (and a person's query
and evaluation file) carry markdown and HTML is shown as text on every page. Each payload points at a local
"beacon" server counting requests: an image in markdown (``![b](...)``) or HTML (``<img src=...>``) that the app
rendered would be fetched by the browser. The test opens every page and the interactions that show data, then
asserts the beacon got no request, the browser asked nothing of any other host, and the raw characters show."""

from __future__ import annotations

import http.server
import json
import threading

import pytest
from playwright.sync_api import expect

from browser_helpers import LONG_MS, shown_text, use_store, wait_rendered, wait_shown

pytestmark = pytest.mark.browser

N_HOSTILE = 6


class _Beacon(http.server.ThreadingHTTPServer):
    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _BeaconHandler)
        self.hits: list[str] = []

    @property
    def port(self) -> int:
        return self.server_address[1]


class _BeaconHandler(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:  # noqa: N802 (http.server's name)
        self.server.hits.append(self.path)  # type: ignore[attr-defined]
        self.send_response(204)
        self.end_headers()

    def log_message(self, *args) -> None:
        pass


@pytest.fixture(scope="module")
def beacon():
    server = _Beacon()
    threading.Thread(target=server.serve_forever, daemon=True).start()
    yield server
    server.shutdown()
    server.server_close()


def payload(port: int, n: str) -> str:
    """Markdown, HTML and a javascript: link, each fetching (or opening) the beacon if it were interpreted."""
    return (
        f"**bold** ![b](http://127.0.0.1:{port}/beacon-md-{n}) <img src=http://127.0.0.1:{port}/beacon-html-{n}> "
        f"[link](javascript:alert(1)) $x$ :red[red]"
    )


@pytest.fixture(scope="module")
def hostile_store(tmp_path_factory, real_embedder, beacon):
    from memviz.clock import SimulatedClock
    from memviz.engine import MemoryEngine
    from memviz.models import MemoryInput
    from memviz.store import MemoryStore

    from support import T0

    db = tmp_path_factory.mktemp("hostile_store")
    engine = MemoryEngine(MemoryStore(db), real_embedder, SimulatedClock(T0))
    p = beacon.port
    engine.write(
        [
            MemoryInput(
                text=f"Caroline went to the support group. {payload(p, f'text{n}')}",
                speaker=payload(p, f"sp{n}")[:128],  # within the speaker's length limit (memviz.limits)
                session_id=payload(p, f"session{n % 2}"),
                source_id=payload(p, f"source{n}"),
                id=f"m{n} {payload(p, f'id{n}')}",
                dataset=payload(p, "dataset"),
                event_time_s=T0 - 86_400 * (N_HOSTILE - n),
            )
            for n in range(N_HOSTILE)
        ]
    )
    engine.recall("support group", k=3)  # a recorded trace, reinforced: events and a history to replay
    return db


@pytest.fixture
def watched(page, beacon, app_url):
    """``page``, with every request the browser makes to a host other than the app's recorded."""
    outside: list[str] = []

    def record(request) -> None:
        url = request.url
        if url.startswith("http") and not url.startswith(app_url):
            outside.append(url)

    page.context.on("request", record)
    page.outside = outside
    beacon.hits.clear()
    return page


def assert_inert(pg, beacon, where: str) -> None:
    """No request reached the beacon or any other host, no script ran, the page raised nothing."""
    wait_rendered(pg)
    assert not beacon.hits, f"{where}: the browser fetched {beacon.hits}"
    assert not pg.outside, f"{where}: requests outside the app: {pg.outside}"
    assert pg.evaluate("() => window.__xss") is None
    assert pg.locator('[data-testid="stException"]').count() == 0, f"{where}: {shown_text(pg)}"


def go(pg, name: str, heading: str) -> None:
    """Open page ``name`` from the sidebar (the same session, so the same store) until its ``heading`` shows."""
    pg.get_by_test_id("stSidebarNav").get_by_role("link", name=name).click()
    wait_shown(pg.get_by_role("heading", name=heading, exact=True), f"the {name} page")
    wait_rendered(pg)


def main_text(pg) -> str:
    return pg.locator('[data-testid="stMainBlockContainer"]').first.inner_text(timeout=LONG_MS)


def test_hostile_data_is_shown_as_text_on_every_page(watched, app_url, hostile_store, beacon, tmp_path):
    pg, port = watched, beacon.port
    use_store(pg, app_url, hostile_store, f"{N_HOSTILE} memories ·")

    # Memories: the table, the picker and one memory in detail (card, fields, links, event history).
    wait_shown(pg.get_by_text("Event history"), "the memory detail")
    assert_inert(pg, beacon, "Memories")
    assert "**bold** ![b](" in main_text(pg)  # the memory card shows the characters

    # Recall: a hostile query (heading, hits, trace), then why not for a hostile id and for an unknown one.
    go(pg, "Recall", "Recall")
    query = f"support group {payload(port, 'query')}"
    pg.get_by_role("textbox", name="Query").fill(query)
    pg.get_by_role("button", name="Recall", exact=True).click()
    wait_shown(pg.get_by_role("tabpanel", name="Hits").get_by_test_id("stDataFrame"), "the table of hits")
    assert_inert(pg, beacon, "Recall hits")
    assert f"**bold** ![b](http://127.0.0.1:{port}/beacon-md-query)" in main_text(pg)  # markup as characters
    pg.get_by_role("tab", name="Why not?").click()
    why = pg.get_by_role("tabpanel", name="Why not?")
    exact = pg.get_by_role("textbox", name="…or its exact id")
    exact.fill(f"m5 {payload(port, 'id5')}")
    exact.press("Enter")
    wait_shown(why.get_by_test_id("stMetric"), "the why-not of a hostile id")
    assert_inert(pg, beacon, "Recall why-not")
    assert f"m5 **bold** ![b](http://127.0.0.1:{port}/beacon-md-id5)" in why.inner_text()
    exact.fill(f"unknown {payload(port, 'unknown')}")
    exact.press("Enter")
    wait_shown(pg.get_by_test_id("stAlertContentError"), "the error about an unknown id")
    assert_inert(pg, beacon, "Recall why-not, unknown id")
    assert "beacon-md-unknown" in pg.get_by_test_id("stAlertContentError").first.inner_text()

    # Graph: the whole store (tooltips built in the frame), then around a hostile query.
    go(pg, "Graph", "Memory graph")
    doc = pg.locator("iframe").first.content_frame
    expect(doc.locator("body"), "vis-network to lay the graph out").to_have_attribute("data-stabilised", "1")
    assert_inert(pg, beacon, "Graph")
    pg.get_by_test_id("stRadio").get_by_text("Around a query's recall", exact=True).click()
    box = pg.get_by_role("textbox", name="Query")
    box.fill(query)
    pg.get_by_role("button", name="Recall", exact=True).click()
    wait_shown(pg.get_by_text("hits: stars with their rank"), "the query caption")
    assert_inert(pg, beacon, "Graph query")
    assert "beacon-md-query" in main_text(pg)

    # Forgetting: one memory's curve (titled by its label), the population, time travel.
    go(pg, "Forgetting", "Forgetting curves")
    wait_shown(pg.locator(".st-key-fg_curve .main-svg"), "the retention curve")
    for tab in ("Population", "Time travel"):
        pg.get_by_role("tab", name=tab).click()
        wait_rendered(pg)
    assert_inert(pg, beacon, "Forgetting")

    # Evaluate: a file that cannot be read (its hostile path quoted in the error), then a loaded result whose
    # benchmark, categories, question, answer and store are hostile.
    go(pg, "Evaluate", "Evaluate")
    pg.get_by_test_id("stRadio").get_by_text("Load an evaluation JSON", exact=True).click()
    path_box = pg.get_by_role("textbox", name="…or its path")
    path_box.fill(f"{tmp_path}/{payload(port, 'path')}")
    path_box.press("Enter")
    pg.get_by_role("button", name="Load", exact=True).click()
    wait_shown(pg.get_by_test_id("stAlertContentError"), "the error about an unreadable file")
    assert_inert(pg, beacon, "Evaluate, unreadable file")
    result = tmp_path / "hostile_eval.json"
    result.write_text(json.dumps(hostile_result(port, tmp_path)), encoding="utf-8")
    path_box.fill(str(result))
    path_box.press("Enter")
    pg.get_by_role("button", name="Load", exact=True).click()
    wait_shown(pg.get_by_role("heading", name="Browse the questions"), "the loaded evaluation")
    wait_shown(pg.get_by_test_id("stMarkdownContainer").filter(has_text="beacon-md-question"), "the question")
    assert_inert(pg, beacon, "Evaluate")
    shown = main_text(pg)
    assert f"When? ![b](http://127.0.0.1:{port}/beacon-md-question) <img src=" in shown
    assert f"answer: **bold** ![b](http://127.0.0.1:{port}/beacon-md-answer)" in shown


def hostile_result(port: int, tmp_path) -> dict:
    """An evaluation result (as ``memviz eval ... --json`` writes it) with hostile names and texts."""
    cat = payload(port, "category")
    return {
        "benchmark": payload(port, "benchmark"),
        "preset": "default",
        "counts": {"evaluated": 1},
        "overall": {"recall@10": 0.5},
        "by_category": {"1": {"name": cat, "n": 1, "recall@10": 0.5}},
        "questions": [
            {
                "id": "q1",
                "category": "1",
                "category_name": cat,
                "status": "evaluated",
                "question": f"When? ![b](http://127.0.0.1:{port}/beacon-md-question) <img src=http://127.0.0.1:{port}/q>",
                "answer": payload(port, "answer"),
                "evidence": ["D1:1"],
                "retrieved": ["D1:2"],
                "gold_ranks": {"D1:1": None},
                "metrics": {"recall@10": 0.0},
                "store": f"{tmp_path}/{payload(port, 'store')}",
            }
        ],
    }
