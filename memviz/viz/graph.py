"""The memory graph as a self-contained, offline HTML page (vis-network through pyvis). Pure functions.

:func:`vis_data` turns a graph (from :mod:`memviz.graph`) into vis-network nodes, edges and a legend;
:func:`graph_html` renders them with pyvis, its vis-network JavaScript and CSS inlined, and removes the
Bootstrap tags its template still loads from a CDN, so the page needs no network.

Escaping: tooltips are HTML built from ``html.escape``-d memory text (they are turned into DOM elements in
the page, so markup in a memory shows as text); labels (:func:`label_of`) are drawn on the canvas as plain
text, never parsed as HTML; and all node
data is embedded as JSON with ``<``, ``>``, ``&`` and quotes escaped (Jinja's ``tojson``), so no memory text
can close a ``<script>``.
"""

from __future__ import annotations

import html
import math
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Literal

import networkx as nx
import numpy as np
import pandas as pd
from plotly.colors import qualitative, sample_colorscale
from pyvis.network import Network

ColourBy = Literal["kind", "speaker", "session", "community", "retention", "retrieved"]
COLOUR_BY: tuple[str, ...] = ("kind", "speaker", "session", "community", "retention", "retrieved")
# "retrieved": by how many questions of an evaluation had the memory in their top k (memviz.evaluate.coverage);
# (lowest count, highest count, legend label, colour): never retrieved stands out, then light to dark blue.
RETRIEVED_BINS: tuple[tuple[int, float, str, str], ...] = (
    (0, 0, "retrieved by 0 questions", "#e45756"),
    (1, 1, "1", "#c6dbef"),
    (2, 4, "2-4", "#6baed6"),
    (5, 9, "5-9", "#2171b5"),
    (10, math.inf, "10+", "#08306b"),
)
NO_EVALUATION = "no evaluation of this store loaded"
COLOUR_LABELS = {"retrieved": "retrieved by n questions"}  # the others are shown as they are
SizeBy = Literal["importance", "recall_count", "degree", "size"]
SIZE_BY: tuple[str, ...] = ("importance", "recall_count", "degree", "size")

PALETTE: tuple[str, ...] = tuple(qualitative.Dark24)
OTHER_COLOUR = "#bdbdbd"
RETENTION_SCALE = "RdYlGn"  # 0 = red (faded), 1 = green (fresh)
LINK_STYLES: dict[str, dict[str, Any]] = {
    "semantic": {"color": "#4c78a8", "dashes": False},
    "temporal": {"color": "#8c6d31", "dashes": [2, 4]},
    "keyword": {"color": "#e45756", "dashes": [8, 4]},
    "aggregate": {"color": "#7f7f7f", "dashes": False},
}
_ATTR_OF = {"kind": "kind", "speaker": "speaker", "session": "session_id", "community": "community"}
_LABEL_ALL_MAX = 60  # label every memory node when the graph has at most this many
LABEL_TOP = 25  # else label this many, the best by display score (memviz.graph_views.display_score)
PATH_COLOUR = "#ff7f0e"  # the path from an expected memory to the recall hits
_TOOLTIP_CHARS = 600
_CDN_TAG = re.compile(
    r"<(?:link|script)\b[^>]*\b(?:href|src)\s*=\s*\"https?://[^\"]*\"[^>]*>(?:\s*</script>)?", re.IGNORECASE
)
_EMPTY_HEADING = re.compile(r"<center>\s*<h1>\s*</h1>\s*</center>", re.IGNORECASE)


@dataclass
class VisData:
    """vis-network data: ``nodes`` and ``edges`` (lists of dicts) and ``legend`` ((label, colour) pairs, or
    for retention the colours at 0, 0.5 and 1), plus ``link_kinds`` drawn."""

    nodes: list[dict[str, Any]]
    edges: list[dict[str, Any]]
    legend: list[tuple[str, str]]
    link_kinds: list[str] = field(default_factory=list)


