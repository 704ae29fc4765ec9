"""Every page in a real browser: loads without an exception or error, its main interaction works, no
script smuggled in through memory text runs, and a screenshot is saved in test-artifacts/."""

from __future__ import annotations

import re

import pytest
from playwright.sync_api import expect

from memviz.paths import LOCOMO_DEV

from browser_helpers import (
    LONG_MS,
    PLOTS,
    alerts,
    grid_rows,
    metrics,
    page_paths,
    plot_traces,
    screenshot,
    use_store,
    wait_for_trace,
    wait_rendered,
    wait_shown,
    wait_until,
)

pytestmark = pytest.mark.browser

QUERY = "When did Caroline go to the LGBTQ support group?"
# The Memories page's "Showing N of M memories" caption, as [N, M] (null while it is not shown).
SHOWING = (
    "() => { const m = document.querySelector('[data-testid=stMainBlockContainer]')?.innerText"
    ".match(/Showing ([\\d,]+) of ([\\d,]+) memories/); "
    "return m ? [m[1], m[2]].map(s => Number(s.replaceAll(',', ''))) : null; }"
)


def assert_clean(pg) -> None:
    assert pg.locator('[data-testid="stException"]').count() == 0, pg.locator(
        '[data-testid="stException"]'
    ).first.inner_text()
    errors = pg.locator('[data-testid="stAlertContentError"]')
    assert errors.count() == 0, errors.first.inner_text()
    assert pg.evaluate("() => window.__xss") is None


def choose(pg, option: str) -> None:
    """Pick the radio option labelled ``option`` once it is shown: its label is scrolled to the middle of the view
    (clear of Streamlit's sticky header) and clicked (the radio's own input is hidden under its label)."""
    label = pg.get_by_test_id("stRadio").locator("label").filter(has_text=re.compile(f"^{re.escape(option)}$"))
    wait_shown(label, f"the option {option!r}")
    label.first.evaluate("e => e.scrollIntoView({block: 'center'})")
    label.first.click()


def settled(pg, name: str, at=None) -> None:
    """After an interaction has shown its result: the rerun is over, the page is clean, and a screenshot is saved
    (scrolled to ``at``)."""
    wait_rendered(pg)
    assert_clean(pg)
    screenshot(pg, name, at)


@pytest.mark.parametrize("name,path", page_paths())
def test_page_loads_clean(page, app_url, name, path):
    page.goto(f"{app_url}/{path}")
    wait_rendered(page)
    assert_clean(page)
    screenshot(page, f"page-{name}")


def test_hostile_memory_text_is_shown_as_text(page, app_url):
    page.goto(app_url)
    wait_rendered(page)
    wait_until(page, f"() => ({SHOWING})() !== null", "the Memories page's 'Showing N of M memories' caption")
    search = page.get_by_label("Search text")
    search.fill("script")
    search.press("Enter")
    # the search has run: fewer memories shown than stored, the hostile ones among them
    wait_until(
        page,
        f"() => {{ const s = ({SHOWING})(); return s !== null && 0 < s[0] && s[0] < s[1]; }}",
        "the search for 'script' to narrow the memory table",
    )
    settled(page, "memories-hostile-search")


