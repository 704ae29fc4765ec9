"""Typed filters over memories and links. Only the store turns them into SQL (``memviz.store.sql``).

Pages, recall and evaluation say *which* memories they want with a :class:`MemoryFilter`; no SQL text exists
outside the store, and the store picks its fast path (the in-memory index) from the filter's fields.
"""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from dataclasses import dataclass, replace


def _tuple(values: Iterable[str] | None) -> tuple[str, ...] | None:
    if values is None:
        return None
    if isinstance(values, str):  # a lone id, not its characters
        return (values,)
    return tuple(dict.fromkeys(values))


@dataclass(frozen=True)
class MemoryFilter:
    """Which memories: every set field must match (AND); a field left as None does not filter.

    - ``ids`` / ``exclude_ids``: memory ids to keep / leave out.
    - ``speakers``, ``sessions`` (session ids), ``datasets``, ``kinds``, ``scopes`` (:attr:`memviz.models.Memory.scope`,
      ``""`` the default scope): any of the values (OR within a field).
    - ``time_from_s`` / ``time_to_s``: the memory's event time (its creation time when it has none) is
      ``>= time_from_s`` / ``<= time_to_s`` (POSIX seconds).
    - ``forgotten``: False = live memories only, True = soft-forgotten ones only, None = both.
    - ``existing_at_s``: the store as of this clock time (POSIX s; see :mod:`memviz.asof`): only memories that
      existed then (event time, else creation time, ``<= existing_at_s``), and ``forgotten`` as it was then (a
      memory soft-forgotten after it counts as live).

    Any sequence of strings may be given; it is stored as a tuple (order kept, repeats dropped).
    """

    ids: Sequence[str] | None = None
    exclude_ids: Sequence[str] | None = None
    speakers: Sequence[str] | None = None
    sessions: Sequence[str] | None = None
    datasets: Sequence[str] | None = None
    kinds: Sequence[str] | None = None
    time_from_s: float | None = None
    time_to_s: float | None = None
    forgotten: bool | None = None
    existing_at_s: float | None = None
    scopes: Sequence[str] | None = None

    def __post_init__(self) -> None:
        for name in ("ids", "exclude_ids", "speakers", "sessions", "datasets", "kinds", "scopes"):
            object.__setattr__(self, name, _tuple(getattr(self, name)))

    @property
    def only_flag_and_scopes(self) -> bool:
        """True when the filter says nothing but (at most) "not forgotten" and which scopes: the in-memory index
        answers it with a boolean mask (:meth:`memviz.vector_index.VectorIndex.search`)."""
        return self.forgotten in (None, False) and self == MemoryFilter(forgotten=self.forgotten, scopes=self.scopes)

    @property
    def matches_nothing(self) -> bool:
        """True when an empty value list makes the filter match no memory (``ids=()``, ``sessions=()``...)."""
        return any(v == () for v in (self.ids, self.speakers, self.sessions, self.datasets, self.kinds, self.scopes))


LIVE = MemoryFilter(forgotten=False)  # "not forgotten": what recall searches by default


def scoped(where: MemoryFilter | None, scope: str | None) -> MemoryFilter | None:
    """``where`` (None: every memory) restricted to the memories of ``scope``; None: every scope, ``where`` as
    it is."""
    if scope is None:
        return where
    return replace(where or MemoryFilter(), scopes=(scope,))


@dataclass(frozen=True)
class LinkFilter:
    """Which links: ``touching`` (either end is one of these memory ids), ``kinds`` (any of these link kinds)."""

    touching: Sequence[str] | None = None
    kinds: Sequence[str] | None = None

    def __post_init__(self) -> None:
        object.__setattr__(self, "touching", _tuple(self.touching))
        object.__setattr__(self, "kinds", _tuple(self.kinds))


__all__ = ["LIVE", "LinkFilter", "MemoryFilter", "scoped"]