def category_colours(
    values: pd.Series, max_colours: int = len(PALETTE), prefix: str = ""
) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """A colour per value: the ``max_colours`` most frequent categories (ties by name) get palette colours,
    the rest :data:`OTHER_COLOUR`. Returns the colours (n,) and the legend [(prefix + category, colour)],
    most frequent first, with an ``other (n more)`` entry when some were grouped."""
    labels = values.fillna("").astype(str).replace("", "(none)")
    counts = labels.value_counts()
    order = sorted(counts.index, key=lambda c: (-counts[c], c))
    shown = order[:max_colours]
    mapping = dict(zip(shown, PALETTE))
    colours = labels.map(mapping).fillna(OTHER_COLOUR).to_numpy()
    legend = [(prefix + c, mapping[c]) for c in shown]
    if len(order) > len(shown):
        legend.append((f"other ({len(order) - len(shown)} more)", OTHER_COLOUR))
    return colours, legend


def retrieved_colours(ids: Sequence[str], counts: Mapping[str, int] | None) -> tuple[np.ndarray, list[tuple[str, str]]]:
    """A colour per memory by the number of questions that retrieved it (:data:`RETRIEVED_BINS`; a memory
    missing from ``counts`` counts 0), and the legend of the bins. Without ``counts`` (no evaluation of the
    store) every memory is :data:`OTHER_COLOUR`, and the legend says so."""
    if counts is None:
        return np.full(len(ids), OTHER_COLOUR), [(NO_EVALUATION, OTHER_COLOUR)]
    colours = [next(c for lo, hi, _, c in RETRIEVED_BINS if lo <= counts.get(i, 0) <= hi) for i in ids]
    return np.asarray(colours), [(label, c) for _, _, label, c in RETRIEVED_BINS]


def retention_colours(retention: np.ndarray) -> np.ndarray:
    """Retention in [0, 1] (NaN counts as 0) to colours of the :data:`RETENTION_SCALE` scale."""
    r = np.clip(np.nan_to_num(np.asarray(retention, dtype=np.float64)), 0.0, 1.0)
    return np.asarray(sample_colorscale(RETENTION_SCALE, r.tolist()))


def fmt_utc(t_s: float | None) -> str:
    """POSIX seconds as ``YYYY-MM-DD HH:MM`` UTC; empty for None/NaN."""
    if t_s is None or (isinstance(t_s, float) and math.isnan(t_s)):
        return ""
    return datetime.fromtimestamp(float(t_s), tz=UTC).strftime("%Y-%m-%d %H:%M")


def tooltip_html(d: Mapping[str, Any], rank: int | None = None, max_chars: int = _TOOLTIP_CHARS) -> str:
    """The hover text of a node with attributes ``d`` (memory or community): HTML, every value escaped."""
    e = html.escape
    text = str(d.get("text", ""))
    text = text if len(text) <= max_chars else text[:max_chars] + "…"
    if d.get("kind") == "community":
        head = f"<b>Community {e(str(d.get('community')))}</b> · {int(d.get('size', 0)):,} memories"
        facts = f"mean retention {float(d.get('retention', 0)):.2f} · recalls {int(d.get('recall_count', 0)):,}"
    else:
        head = (
            f"<b>{e(str(d.get('speaker') or '—'))}</b> · {e(str(d.get('session_id') or ''))} · "
            f"{e(str(d.get('kind') or ''))} · {e(fmt_utc(d.get('time_s')))}"
        )
        facts = (
            f"retention {float(d.get('retention', 0)):.2f} · importance {float(d.get('importance', 0)):.2f}"
            f" · recalled {int(d.get('recall_count', 0))}×" + (" · <i>forgotten</i>" if d.get("forgotten") else "")
        )
        if d.get("community") is not None:
            facts += f" · community {e(str(d.get('community')))}"
        if d.get("n_retrieved") is not None:
            facts += f" · retrieved by {int(d['n_retrieved'])} questions"
    hit = f"<br><b>recall hit #{rank}</b>" if rank is not None else ""
    return f"{head}<br>{facts}{hit}<hr>{e(text)}"


