"""Small timing and threading helpers shared by write and recall."""

from __future__ import annotations

import os
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from typing import Any, TypeVar

T = TypeVar("T")
_WORKERS: dict[tuple[int, str], ThreadPoolExecutor] = {}  # (pid, name) -> executor


def worker(name: str) -> ThreadPoolExecutor:
    """One worker thread per job kind (``"keywords"`` of writes, ``"fulltext"`` of recalls), created on first
    use and again in a forked child, which does not inherit the parent's threads. Separate per kind, so a
    recall's full-text search never queues behind a long ingest's keyword batch."""
    key = (os.getpid(), name)
    if key not in _WORKERS:
        _WORKERS[key] = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"memviz-{name}")
    return _WORKERS[key]


def timed(fn: Callable[..., T], *args: Any) -> tuple[T, float]:
    """``(fn(*args), milliseconds it took)``."""
    t = time.perf_counter()
    return fn(*args), ms_since(t)


def ms_since(t0: float) -> float:
    """Milliseconds since ``t0`` (a ``time.perf_counter()`` reading)."""
    return (time.perf_counter() - t0) * 1000.0
