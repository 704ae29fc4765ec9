"""Links between memories, made when a memory is written: a pure function of the new memories and the
memories stored before them (:class:`Prior`), so it is testable without a store.

- semantic: to the ``semantic_top_n`` nearest earlier memories with cosine similarity >= ``semantic_threshold``
  (A-MEM, Xu et al. 2025, links a new note to its nearest neighbours; the threshold is ours);
- temporal: to the previous turn of the same session (weight 1);
- keyword: to up to ``keyword_top_n`` earlier memories sharing a keyword, weighted by the Jaccard overlap of
  their keyword sets.

Links point from the newer memory (``source_id``) to the older one (``target_id``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memviz.models import Link, MemoryInput
from memviz.vector_index import top_k


@dataclass(frozen=True)
class LinkConfig:
    """How new memories are linked (see the module docstring). Keywords found in more than ``keyword_max_df``
    of the store (and at least 20 memories) are too common to link on (the speakers' names, greetings)."""

    semantic_threshold: float = 0.55
    semantic_top_n: int = 5
    keyword_top_n: int = 3
    keyword_max_df: float = 0.02


@dataclass(frozen=True)
class Prior:
    """The stored memories a batch links to: the live ones' ids and unit vectors (shape (n, dim)), the
    latest stored memory of each of the batch's sessions ({session_id: memory id}), and the live ones' ids
    and keyword sets (for keyword links)."""

    ids: list[str]
    vecs: np.ndarray
    last_in_session: dict[str, str] = field(default_factory=dict)
    keyword_ids: list[str] = field(default_factory=list)
    keywords: list[set[str]] = field(default_factory=list)


def link(
    ids: Sequence[str],
    inputs: Sequence[MemoryInput],
    keywords: Sequence[Sequence[str]],
    vecs: np.ndarray,
    prior: Prior,
    cfg: LinkConfig,
    now_s: float,
    batch_id: str,
) -> tuple[list[Link], list[list[dict[str, Any]]]]:
    """Links from each new memory (``ids``, with their inputs, keywords and unit vectors (n, dim)) to earlier
    ones (stored, or earlier in this batch), created at ``now_s`` in batch ``batch_id``; and each new
    memory's nearest neighbours for the write report (``{"id", "similarity", "linked"}``, best first, at least
    5, whether linked or not)."""
    links, neighbours = _semantic(ids, vecs, prior, cfg, now_s, batch_id)
    links += _temporal(ids, inputs, prior, now_s, batch_id)
    links += _keyword(ids, keywords, prior, cfg, now_s, batch_id)
    return links, neighbours


def _semantic(ids, vecs, prior: Prior, cfg: LinkConfig, now_s, batch_id):
    n = len(ids)
    if not n:
        return [], []
    all_ids = list(prior.ids) + list(ids)
    # Similarity of each new memory to every stored one and to the new ones before it (never to itself or
    # later ones, so links point from newer to older).
    sims = vecs @ np.concatenate([prior.vecs.reshape(-1, vecs.shape[1]), vecs]).T
    n_old = len(prior.ids)
    sims[:, n_old:][np.arange(n)[:, None] <= np.arange(n)[None, :]] = -np.inf
    order = top_k(sims, max(cfg.semantic_top_n, 5))
    links: list[Link] = []
    neighbours: list[list[dict[str, Any]]] = []
    for r in range(n):
        nb = []
        for rank, c in enumerate(order[r]):
            s = float(sims[r, c])
            if not np.isfinite(s):
                break
            linked = rank < cfg.semantic_top_n and s >= cfg.semantic_threshold
            nb.append({"id": all_ids[c], "similarity": s, "linked": s >= cfg.semantic_threshold})
            if linked:
                links.append(Link(ids[r], all_ids[c], "semantic", s, now_s, batch_id))
        neighbours.append(nb)
    return links, neighbours


def _temporal(ids, inputs, prior: Prior, now_s, batch_id) -> list[Link]:
    last = dict(prior.last_in_session)
    # Within the batch, in event-time order (then input order), each turn links to the one before it.
    order = sorted(
        range(len(ids)), key=lambda n: (inputs[n].event_time_s if inputs[n].event_time_s is not None else now_s, n)
    )
    links = []
    for n in order:
        s = inputs[n].session_id
        if not s:
            continue
        if s in last:
            links.append(Link(ids[n], last[s], "temporal", 1.0, now_s, batch_id))
        last[s] = ids[n]
    return links


def _keyword(ids, keywords, prior: Prior, cfg: LinkConfig, now_s, batch_id) -> list[Link]:
    if cfg.keyword_top_n <= 0 or not any(keywords):
        return []
    prior_ids = list(prior.keyword_ids) + list(ids)
    prior_kws = list(prior.keywords) + [set(k) for k in keywords]
    index: dict[str, list[int]] = defaultdict(list)
    for pos, ks in enumerate(prior_kws):
        for kw in ks:
            index[kw].append(pos)
    max_df = max(20, cfg.keyword_max_df * len(prior_ids))
    links = []
    n_old = len(prior.keyword_ids)
    for n, mid in enumerate(ids):
        me = n_old + n
        mine = prior_kws[me]
        cands: dict[int, float] = {}
        for kw in mine:
            posting = index[kw]
            if len(posting) > max_df:
                continue
            for pos in posting:
                if pos < me and pos not in cands:
                    other = prior_kws[pos]
                    cands[pos] = len(mine & other) / len(mine | other)
        best = sorted(cands.items(), key=lambda x: (-x[1], -x[0]))[: cfg.keyword_top_n]
        links += [Link(mid, prior_ids[pos], "keyword", w, now_s, batch_id) for pos, w in best]
    return links