def vis_data(
    g: nx.Graph,
    colour_by: ColourBy = "kind",
    size_by: SizeBy = "importance",
    highlight: Mapping[str, int] | None = None,
    centres: Sequence[str] = (),
    expected: Mapping[str, Sequence[str]] | None = None,
    n_labels: int = LABEL_TOP,
    retrieved: Mapping[str, int] | None = None,
) -> VisData:
    """vis-network nodes and edges for ``g`` (a display or summary graph of :mod:`memviz.graph`).

    Nodes are dots coloured by ``colour_by`` (categories, a red-yellow-green scale for retention, or for
    ``"retrieved"`` the bins of :data:`RETRIEVED_BINS` of ``retrieved``: memory id -> how many questions of an
    evaluation had it in their top k, also shown in the tooltips; :func:`retrieved_colours`) and
    sized by ``size_by`` (8-30 px: importance in [0, 1] linearly; recall count, degree and community size on
    a log / square-root scale relative to the largest). ``highlight`` maps recall hits to their rank (drawn
    as stars labelled ``#rank``); ``centres`` (focus memories) are diamonds. ``expected`` maps the memories a
    person expected to their path to the hits (:func:`memviz.graph_views.focus_paths`, the expected memory
    first): they are triangles labelled "expected", and the path's memories and links are drawn in
    :data:`PATH_COLOUR`. Labels (:func:`label_of`): every memory of a graph of at most 60, else the
    ``n_labels`` best by their ``score`` attribute (by links without one), the centres and the path; the
    others show their text on hover. Edges are coloured and dashed by
    link kind (:data:`LINK_STYLES`), 0.5-3.5 px wide by weight (by link count for community edges). Nodes keep
    ``x``/``y`` attributes as starting positions, scaled to about 100 px per sqrt(node). Raises KeyError for
    an unknown ``colour_by`` or ``size_by``.
    """
    highlight = dict(highlight or {})
    paths = {e: list(p) for e, p in (expected or {}).items() if e in g}
    on_path = {n for p in paths.values() for n in p}
    path_pairs = {frozenset(pair) for p in paths.values() for pair in zip(p, p[1:])}
    centre_ids = set(centres)
    ids = list(g.nodes)
    attrs = pd.DataFrame([d for _, d in g.nodes(data=True)], index=ids)
    n = len(ids)
    if n == 0:
        return VisData([], [], [])
    if colour_by == "retention":
        colours = retention_colours(attrs["retention"].to_numpy() if "retention" in attrs else np.zeros(n))
        legend = [("0 (faded)", colours_at(0.0)), ("0.5", colours_at(0.5)), ("1 (fresh)", colours_at(1.0))]
    elif colour_by == "retrieved":
        colours, legend = retrieved_colours(ids, retrieved)
    else:
        col = _ATTR_OF[colour_by]
        values = attrs[col] if col in attrs else pd.Series([""] * n, index=ids)
        colours, legend = category_colours(values, prefix="community " if colour_by == "community" else "")
    sizes = _sizes(g, attrs, size_by)
    xy = _positions(attrs, n)
    summary = "kind" in attrs and (attrs["kind"] == "community").all()
    labelled = set(ids) if n <= _LABEL_ALL_MAX else set(_best(g, attrs, n_labels)) | centre_ids | on_path
    nodes = []
    for i, node_id in enumerate(ids):
        d = g.nodes[node_id]
        rank = highlight.get(node_id)
        if retrieved is not None and d.get("kind") != "community":
            d = d | {"n_retrieved": retrieved.get(node_id, 0)}
        node = {
            "id": node_id,
            "title": tooltip_html(d, rank),
            "color": colours[i],
            "size": float(sizes[i]),
            "shape": "star" if rank is not None else "diamond" if node_id in centre_ids else "dot",
            "borderWidth": 3 if rank is not None or node_id in centre_ids else 1,
        }
        if summary:
            node["label"] = f"C{d.get('community')} ({int(d.get('size', 0))})"
        elif rank is not None:
            node["label"] = f"#{rank} {label_of(str(d.get('text', '')), 20)}" if node_id in paths else f"#{rank}"
            node["font"] = {"size": 18, "strokeWidth": 4}
        elif node_id in paths:
            node["label"] = f"expected: {label_of(str(d.get('text', '')), 24)}"
            node["font"] = {"size": 16, "strokeWidth": 4, "color": PATH_COLOUR}
        elif node_id in labelled:
            node["label"] = label_of(str(d.get("text", "")))
            if n > _LABEL_ALL_MAX:  # large enough to read when the whole graph is fitted on screen
                node["font"] = {"size": 22, "strokeWidth": 5}
        if node_id in paths and rank is None:
            node["shape"], node["borderWidth"] = "triangle", 3
        if rank is not None or node_id in centre_ids:
            node["color"] = {"background": colours[i], "border": "#111111"}
        if node_id in on_path:
            node["color"] = {"background": colours[i], "border": PATH_COLOUR}
            node["borderWidth"] = 4
        if xy is not None:
            node["x"], node["y"] = float(xy[i, 0]), float(xy[i, 1])
        nodes.append(node)

    edges, kinds = [], []
    max_links = max((d.get("links", 1) for *_, d in g.edges(data=True)), default=1)
    for u, v, d in g.edges(data=True):
        kind = d.get("kind", "semantic")
        style = LINK_STYLES.get(kind, LINK_STYLES["semantic"])
        if kind == "aggregate":
            width = 0.5 + 3.0 * math.log1p(d.get("links", 1)) / math.log1p(max_links)
            title = f"{int(d.get('links', 1)):,} links between the two communities"
        else:
            width = 0.5 + 3.0 * float(d.get("weight", 0.0))
            title = f"{html.escape(str(kind))} link · weight {float(d.get('weight', 0.0)):.2f}"
        colour = style["color"]
        if frozenset((u, v)) in path_pairs:
            colour, width, title = PATH_COLOUR, width + 3.0, title + " · on the path from the expected memory"
        edges.append(
            {
                "from": u,
                "to": v,
                "color": colour,
                "dashes": style["dashes"],
                "width": round(width, 2),
                "title": title,
            }
        )
        kinds.append(kind)
    return VisData(nodes, edges, legend, sorted(set(kinds)))


