"""The token-to-token head view (memviz.viz.attention_lines): which lines a filter keeps, that they carry the chosen
head's weights, and that token text is escaped."""

from __future__ import annotations

import numpy as np
import plotly.graph_objects as go
import pytest

from memviz.viz import attention_lines as vl

N_HEADS, N = 3, 12
TOKENS = ["<i>x</i>", "a\nb", "&amp;"] + [f"t{i}" for i in range(3, N)]


def layer() -> np.ndarray:
    rng = np.random.default_rng(1)
    a = rng.random((N_HEADS, N, N)) * np.tril(np.ones((N, N)))
    return (a / a.sum(-1, keepdims=True)).astype(np.float32)


def lines(fig: go.Figure) -> list[tuple[int, int]]:
    """(query, key) of every line segment drawn in ``fig``'s line traces."""
    out = []
    for d in fig.data:
        if d.mode == "lines":
            y = list(d.y)
            assert list(d.x) == [0, 1, None] * (len(y) // 3) and y[2::3] == [None] * (len(y) // 3)
            out += list(zip(y[0::3], y[1::3]))
    return out


def test_top_k_keeps_the_heaviest_keys_of_each_query():
    att = layer()[1]
    e = vl.token_edges(att, top_k=2)
    # query 0 sees only itself (causal); every other query keeps exactly its 2 heaviest keys
    assert len(e) == 1 + 2 * (N - 1) and not e.capped
    for q in range(N):
        got = e.key[e.query == q]
        want = np.argsort(-att[q])[: min(2, q + 1)]
        assert sorted(got.tolist()) == sorted(want.tolist())
    np.testing.assert_array_equal(e.weight, att[e.query, e.key])


def test_threshold_window_and_cap():
    att = layer()[0]
    e = vl.token_edges(att, top_k=None, threshold=0.2)
    assert len(e) == int((att >= 0.2).sum()) and np.all(e.weight >= 0.2)
    e = vl.token_edges(att, top_k=None, window=(4, 9))
    assert set(e.query.tolist()) <= set(range(4, 9)) and set(e.key.tolist()) <= set(range(4, 9))
    assert len(e) == int((att[4:9, 4:9] > 0).sum())  # every visible key in the window, no future key
    e = vl.token_edges(att, top_k=None, max_edges=10)
    assert len(e) == 10 and e.capped and e.n_candidates == int((att > 0).sum())
    assert e.weight.min() >= np.sort(att[att > 0])[-10]  # the 10 heaviest


def test_figure_draws_the_chosen_heads_lines():
    att = layer()
    fig = vl.token_lines_figure(att, TOKENS, layer=4, head=2, top_k=3, threshold=0.1)
    drawn = sorted(lines(fig))
    e = vl.token_edges(att[2], 3, 0.1)
    assert drawn == sorted(zip(e.query.tolist(), e.key.tolist()))
    assert all(att[2, q, k] >= 0.1 for q, k in drawn)
    other = vl.token_edges(att[0], 3, 0.1)
    assert drawn != sorted(zip(other.query.tolist(), other.key.tolist()))
    assert "Layer 4, head 2" in fig.layout.title.text and f"{len(e)} lines" in fig.layout.title.text
    # heavier lines are wider and more opaque
    widths = {d.line.width: float(d.line.color.rsplit(",", 1)[1].rstrip(")")) for d in fig.data if d.mode == "lines"}
    ws = sorted(widths)
    assert [widths[w] for w in ws] == sorted(widths[w] for w in ws)
    with pytest.raises(ValueError):
        vl.token_lines_figure(att, TOKENS, 0, N_HEADS)


def test_token_text_is_escaped_and_the_source_named():
    fig = vl.token_lines_figure(layer(), TOKENS, 0, 0, source="<b>typed</b> text")
    queries, keys = (d for d in fig.data if d.name in ("queries", "keys"))
    assert queries.text[0] == "&lt;i&gt;x&lt;/i&gt;" and keys.text[1] == "a↵b" and keys.text[2] == "&amp;amp;"
    assert not any("<i>" in t for t in [*queries.text, *queries.hovertext, *keys.hovertext])
    assert fig.layout.title.subtitle.text == "text: &lt;b&gt;typed&lt;/b&gt; text"


def test_a_picked_query_is_highlighted():
    att = layer()
    fig = vl.token_lines_figure(att, TOKENS, 1, 1, top_k=2, query=7)
    picked = [d for d in fig.data if d.mode == "lines" and d.name.startswith("picked")]
    got = sorted((q, k) for d in picked for q, k in zip(list(d.y)[0::3], list(d.y)[1::3]))
    assert got == sorted((7, int(k)) for k in np.argsort(-att[1, 7])[:2])
    keys = next(d for d in fig.data if d.name == "keys")
    k0 = int(np.argmax(att[1, 7]))
    assert keys.text[k0].endswith(f"{att[1, 7, k0]:.2f}")
    assert next(d for d in fig.data if d.name == "queries").marker.color[7] == "#d62728"


def test_512_tokens_are_capped():
    rng = np.random.default_rng(0)
    a = rng.random((1, 512, 512)).astype(np.float32) * np.tril(np.ones((512, 512), dtype=np.float32))
    a /= a.sum(-1, keepdims=True)
    fig = vl.token_lines_figure(a, [str(i) for i in range(512)], 0, 0, top_k=None)
    assert len(lines(fig)) == vl.MAX_EDGES and "heaviest of" in fig.layout.title.text
    assert sum(d.mode == "lines" for d in fig.data) <= len(vl.WEIGHT_BINS) - 1  # one trace per weight bin
