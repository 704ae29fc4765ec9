"""Links between memories, made when a memory is written: a pure function of the new memories and the
memories stored before them (:class:`Prior`), so it is testable without a store.

- semantic: to the ``semantic_top_n`` nearest earlier memories with cosine similarity >= ``semantic_threshold``
  (A-MEM, Xu et al. 2025, links a new note to its nearest neighbours; the threshold is ours), weighted by the
  similarity; between two short texts (small talk, see below) the weight is ``short_pair_weight`` times that;
- temporal: to the previous turn of the same session (weight 1);
- keyword: to up to ``keyword_top_n`` earlier memories sharing a keyword, weighted by the Jaccard overlap of
  their keyword sets times how specific the shared keywords are (IDF-like damping, see :func:`specificity`).
  Short texts get no keyword links.

Small talk is not a hub: a text with at most ``short_words`` content words (:func:`memviz.text.content_words`:
"Talk to you later!" has 2) says too little to link on its keywords, and two such texts ("Bye!", "Bye!") are
near-identical to the model without being related.

Scope: a memory links only to memories of its own scope (:attr:`memviz.models.MemoryInput.scope`; ``""``, the
default scope, is one scope like any other), whether stored or in the same batch: semantic, temporal (a session
is a session of its scope) and keyword links alike. Inside a scope, a memory also links only within its own
conversation when its session id says what that is (:func:`scope_of`: a LoCoMo conversation, a LongMemEval
haystack, a MemoryBank user, for stores written before scopes, whose memories are all in the default scope);
memories without a conversation (JSONL files, notes typed in the app) link to any of their scope. Turns of
different people's conversations are not related because they say the same thing ("Talk to you later!").

Links point from the newer memory (``source_id``) to the older one (``target_id``).
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Any

import numpy as np

from memviz.models import Link, MemoryInput
from memviz.text import content_words
from memviz.vector_index import top_k

# Importers whose session ids are "<conversation>:<session>" (memviz.importers): the part before the last ":"
# is the conversation (LoCoMo sample id, LongMemEval question id, MemoryBank user).
SCOPED_DATASETS: frozenset[str] = frozenset({"locomo", "longmemeval", "memorybank"})


def conversation_of(dataset: str | None, session_id: str | None) -> str | None:
    """The conversation a memory belongs to, as its session id says: ``"<dataset>:<conversation>"`` for the
    datasets of :data:`SCOPED_DATASETS` (``("locomo", "conv-26:S3")`` -> ``"locomo:conv-26"``), else None."""
    if dataset not in SCOPED_DATASETS or not session_id or ":" not in session_id:
        return None
    return f"{dataset}:{session_id.rpartition(':')[0]}"


LinkScope = tuple[str, str | None]  # (scope, conversation or None): what linking compares
DEFAULT_LINK_SCOPE: LinkScope = ("", None)


def scope_of(scope: str, dataset: str | None, session_id: str | None) -> LinkScope:
    """What linking compares of a memory: its scope and its conversation (:func:`conversation_of`), e.g.
    ``("conv-26", "locomo:conv-26")``, ``("alice", None)``."""
    return (scope or "", conversation_of(dataset, session_id))


def in_scope(a: LinkScope, b: LinkScope) -> bool:
    """Whether memories of link scopes ``a`` and ``b`` (:func:`scope_of`) may link: the same scope, and the
    same conversation or one of them has none."""
    return a[0] == b[0] and (a[1] is None or b[1] is None or a[1] == b[1])


def is_short(text: str, cfg: LinkConfig) -> bool:
    """Whether ``text`` has at most ``cfg.short_words`` content words (small talk: "Thanks, Evan!")."""
    return len(content_words(text)) <= cfg.short_words


def specificity(df: int, max_df: float) -> float:
    """How specific a keyword found in ``df`` (>= 1) memories is, in [0, 1]: 1 - ln(df) / ln(max_df + 1),
    clipped (IDF-like, Sparck Jones 1972: 1 for a keyword of one memory, falling to 0 at ``max_df``, the
    frequency above which keywords are not linked on at all)."""
    return float(min(1.0, max(0.0, 1.0 - np.log(max(df, 1)) / np.log(max_df + 1.0))))


@dataclass(frozen=True)
class LinkConfig:
    """How new memories are linked (see the module docstring). Keywords found in more than ``keyword_max_df``
    of the scope's memories (and at least 20 memories) are too common to link on (the speakers' names, greetings).
    ``short_words`` (>= 0): texts with at most this many content words are small talk: no keyword links, and a
    semantic link between two of them weighs ``short_pair_weight`` (in [0, 1]) times their similarity.
    ``scoped``: link only inside a memory's conversation (:func:`conversation_of`); a memory links only inside
    its scope either way."""

    semantic_threshold: float = 0.55
    semantic_top_n: int = 5
    keyword_top_n: int = 3
    keyword_max_df: float = 0.02
    short_words: int = 3
    short_pair_weight: float = 0.25
    scoped: bool = True


@dataclass(frozen=True)
class Prior:
    """The stored memories a batch links to: the live ones' ids and unit vectors (shape (n, dim)), the
    latest stored memory of each of the batch's sessions ({(scope, session_id): memory id}), the live ones' ids
    and keyword sets (for keyword links), their link scopes ({id: (scope, conversation)}, :func:`scope_of`;
    absent: the default scope, no conversation) and the ids of the short ones (:func:`is_short`)."""

    ids: list[str]
    vecs: np.ndarray
    last_in_session: dict[tuple[str, str], str] = field(default_factory=dict)
    keyword_ids: list[str] = field(default_factory=list)
    keywords: list[set[str]] = field(default_factory=list)
    scopes: dict[str, LinkScope] = field(default_factory=dict)
    short: set[str] = field(default_factory=set)


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
    memory's nearest neighbours in its scope for the write report (``{"id", "similarity", "linked"}``, best
    first, at least 5, whether linked or not)."""
    scopes = [_key(scope_of(i.scope, i.dataset, i.session_id), cfg) for i in inputs]
    short = [is_short(i.text, cfg) for i in inputs]
    links, neighbours = _semantic(ids, vecs, scopes, short, prior, cfg, now_s, batch_id)
    links += _temporal(ids, inputs, prior, now_s, batch_id)
    kws = [[] if s else k for k, s in zip(keywords, short, strict=True)]
    links += _keyword(ids, kws, scopes, prior, cfg, now_s, batch_id)
    return links, neighbours