def colours_at(r: float) -> str:
    """The retention colour at ``r`` in [0, 1]."""
    return str(retention_colours(np.array([r]))[0])


def graph_html(data: VisData, height_px: int = 650, note: str = "") -> str:
    """A standalone HTML page drawing ``data`` with vis-network, inlined (works offline, no CDN request).

    The layout is relaxed by vis-network's ForceAtlas2 solver from the given positions for at most 200
    iterations and then frozen (so large graphs stop moving).
    ``note`` (plain text, escaped) is shown under the legend. Hovering shows a node's tooltip; clicking a
    node highlights it and its links.
    """
    net = Network(height=f"{height_px}px", width="100%", directed=False, cdn_resources="in_line", bgcolor="#ffffff")
    net.nodes, net.edges = data.nodes, data.edges
    many = len(data.nodes) > 1500
    net.options = {
        "physics": {
            "enabled": True,
            "solver": "forceAtlas2Based",
            "forceAtlas2Based": {
                "gravitationalConstant": -40,
                "centralGravity": 0.01,
                "springLength": 60,
                "springConstant": 0.06,
                "avoidOverlap": 0.3,
            },
            "stabilization": {"enabled": True, "iterations": 200, "updateInterval": 20, "fit": True},
            "minVelocity": 1.0,
        },
        "interaction": {
            "hover": True,
            "tooltipDelay": 120,
            "hideEdgesOnDrag": True,
            "hideEdgesOnZoom": many,
            "multiselect": True,
            "keyboard": False,
        },
        "edges": {"smooth": False, "selectionWidth": 2, "hoverWidth": 1},
        "nodes": {
            "font": {"size": 12, "face": "sans-serif", "strokeWidth": 3},
            "scaling": {"label": {"drawThreshold": 3}},  # vis-network's default 5 px hides them when zoomed out
        },
        "layout": {"improvedLayout": False, "randomSeed": 7},
    }
    page = net.generate_html(notebook=False)
    page = _CDN_TAG.sub("", page)
    page = _EMPTY_HEADING.sub("", page)
    page = page.replace("</head>", _STYLE + "</head>", 1).replace("<body>", "<body>" + _legend_html(data, note), 1)
    return page.replace("</body>", _SCRIPT + "</body>", 1)


