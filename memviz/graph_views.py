"""What the Graph page draws and exports of the memory graph (:mod:`memviz.graph` builds and analyses it):
the views and levels of detail of large stores (the top memories, or one node per community), the positions of
the nodes, the focus of a query's recall, and the GraphML / node-link JSON exports.

Pure functions (no streamlit) over the ``nodes`` and ``links`` frames of :func:`memviz.graph.graph_frames`.
"""

from __future__ import annotations

import json
import math
import warnings
from collections.abc import Callable, Container, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import igraph
import networkx as nx
import numpy as np
import pandas as pd

from memviz.errors import ConfigError
from memviz.graph import build_graph, links_among, top_values, vertex_ids
from memviz.models import RecallResult

RankBy = Literal["score", "pagerank", "degree", "importance", "recall_count"]
Lod = Literal["top", "communities"]
RANK_BY: tuple[str, ...] = ("score", "pagerank", "degree", "importance", "recall_count")
VIEWS: dict[str, str] = {"store": "Whole store", "memory": "Around a memory", "query": "Around a query's recall"}
LODS: dict[str, str] = {"top": "Top memories", "communities": "One node per community"}  # levels of detail
RANK_LABELS: dict[str, str] = {
    "score": "importance, recalls and links",
    "pagerank": "PageRank",
    "degree": "links",
    "importance": "importance",
    "recall_count": "recall count",
}


# The display score's weights (:func:`display_score`); they sum to 1.
SCORE_WEIGHTS: dict[str, float] = {"importance": 0.45, "recalls": 0.2, "centrality": 0.35}


def display_score(nodes: pd.DataFrame, cent: pd.DataFrame) -> pd.Series:
    """What a level of detail shows first, in [0, 1], indexed by id: 0.45 importance (in [0, 1], the write-time
    heuristic of :func:`memviz.text.importance`) + 0.2 recalls (log(1 + recall_count) / log(1 + the most
    recalls); 0 when nothing was recalled) + 0.35 centrality (the memory's PageRank as a percentile rank in
    (0, 1] among ``nodes``, from :func:`memviz.graph.centrality`; 0 without one).

    Link count alone makes hubs of small talk ("Sounds nice, Maria!" is near every turn that names Maria);
    importance and recall say what the memory is worth, centrality how it connects. Percentiles keep PageRank's
    long tail from drowning the other two."""
    ids = nodes["id"]
    rc = nodes["recall_count"].to_numpy(np.float64)
    recalls = np.log1p(rc) / np.log1p(rc.max()) if len(rc) and rc.max() > 0 else np.zeros(len(rc))
    pr = ids.map(cent["pagerank"]) if "pagerank" in cent else pd.Series(np.nan, index=ids.index)
    centrality = pr.rank(pct=True).fillna(0.0).to_numpy()
    w = SCORE_WEIGHTS
    score = (
        w["importance"] * np.clip(nodes["importance"].to_numpy(np.float64), 0, 1)
        + w["recalls"] * recalls
        + w["centrality"] * centrality
    )
    return pd.Series(score, index=pd.Index(ids, name="id"), name="score")


def top_ids(score: pd.Series, max_nodes: int, keep: Iterable[str] = ()) -> list[str]:
    """Level of detail: the ids of the ``max_nodes`` (>= 1) highest ``score`` values (a Series indexed by
    id), always including those of ``keep`` that ``score`` has (e.g. recall hits; they count towards
    ``max_nodes``). Ties break by index order. Raises ConfigError for ``max_nodes`` < 1."""
    if max_nodes < 1:
        raise ConfigError(f"max_nodes must be >= 1, got {max_nodes!r}")
    keep = [k for k in dict.fromkeys(keep) if k in score.index][:max_nodes]
    rest = score.drop(keep).nlargest(max_nodes - len(keep), keep="first").index
    return [*keep, *rest]


