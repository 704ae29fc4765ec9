"""The memory graph: memories as nodes, the ``links`` table as edges, analysed with networkx.

Pure functions (no streamlit) over two frames:

- ``nodes``: one row per memory, the columns of :data:`NODE_COLUMNS` (see :func:`graph_frames`);
- ``links``: one row per link, ``source_id`` (the newer memory), ``target_id`` (the older one), ``kind`` (one
  of :data:`memviz.models.LINK_KINDS`) and ``weight`` in [0, 1].

Two graphs are built from them. The *analysis graph* (:func:`analysis_graph`) is a simple undirected
weighted ``nx.Graph`` (parallel links of different kinds add up): Louvain communities, PageRank, ego graphs
and levels of detail are computed on it. The *display graph* (:func:`build_graph`) is an ``nx.MultiGraph``
with one edge per link, keyed by its kind, built only for the memories shown; it is what is drawn and
exported (GraphML for Gephi, node-link JSON).
"""

from __future__ import annotations

import json
import math
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from typing import Literal

import networkx as nx
import numpy as np
import pandas as pd

from memviz.decay import DecayModel, DecayParams
from memviz.errors import ConfigError, UnknownMemoryError
from memviz.models import LINK_KINDS, RecallResult

RankBy = Literal["pagerank", "degree", "importance", "recall_count"]
RANK_BY: tuple[str, ...] = ("pagerank", "degree", "importance", "recall_count")
VIEWS: dict[str, str] = {"store": "Whole store", "memory": "Around a memory", "query": "Around a query's recall"}
LODS: dict[str, str] = {"top": "Top memories", "communities": "One node per community"}  # levels of detail
RANK_LABELS: dict[str, str] = {
    "pagerank": "PageRank",
    "degree": "links",
    "importance": "importance",
    "recall_count": "recall count",
}

NODE_COLUMNS: tuple[str, ...] = (
    "id",
    "text",
    "kind",
    "speaker",
    "session_id",
    "source_id",
    "time_s",
    "importance",
    "recall_count",
    "retention",
    "forgotten",
    "keywords",
)
LINK_COLUMNS: tuple[str, ...] = ("source_id", "target_id", "kind", "weight")


