"""The Evaluate page's coverage and hubs (``coverage`` and ``hubs`` of an evaluation result, see
:mod:`memviz.evaluate.coverage`): what the memory never surfaced and what it surfaced for everything. Pure."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import pandas as pd

HUB_COLUMNS = ["id", "questions not its own", "retrieved for", "gold for", "text", "questions"]
NEVER_COLUMNS = ["id", "gold for", "text"]


def has_coverage(result: Mapping[str, Any]) -> bool:
    """Whether the evaluation result reports coverage and hubs (LoCoMo runs since they were added)."""
    return "coverage" in result and "hubs" in result


def coverage_metrics(result: Mapping[str, Any]) -> list[tuple[str, str, str | None]]:
    """``(label, value, help)`` tiles of the run's coverage: memories, never retrieved (with their share), gold
    turns and the gold never retrieved."""
    c = result["coverage"]
    k = c["k"]
    return [
        ("memories", f"{c['memories']:,}", f"in the {len({q['store'] for q in result['questions']})} stores evaluated"),
        (
            f"never in a top {k}",
            f"{c['never_retrieved']:,} ({c['share_never_retrieved']:.0%})",
            f"no question of the {c['questions']:,} evaluated retrieved them in its top {k}",
        ),
        ("gold for some question", f"{c['gold']:,}", "official or audited evidence"),
        (f"gold, never in a top {k}", f"{c['gold_never_retrieved']:,}", "no question found them, their own included"),
    ]


def hubs_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """The run's hubs, most questions first: ``id``, ``questions not its own`` (in whose top k it was without
    being their gold), ``retrieved for`` (all questions), ``gold for`` (those whose gold it is and found it),
    ``text`` and ``questions`` (the first ids, comma-separated)."""
    rows = [
        {
            "id": h["id"],
            "questions not its own": h["n_questions"],
            "retrieved for": h["n_retrieved"],
            "gold for": h["n_gold"],
            "text": h["text"],
            "questions": ", ".join(h["questions"]),
        }
        for h in result.get("hubs", [])
    ]
    return pd.DataFrame(rows, columns=HUB_COLUMNS)


def never_retrieved_gold_frame(result: Mapping[str, Any]) -> pd.DataFrame:
    """The gold turns no question retrieved in its top k: ``id``, ``gold for`` (question ids, comma-separated),
    ``text``."""
    items = (result.get("coverage") or {}).get("gold_never_retrieved_items", [])
    rows = [{"id": i["id"], "gold for": ", ".join(i["questions"]), "text": i["text"]} for i in items]
    return pd.DataFrame(rows, columns=NEVER_COLUMNS)


__all__ = ["coverage_metrics", "has_coverage", "hubs_frame", "never_retrieved_gold_frame"]
