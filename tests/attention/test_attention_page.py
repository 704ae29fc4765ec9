"""The Attention sinks page under AppTest, on the real models and real interactions."""

from __future__ import annotations

import json
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
    assert any(t.value.startswith("Recalled:") for t in at.text)
    assert len(frame(at, "attn_prompt_table")) == 5 + 3
    # Recalling memories for the prompt is a pure read: no reinforcement, no recall event, the same version.
    assert MemoryStore(path).version() == version and len(MemoryStore(path).list_events()) == n_events
