"""Filtering after a search instead of before: a "not forgotten" search of a store with few forgotten memories
asks the unfiltered index for a few more results and drops the forgotten ones, because LanceDB's prefilter
evaluates its clause on every row per query. At 1M memories with 1% forgotten: the approximate vector index
68-96 ms prefiltered against 42-52 ms unfiltered; at 200k the full-text index 11 against 4 ms
(docs/performance.md, "Approximate index")."""

from __future__ import annotations

from collections.abc import Callable, Set
from typing import Literal

import numpy as np

# The largest share of the rows a filter may leave out for a search to drop them after searching.
POSTFILTER_MAX_SHARE = 0.05

Applied = Literal["prefilter", "postfilter", "none"]


def postfilter_limit(limit: int, n_excluded: int) -> int:
    """How many results a postfiltered search asks for to keep ``limit`` after dropping up to ``n_excluded``
    ids: all of those when few (then exact), else ``limit`` plus a fifth of it (at least 10). With 5% of the
    rows left out, about 3 of 60 results are; more than 10 in ~0.1% of searches if they are spread evenly
    (clustered ones make the fallback, a prefiltered search, run more often)."""
    return limit + min(n_excluded, max(10, limit // 5))


def postfiltered(
    search: Callable[[int, str | None], tuple[list[str], np.ndarray]],
    limit: int,
    clause: str | None,
    excluded: Set[str] | None,
) -> tuple[list[str], np.ndarray, Applied]:
    """``search(limit, clause)`` (ids and scores, best first, among the rows matching the SQL ``clause``;
    None: all rows) with the clause applied after searching when ``excluded`` is given: exactly the ids the
    clause leaves out, and few (:data:`POSTFILTER_MAX_SHARE`). The unfiltered search then asks for
    :func:`postfilter_limit` results and drops ``excluded``; only when fewer than ``limit`` remain of a full
    answer does the filtered search run. Returns the ids, their scores and how the clause was applied."""
    if clause is not None and excluded is not None:
        fetch = postfilter_limit(limit, len(excluded))
        ids, scores = search(fetch, None)
        keep = [n for n, i in enumerate(ids) if i not in excluded][:limit]
        if len(keep) == limit or len(ids) < fetch:  # enough, or every row was returned
            return [ids[n] for n in keep], scores[keep], "postfilter"
    ids, scores = search(limit, clause)
    return ids, scores, "none" if clause is None else "prefilter"
