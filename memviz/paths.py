"""Where memviz finds files outside the store: the repository, its demo data and the shared real data sets."""

from __future__ import annotations

import os
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]
# The real data sets (LoCoMo, LongMemEval, MemoryBank) live beside the repository, not in it (their licences
# differ); $MEMVIZ_SHARED_DATA points elsewhere.
SHARED_DATA = Path(os.environ.get("MEMVIZ_SHARED_DATA") or REPO / ".." / "shared" / "data").resolve()
LOCOMO_DEV = SHARED_DATA / "locomo" / "locomo_dev.json"
LOCOMO_AUDIT_DEV = SHARED_DATA / "locomo" / "locomo_audit_dev.json"
LONGMEMEVAL_S_DEV = SHARED_DATA / "longmemeval" / "longmemeval_s_dev30.json"
MEMORYBANK = SHARED_DATA / "memorybank" / "memory_bank_en.json"


def cache_dir() -> Path:
    """The folder memviz writes model caches to (SmolLM2's fp32 copy, ONNX exports): ``$MEMVIZ_CACHE`` or
    ``~/.cache/memviz``."""
    return Path(os.environ.get("MEMVIZ_CACHE") or Path.home() / ".cache" / "memviz").expanduser()