def _key(scope: LinkScope, cfg: LinkConfig) -> LinkScope:
    """``scope`` as linking compares it with ``cfg``: without ``cfg.scoped`` the conversation is ignored."""
    return scope if cfg.scoped else (scope[0], None)


def _prior_keys(ids: Sequence[str], prior: Prior, cfg: LinkConfig) -> list[LinkScope]:
    return [_key(prior.scopes.get(i, DEFAULT_LINK_SCOPE), cfg) for i in ids]


def _semantic(ids, vecs, scopes, short, prior: Prior, cfg: LinkConfig, now_s, batch_id):
    n = len(ids)
    if not n:
        return [], []
    all_ids = list(prior.ids) + list(ids)
    # Similarity of each new memory to every stored one and to the new ones before it (never to itself or
    # later ones, so links point from newer to older), and to none of another scope or conversation.
    sims = vecs @ np.concatenate([prior.vecs.reshape(-1, vecs.shape[1]), vecs]).T
    n_old = len(prior.ids)
    sims[:, n_old:][np.arange(n)[:, None] <= np.arange(n)[None, :]] = -np.inf
    all_scopes = _prior_keys(prior.ids, prior, cfg) + list(scopes)
    scope_col = np.array([s[0] for s in all_scopes], dtype=object)
    conv_col = np.array([s[1] for s in all_scopes], dtype=object)
    conv_known = np.array([s[1] is not None for s in all_scopes])
    for sc in set(scopes):
        other = scope_col != sc[0]
        if sc[1] is not None:
            other |= conv_known & (conv_col != sc[1])
        sims[np.ix_(np.array([s == sc for s in scopes]), other)] = -np.inf
    all_short = [i in prior.short for i in prior.ids] + list(short)
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
                w = s * cfg.short_pair_weight if short[r] and all_short[c] else s
                links.append(Link(ids[r], all_ids[c], "semantic", w, now_s, batch_id))
        neighbours.append(nb)
    return links, neighbours