def summary_graph(nodes: pd.DataFrame, links: pd.DataFrame, community: pd.Series, cent: pd.DataFrame) -> nx.Graph:
    """Level of detail: one node per community, one weighted edge per pair of linked communities.

    Node ``"community:<c>"`` has ``community`` (c), ``size`` (members), ``text`` (a description: size, the
    most frequent session, speakers and keywords, and its most central memory), ``speaker`` and ``session_id``
    (the most frequent among members), ``kind`` ("community"), ``importance`` and ``retention`` (members'
    means), ``recall_count`` (their sum), and ``x``, ``y`` (members' mean) when ``nodes`` has positions.
    Edge attributes: ``links`` (links joining the two communities), ``weight`` (their summed weight) and
    ``kind`` ("aggregate").
    """
    nodes = nodes.assign(community=nodes["id"].map(community), pagerank=nodes["id"].map(cent["pagerank"]))
    nodes = nodes.sort_values("pagerank", ascending=False)
    by = nodes.groupby("community")
    s = pd.DataFrame(
        {
            "community": by.size().index,
            "size": by.size(),
            "speaker": top_values(nodes["community"], nodes["speaker"], 1),
            "session_id": top_values(nodes["community"], nodes["session_id"], 1),
            "importance": by["importance"].mean(),
            "retention": by["retention"].mean(),
            "recall_count": by["recall_count"].sum(),
            "kind": "community",
        }
    )
    s[["speaker", "session_id"]] = s[["speaker", "session_id"]].fillna("")
    keywords = top_values(nodes["community"], nodes["keywords"].str.split(", "), 5).reindex(s.index).fillna("-")
    s["text"] = (
        "Community " + s["community"].astype(str) + ": " + s["size"].astype(str) + " memories; session "
        "mostly "
        + s["session_id"]
        + "; speakers mostly "
        + s["speaker"]
        + "; keywords: "
        + keywords
        + ". Most central: "
        + by["text"].first()
    )
    if "x" in nodes:
        s["x"], s["y"] = by["x"].mean(), by["y"].mean()
    out = nx.Graph()
    out.add_nodes_from(zip("community:" + s["community"].astype(str), s.to_dict("records")))
    lk = links_among(links, nodes["id"])
    ca = lk["source_id"].map(community).to_numpy()
    cb = lk["target_id"].map(community).to_numpy()
    agg = (
        pd.DataFrame({"a": np.minimum(ca, cb), "b": np.maximum(ca, cb), "w": lk["weight"].to_numpy()})
        .query("a != b")
        .groupby(["a", "b"])
        .agg(links=("w", "size"), weight=("w", "sum"))
        .reset_index()
    )
    out.add_edges_from(
        (f"community:{a}", f"community:{b}", {"links": int(n), "weight": float(w), "kind": "aggregate"})
        for a, b, n, w in zip(agg["a"], agg["b"], agg["links"], agg["weight"])
    )
    return out


def place_nodes(
    nodes: pd.DataFrame, community: pd.Series, ids: Sequence[str] | None = None, coords: np.ndarray | None = None
) -> pd.DataFrame:
    """``nodes`` with each memory's ``community`` (int64; every node must have one) and, when the embedding map's
    ``ids`` and ``coords`` (shape (n, 2)) are given, its position ``x``, ``y`` there (NaN for a memory not on the
    map). The display graph starts its layout from these positions."""
    out = nodes.assign(community=nodes["id"].map(community).astype("int64"))
    if ids is None or coords is None:
        return out
    xy = pd.DataFrame(np.asarray(coords, dtype=np.float64), index=pd.Index(list(ids), name="id"), columns=["x", "y"])
    return out.join(xy, on="id")


def focus_paths(g: igraph.Graph, hits: Iterable[str], expected: Iterable[str]) -> dict[str, list[str]]:
    """For each expected memory of ``g`` (:func:`memviz.graph.analysis_graph`), a shortest path over links
    (fewest links, igraph's breadth-first ``get_shortest_paths``; among equally short ones, to the first hit of
    ``hits``) from it to the nearest hit, as the list of memory ids from the expected memory to that hit (just
    itself when it is a hit). Expected memories not in ``g`` or linked to no hit are absent."""
    ids = vertex_ids(g)
    sources = [h for h in dict.fromkeys(hits) if h in ids]
    if not sources:
        return {}
    targets = ids.get_indexer(sources).tolist()
    out = {}
    for e in dict.fromkeys(expected):
        if e not in ids:
            continue
        with warnings.catch_warnings():  # igraph warns for each hit it cannot reach
            warnings.simplefilter("ignore", RuntimeWarning)
            found = [p for p in g.get_shortest_paths(int(ids.get_loc(e)), to=targets) if p]
        if found:
            out[e] = ids[min(found, key=len)].tolist()
    return out


