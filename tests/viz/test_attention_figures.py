"""Attention figures are pure functions of arrays: shapes, windows, escaping, exports."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from memviz.viz import attention as va

N_LAYERS, N_HEADS, N = 4, 3, 10
TOKENS = ["<b>bold</b>", "a\nb", "", "x" * 40] + [f"t{i}" for i in range(4, N)]


def attention() -> np.ndarray:
    rng = np.random.default_rng(0)
    a = rng.random((N_LAYERS, N_HEADS, N, N)) * np.tril(np.ones((N, N)))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


def test_token_label_escapes_and_shows_whitespace():
    assert va.token_label("<script>") == "&lt;script&gt;"
    assert va.token_label("a\nb\t") == "a↵b⇥"
    assert va.token_label("") == "∅"
    assert va.token_label("x" * 40, max_chars=10) == "x" * 9 + "…"


def test_sink_map_window_and_marks():
    rm = attention().mean(axis=(1, 2))  # (layers, k)
    mask = np.zeros((N_LAYERS, N), dtype=bool)
    mask[1:, 0] = True
    fig = va.sink_map_figure(rm, TOKENS, window=(0, 6), sink_mask=mask)
    assert isinstance(fig, go.Figure)
    heat = fig.data[0]
    assert np.asarray(heat.z).shape == (N_LAYERS, 6)
    assert list(heat.x) == list(range(6))
    assert len(fig.data[1].x) == 3  # three sink cells marked
    ticks = fig.layout.xaxis.ticktext
    assert ticks[0] == "&lt;b&gt;bold&lt;/b&gt;" and ticks[1] == "a↵b" and ticks[2] == "∅"
    assert not any("<b>" in t for t in ticks)
    assert "&lt;b&gt;" in np.asarray(heat.customdata)[0, 0]


def test_first_token_share_figure():
    fig = va.first_token_share_figure([0.1, 0.5, 0.6, 0.7], [0.05] * 4, [0, 0.5, 1, 1], "<s>")
    assert len(fig.data) == 3
    assert list(fig.data[0].y) == [0.1, 0.5, 0.6, 0.7]
    assert "&lt;s&gt;" in fig.data[0].name


def test_head_view_panels_and_windows():
    att = attention()
    fig = va.head_view_figure(att[2], TOKENS, layer=2, heads=[0, 2], query_window=(2, 8), key_window=(0, 5))
    heat = [d for d in fig.data if isinstance(d, go.Heatmap)]
    assert len(heat) == 2
    z = np.asarray(heat[1].z)
    assert z.shape == (6, 5)
    np.testing.assert_allclose(z, att[2, 2, 2:8, 0:5], rtol=1e-6)
    assert "Layer 2" in fig.layout.title.text
    assert np.asarray(heat[0].customdata).shape == (6, 5, 2)


def test_kv_timeline_blanks_the_future():
    keep = np.tril(np.ones((N, N), dtype=np.float32))
    fig = va.kv_timeline_figure(keep, TOKENS, "sliding <window>", budget=4, window=(2, 9))
    z = np.asarray(fig.data[0].z, dtype=float)
    assert z.shape == (7, 7)
    assert np.isnan(z[0, 1]) and z[1, 0] == 1.0
    assert "&lt;window&gt;" in fig.layout.title.text


def test_retained_and_loss_figures():
    fig = va.retained_share_figure({"full": np.ones(4), "window": np.full(4, 0.4)}, {"window": "sliding window"})
    assert [d.name for d in fig.data] == ["full", "sliding window"]
    nll = {"full": np.ones(20), "window": np.arange(20, dtype=float)}
    fig = va.policy_loss_figure(nll, budget=5, smooth=4, ppl={"full": 2.718})
    y = np.asarray(fig.data[1].y)
    assert y[0] == 0 and y[4] == pytest.approx((1 + 2 + 3 + 4) / 4)  # trailing mean of 4
    assert "ppl 2.7" in fig.data[0].name


def test_memory_attention_figure_stacks_segments():
    share = np.array([[0.1, 0.2, 0.3, 0.3, 0.1], [0.6, 0.1, 0.1, 0.1, 0.1]])
    segs = ["first token (sink)", "memory 1", "memory 2", "query", "template"]
    fig = va.memory_attention_figure(share, segs)
    assert fig.layout.barmode == "stack" and len(fig.data) == 5
    np.testing.assert_allclose(np.sum([np.asarray(d.y) for d in fig.data], axis=0), 1.0)


def test_html_export_is_offline():
    html = va.figure_html(va.first_token_share_figure([0.2], [0.1]))
    assert "<html>" in html[:100] and "plotly" in html.lower()
    assert 'src="https://cdn.plot.ly' not in html and len(html) > 1_000_000  # plotly.js inlined


@pytest.mark.skipif(not va.image_export_available(), reason="kaleido or Chromium missing")
def test_png_and_svg_export():
    fig = va.first_token_share_figure([0.2, 0.4], [0.1, 0.1])
    assert va.figure_image(fig, "png")[:8] == b"\x89PNG\r\n\x1a\n"
    assert b"<svg" in va.figure_image(fig, "svg")[:500]
    with pytest.raises(ValueError):
        va.figure_image(fig, "gif")


def test_figures_name_their_text_escaped():
    att = attention()
    src = "LoCoMo <conv-26> & co"
    want = "text: LoCoMo &lt;conv-26&gt; &amp; co"
    figs = [
        va.sink_map_figure(att.mean(axis=(1, 2)), TOKENS, source=src),
        va.first_token_share_figure([0.1, 0.2], [0.05, 0.05], source=src),
        va.head_view_figure(att[0], TOKENS, 0, [0], source=src),
        va.kv_timeline_figure(np.tril(np.ones((N, N))), TOKENS, "window", 4, source=src),
        va.retained_share_figure({"full": np.ones(4)}, source=src),
        va.policy_loss_figure({"full": np.ones(8)}, 4, source=src),
    ]
    assert [f.layout.title.subtitle.text for f in figs] == [want] * len(figs)
    fig = va.memory_attention_figure(np.array([[0.5, 0.5]]), ["first token (sink)", "memory 1"], source="5 <recalled>")
    assert fig.layout.title.subtitle.text == "memories: 5 &lt;recalled&gt;"
    assert va.sink_map_figure(att.mean(axis=(1, 2)), TOKENS).layout.title.subtitle.text is None  # no source: none