def graph_frames(
    engine, model: DecayModel = "exponential", now_s: float | None = None, params: DecayParams | None = None
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The nodes and links frames of ``engine``'s store, read in two queries.

    ``nodes`` has :data:`NODE_COLUMNS`: ``time_s`` is the memory's event time (POSIX s), its creation time
    when the data has none; ``retention`` in [0, 1] is computed at ``now_s`` (default: the engine clock) by
    :meth:`MemoryEngine.retention_frame` under ``model`` and ``params``; ``forgotten`` is a bool;
    ``keywords`` is one comma-separated string. ``links`` has :data:`LINK_COLUMNS`.
    """
    df = engine.retention_frame(model, now_s, params=params)
    nodes = pd.DataFrame(
        {
            "id": df["id"],
            "text": df["text"],
            "kind": df["kind"],
            "speaker": df["speaker"],
            "session_id": df["session_id"],
            "source_id": df["source_id"],
            "time_s": df["event_time_s"].fillna(df["created_time_s"]).astype("float64"),
            "importance": df["importance"].astype("float64"),
            "recall_count": df["recall_count"].astype("int64"),
            "retention": df["retention"].astype("float64"),
            "forgotten": df["forgotten_time_s"].notna(),
            "keywords": df["keywords"].map(lambda k: ", ".join(k) if k is not None else ""),
        },
        columns=list(NODE_COLUMNS),
    )
    links = engine.read.links()[list(LINK_COLUMNS)].reset_index(drop=True)
    links["weight"] = links["weight"].astype("float64")
    return nodes, links


@dataclass(frozen=True)
class GraphFilter:
    """Which memories and links the graph shows. Empty tuples mean "all".

    - ``start_s`` / ``end_s``: the range of ``time_s`` (POSIX seconds, inclusive); None leaves it open.
    - ``sessions``, ``speakers``, ``kinds``: keep memories with one of these values.
    - ``link_kinds``: keep links of these kinds; ``min_weight`` (in [0, 1]): keep links at least this strong.
    - ``min_retention`` (in [0, 1]): keep memories whose retention is at least this.
    - ``include_forgotten``: keep soft-forgotten memories.

    Raises ConfigError for a value out of range, an unknown link kind or a start after the end.
    """

    start_s: float | None = None
    end_s: float | None = None
    sessions: tuple[str, ...] = ()
    speakers: tuple[str, ...] = ()
    kinds: tuple[str, ...] = ()
    link_kinds: tuple[str, ...] = LINK_KINDS
    min_weight: float = 0.0
    min_retention: float = 0.0
    include_forgotten: bool = True

    def __post_init__(self) -> None:
        for name in ("min_weight", "min_retention"):
            v = getattr(self, name)
            if not 0.0 <= v <= 1.0:
                raise ConfigError(f"{name} must be in [0, 1], got {v!r}")
        if unknown := set(self.link_kinds) - set(LINK_KINDS):
            raise ConfigError(f"unknown link kind(s) {sorted(unknown)}; known: {', '.join(LINK_KINDS)}")
        if self.start_s is not None and self.end_s is not None and self.start_s > self.end_s:
            raise ConfigError("the start of the time range is after its end")


def filter_frames(nodes: pd.DataFrame, links: pd.DataFrame, f: GraphFilter) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The memories that pass ``f`` and the links that pass it between two of them (vectorised masks)."""
    keep = nodes["retention"].to_numpy() >= f.min_retention
    if f.start_s is not None:
        keep &= nodes["time_s"].to_numpy() >= f.start_s
    if f.end_s is not None:
        keep &= nodes["time_s"].to_numpy() <= f.end_s
    for col, wanted in (("session_id", f.sessions), ("speaker", f.speakers), ("kind", f.kinds)):
        if wanted:
            keep &= nodes[col].isin(wanted).to_numpy()
    if not f.include_forgotten:
        keep &= ~nodes["forgotten"].to_numpy()
    kept = nodes[keep].reset_index(drop=True)
    return kept, links_among(links[links["kind"].isin(f.link_kinds) & (links["weight"] >= f.min_weight)], kept["id"])


def links_among(links: pd.DataFrame, ids: Iterable[str]) -> pd.DataFrame:
    """The links whose two ends are both in ``ids``."""
    ids = pd.Index(ids)
    return links[links["source_id"].isin(ids) & links["target_id"].isin(ids)].reset_index(drop=True)


def analysis_graph(nodes: pd.DataFrame, links: pd.DataFrame) -> nx.Graph:
    """A simple undirected graph over every memory of ``nodes``: one edge per linked pair, ``weight`` the
    sum of its links' weights (a pair linked both semantically and by keywords is tied more strongly) and
    ``links`` their number. Node ids only; links to ids not in ``nodes`` are left out."""
    lk = links_among(links, nodes["id"])
    a = np.minimum(lk["source_id"].to_numpy(), lk["target_id"].to_numpy())
    b = np.maximum(lk["source_id"].to_numpy(), lk["target_id"].to_numpy())
    pairs = (
        pd.DataFrame({"a": a, "b": b, "w": lk["weight"].to_numpy()})
        .groupby(["a", "b"], sort=False)["w"]
        .agg(["sum", "size"])
        .reset_index()
    )
    g = nx.Graph()
    g.add_nodes_from(nodes["id"])
    g.add_edges_from(
        (u, v, {"weight": w, "links": n}) for u, v, w, n in zip(pairs["a"], pairs["b"], pairs["sum"], pairs["size"])
    )
    return g


def build_graph(nodes: pd.DataFrame, links: pd.DataFrame) -> nx.MultiGraph:
    """The display graph: one node per row of ``nodes`` (its columns as attributes, keyed by ``id``) and one
    edge per link between two of them, keyed by its kind, with ``kind``, ``weight`` and ``newer`` (the id
    of the newer memory, the link's source) as attributes."""
    g = nx.MultiGraph()
    g.add_nodes_from(zip(nodes["id"], nodes.drop(columns=["id"]).to_dict("records")))
    lk = links_among(links, nodes["id"])
    g.add_edges_from(
        (s, t, k, {"kind": k, "weight": w, "newer": s})
        for s, t, k, w in zip(lk["source_id"], lk["target_id"], lk["kind"], lk["weight"])
    )
    return g


def communities(g: nx.Graph, resolution: float = 1.0, seed: int = 0) -> pd.Series:
    """Louvain communities (Blondel et al. 2008) of the weighted graph ``g``, computed by igraph's
    ``community_multilevel`` (the same algorithm in C: 0.5 s instead of networkx's 5.6 s on a 20k-memory,
    119k-edge store, with the same modularity, 0.852 against 0.854).

    Returns a Series indexed by node id: the community number, 0 for the largest community, 1 for the next,
    ... (deterministic for a given ``seed``; ties by the smallest member id). An isolated memory is a
    community of its own.
    """
    import random

    import igraph

    if g.number_of_nodes() == 0:
        return pd.Series(dtype="int64", name="community", index=pd.Index([], name="id"))
    ids = list(g.nodes)
    position = {n: i for i, n in enumerate(ids)}
    edges = [(position[u], position[v], w) for u, v, w in g.edges(data="weight", default=1.0)]
    h = igraph.Graph(n=len(ids), edges=[(u, v) for u, v, _ in edges])
    h.es["weight"] = [w for _, _, w in edges]
    igraph.set_random_number_generator(random.Random(seed))  # its node order is shuffled: seeded, repeatable
    parts = [[ids[i] for i in c] for c in h.community_multilevel(weights="weight", resolution=resolution)]
    parts = sorted(parts, key=lambda c: (-len(c), min(c)))
    ids = [n for c in parts for n in c]
    nums = np.repeat(np.arange(len(parts)), [len(c) for c in parts])
    return pd.Series(nums, index=pd.Index(ids, name="id"), name="community")


def centrality(g: nx.Graph) -> pd.DataFrame:
    """Per node of ``g``: ``degree`` (linked memories) and ``pagerank`` (PageRank over the weighted edges,
    Brin & Page 1998, damping 0.85; sums to 1). Indexed by node id."""
    ids = list(g.nodes)
    if not ids:
        return pd.DataFrame(
            {"degree": pd.Series(dtype="int64"), "pagerank": pd.Series(dtype="float64")}, index=pd.Index([], name="id")
        )
    pr = nx.pagerank(g, weight="weight") if g.number_of_edges() else dict.fromkeys(ids, 1.0 / len(ids))
    deg = dict(g.degree())
    return pd.DataFrame(
        {"degree": [deg[i] for i in ids], "pagerank": [pr[i] for i in ids]}, index=pd.Index(ids, name="id")
    )


@dataclass
class GraphAnalysis:
    """What :func:`analyse` finds. Memory tables have ``id``, ``text``, ``speaker``, ``session_id``.

    - ``central``: the most central memories by PageRank (``pagerank``, ``degree``, ``community``).
    - ``isolated``: memories with no link among the memories analysed.
    - ``communities``: the largest communities: ``community``, ``size``, ``sessions`` (how many),
      ``speakers`` and ``keywords`` (the most frequent), ``example`` (its most central memory's text).
    - ``session_bridges``: pairs of sessions joined by links: ``session_a``, ``session_b``, ``links``.
    - ``bridge_memories``: memories linked into sessions other than their own: ``other_sessions`` (how
      many), ``cross_links`` (how many such links).
    - ``cross_session_links``: how many links join two sessions; ``session_pairs``: how many pairs they join.
    """

    central: pd.DataFrame
    isolated: pd.DataFrame
    communities: pd.DataFrame
    session_bridges: pd.DataFrame
    bridge_memories: pd.DataFrame
    cross_session_links: int
    session_pairs: int


def analyse(
    nodes: pd.DataFrame, links: pd.DataFrame, community: pd.Series, cent: pd.DataFrame, top_n: int = 15
) -> GraphAnalysis:
    """Analyse the graph of ``nodes`` and ``links`` given its ``community`` numbers (:func:`communities`)
    and centrality (:func:`centrality`), both computed on :func:`analysis_graph` of the same frames.

    ``top_n`` (>= 1) bounds the central, community and bridge tables. Raises ConfigError for ``top_n`` < 1.
    """
    if top_n < 1:
        raise ConfigError(f"top_n must be >= 1, got {top_n!r}")
    mem_cols = ["id", "text", "speaker", "session_id"]
    nodes = nodes.assign(
        community=nodes["id"].map(community),
        pagerank=nodes["id"].map(cent["pagerank"]),
        degree=nodes["id"].map(cent["degree"]),
    )
    central = nodes.nlargest(top_n, "pagerank")[mem_cols + ["pagerank", "degree", "community"]]
    isolated = nodes.loc[nodes["degree"] == 0, mem_cols]

    shown = nodes[nodes["community"] < top_n].sort_values("pagerank", ascending=False)  # numbered by size
    by = shown.groupby("community", sort=True)
    comm = (
        pd.DataFrame(
            {
                "size": by.size(),
                "sessions": by["session_id"].nunique(),
                "speakers": _top_values(shown["community"], shown["speaker"], 3),
                "keywords": _top_values(shown["community"], shown["keywords"].str.split(", "), 5),
                "example": by["text"].first(),
            }
        )
        .rename_axis("community")
        .reset_index()
    )

    lk = links_among(links, nodes["id"])
    session_of = nodes.set_index("id")["session_id"]
    sa = lk["source_id"].map(session_of).to_numpy()
    sb = lk["target_id"].map(session_of).to_numpy()
    cross = sa != sb
    pairs = (
        pd.DataFrame({"session_a": np.minimum(sa[cross], sb[cross]), "session_b": np.maximum(sa[cross], sb[cross])})
        .value_counts()
        .rename("links")
        .reset_index()
    )
    ends = pd.DataFrame(
        {
            "id": np.concatenate([lk["source_id"].to_numpy()[cross], lk["target_id"].to_numpy()[cross]]),
            "other": np.concatenate([sb[cross], sa[cross]]),
        }
    )
    per_mem = ends.groupby("id").agg(other_sessions=("other", "nunique"), cross_links=("other", "size"))
    bridges = (
        nodes[mem_cols]
        .join(per_mem, on="id", how="inner")
        .sort_values(["other_sessions", "cross_links"], ascending=False)
        .head(top_n)
    )
    return GraphAnalysis(
        central=central.reset_index(drop=True),
        isolated=isolated.reset_index(drop=True),
        communities=comm,
        session_bridges=pairs.head(top_n),
        bridge_memories=bridges.reset_index(drop=True),
        cross_session_links=int(cross.sum()),
        session_pairs=len(pairs),
    )


def ego_ids(g: nx.Graph, centres: Iterable[str], radius: int = 1) -> list[str]:
    """The memories within ``radius`` links (>= 0) of any of ``centres`` (the union of their ego graphs),
    centres first. Raises UnknownMemoryError for a centre not in ``g``, ConfigError for a negative radius."""
    centres = list(dict.fromkeys(centres))
    if radius < 0:
        raise ConfigError(f"radius must be >= 0, got {radius!r}")
    if missing := [c for c in centres if c not in g]:
        raise UnknownMemoryError(missing)
    reach: dict[str, None] = dict.fromkeys(centres)
    for c in centres:
        reach.update(dict.fromkeys(nx.single_source_shortest_path_length(g, c, cutoff=radius)))
    return list(reach)


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
            "speaker": _top_values(nodes["community"], nodes["speaker"], 1),
            "session_id": _top_values(nodes["community"], nodes["session_id"], 1),
            "importance": by["importance"].mean(),
            "retention": by["retention"].mean(),
            "recall_count": by["recall_count"].sum(),
            "kind": "community",
        }
    )
    s[["speaker", "session_id"]] = s[["speaker", "session_id"]].fillna("")
    keywords = _top_values(nodes["community"], nodes["keywords"].str.split(", "), 5).reindex(s.index).fillna("-")
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


