"""The Attention sinks page under AppTest, on the real models and real interactions."""

from __future__ import annotations

import json
import re
from pathlib import Path

import pytest
from streamlit.testing.v1 import AppTest

from memviz.attention.samples import locomo_path

# The page's default passage is a real LoCoMo one; its expectations (first token "Car", 256 tokens) need it.
needs_locomo = pytest.mark.skipif(not locomo_path().is_file(), reason="LoCoMo shared data not present")

PAGE = str(Path(__file__).resolve().parents[2] / "app_pages" / "attention.py")

pytestmark = pytest.mark.slow


def ok(at: AppTest) -> None:
    assert not at.exception, [e.value for e in at.exception]
    assert not at.error, [e.value for e in at.error]


def charts(at: AppTest) -> list[dict]:
    return [json.loads(c.proto.spec) for c in at.get("plotly_chart")]


# tables without selection carry no key in AppTest: find them by a column only they have
TABLE_COLUMNS = {"attn_sink_table": "lifetime", "attn_kv_table": "ppl_evicted", "attn_prompt_table": "segment"}


def frame(at: AppTest, key: str):
    for d in at.dataframe:
        if TABLE_COLUMNS[key] in d.value.columns:
            return d.value
    raise AssertionError(f"no dataframe {key!r}: {[list(d.value.columns) for d in at.dataframe]}")


@pytest.fixture
def page(smollm2) -> AppTest:
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    ok(at)
    return at