def _legend_html(data: VisData, note: str) -> str:
    e = html.escape
    rows = [f'<div><span class="sw" style="background:{e(c)}"></span>{e(label)}</div>' for label, c in data.legend]
    for kind in data.link_kinds:
        style = LINK_STYLES.get(kind, LINK_STYLES["semantic"])
        dash = "dashed" if style["dashes"] else "solid"
        rows.append(f'<div><span class="ln" style="border-top:2px {dash} {style["color"]}"></span>{e(kind)} link</div>')
    note_html = f'<div class="note">{e(note)}</div>' if note else ""
    return f'<div id="memviz-legend">{"".join(rows)}{note_html}</div>'


_STYLE = """<style>
body { margin: 0; font-family: sans-serif; }
#mynetwork { border: none !important; float: none !important; }
div.vis-tooltip { max-width: 460px; white-space: normal !important; font: 12px/1.4 sans-serif; padding: 6px 8px; }
div.vis-tooltip hr { border: 0; border-top: 1px solid #ccc; margin: 4px 0; }
#memviz-legend { display: flex; flex-wrap: wrap; gap: 2px 14px; max-height: 64px; overflow: auto;
  border-bottom: 1px solid #eee; padding: 3px 6px; font: 11px/1.5 sans-serif; }
#memviz-legend .sw { display: inline-block; width: 10px; height: 10px; border-radius: 50%; margin-right: 5px;
  vertical-align: middle; }
#memviz-legend .ln { display: inline-block; width: 22px; margin-right: 5px; vertical-align: middle; }
#memviz-legend .note { color: #555; flex-basis: 100%; }
</style>
"""

# Tooltips arrive as escaped HTML strings; vis-network shows strings as plain text, so they become elements.
# After stabilisation, physics is switched off so a large graph stops moving, and <body data-stabilised="1"> is set.
_SCRIPT = """<script type="text/javascript">
(function () {
  function asElement(title) {
    var div = document.createElement("div");
    div.innerHTML = title;
    return div;
  }
  nodes.update(nodes.get().filter(function (n) { return typeof n.title === "string"; })
    .map(function (n) { return {id: n.id, title: asElement(n.title)}; }));
  network.once("stabilizationIterationsDone", function () {
    network.setOptions({physics: false});
    network.fit();
    document.body.dataset.stabilised = "1";  // for browser tests and the benchmark
  });
})();
</script>
"""


SIZE_LABELS: dict[str, str] = {"importance": "importance", "recall_count": "recall count", "degree": "links"}


def filter_note(n_nodes: int, all_nodes: int, n_links: int, all_links: int) -> str:
    """The caption under the graph: what the filters keep, and how to read and move the drawing."""
    return (
        f"The filters keep {n_nodes:,} of {all_nodes:,} memories and {n_links:,} of {all_links:,} links. Positions "
        "start from the embedding map and are relaxed by the layout; hover a node for its text, scroll to zoom, "
        "drag to pan."
    )


