"""The graph stage of a recall: spreading activation over the links from the best scored candidates.

Spreading activation: Collins & Loftus (1975), "A spreading-activation theory of semantic processing"; in
retrieval, Crestani (1997), "Application of Spreading Activation Techniques in Information Retrieval".
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import replace
from typing import Any

import numpy as np
import pyarrow as pa

from memviz import scoring
from memviz.filters import LinkFilter, MemoryFilter
from memviz.models import StageCandidate
from memviz.recall.components import ScoringContext, components, gate, ranked
from memviz.recall.config import RecallConfig
from memviz.store import MemoryStore


def spread(
    n: int, edges: Mapping[tuple[int, int], float], seeds: Sequence[int], a0: np.ndarray, cfg: RecallConfig
) -> np.ndarray:
    """Total activation (n,) in [0, 1] after ``cfg.graph_hops`` hops over undirected weighted ``edges``
    ({(i, j): weight}) from ``seeds`` with initial activations ``a0``."""
    a: np.ndarray = np.zeros(n)
    a[list(seeds)] = a0
    total = a.copy()
    if not edges:
        return np.clip(total, 0.0, 1.0)
    pairs = np.array(list(edges), dtype=np.int64)
    i, j = np.concatenate([pairs[:, 0], pairs[:, 1]]), np.concatenate([pairs[:, 1], pairs[:, 0]])
    w = np.tile(np.array(list(edges.values()), dtype=np.float64), 2)
    for _ in range(cfg.graph_hops):
        passed = w * a[j]  # what node i receives from neighbour j along each directed half-edge
        if cfg.graph_aggregate == "sum":
            a = cfg.graph_decay * np.bincount(i, weights=passed, minlength=n)
            total = total + a
        else:
            a = np.zeros(n)
            np.maximum.at(a, i, passed)
            a *= cfg.graph_decay
            total = np.maximum(total, a)
    return np.clip(total, 0.0, 1.0)


def graph_stage(
    store: MemoryStore, ctx: ScoringContext, scored: list[StageCandidate], where: MemoryFilter
) -> tuple[list[StageCandidate], dict[str, Any], pa.Table]:
    """Spread activation from the best scored candidates over the links (treated as undirected, weighted).

    Seeds: the top ``graph_seeds`` of ``scored``, with activation a0 = score / best score. Each hop h passes
    a_h = decay * W a_(h-1) along links of weight W (``"sum"``: summed over neighbours; ``"max"``: the
    strongest neighbour only). A memory's ``graph`` component is its total activation (its own a0 plus what
    reaches it; max or sum over hops, clipped at 1), so seeds rank before the notes they pass to. Linked
    memories outside the pool (and matching ``where``) are scored like pool members and pass the same gates.
    Returns the new ranking, the stage's info and the rows of the memories it added.
    """
    cfg = ctx.cfg
    seeds = scored[: cfg.graph_seeds]
    top = max((c.scores["score"] for c in seeds), default=0.0)
    nodes = [c.id for c in seeds]
    index = {i: n for n, i in enumerate(nodes)}
    edges: dict[tuple[int, int], float] = {}
    frontier = list(nodes)
    for _ in range(cfg.graph_hops):
        if not frontier:
            break
        links = store.links_table(LinkFilter(touching=frontier))
        src, dst = links.column("source_id").to_pylist(), links.column("target_id").to_pylist()
        new = [i for i in dict.fromkeys(src + dst) if i not in index]
        if new and where != MemoryFilter():
            live = store.memories_table(columns=["id"], where=replace(where, ids=tuple(new)))
            alive = set(live.column("id").to_pylist())
            new = [i for i in new if i in alive]
        for i in new:
            index[i] = len(nodes)
            nodes.append(i)
        for s, d, w in zip(src, dst, links.column("weight").to_pylist(), strict=True):
            if s in index and d in index and s != d:
                key = (min(index[s], index[d]), max(index[s], index[d]))
                edges[key] = max(edges.get(key, 0.0), float(w))
        frontier = new
    activation = spread(
        len(nodes),
        edges,
        [index[c.id] for c in seeds],
        np.array([c.scores["score"] / top if top > 0 else 0.0 for c in seeds]),
        cfg,
    )

    # Memories the spread reached outside the pool: score them like pool members (same gates and ranges).
    known = {c.id for c in scored}
    outside = [i for i in nodes if i not in known and i not in ctx.gated_ids]
    ids, rows, comps, _ = components(store, ctx, outside)
    passed, gated = gate(cfg, ids, comps)
    for c, (lo, hi) in ctx.ranges.items():
        comps[c] = scoring.minmax_scale(comps[c], lo, hi)
    keep = np.flatnonzero(passed)
    new_ids = [ids[n] for n in keep]
    all_ids = [c.id for c in scored] + new_ids
    all_comps = {
        c: np.concatenate([np.array([r.scores[c] for r in scored]), comps[c][passed]]) for c in scoring.COMPONENTS
    }
    all_comps["graph"] = np.array([activation[index[i]] if i in index else 0.0 for i in all_ids])
    score = scoring.combine(all_comps, cfg.weights)
    info = {
        "seeds": [c.id for c in seeds],
        "hops": cfg.graph_hops,
        "decay": cfg.graph_decay,
        "aggregate": cfg.graph_aggregate,
        "links": len(edges),
        "reached": len(nodes) - len(seeds),
        "added": new_ids,
        "gated": gated,
    }
    return ranked(all_ids, all_comps, score), info, rows.take(pa.array(keep, pa.int64()))
