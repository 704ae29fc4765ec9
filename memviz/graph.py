"""The memory graph: memories as nodes, the ``links`` table as edges, analysed with igraph (C: communities,
PageRank and neighbourhoods of a 100k-memory store in seconds) and drawn and exported with networkx.

Pure functions (no streamlit) over two frames:

- ``nodes``: one row per memory, the columns of :data:`NODE_COLUMNS` (see :func:`graph_frames`);
- ``links``: one row per link, ``source_id`` (the newer memory), ``target_id`` (the older one), ``kind`` (one
  of :data:`memviz.models.LINK_KINDS`) and ``weight`` in [0, 1].

Two graphs are built from them. The *analysis graph* (:func:`analysis_graph`) is a simple undirected
weighted ``igraph.Graph`` whose vertices are named by memory id (parallel links of different kinds add up):
Leiden communities, PageRank, ego graphs and paths are computed on it. The *display graph*
(:func:`build_graph`) is an ``nx.MultiGraph`` with one edge per link, keyed by its kind, built only for the
memories shown; it is what is drawn and exported (GraphML for Gephi, node-link JSON).

What the Graph page draws of them (levels of detail, the focus of a recall, exports) is in
:mod:`memviz.graph_views`.
"""

from __future__ import annotations

import functools
import gc
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import ParamSpec, TypeVar

import igraph
import networkx as nx
import numpy as np
import pandas as pd

from memviz.decay import DecayModel, DecayParams
from memviz.errors import ConfigError, UnknownMemoryError
from memviz.filters import scoped
from memviz.models import LINK_KINDS

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

P = ParamSpec("P")
R = TypeVar("R")


def gc_paused(fn: Callable[P, R]) -> Callable[P, R]:
    """Run ``fn`` with Python's cyclic garbage collector paused. Reading 100k memories and 746k links, and
    building their igraph graph, make millions of small objects (strings, edge pairs) and no cycles; each
    collection they trigger rescans every tracked object, the large frames included: 1.5 of 6.7 CPU-s of the
    Graph page's first render at 100k memories (docs/performance.md)."""

    @functools.wraps(fn)
    def paused(*args: P.args, **kwargs: P.kwargs) -> R:
        was = gc.isenabled()
        gc.disable()
        try:
            return fn(*args, **kwargs)
        finally:
            if was:
                gc.enable()

    return paused


@gc_paused
def graph_frames(
    engine,
    model: DecayModel = "exponential",
    now_s: float | None = None,
    params: DecayParams | None = None,
    scope: str | None = None,
) -> tuple[pd.DataFrame, pd.DataFrame]:
    """The nodes and links frames of ``engine``'s store (of the memories of ``scope`` and their links; None:
    every scope), read in two queries.

    ``nodes`` has :data:`NODE_COLUMNS`: ``time_s`` is the memory's event time (POSIX s), its creation time
    when the data has none; ``retention`` in [0, 1] is computed at ``now_s`` (default: the engine clock) by
    :meth:`MemoryEngine.retention_frame` under ``model`` and ``params``; ``forgotten`` is a bool;
    ``keywords`` is one comma-separated string. ``links`` has :data:`LINK_COLUMNS`, its two ids categorical.
    """
    df = engine.retention_frame(model, now_s, where=scoped(None, scope), params=params)
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
    links = engine.read.links()[list(LINK_COLUMNS)]
    if scope is not None:  # a link never crosses scopes: its source tells its scope
        links = links[links["source_id"].isin(df["id"])]
    links = links.reset_index(drop=True)
    links["weight"] = links["weight"].astype("float64")
    # Categorical ends: every lookup of a link's ends (filters, the analysis graph, the drawn links) is then one
    # per memory, not one per link (a 100k-memory store has ~600k links).
    links[["source_id", "target_id"]] = links[["source_id", "target_id"]].astype("category")
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