@needs_locomo
def test_sink_map_and_head_view(page):
    at = page
    figs = charts(at)
    assert len(figs) == 2
    assert "Sink map" in figs[0]["layout"]["title"]["text"]
    # the text shown is named: in the caption and under every figure's title
    name = "LoCoMo conv-26, session 1, turns 1-6 (CC BY-NC 4.0)"
    assert any(c.value.endswith(f"text: {name}") for c in at.caption)
    assert [f["layout"]["title"]["subtitle"]["text"] for f in figs] == [f"text: {name}"] * 2
    table = frame(at, "attn_sink_table")
    first = table[table["position"] == 0].iloc[0]
    assert first["kind"] == "primary" and first["token"] == "Car" and first["lifetime"] >= 20
    assert len(at.get("download_button")) >= 2  # HTML (+ PNG/SVG where kaleido works) per figure

    at.radio(key="attn_view").set_value("Head view").run()
    ok(at)
    at.slider(key="attn_layer").set_value(5).run()
    at.multiselect(key="attn_heads").set_value([0, 4]).run()
    ok(at)
    fig = charts(at)[0]
    assert "Layer 5" in fig["layout"]["title"]["text"]
    assert [d["type"] for d in fig["data"]] == ["heatmap", "heatmap"]
    assert fig["data"][0]["z"]["shape"] == "40, 40"  # the default windows keep long inputs readable

    # beside the grid, bertviz's head view: lines from query tokens to key tokens of one head
    at.radio(key="attn_head_style").set_value("Token to token").run()
    at.selectbox(key="attn_line_head").set_value(4).run()
    at.slider(key="attn_line_topk").set_value(2).run()
    ok(at)
    fig = charts(at)[0]
    assert fig["layout"]["title"]["text"].startswith("Layer 5, head 4: token to token (top 2 keys per query")
    n_tokens = int(next(c.value for c in at.caption if " tokens · " in c.value).split()[0])
    assert at.slider(key="attn_line_window").value == (0, 128) and n_tokens > 128  # the first 128 by default
    lines = [d for d in fig["data"] if d["mode"] == "lines"]
    assert sum(len(d["y"]) // 3 for d in lines) == 2 * 128 - 1  # 2 per query (1 for the first, causal)
    assert [d["name"] for d in fig["data"][-2:]] == ["queries", "keys"] and fig["data"][-1]["text"][0] == "Car"
    at.selectbox(key="attn_line_query").set_value(10).run()
    ok(at)
    fig = charts(at)[0]
    picked = [d for d in fig["data"] if d["name"].startswith("picked")]
    assert sum(len(d["y"]) // 3 for d in picked) == 2 and all(d["y"][0] == 10 for d in picked)
    at.radio(key="attn_head_style").set_value("Heatmap grid").run()

    at.slider(key="attn_eps").set_value(0.95).run()  # a threshold no head reaches: back to the sink map
    at.radio(key="attn_view").set_value("Sink map").run()
    ok(at)
    assert any("No sink" in i.value for i in at.info)


@needs_locomo
def test_kv_cache_view(page):
    at = page
    at.number_input(key="attn_max_tokens").set_value(256).run()
    at.radio(key="attn_view").set_value("KV cache").run()
    ok(at)
    at.slider(key="attn_budget").set_value(32).run()
    ok(at)
    rows = frame(at, "attn_kv_table").set_index("policy")
    assert rows.loc["full", "n_tokens"] == 256 and rows.loc["full", "budget"] == 32
    assert rows.loc["window", "ppl_evicted"] > 3 * rows.loc["streaming", "ppl_evicted"]
    assert len(charts(at)) == 3  # timeline, retained share, loss
    at.radio(key="attn_kv_policy").set_value("h2o").run()
    ok(at)
    assert at.slider(key="attn_kv_layer").value == 12
    assert "H2O" in charts(at)[0]["layout"]["title"]["text"]


def test_without_locomo_the_builtin_passage_is_named(smollm2, tmp_path, monkeypatch):
    """A clone without the shared data shows the built-in passage, and every label says so."""
    from memviz.attention.samples import BUILTIN_LABEL, BUILTIN_PASSAGE

    monkeypatch.setenv("MEMVIZ_LOCOMO", str(tmp_path / "missing.json"))
    at = AppTest.from_file(PAGE, default_timeout=120)
    at.run()
    ok(at)
    assert at.text_area(key="attn_text").value == BUILTIN_PASSAGE
    shown = [c.value for c in at.caption] + [f["layout"]["title"]["subtitle"]["text"] for f in charts(at)]
    assert not any("LoCoMo" in t for t in shown), shown
    assert sum(BUILTIN_LABEL in t for t in shown) == 3  # the caption and both figures
    at.radio(key="attn_view").set_value("KV cache").run()
    ok(at)
    assert not any("LoCoMo" in c.value for c in at.caption)
    assert BUILTIN_LABEL[1:] in at.radio(key="attn_kv_src").options[0]
    at.radio(key="attn_view").set_value("Memories in the prompt").run()
    ok(at)
    assert at.text_input(key="attn_query").value == "Who gave Ana the tomato seeds?"
    assert charts(at)[0]["layout"]["title"]["subtitle"]["text"] == f"memories: {BUILTIN_LABEL}"
    at.text_area(key="attn_text").set_value("My own words about tomatoes.").run()
    at.radio(key="attn_view").set_value("Sink map").run()
    ok(at)
    assert charts(at)[0]["layout"]["title"]["subtitle"]["text"] == "text: text typed on the page"


def test_memories_in_the_prompt_and_encoder(page):
    at = page
    at.radio(key="attn_view").set_value("Memories in the prompt").run()
    ok(at)
    seg = frame(at, "attn_prompt_table")
    assert seg["segment"].tolist()[0] == "first token (sink)" and "memory 5" in seg["segment"].tolist()
    at.text_area(key="attn_memories").set_value("Caroline went to a support group.\nMelanie paints.").run()
    ok(at)
    assert len(frame(at, "attn_prompt_table")) == 5

    at.selectbox(key="attn_model").set_value("minilm").run()
    at.radio(key="attn_view").set_value("KV cache").run()
    ok(at)
    assert any("decoder" in i.value for i in at.info)
    at.radio(key="attn_view").set_value("Sink map").run()
    ok(at)
    assert frame(at, "attn_sink_table")["token"].iloc[0] == "[CLS]"


def test_unknown_custom_model_shows_an_error(page):
    at = page
    at.selectbox(key="attn_model").set_value("custom").run()
    at.text_input(key="attn_custom_model").set_value("./no/such/model").run()
    assert not at.exception
    assert any("no such folder" in e.value for e in at.error)


def test_memories_from_the_store(page, real_embedder, tmp_path, monkeypatch):
    from memviz.clock import SimulatedClock
    from memviz.demo import seed_if_empty
    from memviz.engine import MemoryEngine
    from memviz.store import MemoryStore

    path = tmp_path / "db"
    seed_if_empty(MemoryEngine(MemoryStore(path), real_embedder, SimulatedClock(0.0)))
    monkeypatch.setenv("MEMVIZ_DB", str(path))
    at = page
    at.selectbox(key="attn_model").set_value("minilm").run()
    at.radio(key="attn_source").set_value("Memories from the store").run()
    ok(at)
    assert len(at.multiselect(key="attn_store_pick").value) == 5
    assert len(charts(at)) == 2
    version, n_events = MemoryStore(path).version(), len(MemoryStore(path).list_events())
    at.radio(key="attn_view").set_value("Memories in the prompt").run()
    at.radio(key="attn_mem_src").set_value("Recall from the store (k = 5)").run()
    ok(at)
    recalled = next(t.value for t in at.text if t.value.startswith("Recalled"))
    assert recalled.startswith("Recalled (5 memories recalled from the store for the query):")
    lines = recalled.splitlines()[1:]
    assert len(lines) == 5 and all(re.match(r"^\d\. \[\d{4}-\d{2}-\d{2}\] \w[^:]*: ", line) for line in lines)
    prompt = next(t.value for t in at.text if t.value.startswith("Relevant memories:"))
    assert all(f"- {line[3:]}" in prompt for line in lines)  # the model reads what the page lists
    assert len(frame(at, "attn_prompt_table")) == 5 + 3
    # Recalling memories for the prompt is a pure read: no reinforcement, no recall event, the same version.
    assert MemoryStore(path).version() == version and len(MemoryStore(path).list_events()) == n_events
