"""Coverage and hubs of an evaluation run: what the memory never surfaces, and what it surfaces for everything.

Pure functions of the per-question records of an evaluation (:func:`memviz.evaluate.locomo.run_locomo`'s
``questions``: ``id``, ``status``, ``store``, ``evidence``, the optional ``evidence_audited`` and ``retrieved``,
the ranked memory ids). Every evaluated question counts, adversarial ones too: each is a query the memory
answered.

- :func:`retrieval_counts`: per memory, how many questions had it in their top k.
- :func:`coverage`: the memories no question retrieved in its top k, and how many of those are gold for some
  question (official or audited evidence).
- :func:`hubs`: the memories in the top k of the most questions whose gold they are not (a memory that is
  near every query, such as a greeting or a long rambling turn, pushes the evidence down for all of them).
"""

from __future__ import annotations

import os
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from pathlib import Path
from typing import Any

COVERAGE_K = 10  # the cut-off of coverage and hubs unless one is given: the headline recall@10
HUBS_SHOWN = 20
_QUESTIONS_LISTED = 10


def _evaluated(records: Iterable[Mapping[str, Any]]) -> list[Mapping[str, Any]]:
    return [r for r in records if r.get("status") == "evaluated" and r.get("retrieved") is not None]


def gold_of(record: Mapping[str, Any]) -> set[str]:
    """A question's gold memory ids: its official evidence and, when audited, the audited evidence."""
    return set(record.get("evidence") or []) | set(record.get("evidence_audited") or [])


def retrieval_counts(records: Iterable[Mapping[str, Any]], k: int) -> Counter[str]:
    """Memory id -> the number of evaluated questions with it in their top ``k`` (k >= 1)."""
    return Counter(i for r in _evaluated(records) for i in dict.fromkeys(r["retrieved"][:k]))


def coverage(records: Sequence[Mapping[str, Any]], memories: Mapping[str, str], k: int = COVERAGE_K) -> dict[str, Any]:
    """What no question retrieved in its top ``k``, over the memories of the evaluated stores (``memories``: id
    -> text). Returns ``k``, ``questions`` (evaluated), ``memories``, ``retrieved`` (in some question's top k),
    ``never_retrieved``, ``share_never_retrieved`` in [0, 1], ``gold`` (memories gold for some question),
    ``gold_never_retrieved`` and ``gold_never_retrieved_items`` ([{"id", "text", "questions": ids whose gold
    it is}], by id)."""
    counts = retrieval_counts(records, k)
    gold_for: dict[str, list[str]] = defaultdict(list)
    for r in records:
        for g in sorted(gold_of(r)):
            gold_for[g].append(r["id"])
    never = [i for i in memories if counts[i] == 0]
    gold_never = sorted(i for i in never if i in gold_for)
    return {
        "k": k,
        "questions": len(_evaluated(records)),
        "memories": len(memories),
        "retrieved": sum(1 for i in memories if counts[i] > 0),
        "never_retrieved": len(never),
        "share_never_retrieved": len(never) / len(memories) if memories else 0.0,
        "gold": sum(1 for i in memories if i in gold_for),
        "gold_never_retrieved": len(gold_never),
        "gold_never_retrieved_items": [
            {"id": i, "text": memories[i], "questions": gold_for[i][:_QUESTIONS_LISTED]} for i in gold_never
        ],
    }


def hubs(
    records: Sequence[Mapping[str, Any]], memories: Mapping[str, str], k: int = COVERAGE_K, n: int = HUBS_SHOWN
) -> list[dict[str, Any]]:
    """The ``n`` memories in the top ``k`` of the most questions whose gold they are not (official or audited),
    most first (ties by id); memories in no such top k are left out. Each: ``id``, ``text`` (from
    ``memories``, "" if absent), ``n_questions`` (questions it is not gold for), ``n_retrieved`` (all
    questions with it in the top k), ``n_gold`` (those whose gold it is), ``questions`` (the first 10 ids of the
    questions it is not gold for)."""
    not_gold: dict[str, list[str]] = defaultdict(list)
    gold_hits: Counter[str] = Counter()
    for r in _evaluated(records):
        gold = gold_of(r)
        for i in dict.fromkeys(r["retrieved"][:k]):
            if i in gold:
                gold_hits[i] += 1
            else:
                not_gold[i].append(r["id"])
    top = sorted(not_gold, key=lambda i: (-len(not_gold[i]), i))[:n]
    return [
        {
            "id": i,
            "text": memories.get(i, ""),
            "n_questions": len(not_gold[i]),
            "n_retrieved": len(not_gold[i]) + gold_hits[i],
            "n_gold": gold_hits[i],
            "questions": not_gold[i][:_QUESTIONS_LISTED],
        }
        for i in top
    ]


def store_counts(result: Mapping[str, Any], store: str | os.PathLike[str]) -> Counter[str] | None:
    """Memory id -> how many questions of the evaluation ``result`` had it in their top k (k: the result's
    ``coverage["k"]``, else :data:`COVERAGE_K`), over the questions recalled on ``store`` (paths compared
    resolved); None when none was."""
    target = Path(store).resolve()
    mine = [q for q in result.get("questions", []) if q.get("store") and Path(q["store"]).resolve() == target]
    if not _evaluated(mine):
        return None
    return retrieval_counts(mine, int((result.get("coverage") or {}).get("k", COVERAGE_K)))


__all__ = ["COVERAGE_K", "HUBS_SHOWN", "coverage", "gold_of", "hubs", "retrieval_counts", "store_counts"]