def _temporal(ids, inputs, prior: Prior, now_s, batch_id) -> list[Link]:
    last = dict(prior.last_in_session)
    # Within the batch, in event-time order (then input order), each turn links to the one before it in its
    # scope's session.
    order = sorted(
        range(len(ids)), key=lambda n: (inputs[n].event_time_s if inputs[n].event_time_s is not None else now_s, n)
    )
    links = []
    for n in order:
        if not inputs[n].session_id:
            continue
        s = (inputs[n].scope, inputs[n].session_id)
        if s in last:
            links.append(Link(ids[n], last[s], "temporal", 1.0, now_s, batch_id))
        last[s] = ids[n]
    return links


def _keyword(ids, keywords, scopes, prior: Prior, cfg: LinkConfig, now_s, batch_id) -> list[Link]:
    """Keyword links, scope by scope: a scope's keyword frequencies are those of its own memories (stored and
    new), as in a store holding that scope alone."""
    if cfg.keyword_top_n <= 0 or not any(keywords):
        return []
    # Short texts (stored or new) neither link on keywords nor count in their frequencies.
    old_kws = [set() if i in prior.short else k for i, k in zip(prior.keyword_ids, prior.keywords, strict=True)]
    old_scopes = _prior_keys(prior.keyword_ids, prior, cfg)
    links = []
    for name in dict.fromkeys(s[0] for s in scopes):
        old = [n for n, s in enumerate(old_scopes) if s[0] == name]
        new = [n for n, s in enumerate(scopes) if s[0] == name]
        links += _keyword_in_scope(
            [prior.keyword_ids[n] for n in old] + [ids[n] for n in new],
            [old_kws[n] for n in old] + [set(keywords[n]) for n in new],
            [old_scopes[n] for n in old] + [scopes[n] for n in new],
            len(old),
            cfg,
            now_s,
            batch_id,
        )
    return links


def _keyword_in_scope(all_ids, all_kws, all_scopes, n_old, cfg: LinkConfig, now_s, batch_id) -> list[Link]:
    """Keyword links of the memories ``all_ids[n_old:]`` (new, in order) to those before them, all of one scope."""
    index: dict[str, list[int]] = defaultdict(list)
    for pos, ks in enumerate(all_kws):
        for kw in ks:
            index[kw].append(pos)
    max_df = max(20, cfg.keyword_max_df * len(all_ids))
    links = []
    for me in range(n_old, len(all_ids)):
        mine = all_kws[me]
        cands: dict[int, float] = {}
        for kw in mine:
            posting = index[kw]
            if len(posting) > max_df:
                continue
            for pos in posting:
                if pos < me and pos not in cands and in_scope(all_scopes[me], all_scopes[pos]):
                    other = all_kws[pos]
                    shared = mine & other
                    spec = sum(specificity(len(index[k]), max_df) for k in shared) / len(shared)
                    cands[pos] = len(shared) / len(mine | other) * spec
        best = sorted(cands.items(), key=lambda x: (-x[1], -x[0]))[: cfg.keyword_top_n]
        links += [Link(all_ids[me], all_ids[pos], "keyword", w, now_s, batch_id) for pos, w in best]
    return links