def away_and_back_until_ended(pg, start, away: tuple[str, str], back: tuple[str, str]) -> list[dict]:
    """Click ``start`` (a button that starts a background job) and wait until the job has started (its progress
    bar shows, or it has already said how it ended); open the page ``away[0]`` (until its textbox ``away[1]``
    shows), return to ``back[0]`` (until its textbox ``back[1]`` shows), and wait until the job has said how it
    ended: its success, or whatever went wrong instead (so that a failure says what it was). Returns the alerts
    shown since the click ({"kind", "text"}, see browser_helpers.alerts).

    Leaving the page before the click's rerun has started the job would stop that rerun, and the job would
    never start (a busy machine made that likely). The job says how it ended once, on its page, whenever that
    is: a small job may end (and say so) before the test has left the page, a large one only after it came
    back; the alerts are recorded as they appear, so the test sees the announcement in either case."""
    before = len(alerts(pg))
    wait_rendered(pg)  # a click that lands while a rerun is in flight can be lost with that rerun
    expect(start, "the start button").to_be_enabled(timeout=LONG_MS)
    start.click()
    wait_until(
        pg,
        "n => window.__alerts.length > n || !!document.querySelector("
        "'[data-testid=stProgress], [data-testid=stException]')",
        "the background job to start (its progress bar) after the click",
        arg=before,
    )
    nav = pg.get_by_test_id("stSidebarNav")
    nav.get_by_role("link", name=away[0]).click()  # a rerun of another page does not stop the job
    # the job shares the two cores with this page's script: the page may take a while, but it comes
    wait_shown(pg.get_by_role("textbox", name=away[1]), f"the {away[0]} page's {away[1]!r} box (a job runs meanwhile)")
    nav.get_by_role("link", name=back[0]).click()
    wait_shown(pg.get_by_role("textbox", name=back[1]), f"the {back[0]} page's {back[1]!r} box")
    wait_until(
        pg,
        "n => window.__alerts.length > n || !!document.querySelector('[data-testid=stException]')",
        f"the background job to say how it ended (back on the {back[0]} page)",
        arg=before,
    )
    return alerts(pg)[before:]


def test_memories_ingest_demo(page, app_url, fresh_store):
    """Import the built-in demo through the Memories page into a store holding one other memory, opening
    another page and coming back while it runs: the count and the memory table grow by the demo's size."""
    from memviz.demo import DEMO_FORMAT, DEMO_PATH
    from memviz.importers import load

    use_store(page, app_url, fresh_store)
    settled(page, "memories-before-ingest")
    assert metrics(page)["Memories"] == "1"

    page.get_by_test_id("stExpander").filter(has_text="Add data to the store").locator("summary").click()
    page.get_by_role("radio", name="Built-in demo").check()
    said = away_and_back_until_ended(
        page,
        page.get_by_role("button", name="Ingest"),
        ("Write", "Memory text"),
        ("Memories", "Search text or source id"),
    )
    settled(page, "memories-ingested")
    n_demo = len(load(DEMO_PATH, DEMO_FORMAT))
    assert [a["kind"] for a in said] == ["success"], said  # said once
    assert f"{n_demo:,} memories written" in said[0]["text"]
    assert metrics(page)["Memories"] == f"{1 + n_demo:,}"
    assert grid_rows(page.get_by_test_id("stDataFrame").first) == 1 + n_demo
    screenshot(page, "memories-table", at=page.get_by_role("heading", name="Memory table"))


def test_write_reports_a_hostile_memory_as_text(page, app_url, fresh_store):
    """Write one memory by hand (text with markup that would run if rendered as HTML): the write report shows
    it as text, with its keywords and links, and the store counts one more memory."""
    text = 'Caroline said <img src=x onerror="window.__xss=1"> and `rm -rf` about "the support group".'
    use_store(page, app_url, fresh_store)
    page.get_by_test_id("stSidebarNav").get_by_role("link", name="Write").click()  # same session, same store
    wait_rendered(page)
    page.get_by_role("textbox", name="Memory text").fill(text)
    page.get_by_role("textbox", name="Speaker").fill("Caroline")
    page.get_by_role("button", name="Write", exact=True).click()
    wait_shown(page.get_by_role("heading", name="Write report"), "the write report")
    wait_shown(page.get_by_test_id("stSidebar").get_by_text("2 memories ·"), "the sidebar to count 2 memories")
    settled(page, "write-report", at=page.get_by_role("heading", name="Write report"))
    assert page.get_by_text(re.compile(r"1 memory written with \d+ link")).count() == 1
    assert page.get_by_text(text, exact=False).count() >= 1  # the markup is visible as characters