def filter_of(
    span: tuple[float, float] | None,
    sessions: Iterable[str] = (),
    speakers: Iterable[str] = (),
    kinds: Iterable[str] = (),
    link_kinds: Iterable[str] = LINK_KINDS,
    min_weight: float = 0.0,
    min_retention: float = 0.0,
    include_forgotten: bool = True,
) -> GraphFilter:
    """The :class:`GraphFilter` of the Graph page's filter widgets: ``span`` is a picked date range
    ``(start_s, end_s)`` with its end exclusive (:func:`memviz.ui.widgets.date_range`; None: no range), made
    inclusive here; the other picks become tuples. Raises ConfigError as :class:`GraphFilter` does."""
    start_s, end_s = (span[0], span[1] - 1) if span else (None, None)
    return GraphFilter(
        start_s,
        end_s,
        tuple(sessions),
        tuple(speakers),
        tuple(kinds),
        tuple(link_kinds),
        min_weight,
        min_retention,
        include_forgotten,
    )


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
    """The links whose two ends are both in ``ids`` (distinct memory ids)."""
    at = pd.Index(ids)
    both = (positions(at, links["source_id"]) >= 0) & (positions(at, links["target_id"]) >= 0)
    return links[both].reset_index(drop=True)


def positions(ids: pd.Index, values: pd.Series) -> np.ndarray:
    """The position in ``ids`` (distinct memory ids) of each of ``values``, -1 where it is not there (int64).
    A categorical ``values`` is looked up once per category (:func:`graph_frames` makes link ends categorical)."""
    if isinstance(values.dtype, pd.CategoricalDtype):
        codes = values.cat.codes.to_numpy()
        return np.where(codes >= 0, ids.get_indexer(values.cat.categories)[codes], -1).astype(np.int64)
    return ids.get_indexer(values).astype(np.int64)


