"""The built-in demo data: a dated nine-session conversation written for memviz (see memviz/data/README.md)."""

from __future__ import annotations

from pathlib import Path
from typing import Final

DEMO_PATH = Path(__file__).resolve().parent / "data" / "demo_conversation.jsonl"
DEMO_FORMAT: Final = "jsonl"


def seed_if_empty(engine, progress=None) -> int:
    """Ingest the demo conversation into an empty store; returns the number of memories written (0 if the
    store already had memories)."""
    from memviz.importers import load

    if engine.store.count() > 0:
        return 0
    data = load(DEMO_PATH, DEMO_FORMAT)
    reports = engine.ingest(
        data.items(), source={"path": str(DEMO_PATH), "format": DEMO_FORMAT, "demo": True}, progress=progress
    )
    return sum(len(r.items) for r in reports)