def test_recall_shows_hits_and_why_not(page, app_url):
    """A query's hits and score breakdown, then "why not?" for the first memory below the cut-off."""
    if not LOCOMO_DEV.exists():  # the query asks about LoCoMo conv-26, which the store holds only when it exists
        pytest.skip(f"shared data file missing: {LOCOMO_DEV}")
    page.goto(f"{app_url}/recall")
    wait_rendered(page)
    page.get_by_role("textbox", name="Query").fill(QUERY)
    page.get_by_role("button", name="Recall", exact=True).click()
    hits = page.get_by_role("tabpanel", name="Hits")
    wait_shown(hits.get_by_test_id("stDataFrame"), "the table of hits")
    settled(page, "recall-hits", at=page.get_by_text(QUERY, exact=True))
    assert grid_rows(hits.get_by_test_id("stDataFrame")) == 10
    bars = plot_traces(page.locator(".st-key-rc_breakdown"))[0]
    labels = [y for t in bars for y in t["y"]]
    assert len(set(labels)) == 10 and any("LGBTQ support group" in y for y in labels), labels

    page.get_by_role("tab", name="Why not?").click()
    page.get_by_role("combobox", name=re.compile(r"^Memory \(a near miss")).click()
    near_miss = page.get_by_role("option").first
    expect(near_miss, "the first option of the near-miss list").to_have_text(
        re.compile(r"^near miss #11:"), timeout=LONG_MS
    )
    near_miss.click()
    why = page.get_by_role("tabpanel", name="Why not?")
    wait_shown(why.get_by_text(re.compile(r"^Ranked 11 of \d+ after scoring")), "the why-not of near miss #11")
    settled(page, "recall-why-not", at=why)
    shown = metrics(page)
    assert shown["Rank in the ranking"] == "11" and shown["Margin to the cut-off"].startswith("-")
    assert shown["Kept out by"] not in ("", "–")
    assert [t["type"] for t in plot_traces(page.locator(".st-key-rc_why_fig"))[0]] == ["bar"]


def test_forgetting_threshold_slider_moves_the_count(page, app_url):
    """Raise the forget threshold with the keyboard: the threshold line and the number of memories below it follow."""
    page.goto(f"{app_url}/forgetting")
    wait_rendered(page)
    page.get_by_role("tab", name="Population").click()
    wait_shown(page.get_by_text("What decay would suppress at threshold 0.10"), "the Population tab at threshold 0.10")
    settled(page, "forgetting-population")
    before = int(metrics(page)["Below threshold"].replace(",", ""))
    distribution = page.locator(f".st-key-fg_distribution {PLOTS}")
    assert distribution.evaluate("e => e.layout.shapes[0].x0") == pytest.approx(0.10)

    threshold = page.get_by_role("slider", name="Forget threshold")
    threshold.focus()
    for _ in range(10):
        threshold.press("ArrowRight")
    wait_shown(page.get_by_text("What decay would suppress at threshold 0.20"), "the Population tab at threshold 0.20")
    settled(page, "forgetting-threshold", at=page.get_by_test_id("stSlider").first)
    expect(threshold).to_have_attribute("aria-valuetext", "0.20")
    assert distribution.evaluate("e => e.layout.shapes[0].x0") == pytest.approx(0.20)
    assert int(metrics(page)["Below threshold"].replace(",", "")) > before