def analysis_graph(nodes: pd.DataFrame, links: pd.DataFrame) -> igraph.Graph:
    """A simple undirected graph over every memory of ``nodes``: vertex ``i`` is row ``i`` of ``nodes`` (its
    ``name`` the memory id), one edge per linked pair, ``weight`` the sum of its links' weights (a pair linked
    both semantically and by keywords is tied more strongly) and ``links`` their number. Links to ids not in
    ``nodes`` are left out. Built from integer codes in numpy (no Python loop over links)."""
    ids = pd.Index(nodes["id"])
    src, dst = positions(ids, links["source_id"]), positions(ids, links["target_id"])
    known = (src >= 0) & (dst >= 0)
    n = len(ids)
    pair = np.minimum(src, dst)[known].astype(np.int64) * n + np.maximum(src, dst)[known]
    pairs, which = np.unique(pair, return_inverse=True)
    g = igraph.Graph(n=n, edges=np.column_stack([pairs // n, pairs % n]).tolist())
    g.vs["name"] = ids.tolist()
    g.es["weight"] = np.bincount(which, weights=links["weight"].to_numpy(np.float64)[known]).tolist()
    g.es["links"] = np.bincount(which).tolist()
    return g


def vertex_ids(g: igraph.Graph) -> pd.Index:
    """The memory ids of ``g``'s vertices, in vertex order (an Index: ``id in vertex_ids(g)`` is a hash lookup)."""
    return pd.Index(g.vs["name"] if g.vcount() else [], dtype=object, name="id")


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


def communities(g: igraph.Graph, resolution: float = 1.0, seed: int = 0) -> pd.Series:
    """Communities of the weighted graph ``g`` (:func:`analysis_graph`) maximising modularity by the Leiden
    algorithm (Traag, Waltman & van Eck 2019: Louvain, Blondel et al. 2008, with a refinement step that keeps
    communities connected), igraph's ``community_leiden`` iterated until stable. On the 100k-memory benchmark store
    (614k linked pairs) it took 0.53 CPU-s against 3.09 for igraph's Louvain (``community_multilevel``), with the
    same 419 communities and modularity (0.9945); networkx's Louvain had taken 5.35 s at 20k.

    Returns a Series indexed by memory id: the community number, 0 for the largest community, 1 for the next,
    ... (deterministic for a given ``seed``; ties by the smallest member id). An isolated memory is a
    community of its own.
    """
    import random

    ids = vertex_ids(g)
    if not len(ids):
        return pd.Series(dtype="int64", name="community", index=ids)
    igraph.set_random_number_generator(random.Random(seed))  # its node order is shuffled: seeded, repeatable
    found = np.asarray(
        g.community_leiden("modularity", weights="weight", resolution=resolution, n_iterations=-1).membership
    )
    parts = pd.DataFrame({"id": ids, "part": found}).groupby("part")["id"].agg(["size", "min"])
    number = np.empty(len(parts), dtype=np.int64)
    number[parts.sort_values(["size", "min"], ascending=[False, True]).index.to_numpy()] = np.arange(len(parts))
    out = pd.Series(number[found], index=ids, name="community")
    return out.iloc[np.lexsort((ids.to_numpy(), out.to_numpy()))]


def centrality(g: igraph.Graph) -> pd.DataFrame:
    """Per vertex of ``g`` (:func:`analysis_graph`): ``degree`` (linked memories) and ``pagerank`` (PageRank over
    the weighted edges, Brin & Page 1998, damping 0.85, igraph's PRPACK solver; sums to 1). Indexed by memory
    id, in vertex order."""
    ids = vertex_ids(g)
    if not len(ids):
        return pd.DataFrame({"degree": pd.Series(dtype="int64"), "pagerank": pd.Series(dtype="float64")}, index=ids)
    pr = g.pagerank(weights="weight", damping=0.85) if g.ecount() else [1.0 / len(ids)] * len(ids)
    return pd.DataFrame({"degree": np.asarray(g.degree(), dtype=np.int64), "pagerank": pr}, index=ids)


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
                "speakers": top_values(shown["community"], shown["speaker"], 3),
                "keywords": top_values(shown["community"], shown["keywords"].str.split(", "), 5),
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


def ego_ids(g: igraph.Graph, centres: Iterable[str], radius: int = 1) -> list[str]:
    """The memories within ``radius`` links (>= 0) of any of ``centres`` (the union of their ego graphs),
    centres first. Raises UnknownMemoryError for a centre not in ``g``, ConfigError for a negative radius."""
    centres = list(dict.fromkeys(centres))
    if radius < 0:
        raise ConfigError(f"radius must be >= 0, got {radius!r}")
    ids = vertex_ids(g)
    if missing := [c for c in centres if c not in ids]:
        raise UnknownMemoryError(missing)
    reach = g.neighborhood(ids.get_indexer(centres).tolist(), order=radius)
    return list(dict.fromkeys([*centres, *ids[[v for vs in reach for v in vs]]]))


@gc_paused
def graph_structure(nodes: pd.DataFrame, links: pd.DataFrame) -> tuple[igraph.Graph, pd.Series, pd.DataFrame]:
    """What every view of the Graph page needs of the (filtered) frames: the :func:`analysis_graph`, its
    :func:`communities` and :func:`centrality` (the :func:`analyse` tables are only for its Analysis tab)."""
    g = analysis_graph(nodes, links)
    return g, communities(g), centrality(g)


def analyse_graph(
    nodes: pd.DataFrame, links: pd.DataFrame
) -> tuple[igraph.Graph, pd.Series, pd.DataFrame, GraphAnalysis]:
    """Everything the Graph page shows of the (filtered) frames: :func:`graph_structure` and the
    :func:`analyse` tables."""
    g, comm, cent = graph_structure(nodes, links)
    return g, comm, cent, analyse(nodes, links, comm, cent)


def top_values(groups: pd.Series, values: pd.Series, n: int) -> pd.Series:
    """Per group, its ``n`` most frequent non-empty values joined by ", " (ties alphabetical). ``values``
    may hold lists (each element counts). Indexed by group; groups without a value are absent."""
    df = pd.DataFrame({"g": groups.to_numpy(), "v": values.to_numpy()}).explode("v")
    df = df[df["v"].notna() & (df["v"] != "")]
    counts = df.value_counts().rename("n").reset_index().sort_values(["g", "n", "v"], ascending=[True, False, True])
    return counts.groupby("g").head(n).groupby("g")["v"].agg(", ".join)