def by_pagerank(nodes: pd.DataFrame, cent: pd.DataFrame) -> pd.DataFrame:
    """``nodes`` ordered most central first (PageRank of :func:`centrality`; ties keep their order)."""
    order = nodes["id"].map(cent["pagerank"]).fillna(0.0).to_numpy()
    return nodes.iloc[np.argsort(-order, kind="stable")]


@dataclass(frozen=True)
class RecallFocus:
    """What the graph's query view shows of one recall: the ``query``, its ``hits`` (``{id: rank}``, best
    first) and ``vector`` (the query's unit vector as the recall embedded it, or None), to place it on the map;
    ``expected``: the memories the person expected (gold evidence, a picked memory), marked with their path
    to the hits (:func:`focus_paths`)."""

    query: str
    hits: dict[str, int]
    vector: np.ndarray | None = None
    expected: tuple[str, ...] = ()

    @classmethod
    def of(cls, result: RecallResult) -> RecallFocus:
        """The focus of a recall result (no second embedding: the vector is the one the recall used)."""
        return cls(result.trace.query, {h.memory.id: h.rank for h in result.hits}, result.query_vector)

    def shown_hits(self, shown_ids: Container[str]) -> tuple[dict[str, int], int]:
        """The hits that are among ``shown_ids`` (the memories that pass the filters; ``{id: rank}``) and how many
        are not (hidden by filters)."""
        shown = {i: r for i, r in self.hits.items() if i in shown_ids}
        return shown, len(self.hits) - len(shown)


@dataclass(frozen=True)
class Detail:
    """The graph to draw (:func:`level_of_detail`): ``graph``, a caption ``note`` saying what it shows, and
    ``summarised`` (one node per community: colour and size by community)."""

    graph: nx.Graph
    note: str
    summarised: bool


def level_of_detail(
    nodes: pd.DataFrame,
    links: pd.DataFrame,
    community: pd.Series,
    cent: pd.DataFrame,
    ids: Sequence[str],
    max_nodes: int,
    lod: Lod = "top",
    rank_by: str = "score",
    keep: Iterable[str] = (),
    can_summarise: bool = True,
) -> Detail:
    """The graph to draw of the memories ``ids`` (a subset of ``nodes``, e.g. an ego graph).

    Up to ``max_nodes`` (>= 1) memories, all of them. Above it, with ``lod="communities"`` and ``can_summarise``
    (the whole-store view), :func:`summary_graph` (one node per community); otherwise the ``max_nodes`` best by
    ``rank_by`` (a column of ``cent`` or of ``nodes``: one of :data:`RANK_BY`), always keeping ``keep`` (focus
    memories, recall hits). Each memory node carries its :func:`display_score` as ``score`` (the drawing labels
    the best ones). Raises ConfigError for ``max_nodes`` < 1 or an unknown ``rank_by``.
    """
    if max_nodes < 1:
        raise ConfigError(f"max_nodes must be >= 1, got {max_nodes!r}")
    if rank_by not in RANK_BY:
        raise ConfigError(f"unknown rank_by {rank_by!r}; known: {', '.join(RANK_BY)}")
    ids, total = list(ids), len(ids)
    if total > max_nodes and lod == "communities" and can_summarise:
        g = summary_graph(nodes, links, community, cent)
        return Detail(
            g,
            f"Level of detail: {total:,} memories summarised as {g.number_of_nodes():,} communities "
            f"(Leiden); a community's size is its number of memories.",
            True,
        )
    shown = display_score(nodes, cent)
    if total > max_nodes:
        score = shown if rank_by == "score" else cent[rank_by] if rank_by in cent else nodes.set_index("id")[rank_by]
        ids = top_ids(score.loc[ids], int(max_nodes), keep=keep)
    kept = nodes[nodes["id"].isin(ids)]
    g = build_graph(kept.assign(score=kept["id"].map(shown).to_numpy()), links)
    lod_note = f" (level of detail: the top {int(max_nodes):,} by {RANK_LABELS[rank_by]})" if total > max_nodes else ""
    return Detail(
        g, f"Showing {g.number_of_nodes():,} of {total:,} memories{lod_note} and {g.number_of_edges():,} links.", False
    )