def analysis_metrics(n_nodes: int, n_links: int, community: pd.Series, analysis: Any) -> list[tuple]:
    """The Graph page's headline as ``(label, value[, help])``: memories, links, communities, isolated memories
    and cross-session links of a :class:`memviz.graph.GraphAnalysis`."""
    return [
        ("Memories", f"{n_nodes:,}"),
        ("Links", f"{n_links:,}"),
        ("Communities", f"{int(community.max()) + 1:,}" if len(community) else "0"),
        ("Isolated memories", f"{len(analysis.isolated):,}"),
        (
            "Cross-session links",
            f"{analysis.cross_session_links:,}",
            f"Links between memories of different sessions; they join {analysis.session_pairs:,} pairs of sessions",
        ),
    ]


def analysis_tables(analysis: Any) -> list[tuple[str, pd.DataFrame, dict[str, str] | None]]:
    """The Graph page's analysis tables as ``(markdown title, frame, number formats)``, in reading order:
    central memories, communities, session bridges, bridge memories."""
    return [
        ("**Most central memories** (PageRank over the weighted links)", analysis.central, {"pagerank": "%.4f"}),
        ("**Largest communities** (Leiden)", analysis.communities, None),
        ("**Sessions joined by the most links**", analysis.session_bridges, None),
        ("**Bridge memories** (linked into the most other sessions)", analysis.bridge_memories, None),
    ]


def isolated_table(analysis: Any, limit: int = 500) -> tuple[str, pd.DataFrame, None]:
    """The isolated memories as a :func:`analysis_tables` entry: their count in the title, the first ``limit``."""
    n = len(analysis.isolated)
    return f"**Isolated memories** ({n:,}: no link passes the filters)", analysis.isolated.head(limit), None


def _sizes(g: nx.Graph, attrs: pd.DataFrame, size_by: SizeBy) -> np.ndarray:
    if size_by not in SIZE_BY:
        raise KeyError(size_by)
    if size_by == "degree":
        v = np.array([d for _, d in g.degree()], dtype=np.float64)
    else:
        v = attrs[size_by].to_numpy(np.float64) if size_by in attrs else np.zeros(len(attrs))
    v = np.nan_to_num(v)
    if size_by == "importance":
        scaled = np.clip(v, 0.0, 1.0)
    elif size_by == "size":
        scaled = np.sqrt(v / v.max()) if v.max() > 0 else v
    else:
        scaled = np.log1p(v) / np.log1p(v.max()) if v.max() > 0 else v
    return 8.0 + 22.0 * scaled


def _positions(attrs: pd.DataFrame, n: int) -> np.ndarray | None:
    if "x" not in attrs or "y" not in attrs:
        return None
    xy = attrs[["x", "y"]].to_numpy(np.float64)
    if np.isnan(xy).any():
        return None
    span = np.ptp(xy, axis=0)
    span[span == 0] = 1.0
    return (xy - xy.mean(axis=0)) / span.max() * 100.0 * math.sqrt(n)


def _best(g: nx.Graph, attrs: pd.DataFrame, k: int) -> list[str]:
    """The ``k`` nodes of ``g`` with the highest ``score`` attribute (by degree when there is none)."""
    if k <= 0:
        return []
    if "score" in attrs and attrs["score"].notna().any():
        return list(attrs["score"].fillna(-1.0).nlargest(k, keep="first").index)
    return list(pd.Series(dict(g.degree())).nlargest(k, keep="first").index)


def label_of(text: str, n: int = 28) -> str:
    """A node label: the first words of ``text`` that fit in ``n`` characters (whitespace collapsed), with "…"
    when cut. Escaped: ``<``, ``>`` and ``&`` become look-alikes (‹ › ＋), so a label never reads as markup
    wherever it ends up (vis-network draws it on a canvas, where an HTML entity would show as ``&lt;``)."""
    text = " ".join(text.translate(_MARKUP).split())
    if len(text) <= n:
        return text
    cut = text[: n - 1]
    return (cut.rsplit(" ", 1)[0] if " " in cut[n // 2 :] else cut).rstrip(" ,.;:!?") + "…"


_MARKUP = str.maketrans({"<": "‹", ">": "›", "&": "＋"})