def test_attention_draws_the_sink_heatmap(page, app_url):
    """The default model's attention is captured and drawn as a heatmap (the sink map)."""
    page.goto(f"{app_url}/attention")
    wait_for_trace(page, "heatmap")  # after the model is loaded and its attention captured
    settled(page, "attention-sink-map", at=page.get_by_text(re.compile(r"^\d+ tokens · \d+ layers")))
    sink_map = plot_traces(page.locator(".st-key-attn_map_chart"))[0]
    assert sink_map[0]["type"] == "heatmap"
    assert page.locator(".st-key-attn_map_chart g.hm image").count() == 1

    # the head view's token-to-token lines (bertviz): one head's query tokens joined to key tokens
    choose(page, "Head view")
    choose(page, "Token to token")
    chart = page.locator(".st-key-attn_lines_chart")
    wait_shown(chart.locator(".main-svg"), "the token-to-token chart")
    drawn = (
        "e => { const d = e.querySelector('.js-plotly-plot'); if (!d || !d._fullData) return null;"
        " const lines = d._fullData.filter(t => t.mode === 'lines');"
        " const q = d._fullData.find(t => t.name === 'queries');"
        " if (!q || !lines.length || !e.querySelector('path.js-line')) return null;"
        " return {lines: lines.reduce((n, t) => n + t.y.length / 3, 0), tokens: q.y.length,"
        " segments: [...e.querySelectorAll('path.js-line')].reduce((n, p) => n + (p.getAttribute('d') || '')"
        ".split('M').length - 1, 0), texts: e.querySelectorAll('g.textpoint').length,"
        " title: d._fullLayout.title.text, subtitle: d._fullLayout.title.subtitle.text}; }"
    )
    wait_until(page, f"() => ({drawn})(document.querySelector('.st-key-attn_lines_chart')) !== null", "the lines")
    settled(page, "attention-token-lines", at=chart)
    got = chart.evaluate(drawn)
    assert "Layer 3, head 0: token to token (top 3 keys per query" in got["title"], got  # Streamlit wraps it in <b>
    assert "text: " in got["subtitle"], got
    assert got["tokens"] > 10 and got["lines"] == 3 * got["tokens"] - 3  # top 3 (query 0 sees 1 key, query 1 two)
    assert got["segments"] == got["lines"]  # every line its own segment: the None separators break the path
    assert got["texts"] == 2 * got["tokens"]  # the query column and the key column


def test_graph_draws_nodes_inside_its_frame(page, app_url):
    """What AppTest cannot see: the pyvis graph (vis-network, inlined, no CDN) draws nodes in its iframe."""
    page.goto(f"{app_url}/graph")
    wait_rendered(page)
    iframes = page.locator("iframe")
    wait_shown(iframes, "the graph's iframe")
    drawn = []
    for i in range(iframes.count()):
        doc = iframes.nth(i).content_frame
        expect(doc.locator("body"), f"the document of iframe {i + 1}").to_be_attached(timeout=LONG_MS)
        if doc.locator("#mynetwork").count():  # pyvis's page: wait until vis-network has laid the graph out
            expect(doc.locator("body"), "vis-network to stabilise the graph's layout").to_have_attribute(
                "data-stabilised", "1", timeout=LONG_MS
            )
            expect(doc.locator("#loadingBar"), "vis-network's progress bar to go").to_be_hidden(timeout=LONG_MS)
            expect(doc.locator("canvas").first, "the graph's canvas").to_be_visible(timeout=LONG_MS)
            drawn.append(doc.locator("body").evaluate("() => (typeof nodes !== 'undefined') ? nodes.length : 0"))
    assert drawn and max(drawn) > 0, "no vis-network canvas with nodes in any frame"
    settled(page, "graph-drawn", at=page.get_by_text(re.compile(r"^Showing [\d,]+ of [\d,]+ memories")))


def test_evaluate_runs_in_the_background_and_shows_its_metrics(page, app_url, tmp_path):
    """Run a small LoCoMo evaluation, open another page while it runs, come back: its result is announced
    once and its metrics table lists the run (overall and one row per category)."""
    import json

    from support import TINY_LOCOMO

    data = tmp_path / "locomo_tiny.json"
    data.write_text(json.dumps(TINY_LOCOMO), encoding="utf-8")
    page.goto(f"{app_url}/evaluate")
    wait_rendered(page)
    for label, value in (
        ("Data file", str(data)),
        ("Store folder (reused: a second run only recalls)", str(tmp_path / "ev")),
    ):
        box = page.get_by_role("textbox", name=label)
        box.fill(value)
        box.press("Enter")
        wait_rendered(page)
    said = away_and_back_until_ended(
        page, page.get_by_role("button", name="Run evaluation"), ("Recall", "Query"), ("Evaluate", "Data file")
    )
    settled(page, "evaluate-run")
    assert page.get_by_role("textbox", name="Data file").input_value() == str(data)  # kept across pages
    assert [a["kind"] for a in said] == ["success"], said  # said once
    assert said[0]["text"].startswith("locomo · default · 3 q in ")
    assert grid_rows(page.get_by_test_id("stDataFrame").first) == 3  # overall, 1 multi-hop, 4 single-hop