EXPORT_NOTE = (
    "GraphML opens in Gephi, yEd and Cytoscape; JSON is networkx node-link data. Each link is its own edge, "
    "keyed by its kind; memory attributes include text, speaker, session, retention and community. Files "
    "are made when a button is pressed."
)


def export_files(
    shown: nx.Graph, nodes: pd.DataFrame, links: pd.DataFrame
) -> list[tuple[str, Callable[[], str], str, str]]:
    """The graph's downloads as ``(label, make, file_name, mime)``: the ``shown`` graph and the display graph of
    every memory of ``nodes`` (:func:`build_graph`), each as GraphML and JSON. ``make()`` builds the file's text
    (only when called)."""
    n = f"All {len(nodes):,} filtered"

    def full() -> nx.MultiGraph:
        return build_graph(nodes, links)

    return [
        ("Shown graph (GraphML)", lambda: to_graphml(shown), "memviz_graph.graphml", "application/graphml+xml"),
        ("Shown graph (JSON)", lambda: to_json(shown), "memviz_graph.json", "application/json"),
        (f"{n} (GraphML)", lambda: to_graphml(full()), "memviz_graph_all.graphml", "application/graphml+xml"),
        (f"{n} (JSON)", lambda: to_json(full()), "memviz_graph_all.json", "application/json"),
    ]


def to_graphml(g: nx.Graph) -> str:
    """``g`` as GraphML text (opens in Gephi, yEd, Cytoscape). None and NaN values are left out; a
    multigraph keeps each link as its own edge, keyed by its kind."""
    return "\n".join(nx.generate_graphml(_clean(g)))


def to_json(g: nx.Graph) -> str:
    """``g`` as node-link JSON (``networkx.node_link_data``: ``{"nodes": [...], "edges": [...]}``, each
    node with its ``id`` and attributes); None and NaN values are left out."""
    return json.dumps(nx.node_link_data(_clean(g), edges="edges"), ensure_ascii=False)


def _clean(g: nx.Graph) -> nx.Graph:
    """A copy of ``g`` without None/NaN attribute values and with numpy scalars made plain (for export)."""
    out = g.__class__()
    out.add_nodes_from((n, _plain(d)) for n, d in g.nodes(data=True))
    if g.is_multigraph():
        out.add_edges_from((u, v, k, _plain(d)) for u, v, k, d in g.edges(keys=True, data=True))
    else:
        out.add_edges_from((u, v, _plain(d)) for u, v, d in g.edges(data=True))
    return out


def _plain(d: dict) -> dict:
    out = {}
    for k, v in d.items():
        if isinstance(v, np.generic):
            v = v.item()
        if v is None or (isinstance(v, float) and math.isnan(v)):
            continue
        out[k] = v
    return out


@dataclass(frozen=True)
class DisplayOptions:
    """The Graph page's display settings: the ``view`` (a key of :data:`VIEWS`), ``colour_by`` and ``size_by``
    (of :mod:`memviz.viz.graph`), and the level of detail: ``lod`` (a key of :data:`LODS`), ``max_nodes`` and
    ``rank_by`` (one of :data:`RANK_BY`)."""

    view: str = "store"
    colour_by: str = "community"
    size_by: str = "importance"
    lod: Lod = "top"
    # 60: few enough that every node carries its label (memviz.viz.graph) and the layout is readable; the
    # whole-store view of 300 was an unlabelled hairball on one LoCoMo conversation.
    max_nodes: int = 60
    rank_by: str = "score"

    def detail(
        self,
        nodes: pd.DataFrame,
        links: pd.DataFrame,
        community: pd.Series,
        cent: pd.DataFrame,
        ids: Sequence[str],
        keep: Iterable[str] = (),
    ) -> Detail:
        """:func:`level_of_detail` of the memories ``ids`` under these settings (only the whole-store view is
        ever summarised as communities)."""
        return level_of_detail(
            nodes,
            links,
            community,
            cent,
            ids,
            int(self.max_nodes),
            self.lod,
            self.rank_by,
            keep=keep,
            can_summarise=self.view == "store",
        )

    def styles(self, detail: Detail) -> tuple[str, str]:
        """``(colour_by, size_by)`` to draw ``detail`` with: by community and size when it is summarised."""
        return ("community", "size") if detail.summarised else (self.colour_by, self.size_by)
