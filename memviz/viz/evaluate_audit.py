"""The Evaluate page's view of an audited answer key (``memviz eval locomo --audit``): which questions the audit
flags and why, and a question's two gold sets, official and audited, with each turn's outcome. Pure functions of
evaluation results (:func:`memviz.evaluate.locomo.run_locomo`); a question record's audit fields are
``audit`` (the entry: ``error_type``, ``reasoning``, ``golden_answer``, ``correct_answer``, ``cited_evidence``,
``correct_evidence``, ``changes_evidence``), ``evidence_audited`` and ``gold_ranks_audited``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

from memviz.models import Memory

# The outcome of a gold turn in the top k, by whether it is official and audited gold (see gold_outcome).
FOUND, MISSED = "found", "missed"
WRONGLY_CITED_MISS = "missed, but wrongly cited (the audit drops it)"
WRONGLY_CITED_FOUND = "found, but wrongly cited (the audit drops it)"
AUDIT_FOUND, AUDIT_MISSED = "found (audited evidence)", "missed (audited evidence)"
BOTH_GOLD_COLUMNS = ["gold", "official", "audited", "rank", "outcome", "speaker", "text"]


def is_audited(question: Mapping[str, Any]) -> bool:
    """Whether the audit flags the question (its record has an ``audit`` entry)."""
    return bool(question.get("audit"))


def changes_gold(question: Mapping[str, Any]) -> bool:
    """Whether the audit gives the question other gold turns than the official evidence."""
    return bool((question.get("audit") or {}).get("changes_evidence"))


def audit_lines(question: Mapping[str, Any]) -> list[str]:
    """Plain-text lines on an audited question (none for another): the error type and the auditors' reasoning,
    the official and the audited answer, and the official and the audited evidence (raw dia ids)."""
    a = question.get("audit")
    if not a:
        return []
    changed = "the audit cites other turns" if a.get("changes_evidence") else "the audit keeps the evidence"
    lines = [
        f"Audit: {a['error_type']} ({changed}). {a.get('reasoning', '')}".strip(),
        f"official answer: {a.get('golden_answer', '')} · audited answer: {a.get('correct_answer', '')}",
        f"official evidence: {', '.join(a.get('cited_evidence', [])) or '(none)'} · "
        f"audited evidence: {', '.join(a.get('correct_evidence', [])) or '(none)'}",
    ]
    if a.get("malformed_evidence"):
        lines.append(f"audited evidence naming no turn (dropped): {', '.join(a['malformed_evidence'])}")
    return lines


def gold_outcome(official: bool, audited: bool, rank: int | None, k: int) -> str:
    """A gold turn's outcome in the top ``k``: found or missed; for a turn only the official key cites (the
    audit drops it) "... but wrongly cited", for one only the audit cites "... (audited evidence)"."""
    found = rank is not None and rank <= k
    if official and not audited:
        return WRONGLY_CITED_FOUND if found else WRONGLY_CITED_MISS
    if audited and not official:
        return AUDIT_FOUND if found else AUDIT_MISSED
    return FOUND if found else MISSED


def both_gold_table(question: Mapping[str, Any], memories: Mapping[str, Memory], k: int) -> pd.DataFrame:
    """A question's gold turns under both keys (official first, then the audit's additions): ``gold`` id,
    ``official`` and ``audited`` (is it gold under that key), ``rank`` (<NA>: not retrieved), ``outcome`` in the
    top ``k`` (:func:`gold_outcome`), ``speaker`` and ``text`` (from ``memories``)."""
    official = list(question.get("evidence") or [])
    audited = list(question.get("evidence_audited", official))
    ranks = (question.get("gold_ranks") or {}) | (question.get("gold_ranks_audited") or {})
    rows = []
    for g in dict.fromkeys(official + audited):
        m = memories.get(g)
        rank = ranks.get(g)
        rows.append(
            {
                "gold": g,
                "official": g in official,
                "audited": g in audited,
                "rank": rank,
                "outcome": gold_outcome(g in official, g in audited, rank, k),
                "speaker": m.speaker if m else "",
                "text": m.text if m else "",
            }
        )
    df = pd.DataFrame(rows, columns=BOTH_GOLD_COLUMNS)
    df["rank"] = df["rank"].astype("Int64")
    return df


def audit_frame(result: Mapping[str, Any], metric: str) -> pd.DataFrame:
    """One row per audited question: ``id``, ``category``, ``error type``, ``evidence changed``, ``metric``
    against the official gold and against the audited gold (``<metric> audited``; <NA> when the audit leaves it
    no gold turn), ``question`` and the auditors' ``reasoning``."""
    base = metric.removesuffix("_audited")
    rows = [
        {
            "id": q["id"],
            "category": q.get("category_name", q["category"]),
            "error type": q["audit"]["error_type"],
            "evidence changed": bool(q["audit"].get("changes_evidence")),
            base: (q.get("metrics") or {}).get(base),
            f"{base} audited": (q.get("metrics") or {}).get(f"{base}_audited"),
            "question": q["question"],
            "reasoning": q["audit"].get("reasoning", ""),
        }
        for q in result.get("questions", [])
        if is_audited(q)
    ]
    cols = ["id", "category", "error type", "evidence changed", base, f"{base} audited", "question", "reasoning"]
    return pd.DataFrame(rows, columns=cols)


def audit_caption(result: Mapping[str, Any]) -> str | None:
    """One line on the run's audit (None without one): how many questions it flags, how many get other
    evidence, how many are left without any, and its error types."""
    a = result.get("audit")
    if not a:
        return None
    types = ", ".join(f"{t} {n}" for t, n in a.get("by_error_type", {}).items())
    return (
        f"The audit flags {a['audited']} of the evaluated questions ({types}); {a['evidence_changed']} get other "
        f"evidence, {a['no_audited_evidence']} none (left out of the audited means)."
    )


__all__ = [
    "AUDIT_FOUND",
    "AUDIT_MISSED",
    "BOTH_GOLD_COLUMNS",
    "FOUND",
    "MISSED",
    "WRONGLY_CITED_FOUND",
    "WRONGLY_CITED_MISS",
    "audit_caption",
    "audit_frame",
    "audit_lines",
    "both_gold_table",
    "changes_gold",
    "gold_outcome",
    "is_audited",
]