def analyse_graph(nodes: pd.DataFrame, links: pd.DataFrame) -> tuple[nx.Graph, pd.Series, pd.DataFrame, GraphAnalysis]:
    """Everything the Graph page shows of the (filtered) frames: the :func:`analysis_graph`, its
    :func:`communities`, :func:`centrality` and :func:`analyse` tables."""
    g = analysis_graph(nodes, links)
    comm, cent = communities(g), centrality(g)
    return g, comm, cent, analyse(nodes, links, comm, cent)


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


def by_pagerank(nodes: pd.DataFrame, cent: pd.DataFrame) -> pd.DataFrame:
    """``nodes`` ordered most central first (PageRank of :func:`centrality`; ties keep their order)."""
    order = nodes["id"].map(cent["pagerank"]).fillna(0.0).to_numpy()
    return nodes.iloc[np.argsort(-order, kind="stable")]


@dataclass(frozen=True)
class RecallFocus:
    """What the graph's query view shows of one recall: the ``query``, its ``hits`` (``{id: rank}``, best
    first) and ``vector`` (the query's unit vector as the recall embedded it, or None), to place it on the map."""

    query: str
    hits: dict[str, int]
    vector: np.ndarray | None = None

    @classmethod
    def of(cls, result: RecallResult) -> RecallFocus:
        """The focus of a recall result (no second embedding: the vector is the one the recall used)."""
        return cls(result.trace.query, {h.memory.id: h.rank for h in result.hits}, result.query_vector)

    def shown_hits(self, g: nx.Graph) -> tuple[dict[str, int], int]:
        """The hits that are memories of ``g`` (``{id: rank}``) and how many are not (hidden by filters)."""
        shown = {i: r for i, r in self.hits.items() if i in g}
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
    lod: Literal["top", "communities"] = "top",
    rank_by: str = "pagerank",
    keep: Iterable[str] = (),
    can_summarise: bool = True,
) -> Detail:
    """The graph to draw of the memories ``ids`` (a subset of ``nodes``, e.g. an ego graph).

    Up to ``max_nodes`` (>= 1) memories, all of them. Above it, with ``lod="communities"`` and ``can_summarise``
    (the whole-store view), :func:`summary_graph` (one node per community); otherwise the ``max_nodes`` best by
    ``rank_by`` (a column of ``cent`` or of ``nodes``: one of :data:`RANK_BY`), always keeping ``keep`` (focus
    memories, recall hits). Raises ConfigError for ``max_nodes`` < 1 or an unknown ``rank_by``.
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
            f"(Louvain); a community's size is its number of memories.",
            True,
        )
    if total > max_nodes:
        score = cent[rank_by] if rank_by in cent else nodes.set_index("id")[rank_by]
        ids = top_ids(score.loc[ids], int(max_nodes), keep=keep)
    g = build_graph(nodes[nodes["id"].isin(ids)], links)
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
    full = lambda: build_graph(nodes, links)
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


def _top_values(groups: pd.Series, values: pd.Series, n: int) -> pd.Series:
    """Per group, its ``n`` most frequent non-empty values joined by ", " (ties alphabetical). ``values``
    may hold lists (each element counts). Indexed by group; groups without a value are absent."""
    df = pd.DataFrame({"g": groups.to_numpy(), "v": values.to_numpy()}).explode("v")
    df = df[df["v"].notna() & (df["v"] != "")]
    counts = df.value_counts().rename("n").reset_index().sort_values(["g", "n", "v"], ascending=[True, False, True])
    return counts.groupby("g").head(n).groupby("g")["v"].agg(", ".join)
